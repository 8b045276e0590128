"""The build's OS disk snapshot: asked of Packer only when a target is copied from it, valid for Packer 1.6.6."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.cli import run
from support.hcl_oracle import source
from support.templates import image_template, platform_source

SUB = "00000000-0000-4000-8000-0000000000a1"
IMAGES = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute"


def _compile(tmp_path: Path, distribute: list[dict]) -> str:
    template = tmp_path / "t.json"
    body = image_template(
        location="westus",
        source=platform_source(),
        customize=[{"type": "Shell", "name": "x", "inline": ["true"]}],
        distribute=distribute,
        name="golden",
    )
    template.write_text(json.dumps(body))
    result = run(["compile", str(template), "-o", str(tmp_path)])
    assert result.code == 0, result.err
    return (tmp_path / "golden.pkr.hcl").read_text()


@pytest.mark.parametrize(
    ("distribute", "asked"),
    [
        ([{"type": "VHD", "runOutputName": "v", "uri": "https://a.blob.core.windows.net/c/x.vhd"}], True),
        ([{"type": "ManagedImage", "imageId": f"{IMAGES}/images/g", "location": "eastus", "runOutputName": "m"}], True),
        (
            [
                {"type": "ManagedImage", "imageId": f"{IMAGES}/images/g", "location": "westus", "runOutputName": "a"},
                {"type": "ManagedImage", "imageId": f"{IMAGES}/images/h", "location": "westus", "runOutputName": "b"},
            ],
            True,
        ),
        (
            [{"type": "ManagedImage", "imageId": f"{IMAGES}/images/g", "location": "westus", "runOutputName": "m"}],
            False,
        ),
        ([{"type": "SharedImage", "galleryImageId": f"{IMAGES}/galleries/g/images/d", "runOutputName": "s"}], False),
    ],
)
def test_snapshot_only_when_a_target_is_copied_from_it(tmp_path: Path, distribute: list[dict], asked: bool) -> None:
    text = _compile(tmp_path, distribute)
    src = source(text)
    assert ("managed_image_os_disk_snapshot_name" in src) is asked
    assert ('variable "managed_image_os_disk_snapshot_name"' in text) is asked


def test_packer_1_6_6_accepts_it_empty_and_named(tmp_path: Path, packer_bin: str) -> None:
    _compile(tmp_path, [{"type": "VHD", "runOutputName": "v", "uri": "https://a.blob.core.windows.net/c/x.vhd"}])
    for extra in ([], ["-var", "managed_image_os_disk_snapshot_name=aibpack_golden_1a2b3c4d_osdisk"]):
        checked = subprocess.run(
            [packer_bin, "validate", *extra, "golden.pkr.hcl"], cwd=tmp_path, capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    # Packer checks the name as Azure does (config.go reSnapshotName): the option is really there in 1.6.6.
    bad = subprocess.run(
        [packer_bin, "validate", "-var", "managed_image_os_disk_snapshot_name=bad-name", "golden.pkr.hcl"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "managed_image_os_disk_snapshot_name" in bad.stdout + bad.stderr
