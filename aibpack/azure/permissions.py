"""The role assignments a build needs, checked and granted with azure-mgmt-authorization; Azure is asked for both
the roles (by name) and what each held role allows.

Needed (design.md, from AIB's documented requirements):
- Contributor on each destination resource group, and on the subscription when no ``stagingResourceGroup`` is
  given (to create the ``IT_…`` group), else on that group;
- Reader on a custom source (the managed image, or the gallery image definition of a SharedImageVersion source);
- Managed Identity Operator on each ``vmProfile.userAssignedIdentities`` entry (azure-compute-docs
  image-builder-json.md, "userAssignedIdentities": the image template's identity needs it to assign them);
- Storage Blob Data Contributor on a VHD target's storage account when its ``uri`` has no SAS token, and Storage
  Blob Data Reader on the account of each script or file in Azure Storage (image-builder-json.md: "the identity
  needs read access, even if the blob is public"). Owner and Contributor hold no data actions (built-in roles
  reference), so they do not cover these.

A role is found by name at its scope (``roleDefinitions`` with ``$filter=roleName eq '…'``, as
``az role assignment create --role NAME`` resolves it). A need is met when the roles assigned to the assignee at or
above the scope (directly, through groups, or at a management group: ``$filter=atScope() and
assignedTo('{id}')``, azure-docs role-assignments-list-rest.md) together allow every action and data action of the
needed role.
"""

from __future__ import annotations

import fnmatch
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aibpack.errors import AibpackError
from aibpack.model.resource_id import parse_id

from .blobs import storage_account
from .clients import AzureContext, describe_error

if TYPE_CHECKING:
    from aibpack.model.template import ImageTemplate

PrincipalType = Literal["User", "Group", "ServicePrincipal"]
# RoleAssignmentProperties.principalType (azure-rest-api-specs authorization-RoleAssignmentsCalls.json, 2022-04-01);
# the SDK sends "User" when it is not set, which Azure refuses for a service principal (UnmatchedPrincipalType).
PRINCIPAL_TYPES: tuple[PrincipalType, ...] = ("User", "Group", "ServicePrincipal")
_STORAGE = "/providers/Microsoft.Storage/storageAccounts/"


@dataclass(frozen=True)
class RoleNeed:
    role: str
    scope: str

    @property
    def subscription(self) -> str:
        return self.scope.split("/")[2]

    def __str__(self) -> str:
        return f"{self.role} on {self.scope}"


def needed_roles(template: ImageTemplate, subscription_id: str, storage_uris: tuple[str, ...] = ()) -> list[RoleNeed]:
    """The roles the build identity needs, in a stable order, without duplicates. ``storage_uris`` are the remote
    scripts and files; those in Azure Storage without a SAS token need a data role."""
    props = template.properties
    needs: list[RoleNeed] = []

    def add(role: str, scope: str) -> None:
        scope = scope.rstrip("/")
        if all(not (n.role == role and n.scope.lower() == scope.lower()) for n in needs):
            needs.append(RoleNeed(role, scope))

    for target in props.distribute:
        if target.type == "VHD":
            if target.uri and (account := storage_account(target.uri)):
                add("Storage Blob Data Contributor", _account_scope(subscription_id, account))
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
    for identity in props.vm_profile.user_assigned_identities:
        add("Managed Identity Operator", identity)
    for uri in storage_uris:
        if account := storage_account(uri):
            add("Storage Blob Data Reader", _account_scope(subscription_id, account))
    return needs


def _account_scope(subscription_id: str, account: str) -> str:
    """A storage account named in a URL, as a scope. Its resource group is not in the URL: the scope is resolved
    through Resource Manager (``resources.list`` filtered by type and name) when needed."""
    return f"/subscriptions/{subscription_id}{_STORAGE}{account}"


@dataclass
class _Roles:
    """Role definitions seen so far: by (subscription, name) and by definition GUID."""

    by_name: dict[tuple[str, str], Any] = field(default_factory=dict)
    by_guid: dict[str, Any] = field(default_factory=dict)


class Permissions:
    """Checks and grants for one assignee, asking Azure for roles and assignments once each."""

    def __init__(self, ctx: AzureContext, assignee: str, principal_type: PrincipalType) -> None:
        self.ctx = ctx
        self.assignee = assignee
        self.principal_type = principal_type
        self._roles = _Roles()
        self._scopes: dict[str, str] = {}
        self._held_at: dict[tuple[str, str], list[Any]] = {}  # (subscription, scope) -> definitions held there

    def missing(self, needs: list[RoleNeed]) -> list[RoleNeed]:
        """The needs that the roles held at or above their scope do not cover."""
        return [need for need in needs if not self._covered(need)]

    def grant(self, needs: list[RoleNeed]) -> list[RoleNeed]:
        """Create an assignment for each of ``needs`` (one that exists already is fine); returns those created."""
        from azure.core.exceptions import HttpResponseError, ResourceExistsError
        from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

        created = []
        for need in needs:
            scope = self.scope(need)
            definition = self._definition(need)
            parameters = RoleAssignmentCreateParameters(
                role_definition_id=definition.id, principal_id=self.assignee, principal_type=self.principal_type
            )
            try:
                self._client(need).role_assignments.create(scope, str(uuid.uuid4()), parameters)
            except ResourceExistsError:
                continue
            except HttpResponseError as exc:
                hint = ""
                if getattr(exc.error, "code", "") == "UnmatchedPrincipalType":
                    hint = " (say what the assignee is with --assignee-principal-type User|Group|ServicePrincipal)"
                raise AibpackError(f"cannot assign {need}: {describe_error(exc)}{hint}", exit_code=1) from exc
            created.append(need)
        return created

    # ---- Azure's answers ----------------------------------------------------------------------------------

    def _client(self, need: RoleNeed) -> Any:
        return self.ctx.for_subscription(need.subscription).authorization

    def scope(self, need: RoleNeed) -> str:
        """The need's scope as a full resource ID (a storage account's resource group is asked for)."""
        if _STORAGE.lower() not in need.scope.lower() or "/resourcegroups/" in need.scope.lower():
            return need.scope
        if need.scope not in self._scopes:
            account = need.scope.rsplit("/", 1)[1]
            resources = self.ctx.for_subscription(need.subscription).resources.resources
            # resources.json Resources_List: "resourceType eq" is a filter Azure documents on its own; the name is
            # matched here.
            accounts = resources.list(filter="resourceType eq 'Microsoft.Storage/storageAccounts'")
            found = [r for r in accounts if (r.name or "").lower() == account.lower()]
            if not found:
                raise AibpackError(
                    f"storage account {account} is not in subscription {need.subscription} (a script or VHD target "
                    "names it); pass --subscription for the one that holds it",
                    exit_code=1,
                )
            self._scopes[need.scope] = found[0].id
        return self._scopes[need.scope]

    def _definition(self, need: RoleNeed) -> Any:
        key = (need.subscription.lower(), need.role.lower())
        if key not in self._roles.by_name:
            found = list(
                self._client(need).role_definitions.list(self.scope(need), filter=f"roleName eq '{need.role}'")
            )
            if not found:
                raise AibpackError(f"Azure knows no role named {need.role} at {need.scope}", exit_code=1)
            self._roles.by_name[key] = found[0]
            self._roles.by_guid[found[0].name.lower()] = found[0]
        return self._roles.by_name[key]

    def _held(self, need: RoleNeed) -> list[Any]:
        """Definitions of the roles assigned to the assignee (or its groups) at or above the need's scope, listed once
        per scope (two needs on one storage account ask once)."""
        scope = self.scope(need)
        key = (need.subscription.lower(), scope.lower())
        if key not in self._held_at:
            self._held_at[key] = self._list_held(need, scope)
        return self._held_at[key]

    def _list_held(self, need: RoleNeed, scope: str) -> list[Any]:
        from azure.core.exceptions import HttpResponseError

        if self.principal_type == "Group":
            # assignedTo() takes users and service principals only; a group's own assignments are listed by its ID
            # at, above and below the scope, so the ones below are left out here.
            query = f"principalId eq '{self.assignee}'"
        else:
            query = f"atScope() and assignedTo('{self.assignee}')"
        client = self._client(need)
        try:
            assignments = list(client.role_assignments.list_for_scope(scope, filter=query))
        except HttpResponseError as exc:
            raise AibpackError(f"cannot list role assignments on {scope}: {describe_error(exc)}", exit_code=1) from exc
        held = []
        for assignment in assignments:
            if _below(assignment.scope or "", scope):
                continue
            guid = (assignment.role_definition_id or "").rstrip("/").rsplit("/", 1)[-1].lower()
            if guid not in self._roles.by_guid:
                self._roles.by_guid[guid] = client.role_definitions.get_by_id(assignment.role_definition_id)
            held.append(self._roles.by_guid[guid])
        return held

    def _covered(self, need: RoleNeed) -> bool:
        wanted = self._definition(need)
        held = self._held(need)
        if any(h.name.lower() == wanted.name.lower() for h in held):
            return True
        return all(_allows(held, action, data=False) for action in _actions(wanted, data=False)) and all(
            _allows(held, action, data=True) for action in _actions(wanted, data=True)
        )


def _below(assignment_scope: str, scope: str) -> bool:
    a, s = assignment_scope.rstrip("/").lower(), scope.rstrip("/").lower()
    return a != s and a.startswith(s + "/")


def _actions(definition: Any, *, data: bool) -> list[str]:
    return [a for p in definition.permissions or [] for a in ((p.data_actions if data else p.actions) or [])]


def _allows(held: list[Any], action: str, *, data: bool) -> bool:
    """Some held role grants ``action`` (a pattern itself, e.g. ``*/read``) and does not exclude it: Azure matches
    ``*`` as a wildcard in Actions and NotActions (azure-docs role-based-access-control/role-definitions.md)."""
    action = action.lower()
    for definition in held:
        for permission in definition.permissions or []:
            allowed = (permission.data_actions if data else permission.actions) or []
            excluded = (permission.not_data_actions if data else permission.not_actions) or []
            if any(fnmatch.fnmatchcase(action, a.lower()) for a in allowed) and not any(
                fnmatch.fnmatchcase(action, n.lower()) or fnmatch.fnmatchcase(n.lower(), action) for n in excluded
            ):
                return True
    return False
