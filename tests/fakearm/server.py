"""A fake Azure Resource Manager on 127.0.0.1 for driving the real azure-mgmt-* clients in tests.

It keeps resource groups, Compute images/disks/snapshots/galleries, role assignments and role definitions in
memory, and answers the way ARM does where the SDK cares: long-running operations are polled for real
(``Azure-AsyncOperation`` for resources, ``Location`` for resource-group deletes), errors carry ARM bodies,
and faults (429, 5xx, operations ending ``Failed``) can be injected. Compute resources follow Azure's documented
rules (``rules.py``, each beside its source) and keep their background work going (``resources.py``: CopyStart
copies, gallery replication). Anything not implemented answers 404 and is recorded in ``unhandled``.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, parse_qsl, urlsplit

from . import rules
from .authorization import Authorization
from .blob import BLOB_HOST, Account, BlobService, Container, PublicAccess
from .ca import CertBundle
from .directory import ARM_AUDIENCE, Directory, jwt
from .replies import Response
from .replies import error as _error
from .replies import now as _now
from .replies import parse_resource as _parse_resource
from .resources import BlobStore, ResourceStore, public

log = logging.getLogger("fakearm")

SUBSCRIPTION = "00000000-0000-4000-8000-0000000000a1"
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
_DEFAULT_CODES = {400: "BadRequest", 404: "NotFound", 409: "Conflict", 429: "TooManyRequests"}

_OPERATION = re.compile(r"^/subscriptions/[^/]+/providers/microsoft\.compute/locations/[^/]+/operations/([^/]+)$")
_OPERATION_RESULT = re.compile(r"^/subscriptions/[^/]+/operationresults/([^/]+)$")
_AUTHZ = re.compile(
    r"^(?P<scope>.*?)/providers/microsoft\.authorization/(?P<kind>roleassignments|roledefinitions)"
    r"(?:/(?P<name>[^/]+))?$",
    re.IGNORECASE,
)
_SUBSCRIPTION = re.compile(r"^/subscriptions/(?P<sub>[^/]+)(?P<rest>/.*)?$")
_GROUP = re.compile(r"^/resourcegroups/(?P<rg>[^/]+)(?P<rest>/.*)?$", re.IGNORECASE)
_DISK_ACTION = re.compile(
    r"^(?P<id>/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.compute/(?:disks|snapshots)/[^/]+)"
    r"/(?P<action>begingetaccess|endgetaccess)$",
    re.IGNORECASE,
)
_DISK_BLOB = re.compile(r"^/fakearm/blobs/([0-9a-f]{32})$", re.IGNORECASE)
_TERM = re.compile(r"(\w+)\s+eq\s+'([^']*)'", re.IGNORECASE)
_TOKEN_ENDPOINT = re.compile(r"^/([^/]+)/oauth2(?:/v2\.0)?/token$")
_OPENID_CONFIGURATION = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$")
_GITHUB_ID_TOKEN = re.compile(r"^/_github/idtoken/([0-9a-f]{32})$")
_PLATFORM_IMAGE = re.compile(
    r"^/providers/microsoft\.compute/locations/(?P<location>[^/]+)/publishers/(?P<publisher>[^/]+)/artifacttypes/vmimage"
    r"/offers/(?P<offer>[^/]+)/skus/(?P<sku>[^/]+)/versions(?:/(?P<version>[^/]+))?$",
    re.IGNORECASE,
)
# Resource Manager accepts tokens for these audiences (the error text of InvalidAuthenticationTokenAudience lists
# them); the fake also accepts its own endpoint, which is what a client asks for when ARM lives elsewhere.
ARM_AUDIENCES = frozenset(
    {"https://management.core.windows.net", "https://management.azure.com", "https://management.core.windows.net/"}
)


class Request(NamedTuple):
    """One request as the fake saw it; ``path`` has no query string, ``token`` is the bearer token sent."""

    method: str
    path: str
    query: str
    status: int
    token: str
    host: str = ""
    body: Any = None  # the JSON body, when there was one


@dataclass
class Fault:
    """An injected error answered instead of the real response, ``remaining`` times (None: always)."""

    method: str | None
    path_regex: re.Pattern[str]
    status: int
    code: str
    message: str
    retry_after_ms: int | None = None
    retry_after: int | None = None
    remaining: int | None = 1
    hits: int = 0


@dataclass
class OperationFailure:
    """Makes long-running operations started by matching requests end ``Failed`` with this error."""

    method: str | None
    path_regex: re.Pattern[str]
    code: str
    message: str
    remaining: int | None = 1
    hits: int = 0
    region: str | None = None


@dataclass
class _Operation:
    """A long-running operation: done after ``total`` polls and ``delay`` seconds (see ``rules.job_fraction``)."""

    id: str
    total: int
    delay: float
    finish: Callable[[bool], None]
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    error: dict[str, str] | None = None
    failed_region: str | None = None
    status: str = "InProgress"
    result: Any = None
    start_time: str = field(default_factory=lambda: _now())

    @property
    def job(self) -> dict[str, Any]:
        return {"total": self.total, "done": self.done, "started": self.started, "delay": self.delay}


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


class FakeArm(ResourceStore):
    """The fake's state and behaviour; ``start()`` serves it over HTTPS on a random loopback port."""

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
        self._operations: dict[str, _Operation] = {}
        self._sas: dict[str, str] = {}
        self._faults: list[Fault] = []
        self._failures: list[OperationFailure] = []
        self._hooks: list[tuple[str, re.Pattern[str], Callable[[], None]]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeArm:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certs.cert_path, self.certs.key_path)
        self._server = _Server(self, context)
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

    # ---- test controls ---------------------------------------------------------------------------------

    def inject(
        self,
        method: str | None = None,
        path_regex: str = ".*",
        status: int = 500,
        *,
        times: int | None = 1,
        retry_after_ms: int | None = None,
        retry_after: int | None = None,
        code: str | None = None,
        message: str = "injected by fakearm",
    ) -> Fault:
        """Answer the next ``times`` requests matching ``method`` and ``path_regex`` with ``status``."""
        fault = Fault(
            method=method.upper() if method else None,
            path_regex=re.compile(path_regex, re.IGNORECASE),
            status=status,
            code=code or _DEFAULT_CODES.get(status, "InternalServerError"),
            message=message,
            retry_after_ms=retry_after_ms,
            retry_after=retry_after,
            remaining=times,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def fail_operation(
        self,
        path_regex: str,
        code: str = "InternalOperationError",
        message: str = "operation failed (injected by fakearm)",
        *,
        method: str | None = None,
        times: int | None = 1,
    ) -> OperationFailure:
        """Make the next ``times`` long-running operations on matching paths end ``Failed``."""
        failure = OperationFailure(
            method=method.upper() if method else None,
            path_regex=re.compile(path_regex, re.IGNORECASE),
            code=code,
            message=message,
            remaining=times,
        )
        with self._lock:
            self._failures.append(failure)
        return failure

    def fail_replication(
        self, path_regex: str, region: str, detail: str = "Failed with internal server error."
    ) -> None:
        """Make the next gallery image version PUT on a matching path end Failed, replication to ``region`` failing.

        The message is the one Azure gave for a failed regional replication (Azure/azure-cli#15539); the code is not
        in that report, so the fake's generic one is used.
        """
        message = (
            "Gallery replication jobs failed in one or more regions. The failing regions' details are as follows: "
            f"'{{region:{region}, detail:{detail}}}'. If retry does not work, then please do an update by removing "
            "the failed regions and update again by adding them back."
        )
        self.fail_operation(path_regex, message=message, method="PUT").region = region

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
        parsed = _parse_resource(resource_id)
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

    # ---- dispatch --------------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, raw_body: bytes, headers: Mapping[str, str]) -> Response:
        """Answer one request and record it; the HTTP layer only translates."""
        headers = {k.lower(): v for k, v in headers.items()}
        host = headers.get("host") or (f"127.0.0.1:{self.port}" if self._server else "127.0.0.1")
        split = urlsplit(raw_path)
        path = re.sub("/+", "/", split.path).rstrip("/") or "/"
        token = headers.get("authorization", "").removeprefix("Bearer ").strip()
        with self._lock:
            for hook in [h for h in self._hooks if h[0] == method and h[1].search(path)]:
                self._hooks.remove(hook)
                hook[2]()
            response = self._fault(method, path) or self._serve(
                method, path, parse_qs(split.query), raw_body, headers, host
            )
            logged = Request(method, path, split.query, response.status, token, host, _json_body(raw_body))
            self.request_log.append(logged)
        log.debug("%s %s%s -> %s", method, host, raw_path, response.status)
        return response

    def _serve(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        raw_body: bytes,
        headers: dict[str, str],
        host: str,
    ) -> Response:
        """Blob service and token endpoint by host and path; everything else is Resource Manager."""
        if blob := BLOB_HOST.match(host):
            reply = self.blobs.handle(method, blob.group("account"), path, headers)
            return Response(reply.status, reply.body, reply.headers)
        if method == "POST" and (match := _TOKEN_ENDPOINT.match(path)):
            form = dict(parse_qsl(raw_body.decode("utf-8", "replace")))
            status, body = self.directory.token_grant(match.group(1), form)
            return Response(status, body)
        if match := _DISK_BLOB.match(path):
            return self._disk_blob(method, match.group(1), query)
        if method == "GET" and (match := _OPENID_CONFIGURATION.match(path)):
            return Response(200, _openid_configuration(host, match.group(1)))
        if method == "GET" and path == "/common/discovery/instance":
            return Response(200, _instance_discovery(host, query))
        if method == "GET" and (match := _GITHUB_ID_TOKEN.match(path)):
            return self._github_id_token(match.group(1), headers.get("authorization", ""), query)
        if "api-version" not in query:
            # Every Resource Manager request names its api-version (the ApiVersionParameter of every operation in
            # azure-rest-api-specs common-types/resource-management/v*/types.json is required).
            return _error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if problem := self._authenticate(headers.get("authorization", ""), host):
            return problem
        try:
            body = json.loads(raw_body) if raw_body.strip() else None
        except ValueError:
            return _error(
                400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
            )
        return self._route(method, path, query, body, host)

    def _authenticate(self, authorization: str, host: str) -> Response | None:
        """A bearer token this fake's tenant issued, for Resource Manager; else 401 as ARM answers.

        The header and message of a request without a token are those the azure plugin parses to find the tenant
        (packer-plugin-azure builder/azure/common/client/config.go, FindTenantID).
        """
        tenant = self.directory.tenant_id
        if not authorization.startswith("Bearer "):
            response = _error(
                401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
            )
            www = (
                f'Bearer authorization_uri="https://login.windows.net/{tenant}", error="invalid_token", '
                "error_description=\"The authentication failed because of missing 'Authorization' header.\""
            )
            return Response(response.status, response.body, {"WWW-Authenticate": www})
        claims = self.directory.verify(authorization.removeprefix("Bearer ").strip())
        if claims is None:
            return _error(401, "InvalidAuthenticationToken", "The access token is invalid.")
        audience = str(claims.get("aud", ""))
        own = {f"https://{host}", f"https://127.0.0.1:{self.port}", f"https://localhost:{self.port}"}
        if audience not in ARM_AUDIENCES | own:
            return _error(
                401,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{audience}'. It should exactly "
                "match with one of the allowed audiences 'https://management.core.windows.net/',"
                "'https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
            )
        return None

    def _fault(self, method: str, path: str) -> Response | None:
        for fault in self._faults:
            if fault.remaining == 0 or (fault.method and fault.method != method):
                continue
            if not fault.path_regex.search(path):
                continue
            fault.hits += 1
            if fault.remaining is not None:
                fault.remaining -= 1
            headers = {}
            if fault.retry_after_ms is not None:
                headers["x-ms-retry-after-ms"] = str(fault.retry_after_ms)
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            return Response(fault.status, {"error": {"code": fault.code, "message": fault.message}}, headers)
        return None

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any, host: str) -> Response:
        lower = path.lower()
        if match := _OPERATION.match(lower):
            return self._poll_async(match.group(1))
        if match := _OPERATION_RESULT.match(lower):
            return self._poll_location(match.group(1), host, path)
        if match := _AUTHZ.match(path):
            return self._authorization(method, match, query, body)
        if method == "POST" and (match := _DISK_ACTION.match(path)):
            return self._disk_action(match.group("id"), match.group("action").lower(), host)
        match = _SUBSCRIPTION.match(path)
        if not match:
            return self._unhandled(method, path)
        sub, rest = match.group("sub"), match.group("rest") or ""
        if sub.lower() not in self.subscriptions:
            return _error(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        if rest.lower() == "/resourcegroups" and method == "GET":
            return self._list_groups(sub, query)
        if rest.lower() == "/resources" and method == "GET":
            return self._list_subscription_resources(sub, query)
        if image := _PLATFORM_IMAGE.match(rest):
            return self._platform_image(method, image, query)
        if provider := re.fullmatch(r"/providers/([^/]+)", rest):
            return self._provider(method, sub, provider.group(1), path)
        group = _GROUP.match(rest)
        if not group:
            return self._unhandled(method, path)
        name, tail = group.group("rg"), group.group("rest") or ""
        if not tail:
            return self._group(method, sub, name, body, host)
        if (sub.lower(), name.lower()) not in self._groups:
            return _error(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
        if tail.lower() == "/resources" and method == "GET":
            return self._list_resources(sub, name, query)
        if tail.lower().startswith("/providers/"):
            return self._resource(method, path, query, body, host)
        return self._unhandled(method, path)

    def _unhandled(self, method: str, path: str) -> Response:
        self.unhandled.append((method, path))
        log.warning("fakearm: no handler for %s %s", method, path)
        return _error(404, "NotFound", f"fakearm has no handler for {method} {path}")

    # ---- long-running operations -----------------------------------------------------------------------

    def _start_operation(self, method: str, path: str, finish: Callable[[bool], None]) -> _Operation:
        op = _Operation(id=str(uuid.uuid4()), total=self.lro_polls, delay=self.lro_delay, finish=finish)
        for failure in self._failures:
            if failure.remaining == 0 or (failure.method and failure.method != method):
                continue
            if failure.path_regex.search(path):
                failure.hits += 1
                if failure.remaining is not None:
                    failure.remaining -= 1
                op.error = {"code": failure.code, "message": failure.message}
                op.failed_region = failure.region
                break
        self._operations[op.id] = op
        self.operations_started += 1
        return op

    def _advance(self, op: _Operation) -> None:
        if op.status != "InProgress":
            return
        if op.done < op.total or rules.job_fraction(op.job) < 1.0:
            op.done = min(op.total, op.done + 1)
            return
        op.status = "Failed" if op.error else "Succeeded"
        op.finish(op.error is None)

    def _lro_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.lro_retry_after)} if self.lro_retry_after is not None else {}

    def _async_headers(self, host: str, sub: str, location: str, op: _Operation) -> dict[str, str]:
        url = (
            f"https://{host}/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location or 'global'}"
            f"/operations/{op.id}?api-version=2024-03-01"
        )
        return {"Azure-AsyncOperation": url, **self._lro_headers()}

    def _poll_async(self, op_id: str) -> Response:
        op = self._operations.get(op_id)
        if not op:
            return _error(404, "OperationNotFound", f"operation {op_id} not found")
        self._advance(op)
        body: dict[str, Any] = {"name": op.id, "status": op.status, "startTime": op.start_time}
        if op.status != "InProgress":
            body["endTime"] = _now()
        if op.status == "Failed":
            body["error"] = op.error
        return Response(200, body, self._lro_headers() if op.status == "InProgress" else {})

    def _poll_location(self, op_id: str, host: str, path: str) -> Response:
        op = self._operations.get(op_id)
        if not op:
            return _error(404, "OperationNotFound", f"operation {op_id} not found")
        self._advance(op)
        if op.status == "InProgress":
            return Response(
                202, None, {"Location": f"https://{host}{path}?api-version=2025-04-01", **self._lro_headers()}
            )
        if op.status == "Failed":
            assert op.error
            return _error(409, op.error["code"], op.error["message"])
        return Response(200, op.result)

    # ---- resource groups -------------------------------------------------------------------------------

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
                return _error(400, "LocationRequired", "The location property is required for this definition.")
            if existing and existing["location"].lower() != location.lower():
                return _error(
                    409,
                    "InvalidResourceGroupLocation",
                    f"Invalid resource group location '{location}'. The Resource group already exists in "
                    f"location '{existing['location']}'.",
                )
            record = self._group_body(sub, existing["name"] if existing else name, location, body.get("tags") or {})
            self._groups[key] = record
            return Response(200 if existing else 201, copy.deepcopy(record))
        if not existing:
            return _error(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
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

        op = self._start_operation("DELETE", group["id"], finish)
        location = f"https://{host}/subscriptions/{sub}/operationresults/{op.id}?api-version=2025-04-01"
        return Response(202, None, {"Location": location, **self._lro_headers()})

    def _remove(self, keys: list[str]) -> None:
        """Azure deletes a resource's role assignments with it."""
        super()._remove(keys)
        for key in keys:
            self.authz.forget_under(key)

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

    # ---- authorization (tests/fakearm/authorization.py holds Azure's rules) --------------------------------

    def _authorization(self, method: str, match: re.Match[str], query: dict[str, list[str]], body: Any) -> Response:
        scope, name = match.group("scope") or "/", match.group("name")
        if match.group("kind").lower() == "roledefinitions":
            if method != "GET":
                return self._unhandled(method, match.group(0))
            return Response(*self.authz.role_definitions(scope, name, query))
        if name is None:
            if method != "GET":
                return self._unhandled(method, match.group(0))
            return Response(*self.authz.list_assignments(scope, query))
        if method == "GET":
            return Response(*self.authz.get_assignment(scope, name))
        if method == "DELETE":
            return Response(*self.authz.delete_assignment(scope, name))
        if method == "PUT":
            return Response(*self.authz.put_assignment(scope, name, body))
        return self._unhandled(method, match.group(0))

    def _scope_answer(self, scope: str) -> tuple[int, Any] | None:
        """Assignments need their scope to exist: subscription, group or resource."""
        match = re.match(r"^/subscriptions/([^/]+)(?:/resourcegroups/([^/]+))?(/providers/.*)?$", scope, re.IGNORECASE)
        if not match:
            return None
        sub, group, resource = match.groups()
        if sub.lower() not in self.subscriptions:
            return 404, _error(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.").body
        if group and (sub.lower(), group.lower()) not in self._groups:
            return 404, _error(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.").body
        if resource and scope.lower().rstrip("/") not in self._resources:
            return 404, _error(404, "ResourceNotFound", f"The resource '{scope}' was not found.").body
        return None

    # ---- a GitHub Actions OIDC token service ------------------------------------------------------------------

    def github_oidc(self, subject: str) -> tuple[str, str]:
        """(ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN) of a job whose ID tokens have ``subject``."""
        job, request_token = uuid.uuid4().hex, uuid.uuid4().hex
        with self._lock:
            self._github_jobs[job] = (request_token, subject)
        return f"{self.base_url}/_github/idtoken/{job}?api-version=2.0", request_token

    def _github_id_token(self, job: str, authorization: str, query: dict[str, list[str]]) -> Response:
        """GitHub's ID token request: bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN, ``audience`` parameter; the answer is
        ``{"value": "<JWT>"}`` with issuer https://token.actions.githubusercontent.com (GitHub docs, "About security
        hardening with OpenID Connect"; actions/toolkit packages/core/src/oidc-utils.ts reads ``value``)."""
        request_token, subject = self._github_jobs.get(job, ("", ""))
        if not request_token or authorization.split(" ", 1)[-1] != request_token:
            return Response(401, {"message": "Bad credentials"})
        now = int(time.time())
        claims = {
            "iss": GITHUB_ISSUER,
            "sub": subject,
            "aud": query.get("audience", ["https://github.com"])[0],
            "iat": now,
            "exp": now + 300,
        }
        return Response(200, {"value": jwt(claims, key=b"github")})

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
            return _error(404, "ImageVersionDeprecated" if versions else "NotFound", "Artifact: VMImage was not found.")
        return Response(200, copy.deepcopy(body))


GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


def _json_body(raw: bytes) -> Any:
    """A request's JSON body as the log keeps it (None for none, a form or bytes)."""
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None


def _openid_configuration(host: str, tenant: str) -> dict[str, str]:
    """The tenant's OpenID Connect metadata, which MSAL reads before it asks for a token (its tenant discovery)."""
    base = f"https://{host}/{tenant}"
    return {
        "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "jwks_uri": f"https://{host}/{tenant}/discovery/v2.0/keys",
        "tenant_region_scope": "NA",
    }


def _instance_discovery(host: str, query: dict[str, list[str]]) -> dict[str, Any]:
    """Entra's instance discovery, which MSAL calls to learn a host's aliases (msal authority.py)."""
    endpoint = query.get("authorization_endpoint", [f"https://{host}/common/oauth2/v2.0/authorize"])[0]
    tenant = urlsplit(endpoint).path.strip("/").split("/")[0] or "common"
    return {
        "tenant_discovery_endpoint": f"https://{host}/{tenant}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeArm, context: ssl.SSLContext) -> None:
        self.fake = fake
        self.ssl_context = context
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """TLS handshake in the connection's own thread, so one bad client cannot stall the others."""
        request.settimeout(10)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("fakearm: TLS handshake failed: %s", exc)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("fakearm: connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60
    server: _Server

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        response = self.server.fake.handle(self.command, self.path, raw, dict(self.headers.items()))
        raw_body = isinstance(response.body, bytes)
        data = response.body if raw_body else json.dumps(response.body).encode() if response.body is not None else b""
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        if data and not raw_body:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fakearm: " + format, *args)
