"""What the fake answers with: ARM error bodies, timestamps, resource IDs and region names as ARM treats them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple


class Response(NamedTuple):
    status: int
    body: Any = None
    headers: dict[str, str] = {}


def error(status: int, code: str, message: str, target: str | None = None) -> Response:
    """An ARM error body (ARM RPC "Error response content": ``{"error": {"code", "message", "target"?}}``)."""
    body: dict[str, Any] = {"code": code, "message": message}
    if target:
        body["target"] = target
    return Response(status, {"error": body})


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_resource(path: str) -> tuple[str, str, str, bool] | None:
    """``/subscriptions/S/resourceGroups/G/providers/NS/t1/n1/t2...`` → (S, G, "NS/t1/t2", is_collection)."""
    match = re.match(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)/providers/([^/]+)/(.+)$", path, re.IGNORECASE)
    if not match:
        return None
    sub, group, namespace, rest = match.groups()
    segments = rest.strip("/").split("/")
    types = segments[0::2]
    return sub, group, "/".join([namespace, *types]), len(segments) % 2 == 1


def region(name: str | None) -> str:
    """ARM accepts a region by display name or by name: "West US" and "westus" are one region."""
    return (name or "").replace(" ", "").lower()
