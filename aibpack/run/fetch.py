"""Fetch stage: every remote ``scriptUri``/``sourceUri`` once, before the build, and staging verified copies.

AIB froze the scripts when the template was submitted; a build in a private VNet may have no internet. So
``run`` downloads each remote file here (retries with back-off, a timeout, a size limit), checks it against its
``sha256Checksum``, and compiles the template so that Packer uploads these local copies. No Azure SDK here.
"""

from __future__ import annotations

import hashlib
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from aibpack import __version__
from aibpack.errors import BuildFailed
from aibpack.plan.build import RemoteFile

if TYPE_CHECKING:
    from aibpack.pipeline import Compiled
    from aibpack.run.report import RunOptions

MAX_BYTES = 256 * 1024 * 1024
_CHUNK = 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
# Statuses worth another try: the server may answer the next request.
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class FetchSettings:
    """How hard to try: attempts in all, first back-off (doubling), per-request timeout, size limit."""

    attempts: int = 4
    backoff: float = 1.0
    timeout: float = 60.0
    max_bytes: int = MAX_BYTES


class _Permanent(Exception):
    """A failure that another try cannot fix (404, too big, bad URL)."""


def _local_name(uri: str, index: int) -> str:
    base = _SAFE.sub("_", unquote(Path(urlsplit(uri).path).name)) or "download"
    return f"{index:02d}-{base}"


def _download(uri: str, target: Path, settings: FetchSettings) -> str:
    """One attempt: stream ``uri`` into ``target``; returns the sha256 of what was written."""
    request = urllib.request.Request(uri, headers={"User-Agent": f"aibpack/{__version__}"})
    digest = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > settings.max_bytes:
                raise _Permanent(f"is {int(length)} bytes, more than the limit of {settings.max_bytes}")
            with open(target, "wb") as out:
                while chunk := response.read(_CHUNK):
                    size += len(chunk)
                    if size > settings.max_bytes:
                        raise _Permanent(f"is more than the limit of {settings.max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
    except urllib.error.HTTPError as exc:
        if exc.code in _RETRY_STATUSES:
            raise OSError(f"HTTP {exc.code} {exc.reason}") from exc
        raise _Permanent(f"HTTP {exc.code} {exc.reason}") from exc
    return digest.hexdigest()


def fetch_file(
    remote: RemoteFile,
    target: Path,
    settings: FetchSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Download one file with retries, then verify its checksum; ``BuildFailed`` naming its JSON path."""
    scheme = urlsplit(remote.uri).scheme.lower()
    if scheme not in ("http", "https"):
        raise BuildFailed(f"cannot fetch {remote.uri}: only http and https URLs can be fetched", path=remote.json_path)
    delay, last = settings.backoff, ""
    for attempt in range(1, settings.attempts + 1):
        try:
            actual = _download(remote.uri, target, settings)
            break
        except _Permanent as exc:
            target.unlink(missing_ok=True)
            raise BuildFailed(f"cannot fetch {remote.uri}: it {exc}", path=remote.json_path) from None
        except (OSError, urllib.error.URLError, TimeoutError) as exc:
            target.unlink(missing_ok=True)
            last = str(getattr(exc, "reason", None) or exc)
            if attempt < settings.attempts:
                sleep(delay)
                delay *= 2
    else:
        raise BuildFailed(
            f"cannot fetch {remote.uri} after {settings.attempts} attempts: {last}", path=remote.json_path
        )
    if remote.sha256 and actual.lower() != remote.sha256.lower():
        target.unlink(missing_ok=True)
        raise BuildFailed(
            f"{remote.uri} has sha256 {actual}, not the sha256Checksum {remote.sha256.lower()} "
            "(the file changed since the template was written; check it and update sha256Checksum)",
            path=remote.json_path,
        )


def stage_remote_files(
    remote_files: Iterable[RemoteFile],
    work_dir: Path,
    settings: FetchSettings | None = None,
    *,
    template_file: str | Path | None = None,
) -> dict[str, Path]:
    """Fetch each distinct URI once into ``<work_dir>/files/``; returns ``{uri: local path}`` for compile.

    A URI listed twice with different checksums is checked against each.
    """
    settings = settings or FetchSettings()
    staged: dict[str, Path] = {}
    files = work_dir / "files"
    for remote in remote_files:
        try:
            if remote.uri in staged:
                if remote.sha256:
                    actual = hashlib.sha256(staged[remote.uri].read_bytes()).hexdigest()
                    if actual != remote.sha256.lower():
                        raise BuildFailed(
                            f"{remote.uri} has sha256 {actual}, not the sha256Checksum {remote.sha256.lower()}",
                            path=remote.json_path,
                        )
                continue
            files.mkdir(parents=True, exist_ok=True)
            target = files / _local_name(remote.uri, len(staged) + 1)
            fetch_file(remote, target, settings)
            staged[remote.uri] = target
        except BuildFailed as exc:
            raise exc.located(template_file) if template_file else exc from None
    return staged


def fetch_stage(options: RunOptions, compiled: Compiled) -> dict[str, Path]:
    """Every remote scriptUri/sourceUri downloaded once, verified, staged in ``<work-dir>/files/``."""
    return stage_remote_files(
        compiled.plan.remote_files, options.work_dir, options.fetch, template_file=options.template
    )
