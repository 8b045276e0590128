"""Azure's built-in role definitions the fake serves, as Azure publishes them.

Source of every GUID and permission below: the generated built-in roles reference,
MicrosoftDocs/azure-docs ``articles/role-based-access-control/built-in-roles/{privileged,general,identity,storage}.md``
(https://learn.microsoft.com/azure/role-based-access-control/built-in-roles). The names and GUIDs are the same in
every tenant; only the ``id`` prefix depends on the scope that is asked.

Never import aibpack's own role tables here: this is what the code under test is checked against.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class BuiltInRole(NamedTuple):
    name: str
    guid: str
    description: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()


_BLOB = "Microsoft.Storage/storageAccounts/blobServices"

BUILT_IN_ROLES = (
    # privileged.md
    BuiltInRole(
        "Owner",
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        ("*",),
    ),
    BuiltInRole(
        "Contributor",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage "
        "assignments in Azure Blueprints, or share image galleries.",
        ("*",),
        (
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ),
    ),
    BuiltInRole(
        "User Access Administrator",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "Lets you manage user access to Azure resources.",
        ("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"),
    ),
    # general.md
    BuiltInRole(
        "Reader",
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "View all resources, but does not allow you to make any changes.",
        ("*/read",),
    ),
    # identity.md
    BuiltInRole(
        "Managed Identity Operator",
        "f1a07417-d97a-45cb-824c-7a7467783830",
        "Read and Assign User Assigned Identity",
        (
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
            "Microsoft.Authorization/*/read",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Support/*",
        ),
    ),
    # storage.md
    BuiltInRole(
        "Storage Blob Data Contributor",
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        "Allows for read, write and delete access to Azure Storage blob containers and data",
        (
            f"{_BLOB}/containers/delete",
            f"{_BLOB}/containers/read",
            f"{_BLOB}/containers/write",
            f"{_BLOB}/generateUserDelegationKey/action",
        ),
        data_actions=(
            f"{_BLOB}/containers/blobs/delete",
            f"{_BLOB}/containers/blobs/read",
            f"{_BLOB}/containers/blobs/write",
            f"{_BLOB}/containers/blobs/move/action",
            f"{_BLOB}/containers/blobs/add/action",
        ),
    ),
    BuiltInRole(
        "Storage Blob Data Owner",
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "Allows for full access to Azure Storage blob containers and data, including assigning POSIX access control.",
        (f"{_BLOB}/containers/*", f"{_BLOB}/generateUserDelegationKey/action"),
        data_actions=(f"{_BLOB}/containers/blobs/*",),
    ),
    BuiltInRole(
        "Storage Blob Data Reader",
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        "Allows for read access to Azure Storage blob containers and data",
        (f"{_BLOB}/containers/read", f"{_BLOB}/generateUserDelegationKey/action"),
        data_actions=(f"{_BLOB}/containers/blobs/read",),
    ),
)
ROLE_DEFINITIONS = {role.name: role.guid for role in BUILT_IN_ROLES}
_BY_GUID = {role.guid: role for role in BUILT_IN_ROLES}


def role_by_guid(guid: str) -> BuiltInRole | None:
    return _BY_GUID.get(guid.lower())


def definition_body(role: BuiltInRole, id_prefix: str) -> dict[str, Any]:
    """A role definition as ``GET .../roleDefinitions`` returns it (authorization-RoleDefinitionsCalls.json)."""
    return {
        "id": f"{id_prefix}/providers/Microsoft.Authorization/roleDefinitions/{role.guid}",
        "name": role.guid,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": role.name,
            "type": "BuiltInRole",
            "description": role.description,
            "assignableScopes": ["/"],
            "permissions": [
                {
                    "actions": list(role.actions),
                    "notActions": list(role.not_actions),
                    "dataActions": list(role.data_actions),
                    "notDataActions": [],
                }
            ],
        },
    }
