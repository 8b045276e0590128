"""A VHD target exported to a real Blob service: Azurite, Microsoft's storage emulator, on 127.0.0.1.

Install it with ``npm install --prefix tests/.azurite azurite`` (or put ``azurite-blob`` on PATH); without it
these tests skip, unless ``AIBPACK_REQUIRE_TOOLS=1``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fakearm import FakeArm
from fakearm.dist_helpers import make_template, seed_built_image

from aibpack.azure.clients import AzureContext
from aibpack.azure.distribute import distribute_all

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
LOCAL = Path(__file__).resolve().parents[1] / ".azurite" / "node_modules" / ".bin" / "azurite-blob"


def _azurite() -> str | None:
    if LOCAL.exists():
        return str(LOCAL)
    return shutil.which("azurite-blob")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The blob endpoint of a fresh Azurite, e.g. http://127.0.0.1:PORT/devstoreaccount1."""
    binary = _azurite()
    if not binary:
        if os.environ.get("AIBPACK_REQUIRE_TOOLS") == "1":
            pytest.fail("azurite is not installed (npm install --prefix tests/.azurite azurite)")
        pytest.skip("azurite is not installed (npm install --prefix tests/.azurite azurite)")
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--disableTelemetry",
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
        ],
        cwd=tmp_path_factory.mktemp("azurite"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"azurite did not start (exit {proc.poll()})")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/{ACCOUNT}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_vhd_ends_as_blob_at_uri(azurite: str, fake_arm: FakeArm, ctx: AzureContext) -> None:
    from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

    service = BlobServiceClient(azurite, credential={"account_name": ACCOUNT, "account_key": KEY})
    service.create_container("vhds")
    sas = generate_blob_sas(
        ACCOUNT,
        "vhds",
        "golden.vhd",
        account_key=KEY,
        permission=BlobSasPermissions(read=True, create=True, write=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    uri = f"{azurite}/vhds/golden.vhd?{sas}"
    built = seed_built_image(fake_arm)
    target = {"type": "VHD", "runOutputName": "vhd", "uri": uri, "artifactTags": {"team": "platform"}}
    [out] = distribute_all(ctx, make_template([target]), built, build_location="westus", run_tags={})

    assert out.succeeded, out.error
    assert out.artifact_uri == f"{azurite}/vhds/golden.vhd"
    blob = service.get_blob_client("vhds", "golden.vhd")
    props = blob.get_blob_properties()
    assert props.blob_type == "PageBlob"
    assert props.metadata == {"team": "platform"}
    [disk_request] = [p for m, p, s in fake_arm.requests if m == "PUT" and "/disks/" in p]
    assert blob.download_blob().readall() == FakeArm.disk_bytes(disk_request)
    # The temporary disk is gone, after its access was revoked.
    assert fake_arm.resources("IT_build") == [built]
    assert [p.rsplit("/", 1)[1] for m, p, s in fake_arm.requests if m == "POST"] == [
        "beginGetAccess",
        "endGetAccess",
    ]
