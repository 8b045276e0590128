"""The build inputs digest, offline: what changes it, what doesn't, and what only ``run`` can know."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.run_env import LOCATION, image_template

from aibpack.errors import Diagnostics
from aibpack.inputs import BuildInputs, named_files
from aibpack.pipeline import CompileOptions, compile_with_inputs

SCRIPT = b"#!/bin/sh\necho hardening\n"
IMAGE = (
    "/subscriptions/00000000-0000-4000-8000-0000000000a1/resourceGroups/rg/providers/Microsoft.Compute/images/golden"
)


def _template(directory: Path, *, version: str = "24.04.202501140", name: str = "golden", **props: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "scripts").mkdir(exist_ok=True)
    if not (directory / "scripts" / "harden.sh").exists():
        (directory / "scripts" / "harden.sh").write_bytes(SCRIPT)
    managed = {"type": "ManagedImage", "imageId": IMAGE, "location": LOCATION, "runOutputName": "managed"}
    steps = props.pop("customize", [{"type": "Shell", "name": "harden", "scriptUri": "scripts/harden.sh"}])
    body = image_template(name, customize=steps, distribute=[managed], version=version, **props)
    path = directory / "template.json"
    path.write_text(json.dumps(body))
    return path


def _inputs(path: Path, options: CompileOptions | None = None) -> BuildInputs:
    return compile_with_inputs(path, options or CompileOptions(), Diagnostics(file=str(path)))[1]


def test_same_inputs_same_digest_wherever_the_template_lives(tmp_path: Path) -> None:
    first = _inputs(_template(tmp_path / "a"))
    moved = _template(tmp_path / "elsewhere" / "b")
    moved = moved.rename(moved.with_name("renamed.json"))  # the header names the file: not an input

    assert first.complete
    assert _inputs(moved).digest == first.digest
    assert len(first.digest) == 64 and int(first.digest, 16) >= 0


def test_a_changed_script_or_step_changes_the_digest(tmp_path: Path) -> None:
    path = _template(tmp_path)
    before = _inputs(path)
    assert before.files == {"scripts/harden.sh": __import__("hashlib").sha256(SCRIPT).hexdigest()}

    (tmp_path / "scripts" / "harden.sh").write_bytes(SCRIPT + b"echo more\n")
    after_script = _inputs(path)
    _template(tmp_path, vmProfile={"vmSize": "Standard_D4s_v5"})
    after_size = _inputs(path)

    assert len({before.digest, after_script.digest, after_size.digest}) == 3


def test_latest_is_left_open_offline_and_resolved_by_run(tmp_path: Path) -> None:
    latest = _inputs(_template(tmp_path / "latest", version="latest"))
    pinned = _inputs(_template(tmp_path / "pinned", version="24.04.202501140"))

    assert latest.source is None and not latest.complete
    assert "latest" in latest.unknown[0]
    assert pinned.source == "Canonical:ubuntu-24_04-lts:server:24.04.202501140"
    resolved = latest.resolved(source="Canonical:ubuntu-24_04-lts:server:24.04.202501140")
    assert resolved.complete
    assert resolved.digest != latest.digest
    newer = latest.resolved(source="Canonical:ubuntu-24_04-lts:server:24.04.202502100")
    assert newer.digest != resolved.digest


def test_a_remote_file_counts_by_its_checksum_or_by_the_bytes_run_downloads(tmp_path: Path) -> None:
    url = "https://example.com/setup.sh"
    checked = _inputs(
        _template(tmp_path / "c", customize=[{"type": "Shell", "scriptUri": url, "sha256Checksum": "AB" * 32}])
    )
    unchecked = _inputs(_template(tmp_path / "u", customize=[{"type": "Shell", "scriptUri": url}]))

    assert checked.remote == {url: "ab" * 32} and checked.complete
    assert unchecked.remote == {url: None} and not unchecked.complete
    downloaded = tmp_path / "setup.sh"
    downloaded.write_bytes(b"v1")
    first = unchecked.resolved(downloaded={url: downloaded})
    downloaded.write_bytes(b"v2")
    second = unchecked.resolved(downloaded={url: downloaded})
    assert first.complete and first.digest != second.digest


def test_files_of_preserved_provisioners_count_too(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "old.json").write_text(
        json.dumps({"provisioners": [{"type": "shell", "script": "setup.sh"}, {"type": "file", "source": "files/"}]})
    )
    (old / "setup.sh").write_text("echo one\n")
    (old / "files").mkdir()
    (old / "files" / "a.conf").write_text("a=1\n")
    path = _template(tmp_path / "t")
    options = CompileOptions(provisioners=(old / "old.json",))

    before = _inputs(path, options)
    (old / "files" / "a.conf").write_text("a=2\n")
    after = _inputs(path, options)

    assert set(before.files) == {"scripts/harden.sh", "../old/setup.sh", "../old/files/"}
    assert before.files["../old/files/"] != after.files["../old/files/"]


def test_named_files_reads_escaped_literals_and_skips_computed_paths() -> None:
    hcl = "\n".join(
        [
            'script = "${path.root}/odd \\"name\\".sh"',
            'source = "${path.root}/$${HOME}/x"',
            'script = "${path.root}/${var.name}.sh"',
            'inline = ["${path.root}/{{\\"{{\\"}}x"]',
            'destination = "/tmp/not-a-local-file"',
        ]
    )
    assert named_files(hcl) == ["${HOME}/x", 'odd "name".sh', "{{x"]
