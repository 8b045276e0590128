"""Fixtures for the packer runner tests: the real packer binary, null-source templates, fakes, process checks.

Real builds use Debian's packer 1.6.6 with a ``null`` source and ``shell-local`` provisioners: they run
offline in about 0.2 s. Without packer they are skipped (failed in CI, AIBPACK_REQUIRE_TOOLS=1).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

FAKES = Path(__file__).parent / "fakes"


def null_template(*provisioners: list[str]) -> str:
    """An HCL2 template with one null source and one shell-local provisioner per inline list."""
    blocks = []
    for inline in provisioners:
        quoted = ", ".join('"' + line.replace("\\", "\\\\").replace('"', '\\"') + '"' for line in inline)
        blocks.append(f'  provisioner "shell-local" {{\n    inline = [{quoted}]\n  }}\n')
    return (
        'source "null" "x" {\n  communicator = "none"\n}\n\n'
        'build {\n  sources = ["source.null.x"]\n' + "".join(blocks) + "}\n"
    )


class ProcessCheck:
    """Looks for processes a run left behind, in /proc and with ``os.killpg(pgid, 0)``."""

    @staticmethod
    def with_marker(marker: str) -> list[int]:
        """Pids of live (non-zombie) processes whose command line contains ``marker``."""
        return [pid for pid, cmdline, _ in _processes() if marker in cmdline]

    @staticmethod
    def group_members(pgid: int) -> list[int]:
        """Pids of live (non-zombie) processes in process group ``pgid``."""
        return [pid for pid, _, group in _processes() if group == pgid]

    @staticmethod
    def group_gone(pgid: int, timeout: float = 3.0) -> bool:
        """True once ``os.killpg(pgid, 0)`` raises ProcessLookupError.

        Waits up to ``timeout``: this sandbox's init reaps orphaned zombies lazily, and an unreaped zombie
        still counts for kill(). Live members are checked separately with :meth:`group_members`.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def assert_all_dead(self, pgid: int, marker: str | None = None) -> None:
        """Nothing of group ``pgid`` (nor any process with ``marker``) is alive."""
        assert pgid > 0
        assert self.group_members(pgid) == []
        if marker is not None:
            assert self.with_marker(marker) == []
        assert self.group_gone(pgid)


def _processes() -> list[tuple[int, str, int]]:
    """(pid, command line, pgid) of every live process but this one."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] not in ("Z", "X"):
            found.append((int(entry), cmdline, int(fields[2])))
    return found


@pytest.fixture
def procs() -> ProcessCheck:
    """Checks for leftover processes."""
    return ProcessCheck()


@pytest.fixture
def marker() -> str:
    """A unique ``sleep`` argument (60.xxxxxxxxx seconds), to find that very process in /proc."""
    return f"60.{uuid.uuid4().int % 10**9:09d}"


@pytest.fixture(scope="session")
def real_packer(packer_bin: str) -> Path:
    """Debian's packer (1.6.6 here), from tests/conftest.py: skipped without it, required in CI."""
    return Path(packer_bin)


@pytest.fixture(scope="session")
def fake() -> Callable[[str], Path]:
    """Path of an executable fake packer script in tests/packer/fakes."""

    def get(name: str) -> Path:
        path = FAKES / name
        if not os.access(path, os.X_OK):
            path.chmod(0o755)
        return path

    return get


@pytest.fixture
def write_template(tmp_path: Path) -> Callable[..., str]:
    """Writes a null-source template into tmp_path; returns its file name (run packer with cwd=tmp_path)."""

    def write(*provisioners: list[str], name: str = "build.pkr.hcl", text: str | None = None) -> str:
        (tmp_path / name).write_text(text if text is not None else null_template(*provisioners))
        return name

    return write


@dataclass(frozen=True)
class Captured:
    """One real packer run: its stdout lines, exit code and stderr."""

    lines: list[str]
    returncode: int
    stderr: str


@pytest.fixture(scope="session")
def captured(real_packer: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Captured]:
    """Real ``packer build -machine-readable`` output of a few null builds: ok, fail, bad, fail-abort."""
    work = tmp_path_factory.mktemp("captured")
    templates = {
        "ok": null_template(["echo hello, world", "echo to-stderr 1>&2"], ["echo second"]),
        "fail": null_template(["echo before", "exit 7"]),
        "bad": 'source "null" "x" {\n',
    }
    runs = {**{name: "cleanup" for name in templates}, "fail-abort": "abort"}
    out: dict[str, Captured] = {}
    for key, on_error in runs.items():
        name = key.removesuffix("-abort")
        file = f"{name}.pkr.hcl"
        (work / file).write_text(templates[name])
        proc = subprocess.run(
            [str(real_packer), "build", "-color=false", "-machine-readable", f"-on-error={on_error}", file],
            cwd=work,
            capture_output=True,
            text=True,
            env={**os.environ, "CHECKPOINT_DISABLE": "1"},
            timeout=60,
        )
        out[key] = Captured(proc.stdout.splitlines(), proc.returncode, proc.stderr)
    return out
