"""Microsoft.Authorization in the fake: role definitions and role assignments, with Azure's documented rules.

Sources, cited beside each rule:
- [RA] Azure/azure-rest-api-specs ``specification/authorization/resource-manager/Microsoft.Authorization/stable/
  2022-04-01/authorization-RoleAssignmentsCalls.json`` and its x-ms-examples.
- [RD] the same folder, ``authorization-RoleDefinitionsCalls.json``.
- [LIST] MicrosoftDocs/azure-docs ``articles/role-based-access-control/role-assignments-list-rest.md``
  (the ``$filter`` values ``atScope()``, ``assignedTo('{objectId}')``, ``principalId eq '{objectId}'``).
- [TS] MicrosoftDocs/azure-docs ``articles/role-based-access-control/troubleshooting.md`` (PrincipalNotFound and
  setting ``principalType`` for new principals), and the UnmatchedPrincipalType error as Azure returns it
  (quoted in Azure/modern-web-app-pattern-dotnet#129).
"""

from __future__ import annotations

import copy
import datetime as dt
import fnmatch
import re
from collections.abc import Callable
from typing import Any

from .builtin_roles import BUILT_IN_ROLES, ROLE_DEFINITIONS, definition_body, role_by_guid
from .directory import Directory

Answer = tuple[int, Any]
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_SUB = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
_MG = re.compile(r"^/providers/microsoft\.management/managementgroups/([^/]+)$", re.IGNORECASE)
_EQ = re.compile(r"(\w+)\s+eq\s+'([^']*)'", re.IGNORECASE)
_ASSIGNED_TO = re.compile(r"assignedTo\('([^']*)'\)", re.IGNORECASE)


def _error(status: int, code: str, message: str) -> Answer:
    return status, {"error": {"code": code, "message": message}}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _norm(scope: str) -> str:
    return scope.rstrip("/").lower() or "/"


def _under(child: str, parent: str) -> bool:
    """``child`` equals ``parent`` or lies beneath it (lower case)."""
    return parent == "/" or child == parent or child.startswith(parent + "/")


class Authorization:
    """Role definitions (Azure's built-in ones) and role assignments over a scope tree.

    ``scope_problem`` says whether a subscription/group/resource scope exists; ``management_groups`` lists, per
    subscription, the management groups above it, innermost first (assignments there are inherited).
    """

    def __init__(self, directory: Directory, scope_problem: Callable[[str], Answer | None]) -> None:
        self.directory = directory
        self.scope_problem = scope_problem
        self.assignments: dict[str, dict[str, Any]] = {}
        self.management_groups: dict[str, list[str]] = {}

    # ---- the scope tree ----------------------------------------------------------------------------------

    def _ancestors(self, scope: str) -> list[str]:
        """Scopes at or above ``scope`` (lower case): itself, its parents, its management groups, the root."""
        scope = _norm(scope)
        out = [scope]
        parts = scope.split("/")
        for end in range(len(parts) - 1, 1, -1):
            parent = "/".join(parts[:end])
            if parent.count("/") >= 2 and not parent.endswith("/providers") and not parent.endswith("/resourcegroups"):
                out.append(parent)
        if sub := _SUB.match(scope):
            out += [f"/providers/microsoft.management/managementgroups/{mg.lower()}" for mg in self._mgs(sub.group(1))]
        elif mg := _MG.match(scope):
            out += [f"/providers/microsoft.management/managementgroups/{p}" for p in self._mg_parents(mg.group(1))]
        out.append("/")
        return list(dict.fromkeys(out))

    def _mgs(self, subscription: str) -> list[str]:
        return self.management_groups.get(subscription.lower(), [])

    def _mg_parents(self, mg: str) -> list[str]:
        for chain in self.management_groups.values():
            lowered = [m.lower() for m in chain]
            if mg.lower() in lowered:
                return lowered[lowered.index(mg.lower()) + 1 :]
        return []

    def _applies(self, assignment_scope: str, scope: str, below_too: bool) -> bool:
        assigned = _norm(assignment_scope)
        if assigned in self._ancestors(scope):
            return True
        return below_too and _under(assigned, _norm(scope))

    # ---- role definitions [RD] ---------------------------------------------------------------------------

    @staticmethod
    def _definition_prefix(scope: str) -> str:
        sub = _SUB.match(scope)
        return f"/subscriptions/{sub.group(1)}" if sub else ""

    def role_definitions(self, scope: str, name: str | None, query: dict[str, list[str]]) -> Answer:
        """List at a scope with an optional ``$filter=roleName eq '…'`` or ``type eq '…'`` ([RD]
        ``RoleDefinitionFilter``); get one by GUID."""
        prefix = self._definition_prefix(scope)
        if name is not None:
            role = role_by_guid(name)
            if role is None:
                return _error(
                    404, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{name}' does not exist."
                )
            return 200, definition_body(role, prefix)
        terms = {k.lower(): v for k, v in _EQ.findall(query.get("$filter", [""])[0])}
        roles = [
            role
            for role in BUILT_IN_ROLES
            if ("rolename" not in terms or terms["rolename"].lower() == role.name.lower())
            and ("type" not in terms or terms["type"].lower() == "builtinrole")
        ]
        return 200, {"value": [definition_body(role, prefix) for role in roles]}

    # ---- role assignments --------------------------------------------------------------------------------

    def list_assignments(self, scope: str, query: dict[str, list[str]]) -> Answer:
        """RoleAssignments_ListForScope with the filters of [LIST]:

        - no filter: assignments at, above and below the scope;
        - ``atScope()``: only at the scope and above it, not at subscopes;
        - ``principalId eq '{id}'``: that principal's own assignments (a group's included only by its own ID);
        - ``assignedTo('{id}')``: a user's or service principal's assignments and those of every group it belongs
          to, transitively; it does not accept a group's object ID.
        """
        text = query.get("$filter", [""])[0]
        at_scope = "atscope()" in text.lower()
        principals: set[str] | None = None
        if match := _ASSIGNED_TO.search(text):
            target = self.directory.get(match.group(1))
            if target is not None and target.type == "Group":
                # [LIST]: "This filter only accepts an object ID for a user or a service principal." The error code
                # is not documented; the fake answers 400.
                return _error(
                    400,
                    "UnsupportedQuery",
                    "assignedTo() accepts the object ID of a user or a service principal, not of a group.",
                )
            principals = {match.group(1).lower()} | self.directory.groups_of(match.group(1))
        for key, value in _EQ.findall(text):
            if key.lower() == "principalid":
                principals = {value.lower()}
        items = [
            copy.deepcopy(record)
            for record in self.assignments.values()
            if self._applies(record["properties"]["scope"], scope, below_too=not at_scope)
            and (principals is None or record["properties"]["principalId"].lower() in principals)
        ]
        return 200, {"value": items}

    def get_assignment(self, scope: str, name: str) -> Answer:
        record = self.assignments.get(self._key(scope, name))
        if record is None:
            return _error(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")
        return 200, copy.deepcopy(record)

    def delete_assignment(self, scope: str, name: str) -> Answer:
        record = self.assignments.pop(self._key(scope, name), None)
        return (200, record) if record else (204, None)  # [RA] RoleAssignments_Delete: 204 when already gone

    def put_assignment(self, scope: str, name: str, body: Any) -> Answer:
        """RoleAssignments_Create ([RA]; example RoleAssignments_CreateForResourceGroup.json)."""
        props = (body or {}).get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict) or not props.get("roleDefinitionId") or not props.get("principalId"):
            # [RA] RoleAssignmentProperties.required = ["roleDefinitionId", "principalId"]
            return _error(
                400, "InvalidRequestContent", "properties.roleDefinitionId and properties.principalId are required."
            )
        if not _GUID.match(name):
            # [RA] RoleAssignmentNameParameter: "It can be any valid GUID."
            return _error(400, "InvalidRoleAssignmentId", f"The role assignment ID '{name}' is not valid.")
        role_id, principal_id = props["roleDefinitionId"], props["principalId"]
        guid = role_id.rstrip("/").rsplit("/", 1)[-1]
        if role_by_guid(guid) is None:
            return _error(
                400, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{guid}' does not exist."
            )
        if problem := self.scope_problem(scope):
            return problem
        principal_type, problem = self._principal_type(principal_id, props.get("principalType"))
        if problem:
            return problem
        for other in self.assignments.values():
            p = other["properties"]
            if (
                _norm(p["scope"]) == _norm(scope)
                and p["principalId"].lower() == principal_id.lower()
                and p["roleDefinitionId"].rsplit("/", 1)[-1].lower() == guid.lower()
            ):
                return _error(409, "RoleAssignmentExists", "The role assignment already exists.")
        record = self._record(scope, name, role_id, principal_id, principal_type)
        self.assignments[self._key(scope, name)] = record
        return 201, copy.deepcopy(record)

    def _principal_type(self, principal_id: str, given: str | None) -> tuple[str, Answer | None]:
        """[TS]: an unknown principal is PrincipalNotFound unless ``principalType`` is given (a new principal may
        not have replicated yet); a given type that differs from the principal's is UnmatchedPrincipalType."""
        principal = self.directory.get(principal_id)
        if principal is None:
            if given:
                return given, None
            return "", _error(
                400,
                "PrincipalNotFound",
                f"Principal {principal_id.replace('-', '')} does not exist in the directory "
                f"{self.directory.tenant_id}. Check that you have the correct principal ID. If you are creating this "
                "principal and then immediately assigning a role, this error might be related to a replication "
                "delay. In this case, set the role assignment principalType property to a value, such as "
                "ServicePrincipal, User, or Group.",
            )
        if given and given != principal.type:
            # The message as Azure words it, typos included.
            return "", _error(
                400,
                "UnmatchedPrincipalType",
                f"The PrincipalId '{principal_id.replace('-', '')}' has type '{principal.type}' , which is "
                f"different from specified PrinciaplType '{given}'.",
            )
        return principal.type, None

    @staticmethod
    def _key(scope: str, name: str) -> str:
        return f"{_norm(scope)}/providers/microsoft.authorization/roleassignments/{name.lower()}"

    @staticmethod
    def _record(scope: str, name: str, role_id: str, principal_id: str, principal_type: str) -> dict[str, Any]:
        return {
            "id": f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "name": name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "scope": scope.rstrip("/") or "/",
                "roleDefinitionId": role_id,
                "principalId": principal_id,
                "principalType": principal_type,
                "createdOn": _now(),
            },
        }

    def assign(self, scope: str, role: str, principal_id: str, name: str) -> str:
        """Seed an assignment of a built-in role (by name) without the request checks; returns its ID."""
        guid = ROLE_DEFINITIONS[role]
        principal = self.directory.get(principal_id)
        record = self._record(
            scope,
            name,
            f"{self._definition_prefix(scope)}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
            principal_id,
            principal.type if principal else "User",
        )
        self.assignments[self._key(scope, name)] = record
        return record["id"]

    def forget_under(self, scope: str) -> None:
        """Azure deletes a resource's (or group's) role assignments with it."""
        for key in [k for k in self.assignments if _under(k, _norm(scope))]:
            del self.assignments[key]

    # ---- what a principal may do (for data-plane checks) ---------------------------------------------------

    def allows_data_action(self, principal_id: str, scope: str, action: str) -> bool:
        """Whether a role assigned to the principal or its groups at or above ``scope`` grants the data action."""
        principals = {principal_id.lower()} | self.directory.groups_of(principal_id)
        for record in self.assignments.values():
            props = record["properties"]
            if props["principalId"].lower() not in principals or not self._applies(props["scope"], scope, False):
                continue
            role = role_by_guid(props["roleDefinitionId"].rsplit("/", 1)[-1])
            if role and any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in role.data_actions):
                return True
        return False
