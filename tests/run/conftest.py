"""Fixtures for ``aibpack run``/``cleanup``: the fake ARM, the fake ``az``, a fake ``packer``, a file server.

Like tests/azure, this directory has no ``__init__.py``: ``fakearm`` imports from ``tests/`` on sys.path.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakearm import FakeArm
from fakearm.fixtures import fake_arm, fake_arm_env, fake_az, fakearm_certs, stub_credential
from support.run_env import DEST_GROUP, FAKE_PACKER, LOCATION, SOURCE, SOURCE_VERSION, FileServer, RunEnv, _Quiet

__all__ = ["fake_arm", "fake_arm_env", "fake_az", "fakearm_certs", "stub_credential"]


@pytest.fixture
def run_env(
    fake_arm: FakeArm,
    fake_arm_env: dict[str, str],
    fake_az: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> RunEnv:
    """A fake Azure holding the destination group, ``az`` and ``packer`` fakes wired through the environment."""
    if not os.access(FAKE_PACKER, os.X_OK):
        FAKE_PACKER.chmod(0o755)
    fake_arm.add_group(DEST_GROUP, LOCATION)
    # The template's source (support/run_env.py), as the marketplace lists it.
    fake_arm.add_platform_image(*SOURCE, SOURCE_VERSION, generation="V2", location=LOCATION)
    log = tmp_path / "packer-calls.jsonl"
    monkeypatch.setenv("AIBPACK_PACKER", str(FAKE_PACKER))
    monkeypatch.setenv("FAKE_PACKER_LOG", str(log))
    monkeypatch.delenv("FAKE_PACKER_MODE", raising=False)
    for name in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AIBPACK_CLOUD"):
        monkeypatch.delenv(name, raising=False)
    return RunEnv(fake_arm, tmp_path, log, monkeypatch)


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[FileServer]:
    """A plain HTTP server on 127.0.0.1 serving a temporary directory."""
    root = tmp_path / "served"
    root.mkdir()
    handler: Callable[..., Any] = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield FileServer(root, server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
