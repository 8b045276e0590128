"""A VHD target exported to a real Blob service: Azurite, Microsoft's storage emulator, on 127.0.0.1.

Install it with ``npm install --prefix tests/.azurite azurite`` (or put ``azurite-blob`` on PATH); without it
these tests skip, unless ``AIBPACK_REQUIRE_TOOLS=1``.
"""

from __future__ import annotations

import io
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
from fakearm.dist_helpers import make_template, seed_build
from fakearm.resources import BlobStore

from aibpack.azure.clients import AzureContext
from aibpack.azure.distribute import distribute_all
from aibpack.progress import Progress

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


def _sas_uri(azurite: str, container: str, name: str) -> str:
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas

    sas = generate_blob_sas(
        ACCOUNT,
        container,
        name,
        account_key=KEY,
        permission=BlobSasPermissions(read=True, create=True, write=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    return f"{azurite}/{container}/{name}?{sas}"


def test_vhds_are_server_side_copies_of_the_os_disk_snapshot(
    azurite: str, fake_arm: FakeArm, ctx: AzureContext
) -> None:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(azurite, credential={"account_name": ACCOUNT, "account_key": KEY})
    service.create_container("vhds")
    fake_arm.use_blob_store(BlobStore(azurite, ACCOUNT, KEY))
    built = seed_build(fake_arm)
    targets = [
        {
            "type": "VHD",
            "runOutputName": "vhd",
            "uri": _sas_uri(azurite, "vhds", "golden.vhd"),
            "artifactTags": {"team": "platform"},
        },
        {"type": "VHD", "runOutputName": "copy", "uri": _sas_uri(azurite, "vhds", "copy.vhd")},
    ]
    stream = io.StringIO()
    outputs = distribute_all(
        ctx, make_template(targets), built, run_tags={}, run="r1", progress=Progress(stream, live=False, every=0)
    )

    assert [o.succeeded for o in outputs] == [True, True], [o.error for o in outputs]
    assert outputs[0].artifact_uri == f"{azurite}/vhds/golden.vhd"
    blob = service.get_blob_client("vhds", "golden.vhd")
    props = blob.get_blob_properties()
    assert props.blob_type == "PageBlob"
    assert props.metadata == {"team": "platform"}
    assert blob.download_blob().readall() == FakeArm.disk_bytes(built.os_snapshot_id or "")
    # The disk's bytes went from blob to blob: one read SAS on the snapshot for both, revoked afterwards, no disk.
    actions = [p.rsplit("/", 1)[1] for m, p, s in fake_arm.requests if m == "POST"]
    assert actions == ["beginGetAccess", "endGetAccess"]
    assert not [p for m, p, s in fake_arm.requests if "/disks/" in p]
    assert fake_arm.resource(built.os_snapshot_id or "")["properties"].get("diskState") == "Unattached"
    assert [b.name for b in service.get_container_client("fakearm-md").list_blobs()] == []
    assert "vhd: copied 4.0 KiB to" in stream.getvalue()


def test_a_vhd_copy_that_fails_says_why_and_revokes_access(azurite: str, fake_arm: FakeArm, ctx: AzureContext) -> None:
    fake_arm.use_blob_store(BlobStore(azurite, ACCOUNT, KEY))
    built = seed_build(fake_arm)
    target = {"type": "VHD", "runOutputName": "vhd", "uri": _sas_uri(azurite, "missing", "golden.vhd")}
    [out] = distribute_all(ctx, make_template([target]), built, run_tags={}, run="r1")
    assert out.provisioning_state == "Failed"
    assert out.to_dict()["error"]["code"] == "ContainerNotFound"
    assert [p.rsplit("/", 1)[1] for m, p, s in fake_arm.requests if m == "POST"] == ["beginGetAccess", "endGetAccess"]
