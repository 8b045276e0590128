"""``aibpack run`` and what Packer delivers: gallery-direct with a modern Packer, Trusted Launch from the definition.

The fake ``packer`` behaves as the azure plugin v2 (tests/run/fakes/packer); the fake ARM holds Azure's rules on
which source each kind of gallery definition takes. Packer 1.6.6 is Debian's real binary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.cli import run
from support.run_env import DEST_GROUP, LOCATION, RunEnv
from support.tools import require_tool

OTHER_REGION = "eastus"


def _run(env: RunEnv, template: Path, *extra: str) -> tuple[int, str, dict[str, Any]]:
    outputs = env.tmp / "outputs.json"
    args = ["run", str(template), "--auth", "cli", "--output-json", str(outputs), "--work-dir", str(env.tmp / "w")]
    result = run([*args, *extra])
    return result.code, result.err, json.loads(outputs.read_text())


def _gallery(env: RunEnv, image: str, security: str | None = None, **target: Any) -> dict[str, Any]:
    env.fake.add_gallery_image(DEST_GROUP, "gal", image, LOCATION, security_type=security)
    return {
        "type": "SharedImage",
        "galleryImageId": env.gallery_image_id(image=image),
        "runOutputName": image,
        **target,
    }


def _two_regions() -> dict[str, Any]:
    return {"targetRegions": [{"name": LOCATION}, {"name": OTHER_REGION, "replicaCount": 2}]}


def _puts(env: RunEnv, kind: str) -> list[Any]:
    return [
        r
        for r in env.fake.request_log
        if r.method == "PUT" and f"/providers/microsoft.compute/{kind.lower()}/" in r.path.lower()
    ]


def test_trusted_launch_target_in_two_regions_builds_trusted_and_leaves_only_the_version(run_env: RunEnv) -> None:
    template = run_env.template(distribute=[_gallery(run_env, "tl", "TrustedLaunch", **_two_regions())])

    code, err, outputs = _run(run_env, template)

    assert code == 0, err
    version = run_env.gallery_image_id(image="tl") + "/versions/1.0.0"
    assert outputs["packer"]["artifactId"] == version
    (vm,) = _puts(run_env, "virtualMachines")
    assert vm.body["properties"]["securityProfile"] == {
        "securityType": "TrustedLaunch",
        "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
    }
    assert vm.body["properties"]["hardwareProfile"]["vmSize"] == "Standard_D2ds_v4"  # Gen2, Trusted Launch capable
    (published,) = _puts(run_env, "galleries")
    assert published.body["properties"]["storageProfile"]["source"] == {"virtualMachineId": vm.path}
    (output,) = outputs["runOutputs"]
    assert output["artifactId"] == version and output["provisioningState"] == "Succeeded"
    assert [(r["name"], r["replicationState"]) for r in output["regions"]] == [
        (LOCATION, "Completed"),
        (OTHER_REGION, "Completed"),
    ]
    assert _puts(run_env, "images") == []  # no managed image, ever
    assert run_env.staging_groups() == [] and outputs["stagingDeleted"] is True
    assert [r for r in run_env.fake.resources() if "/images/" in r.lower() and "/galleries/" not in r.lower()] == []
    assert version in run_env.fake.resources()
    build = run_env.builds()[0]
    assert build["source"]["security_type"] == "TrustedLaunch"
    assert "managed_image_name" not in build["source"]
    work = run_env.tmp / "w"
    assert "security_type" in (work / "golden.pkr.hcl").read_text()
    assert '"github.com/hashicorp/azure"' in (work / "packer-plugins.pkr.hcl").read_text()


def test_trusted_launch_with_packer_1_6_6_fails_before_anything_is_created(run_env: RunEnv) -> None:
    packer = require_tool("packer", "/usr/bin/packer")
    template = run_env.template(distribute=[_gallery(run_env, "tl", "TrustedLaunch", **_two_regions())])

    code, err, outputs = _run(run_env, template, "--packer", packer)

    assert code == 1
    assert "is Packer 1.6.6" in err
    assert (
        "a Trusted Launch VM as build VM (security_type TrustedLaunch, secure_boot_enabled, vtpm_enabled) needs " in err
    )
    assert "needs Packer >= 1.7.0 with the azure plugin" in err
    assert "github.com/hashicorp/azure >= 2.1.5" in err
    assert outputs["status"] == "Failed" and outputs["stagingResourceGroup"] is None
    assert run_env.writes() == []
    assert run_env.staging_groups() == []


def test_a_managed_image_target_beside_a_trusted_launch_one_is_refused_before_anything_is_created(
    run_env: RunEnv,
) -> None:
    managed = {"type": "ManagedImage", "imageId": run_env.image_id(), "location": LOCATION, "runOutputName": "mi"}
    template = run_env.template(distribute=[_gallery(run_env, "tl", "TrustedLaunch"), managed])

    code, err, _ = _run(run_env, template)

    assert code == 2
    assert "properties.distribute[1]: the build VM is a Trusted Launch VM (security_type TrustedLaunch)" in err
    assert "Azure never captures such a VM to a managed image, which a ManagedImage target is made from" in err
    assert run_env.writes() == [] and run_env.builds() == []


def test_further_gallery_targets_get_their_versions_from_the_published_one(run_env: RunEnv) -> None:
    first = _gallery(run_env, "tl", "TrustedLaunch", **_two_regions())
    second = _gallery(run_env, "tl2", "TrustedLaunch", versioning={"scheme": "Latest", "major": 3})
    code, err, outputs = _run(run_env, run_env.template(distribute=[first, second]))

    assert code == 0, err
    published = run_env.gallery_image_id(image="tl") + "/versions/1.0.0"
    copy = run_env.gallery_image_id(image="tl2") + "/versions/3.0.0"
    assert [o["artifactId"] for o in outputs["runOutputs"]] == [published, copy]
    record = run_env.fake.resource(copy)
    assert record is not None and record["properties"]["storageProfile"]["source"] == {"id": published}
    assert len(_puts(run_env, "virtualMachines")) == 1 and _puts(run_env, "images") == []


def test_a_gallery_only_template_is_published_straight_from_the_build_vm(run_env: RunEnv) -> None:
    """Gallery-direct for everyone who can: no managed image to capture, copy and delete."""
    targets = [_gallery(run_env, "ubuntu", **_two_regions()), _gallery(run_env, "ubuntu2")]
    code, err, outputs = _run(run_env, run_env.template(distribute=targets))

    assert code == 0, err
    assert _puts(run_env, "images") == []
    (vm,) = _puts(run_env, "virtualMachines")
    assert "securityProfile" not in vm.body["properties"]
    published, copy = (o["artifactId"] for o in outputs["runOutputs"])
    assert run_env.fake.resource(copy)["properties"]["storageProfile"]["source"] == {"id": published}  # type: ignore[index]
    assert run_env.staging_groups() == []


def test_a_trusted_launch_supported_definition_takes_the_managed_image_route(run_env: RunEnv) -> None:
    """Azure takes no VM (and no Trusted Launch security data) into a ...Supported definition: a plain build's
    managed image is its documented source."""
    code, err, outputs = _run(
        run_env, run_env.template(distribute=[_gallery(run_env, "sup", "TrustedLaunchSupported")])
    )

    assert code == 0, err
    (vm,) = _puts(run_env, "virtualMachines")
    assert "securityProfile" not in vm.body["properties"]
    (image,) = _puts(run_env, "images")
    version = run_env.fake.resource(outputs["runOutputs"][0]["artifactId"])
    assert version is not None and version["properties"]["storageProfile"]["source"] == {"id": image.path}


def test_trusted_launch_and_supported_definitions_cannot_share_one_build(run_env: RunEnv) -> None:
    targets = [_gallery(run_env, "tl", "TrustedLaunch"), _gallery(run_env, "sup", "TrustedLaunchSupported")]
    code, err, _ = _run(run_env, run_env.template(distribute=targets))

    assert code == 2
    assert "properties.distribute[1]: this target's gallery image definition is TrustedLaunchSupported" in err
    assert run_env.writes() == []


def test_a_shallow_trusted_launch_target_is_refused(run_env: RunEnv) -> None:
    template = run_env.template(distribute=[_gallery(run_env, "tl", "TrustedLaunch", replicationMode="Shallow")])
    code, err, _ = _run(run_env, template)
    assert code == 2
    assert "properties.distribute[0].replicationMode: replicationMode Shallow keeps the version depending" in err
    assert run_env.writes() == []


@pytest.mark.parametrize("security", ["ConfidentialVM"])
def test_a_confidential_definition_builds_a_confidential_vm(run_env: RunEnv, security: str) -> None:
    template = run_env.template(
        distribute=[_gallery(run_env, "cvm", security)], vmProfile={"vmSize": "Standard_DC2as_v5"}
    )
    code, err, _ = _run(run_env, template)
    assert code == 0, err
    (vm,) = _puts(run_env, "virtualMachines")
    assert vm.body["properties"]["securityProfile"]["securityType"] == "ConfidentialVM"
    assert _puts(run_env, "images") == []


def test_a_gallery_in_another_subscription_keeps_the_managed_image_route(run_env: RunEnv) -> None:
    """A version is made from another only in the same subscription: with a second subscription's gallery, run
    keeps a managed image to make both from; a Trusted Launch build, which has none, is refused."""
    other = "00000000-0000-4000-8000-0000000000b2"
    run_env.fake.subscriptions.add(other)
    run_env.fake.add_group(DEST_GROUP, LOCATION, subscription=other)
    far = run_env.fake.add_gallery_image(DEST_GROUP, "gal", "far", LOCATION, subscription=other)
    targets = [_gallery(run_env, "near"), {"type": "SharedImage", "galleryImageId": far, "runOutputName": "far"}]

    code, err, outputs = _run(run_env, run_env.template(distribute=targets))

    assert code == 0, err
    assert len(_puts(run_env, "images")) == 1
    assert [o["provisioningState"] for o in outputs["runOutputs"]] == ["Succeeded", "Succeeded"]

    run_env.fake.clear_requests()
    trusted = [_gallery(run_env, "tl", "TrustedLaunch"), {**targets[1], "runOutputName": "far2"}]
    code, err, _ = _run(run_env, run_env.template(distribute=trusted, name="tl"))
    assert code == 2
    assert "properties.distribute[1].galleryImageId: a gallery version is made from another only in the same" in err
    assert run_env.writes() == []


def test_a_version_packer_failed_to_publish_is_deleted_unless_kept(run_env: RunEnv) -> None:
    """The plugin leaves a version whose publishing failed; aibpack deletes it, as it does its own failed ones."""
    run_env.fake.fail_replication(r"/versions/", LOCATION)
    template = run_env.template(distribute=[_gallery(run_env, "tl", "TrustedLaunch")])

    code, err, outputs = _run(run_env, template)

    assert code == 1
    assert "packer build failed (exit 1)" in err and "publishing to the Shared Image Gallery" in err
    version = run_env.gallery_image_id(image="tl") + "/versions/1.0.0"
    assert f"deleted the gallery version Packer failed to publish, {version}" in err
    assert [r for r in run_env.fake.resources() if "/versions/" in r] == []
    assert outputs["stagingDeleted"] is True and run_env.staging_groups() == []

    run_env.fake.clear_requests()
    run_env.fake.fail_replication(r"/versions/", LOCATION)
    template = run_env.template(distribute=[_gallery(run_env, "tl2", "TrustedLaunch")], name="b")
    code, err, _ = _run(run_env, template, "--keep-staging")
    assert code == 1
    kept = run_env.gallery_image_id(image="tl2") + "/versions/1.0.0"
    assert f"kept the gallery version Packer was publishing, {kept}" in err
    assert kept in run_env.fake.resources()
