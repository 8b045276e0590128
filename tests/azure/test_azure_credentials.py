"""Signing in: which azure-identity credential each --auth makes, who it turns out to be, and one-line errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from fakearm import FakeArm
from fakearm.fixtures import FAKE_USER, az_calls, install_fake_az, token_claims
from fakearm.proxy import tunnel_proxy
from support.certs import write_pem_certificate
from support.cli import run, run_process

from aibpack.azure.clients import AzureContext
from aibpack.azure.credentials import Identity, make_credential, sign_in
from aibpack.errors import EXIT_FAILED, EXIT_USAGE, AibpackError, BuildFailed

TENANT = "00000000-0000-4000-8000-0000000000f1"
APP = "77777777-2222-4333-8444-555555555555"


@pytest.mark.parametrize(
    ("auth", "environ", "class_name", "kind"),
    [
        ("default", {}, "DefaultAzureCredential", None),
        ("cli", {}, "AzureCliCredential", "cli"),
        ("msi", {"AZURE_CLIENT_ID": APP}, "ManagedIdentityCredential", "managed"),
        (
            "env",
            {"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": APP, "AZURE_CLIENT_SECRET": "s"},
            "ClientSecretCredential",
            "secret",
        ),
        (
            "env",
            {"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": APP, "AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"},
            "WorkloadIdentityCredential",
            "federated",
        ),
        (
            "env",
            {
                "AZURE_TENANT_ID": TENANT,
                "AZURE_CLIENT_ID": APP,
                "ACTIONS_ID_TOKEN_REQUEST_URL": "https://github.example/token",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
            },
            "ClientAssertionCredential",
            "github",
        ),
    ],
)
def test_each_auth_mode_makes_its_credential_and_knows_the_identity(
    auth: str, environ: dict[str, str], class_name: str, kind: str | None
) -> None:
    credential = make_credential(auth, {"AIBPACK_CLOUD": "AzureChinaCloud", **environ})
    assert type(credential.credential).__name__ == class_name
    assert (credential.identity.kind if credential.identity else None) == kind


def test_env_with_a_certificate(tmp_path: Path) -> None:
    pem, _ = write_pem_certificate(tmp_path / "sp.pem")
    environ = {"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": APP, "AZURE_CLIENT_CERTIFICATE_PATH": str(pem)}
    credential = make_credential("env", environ)
    assert type(credential.credential).__name__ == "CertificateCredential"
    assert credential.identity == Identity("certificate", APP, TENANT, str(pem))


def test_unknown_auth_mode_is_a_usage_error() -> None:
    with pytest.raises(AibpackError) as err:
        make_credential("kerberos", {})
    assert err.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({}, "--auth env: no service principal in the environment: set AZURE_TENANT_ID, AZURE_CLIENT_ID and one of"),
        ({"AZURE_CLIENT_SECRET": "s", "AZURE_CLIENT_ID": APP}, "needs AZURE_TENANT_ID as well"),
        ({"AZURE_FEDERATED_TOKEN_FILE": "/t"}, "needs AZURE_TENANT_ID and AZURE_CLIENT_ID as well"),
    ],
)
def test_env_without_a_service_principal_says_what_to_set(environ: dict[str, str], needle: str) -> None:
    with pytest.raises(BuildFailed) as err:
        make_credential("env", environ)
    assert needle in str(err.value) and "\n" not in str(err.value)
    assert err.value.exit_code == EXIT_FAILED


def test_permissions_check_without_az_is_one_line(
    tmp_path: Path, fake_arm: FakeArm, fake_arm_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    template = tmp_path / "t.json"
    template.write_text(
        '{"type": "Microsoft.VirtualMachineImages/imageTemplates", "location": "westus", "properties": {"source": '
        '{"type": "PlatformImage", "publisher": "Canonical", "offer": "o", "sku": "s"}, "distribute": [{"type": '
        f'"ManagedImage", "imageId": "/subscriptions/{fake_arm.subscription_id}/resourceGroups/rg/providers/'
        'Microsoft.Compute/images/i", "location": "westus", "runOutputName": "m"}]}}'
    )
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no az anywhere
    result = run_process(["permissions", "check", str(template), "--auth", "cli"], env={"PATH": str(tmp_path)})
    assert result.code == EXIT_FAILED
    assert result.err.splitlines() == [
        "error: --auth cli: the Azure CLI (az) is not on PATH: install it, run `az login`, or pick another --auth"
    ]
    assert fake_arm.requests == []


def test_cli_not_signed_in(tmp_path: Path, fake_arm: FakeArm, fake_arm_env: dict[str, str], fake_az: Path) -> None:
    (Path(os.environ["AZURE_CONFIG_DIR"]) / "azureProfile.json").unlink()  # as after `az logout`
    result = run(["cleanup", "--auth", "cli"])
    assert result.code == EXIT_FAILED
    assert (
        result.err.strip()
        == "error: --auth cli: the Azure CLI is not signed in: run `az login` (in CI: azure/login, or AzureCLI@2)"
    )


def test_default_with_nothing_to_sign_in_with_is_one_line(
    tmp_path: Path, fake_arm: FakeArm, fake_arm_env: dict[str, str]
) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_CLIENT", "AZURE_TENANT", "AZURE_FED"))}
    env.update(PATH=str(tmp_path), HOME=str(tmp_path), AZURE_CONFIG_DIR=str(tmp_path / "azure"))
    done = subprocess.run(
        [sys.executable, "-m", "aibpack", "cleanup"], env=env, capture_output=True, text=True, check=False
    )
    result = type("Result", (), {"code": done.returncode, "err": done.stderr})
    assert result.code == EXIT_FAILED
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --auth default: no credential found: tried environment")
    assert "az login" in lines[0]
    assert "Traceback" not in result.err and "DefaultAzureCredential" not in result.err


def test_default_with_only_az_login_signs_in_as_the_cli(
    fake_arm: FakeArm, fake_arm_env: dict[str, str], fake_az: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    ctx = AzureContext.from_env(make_credential("default"), fake_arm.subscription_id)
    signed_in = sign_in(ctx)
    assert signed_in.identity == Identity("cli")
    assert (signed_in.object_id, signed_in.principal_type) == (FAKE_USER, "User")
    assert az_calls(fake_az)[0][:2] == ["account", "get-access-token"]


def test_env_secret_signs_in_against_entra(
    tmp_path: Path, fake_arm: FakeArm, fake_arm_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real ClientSecretCredential, through HTTPS_PROXY to the fake's login.microsoftonline.com."""
    sp = fake_arm.directory.add_service_principal(secret="s3cret")
    environ = {"AZURE_TENANT_ID": fake_arm.directory.tenant_id, "AZURE_CLIENT_ID": sp.app_id}
    with tunnel_proxy(fake_arm.port) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        ctx = AzureContext.from_env(
            make_credential("env", {**environ, "AZURE_CLIENT_SECRET": "s3cret"}), fake_arm.subscription_id
        )
        signed_in = sign_in(ctx)
        assert (signed_in.object_id, signed_in.principal_type) == (sp.object_id, "ServicePrincipal")
        assert signed_in.identity == Identity("secret", sp.app_id, fake_arm.directory.tenant_id)
        wrong = AzureContext.from_env(
            make_credential("env", {**environ, "AZURE_CLIENT_SECRET": "nope"}), fake_arm.subscription_id
        )
        with pytest.raises(BuildFailed) as err:
            sign_in(wrong)
    assert str(err.value).startswith("--auth env: Microsoft Entra refused the service principal: AADSTS7000215:")
    assert "login.microsoftonline.com:443" in proxy.targets


def test_a_stub_credential_stands_for_the_mode(fake_arm: FakeArm, fake_arm_env: dict[str, str]) -> None:
    from fakearm.fixtures import StubCredential

    ctx = AzureContext.from_env(make_credential("cli", credential=StubCredential()), fake_arm.subscription_id)
    signed_in = sign_in(ctx)
    assert signed_in.identity == Identity("cli")
    assert token_claims(fake_arm.token(FAKE_USER))["oid"] == signed_in.object_id


def test_an_empty_client_id_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
    ):  # set, but empty, as CI often leaves them
        monkeypatch.setenv(name, "")
    with pytest.raises(BuildFailed, match=r"^--auth default: azure-identity refused the settings: client_id"):
        make_credential("default")


def test_azure_identity_warnings_never_reach_the_terminal(tmp_path: Path) -> None:
    code = (
        "from aibpack.azure.credentials import make_credential\n"
        "c = make_credential('default')\n"
        "try:\n    c.get_token('https://management.azure.com/.default')\nexcept Exception:\n    pass\n"
    )
    import subprocess

    env = {**os.environ, "PATH": str(tmp_path), "HOME": str(tmp_path), "AZURE_CONFIG_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.stderr == ""


def test_fake_az_profile_is_what_az_login_writes(tmp_path: Path) -> None:
    install_fake_az(tmp_path, "00000000-0000-4000-8000-0000000000a1")
    assert (tmp_path / "azure" / "azureProfile.json").read_bytes().startswith(b"\xef\xbb\xbf")
