"""A fake Azure Resource Manager on 127.0.0.1 for driving the real azure-mgmt-* clients in tests.

``FakeArm`` keeps resource groups, Compute images/disks/snapshots/galleries, role assignments and role definitions
in memory, and answers the way ARM does where the SDK cares. This module holds its state, its lifecycle and what
tests call (seeding, inspection, hooks); the requests are answered by the mixins it is made of:
- ``routing.py``: the HTTPS server and where each request goes; anything not implemented answers 404 and is
  recorded in ``unhandled``;
- ``identity.py``: the bearer token check and the token endpoints (Entra, GitHub OIDC);
- ``operations.py``: long-running operations polled for real (``Azure-AsyncOperation`` for resources, ``Location``
  for resource-group deletes), and injected faults (429, 5xx, operations ending ``Failed``);
- ``subscription.py``: resource groups, resource lists, providers, the platform image catalogue;
- ``resources.py``: resources in groups, following Compute's documented rules (``rules.py``, each beside its
  source) and keeping their background work going (CopyStart copies, gallery replication);
- Microsoft.Authorization is ``authorization.py``, the Blob service ``blob.py``, the tenant ``directory.py``.
"""

from __future__ import annotations

import copy
import re
import ssl
import threading
import uuid
from collections.abc import Callable
from typing import Any

from .authorization import Authorization
from .blob import Account, BlobService, Container, PublicAccess
from .ca import CertBundle
from .directory import ARM_AUDIENCE, Directory
from .identity import SignIn
from .operations import Fault, Operation, OperationFailure, Operations
from .replies import parse_resource
from .resources import BlobStore, ResourceStore, public
from .routing import Request, Router, Server
from .subscription import Subscriptions

SUBSCRIPTION = "00000000-0000-4000-8000-0000000000a1"


class FakeArm(Router, SignIn, Operations, Subscriptions, ResourceStore):
    """The fake's state and what tests call; ``start()`` serves it over HTTPS on a random loopback port."""

    def __init__(
        self,
        certs: CertBundle,
        *,
        subscriptions: tuple[str, ...] = (SUBSCRIPTION,),
        lro_polls: int = 1,
        lro_delay: float = 0.0,
        lro_retry_after: int | None = None,
        copy_polls: int = 2,
    ) -> None:
        self.certs = certs
        self.subscriptions = {s.lower() for s in subscriptions}
        self.subscription_id = subscriptions[0]
        self.lro_polls = lro_polls
        self.lro_delay = lro_delay
        self.lro_retry_after = lro_retry_after
        self.copy_polls = copy_polls  # GETs of a CopyStart snapshot before its completionPercent reaches 100
        self.blob_store: BlobStore | None = None
        self.request_log: list[Request] = []
        self.operations_started = 0  # long-running operations since the last clear_requests()
        self.unhandled: list[tuple[str, str]] = []
        self._lock = threading.RLock()
        self._groups: dict[tuple[str, str], dict[str, Any]] = {}
        self._resources: dict[str, dict[str, Any]] = {}
        self.directory = Directory()
        self.authz = Authorization(self.directory, self._scope_answer)
        self.blobs = BlobService(self.directory, self.authz)
        self._platform_images: dict[tuple[str, ...], dict[str, Any]] = {}
        self._github_jobs: dict[str, tuple[str, str]] = {}
        self._operations: dict[str, Operation] = {}
        self._sas: dict[str, str] = {}
        self._faults: list[Fault] = []
        self._failures: list[OperationFailure] = []
        self._hooks: list[tuple[str, re.Pattern[str], Callable[[], None]]] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeArm:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certs.cert_path, self.certs.key_path)
        self._server = Server(self, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fakearm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeArm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server, "fakearm is not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_path(self) -> str:
        return str(self.certs.ca_path)

    # ---- test controls (and inject, fail_operation, fail_replication in operations.py) ------------------

    def before(self, method: str, path_regex: str, action: Callable[[], None]) -> None:
        """Run ``action`` once, just before the next matching request is answered (e.g. a concurrent run's write)."""
        with self._lock:
            self._hooks.append((method.upper(), re.compile(path_regex, re.IGNORECASE), action))

    def use_blob_store(self, store: BlobStore) -> None:
        """Put granted disks into a real Blob service, so that a server-side copy (Copy Blob) can read them."""
        with self._lock:
            self.blob_store = store

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request so far, in arrival order."""
        with self._lock:
            return [(r.method, r.path, r.status) for r in self.request_log]

    def clear_requests(self) -> None:
        with self._lock:
            self.request_log.clear()
            self.operations_started = 0

    # ---- seeding and inspection ------------------------------------------------------------------------

    def add_group(
        self, name: str, location: str = "westus", tags: dict[str, str] | None = None, subscription: str = ""
    ) -> str:
        """Create a resource group directly (no request logged); returns its ID."""
        sub = subscription or self.subscription_id
        body = self._group_body(sub, name, location, tags or {})
        with self._lock:
            self._groups[(sub.lower(), name.lower())] = body
        return body["id"]

    def add_resource(
        self, resource_id: str, body: dict[str, Any] | None = None, provisioning_state: str = "Succeeded"
    ) -> str:
        """Create a resource directly, in ``provisioning_state``; its group must exist."""
        parsed = parse_resource(resource_id)
        if not parsed:
            raise ValueError(f"not a resource ID: {resource_id}")
        sub, group, full_type, _ = parsed
        with self._lock:
            if (sub.lower(), group.lower()) not in self._groups:
                raise ValueError(f"resource group {group} does not exist in the fake")
            record = self._resource_body(resource_id, full_type, body or {}, self._groups[(sub.lower(), group.lower())])
            record["properties"]["provisioningState"] = provisioning_state
            self._resources[resource_id.lower()] = record
        return resource_id

    def add_gallery_image(
        self,
        group: str,
        gallery: str,
        image: str,
        location: str = "westus",
        subscription: str = "",
        *,
        os_type: str = "Linux",
        os_state: str = "Generalized",
        generation: str = "V2",
        security_type: str | None = None,
    ) -> str:
        """Create a gallery and an image definition in an existing group; returns the definition's ID.

        ``security_type`` becomes the definition's ``SecurityType`` feature, as ``az sig image-definition create
        --features SecurityType=...`` sets it (azure-compute-docs trusted-launch-portal.md).
        """
        sub = subscription or self.subscription_id
        gallery_id = f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Compute/galleries/{gallery}"
        if not self.resource(gallery_id):
            self.add_resource(gallery_id, {"location": location})
        properties: dict[str, Any] = {
            "osType": os_type,
            "osState": os_state,
            "hyperVGeneration": generation,
            "identifier": {"publisher": "aibpack", "offer": gallery, "sku": image},
        }
        if security_type:
            properties["features"] = [{"name": "SecurityType", "value": security_type}]
        return self.add_resource(f"{gallery_id}/images/{image}", {"location": location, "properties": properties})

    def add_role_assignment(self, scope: str, role: str, principal_id: str) -> str:
        """Assign a built-in role (by name) directly; returns the assignment's ID."""
        with self._lock:
            return self.authz.assign(scope, role, principal_id, str(uuid.uuid4()))

    def set_management_groups(self, *chain: str, subscription: str = "") -> None:
        """The management groups above a subscription, innermost first: assignments there are inherited."""
        with self._lock:
            self.authz.management_groups[(subscription or self.subscription_id).lower()] = list(chain)

    def token(self, principal_id: str, audience: str = ARM_AUDIENCE) -> str:
        """An access token the fake accepts, for ``principal_id``."""
        return self.directory.issue(principal_id, audience)

    def add_platform_image(
        self,
        publisher: str,
        offer: str,
        sku: str,
        version: str,
        *,
        os_type: str = "Linux",
        generation: str = "V1",
        location: str = "westus",
    ) -> None:
        """A marketplace image version, as the Compute platform-image catalogue lists it in ``location``."""
        with self._lock:
            self._platform_images[tuple(p.lower() for p in (location, publisher, offer, sku, version))] = {
                "name": version,
                "location": location,
                "properties": {"osDiskImage": {"operatingSystem": os_type}, "hyperVGeneration": generation},
            }

    def add_blob(
        self,
        group: str,
        account: str,
        container: str,
        blob: str,
        content: bytes,
        *,
        public_access: PublicAccess = "None",
        allow_public_access: bool = True,
    ) -> str:
        """A storage account (an ARM resource in ``group``) holding a blob; returns the account's resource ID."""
        account_id = (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{group}/providers/Microsoft.Storage/"
            f"storageAccounts/{account}"
        )
        if not self.resource(account_id):
            self.add_resource(account_id, {"properties": {"allowBlobPublicAccess": allow_public_access}})
        with self._lock:
            record = self.blobs.accounts.setdefault(account.lower(), Account(account, account_id))
            record.allow_public_access = allow_public_access
            holder = record.containers.setdefault(container, Container())
            holder.public_access = public_access
            holder.blobs[blob] = content
        return account_id

    def resource_groups(self, subscription: str = "") -> dict[str, dict[str, str]]:
        """Group name → tags."""
        sub = (subscription or self.subscription_id).lower()
        with self._lock:
            return {g["name"]: dict(g["tags"]) for (s, _), g in self._groups.items() if s == sub}

    def resources(self, group: str | None = None) -> list[str]:
        """IDs of all resources, or of those in ``group``, sorted."""
        with self._lock:
            ids = [r["id"] for r in self._resources.values()]
        if group is not None:
            ids = [i for i in ids if i.split("/")[4].lower() == group.lower()]
        return sorted(ids)

    def resource(self, resource_id: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._resources.get(resource_id.lower())
            return public(record) if record else None

    def role_assignments(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self.authz.assignments.values()))

    @property
    def state(self) -> dict[str, Any]:
        """A snapshot of everything the fake holds."""
        with self._lock:
            return copy.deepcopy(
                {
                    "resourceGroups": list(self._groups.values()),
                    "resources": [public(r) for r in self._resources.values()],
                    "roleAssignments": list(self.authz.assignments.values()),
                }
            )

    def _remove(self, keys: list[str]) -> None:
        """Azure deletes a resource's role assignments with it."""
        super()._remove(keys)
        for key in keys:
            self.authz.forget_under(key)
