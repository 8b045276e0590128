"""SIGINT/SIGTERM during the build: ``python -m aibpack run`` as a real process, a fake packer that hangs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.run_env import RunEnv


def _wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_build_cleans_up_and_exits_130(run_env: RunEnv, sig: signal.Signals) -> None:
    pidfile = run_env.tmp / "packer.pid"
    outputs = run_env.tmp / "outputs.json"
    env = {**os.environ, "FAKE_PACKER_MODE": "hang", "FAKE_PACKER_PIDFILE": str(pidfile)}
    args = ["run", str(run_env.template()), "--auth", "cli", "--output-json", str(outputs)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "aibpack", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(pidfile, 30)
        packer_pid = int(pidfile.read_text())
        assert len(run_env.staging_groups()) == 1  # the build really was under way
        start = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
        elapsed = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 130, err
    assert elapsed < 10
    assert not _alive(packer_pid)
    pgid = run_env.builds()[0]["pgid"]
    assert pgid == packer_pid  # packer ran as the leader of its own process group
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)
    assert run_env.staging_groups() == []
    assert run_env.fake.resources() == []
    result = json.loads(outputs.read_text())
    assert result["status"] == "Canceled"
    assert result["stagingDeleted"] is True
    assert f"interrupted by {sig.name}" in err
    assert "Traceback" not in err
