"""pytest fixtures for the fake Resource Manager; import them into a conftest.py.

``fake_arm`` is a fresh server per test (the CA is made once per session); ``fake_arm_env`` also points
aibpack (and anything it starts) at it through the environment; ``stub_credential`` hands out the signed-in
user's tokens; ``fake_az`` puts an ``az`` on PATH that answers ``az account get-access-token`` as the Azure CLI
does after ``az login``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .ca import CertBundle, make_ca
from .directory import ARM_AUDIENCE, TENANT, Directory, audience_of, jwt_claims
from .server import FakeArm

# The user `az login` signed in as; tokens the fake az and StubCredential hand out are this user's.
FAKE_USER = "00000000-0000-4000-8000-0000000000c1"
FAKE_TENANT = TENANT
_TOKENS = Directory()


def user_token(audience: str = ARM_AUDIENCE, principal: str = FAKE_USER) -> str:
    """An access token the fake accepts, for ``principal`` and the resource ``audience`` (or a ``/.default`` scope)."""
    return _TOKENS.issue(principal, audience_of(audience), lifetime=7 * 24 * 3600)


FAKE_TOKEN = user_token()


class StubCredential:
    """Any object with ``get_token`` is a credential to azure-core; this one records the scopes asked for and
    hands out tokens for the signed-in user, each for the resource its scope names (as Entra does)."""

    def __init__(self, principal: str = FAKE_USER) -> None:
        self.principal = principal
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(user_token(scopes[0], self.principal), int(time.time()) + 3600)


def token_claims(token: str) -> dict[str, Any]:
    return jwt_claims(token) or {}


def arm_env(fake: FakeArm) -> dict[str, str]:
    """Environment variables that make aibpack talk to ``fake`` quickly and only to 127.0.0.1."""
    return {
        "AIBPACK_ARM_ENDPOINT": fake.base_url,
        "REQUESTS_CA_BUNDLE": fake.ca_path,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "AZURE_SUBSCRIPTION_ID": fake.subscription_id,
        "AIBPACK_POLLING_INTERVAL": "0.01",
        "AIBPACK_RETRY_BACKOFF": "0.01",
    }


FAKE_AZ = """#!{python}
# A stand-in for the Azure CLI after `az login`: `az account get-access-token` (a token for the resource or scope
# asked, as the CLI prints it) and `az account show`; it logs its arguments. Without the profile `az login` writes
# ($AZURE_CONFIG_DIR/azureProfile.json) it answers as the CLI does when nobody signed in.
import json, os, sys, time
sys.path.insert(0, {tests!r})
from fakearm.fixtures import user_token
with open({log!r}, "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
args = sys.argv[1:]
profile_path = os.path.join(os.environ.get("AZURE_CONFIG_DIR") or os.path.expanduser("~/.azure"), "azureProfile.json")
if not os.path.exists(profile_path):
    sys.exit("ERROR: Please run 'az login' to setup account.")
with open(profile_path, encoding="utf-8-sig") as f:
    account = next(s for s in json.load(f)["subscriptions"] if s["isDefault"])
if args[:2] == ["account", "show"]:
    print(json.dumps(account))
    sys.exit(0)
if args[:2] != ["account", "get-access-token"]:
    sys.exit("fake az: unsupported command " + " ".join(args))
resource = "https://management.azure.com"
for flag in ("--resource", "--scope"):
    if flag in args:
        resource = args[args.index(flag) + 1]
expires = int(time.time()) + 3600
print(json.dumps({{
    "accessToken": user_token(resource),
    "expiresOn": time.strftime("%Y-%m-%d %H:%M:%S.000000", time.localtime(expires)),
    "expires_on": expires,
    "subscription": account["id"],
    "tenant": account["tenantId"],
    "tokenType": "Bearer",
}}))
"""


def install_fake_az(directory: Path, subscription: str) -> Path:
    """Write an executable ``az`` and the profile ``az login`` leaves (``directory/azure/azureProfile.json``, for
    AZURE_CONFIG_DIR) into ``directory``; returns the log file the fake appends its argv to."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "az-calls.jsonl"
    script = directory / "az"
    script.write_text(FAKE_AZ.format(python=sys.executable, log=str(log), tests=str(Path(__file__).parent.parent)))
    script.chmod(0o755)
    config = directory / "azure"
    config.mkdir(exist_ok=True)
    profile = {
        "installationId": "00000000-0000-4000-8000-00000000beef",
        "subscriptions": [
            {
                "id": subscription,
                "name": "aibpack tests",
                "state": "Enabled",
                "user": {"name": "builder@contoso.com", "type": "user"},
                "isDefault": True,
                "tenantId": FAKE_TENANT,
                "environmentName": "AzureCloud",
                "homeTenantId": FAKE_TENANT,
            }
        ],
    }
    # The CLI writes this file with a byte-order mark (packer-plugin-azure's cli.go skips it with utfbom).
    (config / "azureProfile.json").write_text(json.dumps(profile), encoding="utf-8-sig")
    return log


def az_calls(log: Path) -> list[list[str]]:
    """The argument lists the fake ``az`` was called with."""
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture(scope="session")
def fakearm_certs(tmp_path_factory: pytest.TempPathFactory) -> CertBundle:
    return make_ca(tmp_path_factory.mktemp("fakearm-ca"))


@pytest.fixture
def fake_arm(fakearm_certs: CertBundle) -> Iterator[FakeArm]:
    with FakeArm(fakearm_certs) as fake:
        fake.directory.add_user(FAKE_USER)
        yield fake


@pytest.fixture
def fake_arm_env(fake_arm: FakeArm, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = arm_env(fake_arm)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("AIBPACK_CLOUD", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    return env


@pytest.fixture
def stub_credential() -> StubCredential:
    return StubCredential()


@pytest.fixture
def fake_az(tmp_path: Path, fake_arm: FakeArm, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ``az`` first on PATH; the value is its call log (see ``az_calls``)."""
    bin_dir = tmp_path / "fake-az-bin"
    log = install_fake_az(bin_dir, fake_arm.subscription_id)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(bin_dir / "azure"))
    return log
