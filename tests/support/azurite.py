"""Azurite, Microsoft's Blob storage emulator, on 127.0.0.1 for the VHD tests.

Install it with ``npm install --prefix tests/.azurite azurite`` (or put ``azurite-blob`` on PATH); without it the
tests that need it skip, unless ``AIBPACK_REQUIRE_TOOLS=1``. Start it with ``--disableTelemetry`` (design.md).
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

# Azurite's well-known development account (Azurite README, "Default Storage Account").
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


def sas_uri(azurite: str, container: str, name: str) -> str:
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
