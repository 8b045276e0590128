"""The check stage asks Azure about the source image and the targets, and refuses a mismatch before anything exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakearm.dist_helpers import rid
from support.cli import run
from support.hcl_oracle import source
from support.run_env import DEST_GROUP, LOCATION, RunEnv
from support.templates import platform_source


def _run(env: RunEnv, template: Path, *args: str) -> tuple[int, str]:
    result = run(["run", str(template), "--auth", "cli", "--work-dir", str(env.tmp / "w"), *args])
    return result.code, result.err


POWERSHELL = [{"type": "PowerShell", "name": "hello", "inline": ["Write-Host hello"]}]


def _nothing_created(env: RunEnv) -> None:
    assert env.staging_groups() == [] and env.builds() == []
    assert not [r for r in env.fake.requests if r[0] in ("PUT", "PATCH", "DELETE", "POST")]


def _custom_source(env: RunEnv, os_type: str, generation: str, state: str = "Generalized") -> dict[str, Any]:
    env.fake.add_group("rg-src", LOCATION)
    image = env.fake.add_resource(
        rid(env.fake, "rg-src", "images/base"),
        {
            "location": LOCATION,
            "properties": {
                "hyperVGeneration": generation,
                "storageProfile": {"osDisk": {"osType": os_type, "osState": state}},
            },
        },
    )
    return {"type": "ManagedImage", "imageId": image}


def test_a_custom_windows_gen2_source_builds_as_azure_says(run_env: RunEnv) -> None:
    code, err = _run(run_env, run_env.template(source=_custom_source(run_env, "Windows", "V2"), customize=POWERSHELL))
    assert code == 0, err
    block = source((run_env.tmp / "w" / "golden.pkr.hcl").read_text())
    assert (block["os_type"], block["communicator"]) == ('"Windows"', '"winrm"')
    assert block["vm_size"] == '"Standard_D2ds_v4"'  # AIB's Gen2 default; D1_v2 cannot boot a Gen2 image
    assert "guessed" not in err


def test_the_newest_platform_image_version_says_its_generation(run_env: RunEnv) -> None:
    for version, generation in (("2019.0.20240101", "V1"), ("2019.0.20250101", "V2")):
        run_env.fake.add_platform_image(
            "MicrosoftWindowsServer",
            "WindowsServer",
            "2019-Datacenter",
            version,
            os_type="Windows",
            generation=generation,
            location=LOCATION,
        )
    src = platform_source("MicrosoftWindowsServer", "WindowsServer", "2019-Datacenter", version="latest")
    code, err = _run(run_env, run_env.template(source=src, customize=POWERSHELL))
    assert code == 0, err
    assert source((run_env.tmp / "w" / "golden.pkr.hcl").read_text())["vm_size"] == '"Standard_D2ds_v4"'


def test_os_given_against_azure_is_refused(run_env: RunEnv) -> None:
    template = run_env.template(source=_custom_source(run_env, "Linux", "V2"), customize=POWERSHELL)
    code, err = _run(run_env, template, "--os", "Windows")
    assert code == 2 and "--os Windows, but Azure says the source image is Linux" in err
    _nothing_created(run_env)


def test_a_specialized_source_is_refused(run_env: RunEnv) -> None:
    template = run_env.template(source=_custom_source(run_env, "Linux", "V2", "Specialized"))
    code, err = _run(run_env, template)
    assert code == 1 and "properties.source: the source image is specialized" in err
    _nothing_created(run_env)


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"os_type": "Windows"}, "is for Windows images, and this build makes a Linux image"),
        ({"os_state": "Specialized"}, "is Specialized, and this build makes a generalized image"),
        ({"generation": "V1"}, "is Hyper-V generation V1, and the source image is V2"),
    ],
)
def test_a_gallery_definition_that_cannot_hold_the_image_is_refused(
    run_env: RunEnv, definition: dict[str, str], message: str
) -> None:
    gallery_image = run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION, **definition)
    template = run_env.template(
        distribute=[{"type": "SharedImage", "galleryImageId": gallery_image, "runOutputName": "sig"}]
    )
    code, err = _run(run_env, template)
    assert code == 1
    assert f"properties.distribute[0].galleryImageId: gallery image definition gal/ubuntu {message}" in err
    _nothing_created(run_env)


def test_distribute_reads_the_artifact_and_refuses_a_mismatched_definition(run_env: RunEnv) -> None:
    built = _custom_source(run_env, "Linux", "V2")["imageId"]
    definition = run_env.fake.add_gallery_image(DEST_GROUP, "gal", "gen1", LOCATION, generation="V1")
    template = run_env.template(
        distribute=[{"type": "SharedImage", "galleryImageId": definition, "runOutputName": "s"}]
    )
    result = run(["distribute", str(template), "--artifact", built, "--auth", "cli", "--json"])
    assert result.code == 1
    assert "gallery image definition gal/gen1 is Hyper-V generation V1, and the source image is V2" in result.err
    assert not [r for r in run_env.fake.requests if r[0] == "PUT"]


def test_a_platform_image_the_catalogue_does_not_list_goes_by_its_names(run_env: RunEnv) -> None:
    src = platform_source("Canonical", "ubuntu-hpc", "2204-gen2", version="latest")
    code, err = _run(run_env, run_env.template(source=src))
    assert code == 0, err
    listed = "Canonical:ubuntu-hpc:2204-gen2:latest could not be found in location westus"
    assert f"warning: {listed}: went by the image's names (Linux, V2)" in err
    assert source((run_env.tmp / "w" / "golden.pkr.hcl").read_text())["vm_size"] == '"Standard_D2ds_v4"'


def test_an_unlisted_source_builds_the_generation_its_gallery_definition_holds(run_env: RunEnv) -> None:
    gallery_image = run_env.fake.add_gallery_image(DEST_GROUP, "gal", "hpc", LOCATION, generation="V2")
    src = platform_source("Canonical", "ubuntu-hpc", "2204", version="1.0")
    template = run_env.template(
        source=src, distribute=[{"type": "SharedImage", "galleryImageId": gallery_image, "runOutputName": "sig"}]
    )
    code, err = _run(run_env, template)
    assert code == 0, err
    assert "went by the image's names (Linux, V1)" in err  # "2204" alone names no generation
    assert "the gallery image definitions are V2: building a V2 VM" in err
    assert source((run_env.tmp / "w" / "golden.pkr.hcl").read_text())["vm_size"] == '"Standard_D2ds_v4"'
