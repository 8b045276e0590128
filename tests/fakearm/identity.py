"""Signing in: Resource Manager's check of the bearer token, and the endpoints clients get tokens from.

Served on the fake's own host (``proxy.py`` brings the public host names to it), beside Resource Manager: the
Microsoft Entra token endpoint (``directory.py`` grants the tokens), the tenant's OpenID Connect metadata and the
instance discovery that MSAL reads first, and a GitHub Actions OIDC token service (``github_oidc``). Mixed into
``FakeArm``.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .directory import Directory, jwt
from .replies import Response, error

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# Resource Manager accepts tokens for these audiences (the error text of InvalidAuthenticationTokenAudience lists
# them); the fake also accepts its own endpoint, which is what a client asks for when ARM lives elsewhere.
ARM_AUDIENCES = frozenset(
    {"https://management.core.windows.net", "https://management.azure.com", "https://management.core.windows.net/"}
)
_TOKEN_ENDPOINT = re.compile(r"^/([^/]+)/oauth2(?:/v2\.0)?/token$")
_OPENID_CONFIGURATION = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$")
_GITHUB_ID_TOKEN = re.compile(r"^/_github/idtoken/([0-9a-f]{32})$")


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


class SignIn:
    """The token endpoints on the fake's host, and the token check in front of Resource Manager."""

    # FakeArm (server.py) provides these.
    directory: Directory
    base_url: str
    port: int
    _lock: threading.RLock
    _github_jobs: dict[str, tuple[str, str]]

    def github_oidc(self, subject: str) -> tuple[str, str]:
        """(ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN) of a job whose ID tokens have ``subject``."""
        job, request_token = uuid.uuid4().hex, uuid.uuid4().hex
        with self._lock:
            self._github_jobs[job] = (request_token, subject)
        return f"{self.base_url}/_github/idtoken/{job}?api-version=2.0", request_token

    def _sign_in(
        self, method: str, path: str, query: dict[str, list[str]], raw_body: bytes, headers: dict[str, str], host: str
    ) -> Response | None:
        """The answer of a token endpoint, when the request is for one."""
        if method == "POST" and (match := _TOKEN_ENDPOINT.match(path)):
            form = dict(parse_qsl(raw_body.decode("utf-8", "replace")))
            status, body = self.directory.token_grant(match.group(1), form)
            return Response(status, body)
        if method == "GET" and (match := _OPENID_CONFIGURATION.match(path)):
            return Response(200, _openid_configuration(host, match.group(1)))
        if method == "GET" and path == "/common/discovery/instance":
            return Response(200, _instance_discovery(host, query))
        if method == "GET" and (match := _GITHUB_ID_TOKEN.match(path)):
            return self._github_id_token(match.group(1), headers.get("authorization", ""), query)
        return None

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

    def _authenticate(self, authorization: str, host: str) -> Response | None:
        """A bearer token this fake's tenant issued, for Resource Manager; else 401 as ARM answers.

        The header and message of a request without a token are those the azure plugin parses to find the tenant
        (packer-plugin-azure builder/azure/common/client/config.go, FindTenantID).
        """
        tenant = self.directory.tenant_id
        if not authorization.startswith("Bearer "):
            response = error(
                401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
            )
            www = (
                f'Bearer authorization_uri="https://login.windows.net/{tenant}", error="invalid_token", '
                "error_description=\"The authentication failed because of missing 'Authorization' header.\""
            )
            return Response(response.status, response.body, {"WWW-Authenticate": www})
        claims = self.directory.verify(authorization.removeprefix("Bearer ").strip())
        if claims is None:
            return error(401, "InvalidAuthenticationToken", "The access token is invalid.")
        audience = str(claims.get("aud", ""))
        own = {f"https://{host}", f"https://127.0.0.1:{self.port}", f"https://localhost:{self.port}"}
        if audience not in ARM_AUDIENCES | own:
            return error(
                401,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{audience}'. It should exactly "
                "match with one of the allowed audiences 'https://management.core.windows.net/',"
                "'https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
            )
        return None
