"""Packer signs in as the run did: every --auth way, checked by a fake packer that signs in as the azure builder does.

The fake packer (tests/run/fakes/packer) reads the compiled file and its variables as Packer does and follows
packer-plugin-azure's config.go (or Packer 1.6.6's) to pick how to sign in; then it creates the image with the token
it got. So a run succeeds only if Packer, given what aibpack passed, would really have signed in as the same identity.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakearm.directory import FEDERATION_AUDIENCE, jwt
from fakearm.fixtures import FAKE_USER, token_claims
from fakearm.proxy import tunnel_proxy
from support.certs import write_pem_certificate, write_pkcs12_certificate
from support.cli import run
from support.run_env import DEST_GROUP, LOCATION, RunEnv

SECRET = "S3cr3t-clientValue~42"
GITHUB = "https://token.actions.githubusercontent.com"


@pytest.fixture
def login_proxy(run_env: RunEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """login.microsoftonline.com (and every other public host) reached through HTTPS_PROXY, at the fake."""
    with tunnel_proxy(run_env.fake.port) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        yield proxy


@pytest.fixture
def no_ambient_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AZURE_CLIENT", "AZURE_TENANT", "AZURE_FEDERATED", "ACTIONS_ID_TOKEN", "PKR_VAR_")):
            monkeypatch.delenv(name)


def _run(env: RunEnv, *args: str, template: Path | None = None) -> tuple[int, str, dict[str, Any]]:
    outputs = env.tmp / "outputs.json"
    result = run(
        ["run", str(template or env.template()), "--output-json", str(outputs), "--work-dir", str(env.tmp / "w"), *args]
    )
    return result.code, result.err + result.out, json.loads(outputs.read_text())


def _vars(build: dict[str, Any]) -> dict[str, str]:
    argv = build["argv"]
    return dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "-var")


def _image_creator(env: RunEnv) -> str:
    """The object ID of whoever created the built image (the token of Packer's PUT)."""
    put = next(r for r in env.fake.request_log if r.method == "PUT" and "/images/" in r.path)
    return token_claims(put.token)["oid"]


def _nowhere(env: RunEnv, secret: str, *texts: str) -> None:
    """The secret is in no file of the work dir, no argv of any packer call, no terminal output."""
    for path in (env.tmp / "w").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    for call in env.packer_calls():
        assert secret not in json.dumps(call["argv"])
    for text in texts:
        assert secret not in text


def _secret_service_principal(env: RunEnv, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A service principal with a client secret, described in the environment as CI sets it."""
    sp = env.fake.directory.add_service_principal(secret=SECRET)
    monkeypatch.setenv("AZURE_TENANT_ID", env.fake.directory.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", sp.app_id)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", SECRET)
    return sp


def test_default_with_only_az_login_builds(run_env: RunEnv, no_ambient_identity: None) -> None:
    code, out, outputs = _run(run_env)  # --auth default
    assert code == 0, out
    build = run_env.builds()[0]
    assert build["auth"] == "AzureCLI"
    variables = _vars(build)
    assert (variables["use_azure_cli_auth"], variables["subscription_id"]) == ("true", run_env.sub)
    assert variables["client_id"] == variables["tenant_id"] == ""
    assert _image_creator(run_env) == FAKE_USER
    assert outputs["status"] == "Succeeded"


def test_env_secret_reaches_packer_only_through_its_environment(
    run_env: RunEnv, login_proxy: Any, no_ambient_identity: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sp = _secret_service_principal(run_env, monkeypatch)
    code, out, _ = _run(run_env, "--auth", "env")
    assert code == 0, out
    build = run_env.builds()[0]
    assert build["auth"] == "ClientSecret"
    assert (_vars(build)["client_id"], _vars(build)["tenant_id"]) == (sp.app_id, run_env.fake.directory.tenant_id)
    assert build["env_sha256"]["PKR_VAR_client_secret"] == hashlib.sha256(SECRET.encode()).hexdigest()
    assert _image_creator(run_env) == sp.object_id  # Packer signed in as the service principal, not as a user
    _nowhere(run_env, SECRET, out)
    assert "login.microsoftonline.com:443" in login_proxy.targets


def test_default_picks_the_service_principal_in_the_environment(
    run_env: RunEnv, login_proxy: Any, no_ambient_identity: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sp = _secret_service_principal(run_env, monkeypatch)
    code, out, _ = _run(run_env)
    assert code == 0, out
    assert run_env.builds()[0]["auth"] == "ClientSecret"  # as DefaultAzureCredential did, not the az login
    assert _image_creator(run_env) == sp.object_id


def test_a_trusted_launch_version_is_published_by_packer_as_the_service_principal(
    run_env: RunEnv, login_proxy: Any, no_ambient_identity: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gallery-direct meets sign-in: Packer publishes the Trusted Launch version itself, signed in as the run."""
    sp = _secret_service_principal(run_env, monkeypatch)
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "tl", LOCATION, security_type="TrustedLaunch")
    gallery = {"type": "SharedImage", "galleryImageId": run_env.gallery_image_id(image="tl"), "runOutputName": "tl"}
    code, out, outputs = _run(run_env, "--auth", "env", template=run_env.template(distribute=[gallery]))
    assert code == 0, out
    build = run_env.builds()[0]
    assert build["auth"] == "ClientSecret" and build["source"]["security_type"] == "TrustedLaunch"
    assert build["source"]["client_secret"] == "sha256:" + hashlib.sha256(SECRET.encode()).hexdigest()
    published = [r for r in run_env.fake.request_log if r.method == "PUT" and "/versions/" in r.path]
    assert [token_claims(r.token)["oid"] for r in published] == [sp.object_id]
    assert outputs["packer"]["artifactId"] == published[0].path
    _nowhere(run_env, SECRET, out)


SECURE_ARM = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "parameters": {"registryToken": {"type": "secureString"}},
    "resources": [
        {
            "type": "Microsoft.VirtualMachineImages/imageTemplates",
            "apiVersion": "2022-07-01",
            "name": "golden",
            "location": LOCATION,
            "properties": {
                "source": {
                    "type": "PlatformImage",
                    "publisher": "Canonical",
                    "offer": "ubuntu-24_04-lts",
                    "sku": "server",
                },
                "customize": [
                    {"type": "Shell", "name": "login", "inline": ["[concat('echo ', parameters('registryToken'))]"]}
                ],
                "distribute": [],
            },
        }
    ],
}


def test_a_secure_string_reaches_packer_only_through_its_environment(
    run_env: RunEnv, no_ambient_identity: None
) -> None:
    secret = "Reg1stry-T0ken/only-for-packer"
    doc = json.loads(json.dumps(SECURE_ARM))
    doc["resources"][0]["properties"]["distribute"] = [
        {"type": "ManagedImage", "imageId": run_env.image_id(), "location": LOCATION, "runOutputName": "m"}
    ]
    params = run_env.tmp / "params" / "golden.parameters.json"
    params.parent.mkdir()
    params.write_text(json.dumps({"parameters": {"registryToken": {"value": secret}}}))
    template = run_env.tmp / "golden-arm.json"
    template.write_text(json.dumps(doc))
    code, out, _ = _run(run_env, "--auth", "cli", "--parameters", str(params), template=template)
    assert code == 0, out
    build = run_env.builds()[0]
    assert build["env_sha256"]["PKR_VAR_secret_1"] == hashlib.sha256(secret.encode()).hexdigest()
    assert "${var.secret_1}" in (run_env.tmp / "w" / "golden.pkr.hcl").read_text()
    _nowhere(run_env, secret, out)


def test_packer_1_6_6_signs_in_with_the_cli_only_without_subscription(
    run_env: RunEnv, no_ambient_identity: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PACKER_VERSION", "1.6.6")
    code, out, _ = _run(run_env, "--auth", "cli")
    assert code == 0, out
    build = run_env.builds()[0]
    assert build["auth"] == "AzureCLI"  # with subscription_id set, 1.6.6 would have picked device login
    assert _vars(build)["subscription_id"] == "" and build["subscription"] == run_env.sub
    assert "client_cert_password" not in _vars(build) and "PKR_VAR_oidc_request_token" not in build["env"]
    assert "oidc_request_url" not in (run_env.tmp / "w" / "golden.pkr.hcl").read_text()


def test_real_packer_1_6_6_accepts_what_a_run_for_it_passes(
    run_env: RunEnv, no_ambient_identity: None, monkeypatch: pytest.MonkeyPatch, packer_bin: str
) -> None:
    """The file and -var values aibpack gives Packer 1.6.6 pass Debian's real Packer 1.6.6 `packer validate`."""
    installed = subprocess.run([packer_bin, "version"], capture_output=True, text=True, check=True).stdout
    if not installed.startswith("Packer v1.6."):
        pytest.skip(f"the packer on PATH is {installed.strip()}, not 1.6")
    monkeypatch.setenv("FAKE_PACKER_VERSION", installed.split("v", 1)[1].strip())
    code, out, _ = _run(run_env, "--auth", "cli")
    assert code == 0, out
    args = [f"-var={name}={value}" for name, value in _vars(run_env.builds()[0]).items()]
    hcl = run_env.tmp / "w" / "golden.pkr.hcl"
    checked = subprocess.run([packer_bin, "validate", *args, str(hcl)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_packer_1_6_6_with_another_cli_subscription_stops_before_anything_exists(
    run_env: RunEnv, no_ambient_identity: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = Path(os.environ["AZURE_CONFIG_DIR"]) / "azureProfile.json"
    data = json.loads(profile.read_text(encoding="utf-8-sig"))
    data["subscriptions"][0]["id"] = "99999999-2222-4333-8444-555555555555"
    profile.write_text(json.dumps(data), encoding="utf-8-sig")
    monkeypatch.setenv("FAKE_PACKER_VERSION", "1.6.6")
    code, out, _ = _run(run_env, "--auth", "cli")
    assert code == 1
    assert "builds in the Azure CLI's default subscription 99999999" in out and "az account set" in out
    assert run_env.staging_groups() == [] and run_env.builds() == []


def test_msi_without_a_managed_identity_fails_before_anything_exists(
    run_env: RunEnv, no_ambient_identity: None
) -> None:
    code, out, _ = _run(run_env, "--auth", "msi")
    assert code == 1
    assert "--auth msi: no managed identity answered on this machine" in out
    assert run_env.staging_groups() == [] and run_env.builds() == []


def test_github_actions_oidc_gives_packer_the_request_url(
    run_env: RunEnv, login_proxy: Any, no_ambient_identity: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject = "repo:contoso/images:ref:refs/heads/main"
    sp = run_env.fake.directory.add_service_principal(federated=(GITHUB, subject))
    url, request_token = run_env.fake.github_oidc(subject)
    monkeypatch.setenv("AZURE_TENANT_ID", run_env.fake.directory.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", sp.app_id)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", url)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token)
    code, out, _ = _run(run_env, "--auth", "env")
    assert code == 0, out
    build = run_env.builds()[0]
    assert build["auth"] == "OIDCURL"  # the plugin asks GitHub itself, so long builds get fresh tokens
    assert {"PKR_VAR_oidc_request_url", "PKR_VAR_oidc_request_token"} <= set(build["env"])
    assert _image_creator(run_env) == sp.object_id
    hcl = (run_env.tmp / "w" / "golden.pkr.hcl").read_text()
    assert re.search(r"oidc_request_token +=  *var\.oidc_request_token", hcl)  # compiled for the plugin
    _nowhere(run_env, request_token, out)


def test_a_federated_token_file_becomes_client_jwt(
    run_env: RunEnv, login_proxy: Any, no_ambient_identity: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer, subject = "https://oidc.prod-aks.azure.com/tenant/", "system:serviceaccount:ci:builder"
    sp = run_env.fake.directory.add_service_principal(federated=(issuer, subject))
    token = jwt({"iss": issuer, "sub": subject, "aud": FEDERATION_AUDIENCE, "exp": time.time() + 3600}, key=b"aks")
    token_file = run_env.tmp / "azure-identity-token"
    token_file.write_text(token)
    monkeypatch.setenv("AZURE_TENANT_ID", run_env.fake.directory.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", sp.app_id)
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    code, out, _ = _run(run_env, "--auth", "env")
    assert code == 0, out
    build = run_env.builds()[0]
    assert build["auth"] == "ClientBearerJWT"
    assert build["env_sha256"]["PKR_VAR_client_jwt"] == hashlib.sha256(token.encode()).hexdigest()
    assert _image_creator(run_env) == sp.object_id
    _nowhere(run_env, token, out)


def test_packer_1_6_6_refuses_a_federated_token_before_anything_exists(
    run_env: RunEnv, no_ambient_identity: None, monkeypatch: pytest.MonkeyPatch, stub_credential: Any
) -> None:
    token_file = run_env.tmp / "token"
    token_file.write_text("eyJ.x.y")
    for name, value in (
        ("AZURE_TENANT_ID", "t"),
        ("AZURE_CLIENT_ID", "c"),
        ("AZURE_FEDERATED_TOKEN_FILE", str(token_file)),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FAKE_PACKER_VERSION", "1.6.6")
    from aibpack.commands.options import compile_options
    from aibpack.run import RunOptions
    from aibpack.run import run as run_build

    options = RunOptions(
        template=run_env.template(),
        compile=compile_options(
            name=None, params=(), parameter_files=(), placeholders=(), strict=False, provisioners=(), build_name=None
        ),
        work_dir=run_env.tmp / "w",
        auth="env",
        credential=stub_credential,
    )
    report = run_build(options, on_line=lambda line: None)
    assert report.exit_code == 1 and "Packer 1.6.6 cannot sign in with a federated token" in (report.error or "")
    assert run_env.staging_groups() == [] and run_env.builds() == []


def _certificate_env(env: RunEnv, monkeypatch: pytest.MonkeyPatch, path: Path, thumbprint: str) -> Any:
    sp = env.fake.directory.add_service_principal(certificate=thumbprint)
    monkeypatch.setenv("AZURE_TENANT_ID", env.fake.directory.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", sp.app_id)
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", str(path))
    return sp


def test_a_pkcs12_certificate_and_its_password(
    run_env: RunEnv, login_proxy: Any, no_ambient_identity: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "Pfx-Passw0rd!"
    pfx, thumbprint = write_pkcs12_certificate(run_env.tmp / "certs" / "sp.pfx", password)
    sp = _certificate_env(run_env, monkeypatch, pfx, thumbprint)
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PASSWORD", password)
    code, out, _ = _run(run_env, "--auth", "env")
    assert code == 0, out
    build = run_env.builds()[0]
    assert build["auth"] == "ClientCertificate" and _vars(build)["client_cert_path"] == str(pfx)
    assert build["env_sha256"]["PKR_VAR_client_cert_password"] == hashlib.sha256(password.encode()).hexdigest()
    assert _image_creator(run_env) == sp.object_id
    _nowhere(run_env, password, out)


def test_a_pem_certificate_is_refused_for_the_plugin_before_anything_exists(
    run_env: RunEnv, login_proxy: Any, no_ambient_identity: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pem, thumbprint = write_pem_certificate(run_env.tmp / "sp.pem")
    _certificate_env(run_env, monkeypatch, pem, thumbprint)
    code, out, _ = _run(run_env, "--auth", "env")
    assert code == 1
    assert "the azure plugin reads the certificate as PKCS#12 (.pfx)" in out and "openssl pkcs12 -export" in out
    assert run_env.staging_groups() == [] and run_env.builds() == []


def test_packer_1_6_6_signs_in_with_a_pem_certificate(
    run_env: RunEnv, login_proxy: Any, no_ambient_identity: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pem, thumbprint = write_pem_certificate(run_env.tmp / "sp.pem")
    sp = _certificate_env(run_env, monkeypatch, pem, thumbprint)
    monkeypatch.setenv("FAKE_PACKER_VERSION", "1.6.6")
    code, out, _ = _run(run_env, "--auth", "env")
    assert code == 0, out
    assert run_env.builds()[0]["auth"] == "ClientCertificate"
    assert _image_creator(run_env) == sp.object_id
