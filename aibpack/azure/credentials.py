"""Signing in: the azure-identity credential for ``--auth``, who it turned out to be, and, when nobody can sign
in, a few words that say what was tried and what to set.

``--auth`` modes (README "Authentication"):
- ``cli``: the Azure CLI's login (azure-identity AzureCliCredential).
- ``env``: a service principal from the environment, tried in this order: AZURE_CLIENT_SECRET, then
  AZURE_CLIENT_CERTIFICATE_PATH (the order of azure-identity's EnvironmentCredential), then a federated token in
  AZURE_FEDERATED_TOKEN_FILE (workload identity: azure-identity's WorkloadIdentityCredential), then GitHub Actions'
  OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, present in a job with ``permissions: id-token: write``, GitHub
  docs "Configuring OpenID Connect in Azure"); each with AZURE_CLIENT_ID and AZURE_TENANT_ID.
- ``msi``: the managed identity of the machine (AZURE_CLIENT_ID picks a user-assigned one).
- ``default``: azure-identity's DefaultAzureCredential, which tries environment, workload identity, managed
  identity, then the developer tools (VS Code, Azure CLI, Azure PowerShell, azd) and stops at the first that gives
  a token (azure-identity ``_credentials/default.py``). aibpack asks it which one that was, because Packer must sign
  in as the same identity.

Nothing here imports the Azure SDK at module import time.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aibpack.errors import EXIT_USAGE, AibpackError, BuildFailed

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from aibpack.azure.clients import AzureContext

AuthMode = Literal["default", "cli", "env", "msi"]
AUTH_MODES: tuple[AuthMode, ...] = ("default", "cli", "env", "msi")
IdentityKind = Literal["cli", "secret", "certificate", "federated", "github", "managed"]

# Microsoft Entra sign-in hosts per cloud (azure-identity ``AzureAuthorityHosts``).
AUTHORITIES = {
    "AzureCloud": "login.microsoftonline.com",
    "AzureChinaCloud": "login.chinacloudapi.cn",
    "AzureUSGovernment": "login.microsoftonline.us",
}
# What GitHub's ID token must be asked for to be exchanged by Entra (workload identity federation docs).
GITHUB_AUDIENCE = "api://AzureADTokenExchange"
SERVICE_PRINCIPAL_HINT = (
    "set AZURE_TENANT_ID, AZURE_CLIENT_ID and one of AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or "
    "AZURE_FEDERATED_TOKEN_FILE (in GitHub Actions, `permissions: id-token: write` gives the job an OIDC token)"
)
_AADSTS = re.compile(r"(AADSTS\d+:[^\r\n.]*\.?)")


@dataclass(frozen=True)
class Identity:
    """Who the run signed in as, in the terms Packer's azure builder signs in with (secrets stay in the
    environment: Packer gets them from there through PKR_VAR_ variables)."""

    kind: IdentityKind
    client_id: str = ""
    tenant_id: str = ""
    certificate_path: str = ""

    def describe(self) -> str:
        return {
            "cli": "the Azure CLI's login",
            "secret": f"service principal {self.client_id} (client secret)",
            "certificate": f"service principal {self.client_id} (certificate)",
            "federated": f"service principal {self.client_id} (federated token)",
            "github": f"service principal {self.client_id} (GitHub Actions OIDC)",
            "managed": f"managed identity{' ' + self.client_id if self.client_id else ''}",
        }[self.kind]


@dataclass(frozen=True)
class SignedIn:
    """The first token, whose identity it is, and its object ID (``oid`` claim) when the token says."""

    identity: Identity | None
    object_id: str | None
    tenant_id: str | None
    # User or ServicePrincipal, from the token's ``idtyp`` claim, else from ``scp`` (delegated, so a user): the
    # Microsoft identity platform access token claims reference.
    principal_type: str = "ServicePrincipal"


class Credential:
    """An azure-identity credential and how it was chosen: ``--auth`` and, for ``env``, the identity it is."""

    def __init__(self, auth: AuthMode, credential: TokenCredential, identity: Identity | None) -> None:
        self.auth = auth
        self.credential = credential
        self.identity = identity

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self.credential.get_token(*scopes, **kwargs)


def _quiet_azure_identity() -> None:
    """azure-identity logs every failed attempt (DefaultAzureCredential: a WARNING with all of them), which Python
    prints on stderr when nothing handles it; aibpack says it in one line instead (``--debug`` shows tracebacks)."""
    logging.getLogger("azure.identity").addHandler(logging.NullHandler())
    logging.getLogger("azure.identity").propagate = False


def _authority(environ: Mapping[str, str]) -> dict[str, str]:
    """An explicit AIBPACK_CLOUD picks the sign-in host, unless AZURE_AUTHORITY_HOST does."""
    from aibpack.azure.clients import cloud_name

    if environ.get("AIBPACK_CLOUD") and not environ.get("AZURE_AUTHORITY_HOST"):
        return {"authority": AUTHORITIES[cloud_name(environ)]}
    return {}


def make_credential(
    auth: str, environ: Mapping[str, str] | None = None, credential: TokenCredential | None = None
) -> Credential:
    """The credential for ``--auth`` (or ``credential``, which a test hands in, standing for it). For ``cli``, ``env``
    and ``msi`` the identity is known now; for ``default`` only once the chain has given a token."""
    environ = os.environ if environ is None else environ
    if auth not in AUTH_MODES:
        raise AibpackError(f"--auth {auth}: expected one of {', '.join(AUTH_MODES)}", exit_code=EXIT_USAGE)
    _quiet_azure_identity()
    identity = None if auth == "default" else _mode_identity(auth, environ)
    if credential is None:
        try:
            credential = _azure_identity_credential(auth, identity, environ)
        except ValueError as exc:  # azure-identity checks its settings when it is built (an empty AZURE_CLIENT_ID)
            raise BuildFailed(f"--auth {auth}: azure-identity refused the settings: {_first_line(exc)}") from None
    return Credential(auth, credential, identity)


def _mode_identity(auth: str, environ: Mapping[str, str]) -> Identity:
    if auth == "cli":
        return Identity("cli")
    if auth == "msi":
        return Identity("managed", environ.get("AZURE_CLIENT_ID", ""))
    return environment_identity(environ)


def _azure_identity_credential(auth: str, identity: Identity | None, environ: Mapping[str, str]) -> Any:
    authority = _authority(environ)
    if auth == "default":
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential(**authority)
    if auth == "cli":
        from azure.identity import AzureCliCredential

        return AzureCliCredential()
    if auth == "msi":
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=environ.get("AZURE_CLIENT_ID") or None)
    assert identity is not None
    return _environment_credential(identity, environ, authority)


def environment_identity(environ: Mapping[str, str]) -> Identity:
    """The service principal the environment describes, in the order of the module docstring."""
    client, tenant = environ.get("AZURE_CLIENT_ID", ""), environ.get("AZURE_TENANT_ID", "")
    if environ.get("AZURE_CLIENT_SECRET"):
        kind: IdentityKind = "secret"
    elif environ.get("AZURE_CLIENT_CERTIFICATE_PATH"):
        kind = "certificate"
    elif environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        kind = "federated"
    elif environ.get("ACTIONS_ID_TOKEN_REQUEST_URL") and environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        kind = "github"
    else:
        raise BuildFailed(f"--auth env: no service principal in the environment: {SERVICE_PRINCIPAL_HINT}")
    missing = [name for name, value in (("AZURE_TENANT_ID", tenant), ("AZURE_CLIENT_ID", client)) if not value]
    if missing:
        raise BuildFailed(
            f"--auth env: a service principal needs {' and '.join(missing)} as well ({SERVICE_PRINCIPAL_HINT})"
        )
    certificate = environ.get("AZURE_CLIENT_CERTIFICATE_PATH", "") if kind == "certificate" else ""
    return Identity(kind, client, tenant, certificate)


def _environment_credential(identity: Identity, environ: Mapping[str, str], authority: dict[str, str]) -> Any:
    from azure.identity import (
        CertificateCredential,
        ClientAssertionCredential,
        ClientSecretCredential,
        WorkloadIdentityCredential,
    )

    common = {"tenant_id": identity.tenant_id, "client_id": identity.client_id, **authority}
    if identity.kind == "secret":
        return ClientSecretCredential(client_secret=environ["AZURE_CLIENT_SECRET"], **common)
    if identity.kind == "certificate":
        password = environ.get("AZURE_CLIENT_CERTIFICATE_PASSWORD") or None
        return CertificateCredential(certificate_path=identity.certificate_path, password=password, **common)
    if identity.kind == "federated":
        return WorkloadIdentityCredential(token_file_path=environ["AZURE_FEDERATED_TOKEN_FILE"], **common)
    url, token = environ["ACTIONS_ID_TOKEN_REQUEST_URL"], environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
    return ClientAssertionCredential(func=lambda: github_id_token(url, token), **common)


def github_id_token(url: str, request_token: str) -> str:
    """A GitHub Actions ID token for Entra: GET the request URL with ``audience``, the request token as bearer; the
    answer is ``{"value": JWT}`` (GitHub docs; actions/toolkit ``core.getIDToken``)."""
    import requests

    separator = "&" if "?" in url else "?"
    response = requests.get(
        f"{url}{separator}audience={GITHUB_AUDIENCE}", headers={"Authorization": f"bearer {request_token}"}, timeout=30
    )
    if response.status_code != 200:
        raise BuildFailed(f"--auth env: GitHub refused the OIDC token request (HTTP {response.status_code})")
    return str(response.json()["value"])


# ---- signing in -----------------------------------------------------------------------------------------------


def sign_in(ctx: AzureContext) -> SignedIn:
    """Get one token now, so that a missing login fails before anything is created, and learn who signed in."""
    credential = ctx.credential
    auth = credential.auth if isinstance(credential, Credential) else None
    try:
        token = credential.get_token(ctx.scope).token
    except Exception as exc:
        raise BuildFailed(_why(auth, exc, ctx.endpoint)) from exc
    claims = _claims(token)
    identity = credential.identity if isinstance(credential, Credential) else None
    if identity is None and isinstance(credential, Credential):
        identity = _default_identity(credential.credential)
    return SignedIn(
        identity=identity,
        object_id=claims.get("oid"),
        tenant_id=claims.get("tid"),
        principal_type="User"
        if claims.get("idtyp", "user" if "scp" in claims else "app") == "user"
        else "ServicePrincipal",
    )


def _claims(token: str) -> dict[str, Any]:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _default_identity(default: Any) -> Identity:
    """Which credential DefaultAzureCredential's chain used: ChainedTokenCredential keeps the one that gave the
    token (azure-identity ``_credentials/chained.py``, ``_successful_credential``)."""
    used = getattr(default, "_successful_credential", None)
    name = type(used).__name__
    environ = os.environ  # what azure-identity read
    if name == "EnvironmentCredential":
        if environ.get("AZURE_CLIENT_SECRET") or environ.get("AZURE_CLIENT_CERTIFICATE_PATH"):
            return environment_identity(environ)
        raise BuildFailed(
            "--auth default signed in with AZURE_USERNAME/AZURE_PASSWORD, which Packer's azure builder cannot use: "
            f"{SERVICE_PRINCIPAL_HINT}"
        )
    if name == "WorkloadIdentityCredential":
        return Identity("federated", environ.get("AZURE_CLIENT_ID", ""), environ.get("AZURE_TENANT_ID", ""))
    if name == "ManagedIdentityCredential":
        return Identity("managed", environ.get("AZURE_CLIENT_ID", ""))
    if name == "AzureCliCredential":
        return Identity("cli")
    raise BuildFailed(
        f"--auth default signed in through {name or 'an unknown credential'}, which Packer's azure builder cannot "
        f"sign in with: run `az login` (then --auth cli), or {SERVICE_PRINCIPAL_HINT} (then --auth env)"
    )


def _why(auth: str | None, exc: BaseException, endpoint: str) -> str:
    """One line: the mode, what it looked for, what to do. Never azure-identity's whole log."""
    detail = _first_line(exc)
    if auth == "cli":
        if "not found" in detail.lower() or "not installed" in detail.lower():
            return "--auth cli: the Azure CLI (az) is not on PATH: install it, run `az login`, or pick another --auth"
        if "az login" in detail:
            return "--auth cli: the Azure CLI is not signed in: run `az login` (in CI: azure/login, or AzureCLI@2)"
        return f"--auth cli: the Azure CLI gave no token: {detail}"
    if auth == "env":
        return f"--auth env: Microsoft Entra refused the service principal: {detail} ({SERVICE_PRINCIPAL_HINT})"
    if auth == "msi":
        return (
            "--auth msi: no managed identity answered on this machine (run on Azure with a system-assigned "
            "identity, or set AZURE_CLIENT_ID to a user-assigned one), or pick another --auth"
        )
    if auth == "default":
        return (
            "--auth default: no credential found: tried environment variables, workload identity, managed "
            "identity and the Azure CLI: run `az login`, or " + SERVICE_PRINCIPAL_HINT
        )
    return f"no usable Azure credentials for {endpoint}: {detail} (sign in with `az login`, or pick another --auth)"


def _first_line(exc: BaseException) -> str:
    """The part of an azure-identity message worth a line: Entra's AADSTS sentence, else the first line."""
    text = str(getattr(exc, "message", None) or exc or type(exc).__name__)
    if match := _AADSTS.search(text):
        return match.group(1).strip()
    return " ".join(text.strip().splitlines()[0].split()) if text.strip() else type(exc).__name__
