"""Endpoint, credential and subscription resolution, and the promise that importing aibpack.azure is cheap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fakearm import FakeArm
from fakearm.fixtures import FAKE_USER, token_claims

from aibpack.azure.clients import AzureContext, arm_endpoint, resolve_subscription
from aibpack.errors import EXIT_USAGE, AibpackError
from aibpack.model.resource_id import parse_id

SUB = "11111111-2222-4333-8444-555555555555"
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, "https://management.azure.com"),
        ({"AIBPACK_CLOUD": "AzureCloud"}, "https://management.azure.com"),
        ({"AIBPACK_CLOUD": "AzureChinaCloud"}, "https://management.chinacloudapi.cn"),
        ({"AIBPACK_CLOUD": "AzureUSGovernment"}, "https://management.usgovcloudapi.net"),
        (
            {"AIBPACK_ARM_ENDPOINT": "https://arm.example.test/", "AIBPACK_CLOUD": "Nope"},
            "https://arm.example.test",
        ),
    ],
)
def test_arm_endpoint_and_scope(environ: dict[str, str], url: str) -> None:
    endpoint = arm_endpoint(environ)
    assert endpoint.url == url
    assert endpoint.scope == f"{url}/.default"


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({"AIBPACK_CLOUD": "AzureGermanCloud"}, "AIBPACK_CLOUD=AzureGermanCloud is not a known cloud"),
        ({"AIBPACK_ARM_ENDPOINT": "http://127.0.0.1:1"}, "must be an https:// URL"),
    ],
)
def test_bad_endpoint_settings_are_usage_errors(environ: dict[str, str], needle: str) -> None:
    with pytest.raises(AibpackError) as err:
        arm_endpoint(environ)
    assert needle in str(err.value)
    assert err.value.exit_code == EXIT_USAGE


def test_context_from_env_passes_endpoint_trust_and_polling(fake_arm: FakeArm, stub_credential: object) -> None:
    environ = {
        "AIBPACK_ARM_ENDPOINT": fake_arm.base_url,
        "REQUESTS_CA_BUNDLE": fake_arm.ca_path,
        "AIBPACK_POLLING_INTERVAL": "0.01",
        "AIBPACK_RETRY_BACKOFF": "0.02",
    }
    ctx = AzureContext.from_env(stub_credential, SUB, environ)  # type: ignore[arg-type]
    kwargs = ctx.client_kwargs
    assert kwargs["base_url"] == fake_arm.base_url
    assert kwargs["credential_scopes"] == [f"{fake_arm.base_url}/.default"]
    assert kwargs["connection_verify"] == fake_arm.ca_path
    assert kwargs["polling_interval"] == 0.01
    assert kwargs["retry_backoff_factor"] == 0.02
    plain = AzureContext.from_env(stub_credential, SUB, {}).client_kwargs  # type: ignore[arg-type]
    assert plain["connection_verify"] is True
    assert "polling_interval" not in plain
    with pytest.raises(AibpackError, match="AIBPACK_POLLING_INTERVAL=soon is not a number"):
        AzureContext.from_env(stub_credential, SUB, {"AIBPACK_POLLING_INTERVAL": "soon"})  # type: ignore[arg-type]


def test_for_subscription_keeps_identity_and_settings(ctx: AzureContext) -> None:
    other = ctx.for_subscription(SUB)
    assert other.subscription_id == SUB
    assert other.credential is ctx.credential
    assert other.client_kwargs == ctx.client_kwargs
    assert ctx.for_subscription(ctx.subscription_id.upper()) is ctx


def test_clients_are_cached_and_talk_to_the_fake(ctx: AzureContext, fake_arm: FakeArm) -> None:
    assert ctx.resources is ctx.resources
    assert ctx.compute is not None and ctx.authorization is not None
    assert list(ctx.resources.resource_groups.list()) == []
    assert token_claims(fake_arm.request_log[-1].token)["oid"] == FAKE_USER


def test_resolve_subscription_order() -> None:
    ids = ["<placeholder>", f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/i"]
    env = {"AZURE_SUBSCRIPTION_ID": "99999999-2222-4333-8444-555555555555"}
    explicit = "aaaaaaaa-2222-4333-8444-555555555555"
    assert resolve_subscription(explicit, ids, env) == explicit
    assert resolve_subscription(None, ids, env) == SUB
    assert (
        resolve_subscription(None, ["/subscriptions/<subscriptionID>/resourceGroups/x"], env)
        == env["AZURE_SUBSCRIPTION_ID"]
    )
    with pytest.raises(AibpackError, match="no subscription") as err:
        resolve_subscription(None, [], {})
    assert err.value.exit_code == EXIT_USAGE
    with pytest.raises(AibpackError, match="expected a subscription ID"):
        resolve_subscription("my-subscription", [], {})


def test_parse_arm_id() -> None:
    parsed = parse_id(f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/d")
    assert parsed.type == "Microsoft.Compute/galleries/images"
    assert parsed.names == ("g", "d")
    assert parse_id(f"/subscriptions/{SUB}/resourceGroups/rg/").name == "rg"
    with pytest.raises(ValueError, match="is not an Azure resource ID"):
        parse_id(f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images")


def test_importing_aibpack_azure_loads_no_sdk() -> None:
    code = (
        "import aibpack.azure.clients, aibpack.azure.staging, aibpack.azure.cleanup, "
        "aibpack.azure.checks; "
        "import sys; assert not any(m.startswith('azure') for m in sys.modules), "
        "[m for m in sys.modules if m.startswith('azure')]"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
