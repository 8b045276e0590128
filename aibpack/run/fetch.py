"""Fetch stage: every remote ``scriptUri``/``sourceUri`` once, before the build, and staging verified copies.

AIB froze the scripts when the template was submitted; a build in a private VNet may have no internet. So
``run`` downloads each remote file here (retries with back-off, a timeout, a size limit), checks it against its
``sha256Checksum``, and compiles the template so that Packer uploads these local copies.

Downloads go through the HTTP stack the Azure SDK uses (azure-core's pipeline over requests), so they trust what
the SDK trusts (``REQUESTS_CA_BUNDLE``) and go where it goes (``HTTPS_PROXY``, ``NO_PROXY``). A body shorter than
its ``Content-Length`` is a failed attempt, never a file. A blob that refuses anonymous reads is read again with
the run's credential (AIB read private scripts through the template's identity: azvmimagebuilder quickquickstarts
7, "Creating Custom Image using MSI to Access Storage").
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from aibpack import __version__
from aibpack.errors import BuildFailed
from aibpack.inputs import file_sha256
from aibpack.plan.build import RemoteFile

if TYPE_CHECKING:
    from aibpack.azure.credentials import Credential
    from aibpack.pipeline import Compiled
    from aibpack.run.report import RunOptions

MAX_BYTES = 256 * 1024 * 1024  # aibpack's own limit; AIB meant File steps for files under 20 MB (image-builder-json.md)
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
# Statuses worth another try: the server may answer the next request.
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Anonymous reads a storage account refuses: 401/403 (no anonymous access), 404 (a private container answers so),
# 409 PublicAccessNotPermitted (azure-docs storage/blobs/anonymous-read-access-prevent.md).
_REFUSED = frozenset({401, 403, 404, 409})


@dataclass(frozen=True)
class FetchSettings:
    """How hard to try: attempts in all, first back-off (doubling), per-request timeout, size limit."""

    attempts: int = 4
    backoff: float = 1.0
    timeout: float = 60.0
    max_bytes: int = MAX_BYTES


class _Permanent(Exception):
    """A failure that another try cannot fix (404, too big, bad URL)."""


class _Refused(_Permanent):
    """An anonymous read refused with ``status``: a private blob may still be read with a credential."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status} {reason}")
        self.status = status


def _local_name(uri: str, index: int) -> str:
    base = _SAFE.sub("_", unquote(Path(urlsplit(uri).path).name)) or "download"
    return f"{index:02d}-{base}"


def _pipeline() -> Any:
    """azure-core over requests: REQUESTS_CA_BUNDLE and HTTPS_PROXY/NO_PROXY apply (requests' trust_env), and
    redirects are followed as the SDK follows them."""
    from azure.core.pipeline import Pipeline
    from azure.core.pipeline.policies import RedirectPolicy, UserAgentPolicy
    from azure.core.pipeline.transport import RequestsTransport

    return Pipeline(
        transport=RequestsTransport(),
        policies=[UserAgentPolicy(base_user_agent=f"aibpack/{__version__}"), RedirectPolicy()],
    )


def _write(chunks: Iterator[bytes], target: Path, expected: int | None, settings: FetchSettings) -> str:
    """Stream ``chunks`` into ``target``; returns the sha256. Too big is permanent; short of ``expected`` is not."""
    digest = hashlib.sha256()
    size = 0
    with open(target, "wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > settings.max_bytes:
                raise _Permanent(f"is more than the limit of {settings.max_bytes} bytes")
            digest.update(chunk)
            out.write(chunk)
    if expected is not None and size != expected:
        raise OSError(f"the connection closed after {size} of {expected} bytes")
    return digest.hexdigest()


def _download(uri: str, target: Path, settings: FetchSettings) -> str:
    """One attempt: stream ``uri`` into ``target``; returns the sha256 of what was written."""
    from azure.core.exceptions import AzureError
    from azure.core.rest import HttpRequest

    # identity: Content-Length then counts the bytes written, which is how a truncated body is caught.
    request = HttpRequest("GET", uri, headers={"Accept-Encoding": "identity"})
    try:
        response = (
            _pipeline()
            .run(request, stream=True, connection_timeout=settings.timeout, read_timeout=settings.timeout)
            .http_response
        )
        try:
            if response.status_code in _RETRY_STATUSES:
                raise OSError(f"HTTP {response.status_code} {response.reason}")
            if response.status_code in _REFUSED:
                raise _Refused(response.status_code, response.reason or "")
            if response.status_code >= 300:
                raise _Permanent(f"HTTP {response.status_code} {response.reason}")
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            if expected is not None and expected > settings.max_bytes:
                raise _Permanent(f"is {expected} bytes, more than the limit of {settings.max_bytes}")
            return _write(response.iter_bytes(), target, expected, settings)
        finally:
            response.close()
    except AzureError as exc:
        raise OSError(str(exc.message or exc).splitlines()[0]) from exc


def fetch_file(
    remote: RemoteFile,
    target: Path,
    settings: FetchSettings,
    *,
    credential: Credential | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Download one file with retries (a private blob with ``credential``), then verify its checksum;
    ``BuildFailed`` naming its JSON path."""
    scheme = urlsplit(remote.uri).scheme.lower()
    if scheme not in ("http", "https"):
        raise BuildFailed(f"cannot fetch {remote.uri}: only http and https URLs can be fetched", path=remote.json_path)
    delay, last = settings.backoff, ""
    for attempt in range(1, settings.attempts + 1):
        try:
            actual = _download(remote.uri, target, settings)
            break
        except _Refused as exc:
            target.unlink(missing_ok=True)
            actual = _private_blob(remote, target, settings, credential, exc)
            break
        except _Permanent as exc:
            target.unlink(missing_ok=True)
            raise BuildFailed(f"cannot fetch {remote.uri}: it {exc}", path=remote.json_path) from None
        except (OSError, TimeoutError) as exc:
            target.unlink(missing_ok=True)
            last = str(exc)
            if attempt < settings.attempts:
                sleep(delay)
                delay *= 2
    else:
        raise BuildFailed(
            f"cannot fetch {remote.uri} after {settings.attempts} attempts: {last}", path=remote.json_path
        )
    try:
        _verify(remote, actual)
    except BuildFailed:
        target.unlink(missing_ok=True)
        raise


def _verify(remote: RemoteFile, actual: str) -> None:
    """``actual`` (a sha256) is the file's ``sha256Checksum``, when it has one."""
    if remote.sha256 and actual.lower() != remote.sha256.lower():
        raise BuildFailed(
            f"{remote.uri} has sha256 {actual}, not the sha256Checksum {remote.sha256.lower()} "
            "(the file changed since the template was written; check it and update sha256Checksum)",
            path=remote.json_path,
        )


def _private_blob(
    remote: RemoteFile, target: Path, settings: FetchSettings, credential: Credential | None, refused: _Refused
) -> str:
    """A blob refused to anonymous readers, read as the run's identity; anything else refused stays refused."""
    from aibpack.azure.blobs import open_blob, storage_account

    if credential is None or storage_account(remote.uri) is None:
        raise BuildFailed(f"cannot fetch {remote.uri}: it {refused}", path=remote.json_path)
    try:
        chunks, size = open_blob(remote.uri, credential, settings.timeout)
        if size > settings.max_bytes:
            raise _Permanent(f"is {size} bytes, more than the limit of {settings.max_bytes}")
        return _write(chunks, target, size, settings)
    except (_Permanent, OSError) as exc:
        target.unlink(missing_ok=True)
        raise BuildFailed(f"cannot fetch {remote.uri}: it {exc}", path=remote.json_path) from None
    except BuildFailed as exc:
        target.unlink(missing_ok=True)
        raise BuildFailed(exc.message, path=remote.json_path) from None


def stage_remote_files(
    remote_files: Iterable[RemoteFile],
    work_dir: Path,
    settings: FetchSettings | None = None,
    *,
    template_file: str | Path | None = None,
    credential: Credential | None = None,
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
                    _verify(remote, file_sha256(staged[remote.uri]))
                continue
            files.mkdir(parents=True, exist_ok=True)
            target = files / _local_name(remote.uri, len(staged) + 1)
            fetch_file(remote, target, settings, credential=credential)
            staged[remote.uri] = target
        except BuildFailed as exc:
            raise exc.located(template_file) if template_file else exc from None
    return staged


def fetch_stage(options: RunOptions, compiled: Compiled, credential: Credential) -> dict[str, Path]:
    """Every remote scriptUri/sourceUri downloaded once, verified, staged in ``<work-dir>/files/``."""
    return stage_remote_files(
        compiled.plan.remote_files,
        options.work_dir,
        options.fetch,
        template_file=options.template,
        credential=credential,
    )
