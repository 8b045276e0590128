"""Running ``packer build``: streamed, timed, stoppable, with secrets scrubbed (``binary`` finds and inits packer).

Packer is started in its own process group (``start_new_session=True``). That matters for stopping it:
the pid we spawn is panicwrap's wrapper, which ignores SIGINT sent to it alone and forwards only SIGTERM,
and even then leaves provisioner children (a shell-local ``sleep``) orphaned. A SIGINT to the whole group
makes Packer cancel cleanly and run its step cleanups (the azure-arm temporary resource group delete).
Cleanups can take minutes, so we wait a grace period before SIGTERM and finally SIGKILL of the group.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from aibpack.errors import BuildFailed
from aibpack.packer.binary import packer_env
from aibpack.packer.machine import Artifact, BuildOutput

ON_ERROR_CHOICES = ("cleanup", "abort", "run-cleanup-provisioner")
SCRUBBED = "<sensitive>"

_POLL = 0.1
_TERM_WAIT = 5.0
_DRAIN_AFTER_EXIT = 1.0


@dataclass(frozen=True)
class PackerResult:
    """What a ``packer`` run ended with.

    ``exit_code`` is Packer's exit status, or 128+N when it was killed by signal N.
    ``errors`` are the build errors Packer reported (or its ``ui,error`` text for a template error).
    ``interrupted_by`` is ``"SIGINT"``/``"SIGTERM"`` when aibpack itself was asked to stop.
    ``last_step`` is the last ``==>`` step Packer announced (where a timeout hit); ``pgid`` its process group.
    """

    exit_code: int
    artifacts: tuple[Artifact, ...]
    errors: tuple[str, ...]
    timed_out: bool
    interrupted_by: str | None
    duration: float
    last_step: str | None = None
    pgid: int = 0

    @property
    def ok(self) -> bool:
        """True when Packer succeeded and nothing stopped it."""
        return self.exit_code == 0 and not self.timed_out and self.interrupted_by is None


# -- finding packer ---------------------------------------------------------------------------------------


# -- packer init ------------------------------------------------------------------------------------------


# -- packer build -----------------------------------------------------------------------------------------


def build_args(
    template_file: str,
    *,
    on_error: str,
    var_files: Sequence[str] = (),
    variables: Mapping[str, str] | None = None,
    force: bool = False,
) -> list[str]:
    """``packer build`` arguments in the form aibpack always uses.

    ``force`` lets the azure plugin delete an existing managed image of the same name first (without it the build
    fails: packer-plugin-azure ``builder/azure/arm/builder.go``, "If a managed image already exists it cannot be
    overwritten"). ``variables`` become ``-var name=value`` and are visible in ``ps``: never put secrets there.
    Pass secrets to :func:`run_packer` as ``secret_env`` instead; they reach Packer as ``PKR_VAR_<name>``
    environment variables and are scrubbed from packer.log and from what ``on_line`` receives.
    """
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f"on_error must be one of {', '.join(ON_ERROR_CHOICES)}, not {on_error!r}")
    args = ["build", "-color=false", "-machine-readable", f"-on-error={on_error}", *(["-force"] if force else [])]
    for var_file in var_files:
        args.append(f"-var-file={var_file}")
    for name, value in (variables or {}).items():
        args += ["-var", f"{name}={value}"]
    args.append(template_file)
    return args


class _Stopper:
    """Stops the process group in stages: SIGINT, then SIGTERM after the grace period, then SIGKILL."""

    def __init__(self, pgid: int, grace_period: float) -> None:
        self.pgid = pgid
        self.grace_period = grace_period
        self.stage = 0  # 0 running, 1 SIGINT sent, 2 SIGTERM sent, 3 SIGKILL sent
        self.next_at = 0.0

    def begin(self, now: float) -> None:
        """Ask Packer to cancel (a group SIGINT), unless a stop is already under way."""
        if self.stage == 0:
            self._send(signal.SIGINT, 1, now + self.grace_period)

    def kill(self) -> None:
        """Stop waiting for cleanups: SIGKILL the group now."""
        if self.stage < 3:
            self._send(signal.SIGKILL, 3, float("inf"))

    def tick(self, now: float) -> None:
        """Escalate when the current stage has waited long enough."""
        if self.stage == 1 and now >= self.next_at:
            self._send(signal.SIGTERM, 2, now + min(_TERM_WAIT, self.grace_period))
        elif self.stage == 2 and now >= self.next_at:
            self.kill()

    def _send(self, sig: signal.Signals, stage: int, next_at: float) -> None:
        self.stage, self.next_at = stage, next_at
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)


@contextlib.contextmanager
def _forward_signals(pending: list[str]) -> Iterator[None]:
    """Record SIGINT/SIGTERM into ``pending`` while packer runs; restore the old handlers after.

    Python only lets the main thread set handlers; elsewhere the caller keeps its own handling.
    A signal ignored on entry (``nohup``, a background job) stays ignored, as POSIX programs do.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        pending.append(signal.Signals(signum).name)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous = {sig: old for sig, old in previous.items() if old is not signal.SIG_IGN}
    try:
        for sig in previous:
            signal.signal(sig, handler)
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


def _read_lines(stream: IO[bytes], lines: queue.Queue[str | None]) -> None:
    """Reader thread: every line of packer's output into ``lines``; None at end of stream."""
    try:
        for raw in iter(stream.readline, b""):
            lines.put(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
    except (OSError, ValueError):
        pass
    finally:
        lines.put(None)


def _scrubber(secrets: Sequence[str]) -> Callable[[str], str]:
    """Replaces secret values, also in Packer's comma/newline encoding, with ``<sensitive>``.

    Packer 1.6.6 scrubs sensitive variables in its human output but not with ``-machine-readable``,
    so we must do it ourselves.
    """
    forms: set[str] = set()
    for value in secrets:
        if value:
            forms.add(value)
            forms.add(value.replace(",", "%!(PACKER_COMMA)").replace("\r", "\\r").replace("\n", "\\n"))
            forms.update(part for part in value.splitlines() if len(part) >= 4)
    ordered = sorted(forms, key=len, reverse=True)

    def scrub(line: str) -> str:
        for form in ordered:
            line = line.replace(form, SCRUBBED)
        return line

    return scrub


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"[{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}]"


def _group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is left in the group (zombies are dead, just not yet reaped)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
                return True
    return False


def _reap_group(pgid: int, timeout: float = 5.0) -> None:
    """Kill whatever is left of the group (orphaned provisioner children) and wait until it is gone."""
    if not _group_alive(pgid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def run_packer(
    args: Sequence[str],
    *,
    packer: Path,
    cwd: Path,
    log_path: Path,
    timeout: float | None,
    on_line: Callable[[str], None],
    env: Mapping[str, str] | None = None,
    secret_env: Mapping[str, str] | None = None,
    grace_period: float = 30.0,
    signals: list[str] | None = None,
) -> PackerResult:
    """Run ``packer <args>`` in its own process group, streaming readable lines to ``on_line``.

    Every raw line is appended to ``log_path`` as it arrives (secrets scrubbed). ``secret_env`` maps
    variable names to secret values, passed as ``PKR_VAR_<name>`` so they never appear on a command line.
    After ``timeout`` seconds, or on SIGINT/SIGTERM to us, the group gets SIGINT, then SIGTERM after
    ``grace_period``, then SIGKILL; a second signal kills at once. The signals are caught here when this runs in
    the main thread; elsewhere the caller appends their names to ``signals``. On return no process of the
    group is left. Packer's own failure is reported in the result, not raised.
    """
    scrub = _scrubber(list((secret_env or {}).values()))
    output = BuildOutput()
    pending: list[str] = [] if signals is None else signals
    start = time.monotonic()
    forwarding = _forward_signals(pending) if signals is None else contextlib.nullcontext()
    with open(log_path, "a", encoding="utf-8") as log, forwarding:

        def handle(line: str) -> None:
            line = scrub(line)
            log.write(line + "\n")
            log.flush()
            stamp = _clock(time.monotonic() - start)
            for text in output.feed(line):
                on_line(f"{stamp} {text}" if text.strip() else "")

        proc = _start(packer, args, cwd, packer_env(env, secret_env))
        watch = _Watch(_Stopper(proc.pid, grace_period), start, timeout, pending)
        _pump(proc, handle, watch)
        watch.check(time.monotonic())  # a signal that came while the last lines were handled
    return PackerResult(
        exit_code=_exit_code(proc.returncode),
        artifacts=tuple(output.artifacts),
        errors=tuple(output.failure_messages()) if proc.returncode != 0 else (),
        timed_out=watch.timed_out,
        interrupted_by=watch.interrupted_by,
        duration=time.monotonic() - start,
        last_step=output.current_step,
        pgid=proc.pid,
    )


def _start(packer: Path, args: Sequence[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start packer as the leader of a new session and process group, output merged into one pipe."""
    try:
        return subprocess.Popen(
            [os.path.abspath(packer), *args],  # the cwd changes, so a relative --packer path must not
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise BuildFailed(f"cannot start {packer}: {exc}") from exc


class _Watch:
    """Turns the build timeout and the signals we received into stops of the process group."""

    def __init__(self, stopper: _Stopper, start: float, timeout: float | None, pending: list[str]) -> None:
        self.stopper = stopper
        self.deadline = None if timeout is None else start + timeout
        self.pending = pending
        self.timed_out = False
        self.interrupted_by: str | None = None

    def check(self, now: float) -> None:
        """Start a stop on timeout or the first signal, kill on a second signal, escalate when due."""
        if self.deadline is not None and not self.timed_out and now >= self.deadline:
            self.timed_out = True
            self.stopper.begin(now)
        while self.pending:
            name = self.pending.pop(0)
            if self.interrupted_by is None:
                self.interrupted_by = name
                self.stopper.begin(now)
            else:
                self.stopper.kill()
        self.stopper.tick(now)


def _pump(proc: subprocess.Popen[bytes], handle: Callable[[str], None], watch: _Watch) -> None:
    """Hand every output line to ``handle`` until packer has exited; then make sure its group is gone.

    A reader thread fills a queue so this thread can check the timeout and signals between lines.
    If packer has exited but an orphan still holds the pipe open, we stop waiting after a moment.
    """
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
    reader.start()
    completed = False
    try:
        eof, exited_at = False, 0.0
        while not (eof and proc.poll() is not None):
            now = time.monotonic()
            watch.check(now)
            if eof:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=_POLL)
                continue
            try:
                item = lines.get(timeout=_POLL)
            except queue.Empty:
                if proc.poll() is not None:
                    exited_at = exited_at or now
                    if now - exited_at > _DRAIN_AFTER_EXIT:
                        break  # an orphan holds the pipe open; it is killed below
                continue
            if item is None:
                eof = True
            else:
                handle(item)
        completed = True
    finally:
        if proc.poll() is None:  # only when ``handle`` raised
            _stop_now(watch.stopper, proc)
        _reap_group(proc.pid)
        reader.join(timeout=2.0)
        proc.stdout.close()
    if completed:
        for item in _drain(lines):
            handle(item)


def _stop_now(stopper: _Stopper, proc: subprocess.Popen[bytes]) -> None:
    """Stop packer when we leave abnormally (an exception in ``on_line``): the same stages, blocking."""
    stopper.begin(time.monotonic())
    while proc.poll() is None:
        stopper.tick(time.monotonic())
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_POLL)


def _drain(lines: queue.Queue[str | None]) -> Iterator[str]:
    while True:
        try:
            item = lines.get_nowait()
        except queue.Empty:
            return
        if item is not None:
            yield item
