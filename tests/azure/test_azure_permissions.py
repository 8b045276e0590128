"""``aibpack permissions check|grant``: Azure says which roles exist and what the assignee holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fakearm import FakeArm
from fakearm.dist_helpers import rid, seed_built_image
from fakearm.fixtures import FAKE_USER
from support.cli import run

READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"  # the built-in Reader (azure-docs built-in-roles/general.md)


def write_template(path: Path, source: dict[str, Any], distribute: list[dict[str, Any]], **properties: Any) -> Path:
    doc = {
        "type": "Microsoft.VirtualMachineImages/imageTemplates",
        "name": "tpl",
        "location": "westus",
        "properties": {"source": source, "distribute": distribute, **properties},
    }
    path.write_text(json.dumps(doc))
    return path


def _managed(fake: FakeArm, group: str = "rg-images") -> dict[str, Any]:
    return {"type": "ManagedImage", "imageId": rid(fake, group, "images/x"), "location": "westus", "runOutputName": "a"}


@pytest.fixture
def setup(tmp_path: Path, fake_arm: FakeArm, fake_arm_env: dict[str, str], fake_az: Path) -> dict[str, Any]:
    """A build service principal, a custom source, a managed image target and a gallery target."""
    sp = fake_arm.directory.add_service_principal()
    source = seed_built_image(fake_arm, "rg-src", "base")
    fake_arm.add_group("rg-images", "westus")
    fake_arm.add_group("rg-gallery", "westus")
    definition = fake_arm.add_gallery_image("rg-gallery", "g", "d")
    template = write_template(
        tmp_path / "t.json",
        {"type": "ManagedImage", "imageId": source},
        [_managed(fake_arm), {"type": "SharedImage", "galleryImageId": definition, "runOutputName": "b"}],
    )
    sub = f"/subscriptions/{fake_arm.subscription_id}"
    return {"sp": sp.object_id, "source": source, "template": template, "sub": sub}


def _args(setup: dict[str, Any], *extra: str) -> list[str]:
    return [str(setup["template"]), "--assignee", setup["sp"], "--auth", "cli", *extra]


def test_check_then_grant_twice(setup: dict[str, Any], fake_arm: FakeArm) -> None:
    fake_arm.add_role_assignment(rid(fake_arm, "rg-images"), "Owner", setup["sp"])  # already covered
    check = run(["permissions", "check", *_args(setup)])
    expected = [
        f"missing: Contributor on {rid(fake_arm, 'rg-gallery')}",
        f"missing: Contributor on {setup['sub']}",
        f"missing: Reader on {setup['source']}",
    ]
    assert (check.code, check.out.splitlines()) == (1, expected)

    grant = run(["permissions", "grant", *_args(setup)])
    assert grant.code == 0 and [line.replace("granted", "missing") for line in grant.out.splitlines()] == expected
    again = run(["permissions", "grant", *_args(setup)])
    assert again.code == 0 and again.out.startswith("ok: nothing to grant")
    puts = [r for r in fake_arm.request_log if r.method == "PUT" and "roleAssignments" in r.path]
    assert [r.status for r in puts] == [201] * 3
    created = [a["properties"] for a in fake_arm.role_assignments() if a["properties"]["principalId"] == setup["sp"]]
    assert {p["principalType"] for p in created} == {"ServicePrincipal"}  # sent, so Azure did not assume User
    reader = next(p for p in created if p["scope"] == setup["source"])
    assert reader["roleDefinitionId"].endswith(READER)
    looked_up = [unquote(r.query) for r in fake_arm.request_log if r.path.endswith("/roleDefinitions")]
    assert any("roleName eq 'Reader'" in q for q in looked_up)
    assert run(["permissions", "check", *_args(setup)]).code == 0


def test_roles_held_through_groups_and_management_groups_count(setup: dict[str, Any], fake_arm: FakeArm) -> None:
    team = fake_arm.directory.add_group(members=(setup["sp"],))
    platform = fake_arm.directory.add_group(members=(team.object_id,))
    fake_arm.set_management_groups("mg-images", "mg-root")
    fake_arm.add_role_assignment(setup["sub"], "Contributor", team.object_id)
    fake_arm.add_role_assignment(
        "/providers/Microsoft.Management/managementGroups/mg-root", "Reader", platform.object_id
    )
    check = run(["permissions", "check", *_args(setup)])
    assert (check.code, check.out.splitlines()) == (0, [f"ok: {setup['sp']} has all 4 roles the build needs"])
    queries = [unquote(r.query) for r in fake_arm.request_log if r.path.endswith("/roleAssignments")]
    assert queries and all(f"atScope() and assignedTo('{setup['sp']}')" in q for q in queries)
    grant = run(["permissions", "grant", *_args(setup)])
    assert grant.out.startswith("ok: nothing to grant")  # no redundant assignments
    assert not [r for r in fake_arm.request_log if r.method == "PUT"]


def test_a_wrong_principal_type_is_refused_with_a_hint(setup: dict[str, Any]) -> None:
    result = run(["permissions", "grant", *_args(setup, "--assignee-principal-type", "User")])
    assert result.code == 1
    assert "UnmatchedPrincipalType" in result.err and "--assignee-principal-type" in result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1


def test_the_signed_in_user_is_the_default_assignee(setup: dict[str, Any], fake_arm: FakeArm) -> None:
    result = run(["permissions", "grant", str(setup["template"]), "--auth", "cli"])
    assert result.code == 0, result.err
    mine = [a["properties"] for a in fake_arm.role_assignments() if a["properties"]["principalId"] == FAKE_USER]
    assert len(mine) == 4 and {p["principalType"] for p in mine} == {"User"}  # the token says it is a user


def test_identities_and_storage_need_their_roles(tmp_path: Path, fake_arm: FakeArm, setup: dict[str, Any]) -> None:
    group = fake_arm.add_group("rg-ops", "westus")
    identity = fake_arm.add_resource(f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/builder")
    scripts = fake_arm.add_blob("rg-ops", "scripts01", "c", "setup.sh", b"echo\n")
    vhds = fake_arm.add_blob("rg-ops", "vhds01", "images", "x.vhd", b"")
    template = write_template(
        tmp_path / "t2.json",
        {"type": "PlatformImage", "publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server"},
        [{"type": "VHD", "uri": "https://vhds01.blob.core.windows.net/images/x.vhd", "runOutputName": "v"}],
        vmProfile={"userAssignedIdentities": [identity]},
        customize=[{"type": "Shell", "scriptUri": "https://scripts01.blob.core.windows.net/c/setup.sh"}],
    )
    fake_arm.add_role_assignment(setup["sub"], "Owner", setup["sp"])  # Owner: every action, no data action
    args = [str(template), "--assignee", setup["sp"], "--auth", "cli"]
    check = run(["permissions", "check", *args])
    assert (check.code, check.out.splitlines()) == (
        1,
        [f"missing: Storage Blob Data Contributor on {vhds}", f"missing: Storage Blob Data Reader on {scripts}"],
    )  # Owner covers Managed Identity Operator's actions, but no storage data
    assert run(["permissions", "grant", *args]).code == 0
    roles = {a["properties"]["scope"]: a["properties"]["roleDefinitionId"] for a in fake_arm.role_assignments()}
    assert roles[vhds].endswith("ba92f5b4-2d11-453d-a403-e96b0029c9fe")  # Storage Blob Data Contributor
    assert roles[scripts].endswith("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")  # Storage Blob Data Reader


def test_contributor_covers_managed_identity_operator(tmp_path: Path, fake_arm: FakeArm, setup: dict[str, Any]) -> None:
    group = fake_arm.add_group("rg-ops", "westus")
    identity = fake_arm.add_resource(f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/builder")
    template = write_template(
        tmp_path / "t3.json",
        {"type": "PlatformImage", "publisher": "Canonical", "offer": "o", "sku": "s"},
        [_managed(fake_arm)],
        vmProfile={"userAssignedIdentities": [identity]},
    )
    args = [str(template), "--assignee", setup["sp"], "--auth", "cli"]
    assert run(["permissions", "check", *args]).out.splitlines() == [
        f"missing: Contributor on {rid(fake_arm, 'rg-images')}",
        f"missing: Contributor on {setup['sub']}",
        f"missing: Managed Identity Operator on {identity}",
    ]
    fake_arm.add_role_assignment(setup["sub"], "Contributor", setup["sp"])
    assert run(["permissions", "check", *args]).code == 0


def test_two_needs_on_one_scope_list_its_assignments_once(ctx: Any, fake_arm: FakeArm) -> None:
    from aibpack.azure.permissions import Permissions, RoleNeed

    sp = fake_arm.directory.add_service_principal()
    fake_arm.add_group("rg-images", "westus")
    scope = rid(fake_arm, "rg-images")
    fake_arm.add_role_assignment(scope, "Reader", sp.object_id)
    needs = [RoleNeed("Reader", scope), RoleNeed("Contributor", scope)]

    missing = Permissions(ctx, sp.object_id, "ServicePrincipal").missing(needs)

    assert [str(need) for need in missing] == [f"Contributor on {scope}"]
    listed = [r for r in fake_arm.request_log if r.method == "GET" and r.path.endswith("/roleAssignments")]
    assert len(listed) == 1
