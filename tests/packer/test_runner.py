"""The packer runner with real processes: Debian's packer 1.6.6 null builds, and fake packer scripts."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aibpack.packer.machine import AZURE_ARM_BUILDER_ID, parse_azure_artifact, parse_line
from aibpack.packer.runner import PackerResult, build_args, run_packer

FAKES = Path(__file__).parent / "fakes"
REPO_ROOT = Path(__file__).resolve().parents[2]


class Lines:
    """An ``on_line`` callback that remembers each line and when it came."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.times: list[float] = []

    def __call__(self, text: str) -> None:
        self.lines.append(text)
        self.times.append(time.monotonic())

    def text(self) -> list[str]:
        """The lines without their ``[hh:mm:ss] `` elapsed-time prefix."""
        return [re.sub(r"^\[\d\d:\d\d:\d\d\] ", "", line) for line in self.lines]

    def index(self, needle: str) -> int:
        return next(i for i, line in enumerate(self.lines) if needle in line)


def run(args: list[str], packer: Path, cwd: Path, **kwargs: Any) -> tuple[PackerResult, Lines]:
    lines = Lines()
    kwargs.setdefault("timeout", 30)
    result = run_packer(args, packer=packer, cwd=cwd, log_path=cwd / "packer.log", on_line=lines, **kwargs)
    return result, lines


# -- build_args ----------------------------------------------------------------------------------------------


def test_build_args() -> None:
    assert build_args("img.pkr.hcl", on_error="cleanup") == [
        "build",
        "-color=false",
        "-machine-readable",
        "-on-error=cleanup",
        "img.pkr.hcl",
    ]
    args = build_args("img.pkr.hcl", on_error="abort", var_files=["a.pkrvars.hcl"], variables={"rg": "IT_x"})
    assert args == [
        "build",
        "-color=false",
        "-machine-readable",
        "-on-error=abort",
        "-var-file=a.pkrvars.hcl",
        "-var",
        "rg=IT_x",
        "img.pkr.hcl",
    ]
    with pytest.raises(ValueError, match="on_error"):
        build_args("img.pkr.hcl", on_error="ask")  # needs a TTY, and stdin is /dev/null


# -- real packer builds -----------------------------------------------------------------------------------


def test_real_build_streams_logs_and_parses(
    real_packer: Path, tmp_path: Path, write_template: Callable[..., str], procs: Any
) -> None:
    template = write_template(["echo first, line", "sleep 1", "echo later"], ["echo second"])
    result, lines = run(build_args(template, on_error="cleanup"), real_packer, tmp_path)
    assert result.exit_code == 0 and result.ok
    assert not result.timed_out and result.interrupted_by is None and result.errors == ()
    assert [(a.builder_id, a.id, a.target) for a in result.artifacts] == [("fnoeding.null", "Null", "null.x")]
    # live, in order, readable, with the elapsed time
    first, later, second = lines.index("null.x: first, line"), lines.index("later"), lines.index("second")
    assert first < later < second
    assert lines.times[later] - lines.times[first] >= 0.8  # streamed while packer was still running
    assert re.fullmatch(r"\[00:00:0\d\]     null\.x: first, line", lines.lines[first])
    assert lines.lines[later][:10] > lines.lines[first][:10]  # the elapsed time moved on by the sleep
    assert "--> null.x: Did not export anything. This is the null builder" in lines.text()
    assert result.last_step is not None and "Running local shell script" in result.last_step
    # the log has every raw machine-readable line
    raw = (tmp_path / "packer.log").read_text().splitlines()
    assert raw and all(parse_line(line) for line in raw)
    assert any(line.endswith(",null.x,artifact,0,builder-id,fnoeding.null") for line in raw)
    assert any(line.endswith("null.x: first%!(PACKER_COMMA) line") for line in raw)
    procs.assert_all_dead(result.pgid)


def test_real_failing_build(real_packer: Path, tmp_path: Path, write_template: Callable[..., str]) -> None:
    template = write_template(["echo before", "exit 7"])
    result, lines = run(build_args(template, on_error="cleanup"), real_packer, tmp_path)
    assert result.exit_code == 1 and not result.ok
    assert result.artifacts == ()
    assert result.errors == ("null.x: Script exited with non-zero exit status: 7.Allowed exit codes are: [0]",)
    assert any("Provisioning step had errors: Running the cleanup provisioner, if present" in x for x in lines.lines)


def test_real_failing_build_abort(real_packer: Path, tmp_path: Path, write_template: Callable[..., str]) -> None:
    template = write_template(["exit 7"])
    result, lines = run(build_args(template, on_error="abort"), real_packer, tmp_path)
    assert result.exit_code == 1
    assert any('aborted: skipping cleanup of step "StepConnect"' in line for line in lines.lines)
    assert "-on-error=abort" in " ".join(build_args(template, on_error="abort"))


def test_real_template_error(real_packer: Path, tmp_path: Path, write_template: Callable[..., str]) -> None:
    template = write_template(text='source "null" "x" {\n')
    result, _ = run(build_args(template, on_error="cleanup"), real_packer, tmp_path)
    assert result.exit_code == 1
    assert result.errors[0].startswith("Error: Argument or block definition required")


def test_secrets_go_by_env_and_are_scrubbed(
    real_packer: Path, tmp_path: Path, write_template: Callable[..., str]
) -> None:
    text = (
        'variable "client_secret" {\n  type      = string\n  default   = ""\n  sensitive = true\n}\n\n'
        'source "null" "x" {\n  communicator = "none"\n}\n\nbuild {\n  sources = ["source.null.x"]\n'
        '  provisioner "shell-local" {\n    inline = ["echo secret is ${var.client_secret}"]\n  }\n}\n'
    )
    template = write_template(text=text)
    secret = "s3cr3t,with-comma"
    result, lines = run(
        build_args(template, on_error="cleanup"), real_packer, tmp_path, secret_env={"client_secret": secret}
    )
    assert result.exit_code == 0
    assert "    null.x: secret is <sensitive>" in lines.text()  # it did reach the build
    log = (tmp_path / "packer.log").read_text()
    assert "secret is <sensitive>" in log
    assert "s3cr3t" not in log and not any("s3cr3t" in line for line in lines.lines)


def test_real_timeout_stops_the_group(
    real_packer: Path, tmp_path: Path, write_template: Callable[..., str], procs: Any, marker: str
) -> None:
    template = write_template(["echo start", f"sleep {marker}"])
    started = time.monotonic()
    result, lines = run(build_args(template, on_error="cleanup"), real_packer, tmp_path, timeout=2)
    assert time.monotonic() - started < 6
    assert result.timed_out and result.interrupted_by is None
    assert result.exit_code == 1  # packer cancelled cleanly
    assert result.duration >= 2
    assert any("Cancelling build after receiving interrupt" in line for line in lines.lines)
    assert "Cleanly cancelled builds after being interrupted." in (tmp_path / "packer.log").read_text()
    procs.assert_all_dead(result.pgid, marker)


# -- fakes: artifacts, escalation, orphans ----------------------------------------------------------------


def test_fake_azure_artifact(fake: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECKPOINT_DISABLE", "0")
    args = build_args("img.pkr.hcl", on_error="abort", variables={"image_name": "ubuntu-2204"})
    result, lines = run(args, fake("packer-azure"), tmp_path, env={"PATH": os.environ["PATH"]})
    assert result.exit_code == 0
    (artifact,) = result.artifacts
    assert artifact.builder_id == AZURE_ARM_BUILDER_ID and artifact.target == "azure-arm.img"
    info = parse_azure_artifact(artifact.string)
    assert info["ManagedImageId"] == artifact.id
    assert info["ManagedImageLocation"] == "westeurope"
    assert info["SharedImageGalleryImageVersion"] == "1.0.3"
    assert info["SharedImageGalleryReplicatedRegions"] == "westeurope, northeurope"
    text = lines.text()
    assert "==> azure-arm.img: CHECKPOINT_DISABLE=1" in text  # forced, even with env given
    assert "==> azure-arm.img: args=" + " ".join(args) in text
    assert "    azure-arm.img: -> DeploymentName : 'pkrdp1234', ok" in text
    assert "2024/05/01 10:00:00 [INFO] (telemetry) plugin noise, not machine-readable" in text  # stderr
    assert "trailing line without newline" in text
    assert "OSType: Linux" in text  # the multi-line ui message is split into lines
    assert result.last_step == "azure-arm.img: args=" + " ".join(args)
    log = (tmp_path / "packer.log").read_text()
    assert "plugin noise" in log and log.endswith("trailing line without newline\n")


@pytest.mark.parametrize(("ignore", "exit_code"), [("INT", 128 + 15), ("INT,TERM", 128 + 9)])
def test_escalation_when_packer_ignores_sigint(
    fake: Callable[[str], Path], tmp_path: Path, procs: Any, ignore: str, exit_code: int
) -> None:
    started = time.monotonic()
    result, lines = run(
        ["build"],
        fake("packer-stubborn"),
        tmp_path,
        timeout=1,
        grace_period=0.5,
        env={**os.environ, "FAKE_IGNORE": ignore},
    )
    elapsed = time.monotonic() - started
    assert result.timed_out
    assert result.exit_code == exit_code
    assert elapsed < 4
    assert elapsed >= (1.4 if ignore == "INT" else 1.9)  # SIGTERM after 0.5 s, SIGKILL 0.5 s later
    assert any("started; ignoring" in line for line in lines.lines)
    procs.assert_all_dead(result.pgid)


def test_orphan_holding_the_pipe_is_killed(
    fake: Callable[[str], Path], tmp_path: Path, procs: Any, marker: str
) -> None:
    started = time.monotonic()
    result, lines = run(["build"], fake("packer-orphan"), tmp_path, env={**os.environ, "FAKE_ORPHAN_SLEEP": marker})
    assert time.monotonic() - started < 5
    assert result.exit_code == 0 and not result.timed_out
    assert lines.text() == ["==> fake.x: leaving an orphan"]
    assert lines.lines[0].startswith("[00:00:0")
    procs.assert_all_dead(result.pgid, marker)


def test_exception_in_on_line_still_stops_packer(fake: Callable[[str], Path], tmp_path: Path, procs: Any) -> None:
    def boom(_text: str) -> None:
        raise RuntimeError("callback failed")

    seen: list[int] = []
    real_popen = subprocess.Popen

    class Spy(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            seen.append(self.pid)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(subprocess, "Popen", Spy)
        with pytest.raises(RuntimeError, match="callback failed"):
            run_packer(
                ["build"],
                packer=fake("packer-stubborn"),
                cwd=tmp_path,
                log_path=tmp_path / "packer.log",
                timeout=None,
                on_line=boom,
                grace_period=0.2,
            )
    procs.assert_all_dead(seen[0])


def test_handlers_restored_and_other_threads_allowed(fake: Callable[[str], Path], tmp_path: Path) -> None:
    def mine(_signum: int, _frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
        run(["build", "x"], fake("packer-azure"), tmp_path)
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
        results: list[PackerResult] = []
        thread = threading.Thread(target=lambda: results.append(run(["build"], fake("packer-azure"), tmp_path)[0]))
        thread.start()
        thread.join(10)
        assert results and results[0].exit_code == 0
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- signals to the aibpack process -----------------------------------------------------------------------


class Driver:
    """fakes/driver.py (run_packer in its own process and session), with its stdout read by a thread."""

    def __init__(self, packer: Path, template: str, work: Path, grace: float) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CHECKPOINT_DISABLE": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, str(FAKES / "driver.py"), str(packer), template, str(work), str(grace)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # our signals reach only the driver
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, needle: str, timeout: float = 8.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            assert line is not None, f"driver ended early: {self.seen}"
            self.seen.append(line)
            if needle in line:
                return
        raise AssertionError(f"no line with {needle!r} within {timeout} s: {self.seen}")

    def send(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def finish(self, timeout: float = 8.0) -> dict[str, Any]:
        """The driver's RESULT, once it has exited by itself (killed after ``timeout``: a failure)."""
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.reader.join(5)
        while (line := self.lines.get_nowait()) is not None:
            self.seen.append(line)
        assert self.proc.returncode == 0, self.seen
        results = [line[len("RESULT ") :] for line in self.seen if line.startswith("RESULT ")]
        assert len(results) == 1, self.seen
        return json.loads(results[0])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_to_aibpack_cancels_real_build(
    real_packer: Path,
    tmp_path: Path,
    write_template: Callable[..., str],
    procs: Any,
    marker: str,
    sig: signal.Signals,
) -> None:
    template = write_template(["echo started", f"sleep {marker}"])
    driver = Driver(real_packer, template, tmp_path, grace=30)
    driver.wait_for("null.x: started")
    deadline = time.monotonic() + 5
    while not procs.with_marker(marker) and time.monotonic() < deadline:  # the sleep comes right after
        time.sleep(0.05)
    assert procs.with_marker(marker)
    sent = time.monotonic()
    driver.send(sig)
    result = driver.finish()
    assert time.monotonic() - sent < 5
    assert result["interrupted_by"] == sig.name
    assert result["exit_code"] == 1 and not result["timed_out"]
    log = (tmp_path / "packer.log").read_text()
    assert "Cancelling build after receiving interrupt" in log  # forwarded as SIGINT to the group
    assert "Cleanly cancelled builds after being interrupted." in log
    procs.assert_all_dead(result["pgid"], marker)


def test_second_ctrl_c_kills_at_once(fake: Callable[[str], Path], tmp_path: Path, procs: Any) -> None:
    driver = Driver(fake("packer-stubborn"), "x.pkr.hcl", tmp_path, grace=30)
    driver.wait_for("started; ignoring")
    driver.send(signal.SIGINT)
    time.sleep(0.3)
    assert driver.proc.poll() is None  # the first one waits for a graceful stop
    sent = time.monotonic()
    driver.send(signal.SIGINT)
    result = driver.finish()
    assert time.monotonic() - sent < 3
    assert result["interrupted_by"] == "SIGINT"
    assert result["exit_code"] == 128 + 9
    procs.assert_all_dead(result["pgid"])
