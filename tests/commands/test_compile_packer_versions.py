"""The compiled folder for modern Packer (``packer-plugins.pkr.hcl``, the header) and for Packer 1.6.6."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
from support.cli import run
from support.hcl_oracle import source
from support.packer_schema import check

from aibpack.load.jsonc import parse_jsonc

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LINUX = EXAMPLES / "linux-gallery.json"
WINDOWS = EXAMPLES / "windows-restarts-updates.json"  # a WindowsUpdate step
SUB = "11111111-2222-3333-4444-555555555555"


def _plugins(directory: Path) -> dict[str, dict[str, str]]:
    """``required_plugins`` of ``DIR/packer-plugins.pkr.hcl``, read back as plain values."""
    parsed = hcl2.loads((directory / "packer-plugins.pkr.hcl").read_text())
    (entries,) = parsed["packer"][0]["required_plugins"]
    return {
        name: {k: v.strip('"') for k, v in spec.items()} for name, spec in entries.items() if name != "__is_block__"
    }


def test_o_dir_writes_the_plugins_the_template_needs(tmp_path: Path) -> None:
    linux, windows = tmp_path / "linux", tmp_path / "windows"
    assert run(["compile", str(LINUX), "-o", str(linux)]).code == 0
    assert run(["compile", str(WINDOWS), "-o", str(windows)]).code == 0

    assert _plugins(linux) == {"azure": {"source": "github.com/hashicorp/azure", "version": ">= 2.1.5"}}
    assert _plugins(windows) == {
        "azure": {"source": "github.com/hashicorp/azure", "version": ">= 2.1.5"},
        "windows-update": {"source": "github.com/rgl/windows-update", "version": ">= 0.16.0"},
    }


def test_other_destinations_write_no_plugins_file(tmp_path: Path) -> None:
    assert run(["compile", str(LINUX), "-o", str(tmp_path / "one.pkr.hcl")]).code == 0
    assert run(["compile", str(LINUX)], cwd=tmp_path).code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.pkr.hcl", "ubuntu2204-golden.pkr.hcl"]


def test_several_templates_in_one_folder_share_the_plugins_file_and_get_warned(tmp_path: Path) -> None:
    result = run(["compile", str(LINUX), str(WINDOWS), "-o", str(tmp_path)])
    assert result.code == 0, result.err
    assert set(_plugins(tmp_path)) == {"azure", "windows-update"}
    assert f"holds 2 templates, and `packer build {tmp_path}` builds every *.pkr.hcl in it together" in result.err


def test_header_says_how_to_build_and_what_only_run_delivers(tmp_path: Path) -> None:
    assert run(["compile", str(LINUX), "-o", str(tmp_path)]).code == 0
    header = (tmp_path / "ubuntu2204-golden.pkr.hcl").read_text().split("\nvariable", 1)[0]
    assert "#   packer init DIR && packer build DIR\n" in header
    assert "# Packer 1.6.6 (azure-arm built in, no `packer init`) builds this file alone:\n" in header
    assert "#   packer build ubuntu2204-golden.pkr.hcl\n" in header
    assert "# Packer delivers an intermediate managed image (var.managed_image_name)" in header
    assert "# Only `aibpack run` delivers distribute[0] SharedImage ubuntu2204-sig.\n" in header


def test_header_of_a_windows_update_build_says_packer_1_6_6_cannot(tmp_path: Path) -> None:
    assert run(["compile", str(WINDOWS), "-o", str(tmp_path)]).code == 0
    header = (tmp_path / "win2022-golden.pkr.hcl").read_text().split("\nvariable", 1)[0]
    assert "#   packer init DIR && packer build DIR\n" in header
    assert "# Packer 1.6.6 cannot build it: the WindowsUpdate step needs Packer >= 1.7.0 with rgl's" in header
    assert "packer build win2022-golden.pkr.hcl" not in header
    assert "# Packer delivers distribute[0] ManagedImage win2022-mi (the managed image" in header
    assert "Only `aibpack run`" not in header  # its only target is the one Packer builds


def test_compile_warns_once_about_windows_update(tmp_path: Path) -> None:
    result = run(["compile", str(WINDOWS), "-o", str(tmp_path), "--strict"])
    assert result.code == 0, result.err  # a portability note, not a problem of the template: --strict passes
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "properties.customize[3]: the WindowsUpdate step needs Packer >= 1.7.0" in warnings[0]
    assert "github.com/rgl/windows-update >= 0.16.0" in warnings[0]
    assert run(["compile", str(LINUX), "-o", str(tmp_path / "l")]).err.count("warning:") == 0


def test_validate_packer_1_6_6_with_windows_update_says_what_it_needs(packer_bin: str, tmp_path: Path) -> None:
    result = run(["validate", str(WINDOWS), "--packer", packer_bin], cwd=tmp_path)
    assert result.code == 1
    error = result.err.splitlines()[-1]
    assert error.startswith(f"error: {WINDOWS}: {packer_bin} is Packer 1.6.6, which cannot build this template")
    assert "Packer >= 1.7.0 with rgl's windows-update plugin (github.com/rgl/windows-update >= 0.16.0" in error
    assert "Unknown provisioner type" not in result.err


def test_packer_1_6_6_builds_the_file_alone_not_the_folder(packer_bin: str, tmp_path: Path) -> None:
    """What the header says for 1.6.6 holds: the file validates, the folder (with required_plugins) does not."""
    assert run(["compile", str(LINUX), "-o", str(tmp_path)]).code == 0
    alone = subprocess.run([packer_bin, "validate", "ubuntu2204-golden.pkr.hcl"], cwd=tmp_path, capture_output=True)
    assert alone.returncode == 0, alone.stdout
    folder = subprocess.run([packer_bin, "validate", "."], cwd=tmp_path, capture_output=True, text=True)
    assert folder.returncode != 0 and "required_plugins" in folder.stdout


def _template(tmp_path: Path, distribute: list[dict[str, Any]]) -> Path:
    body = parse_jsonc(LINUX.read_text(), str(LINUX))
    body["properties"]["distribute"] = distribute
    body["properties"]["customize"] = [{"type": "Shell", "name": "hello", "inline": ["echo hello"]}]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(body))
    return path


def _gallery(image: str = "ubuntu", version: str = "", **extra: Any) -> dict[str, Any]:
    gallery_id = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/{image}"
    return {
        "type": "SharedImage",
        "galleryImageId": gallery_id + (f"/versions/{version}" if version else ""),
        "runOutputName": image,
        **extra,
    }


def test_security_type_builds_trusted_and_publishes_straight_to_the_first_gallery(tmp_path: Path) -> None:
    template = _template(
        tmp_path, [_gallery(version="2.1.0", targetRegions=[{"name": "eastus", "replicaCount": 3}]), _gallery("b")]
    )
    result = run(["compile", str(template), "--security-type", "TrustedLaunch", "-o", "-"])
    assert result.code == 0, result.err
    body = source(result.out)
    assert (body["security_type"], body["secure_boot_enabled"], body["vtpm_enabled"]) == ('"TrustedLaunch"', True, True)
    assert "managed_image_name" not in body and "managed_image_resource_group_name" not in body
    (destination,) = body["shared_image_gallery_destination"]
    assert destination["image_name"] == '"ubuntu"' and destination["image_version"] == "${var.gallery_image_version}"
    regions = [(r["name"], r["replicas"]) for r in destination["target_region"]]
    assert regions == [('"westeurope"', 1), ('"eastus"', 3)]  # the build's region first: the plugin needs it
    variables = {next(iter(v)): v[next(iter(v))] for v in hcl2.loads(result.out)["variable"]}
    assert variables['"gallery_image_version"']["default"] == '"2.1.0"'
    assert '"managed_image_name"' not in variables
    assert "# Only `aibpack run` delivers distribute[1] SharedImage b." in result.out
    assert check(result.out) == []


@pytest.mark.parametrize(
    ("distribute", "message"),
    [
        (
            [
                _gallery(),
                {
                    "type": "ManagedImage",
                    "imageId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/i",
                    "location": "westeurope",
                    "runOutputName": "mi",
                },
            ],
            "properties.distribute[1]: the build VM is a Confidential VM (security_type ConfidentialVM)",
        ),
        (
            [{"type": "VHD", "uri": "https://a.blob.core.windows.net/v/x.vhd", "runOutputName": "vhd"}],
            "properties.distribute: --security-type ConfidentialVM needs a SharedImage target",
        ),
    ],
)
def test_security_type_refuses_what_it_cannot_make(tmp_path: Path, distribute: list[Any], message: str) -> None:
    template = _template(tmp_path, distribute)
    for command in ("compile", "validate"):
        result = run(
            [command, str(template), "--security-type", "ConfidentialVM", *(["-o", "-"] * (command == "compile"))]
        )
        assert result.code == 2
        assert message in result.err


def test_a_kept_windows_update_provisioner_needs_the_plugin_too(tmp_path: Path) -> None:
    old = tmp_path / "old.pkr.hcl"
    old.write_text(
        'source "null" "x" {\n  communicator = "none"\n}\n\nbuild {\n  sources = ["source.null.x"]\n\n'
        '  provisioner "windows-update" {\n    update_limit = 5\n  }\n}\n'
    )
    out = tmp_path / "out"
    result = run(["compile", str(WINDOWS), "--provisioners", str(old), "-o", str(out)])
    assert result.code == 0, result.err
    assert (out / "win2022-golden.pkr.hcl").read_text().count('provisioner "windows-update"') == 2
    assert set(_plugins(out)) == {"azure", "windows-update"}
    linux = tmp_path / "linux"
    assert run(["compile", str(LINUX), "--provisioners", str(old), "-o", str(linux)]).code == 0
    assert set(_plugins(linux)) == {"azure", "windows-update"}
