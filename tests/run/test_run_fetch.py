"""Preflight: a bad script or a missing target fails before anything is created in Azure or packer builds."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
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
