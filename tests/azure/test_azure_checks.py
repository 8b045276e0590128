"""Preflight checks distribution targets read-only and names the template path of the first bad one."""

from __future__ import annotations

import pytest
from fakearm import FakeArm

from aibpack.azure.checks import DistributeTarget, check_targets
from aibpack.azure.clients import AzureContext
from aibpack.errors import EXIT_FAILED, EXIT_USAGE, AibpackError, BuildFailed

OTHER_SUB = "22222222-2222-4333-8444-555555555555"


def _target(index: int, kind: str, resource_id: str) -> DistributeTarget:
    field = {"ManagedImage": "imageId", "SharedImage": "galleryImageId", "VHD": "uri"}[kind]
    return DistributeTarget(("properties", "distribute", index, field), kind, resource_id)  # type: ignore[arg-type]


@pytest.fixture
def dest(fake_arm: FakeArm) -> str:
    """An existing destination group with gallery ``g``, definition ``ubuntu`` and version 1.0.0."""
    group = fake_arm.add_group("images-rg")
    definition = fake_arm.add_gallery_image("images-rg", "g", "ubuntu")
    fake_arm.add_resource(f"{definition}/versions/1.0.0")
    return group


def test_good_targets_pass_and_nothing_is_written(ctx: AzureContext, fake_arm: FakeArm, dest: str) -> None:
    gallery = f"{dest}/providers/Microsoft.Compute/galleries/g/images/ubuntu"
    check_targets(
        ctx,
        [
            _target(0, "ManagedImage", f"{dest}/providers/Microsoft.Compute/images/out"),
            _target(1, "SharedImage", gallery),
            _target(2, "SharedImage", f"{gallery}/versions/1.0.1"),
            _target(3, "VHD", "https://account.blob.core.windows.net/vhds/out.vhd"),
        ],
    )
    assert {method for method, _, _ in fake_arm.requests} <= {"GET", "HEAD"}
    assert sum(1 for m, _, _ in fake_arm.requests if m == "HEAD") == 1  # the group is checked once


def test_missing_destination_group(ctx: AzureContext, fake_arm: FakeArm) -> None:
    group = f"/subscriptions/{fake_arm.subscription_id}/resourceGroups/nope"
    image = f"{group}/providers/Microsoft.Compute/images/out"
    with pytest.raises(BuildFailed) as err:
        check_targets(ctx, [_target(0, "ManagedImage", image)])
    assert err.value.exit_code == EXIT_FAILED
    assert str(err.value).startswith("properties.distribute[0].imageId: destination resource group nope not found")


def test_missing_gallery_image_definition_names_its_path(ctx: AzureContext, dest: str) -> None:
    targets = [
        _target(0, "ManagedImage", f"{dest}/providers/Microsoft.Compute/images/out"),
        _target(1, "SharedImage", f"{dest}/providers/Microsoft.Compute/galleries/g/images/debian"),
    ]
    with pytest.raises(BuildFailed) as err:
        check_targets(ctx, targets)
    assert str(err.value).startswith(
        "properties.distribute[1].galleryImageId: gallery image definition g/debian not found "
        "in resource group images-rg"
    )


def test_missing_gallery_is_a_missing_definition_too(ctx: AzureContext, dest: str) -> None:
    target = _target(0, "SharedImage", f"{dest}/providers/Microsoft.Compute/galleries/nope/images/ubuntu")
    with pytest.raises(BuildFailed, match="gallery image definition nope/ubuntu not found"):
        check_targets(ctx, [target])


def test_explicit_version_that_exists_is_refused(ctx: AzureContext, dest: str) -> None:
    target = _target(0, "SharedImage", f"{dest}/providers/Microsoft.Compute/galleries/g/images/ubuntu/versions/1.0.0")
    with pytest.raises(BuildFailed) as err:
        check_targets(ctx, [target])
    assert "gallery image version g/ubuntu/1.0.0 already exists" in str(err.value)
    assert err.value.path == ("properties", "distribute", 0, "galleryImageId")


@pytest.mark.parametrize(
    ("kind", "resource_id"),
    [
        ("ManagedImage", "not-an-id"),
        ("SharedImage", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/out"),
    ],
)
def test_malformed_ids_are_usage_errors(ctx: AzureContext, kind: str, resource_id: str) -> None:
    with pytest.raises(AibpackError) as err:
        check_targets(ctx, [_target(0, kind, resource_id)])
    assert err.value.exit_code == EXIT_USAGE


def test_azure_errors_become_build_failures_with_the_path(ctx: AzureContext, fake_arm: FakeArm, dest: str) -> None:
    ctx.retry_total = 0
    fake_arm.inject("GET", r"/galleries/g/images/ubuntu$", 403, code="AuthorizationFailed", message="no read")
    target = _target(0, "SharedImage", f"{dest}/providers/Microsoft.Compute/galleries/g/images/ubuntu")
    with pytest.raises(BuildFailed) as err:
        check_targets(ctx, [target])
    assert str(err.value) == (
        f"properties.distribute[0].galleryImageId: could not check {target.resource_id}: AuthorizationFailed: no read"
    )


def test_targets_in_another_subscription_are_checked_there(fakearm_certs: object, fake_arm_env: dict) -> None:
    from fakearm import SUBSCRIPTION
    from fakearm.fixtures import StubCredential

    with FakeArm(fakearm_certs, subscriptions=(SUBSCRIPTION, OTHER_SUB)) as fake:  # type: ignore[arg-type]
        ctx = AzureContext.from_env(
            StubCredential(), SUBSCRIPTION, {**fake_arm_env, "AIBPACK_ARM_ENDPOINT": fake.base_url}
        )
        fake.add_group("shared", subscription=OTHER_SUB)
        fake.add_gallery_image("shared", "g", "ubuntu", subscription=OTHER_SUB)
        gallery = f"/subscriptions/{OTHER_SUB}/resourceGroups/shared/providers/Microsoft.Compute/galleries/g"
        check_targets(ctx, [_target(0, "SharedImage", f"{gallery}/images/ubuntu")])
        assert all(OTHER_SUB in path for _, path, _ in fake.requests)
