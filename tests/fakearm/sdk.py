"""The real azure-mgmt-* clients pointed at a fake, and request bodies the fake's own tests share."""

from __future__ import annotations

from typing import Any

from .fixtures import StubCredential
from .server import FakeArm


def client_kwargs(fake: FakeArm, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": fake.base_url,
        "credential_scopes": [f"{fake.base_url}/.default"],
        "connection_verify": fake.ca_path,
        "polling_interval": 0.01,
        "retry_backoff_factor": 0.01,
        "proxies": {},
        **extra,
    }


def compute_client(fake: FakeArm) -> Any:
    from azure.mgmt.compute import ComputeManagementClient

    return ComputeManagementClient(StubCredential(), fake.subscription_id, **client_kwargs(fake))


def version_body(source: str, regions: tuple[str, ...] = ("westus",), location: str = "westus", **profile: Any) -> dict:
    return {
        "location": location,
        "properties": {
            "publishingProfile": {
                "targetRegions": [{"name": r, "regionalReplicaCount": 1} for r in regions],
                **profile,
            },
            "storageProfile": {"source": {"id": source}},
        },
    }
