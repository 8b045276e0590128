"""Azure resource IDs: the few shapes image templates use, parsed once."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/(?P<ns>[^/]+)/(?P<rest>.+?)/?$",
    re.IGNORECASE,
)
_GROUP_ID = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/?$", re.IGNORECASE)


@dataclass(frozen=True)
class ResourceId:
    """``/subscriptions/S/resourceGroups/G/providers/NS/type1/name1/type2/name2...``."""

    subscription: str
    resource_group: str
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def type(self) -> str:
        return "/".join((self.namespace, *self.types))

    @property
    def name(self) -> str:
        return self.names[-1]

    def __str__(self) -> str:
        pairs = "/".join(f"{t}/{n}" for t, n in zip(self.types, self.names, strict=True))
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{self.namespace}/{pairs}"
        )


def parse_resource_id(text: str, expected_type: str) -> ResourceId:
    """Parse ``text`` as a resource ID of ``expected_type`` (e.g. ``Microsoft.Compute/images``).

    Raises ``ValueError`` with a message fit for the user.
    """
    match = _ID.match(text.strip())
    segments = match.group("rest").split("/") if match else []
    if not match or len(segments) % 2:
        raise ValueError(
            f"'{text}' is not a resource ID: expected /subscriptions/<id>/resourceGroups/<group>"
            f"/providers/{expected_type}/<name>"
        )
    rid = ResourceId(
        subscription=match.group("sub"),
        resource_group=match.group("rg"),
        namespace=match.group("ns"),
        types=tuple(segments[0::2]),
        names=tuple(segments[1::2]),
    )
    if rid.type.lower() != expected_type.lower():
        raise ValueError(f"'{text}' is a {rid.type} ID; expected a {expected_type} ID")
    return rid


def parse_group_id(text: str) -> tuple[str, str]:
    """``/subscriptions/S/resourceGroups/G`` → (S, G)."""
    match = _GROUP_ID.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a resource group ID: expected /subscriptions/<id>/resourceGroups/<name>")
    return match.group("sub"), match.group("rg")
