"""From the socket to a handler: the HTTPS server on 127.0.0.1, and where each request goes.

``Router.handle`` (mixed into ``FakeArm``) is the one entry point: it runs the tests' hooks and injected faults,
records the request, and passes it on by host and path: to the Blob service (``blob.py``), the token endpoints
(``identity.py``), or Resource Manager, where polls go to ``operations.py``, Microsoft.Authorization to
``authorization.py``, subscriptions and groups to ``subscription.py`` and resources to ``resources.py``. Anything
not implemented answers 404 and is recorded in ``unhandled``.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from .authorization import Authorization
from .blob import BLOB_HOST, BlobService
from .replies import Response, error

log = logging.getLogger("fakearm")

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
_PLATFORM_IMAGE = re.compile(
    r"^/providers/microsoft\.compute/locations/(?P<location>[^/]+)/publishers/(?P<publisher>[^/]+)/artifacttypes/vmimage"
    r"/offers/(?P<offer>[^/]+)/skus/(?P<sku>[^/]+)/versions(?:/(?P<version>[^/]+))?$",
    re.IGNORECASE,
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


def _json_body(raw: bytes) -> Any:
    """A request's JSON body as the log keeps it (None for none, a form or bytes)."""
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None


class Router:
    """Where each request goes; the handlers are the other mixins of ``FakeArm``."""

    # FakeArm (server.py) provides these, and every handler named below.
    subscriptions: set[str]
    port: int
    authz: Authorization
    blobs: BlobService
    request_log: list[Request]
    unhandled: list[tuple[str, str]]
    _lock: threading.RLock
    _server: Server | None
    _groups: dict[tuple[str, str], dict[str, Any]]
    _hooks: list[tuple[str, re.Pattern[str], Callable[[], None]]]

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
        """Blob service and token endpoints by host and path; everything else is Resource Manager."""
        if blob := BLOB_HOST.match(host):
            reply = self.blobs.handle(method, blob.group("account"), path, headers)
            return Response(reply.status, reply.body, reply.headers)
        if signed := self._sign_in(method, path, query, raw_body, headers, host):
            return signed
        if match := _DISK_BLOB.match(path):
            return self._disk_blob(method, match.group(1), query)
        if "api-version" not in query:
            # Every Resource Manager request names its api-version (the ApiVersionParameter of every operation in
            # azure-rest-api-specs common-types/resource-management/v*/types.json is required).
            return error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if problem := self._authenticate(headers.get("authorization", ""), host):
            return problem
        try:
            body = json.loads(raw_body) if raw_body.strip() else None
        except ValueError:
            return error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
        return self._route(method, path, query, body, host)

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
            return error(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
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
            return error(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
        if tail.lower() == "/resources" and method == "GET":
            return self._list_resources(sub, name, query)
        if tail.lower().startswith("/providers/"):
            return self._resource(method, path, query, body, host)
        return self._unhandled(method, path)

    def _authorization(self, method: str, match: re.Match[str], query: dict[str, list[str]], body: Any) -> Response:
        """Microsoft.Authorization's requests, answered by ``authorization.py``, which holds Azure's rules."""
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

    def _unhandled(self, method: str, path: str) -> Response:
        self.unhandled.append((method, path))
        log.warning("fakearm: no handler for %s %s", method, path)
        return error(404, "NotFound", f"fakearm has no handler for {method} {path}")


class Server(ThreadingHTTPServer):
    """HTTPS on a random loopback port; each request goes to ``router.handle``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, router: Router, context: ssl.SSLContext) -> None:
        self.router = router
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
    server: Server

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        response = self.server.router.handle(self.command, self.path, raw, dict(self.headers.items()))
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
