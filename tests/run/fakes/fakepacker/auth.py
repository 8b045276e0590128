"""Signing in as the azure-arm builder does, from the source block's authentication fields.

- plugin v2 (FAKE_PACKER_VERSION >= 1.7, the default): packer-plugin-azure builder/azure/common/client/config.go,
  Validate / UseCLI / UseMSI / FillParameters, and azure_authorizer.go (which credential each auth type uses);
- Packer 1.6.6's bundled builder (FAKE_PACKER_VERSION < 1.7): hashicorp/packer v1.6.6, same path, where a
  subscription_id without client fields means device login (checked before use_azure_cli_auth), managed identity
  needs subscription_id, client_id and tenant_id all empty, and the CLI's default subscription replaces
  subscription_id.
Tokens come from `az account get-access-token` (CLI; the tenant from the profile `az login` writes, cli.go), from the
Microsoft identity platform token endpoint (client secret, certificate, client_jwt, GitHub OIDC request URL) at the
cloud's login host, or from the instance metadata service (managed identity). Every Resource Manager call carries
that token.
"""

import base64
import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request
import uuid

from . import Failed
from .arm import http
from .config import flag, text

ARM_RESOURCE = "https://management.azure.com/"
LOGIN_HOSTS = {
    "public": "login.microsoftonline.com",
    "china": "login.chinacloudapi.cn",
    "usgovernment": "login.microsoftonline.us",
}
# config.go setCloudEnvironment: the names cloud_environment_name accepts.
CLOUDS = {
    "public": "public",
    "publiccloud": "public",
    "azurepubliccloud": "public",
    "china": "china",
    "chinacloud": "china",
    "azurechinacloud": "china",
    "usgovernment": "usgovernment",
    "usgovernmentcloud": "usgovernment",
    "azureusgovernmentcloud": "usgovernment",
}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def auth_type(c, v2):
    """FillParameters: which credential the builder uses, after Validate accepted the combination."""
    secret, jwt, cert = text(c, "client_secret"), text(c, "client_jwt"), text(c, "client_cert_path")
    sub, client, tenant = text(c, "subscription_id"), text(c, "client_id"), text(c, "tenant_id")
    oidc_url, oidc_token = text(c, "oidc_request_url"), text(c, "oidc_request_token")
    use_cli = flag(c, "use_azure_cli_auth")
    if v2:
        use_msi = not use_cli and not (secret or jwt or cert or tenant or oidc_token or oidc_url)
        if (
            not use_cli
            and not use_msi
            and not any(
                (
                    sub and client and secret and not cert and not jwt,
                    sub and client and not secret and cert and not jwt,
                    sub and client and not secret and not cert and jwt,
                    sub and client and oidc_token and oidc_url,
                )
            )
        ):
            raise Failed(NO_VALID_V2)
        if use_cli:
            return "AzureCLI"
        if use_msi:
            return "ManagedIdentity"
        if secret:
            return "ClientSecret"
        if cert:
            return "ClientCertificate"
        if oidc_token:
            return "OIDCURL"
        return "ClientBearerJWT"
    device = sub and not (client or secret or jwt or cert)
    use_msi = not (sub or client or secret or jwt or cert or tenant)
    if not (use_cli or use_msi or device) and not any(
        (
            sub and client and secret and not cert and not jwt,
            sub and client and not secret and cert and not jwt,
            sub and client and not secret and not cert and jwt,
        )
    ):
        raise Failed(NO_VALID_V1)
    if device:
        return "DeviceLogin"
    if use_cli:
        return "AzureCLI"
    if use_msi:
        return "ManagedIdentity"
    return "ClientSecret" if secret else "ClientCertificate" if cert else "ClientBearerJWT"


NO_VALID_V2 = (
    "No valid set of authentication values specified:\n"
    "  to use the Managed Identity of the current machine, do not specify any of the fields below:\n"
    "  - client_secret\n  - client_jwt\n  - client_cert_path\n  - use_azure_cli_auth\n"
    "  to use an Azure Active Directory service principal, specify either:\n"
    "  - subscription_id, client_id and client_secret\n  - subscription_id, client_id and client_cert_path\n"
    "  - subscription_id, client_id and client_jwt\n  - subscription_id, client_id, oidc_request_url, and "
    "oidc_request_token."
)
NO_VALID_V1 = (
    "No valid set of authentication values specified:\n"
    "  to use the Managed Identity of the current machine, do not specify any of the fields below\n"
    "  to use interactive user authentication, specify only subscription_id\n"
    "  to use an Azure Active Directory service principal, specify either:\n"
    "  - subscription_id, client_id and client_secret\n  - subscription_id, client_id and client_cert_path\n"
    "  - subscription_id, client_id and client_jwt."
)


def cli_profile():
    """cli.go ProfilePath/LoadProfile: $AZURE_CONFIG_DIR or ~/.azure, azureProfile.json; the isDefault entry."""
    folder = os.environ.get("AZURE_CONFIG_DIR") or os.path.expanduser("~/.azure")
    path = os.path.join(folder, "azureProfile.json")
    try:
        with open(path, encoding="utf-8-sig") as f:
            profile = json.load(f)
    except OSError as err:
        raise Failed(
            "error fetching tenantID and subscriptionID from Azure CLI (are you logged on using `az login`?): "
            f"failed to open file ({path}) while loading token: {err}"
        ) from None
    for sub in profile.get("subscriptions", []):
        if sub.get("isDefault"):
            return sub["tenantId"], sub["id"]
    raise Failed("error fetching tenantID and subscriptionID from Azure CLI: Unable to find default subscription")


def find_tenant(sub):
    """config.go FindTenantID: an unauthenticated GET of the subscription; the tenant is in WWW-Authenticate."""
    url = f"{os.environ['AIBPACK_ARM_ENDPOINT']}/subscriptions/{sub}?api-version=2022-12-01"
    _, headers, _ = http(urllib.request.Request(url, headers={"Metadata": "true"}))
    header = next((v for k, v in headers.items() if k.lower() == "www-authenticate"), "")
    match = re.search(r'authorization_uri=".*/([0-9a-f\-]+)"', header)
    if not match:
        raise Failed(f'Could not find the tenant ID in header: WWW-Authenticate "{header}"')
    return match.group(1)


def token_from_cli():
    try:
        out = subprocess.run(
            ["az", "account", "get-access-token", "--resource", ARM_RESOURCE, "--output", "json"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise Failed("unable to get token from azure cli: Azure CLI not found on path") from None
    if out.returncode != 0:
        raise Failed(f"unable to get token from azure cli: {out.stderr.strip()}")
    return json.loads(out.stdout)["accessToken"]


def token_from_endpoint(c, tenant, grant, v2):
    cloud = CLOUDS.get(text(c, "cloud_environment_name").lower() or "public")
    if cloud is None:
        raise Failed(f"There is no cloud environment matching the name '{text(c, 'cloud_environment_name')}'!")
    host = LOGIN_HOSTS[cloud]
    # go-azure-sdk (v2) uses the v2.0 endpoint with a scope; go-autorest's ADAL (1.6.6) the v1 one with a resource.
    path, audience = (
        (f"/{tenant}/oauth2/v2.0/token", {"scope": ARM_RESOURCE + ".default"})
        if v2
        else (f"/{tenant}/oauth2/token", {"resource": ARM_RESOURCE})
    )
    form = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": text(c, "client_id"), **audience, **grant}
    ).encode()
    status, _, body = http(urllib.request.Request(f"https://{host}{path}", data=form, method="POST"))
    answer = json.loads(body or b"{}")
    if status != 200:
        raise Failed(f"retrieving access token: {answer.get('error')}: {answer.get('error_description')}")
    return answer["access_token"]


def certificate_assertion(c, v2, tenant):
    """A client assertion signed by the certificate: PKCS#12 with client_cert_password (go-azure-sdk, v2), or a
    PEM certificate and key (tokenprovider_cert.go, 1.6.6). The x5t header is the certificate's SHA-1 thumbprint."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.serialization import pkcs12

    path = text(c, "client_cert_path")
    if not os.path.isfile(path):
        raise Failed(f"client_cert_path is not an accessible file: stat {path}: no such file or directory")
    with open(path, "rb") as f:
        data = f.read()
    try:
        if v2:
            password = text(c, "client_cert_password").encode() or None
            key, cert, _ = pkcs12.load_key_and_certificates(data, password)
        else:
            cert = x509.load_pem_x509_certificate(data)
            key = serialization.load_pem_private_key(data, None)
    except ValueError as err:
        raise Failed(f"Error reading certificate: {err}") from None
    thumbprint = base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).decode().rstrip("=")
    header = {"alg": "RS256", "typ": "JWT", "x5t": thumbprint}
    now = int(time.time())
    claims = {
        "aud": f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        "iss": text(c, "client_id"),
        "sub": text(c, "client_id"),
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "exp": now + 600,
    }
    signing_input = ".".join(
        base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=") for part in (header, claims)
    )
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + base64.urlsafe_b64encode(signature).decode().rstrip("=")


def github_token(c):
    """GitHub Actions OIDC (go-azure-sdk GitHubOIDC): GET the request URL with the audience, bearer request token."""
    url = text(c, "oidc_request_url")
    url += ("&" if "?" in url else "?") + "audience=api://AzureADTokenExchange"
    request = urllib.request.Request(url, headers={"Authorization": f"bearer {text(c, 'oidc_request_token')}"})
    status, _, body = http(request)
    if status != 200:
        raise Failed(f"github OIDC token request failed with status {status}")
    return json.loads(body)["value"]


def sign_in(c, v2, say):
    """The access token for Resource Manager and the subscription the build runs in."""
    kind = auth_type(c, v2)
    sub, tenant = text(c, "subscription_id"), text(c, "tenant_id")
    say(f"Getting tokens using {kind}")
    if kind == "DeviceLogin":
        raise Failed("Getting tokens using device flow: no person is here to enter the code (device login)")
    if kind == "ManagedIdentity":
        endpoint = os.environ.get("FAKE_PACKER_IMDS")
        if not endpoint:
            raise Failed(
                "building Resource Manager authorizer from credentials: could not configure MSI Authorizer: "
                "the instance metadata service (169.254.169.254) is not reachable: this machine has no managed identity"
            )
        _, _, body = http(urllib.request.Request(endpoint, headers={"Metadata": "true"}))
        return json.loads(body)["access_token"], sub, kind
    if kind == "AzureCLI":
        _, cli_sub = cli_profile()
        if not v2 or not sub:  # 1.6.6 always takes the CLI's subscription; v2 honours subscription_id
            sub = cli_sub
        return token_from_cli(), sub, kind
    tenant = tenant or find_tenant(sub)
    if kind == "ClientSecret":
        grant = {"client_secret": text(c, "client_secret")}
    elif kind == "ClientCertificate":
        grant = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": certificate_assertion(c, v2, tenant)}
    elif kind == "OIDCURL":
        grant = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": github_token(c)}
    else:
        grant = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": text(c, "client_jwt")}
    return token_from_endpoint(c, tenant, grant, v2), sub, kind
