"""``packer init DIR && packer build DIR``, as the compiled file's header says, builds the compiled folder.

With the fake ``packer`` that behaves as Packer >= 1.10 with the azure plugin v2 (tests/run/fakes/packer)
against the fake Resource Manager: nothing but the folder ``aibpack compile -o DIR`` wrote is needed, and an
``az login`` (the fake ``az``) to sign in with the variable the header names.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from fakearm import FakeArm
from fakearm.fixtures import arm_env
from support.cli import run
from support.run_env import FAKE_PACKER

LOCATION = "westeurope"


def _template(tmp_path: Path, fake: FakeArm, security: str | None) -> Path:
    fake.add_group("rg", LOCATION)
    definition = fake.add_gallery_image("rg", "g", "img", LOCATION, security_type=security)
    body = {
        "type": "Microsoft.VirtualMachineImages/imageTemplates",
        "name": "golden",
        "location": LOCATION,
        "properties": {
            "source": {"type": "PlatformImage", "publisher": "Canonical", "offer": "o", "sku": "s-gen2"},
            "customize": [{"type": "Shell", "name": "hello", "inline": ["echo hello"]}],
            "distribute": [
                {
                    "type": "SharedImage",
                    "galleryImageId": f"{definition}/versions/1.2.3",
                    "runOutputName": "sig",
                    "targetRegions": [{"name": LOCATION}, {"name": "northeurope"}],
                }
            ],
        },
    }
    path = tmp_path / "golden.json"
    path.write_text(json.dumps(body))
    return path


def _build_as_the_header_says(folder: Path, fake: FakeArm) -> list[subprocess.CompletedProcess[str]]:
    """Its two commands, exactly as written, after ``az login`` (the fake ``az`` is signed in)."""
    header = (folder / "golden.pkr.hcl").read_text()
    (line,) = re.findall(r"^#   (packer init DIR && packer build DIR)$", header, re.M)
    env = {**os.environ, **arm_env(fake), "CHECKPOINT_DISABLE": "1"}
    env.pop("FAKE_PACKER_VERSION", None)
    done = []
    for command in line.split(" && "):
        argv = [
            str(FAKE_PACKER) if word == "packer" else str(folder) if word == "DIR" else word
            for word in shlex.split(command)
        ]
        done.append(subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120))
        assert done[-1].returncode == 0, done[-1].stdout + done[-1].stderr
    return done


def _artifact_id(stdout: str) -> str:
    (found,) = re.findall(r"^\d+,azure-arm\.golden,artifact,0,id,(.*)$", stdout, re.M)
    return found


def test_the_compiled_folder_builds_with_modern_packer(tmp_path: Path, fake_arm: FakeArm, fake_az: Path) -> None:
    folder = tmp_path / "out"
    assert run(["compile", str(_template(tmp_path, fake_arm, None)), "-o", str(folder)]).code == 0

    init, build = _build_as_the_header_says(folder, fake_arm)

    assert "Installed plugin github.com/hashicorp/azure" in init.stdout
    image = _artifact_id(build.stdout)
    assert image.endswith("/resourceGroups/rg/providers/Microsoft.Compute/images/aibpack-golden")
    assert image in fake_arm.resources()
    assert set(fake_arm.resource_groups()) == {"rg"}  # Packer's own temporary group is gone


def test_a_trusted_launch_folder_builds_straight_into_the_gallery(
    tmp_path: Path, fake_arm: FakeArm, fake_az: Path
) -> None:
    template = _template(tmp_path, fake_arm, "TrustedLaunch")
    folder = tmp_path / "out"
    assert run(["compile", str(template), "--security-type", "TrustedLaunch", "-o", str(folder)]).code == 0

    _, build = _build_as_the_header_says(folder, fake_arm)

    version = _artifact_id(build.stdout)
    assert version.endswith("/galleries/g/images/img/versions/1.2.3")
    record: dict[str, Any] | None = fake_arm.resource(version)
    assert record is not None
    regions = [r["name"] for r in record["properties"]["publishingProfile"]["targetRegions"]]
    assert regions == [LOCATION, "northeurope"]
    assert "SharedImageGalleryReplicatedRegions: westeurope%!(PACKER_COMMA) northeurope" in build.stdout
    assert [r for r in fake_arm.resources() if "/images/" in r and "/galleries/" not in r] == []
