"""How Packer signs in: the azure builder's sign-in fields for the identity this run signed in as.

The builder decides how to sign in from which fields are set, so aibpack sets the fields of exactly one way and
empties the others. Rules from packer-plugin-azure builder/azure/common/client/config.go (``Validate``,
``UseCLI``, ``UseMSI``, ``FillParameters``) and azure_authorizer.go, and for Packer 1.6.6's bundled builder from
hashicorp/packer v1.6.6 builder/azure/common/client/config.go and tokenprovider_cert.go:

- Azure CLI: ``use_azure_cli_auth``. Plugin v2 honours ``subscription_id``; 1.6.6 must get it empty (with it
  set and no client fields 1.6.6 picks device login before the CLI) and builds in the CLI's default subscription.
- Client secret: ``client_id``, ``tenant_id``, ``client_secret`` (both).
- Certificate: ``client_cert_path``, PKCS#12 with ``client_cert_password`` (plugin v2); PEM with certificate and
  key and no password (1.6.6).
- Federated token: ``client_jwt``, used as the client assertion (plugin v2). 1.6.6 refuses it: it takes
  ``client_jwt`` only as a certificate-signed assertion with an ``x5t`` header.
- GitHub Actions OIDC: ``oidc_request_url`` and ``oidc_request_token`` (plugin >= 2.1.5), so the plugin fetches
  fresh tokens through a long build. 1.6.6 has no such fields.
- Managed identity: nothing but ``subscription_id`` (and ``client_id`` for a user-assigned identity); ``tenant_id``
  must be empty (plugin v2). 1.6.6: every field empty, the subscription from the instance metadata service, and only
  the system-assigned identity.

Secrets (client secret, certificate password, federated token, GitHub's request URL and token) go only into
``PKR_VAR_`` environment variables, never into ``-var`` arguments.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aibpack.azure.credentials import Identity
from aibpack.errors import BuildFailed
from aibpack.packer.binary import INIT_MIN_VERSION
from aibpack.plan.source import SIGN_IN_FIELDS


@dataclass(frozen=True)
class PackerSignIn:
    """``-var`` values and ``PKR_VAR_`` secrets that make Packer sign in as ``identity``."""

    variables: dict[str, str]
    secrets: dict[str, str]


def plugin_v2(version: tuple[int, int, int]) -> bool:
    """Packer >= 1.7 loads the azure plugin (``packer init``, packer-plugins.pkr.hcl), else its bundled builder."""
    return version >= INIT_MIN_VERSION


def packer_sign_in(
    identity: Identity, subscription: str, version: tuple[int, int, int], environ: Mapping[str, str]
) -> PackerSignIn:
    """The sign-in fields for Packer ``version``: every one set (the unused ones empty, so nothing the template's
    defaults or the caller's environment hold can change how Packer signs in), the sensitive ones as secrets."""
    v2 = plugin_v2(version)
    fields = [f for f in SIGN_IN_FIELDS if f.name != "cloud_environment_name" and (v2 or not f.plugin_v2_only)]
    variables = {f.name: "" for f in fields if not f.sensitive}
    variables["use_azure_cli_auth"] = "false"
    variables["subscription_id"] = subscription
    empty = {f.name: "" for f in fields if f.sensitive}
    secrets: dict[str, str] = {}
    packer = ".".join(map(str, version))
    if identity.kind == "cli":
        variables["use_azure_cli_auth"] = "true"
        if not v2:
            _check_cli_subscription(subscription, environ, packer)
            variables["subscription_id"] = ""
    elif identity.kind == "managed":
        if not v2:
            if identity.client_id:
                raise BuildFailed(
                    f"Packer {packer} signs in only with the machine's system-assigned identity, not the user-assigned "
                    f"{identity.client_id}: use Packer >= 1.7 with the azure plugin"
                )
            variables["subscription_id"] = ""
        variables["client_id"] = identity.client_id
    else:
        variables["client_id"], variables["tenant_id"] = identity.client_id, identity.tenant_id
        secrets = _service_principal_secrets(identity, v2, packer, environ)
        if identity.kind == "certificate":
            variables["client_cert_path"] = str(Path(identity.certificate_path).resolve())
    return PackerSignIn(variables, {**empty, **secrets})


def _service_principal_secrets(identity: Identity, v2: bool, packer: str, environ: Mapping[str, str]) -> dict[str, str]:
    if identity.kind == "secret":
        return {"client_secret": environ["AZURE_CLIENT_SECRET"]}
    if identity.kind == "certificate":
        return _certificate(identity, v2, packer, environ)
    if not v2:
        raise BuildFailed(
            f"Packer {packer} cannot sign in with a federated token (its client_jwt must be a certificate-signed "
            "assertion): use Packer >= 1.7 with the azure plugin, or a client secret or certificate"
        )
    if identity.kind == "federated":
        return {"client_jwt": Path(environ["AZURE_FEDERATED_TOKEN_FILE"]).read_text(encoding="utf-8").strip()}
    return {
        "oidc_request_url": environ["ACTIONS_ID_TOKEN_REQUEST_URL"],
        "oidc_request_token": environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
    }


def _certificate(identity: Identity, v2: bool, packer: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The plugin reads PKCS#12 (go-azure-sdk client certificate auth); Packer 1.6.6 reads PEM without a password."""
    try:
        pem = Path(identity.certificate_path).read_bytes().lstrip().startswith(b"-----BEGIN")
    except OSError as exc:
        raise BuildFailed(f"AZURE_CLIENT_CERTIFICATE_PATH={identity.certificate_path}: {exc.strerror}") from None
    password = environ.get("AZURE_CLIENT_CERTIFICATE_PASSWORD", "")
    if v2 and pem:
        raise BuildFailed(
            "the azure plugin reads the certificate as PKCS#12 (.pfx), and AZURE_CLIENT_CERTIFICATE_PATH is PEM: "
            "convert it (openssl pkcs12 -export -in cert.pem -out cert.pfx) and point the variable at the .pfx"
        )
    if not v2 and (not pem or password):
        raise BuildFailed(
            f"Packer {packer} reads the certificate as PEM (certificate and key) without a password: convert "
            "AZURE_CLIENT_CERTIFICATE_PATH (openssl pkcs12 -in cert.pfx -nodes -out cert.pem), or use Packer >= 1.7"
        )
    return {"client_cert_password": password} if v2 and password else {}


def _check_cli_subscription(subscription: str, environ: Mapping[str, str], packer: str) -> None:
    """Packer 1.6.6 builds in the Azure CLI's default subscription; it reads it from the profile ``az login`` writes
    ($AZURE_CONFIG_DIR or ~/.azure, azureProfile.json: hashicorp/packer v1.6.6 getIDsFromAzureCLI)."""
    folder = environ.get("AZURE_CONFIG_DIR") or os.path.expanduser("~/.azure")
    try:
        with open(Path(folder) / "azureProfile.json", encoding="utf-8-sig") as profile:
            entries = json.load(profile).get("subscriptions", [])
    except (OSError, ValueError, AttributeError):
        return  # Packer will say that the CLI is not signed in
    default = next((s.get("id", "") for s in entries if isinstance(s, dict) and s.get("isDefault")), "")
    if default and default.lower() != subscription.lower():
        raise BuildFailed(
            f"Packer {packer} builds in the Azure CLI's default subscription {default}, not {subscription}: run "
            f"`az account set --subscription {subscription}`, or use Packer >= 1.7"
        )
