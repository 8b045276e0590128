"""Distribution against the fake ARM with the real SDK clients: galleries, managed images, faults."""

from __future__ import annotations

import pytest
from fakearm import FakeArm
from fakearm.dist_helpers import make_template, rid, seed_built_image

from aibpack.azure.clients import AzureContext
from aibpack.azure.distribute import check_distributable, distribute_all
from aibpack.errors import AibpackError

RUN_TAGS = {"createdBy": "aibpack", "aibpackRunId": "r1"}


def gallery_target(fake: FakeArm, image: str = "ubuntu", **extra: object) -> dict[str, object]:
    fake.add_group("rg-gallery", "westeurope")
    definition = fake.add_gallery_image("rg-gallery", "golden", image, location="westeurope")
    return {"type": "SharedImage", "galleryImageId": definition, "runOutputName": f"sig-{image}", **extra}


def test_gallery_three_regions_and_managed_image(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_built_image(fake_arm)
    fake_arm.add_group("rg-images", "westus")
    target_image = rid(fake_arm, "rg-images", "images/golden")
    sig = gallery_target(
        fake_arm,
        targetRegions=[
            {"name": "westeurope", "replicaCount": 2, "storageAccountType": "Standard_ZRS"},
            {"name": "northeurope", "replicaCount": 1},
            {"name": "eastus", "replicaCount": 3, "storageAccountType": "Premium_LRS"},
        ],
        artifactTags={"os": "ubuntu", "team": "platform"},
        excludeFromLatest=True,
        replicationMode="Full",
    )
    managed = {"type": "ManagedImage", "imageId": target_image, "location": "westus", "runOutputName": "img"}
    template = make_template([sig, managed])
    outputs = distribute_all(ctx, template, built, build_location="westus", run_tags=RUN_TAGS)

    version_id = f"{sig['galleryImageId']}/versions/1.0.0"
    assert [o.to_dict() for o in outputs] == [
        {
            "runOutputName": "sig-ubuntu",
            "type": "SharedImage",
            "artifactId": version_id,
            "artifactUri": None,
            "provisioningState": "Succeeded",
            "regions": [
                {"name": n, "replicationState": "Completed", "details": ""}
                for n in ("westeurope", "northeurope", "eastus")
            ],
        },
        {
            "runOutputName": "img",
            "type": "ManagedImage",
            "artifactId": target_image,
            "artifactUri": None,
            "provisioningState": "Succeeded",
            "regions": [{"name": "westus", "replicationState": "Completed", "details": ""}],
        },
    ]
    version = fake_arm.resource(version_id)
    assert version is not None
    profile = version["properties"]["publishingProfile"]
    assert [(r["name"], r["regionalReplicaCount"], r["storageAccountType"]) for r in profile["targetRegions"]] == [
        ("westeurope", 2, "Standard_ZRS"),
        ("northeurope", 1, "Standard_LRS"),
        ("eastus", 3, "Premium_LRS"),
    ]
    assert profile["excludeFromLatest"] is True
    assert profile["replicationMode"] == "Full"
    assert version["properties"]["storageProfile"]["source"]["id"] == built
    assert version["tags"] == {**RUN_TAGS, "os": "ubuntu", "team": "platform"}
    # Exactly these resources: the built image, the gallery, its definition and version, the new image.
    assert fake_arm.resources("rg-images") == [target_image]
    assert fake_arm.resources("rg-gallery") == sorted(
        [sig["galleryImageId"].rsplit("/images/", 1)[0], sig["galleryImageId"], version_id]
    )
    assert fake_arm.resources("IT_build") == [built]
    assert fake_arm.resource(target_image)["properties"]["storageProfile"]["osDisk"]["osType"] == "Linux"
    assert not fake_arm.unhandled


def test_legacy_replication_regions_include_gallery_region(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_built_image(fake_arm)
    sig = gallery_target(fake_arm, replicationRegions=["eastus"], storageAccountType="Standard_ZRS")
    [out] = distribute_all(ctx, make_template([sig]), built, build_location="westus", run_tags={})
    assert out.succeeded, out.error
    version = fake_arm.resource(out.artifact_id or "")
    regions = version["properties"]["publishingProfile"]["targetRegions"]
    assert [(r["name"], r["storageAccountType"]) for r in regions] == [
        ("westeurope", "Standard_ZRS"),
        ("eastus", "Standard_ZRS"),
    ]


def test_latest_after_1_0_0_and_1_2_3_is_1_2_4(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_built_image(fake_arm)
    sig = gallery_target(fake_arm)
    for existing in ("1.0.0", "1.2.3", "2.0.0"):
        fake_arm.add_resource(f"{sig['galleryImageId']}/versions/{existing}", {"location": "westeurope"})
    latest_1 = {**sig, "versioning": {"scheme": "Latest", "major": 1}, "runOutputName": "a"}
    [out] = distribute_all(ctx, make_template([latest_1]), built, build_location="westus", run_tags={})
    assert out.artifact_id and out.artifact_id.endswith("/versions/1.2.4"), out
    [out] = distribute_all(ctx, make_template([sig]), built, build_location="westus", run_tags={})
    assert out.artifact_id and out.artifact_id.endswith("/versions/2.0.1"), out


def test_latest_without_versions_and_source_versioning(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_built_image(fake_arm)
    sig = gallery_target(fake_arm, versioning={"scheme": "Latest", "major": 3})
    [out] = distribute_all(ctx, make_template([sig]), built, build_location="westus", run_tags={})
    assert out.artifact_id and out.artifact_id.endswith("/versions/3.0.0")
    source = {"type": "PlatformImage", "publisher": "p", "offer": "o", "sku": "s", "version": "22.4.20240101"}
    by_source = {**sig, "versioning": {"scheme": "Source"}}
    template = make_template([by_source], source=source)
    [out] = distribute_all(ctx, template, built, build_location="westus", run_tags={})
    assert out.artifact_id and out.artifact_id.endswith("/versions/22.4.20240101")
    [out] = distribute_all(ctx, make_template([by_source]), built, build_location="westus", run_tags={})
    assert out.provisioning_state == "Failed" and "x.y.z" in (out.error or "")


def test_explicit_version_must_not_exist(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_built_image(fake_arm)
    sig = gallery_target(fake_arm)
    version_id = f"{sig['galleryImageId']}/versions/1.0.0"
    fake_arm.add_resource(version_id, {"location": "westeurope"})
    [out] = distribute_all(
        ctx, make_template([{**sig, "galleryImageId": version_id}]), built, build_location="westus", run_tags={}
    )
    assert out.provisioning_state == "Failed" and "already exists" in (out.error or "")


def test_429_then_500_on_version_put_still_succeed(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_built_image(fake_arm)
    sig = gallery_target(fake_arm)
    fake_arm.inject("PUT", r"/versions/", 429, retry_after_ms=10)
    fake_arm.inject("PUT", r"/versions/", 500)
    [out] = distribute_all(ctx, make_template([sig]), built, build_location="westus", run_tags={})
    assert out.succeeded, out.error
    puts = [s for m, p, s in fake_arm.requests if m == "PUT" and "/versions/" in p]
    assert puts == [429, 500, 201]


def test_failed_replication_fails_only_its_target(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_built_image(fake_arm)
    bad = gallery_target(fake_arm, "bad")
    good = gallery_target(fake_arm, "good")
    fake_arm.add_group("rg-images", "westus")
    image = {"type": "ManagedImage", "imageId": rid(fake_arm, "rg-images", "images/x"), "location": "westus"}
    fake_arm.fail_operation(r"/images/bad/versions/", code="ReplicationFailed", message="replication to eastus failed")
    template = make_template([bad, good, {**image, "runOutputName": "img"}])
    outputs = distribute_all(ctx, template, built, build_location="westus", run_tags={})
    assert [o.provisioning_state for o in outputs] == ["Failed", "Succeeded", "Succeeded"]
    assert outputs[0].error == "ReplicationFailed: replication to eastus failed"
    assert outputs[0].regions == [type(outputs[0].regions[0])("westeurope", "Failed", "")]
    assert outputs[0].to_dict()["error"] == outputs[0].error


def test_managed_image_in_other_region_leaves_no_intermediates(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_built_image(fake_arm)
    fake_arm.add_group("rg-east", "eastus")
    target_image = rid(fake_arm, "rg-east", "images/golden-east")
    target = {
        "type": "ManagedImage",
        "imageId": target_image,
        "location": "eastus",
        "runOutputName": "east",
        "artifactTags": {"a": "b"},
    }
    [out] = distribute_all(ctx, make_template([target]), built, build_location="westus", run_tags=RUN_TAGS)
    assert out.succeeded, out.error
    assert fake_arm.resources("rg-east") == [target_image]
    assert fake_arm.resources("IT_build") == [built]
    image = fake_arm.resource(target_image)
    assert image["location"] == "eastus"
    assert image["tags"] == {**RUN_TAGS, "a": "b"}
    snapshot_ref = image["properties"]["storageProfile"]["osDisk"]["snapshot"]["id"]
    assert "/snapshots/" in snapshot_ref
    created = [p.rsplit("/", 2)[-2] for m, p, s in fake_arm.requests if m == "PUT" and s in (201, 202)]
    assert created == ["disks", "snapshots", "snapshots", "images"]
    copy_puts = [p for m, p, s in fake_arm.requests if m == "DELETE"]
    assert len(copy_puts) == 3


def test_managed_image_where_packer_put_it_only_gets_tags(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_built_image(fake_arm)
    target = {"type": "ManagedImage", "imageId": built, "location": "westus", "runOutputName": "same"}
    target["artifactTags"] = {"x": "y"}
    [out] = distribute_all(ctx, make_template([target]), built, build_location="westus", run_tags={})
    assert out.succeeded, out.error
    assert fake_arm.resource(built)["tags"] == {"x": "y"}
    assert fake_arm.resources("IT_build") == [built]


def test_vhd_without_uri_is_refused_before_anything() -> None:
    template = make_template([{"type": "VHD", "runOutputName": "v"}])
    with pytest.raises(AibpackError) as info:
        check_distributable(template)
    assert info.value.exit_code == 2
    assert info.value.path == ("properties", "distribute", 0, "uri")
