"""``aibpack cleanup``: lists groups tagged createdBy=aibpack, deletes them only with --yes, never others."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from support.cli import run
from support.run_env import DEST_GROUP, RunEnv

from aibpack.commands.cleanup import parse_age
from aibpack.errors import AibpackError


def _stamp(hours_ago: float) -> str:
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seed(env: RunEnv) -> None:
    tags = {"createdBy": "aibpack", "imageTemplateName": "golden", "aibpackRunId": "r1"}
    env.fake.add_group("IT_rg_golden_old", tags={**tags, "aibpackCreatedAt": _stamp(48)})
    env.fake.add_group("IT_rg_golden_new", tags={**tags, "aibpackRunId": "r2", "aibpackCreatedAt": _stamp(0.1)})
    env.fake.add_group("IT_lookalike", tags={"createdBy": "someone-else", "aibpackCreatedAt": _stamp(48)})
    env.fake.add_group("rg-prod", tags={})


def test_without_yes_only_lists(run_env: RunEnv) -> None:
    _seed(run_env)
    result = run(["cleanup", "--auth", "cli"])
    assert result.code == 0, result.err
    assert "found: IT_rg_golden_old" in result.err
    assert "IT_rg_golden_new" not in result.err  # younger than the default 24h
    assert "IT_lookalike" not in result.err and "rg-prod" not in result.err
    assert "--yes" in result.err
    assert run_env.writes() == []


def test_yes_deletes_the_orphan_and_leaves_other_groups(run_env: RunEnv) -> None:
    _seed(run_env)
    result = run(["cleanup", "--auth", "cli", "--yes", "--json"])
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert [g["name"] for g in report["groups"]] == ["IT_rg_golden_old"]
    assert report["deleted"] == ["IT_rg_golden_old"]
    assert set(run_env.fake.resource_groups()) == {DEST_GROUP, "IT_rg_golden_new", "IT_lookalike", "rg-prod"}


def test_older_than_zero_takes_any_age(run_env: RunEnv) -> None:
    _seed(run_env)
    result = run(["cleanup", "--auth", "cli", "--older-than", "0", "--yes"])
    assert result.code == 0, result.err
    assert set(run_env.fake.resource_groups()) == {DEST_GROUP, "IT_lookalike", "rg-prod"}


def test_cleanup_deletes_a_group_a_kept_run_left(run_env: RunEnv) -> None:
    kept = run(["run", str(run_env.template()), "--auth", "cli", "--keep-staging", "--json"])
    assert kept.code == 0, kept.err
    group = json.loads(kept.out)["stagingResourceGroup"]
    assert run_env.staging_groups() == [group]

    result = run(["cleanup", "--auth", "cli", "--older-than", "0", "--yes"])
    assert result.code == 0, result.err
    assert f"deleted: {group}" in result.err
    assert run_env.staging_groups() == []
    assert DEST_GROUP in run_env.fake.resource_groups()


def test_delete_failure_exits_1(run_env: RunEnv) -> None:
    _seed(run_env)
    run_env.fake.fail_operation("IT_rg_golden_old", method="DELETE")
    result = run(["cleanup", "--auth", "cli", "--yes"])
    assert result.code == 1
    assert "could not delete IT_rg_golden_old" in result.err


@pytest.mark.parametrize(
    ("text", "expected"),
    [("24h", dt.timedelta(hours=24)), ("90m", dt.timedelta(minutes=90)), ("2d", dt.timedelta(days=2)), ("0", None)],
)
def test_parse_age(text: str, expected: dt.timedelta | None) -> None:
    assert parse_age(text) == expected


def test_parse_age_rejects_garbage() -> None:
    with pytest.raises(AibpackError):
        parse_age("soon")


def test_a_group_of_unknown_age_is_listed_and_deleted_only_when_asked(run_env: RunEnv) -> None:
    _seed(run_env)
    run_env.fake.add_group("IT_rg_golden_undated", tags={"createdBy": "aibpack", "aibpackCreatedAt": "last tuesday"})
    listed = run(["cleanup", "--auth", "cli"])
    assert listed.code == 0, listed.err
    assert "found: IT_rg_golden_undated (westus, age unknown, ?)" in listed.err
    assert "deleting them also needs --include-unknown-age" in listed.err
    kept = run(["cleanup", "--auth", "cli", "--yes"])
    assert "deleted: IT_rg_golden_old" in kept.err and "found: IT_rg_golden_undated" in kept.err
    assert "IT_rg_golden_undated" in run_env.fake.resource_groups()
    removed = run(["cleanup", "--auth", "cli", "--yes", "--include-unknown-age"])
    assert removed.code == 0 and "deleted: IT_rg_golden_undated" in removed.err
    assert "IT_rg_golden_undated" not in run_env.fake.resource_groups()
