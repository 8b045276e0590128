"""Distribution against the fake ARM with the real SDK clients, under Azure's rules (tests/fakearm/rules.py)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fakearm import FakeArm
from fakearm.dist_helpers import make_template, rid, seed_build

from aibpack.azure.clients import AzureContext
from aibpack.azure.distribute import Place, check_distributable, check_shallow, distribute_all
from aibpack.azure.results import Built, RunOutput
from aibpack.errors import AibpackError
from aibpack.progress import Progress

RUN_TAGS = {"createdBy": "aibpack", "aibpackRunId": "r1"}


def gallery_target(fake: FakeArm, image: str = "ubuntu", location: str = "westeurope", **extra: Any) -> dict:
    fake.add_group("rg-gallery", location)
    definition = fake.add_gallery_image("rg-gallery", "golden", image, location=location)
    return {"type": "SharedImage", "galleryImageId": definition, "runOutputName": f"sig-{image}", **extra}


def distribute(ctx: AzureContext, targets: list[dict], built: Built, **kwargs: Any) -> list[RunOutput]:
    kwargs.setdefault("run_tags", {})
    return distribute_all(ctx, make_template(targets, **kwargs.pop("template", {})), built, run="r1", **kwargs)


def version_source(fake: FakeArm, version_id: str) -> str:
    return fake.resource(version_id)["properties"]["storageProfile"]["source"]["id"]


def test_gallery_in_another_region_and_managed_image(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    fake_arm.add_group("rg-images", "westus")
    target_image = rid(fake_arm, "rg-images", "images/golden")
    sig = gallery_target(
        fake_arm,
        targetRegions=[
            {"name": "westeurope", "replicaCount": 2, "storageAccountType": "Standard_ZRS"},
            {"name": "northeurope", "replicaCount": 1},
        ],
        artifactTags={"os": "ubuntu", "team": "platform"},
        excludeFromLatest=True,
        replicationMode="Full",
    )
    managed = {"type": "ManagedImage", "imageId": target_image, "location": "westus", "runOutputName": "img"}
    outputs = distribute(ctx, [sig, managed], built, run_tags=RUN_TAGS)

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
                for n in ("westus", "westeurope", "northeurope")
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
    # Created where its source is (the build's region, not the gallery's), and replicated there too.
    assert version["location"] == "westus"
    profile = version["properties"]["publishingProfile"]
    assert [(r["name"], r["regionalReplicaCount"], r["storageAccountType"]) for r in profile["targetRegions"]] == [
        ("westus", 1, "Standard_LRS"),
        ("westeurope", 2, "Standard_ZRS"),
        ("northeurope", 1, "Standard_LRS"),
    ]
    assert profile["excludeFromLatest"] is True and profile["replicationMode"] == "Full"
    assert version_source(fake_arm, version_id) == built.image_id
    assert version["tags"] == {**RUN_TAGS, "os": "ubuntu", "team": "platform"}
    # The second image is made from the OS disk snapshot: no disk from a managed image, nothing left over.
    image = fake_arm.resource(target_image)
    assert image["properties"]["storageProfile"]["osDisk"]["snapshot"]["id"] == built.os_snapshot_id
    assert fake_arm.resources("rg-images") == [target_image]
    assert fake_arm.resources("IT_build") == sorted([built.image_id, built.os_snapshot_id])
    assert not fake_arm.unhandled


def test_legacy_replication_regions_keep_the_gallery_and_build_regions(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    sig = gallery_target(fake_arm, replicationRegions=["eastus"], storageAccountType="Standard_ZRS")
    [out] = distribute(ctx, [sig], built)
    assert out.succeeded, out.error
    regions = fake_arm.resource(out.artifact_id or "")["properties"]["publishingProfile"]["targetRegions"]
    assert [(r["name"], r["storageAccountType"]) for r in regions] == [
        ("westus", "Standard_ZRS"),
        ("westeurope", "Standard_ZRS"),
        ("eastus", "Standard_ZRS"),
    ]


def test_latest_after_1_0_0_and_1_2_3_is_1_2_4(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    sig = gallery_target(fake_arm)
    for existing in ("1.0.0", "1.2.3", "2.0.0"):
        fake_arm.add_resource(f"{sig['galleryImageId']}/versions/{existing}", {"location": "westeurope"})
    [out] = distribute(ctx, [{**sig, "versioning": {"scheme": "Latest", "major": 1}}], built)
    assert out.artifact_id and out.artifact_id.endswith("/versions/1.2.4"), out
    [out] = distribute(ctx, [sig], built)
    assert out.artifact_id and out.artifact_id.endswith("/versions/2.0.1"), out


def test_latest_takes_the_next_number_when_a_concurrent_run_took_it(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    other = fake_arm.add_resource(rid(fake_arm, "IT_build", "images/other-run"), {"location": "westus"})
    sig = gallery_target(fake_arm)
    taken = f"{sig['galleryImageId']}/versions/1.0.0"
    # Between our listing and our PUT, another run creates 1.0.0 from its own image.
    fake_arm.before("PUT", r"/versions/1\.0\.0$", lambda: fake_arm.add_resource(taken, _version_from(other)))
    [out] = distribute(ctx, [sig], built)
    assert out.succeeded, out.error
    assert out.artifact_id == f"{sig['galleryImageId']}/versions/1.0.1"
    assert version_source(fake_arm, taken) == other  # never written over
    refused = [s for m, p, s in fake_arm.requests if m == "PUT" and p.endswith("/versions/1.0.0")]
    assert refused == [409]


def _version_from(source: str) -> dict:
    return {
        "location": "westus",
        "properties": {
            "publishingProfile": {"targetRegions": [{"name": "westus", "regionalReplicaCount": 1}]},
            "storageProfile": {"source": {"id": source}},
        },
    }


def test_latest_without_versions_and_source_versioning(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    sig = gallery_target(fake_arm, versioning={"scheme": "Latest", "major": 3})
    [out] = distribute(ctx, [sig], built)
    assert out.artifact_id and out.artifact_id.endswith("/versions/3.0.0")
    source = {"type": "PlatformImage", "publisher": "p", "offer": "o", "sku": "s", "version": "22.4.20240101"}
    by_source = {**sig, "versioning": {"scheme": "Source"}}
    [out] = distribute(ctx, [by_source], built, template={"source": source})
    assert out.artifact_id and out.artifact_id.endswith("/versions/22.4.20240101")
    [out] = distribute(ctx, [by_source], built, template={"source": source})
    assert out.provisioning_state == "Failed" and "already exists" in out.error.message


def test_explicit_version_must_not_exist(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    sig = gallery_target(fake_arm)
    version_id = f"{sig['galleryImageId']}/versions/1.0.0"
    fake_arm.add_resource(version_id, {"location": "westeurope"})
    [out] = distribute(ctx, [{**sig, "galleryImageId": version_id}], built)
    assert out.provisioning_state == "Failed" and "already exists" in out.error.message
    assert fake_arm.resource(version_id)["properties"].get("storageProfile") is None  # untouched


def test_429_with_retry_after_then_500_on_version_put_still_succeed(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    sig = gallery_target(fake_arm)
    fake_arm.inject("PUT", r"/versions/", 429, retry_after_ms=10)
    fake_arm.inject("PUT", r"/versions/", 500)
    [out] = distribute(ctx, [sig], built)
    assert out.succeeded, out.error
    puts = [s for m, p, s in fake_arm.requests if m == "PUT" and "/versions/" in p]
    assert puts == [429, 500, 201]


def test_failed_replication_says_why_and_deletes_the_version(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    bad = gallery_target(fake_arm, "bad", targetRegions=[{"name": "eastus"}])
    good = gallery_target(fake_arm, "good")
    fake_arm.fail_replication(r"/images/bad/versions/", "eastus", "Failed with internal server error.")
    outputs = distribute(ctx, [bad, good], built)
    assert [o.provisioning_state for o in outputs] == ["Failed", "Succeeded"]
    failed = outputs[0].to_dict()
    assert failed["error"]["code"] == "InternalOperationError"
    assert "region:eastus" in failed["error"]["message"]
    regions = {r["name"]: r["replicationState"] for r in failed["regions"]}
    assert regions["eastus"] == "Failed"
    assert fake_arm.resources("rg-gallery") == sorted(
        [
            bad["galleryImageId"].rsplit("/images/", 1)[0],
            bad["galleryImageId"],
            good["galleryImageId"],
            outputs[1].artifact_id,
        ]
    )


def test_keep_failed_leaves_the_failed_version(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    bad = gallery_target(fake_arm, "bad")
    fake_arm.fail_replication(r"/images/bad/versions/", "westus")
    [out] = distribute(ctx, [bad], built, keep_failed=True)
    assert out.provisioning_state == "Failed"
    assert fake_arm.resource(out.artifact_id or "")["properties"]["provisioningState"] == "Failed"


def test_three_gallery_targets_wait_for_the_managed_image(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    fake_arm.lro_polls = 3
    targets = [gallery_target(fake_arm, name) for name in ("a", "b", "c")]
    outputs = distribute(ctx, targets, built)
    assert all(o.succeeded for o in outputs), [o.error for o in outputs]
    first = outputs[0].artifact_id or ""
    assert version_source(fake_arm, first) == built.image_id
    # The others are made from the first version, which Azure allows while the managed image feeds one at a time.
    assert [version_source(fake_arm, o.artifact_id or "") for o in outputs[1:]] == [first] * 2


def test_one_after_another_from_the_managed_image(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    targets = [gallery_target(fake_arm, name) for name in ("a", "b")]
    outputs = distribute(ctx, targets, built, from_first_version=False)
    assert all(o.succeeded for o in outputs), [o.error for o in outputs]
    assert {version_source(fake_arm, o.artifact_id or "") for o in outputs} == {built.image_id}


def test_a_failed_first_version_leaves_the_others_the_managed_image(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    targets = [gallery_target(fake_arm, name) for name in ("a", "b")]
    fake_arm.fail_replication(r"/images/a/versions/", "westus")
    outputs = distribute(ctx, targets, built)
    assert [o.provisioning_state for o in outputs] == ["Failed", "Succeeded"]
    assert version_source(fake_arm, outputs[1].artifact_id or "") == built.image_id


def test_managed_image_in_other_region_waits_for_the_copy(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    fake_arm.copy_polls = 3
    fake_arm.add_group("rg-east", "eastus")
    long_name = "golden-" + "x" * 72  # 79 characters: intermediate names must still fit Azure's 80
    target_image = rid(fake_arm, "rg-east", f"images/{long_name}")
    target = {"type": "ManagedImage", "imageId": target_image, "location": "eastus", "runOutputName": "east"}
    target["artifactTags"] = {"a": "b"}
    stream = io.StringIO()
    progress = Progress(stream, live=False, every=0)
    [out] = distribute(
        ctx, [target], built, run_tags=RUN_TAGS, progress=progress, work=Place(fake_arm.subscription_id, "IT_build")
    )
    assert out.succeeded, out.error
    assert fake_arm.resources("rg-east") == [target_image]
    assert fake_arm.resources("IT_build") == sorted([built.image_id, built.os_snapshot_id])
    image = fake_arm.resource(target_image)
    assert (image["location"], image["tags"]) == ("eastus", {**RUN_TAGS, "a": "b"})
    created = [p.rsplit("/", 2)[-2] for m, p, s in fake_arm.requests if m == "PUT" and s in (201, 202)]
    assert created == ["disks", "snapshots", "snapshots", "images"]
    # The copy was polled to 100% before the image was made from it, and the progress said so.
    lines = stream.getvalue().splitlines()
    percents = [line for line in lines if "copying the OS disk snapshot to eastus" in line]
    assert percents[-1].endswith("100%") and len(percents) >= 2
    assert all(len(p.rsplit("/", 1)[1]) <= 80 for m, p, s in fake_arm.requests if "/snapshots/" in p or "/disks/" in p)


def test_managed_image_where_packer_put_it_only_gets_tags(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    target = {"type": "ManagedImage", "imageId": built.image_id, "location": "westus", "runOutputName": "same"}
    [out] = distribute(ctx, [{**target, "artifactTags": {"x": "y"}}], built)
    assert out.succeeded, out.error
    assert fake_arm.resource(built.image_id)["tags"] == {"x": "y"}


def test_without_the_os_disk_snapshot_copies_say_so(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm, snapshot=False)
    fake_arm.add_group("rg-east", "eastus")
    target = {"type": "ManagedImage", "imageId": rid(fake_arm, "rg-east", "images/x"), "location": "eastus"}
    [out] = distribute(ctx, [{**target, "runOutputName": "east"}], built)
    assert out.provisioning_state == "Failed" and "OS disk snapshot" in out.error.message
    assert not [r for r in fake_arm.requests if r[0] == "PUT"]


def test_shallow_version_from_the_kept_image_only_in_its_region(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    sig = gallery_target(fake_arm, replicationMode="Shallow", targetRegions=[{"name": "westus"}])
    [out] = distribute(ctx, [sig], built)
    assert out.succeeded, out.error
    version = fake_arm.resource(out.artifact_id or "")
    regions = version["properties"]["publishingProfile"]["targetRegions"]
    assert [(r["name"], r["regionalReplicaCount"]) for r in regions] == [("westus", 1)]
    assert fake_arm.orphaned_versions() == []


@pytest.mark.parametrize(
    ("extra", "kept", "where"),
    [
        ({"targetRegions": [{"name": "eastus"}]}, True, "targetRegions"),
        ({"targetRegions": [{"name": "westus", "replicaCount": 2}]}, True, "targetRegions"),
        ({"replicationRegions": ["westus", "eastus"]}, True, "replicationRegions"),
        ({}, False, "replicationMode"),
    ],
)
def test_shallow_rules_are_checked_before_anything(extra: dict, kept: bool, where: str) -> None:
    definition = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/g/providers/Microsoft.Compute"
    definition += "/galleries/gal/images/def"
    shallow = {"type": "SharedImage", "galleryImageId": definition, "runOutputName": "s", "replicationMode": "Shallow"}
    template = make_template([{**shallow, **extra}])
    with pytest.raises(AibpackError) as info:
        check_shallow(template, "westus", image_kept=kept)
    assert info.value.exit_code == 2
    assert info.value.path == ("properties", "distribute", 0, where)


def test_vhd_without_uri_is_refused_before_anything() -> None:
    template = make_template([{"type": "VHD", "runOutputName": "v"}])
    with pytest.raises(AibpackError) as info:
        check_distributable(template)
    assert info.value.exit_code == 2
    assert info.value.path == ("properties", "distribute", 0, "uri")


def test_a_failed_version_that_cannot_be_deleted_says_so(fake_arm: FakeArm, ctx: AzureContext) -> None:
    built = seed_build(fake_arm)
    bad = gallery_target(fake_arm, "bad")
    fake_arm.fail_replication(r"/images/bad/versions/", "westus")
    fake_arm.fail_operation(r"/images/bad/versions/", "Conflict", "still in use", method="DELETE")
    [out] = distribute(ctx, [bad], built)
    assert out.error.code == "InternalOperationError"
    assert out.error.message.startswith("Gallery replication jobs failed")
    note = "the failed version could not be deleted: Conflict: still in use; delete it with: az sig"
    assert note in out.error.message
