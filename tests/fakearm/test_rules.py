"""Azure's rules as the fake enforces them (rules.py), driven through the real Compute client."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from .sdk import compute_client, version_body
from .server import FakeArm

RG = "rg"


@pytest.fixture
def compute(fake_arm: FakeArm) -> Any:
    fake_arm.add_group(RG, "westus")
    fake_arm.add_group("rg-east", "eastus")
    return compute_client(fake_arm)


def rid(fake: FakeArm, tail: str, group: str = RG) -> str:
    return f"/subscriptions/{fake.subscription_id}/resourceGroups/{group}/providers/Microsoft.Compute/{tail}"


def disk(fake: FakeArm, name: str = "osdisk", location: str = "westus") -> str:
    return fake.add_resource(rid(fake, f"disks/{name}"), {"location": location, "properties": {"diskSizeGB": 30}})


def snapshot_body(location: str, option: str, source: str, incremental: bool = True) -> dict[str, Any]:
    return {
        "location": location,
        "properties": {
            "incremental": incremental,
            "creationData": {"createOption": option, "sourceResourceId": source},
        },
    }


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(HttpResponseError) as info:
        result = call()
        if hasattr(result, "result"):
            result.result()
    return info.value.error.code, info.value.error.message


def test_a_disk_is_not_made_from_a_managed_image(fake_arm: FakeArm, compute: Any) -> None:
    image = fake_arm.add_resource(rid(fake_arm, "images/built"), {"location": "westus"})
    body = {
        "location": "westus",
        "properties": {"creationData": {"createOption": "FromImage", "imageReference": {"id": image}}},
    }
    code, message = error_of(lambda: compute.disks.begin_create_or_update(RG, "d1", body))
    assert (code, message) == ("InvalidParameter", "The value of parameter imageReference is invalid.")
    assert fake_arm.resources(RG) == [image]


@pytest.mark.parametrize(
    ("name", "ok"),
    [("a" * 80, True), ("a" * 81, False), ("golden-", False), ("golden.", False), ("golden_", True), ("_x", False)],
)
def test_snapshot_names_follow_azure_naming_rules(fake_arm: FakeArm, compute: Any, name: str, ok: bool) -> None:
    source = disk(fake_arm)
    create = lambda: compute.snapshots.begin_create_or_update(RG, name, snapshot_body("westus", "Copy", source))  # noqa: E731
    if ok:
        assert create().result().name == name
    else:
        assert error_of(create) == ("InvalidParameter", "The value of parameter snapshot.name is invalid.")


def test_copystart_completes_over_polls_and_is_unusable_before(fake_arm: FakeArm, compute: Any) -> None:
    fake_arm.copy_polls = 3
    source = disk(fake_arm)
    compute.snapshots.begin_create_or_update(RG, "inc", snapshot_body("westus", "Copy", source)).result()
    here = rid(fake_arm, "snapshots/inc")
    full = compute.snapshots.begin_create_or_update(RG, "full", snapshot_body("westus", "Copy", source, False))
    full.result()
    code, _ = error_of(
        lambda: compute.snapshots.begin_create_or_update(
            "rg-east", "x", snapshot_body("eastus", "CopyStart", rid(fake_arm, "snapshots/full"))
        )
    )
    assert code == "InvalidParameter"
    code, _ = error_of(
        lambda: compute.snapshots.begin_create_or_update("rg-east", "x", snapshot_body("eastus", "Copy", here))
    )
    assert code == "InvalidParameter"

    copied = compute.snapshots.begin_create_or_update("rg-east", "there", snapshot_body("eastus", "CopyStart", here))
    assert copied.result().provisioning_state == "Succeeded"  # the PUT ends when the copy has *started*
    image = {
        "location": "eastus",
        "properties": {
            "storageProfile": {
                "osDisk": {
                    "osType": "Linux",
                    "osState": "Generalized",
                    "snapshot": {"id": rid(fake_arm, "snapshots/there", "rg-east")},
                }
            }
        },
    }
    code, message = error_of(lambda: compute.images.begin_create_or_update("rg-east", "img", image))
    assert code == "OperationNotAllowed" and "completionPercent" in message
    code, _ = error_of(
        lambda: compute.snapshots.begin_grant_access("rg-east", "there", {"access": "Read", "durationInSeconds": 60})
    )
    assert code == "OperationNotAllowed"
    percents = [compute.snapshots.get("rg-east", "there").completion_percent for _ in range(3)]
    assert percents == sorted(percents) and percents[0] < 100 and percents[-1] == 100
    assert compute.images.begin_create_or_update("rg-east", "img", image).result().provisioning_state == "Succeeded"


def test_deleting_the_source_of_a_running_copy_fails_the_copy(fake_arm: FakeArm, compute: Any) -> None:
    source = disk(fake_arm)
    compute.snapshots.begin_create_or_update(RG, "inc", snapshot_body("westus", "Copy", source)).result()
    here = rid(fake_arm, "snapshots/inc")
    compute.snapshots.begin_create_or_update("rg-east", "there", snapshot_body("eastus", "CopyStart", here)).result()
    compute.snapshots.begin_delete(RG, "inc").result()
    there = compute.snapshots.get("rg-east", "there")
    assert there.copy_completion_error.error_code == "CopySourceNotFound"
    assert there.completion_percent < 100


def versions_setup(fake: FakeArm, location: str = "westus") -> tuple[str, str]:
    definition = fake.add_gallery_image(RG, "g", "d", location="westeurope")
    image = fake.add_resource(rid(fake, "images/built"), {"location": location})
    return definition, image


def test_a_version_lives_in_its_source_region_and_replicates_there(fake_arm: FakeArm, compute: Any) -> None:
    _, image = versions_setup(fake_arm)
    versions = compute.gallery_image_versions
    code, message = error_of(
        lambda: versions.begin_create_or_update(RG, "g", "d", "1.0.0", version_body(image, ("eastus",)))
    )
    assert (code, message) == (
        "InvalidParameter",
        "Gallery image version publishing profile regions 'eastus' must contain the location of image version "
        "'westus'.",
    )
    in_east = version_body(image, ("eastus",), location="eastus")
    code, message = error_of(lambda: versions.begin_create_or_update(RG, "g", "d", "1.0.0", in_east))
    assert code == "InvalidParameter" and "must be created in that region" in message
    done = versions.begin_create_or_update(RG, "g", "d", "1.0.0", version_body(image, ("westus", "eastus")))
    assert done.result().location == "westus"


def test_one_managed_image_feeds_one_replicating_version_at_a_time(fake_arm: FakeArm, compute: Any) -> None:
    _, image = versions_setup(fake_arm)
    fake_arm.lro_polls = 3
    versions = compute.gallery_image_versions
    first = versions.begin_create_or_update(RG, "g", "d", "1.0.0", version_body(image))
    code, _ = error_of(lambda: versions.begin_create_or_update(RG, "g", "d", "1.0.1", version_body(image)))
    assert code == "OperationNotAllowed"
    first.result()
    version_1 = rid(fake_arm, "galleries/g/images/d/versions/1.0.0")
    # Another version may be made from the finished version, in a region where it has a replica.
    assert versions.begin_create_or_update(RG, "g", "d", "1.0.1", version_body(version_1)).result()
    in_east = version_body(version_1, ("eastus",), location="eastus")
    code, _ = error_of(lambda: versions.begin_create_or_update(RG, "g", "d", "1.0.2", in_east))
    assert code == "InvalidParameter"
    assert versions.begin_create_or_update(RG, "g", "d", "1.0.3", version_body(image)).result()


def test_replication_progress_rises_per_region(fake_arm: FakeArm, compute: Any) -> None:
    _, image = versions_setup(fake_arm)
    fake_arm.lro_polls = 4
    versions = compute.gallery_image_versions
    poller = versions.begin_create_or_update(RG, "g", "d", "1.0.0", version_body(image, ("westus", "eastus")))
    seen = []
    while not poller.done():
        status = versions.get(RG, "g", "d", "1.0.0", expand="ReplicationStatus").replication_status
        seen.append(tuple(s.progress for s in status.summary))
        poller.wait(0.01)
    assert seen[0][1] < 100
    assert any(0 < progress < 100 for pair in seen for progress in pair)
    final = versions.get(RG, "g", "d", "1.0.0", expand="ReplicationStatus").replication_status
    assert [(s.region, s.state, s.progress) for s in final.summary] == [
        ("westus", "Completed", 100),
        ("eastus", "Completed", 100),
    ]


def test_a_failed_replication_names_its_region(fake_arm: FakeArm, compute: Any) -> None:
    _, image = versions_setup(fake_arm)
    fake_arm.fail_replication(r"/versions/1\.0\.0$", "eastus")
    versions = compute.gallery_image_versions
    _, message = error_of(
        lambda: versions.begin_create_or_update(RG, "g", "d", "1.0.0", version_body(image, ("westus", "eastus")))
    )
    assert "region:eastus" in message
    status = versions.get(RG, "g", "d", "1.0.0", expand="ReplicationStatus").replication_status
    assert [(s.region, s.state) for s in status.summary] == [("westus", "Completed"), ("eastus", "Failed")]


def test_a_put_on_an_existing_version_is_an_update(fake_arm: FakeArm, compute: Any) -> None:
    _, image = versions_setup(fake_arm)
    other = fake_arm.add_resource(rid(fake_arm, "images/other"), {"location": "westus"})
    versions = compute.gallery_image_versions
    versions.begin_create_or_update(RG, "g", "d", "1.0.0", version_body(image)).result()
    code, message = error_of(lambda: versions.begin_create_or_update(RG, "g", "d", "1.0.0", version_body(other)))
    assert code == "PropertyChangeNotAllowed"
    assert message == "Changing property 'galleryImageVersion.properties.storageProfile.source.id' is not allowed."
    shallow = version_body(image, replicationMode="Shallow")
    assert error_of(lambda: versions.begin_create_or_update(RG, "g", "d", "1.0.0", shallow))[0] == (
        "PropertyChangeNotAllowed"
    )
    allowed = version_body(image, ("westus", "eastus"), excludeFromLatest=True)
    updated = versions.begin_create_or_update(RG, "g", "d", "1.0.0", allowed).result()
    assert [r.name for r in updated.publishing_profile.target_regions] == ["westus", "eastus"]
    assert updated.publishing_profile.exclude_from_latest is True
    assert updated.storage_profile.source.id == image


def test_shallow_replication_rules_and_its_dependence_on_the_source(fake_arm: FakeArm, compute: Any) -> None:
    _, image = versions_setup(fake_arm)
    versions = compute.gallery_image_versions
    two = version_body(image, ("westus", "eastus"), replicationMode="Shallow")
    assert error_of(lambda: versions.begin_create_or_update(RG, "g", "d", "1.0.0", two))[0] == "InvalidParameter"
    shallow = version_body(image, replicationMode="Shallow")
    versions.begin_create_or_update(RG, "g", "d", "1.0.0", shallow).result()
    assert fake_arm.orphaned_versions() == []
    compute.images.begin_delete(RG, "built").result()
    assert fake_arm.orphaned_versions() == [rid(fake_arm, "galleries/g/images/d/versions/1.0.0")]


@pytest.mark.parametrize("name", ["1.0", "1.0.0.0", "1.2147483648.0", "v1.0.0"])
def test_version_names(fake_arm: FakeArm, compute: Any, name: str) -> None:
    _, image = versions_setup(fake_arm)
    create = lambda: compute.gallery_image_versions.begin_create_or_update(RG, "g", "d", name, version_body(image))  # noqa: E731
    assert error_of(create)[0] == "InvalidParameter"


# ---- security types of gallery image definitions --------------------------------------------------------------


def _vm(fake: FakeArm, name: str, security: str | None = None) -> str:
    profile = {"securityProfile": {"securityType": security}} if security else {}
    return fake.add_resource(rid(fake, f"virtualMachines/{name}"), {"location": "westus", "properties": profile})


def _from_vm(vm: str) -> dict[str, Any]:
    body = version_body("")
    body["properties"]["storageProfile"] = {"source": {"virtualMachineId": vm}}
    return body


@pytest.mark.parametrize("security", ["TrustedLaunch", "ConfidentialVM"])
def test_a_guest_state_definition_takes_its_vm_or_version_but_no_managed_image(
    fake_arm: FakeArm, compute: Any, security: str
) -> None:
    image = fake_arm.add_resource(rid(fake_arm, "images/built"), {"location": "westus"})
    fake_arm.add_gallery_image(RG, "g", "tl", security_type=security)
    assert compute.gallery_images.get(RG, "g", "tl").features[0].value == security
    versions = compute.gallery_image_versions

    code, message = error_of(lambda: versions.begin_create_or_update(RG, "g", "tl", "1.0.0", version_body(image)))
    assert code == "InvalidParameter"
    assert message.startswith(f"The security type '{security}' is not supported for the source id '{image}'.")

    vm = _vm(fake_arm, "pkrvm1", security)
    assert versions.begin_create_or_update(RG, "g", "tl", "1.0.0", _from_vm(vm)).result()
    fake_arm.add_gallery_image(RG, "g", "tl2", security_type=security)
    published = versions.get(RG, "g", "tl", "1.0.0").id
    assert versions.begin_create_or_update(RG, "g", "tl2", "1.0.0", version_body(published)).result()
    # A definition without a security type still takes the managed image.
    fake_arm.add_gallery_image(RG, "g", "plain")
    assert versions.begin_create_or_update(RG, "g", "plain", "1.0.0", version_body(image)).result()


@pytest.mark.parametrize(
    "security", ["TrustedLaunchSupported", "TrustedLaunchAndConfidentialVmSupported", "ConfidentialVMSupported"]
)
def test_a_supported_definition_takes_a_managed_image_but_no_vm_nor_security_data(
    fake_arm: FakeArm, compute: Any, security: str
) -> None:
    image = fake_arm.add_resource(rid(fake_arm, "images/built"), {"location": "westus"})
    fake_arm.add_gallery_image(RG, "g", "sup", security_type=security)
    versions = compute.gallery_image_versions
    assert versions.begin_create_or_update(RG, "g", "sup", "1.0.0", version_body(image)).result()

    code, message = error_of(
        lambda: versions.begin_create_or_update(RG, "g", "sup", "1.0.1", _from_vm(_vm(fake_arm, "plain")))
    )
    assert code == "InvalidParameter"
    assert "Currently only Vhd Blob, User Image and Gallery Image Version sources are supported" in message

    fake_arm.add_gallery_image(RG, "g", "tl", security_type="TrustedLaunch")
    trusted = versions.begin_create_or_update(RG, "g", "tl", "1.0.0", _from_vm(_vm(fake_arm, "tlvm", "TrustedLaunch")))
    code, message = error_of(
        lambda: versions.begin_create_or_update(RG, "g", "sup", "1.0.2", version_body(trusted.result().id))
    )
    assert code == "Conflict"
    assert "contains TrustedLaunch or ConfidentialVM security data" in message


def test_a_trusted_launch_vm_cannot_be_captured_to_a_managed_image(fake_arm: FakeArm, compute: Any) -> None:
    from azure.mgmt.compute.models import Image, SubResource

    def capture(vm: str) -> Any:
        body = Image(location="westus", source_virtual_machine=SubResource(id=vm))
        return compute.images.begin_create_or_update(RG, "img", body).result()

    code, message = error_of(lambda: capture(_vm(fake_arm, "tl", "TrustedLaunch")))
    assert code == "OperationNotAllowed"
    assert "not supported for virtual machine with TrustedLaunch security type" in message
    assert capture(_vm(fake_arm, "std")).provisioning_state == "Succeeded"
    put = [r for r in fake_arm.request_log if r.method == "PUT"][-1]
    assert put.body["properties"]["sourceVirtualMachine"]["id"].endswith("/virtualMachines/std")
