"""Preflight: a bad script or a missing target fails before anything is created in Azure or packer builds."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakearm import FakeArm
from fakearm.fixtures import FAKE_USER, StubCredential, token_claims
from fakearm.proxy import tunnel_proxy
from support.cli import run
from support.run_env import FileServer, RunEnv

from aibpack.errors import BuildFailed
from aibpack.plan.build import RemoteFile
from aibpack.run.fetch import FetchSettings, stage_remote_files

FAST = FetchSettings(attempts=3, backoff=0.01, timeout=5)


def _run(env: RunEnv, template: Path) -> tuple[int, str, dict]:
    outputs = env.tmp / "outputs.json"
    result = run(["run", str(template), "--auth", "cli", "--output-json", str(outputs)])
    return result.code, result.err, json.loads(outputs.read_text())


def _assert_nothing_happened(env: RunEnv) -> None:
    assert env.writes() == []  # no PUT, PATCH, DELETE or POST reached the fake
    assert env.staging_groups() == []
    assert env.builds() == []


def test_wrong_checksum_fails_before_azure_and_packer(run_env: RunEnv, file_server: FileServer) -> None:
    url, _ = file_server.add("setup.sh", b"echo hi\n")
    template = run_env.template(customize=[{"type": "Shell", "scriptUri": url, "sha256Checksum": "ab" * 32}])

    code, err, outputs = _run(run_env, template)

    assert code == 1
    assert "properties.customize[0]" in err and "sha256Checksum" in err and url in err
    assert outputs["status"] == "Failed" and outputs["stagingResourceGroup"] is None
    _assert_nothing_happened(run_env)
    assert run_env.fake.requests == []  # not even a read: files are checked first


def test_missing_gallery_image_definition_fails_before_any_write(run_env: RunEnv) -> None:
    template = run_env.template(
        distribute=[{"type": "SharedImage", "galleryImageId": run_env.gallery_image_id(), "runOutputName": "sig"}]
    )

    code, err, _ = _run(run_env, template)

    assert code == 1
    assert "gallery image definition gal/ubuntu not found" in err
    assert "properties.distribute[0].galleryImageId" in err
    _assert_nothing_happened(run_env)


def test_missing_destination_group_fails_before_any_write(run_env: RunEnv) -> None:
    template = run_env.template(
        distribute=[
            {
                "type": "ManagedImage",
                "imageId": run_env.image_id(group="rg-nope"),
                "location": "westus",
                "runOutputName": "m",
            }
        ]
    )
    code, err, _ = _run(run_env, template)
    assert code == 1 and "destination resource group rg-nope not found" in err
    _assert_nothing_happened(run_env)


def test_packer_not_found_fails_before_any_write(run_env: RunEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIBPACK_PACKER", str(run_env.tmp / "no-packer"))
    code, err, _ = _run(run_env, run_env.template())
    assert code == 1 and "does not exist" in err
    _assert_nothing_happened(run_env)


def test_verified_script_is_staged_and_compiled_as_a_local_upload(run_env: RunEnv, file_server: FileServer) -> None:
    url, digest = file_server.add("setup.sh", b"#!/bin/sh\necho staged\n")
    template = run_env.template(customize=[{"type": "Shell", "scriptUri": url, "sha256Checksum": digest}])
    work = run_env.tmp / "w"

    result = run(["run", str(template), "--auth", "cli", "--work-dir", str(work)])

    assert result.code == 0, result.err
    staged = list((work / "files").iterdir())
    assert len(staged) == 1 and staged[0].read_bytes() == b"#!/bin/sh\necho staged\n"
    hcl = (work / "golden.pkr.hcl").read_text()
    assert f'"${{path.root}}/files/{staged[0].name}"' in hcl  # uploaded from the verified copy
    assert "curl --fail" not in hcl  # not fetched again inside the VM


def test_fetch_retries_then_succeeds(tmp_path: Path, file_server: FileServer, monkeypatch) -> None:
    url, digest = file_server.add("a.sh", b"x")
    calls = []
    import aibpack.run.fetch as fetch

    real = fetch._download

    def flaky(uri, target, settings):
        calls.append(uri)
        if len(calls) < 3:
            raise OSError("connection reset")
        return real(uri, target, settings)

    monkeypatch.setattr(fetch, "_download", flaky)
    staged = stage_remote_files([RemoteFile(url, digest, ("p",)), RemoteFile(url, digest, ("q",))], tmp_path, FAST)
    assert len(calls) == 3  # two failures, one success; the second reference is not fetched again
    assert staged[url].read_bytes() == b"x"


def test_fetch_404_is_not_retried_and_names_the_path(tmp_path: Path, file_server: FileServer) -> None:
    url = f"http://127.0.0.1:{file_server.port}/missing.sh"
    with pytest.raises(BuildFailed) as info:
        stage_remote_files([RemoteFile(url, "", ("properties", "customize", 2, "scriptUri"))], tmp_path, FAST)
    assert "HTTP 404" in str(info.value) and "properties.customize[2].scriptUri" in str(info.value)


def test_fetch_size_limit(tmp_path: Path, file_server: FileServer) -> None:
    url, _ = file_server.add("big.bin", b"0" * 5000)
    with pytest.raises(BuildFailed, match="limit of 1000"):
        stage_remote_files([RemoteFile(url, "", ("p",))], tmp_path, FetchSettings(max_bytes=1000, backoff=0.01))
    assert list((tmp_path / "files").iterdir()) == []


def test_fetch_unreachable_gives_up_after_the_attempts(tmp_path: Path) -> None:
    with pytest.raises(BuildFailed, match="after 3 attempts"):
        stage_remote_files([RemoteFile("http://127.0.0.1:9/x.sh", "", ("p",))], tmp_path, FAST)


def test_checksum_case_insensitive(tmp_path: Path, file_server: FileServer) -> None:
    url, digest = file_server.add("c.sh", b"abc")
    staged = stage_remote_files([RemoteFile(url, digest.upper(), ("p",))], tmp_path, FAST)
    assert hashlib.sha256(staged[url].read_bytes()).hexdigest() == digest


class _Truncating(http.server.BaseHTTPRequestHandler):
    """Says Content-Length 100, sends 50 bytes and hangs up, ``server.truncations`` times; then sends all 100."""

    def do_GET(self) -> None:
        body = b"x" * 100
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        if self.server.truncations > 0:  # type: ignore[attr-defined]
            self.server.truncations -= 1  # type: ignore[attr-defined]
            self.wfile.write(body[:50])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def truncating() -> Iterator[Any]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Truncating)
    server.truncations = 0  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_truncated_body_is_never_a_file(tmp_path: Path, truncating: Any) -> None:
    url = f"http://127.0.0.1:{truncating.server_address[1]}/setup.sh"
    truncating.truncations = 99
    with pytest.raises(BuildFailed, match="after 3 attempts") as info:
        stage_remote_files([RemoteFile(url, "", ("properties", "customize", 0, "scriptUri"))], tmp_path, FAST)
    assert "50" in str(info.value) or "IncompleteRead" in str(info.value)
    assert list((tmp_path / "files").iterdir()) == []
    truncating.truncations = 1  # one short body, then the whole file
    staged = stage_remote_files([RemoteFile(url, "", ("p",))], tmp_path / "again", FAST)
    assert staged[url].read_bytes() == b"x" * 100


@pytest.fixture
def blob_proxy(fake_arm: FakeArm, fake_arm_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Blob hosts (public and sovereign suffixes) reached through HTTPS_PROXY; the CA only in REQUESTS_CA_BUNDLE."""
    with tunnel_proxy(fake_arm.port) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        yield proxy


def test_downloads_honour_https_proxy_and_requests_ca_bundle(
    fake_arm: FakeArm, blob_proxy: Any, tmp_path: Path
) -> None:
    fake_arm.add_group("rg-scripts")
    fake_arm.add_blob("rg-scripts", "scripts01", "public", "setup.sh", b"echo hi\n", public_access="Blob")
    url = "https://scripts01.blob.core.windows.net/public/setup.sh"
    staged = stage_remote_files([RemoteFile(url, hashlib.sha256(b"echo hi\n").hexdigest(), ("p",))], tmp_path, FAST)
    assert staged[url].read_bytes() == b"echo hi\n"
    assert blob_proxy.targets == ["scripts01.blob.core.windows.net:443"]


@pytest.mark.parametrize("suffix", ["core.windows.net", "core.chinacloudapi.cn", "core.usgovcloudapi.net"])
def test_a_private_blob_is_read_with_the_runs_credential(
    fake_arm: FakeArm, blob_proxy: Any, tmp_path: Path, suffix: str
) -> None:
    from aibpack.azure.credentials import make_credential

    fake_arm.add_group("rg-scripts")
    account = fake_arm.add_blob("rg-scripts", "scripts01", "private", "setup.sh", b"echo private\n")
    url = f"https://scripts01.blob.{suffix}/private/setup.sh"
    remote = RemoteFile(url, hashlib.sha256(b"echo private\n").hexdigest(), ("properties", "customize", 0, "scriptUri"))
    credential = make_credential("cli", credential=StubCredential())
    with pytest.raises(BuildFailed) as info:
        stage_remote_files([remote], tmp_path, FAST, credential=credential)
    assert "needs Storage Blob Data Reader on storage account scripts01" in str(info.value)
    assert "properties.customize[0].scriptUri" in str(info.value)
    fake_arm.add_role_assignment(account, "Storage Blob Data Reader", FAKE_USER)
    staged = stage_remote_files([remote], tmp_path, FAST, credential=credential)
    assert staged[url].read_bytes() == b"echo private\n"
    storage_reads = [r for r in fake_arm.request_log if r.host.startswith("scripts01.blob.") and r.token]
    assert storage_reads and token_claims(storage_reads[-1].token)["aud"] == "https://storage.azure.com"


def test_without_a_credential_a_refused_blob_stays_refused(fake_arm: FakeArm, blob_proxy: Any, tmp_path: Path) -> None:
    fake_arm.add_group("rg-scripts")
    fake_arm.add_blob("rg-scripts", "scripts01", "private", "setup.sh", b"x")
    with pytest.raises(BuildFailed, match="HTTP 404"):
        stage_remote_files(
            [RemoteFile("https://scripts01.blob.core.windows.net/private/setup.sh", "", ("p",))], tmp_path, FAST
        )


def test_run_reads_a_private_script_as_the_signed_in_user(run_env: RunEnv, blob_proxy: Any) -> None:
    run_env.fake.add_group("rg-scripts")
    content = b"#!/bin/sh\necho from private storage\n"
    account = run_env.fake.add_blob("rg-scripts", "scripts01", "private", "setup.sh", content)
    run_env.fake.add_role_assignment(account, "Storage Blob Data Reader", FAKE_USER)
    url = "https://scripts01.blob.core.windows.net/private/setup.sh"
    template = run_env.template(
        customize=[{"type": "Shell", "scriptUri": url, "sha256Checksum": hashlib.sha256(content).hexdigest()}]
    )
    result = run(["run", str(template), "--auth", "cli", "--work-dir", str(run_env.tmp / "w")])
    assert result.code == 0, result.err
    assert [p.read_bytes() for p in (run_env.tmp / "w" / "files").iterdir()] == [content]
