"""``aibpack cleanup`` finds only groups aibpack created, and deletes only those it is given."""

from __future__ import annotations

import datetime as dt
from urllib.parse import unquote

import pytest
from fakearm import FakeArm

from aibpack.azure.cleanup import deletable, delete_orphans, find_orphans
from aibpack.azure.clients import AzureContext
from aibpack.errors import EXIT_FAILED, BuildFailed

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


def _ours(fake: FakeArm, name: str, created_at: str | None, run: str = "r") -> None:
    tags = {"createdBy": "aibpack", "imageTemplateName": "t", "aibpackRunId": run}
    if created_at:
        tags["aibpackCreatedAt"] = created_at
    fake.add_group(name, tags=tags)


@pytest.fixture
def groups(fake_arm: FakeArm) -> FakeArm:
    _ours(fake_arm, "IT_rg_t_00000001", "2025-05-30T12:00:00Z", run="old")
    _ours(fake_arm, "IT_rg_t_00000002", "2025-06-01T11:55:00Z", run="recent")
    _ours(fake_arm, "IT_rg_t_00000003", None, run="no-timestamp")
    fake_arm.add_group("IT_rg_t_look-alike", tags={"createdBy": "AzureVMImageBuilder"})
    fake_arm.add_group("users-group", tags={"createdBy": "aibpack-fan-club"})
    fake_arm.add_group("untagged")
    fake_arm.add_resource(
        f"/subscriptions/{fake_arm.subscription_id}/resourceGroups/IT_rg_t_00000001/providers/Microsoft.Compute/images/i"
    )
    return fake_arm


def test_finds_only_aibpack_groups_and_writes_nothing(ctx: AzureContext, groups: FakeArm) -> None:
    orphans = find_orphans(ctx, now=NOW)
    assert [o.name for o in orphans] == ["IT_rg_t_00000001", "IT_rg_t_00000002", "IT_rg_t_00000003"]
    old = orphans[0]
    assert old.run_id == "old" and old.template_name == "t" and old.location == "westus"
    assert old.age(NOW) == dt.timedelta(days=2)
    assert orphans[2].created_at is None and orphans[2].age(NOW) is None
    assert {method for method, _, _ in groups.requests} == {"GET"}
    assert "tagName eq 'createdBy' and tagValue eq 'aibpack'" in unquote(groups.request_log[0].query)


def test_older_than_keeps_recent_groups_and_lists_undated_ones(ctx: AzureContext, groups: FakeArm) -> None:
    orphans = find_orphans(ctx, older_than=dt.timedelta(hours=1), now=NOW)
    assert [(o.name, o.age(NOW)) for o in orphans] == [
        ("IT_rg_t_00000001", dt.timedelta(days=2)),
        ("IT_rg_t_00000003", None),  # age unknown: listed, so that nobody wonders where it went
    ]


def test_groups_being_deleted_are_not_listed(ctx: AzureContext, groups: FakeArm) -> None:
    groups.lro_polls = 5
    poller = ctx.resources.resource_groups.begin_delete("IT_rg_t_00000002")
    assert [o.name for o in find_orphans(ctx, now=NOW)] == ["IT_rg_t_00000001", "IT_rg_t_00000003"]
    poller.result()


def test_deletes_exactly_the_orphans_given(ctx: AzureContext, groups: FakeArm) -> None:
    orphans = deletable(find_orphans(ctx, older_than=dt.timedelta(hours=1), now=NOW))
    assert delete_orphans(ctx, orphans) == ["IT_rg_t_00000001"]
    assert sorted(groups.resource_groups()) == [
        "IT_rg_t_00000002",
        "IT_rg_t_00000003",
        "IT_rg_t_look-alike",
        "untagged",
        "users-group",
    ]
    assert groups.resources() == []


def test_all_deletes_are_attempted_before_failing(ctx: AzureContext, groups: FakeArm) -> None:
    orphans = find_orphans(ctx, now=NOW)
    groups.fail_operation(r"/IT_rg_t_00000002$", code="ScopeLocked", message="locked")
    with pytest.raises(BuildFailed) as err:
        delete_orphans(ctx, orphans)
    assert err.value.exit_code == EXIT_FAILED
    assert str(err.value) == (
        "deleted 2 of 3 staging resource groups; could not delete IT_rg_t_00000002: ScopeLocked: locked"
    )
    assert "IT_rg_t_00000002" in groups.resource_groups()
    assert "IT_rg_t_00000001" not in groups.resource_groups()


def test_a_group_someone_else_deleted_meanwhile_counts_as_gone(ctx: AzureContext, groups: FakeArm) -> None:
    orphans = deletable(find_orphans(ctx, older_than=dt.timedelta(hours=1), now=NOW))
    ctx.resources.resource_groups.begin_delete("IT_rg_t_00000001").result()
    assert delete_orphans(ctx, orphans) == ["IT_rg_t_00000001"]
