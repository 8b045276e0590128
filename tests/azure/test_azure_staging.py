"""The staging group's life: created and tagged, then deleted whole or, if the user's, only our part."""

from __future__ import annotations

import datetime as dt
import io
import time

import pytest
from fakearm import FakeArm

from aibpack.azure.clients import AzureContext
from aibpack.azure.staging import (
    MAX_GROUP_NAME,
    StagingGroup,
    delete_staging,
    prepare_staging,
    staging_group_name,
)
from aibpack.errors import EXIT_FAILED, EXIT_USAGE, AibpackError, BuildFailed
from aibpack.progress import Progress

RUN = "0123456789abcdef0123456789abcdef"


def _prepare(ctx: AzureContext, staging_resource_group: str | None = None, **extra: object) -> StagingGroup:
    return prepare_staging(
        ctx,
        staging_resource_group=staging_resource_group,
        destination_group="images-rg",
        template_name="ubuntu-base",
        location="westeurope",
        run_id=RUN,
        **extra,  # type: ignore[arg-type]
    )


def test_name_is_it_group_template_and_8_hex_of_the_run() -> None:
    name = staging_group_name("images-rg", "ubuntu-base", RUN)
    assert name.startswith("IT_images-rg_ubuntu-base_")
    suffix = name.rsplit("_", 1)[1]
    assert len(suffix) == 8 and int(suffix, 16) >= 0
    assert staging_group_name("images-rg", "ubuntu-base", RUN) == name
    assert staging_group_name("images-rg", "ubuntu-base", RUN + "x") != name


@pytest.mark.parametrize(("group_len", "template_len"), [(80, 10), (10, 80), (60, 60), (200, 200)])
def test_long_names_are_trimmed_to_90_keeping_both_parts(group_len: int, template_len: int) -> None:
    name = staging_group_name("g" * group_len, "t" * template_len, RUN)
    assert len(name) == MAX_GROUP_NAME
    _, group, template, _ = name.split("_")
    assert min(group_len, 38) <= len(group) and min(template_len, 38) <= len(template)


def test_unsafe_characters_are_replaced() -> None:
    assert staging_group_name("rg", "my template/v2", RUN).startswith("IT_rg_my-template-v2_")


def test_created_tagged_and_deleted_whole(ctx: AzureContext, fake_arm: FakeArm) -> None:
    staging = _prepare(ctx, extra_tags={"costCenter": "42"})
    assert staging.created_by_us and staging.run_id == RUN and staging.location == "westeurope"
    tags = fake_arm.resource_groups()[staging.name]
    assert tags["createdBy"] == "aibpack"
    assert tags["imageTemplateName"] == "ubuntu-base"
    assert tags["aibpackRunId"] == RUN
    assert tags["costCenter"] == "42"
    created = dt.datetime.fromisoformat(tags["aibpackCreatedAt"].replace("Z", "+00:00"))
    assert abs(dt.datetime.now(dt.timezone.utc) - created) < dt.timedelta(minutes=1)
    image = f"{staging.id}/providers/Microsoft.Compute/images/intermediate"
    fake_arm.add_resource(image, {"tags": staging.resource_tags})

    fake_arm.clear_requests()
    assert delete_staging(ctx, staging) == [staging.id, image]
    assert fake_arm.resource_groups() == {}
    assert fake_arm.resources() == []
    methods = [(m, s) for m, _, s in fake_arm.requests]
    assert ("DELETE", 202) in methods
    polls = [p for m, p, s in fake_arm.requests if "/operationresults/" in p]
    assert len(polls) == 2  # InProgress once (202), then done (200): polled for real


def test_deleting_the_group_shows_how_many_resources_are_left(ctx: AzureContext, fake_arm: FakeArm) -> None:
    staging = _prepare(ctx)
    for name in ("a", "b"):
        fake_arm.add_resource(
            f"{staging.id}/providers/Microsoft.Compute/images/{name}", {"tags": staging.resource_tags}
        )
    fake_arm.lro_polls = 3
    stream = io.StringIO()
    delete_staging(ctx, staging, Progress(stream, live=False, every=0).task("staging"))
    assert stream.getvalue().splitlines() == [
        "staging: deleting the group and its 2 resource(s)",
        "staging: deleting the group: 2 of 2 resource(s) left",
        "staging: deleted, with its 2 resource(s)",
    ]


def test_delete_of_a_group_already_gone_deletes_nothing(ctx: AzureContext, fake_arm: FakeArm) -> None:
    staging = _prepare(ctx)
    ctx.resources.resource_groups.begin_delete(staging.name).result()
    assert delete_staging(ctx, staging) == []


def test_existing_user_group_keeps_everything_but_this_runs_resources(ctx: AzureContext, fake_arm: FakeArm) -> None:
    group_id = fake_arm.add_group("my-staging", "westeurope", tags={"owner": "team"})
    staging = _prepare(ctx, group_id)
    assert staging == StagingGroup("my-staging", group_id, "westeurope", created_by_us=False, run_id=RUN)
    assert fake_arm.resource_groups() == {"my-staging": {"owner": "team"}}  # not even re-tagged

    ours = staging.resource_tags
    base = f"{group_id}/providers/Microsoft.Compute"
    gallery = fake_arm.add_resource(f"{base}/galleries/g", {"tags": ours})
    definition = fake_arm.add_resource(f"{gallery}/images/d", {"tags": ours})
    version = fake_arm.add_resource(f"{definition}/versions/1.0.0", {"tags": ours})
    image = fake_arm.add_resource(f"{base}/images/intermediate", {"tags": ours})
    users = fake_arm.add_resource(f"{base}/images/users-image", {"tags": {"owner": "team"}})
    other_run = fake_arm.add_resource(f"{base}/disks/other", {"tags": {**ours, "aibpackRunId": "another-run"}})

    deleted = delete_staging(ctx, staging)
    # Nested resources first: the fake, like ARM, refuses to delete a gallery that still has images.
    assert deleted == [version, image, definition, gallery]
    assert fake_arm.resource_groups() == {"my-staging": {"owner": "team"}}
    assert fake_arm.resources() == sorted([users, other_run])
    assert not [r for r in fake_arm.requests if r[0] == "DELETE" and r[1].lower().endswith("/my-staging")]


def test_named_group_that_is_missing_is_created_and_then_ours(ctx: AzureContext, fake_arm: FakeArm) -> None:
    group_id = f"/subscriptions/{fake_arm.subscription_id}/resourceGroups/new-staging"
    staging = _prepare(ctx, group_id)
    assert staging.created_by_us and staging.name == "new-staging"
    assert fake_arm.resource_groups()["new-staging"]["createdBy"] == "aibpack"
    assert delete_staging(ctx, staging) == [group_id]
    assert fake_arm.resource_groups() == {}


@pytest.mark.parametrize(
    "group_id",
    [
        "/subscriptions/99999999-2222-4333-8444-555555555555/resourceGroups/elsewhere",
        "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/images/i",
        "my-staging",
    ],
)
def test_named_group_must_be_a_group_id_in_our_subscription(ctx: AzureContext, group_id: str) -> None:
    with pytest.raises(AibpackError) as err:
        _prepare(ctx, group_id)
    assert err.value.exit_code == EXIT_USAGE
    assert err.value.path == ("properties", "stagingResourceGroup")


def test_generated_name_that_exists_is_refused(ctx: AzureContext, fake_arm: FakeArm) -> None:
    fake_arm.add_group(staging_group_name("images-rg", "ubuntu-base", RUN))
    with pytest.raises(BuildFailed, match="already exists"):
        _prepare(ctx)


def test_429_then_500_are_retried_by_the_sdk(ctx: AzureContext, fake_arm: FakeArm) -> None:
    throttle = fake_arm.inject("PUT", r"/resourcegroups/IT_", 429, retry_after_ms=50)
    fault = fake_arm.inject("PUT", r"/resourcegroups/IT_", 500)
    started = time.monotonic()
    staging = _prepare(ctx)
    assert time.monotonic() - started >= 0.05
    assert (throttle.hits, fault.hits) == (1, 1)
    assert [s for m, _, s in fake_arm.requests if m == "PUT"] == [429, 500, 201]
    assert staging.name in fake_arm.resource_groups()


def test_create_that_keeps_failing_is_a_build_failure(ctx: AzureContext, fake_arm: FakeArm) -> None:
    ctx.retry_total = 1
    fake_arm.inject("PUT", r"/resourcegroups/", 503, times=None, message="The service is unavailable.")
    with pytest.raises(BuildFailed) as err:
        _prepare(ctx)
    assert err.value.exit_code == EXIT_FAILED
    assert "could not create staging resource group IT_images-rg_ubuntu-base_" in str(err.value)
    assert "The service is unavailable." in str(err.value)


def test_delete_ending_failed_is_a_build_failure_saying_what_to_delete(ctx: AzureContext, fake_arm: FakeArm) -> None:
    staging = _prepare(ctx)
    fake_arm.fail_operation(r"/resourceGroups/IT_", code="ResourceGroupDeletionBlocked", message="A lock blocks it.")
    with pytest.raises(BuildFailed) as err:
        delete_staging(ctx, staging)
    message = str(err.value)
    assert err.value.exit_code == EXIT_FAILED
    assert "ResourceGroupDeletionBlocked: A lock blocks it." in message
    assert f"az group delete --name {staging.name}" in message
    assert staging.name in fake_arm.resource_groups()


def test_user_group_resource_delete_failing_is_a_build_failure(ctx: AzureContext, fake_arm: FakeArm) -> None:
    group_id = fake_arm.add_group("my-staging", "westeurope")
    staging = _prepare(ctx, group_id)
    fake_arm.add_resource(f"{group_id}/providers/Microsoft.Compute/images/i", {"tags": staging.resource_tags})
    fake_arm.fail_operation(r"/images/i$", code="Conflict", message="image in use")
    with pytest.raises(BuildFailed) as err:
        delete_staging(ctx, staging)
    assert f"resources of run {RUN}: Conflict: image in use" in str(err.value)
    assert f"az resource list -g my-staging --tag aibpackRunId={RUN}" in str(err.value)
    (delete,) = [r for r in fake_arm.request_log if r.method == "DELETE"]
    assert delete.query == "api-version=2024-03-01"  # the provider's stable version, not its preview
