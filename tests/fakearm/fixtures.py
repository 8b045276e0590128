"""pytest fixtures for the fake Resource Manager; import them into a conftest.py.

``fake_arm`` is a fresh server per test (the CA is made once per session); ``fake_arm_env`` also points
aibpack (and anything it starts) at it through the environment; ``stub_credential`` hands out a fixed token;
``fake_az`` puts an ``az`` on PATH that answers ``az account get-access-token`` as the Azure CLI does.
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
from .server import FakeArm

FAKE_TOKEN = "fakearm-token"
FAKE_TENANT = "00000000-0000-4000-8000-0000000000f1"


class StubCredential:
    """Any object with ``get_token`` is a credential to azure-core; this one records the scopes asked for."""

    def __init__(self, token: str = FAKE_TOKEN) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


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
# A stand-in for the Azure CLI: answers `az account get-access-token` and logs its arguments.
import json, sys, time
with open({log!r}, "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:3] != ["account", "get-access-token"]:
    sys.exit("fake az: unsupported command " + " ".join(sys.argv[1:]))
expires = int(time.time()) + 3600
print(json.dumps({{
    "accessToken": {token!r},
    "expiresOn": time.strftime("%Y-%m-%d %H:%M:%S.000000", time.localtime(expires)),
    "expires_on": expires,
    "subscription": {subscription!r},
    "tenant": {tenant!r},
    "tokenType": "Bearer",
}}))
"""


def install_fake_az(directory: Path, subscription: str) -> Path:
    """Write an executable ``az`` into ``directory``; returns the log file it appends its argv to."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "az-calls.jsonl"
    script = directory / "az"
    script.write_text(
        FAKE_AZ.format(
            python=sys.executable,
            log=str(log),
            token=FAKE_TOKEN,
            subscription=subscription,
            tenant=FAKE_TENANT,
        )
    )
    script.chmod(0o755)
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
    return log
