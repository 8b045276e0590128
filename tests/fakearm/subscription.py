"""Resource Manager at subscription level: resource groups, resources listed by type or tag, resource providers, and
Compute's platform image catalogue (mixed into ``FakeArm``).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .authorization import Authorization
from .replies import Response, error

PROVIDER_TYPES = {
    "Microsoft.Compute": [
        "images",
        "disks",
        "snapshots",
        "galleries",
        "galleries/images",
        "galleries/images/versions",
        "virtualMachines",
    ],
    "Microsoft.Network": [
        "networkInterfaces",
        "virtualNetworks",
        "publicIPAddresses",
        "networkSecurityGroups",
    ],
    "Microsoft.KeyVault": ["vaults"],
    "Microsoft.Storage": ["storageAccounts"],
}
PROVIDER_API_VERSIONS = ["2025-01-01-preview", "2024-03-01"]
_TERM = re.compile(r"(\w+)\s+eq\s+'([^']*)'", re.IGNORECASE)


def _is_under(child: str, parent: str) -> bool:
    """True when scope ``child`` equals ``parent`` or lies beneath it (both lower-case)."""
    return child == parent or child.startswith(parent.rstrip("/") + "/")


def _filter_terms(query: dict[str, list[str]]) -> dict[str, str]:
    """``$filter=tagName eq 'a' and tagValue eq 'b'`` → {"tagname": "a", "tagvalue": "b"}."""
    return {k.lower(): v for k, v in _TERM.findall(query.get("$filter", [""])[0])}


def _tags_match(tags: dict[str, str] | None, terms: dict[str, str]) -> bool:
    """ARM's tag filter: names compare case-insensitively, values exactly."""
    if "tagname" not in terms:
        return True
    lowered = {k.lower(): v for k, v in (tags or {}).items()}
    if terms["tagname"].lower() not in lowered:
        return False
    return "tagvalue" not in terms or lowered[terms["tagname"].lower()] == terms["tagvalue"]


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


class Subscriptions:
    """Requests on a subscription and its resource groups, and whether a scope exists."""

    # FakeArm (server.py) provides these, and _remove, _unhandled, _start_operation and _accepted.
    subscriptions: set[str]
    authz: Authorization
    _groups: dict[tuple[str, str], dict[str, Any]]
    _resources: dict[str, dict[str, Any]]
    _platform_images: dict[tuple[str, ...], dict[str, Any]]

    # ---- resource groups ---------------------------------------------------------------------------------

    @staticmethod
    def _group_body(sub: str, name: str, location: str, tags: dict[str, str]) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{sub}/resourceGroups/{name}",
            "name": name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": location,
            "tags": dict(tags),
            "properties": {"provisioningState": "Succeeded"},
        }

    def _list_groups(self, sub: str, query: dict[str, list[str]]) -> Response:
        terms = _filter_terms(query)
        groups = [g for (s, _), g in sorted(self._groups.items()) if s == sub.lower() and _tags_match(g["tags"], terms)]
        return Response(200, {"value": copy.deepcopy(groups)})

    def _group(self, method: str, sub: str, name: str, body: Any, host: str) -> Response:
        key = (sub.lower(), name.lower())
        existing = self._groups.get(key)
        if method == "HEAD":
            return Response(204 if existing else 404)
        if method == "PUT":
            location = (body or {}).get("location")
            if not location:
                return error(400, "LocationRequired", "The location property is required for this definition.")
            if existing and existing["location"].lower() != location.lower():
                return error(
                    409,
                    "InvalidResourceGroupLocation",
                    f"Invalid resource group location '{location}'. The Resource group already exists in "
                    f"location '{existing['location']}'.",
                )
            record = self._group_body(sub, existing["name"] if existing else name, location, body.get("tags") or {})
            self._groups[key] = record
            return Response(200 if existing else 201, copy.deepcopy(record))
        if not existing:
            return error(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
        if method == "GET":
            return Response(200, copy.deepcopy(existing))
        if method == "PATCH":
            if "tags" in (body or {}):
                existing["tags"] = dict(body["tags"] or {})
            return Response(200, copy.deepcopy(existing))
        if method == "DELETE":
            return self._delete_group(sub, existing, host)
        return self._unhandled(method, existing["id"])

    def _delete_group(self, sub: str, group: dict[str, Any], host: str) -> Response:
        group["properties"]["provisioningState"] = "Deleting"
        prefix = group["id"].lower()

        def finish(succeeded: bool) -> None:
            if not succeeded:
                group["properties"]["provisioningState"] = "Succeeded"
                return
            self._groups.pop((sub.lower(), group["name"].lower()), None)
            self.authz.forget_under(prefix)
            self._remove([k for k in self._resources if _is_under(k, prefix)])

        return self._accepted(host, sub, self._start_operation("DELETE", group["id"], finish))

    # ---- resources listed, providers ---------------------------------------------------------------------

    def _list_resources(self, sub: str, group: str, query: dict[str, list[str]]) -> Response:
        """Resources_ListByResourceGroup (resources.json) with a tag ``$filter``."""
        return self._resource_list(f"/subscriptions/{sub}/resourcegroups/{group}/", query)

    def _list_subscription_resources(self, sub: str, query: dict[str, list[str]]) -> Response:
        """Resources_List (resources.json) with ``resourceType eq`` or a tag ``$filter``."""
        return self._resource_list(f"/subscriptions/{sub}/", query)

    def _resource_list(self, prefix: str, query: dict[str, list[str]]) -> Response:
        terms = _filter_terms(query)
        kind = terms.get("resourcetype", "").lower()
        # resources.json, $filter of Resources_List and Resources_ListByResourceGroup: "When you filter by a tag name
        # and value, the tags for each resource are not returned in the results."
        fields = (
            ("id", "name", "type", "location") if "tagname" in terms else ("id", "name", "type", "location", "tags")
        )
        items = [
            {k: r[k] for k in fields if k in r}
            for key, r in sorted(self._resources.items())
            if key.startswith(prefix.lower())
            and (not kind or r["type"].lower() == kind)
            and _tags_match(r.get("tags"), terms)
        ]
        return Response(200, {"value": copy.deepcopy(items)})

    def _provider(self, method: str, sub: str, namespace: str, path: str) -> Response:
        known = {ns.lower(): ns for ns in PROVIDER_TYPES}
        if method != "GET" or namespace.lower() not in known:
            return self._unhandled(method, path)
        ns = known[namespace.lower()]
        types = [{"resourceType": t, "locations": [], "apiVersions": PROVIDER_API_VERSIONS} for t in PROVIDER_TYPES[ns]]
        return Response(
            200,
            {
                "id": f"/subscriptions/{sub}/providers/{ns}",
                "namespace": ns,
                "registrationState": "Registered",
                "resourceTypes": types,
            },
        )

    def _scope_answer(self, scope: str) -> tuple[int, Any] | None:
        """Assignments need their scope to exist: subscription, group or resource."""
        match = re.match(r"^/subscriptions/([^/]+)(?:/resourcegroups/([^/]+))?(/providers/.*)?$", scope, re.IGNORECASE)
        if not match:
            return None
        sub, group, resource = match.groups()
        if sub.lower() not in self.subscriptions:
            return 404, error(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.").body
        if group and (sub.lower(), group.lower()) not in self._groups:
            return 404, error(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.").body
        if resource and scope.lower().rstrip("/") not in self._resources:
            return 404, error(404, "ResourceNotFound", f"The resource '{scope}' was not found.").body
        return None

    # ---- the platform image catalogue (Compute VirtualMachineImages_List / _Get) ------------------------

    def _platform_image(self, method: str, match: re.Match[str], query: dict[str, list[str]]) -> Response:
        """virtualMachineImage.json in azure-rest-api-specs (ComputeRP): List answers a bare JSON array of
        ``{name, location, id}`` (``$orderby=name desc``, ``$top``); Get answers the version with
        ``properties.osDiskImage.operatingSystem`` and ``properties.hyperVGeneration``."""
        if method != "GET":
            return self._unhandled(method, match.group(0))
        key = tuple(match.group(k).lower() for k in ("location", "publisher", "offer", "sku"))
        versions = {v: body for (*k, v), body in self._platform_images.items() if tuple(k) == key}
        if match.group("version") is None:
            names = sorted(versions, key=_version_key, reverse=True)
            if query.get("$top"):
                names = names[: int(query["$top"][0])]
            return Response(200, [{"name": versions[n]["name"], "location": versions[n]["location"]} for n in names])
        body = versions.get(match.group("version").lower())
        if body is None:
            return error(404, "ImageVersionDeprecated" if versions else "NotFound", "Artifact: VMImage was not found.")
        return Response(200, copy.deepcopy(body))
