"""The build inputs digest: what an image was built from, as one sha256 that tags every artifact aibpack publishes.

The digest covers the compiled build (the HCL that ``compile`` writes next to the template, without its header
comment), the bytes of every file that build names under ``${path.root}`` (local scripts and files, also those of
``--provisioners`` blocks), the bytes of every remote ``scriptUri``/``sourceUri``, and the source image. Run-specific
values (staging group, run id, subscription, credentials) are Packer variables set per run, so they are not in it,
and neither are secureString values (the HCL names only the variables that carry them).

Some inputs are known only at run time: a marketplace or gallery ``latest`` (``run`` asks Azure) and a remote file
without ``sha256Checksum`` (``run`` downloads it). Offline, they are left open and the digest is *partial*. No
network and no Azure SDK here: ``aibpack compile --print-inputs-digest`` uses this module.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from aibpack.model.source import ManagedImageSource, PlatformImageSource, SharedImageVersionSource, Source
from aibpack.model.template import ImageTemplate

TAG = "aibpackInputs"
FORMAT = 1  # bump when what the digest covers changes, so old tags no longer match
MISSING = "missing"
_LATEST = "latest"
# A quoted HCL string that starts with ${path.root}/ : how the compiled build names every local file.
_PATH_ROOT_LITERAL = re.compile(r'"\$\{path\.root\}/((?:[^"\\]|\\.)*)"')
_INTERPOLATION = re.compile(r"(?<![$%])[$%]\{")


@dataclass(frozen=True)
class BuildInputs:
    """Everything the digest covers; ``None`` marks what is known only at run time."""

    build: str
    files: Mapping[str, str] = field(default_factory=dict)
    remote: Mapping[str, str | None] = field(default_factory=dict)
    source: str | None = None

    @property
    def unknown(self) -> list[str]:
        """What is left open, in words, for the note that says why a digest is partial."""
        parts = []
        if self.source is None:
            parts.append("the source image's 'latest' version (run resolves it through Azure)")
        unchecked = sorted(uri for uri, digest in self.remote.items() if digest is None)
        if unchecked:
            parts.append(f"remote files without sha256Checksum ({', '.join(unchecked)}; run downloads them)")
        return parts

    @property
    def complete(self) -> bool:
        return not self.unknown

    @property
    def digest(self) -> str:
        """sha256 (hex) of the canonical JSON of the inputs."""
        document = {
            TAG: FORMAT,
            "build": self.build,
            "files": dict(sorted(self.files.items())),
            "remote": dict(sorted(self.remote.items())),
            "source": self.source,
        }
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode("ascii")).hexdigest()

    def resolved(self, *, source: str | None = None, downloaded: Mapping[str, Path] | None = None) -> BuildInputs:
        """The inputs with what ``run`` learnt: the resolved source, the bytes of the files it downloaded."""
        remote = dict(self.remote)
        for uri, path in (downloaded or {}).items():
            if uri in remote:
                remote[uri] = file_sha256(path)
        return replace(self, source=source if source is not None else self.source, remote=remote)


def offline_inputs(hcl: str, build_dir: Path, template: ImageTemplate, remote: Mapping[str, str]) -> BuildInputs:
    """The inputs of a build compiled into ``build_dir`` (what ``${path.root}`` means), as far as known offline.

    ``remote`` maps each remote URI to its ``sha256Checksum`` ("" when it has none): a file that passed the check
    has exactly those bytes, so the checksum stands for them.
    """
    return BuildInputs(
        build=hashlib.sha256(_without_header(hcl).encode("utf-8")).hexdigest(),
        files={name: _path_sha256(build_dir / name) for name in named_files(hcl)},
        remote={uri: (checksum.lower() or None) for uri, checksum in remote.items()},
        source=offline_source(template.properties.source),
    )


def _without_header(hcl: str) -> str:
    """The HCL without its leading comment (which names the aibpack version and the input file)."""
    lines = hcl.splitlines(keepends=True)
    start = 0
    while start < len(lines) and (lines[start].startswith("#") or not lines[start].strip()):
        start += 1
    return "".join(lines[start:])


def named_files(hcl: str) -> list[str]:
    """The paths, relative to the build's folder, of every ``"${path.root}/…"`` string literal in ``hcl``."""
    names = set()
    for match in _PATH_ROOT_LITERAL.finditer(hcl):
        raw = match.group(1)
        if _INTERPOLATION.search(raw):
            continue  # a computed path (a variable in it): not a file we can name
        names.add(_hcl_string_value(raw))
    return sorted(names)


def _hcl_string_value(raw: str) -> str:
    """The value of an HCL string literal's body as aibpack's ``quote`` writes it: HCL's escapes (the one reader,
    ``hcl_scan.string_value``), then Go's ``{{"{{"}}``."""
    from aibpack.legacy.hcl_scan import string_value

    return string_value(f'"{raw}"').replace('{{"{{"}}', "{{")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _path_sha256(path: Path) -> str:
    """A file's sha256; a folder's over its files' relative names and sha256s; ``missing`` when neither."""
    if path.is_file():
        return file_sha256(path)
    if path.is_dir():
        listing = "".join(
            f"{child.relative_to(path).as_posix()}\0{file_sha256(child)}\n"
            for child in sorted(path.rglob("*"))
            if child.is_file()
        )
        return hashlib.sha256(listing.encode("utf-8")).hexdigest()
    return MISSING


def offline_source(source: Source) -> str | None:
    """The source image as the digest names it, or None when only Azure can say (a ``latest`` version)."""
    if isinstance(source, PlatformImageSource):
        if (source.version or _LATEST).lower() == _LATEST:
            return None
        return platform_reference(source, source.version)
    if isinstance(source, SharedImageVersionSource):
        if source.image_version_id.rstrip("/").rsplit("/", 1)[-1].lower() == _LATEST:
            return None
        return source.image_version_id
    if isinstance(source, ManagedImageSource):
        return source.image_id
    return None


def platform_reference(source: PlatformImageSource, version: str) -> str:
    """``publisher:offer:sku:version``, the URN Azure tools write."""
    return f"{source.publisher}:{source.offer}:{source.sku}:{version}"
