"""The top-level packer-plugins.pkr.hcl lists exactly the plugins aibpack may require, as plan/plugins.py says."""

from __future__ import annotations

from pathlib import Path

import hcl2

from aibpack.plan.plugins import AZURE, WINDOWS_UPDATE

REPO = Path(__file__).resolve().parents[2]


def test_the_repository_plugins_file_matches_what_compile_requires() -> None:
    parsed = hcl2.loads((REPO / "packer-plugins.pkr.hcl").read_text(encoding="utf-8"))
    (packer,) = parsed["packer"]
    (required,) = packer["required_plugins"]
    found = {
        name: (entry["source"].strip('"'), entry["version"].strip('"'))
        for name, entry in required.items()
        if not name.startswith("__")  # python-hcl2's own markers
    }
    assert found == {plugin.name: (plugin.source, plugin.version) for plugin in (AZURE, WINDOWS_UPDATE)}


def test_packer_1_6_6_is_not_given_the_plugins_file_to_read(tmp_path: Path) -> None:
    """The wheel ships it, but compile's output never includes it: 1.6.6 knows no required_plugins."""
    from support.cli import run

    out = tmp_path / "one.pkr.hcl"
    assert run(["compile", str(REPO / "examples" / "linux-gallery.json"), "-o", str(out)]).code == 0
    assert "required_plugins" not in out.read_text(encoding="utf-8")
