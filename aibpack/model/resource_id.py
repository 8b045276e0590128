"""Azure resource IDs: parsed in one place, for the model, the plan and the Azure stages alike."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)(?:/providers/(?P<ns>[^/]+)/(?P<rest>.+?))?/?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ResourceId:
    """``/subscriptions/S/resourceGroups/G[/providers/NS/type1/name1/type2/name2...]``."""

    subscription: str
    resource_group: str
    namespace: str = ""
    types: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    @property
    def type(self) -> str:
        """``Microsoft.Compute/galleries/images``; empty for a resource group ID."""
        return "/".join((self.namespace, *self.types)) if self.namespace else ""

    @property
    def name(self) -> str:
        """The last name; the group's name for a resource group ID."""
        return self.names[-1] if self.names else self.resource_group

    def __str__(self) -> str:
        group = f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
        if not self.namespace:
            return group
        pairs = "/".join(f"{t}/{n}" for t, n in zip(self.types, self.names, strict=True))
        return f"{group}/providers/{self.namespace}/{pairs}"


def parse_id(text: str) -> ResourceId:
    """Parse a resource group or resource ID; ``ValueError`` with a message fit for the user otherwise."""
    match = _ID.match(text.strip())
    segments = match.group("rest").split("/") if match and match.group("rest") else []
    if not match or len(segments) % 2:
        raise ValueError(f"'{text}' is not an Azure resource ID (/subscriptions/<id>/resourceGroups/<group>/...)")
    return ResourceId(
        subscription=match.group("sub"),
        resource_group=match.group("rg"),
        namespace=match.group("ns") or "",
        types=tuple(segments[0::2]),
        names=tuple(segments[1::2]),
    )


def parse_resource_id(text: str, expected_type: str) -> ResourceId:
    """Parse ``text`` as a resource ID of ``expected_type`` (e.g. ``Microsoft.Compute/images``)."""
    try:
        rid = parse_id(text)
    except ValueError:
        raise ValueError(
            f"'{text}' is not a resource ID: expected /subscriptions/<id>/resourceGroups/<group>"
            f"/providers/{expected_type}/<name>"
        ) from None
    if rid.type.lower() != expected_type.lower():
        raise ValueError(f"'{text}' is a {rid.type or 'resource group'} ID; expected a {expected_type} ID")
    return rid


def parse_group_id(text: str) -> tuple[str, str]:
    """``/subscriptions/S/resourceGroups/G`` → (S, G)."""
    rid = parse_id(text) if _ID.match(text.strip()) else None
    if rid is None or rid.namespace:
        raise ValueError(f"'{text}' is not a resource group ID: expected /subscriptions/<id>/resourceGroups/<name>")
    return rid.subscription, rid.resource_group
