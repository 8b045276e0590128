"""The role assignments a build needs (design.md), checked and granted with azure-mgmt-authorization.

Needed: Contributor on each destination resource group; Contributor on the subscription when no
``stagingResourceGroup`` is given (to create the ``IT_…`` group), else on that group; Reader on a custom
source (the managed image, or the gallery image definition of a SharedImageVersion source). A role held at
the scope or above it counts; Owner covers Contributor, and Owner or Contributor cover Reader.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aibpack.errors import AibpackError
from aibpack.model.resource_id import parse_id

from .clients import AzureContext, describe_error

if TYPE_CHECKING:
    from aibpack.model.template import ImageTemplate

ROLE_IDS = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3c98-4d1a-a7bd-2ccb6e7b9d88",
}
# A role is satisfied by itself or any of these broader built-in roles.
COVERED_BY = {
    "Reader": {"Reader", "Contributor", "Owner"},
    "Contributor": {"Contributor", "Owner"},
    "Owner": {"Owner"},
}


@dataclass(frozen=True)
class RoleNeed:
    role: str
    scope: str

    @property
    def subscription(self) -> str:
        return self.scope.split("/")[2]

    def __str__(self) -> str:
        return f"{self.role} on {self.scope}"


def needed_roles(template: ImageTemplate, subscription_id: str) -> list[RoleNeed]:
    """The roles the build identity needs, in a stable order, without duplicates."""
    props = template.properties
    needs: list[RoleNeed] = []

    def add(role: str, scope: str) -> None:
        scope = scope.rstrip("/")
        if all(not (n.role == role and n.scope.lower() == scope.lower()) for n in needs):
            needs.append(RoleNeed(role, scope))

    for target in props.distribute:
        if target.type == "VHD":
            continue
        parsed = parse_id(target.image_id if target.type == "ManagedImage" else target.gallery_image_id)
        add("Contributor", f"/subscriptions/{parsed.subscription}/resourceGroups/{parsed.resource_group}")
    if props.staging_resource_group:
        add("Contributor", props.staging_resource_group)
    else:
        add("Contributor", f"/subscriptions/{subscription_id}")
    source = props.source
    if source.type == "ManagedImage":
        add("Reader", source.image_id)
    elif source.type == "SharedImageVersion":
        add("Reader", source.image_version_id.split("/versions/")[0])
    return needs


def principal_from_token(ctx: AzureContext) -> str:
    """The object ID (``oid`` claim) of the identity behind the credential's access token."""
    token = ctx.credential.get_token(ctx.scope).token
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(claims["oid"])
    except (IndexError, ValueError, KeyError, TypeError):
        raise AibpackError(
            "cannot tell the signed-in identity's object ID from its access token; pass --assignee OBJECT_ID"
        ) from None


def _role_name(role_definition_id: str) -> str | None:
    guid = role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
    return next((name for name, rid in ROLE_IDS.items() if rid == guid), None)


def _covers(assignment_scope: str, scope: str) -> bool:
    a, s = assignment_scope.rstrip("/").lower(), scope.rstrip("/").lower()
    return a in ("", "/") or s == a or s.startswith(a + "/")


def missing_roles(ctx: AzureContext, needs: list[RoleNeed], assignee: str) -> list[RoleNeed]:
    """The needs that no assignment of ``assignee`` at or above their scope satisfies."""
    from azure.core.exceptions import HttpResponseError

    missing = []
    for need in needs:
        client = ctx.for_subscription(need.subscription).authorization
        try:
            assignments = list(
                client.role_assignments.list_for_scope(need.scope, filter=f"principalId eq '{assignee}'")
            )
        except HttpResponseError as exc:
            raise AibpackError(
                f"cannot list role assignments on {need.scope}: {describe_error(exc)}", exit_code=1
            ) from exc
        held = {
            _role_name(a.role_definition_id)
            for a in assignments
            if (a.principal_id or "").lower() == assignee.lower() and _covers(a.scope or "", need.scope)
        }
        if not held & COVERED_BY[need.role]:
            missing.append(need)
    return missing


def grant_roles(ctx: AzureContext, needs: list[RoleNeed], assignee: str) -> list[RoleNeed]:
    """Create an assignment for each of ``needs`` (already-existing ones are fine); returns those created."""
    from azure.core.exceptions import HttpResponseError, ResourceExistsError
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

    created = []
    for need in needs:
        client = ctx.for_subscription(need.subscription).authorization
        definitions = f"/subscriptions/{need.subscription}/providers/Microsoft.Authorization/roleDefinitions"
        role_definition_id = f"{definitions}/{ROLE_IDS[need.role]}"
        try:
            client.role_assignments.create(
                need.scope,
                str(uuid.uuid4()),
                RoleAssignmentCreateParameters(role_definition_id=role_definition_id, principal_id=assignee),
            )
        except ResourceExistsError:
            continue
        except HttpResponseError as exc:
            raise AibpackError(f"cannot assign {need}: {describe_error(exc)}", exit_code=1) from exc
        created.append(need)
    return created
