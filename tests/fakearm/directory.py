"""A fake Microsoft Entra tenant: its principals, group memberships, and the access tokens it issues.

Tokens are JWTs (``header.claims.signature``) whose claims are the ones Azure services read: ``oid`` (the
principal's object ID), ``tid``, ``aud`` (the resource the token is for), ``appid`` for applications, ``exp``.
They are signed with a key only this fake knows, so a service can tell its tokens from made-up ones.
The token endpoint answers the client-credentials grant as the Microsoft identity platform documents it
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow): with a client secret, or
with a client assertion that is either a certificate-signed JWT or a federated token
(https://learn.microsoft.com/entra/workload-id/workload-identity-federation, audience ``api://AzureADTokenExchange``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

PrincipalType = Literal["User", "Group", "ServicePrincipal"]
TENANT = "00000000-0000-4000-8000-0000000000f1"
ARM_AUDIENCE = "https://management.azure.com"
# The audience a federated token must carry for Entra to exchange it (workload-identity-federation docs).
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
_KEY = b"aibpack fakearm token signing key"
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt(claims: dict[str, Any], header: dict[str, Any] | None = None, key: bytes = _KEY) -> str:
    """An HS256 JWT; with another ``key`` it stands for a token someone else signed."""
    head = _b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The claims of any JWT, unverified; None when it is not one."""
    try:
        return json.loads(_unb64(token.split(".")[1]))
    except (IndexError, ValueError):
        return None


def jwt_header(token: str) -> dict[str, Any]:
    try:
        return json.loads(_unb64(token.split(".")[0]))
    except (IndexError, ValueError):
        return {}


def audience_of(scope: str) -> str:
    """``https://management.azure.com/.default`` → ``https://management.azure.com``."""
    return scope.removesuffix("/.default").rstrip("/")


@dataclass
class Principal:
    object_id: str
    type: PrincipalType
    name: str
    app_id: str = ""
    secrets: set[str] = field(default_factory=set)
    # (issuer, subject) pairs of federated identity credentials on the application
    federated: set[tuple[str, str]] = field(default_factory=set)
    # x5t thumbprints (base64url SHA-1) of certificates uploaded to the application
    certificates: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)  # for groups: direct member object IDs


class Directory:
    """The tenant: principals by object ID, applications by client ID, and groups with members."""

    def __init__(self, tenant_id: str = TENANT) -> None:
        self.tenant_id = tenant_id
        self.principals: dict[str, Principal] = {}

    def add(self, principal: Principal) -> Principal:
        self.principals[principal.object_id.lower()] = principal
        return principal

    def add_user(self, object_id: str | None = None, name: str = "builder@contoso.com") -> Principal:
        return self.add(Principal(object_id or str(uuid.uuid4()), "User", name))

    def add_service_principal(
        self,
        app_id: str | None = None,
        object_id: str | None = None,
        *,
        secret: str | None = None,
        federated: tuple[str, str] | None = None,
        certificate: str | None = None,
        name: str = "aibpack-ci",
    ) -> Principal:
        """An application's service principal (managed identities are service principals too)."""
        principal = Principal(object_id or str(uuid.uuid4()), "ServicePrincipal", name, app_id or str(uuid.uuid4()))
        if secret:
            principal.secrets.add(secret)
        if federated:
            principal.federated.add(federated)
        if certificate:
            principal.certificates.add(certificate)
        return self.add(principal)

    def add_group(
        self, object_id: str | None = None, members: tuple[str, ...] = (), name: str = "builders"
    ) -> Principal:
        return self.add(Principal(object_id or str(uuid.uuid4()), "Group", name, members={m.lower() for m in members}))

    def get(self, object_id: str) -> Principal | None:
        return self.principals.get(object_id.lower())

    def by_app_id(self, app_id: str) -> Principal | None:
        return next((p for p in self.principals.values() if p.app_id and p.app_id.lower() == app_id.lower()), None)

    def groups_of(self, object_id: str) -> set[str]:
        """Every group ``object_id`` belongs to, directly or through other groups (object IDs, lower case)."""
        found: set[str] = set()
        frontier = {object_id.lower()}
        while frontier:
            parents = {gid for gid, g in self.principals.items() if g.type == "Group" and g.members & frontier} - found
            found |= parents
            frontier = parents
        return found

    # ---- tokens ------------------------------------------------------------------------------------------

    def issue(self, object_id: str, audience: str = ARM_AUDIENCE, lifetime: int = 3600) -> str:
        """An access token for ``object_id`` (which need not be in the directory: a user from ``az login``)."""
        principal = self.get(object_id)
        now = int(time.time())
        claims = {
            "aud": audience_of(audience),
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "oid": object_id,
            "tid": self.tenant_id,
            "sub": object_id,
        }
        # idtyp: "user" for a signed-in user, "app" for an application (Microsoft identity platform access token
        # claims reference); applications also carry their appid.
        claims["idtyp"] = "app" if principal is not None and principal.type == "ServicePrincipal" else "user"
        if principal is not None and principal.app_id:
            claims["appid"] = principal.app_id
        return jwt(claims)

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this tenant issued and that has not expired; else None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(_KEY, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64(expected), parts[2]):
            return None
        claims = jwt_claims(token)
        if not claims or claims.get("exp", 0) < time.time():
            return None
        return claims

    def token_grant(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """``POST /{tenant}/oauth2/v2.0/token`` with ``grant_type=client_credentials`` and a ``scope``, or the v1
        endpoint ``/{tenant}/oauth2/token`` with a ``resource`` (what Packer 1.6.6's ADAL client sends)."""
        if form.get("grant_type") != "client_credentials":
            return 400, _aad_error("unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        if tenant.lower() not in (self.tenant_id.lower(), "organizations"):
            return 400, _aad_error("invalid_request", 90002, f"Tenant '{tenant}' not found.")
        app = self.by_app_id(form.get("client_id", ""))
        if app is None:
            return 400, _aad_error(
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the directory.",
            )
        if "client_secret" in form:
            if form["client_secret"] not in app.secrets:
                return 401, _aad_error("invalid_client", 7000215, "Invalid client secret provided.")
        elif form.get("client_assertion_type") == _ASSERTION_TYPE:
            if problem := self._check_assertion(app, form.get("client_assertion", "")):
                return 401, problem
        else:
            return 401, _aad_error("invalid_client", 7000218, "The request body must contain 'client_assertion'.")
        token = self.issue(app.object_id, form.get("scope") or form.get("resource") or ARM_AUDIENCE)
        return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}

    def _check_assertion(self, app: Principal, assertion: str) -> dict[str, Any] | None:
        """A federated token matching one of the app's federated credentials, or an assertion whose ``x5t`` header
        names one of its certificates (the fake does not check the signature)."""
        claims = jwt_claims(assertion)
        if not claims or claims.get("exp", 0) < time.time():
            return _aad_error("invalid_client", 700024, "Client assertion is not within its valid time range.")
        header = jwt_header(assertion)
        if header.get("x5t"):
            # RFC 7515 x5t: the certificate's SHA-1 thumbprint, base64url (MSAL keeps the "=" padding).
            if header["x5t"].rstrip("=") in {c.rstrip("=") for c in app.certificates}:
                return None
            return _aad_error("invalid_client", 700027, "Client assertion failed signature validation.")
        if (claims.get("iss"), claims.get("sub")) in app.federated:
            if claims.get("aud") != FEDERATION_AUDIENCE:
                return _aad_error("invalid_client", 700212, "No matching federated identity record found.")
            return None
        return _aad_error(
            "invalid_client",
            70021,
            "No matching federated identity record found for presented assertion. "
            f"Assertion Issuer: '{claims.get('iss')}'. Assertion Subject: '{claims.get('sub')}'.",
        )


def _aad_error(error: str, code: int, description: str) -> dict[str, Any]:
    """An Entra token-endpoint error body: ``error``, ``error_description`` starting AADSTS<code>, codes."""
    return {"error": error, "error_description": f"AADSTS{code}: {description}", "error_codes": [code]}
