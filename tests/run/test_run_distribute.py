"""``aibpack run``'s distribution end to end: the fake ``packer`` leaves what the azure plugin leaves (the image and,
when asked, the OS disk snapshot), and the fake ARM holds aibpack to Azure's rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakearm.resources import BlobStore
from support.azurite import ACCOUNT, KEY, azurite, sas_uri
from support.cli import run
from support.run_env import DEST_GROUP, LOCATION, RunEnv

__all__ = ["azurite"]


def _run(env: RunEnv, template: Path, *extra: str) -> tuple[int, str, dict]:
    outputs = env.tmp / "outputs.json"
    args = ["run", str(template), "--auth", "cli", "--output-json", str(outputs), "--work-dir", str(env.tmp / "w")]
    result = run([*args, *extra])
    return result.code, result.err, json.loads(outputs.read_text())


def _snapshot_var(env: RunEnv) -> str:
    argv = env.builds()[0]["argv"]
    pairs = dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "-var")
    return pairs.get("managed_image_os_disk_snapshot_name", "")


def test_vhd_and_other_region_image_come_from_the_os_disk_snapshot(
    run_env: RunEnv, azurite: str, tmp_path: Path
) -> None:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(azurite, credential={"account_name": ACCOUNT, "account_key": KEY})
    service.create_container("vhds")
    run_env.fake.use_blob_store(BlobStore(azurite, ACCOUNT, KEY))
    run_env.fake.add_group("rg-east", "eastus")
    east = run_env.image_id("golden-east", "rg-east")
    template = run_env.template(
        distribute=[
            run_env.managed_target(),
            {"type": "ManagedImage", "imageId": east, "location": "eastus", "runOutputName": "east"},
            {"type": "VHD", "runOutputName": "vhd", "uri": sas_uri(azurite, "vhds", "golden.vhd")},
        ]
    )
    code, err, outputs = _run(run_env, template)

    assert code == 0, err
    assert [o["provisioningState"] for o in outputs["runOutputs"]] == ["Succeeded"] * 3
    snapshot = _snapshot_var(run_env)
    assert snapshot.startswith("aibpack_golden_") and snapshot.endswith("_osdisk")
    assert (
        "managed_image_os_disk_snapshot_name = var.managed_image_os_disk_snapshot_name"
        in (run_env.tmp / "w" / "golden.pkr.hcl").read_text()
    )
    assert outputs["runOutputs"][2]["artifactUri"] == f"{azurite}/vhds/golden.vhd"
    assert service.get_blob_client("vhds", "golden.vhd").get_blob_properties().blob_type == "PageBlob"
    # Packer's snapshot went to the image's group, beside the image; it is deleted with every intermediate.
    assert run_env.fake.resources(DEST_GROUP) == [run_env.image_id()]
    assert run_env.fake.resources("rg-east") == [east]
    assert run_env.staging_groups() == []
    assert "east: image golden-east created in eastus" in err and "vhd: copied 4.0 KiB to" in err
    assert f"staging resource group {outputs['stagingResourceGroup']}: deleted" in err


@pytest.mark.parametrize("packer", ["1.6.6", "1.11.2"])  # from the managed image; published straight by Packer
def test_gallery_in_another_region_than_the_build(run_env: RunEnv, packer: str) -> None:
    run_env.monkeypatch.setenv("FAKE_PACKER_VERSION", packer)
    run_env.fake.add_group("rg-gallery", "westeurope")
    definition = run_env.fake.add_gallery_image("rg-gallery", "gal", "ubuntu", "westeurope")
    template = run_env.template(
        distribute=[{"type": "SharedImage", "galleryImageId": definition, "runOutputName": "sig"}]
    )
    code, err, outputs = _run(run_env, template)
    assert code == 0, err
    [out] = outputs["runOutputs"]
    assert [r["name"] for r in out["regions"]] == [LOCATION, "westeurope"]
    assert run_env.fake.resource(out["artifactId"])["location"] == LOCATION
    assert _snapshot_var(run_env) == ""  # nothing is copied from a snapshot: Packer is not asked for one
    assert "sig: 1.0.0 published: westus Completed, westeurope Completed" in err


def test_a_failed_target_says_why_and_its_version_is_deleted(run_env: RunEnv) -> None:
    run_env.monkeypatch.setenv("FAKE_PACKER_VERSION", "1.6.6")  # aibpack makes the version from the image
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION)
    run_env.fake.fail_replication(r"/versions/", LOCATION)
    template = run_env.template(distribute=[run_env.gallery_target()])
    code, err, outputs = _run(run_env, template)

    assert code == 1
    [out] = outputs["runOutputs"]
    assert out["provisioningState"] == "Failed"
    assert out["error"]["code"] == "InternalOperationError"
    assert out["error"]["message"].startswith("Gallery replication jobs failed in one or more regions.")
    assert f"error: sig (SharedImage): InternalOperationError: {out['error']['message']}" in err
    assert "distribution failed for sig" in err
    assert not [r for r in run_env.fake.resources(DEST_GROUP) if "/versions/" in r]
    assert run_env.staging_groups() == []


def test_keep_staging_keeps_the_failed_version(run_env: RunEnv) -> None:
    run_env.monkeypatch.setenv("FAKE_PACKER_VERSION", "1.6.6")  # aibpack makes the version from the image
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION)
    run_env.fake.fail_replication(r"/versions/", LOCATION)
    template = run_env.template(distribute=[run_env.gallery_target()])
    code, _, outputs = _run(run_env, template, "--keep-staging")
    assert code == 1 and outputs["stagingDeleted"] is False
    assert [r for r in run_env.fake.resources(DEST_GROUP) if "/versions/" in r] == [
        outputs["runOutputs"][0]["artifactId"]
    ]


def test_a_source_version_already_published_is_refused_before_anything(run_env: RunEnv) -> None:
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION)
    run_env.fake.add_resource(f"{run_env.gallery_image_id()}/versions/22.4.20240101", {"location": LOCATION})
    template = run_env.template(
        distribute=[run_env.gallery_target(versioning={"scheme": "Source"})],
        source={"type": "PlatformImage", "publisher": "p", "offer": "o", "sku": "s", "version": "22.4.20240101"},
    )
    code, err, _ = _run(run_env, template)
    assert code == 1
    assert "gallery image version gal/ubuntu/22.4.20240101 already exists" in err
    assert run_env.writes() == []


def test_shallow_whose_source_would_go_with_the_staging_group_is_refused(run_env: RunEnv) -> None:
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION)
    template = run_env.template(distribute=[run_env.gallery_target(replicationMode="Shallow")])
    code, err, _ = _run(run_env, template)
    assert code == 2
    assert "properties.distribute[0].replicationMode" in err
    assert run_env.fake.requests == []


def test_shallow_version_is_made_from_the_kept_managed_image(run_env: RunEnv) -> None:
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION)
    template = run_env.template(
        distribute=[run_env.managed_target(), run_env.gallery_target(replicationMode="Shallow")]
    )
    code, err, outputs = _run(run_env, template)
    assert code == 0, err
    version = run_env.fake.resource(outputs["runOutputs"][1]["artifactId"])
    assert version["properties"]["storageProfile"]["source"]["id"] == run_env.image_id()
    assert run_env.fake.orphaned_versions() == []
    assert run_env.image_id() in run_env.fake.resources(DEST_GROUP)
