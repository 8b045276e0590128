"""The packer binary: finding it, its version, what a version can do, and ``packer init``."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from aibpack.errors import BuildFailed
from aibpack.plan.plugins import MODERN_PACKER

MIN_PACKER_VERSION = (1, 6, 6)  # Debian's packer, what aibpack's output is checked against


# `packer init` and external plugins (the azure plugin v2 among them) came with Packer 1.7.0 (plan.plugins cites
# hashicorp/packer CHANGELOG 1.7.0); before it the azure builder was bundled in Packer.
INIT_MIN_VERSION = MODERN_PACKER


_VERSION_RE = re.compile(r"Packer v(\d+)\.(\d+)\.(\d+)")


Version = tuple[int, int, int]


def find_packer(explicit: str | None = None) -> Path:
    """The packer binary: ``--packer PATH``, else ``$AIBPACK_PACKER``, else ``packer`` on PATH."""
    choice, origin = explicit, "--packer"
    if not choice:
        choice, origin = os.environ.get("AIBPACK_PACKER") or None, "AIBPACK_PACKER"
    if not choice:
        found = shutil.which("packer")
        if found is None:
            raise BuildFailed("packer not found on PATH; install Packer or give --packer PATH or AIBPACK_PACKER")
        return Path(found)
    path = Path(choice).expanduser()
    if os.sep not in choice and not path.exists():
        found = shutil.which(choice)
        if found is None:
            raise BuildFailed(f"packer {choice!r} ({origin}) not found on PATH")
        return Path(found)
    if not path.is_file():
        raise BuildFailed(f"packer {str(path)!r} ({origin}) does not exist or is not a file")
    if not os.access(path, os.X_OK):
        raise BuildFailed(f"packer {str(path)!r} ({origin}) is not executable (chmod +x it)")
    return path.absolute()


def packer_env(env: Mapping[str, str] | None = None, secret_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a packer call: ``env`` (default ours), no telemetry, secrets as ``PKR_VAR_*``."""
    out = dict(os.environ if env is None else env)
    out["CHECKPOINT_DISABLE"] = "1"
    for name, value in (secret_env or {}).items():
        out[f"PKR_VAR_{name}"] = value
    return out


def packer_version(packer: Path, *, minimum: Version = MIN_PACKER_VERSION) -> Version:
    """Packer's version from ``packer version``; older than ``minimum`` is a BuildFailed."""
    try:
        proc = subprocess.run(
            [str(packer), "version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=60,
            env=packer_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildFailed(f"cannot run {packer} version: {exc}") from exc
    match = _VERSION_RE.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        shown = (proc.stdout + proc.stderr).strip().splitlines()[:1]
        raise BuildFailed(f"{packer} does not look like HashiCorp Packer (`packer version` printed {shown})")
    version = (int(match[1]), int(match[2]), int(match[3]))
    if version < minimum:
        raise BuildFailed(f"{packer} is Packer {_dotted(version)}; aibpack needs Packer >= {_dotted(minimum)}")
    return version


def require_packer_for(packer: Path, version: Version, needs: Sequence[object]) -> None:
    """Refuse a Packer older than 1.7 for a build that needs plugins it cannot install, saying what is needed.

    Packer 1.6.6 would fail only mid-way ("Unknown provisioner type", "Unsupported argument"); ``needs`` are the
    plan's reasons (``BuildPlan.modern_only``).
    """
    if version >= INIT_MIN_VERSION or not needs:
        return
    raise BuildFailed(
        f"{packer} is Packer {_dotted(version)}, which cannot build this template: "
        + "; ".join(str(need) for need in needs)
        + f". Install Packer >= {_dotted(INIT_MIN_VERSION)} (HashiCorp's releases); `packer init` then installs "
        "the plugins"
    )


def _dotted(version: Sequence[int]) -> str:
    return ".".join(str(part) for part in version)


def needs_init(version: Version, work_dir: Path) -> bool:
    """Whether ``packer init`` must run: Packer >= 1.7 and a ``required_plugins`` block in ``work_dir``.

    Packer 1.6 has no ``init`` (it exits 127) and has azure-arm built in. ``packer init`` itself skips
    plugins that are already installed, so running it is how "init when plugins are missing" is done.
    """
    if version < INIT_MIN_VERSION:
        return False
    for file in sorted(work_dir.glob("*.pkr.hcl")):
        with contextlib.suppress(OSError):
            if "required_plugins" in file.read_text(encoding="utf-8", errors="replace"):
                return True
    return False


def init_plugins(
    packer: Path,
    version: Version,
    work_dir: Path,
    *,
    log_path: Path | None = None,
    timeout: float = 600.0,
    env: Mapping[str, str] | None = None,
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
) -> bool:
    """Run ``packer init <work_dir>`` when :func:`needs_init` says so; True when it ran.

    Its output goes to ``log_path`` (appended, so it shares packer.log with the build). A failure is a
    BuildFailed (exit 1) that quotes Packer's last lines: usually no network or a GitHub rate limit.
    """
    if not needs_init(version, work_dir):
        return False
    cmd = [str(packer), "init", str(work_dir)]
    try:
        proc = run(
            cmd,
            cwd=work_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=timeout,
            env=packer_env(env),
        )
    except subprocess.TimeoutExpired as exc:
        raise BuildFailed(f"packer init did not finish within {timeout:g} s") from exc
    except OSError as exc:
        raise BuildFailed(f"cannot run packer init: {exc}") from exc
    output = proc.stdout or ""
    if log_path is not None:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(output if output.endswith("\n") or not output else output + "\n")
    if proc.returncode != 0:
        tail = " | ".join(line.strip() for line in output.strip().splitlines()[-3:] if line.strip())
        raise BuildFailed(
            f"packer init {work_dir} failed (exit {proc.returncode}): {tail or 'no output'}"
            " (it needs network access to install the plugins in packer-plugins.pkr.hcl)"
        )
    return True
