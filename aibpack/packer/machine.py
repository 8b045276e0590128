"""Reading Packer's ``-machine-readable`` stream.

Each line is ``<unix_ts>,<target>,<type>,<data...>``. Data fields are joined with commas; Packer encodes a
comma inside a field as ``%!(PACKER_COMMA)``, a newline as the two characters ``\\n`` and a carriage return
as ``\\r``. Backslashes themselves are not escaped, so a field that really contained ``\\n`` comes back as a
newline: that ambiguity is Packer's and cannot be undone here.

Anything else on the stream (plugin noise, a Go panic, stderr of an old plugin) is kept as raw text and never
raises: a build must not fail because its log had an unexpected line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

AZURE_ARM_BUILDER_ID = "Azure.ResourceManagement.VMImage"

_LINE_RE = re.compile(r"(\d+),([^,]*),([a-z][a-z0-9_-]*)(?:,(.*))?\Z", re.DOTALL)
_STEP_PREFIX = "==> "
_AZURE_KEY_RE = re.compile(r"([A-Za-z][A-Za-z0-9_ ()-]*?):(.*)\Z")


def decode_field(value: str) -> str:
    """Undo Packer's field encoding (``%!(PACKER_COMMA)``, literal ``\\n`` and ``\\r``)."""
    return value.replace("%!(PACKER_COMMA)", ",").replace("\\n", "\n").replace("\\r", "\r")


@dataclass(frozen=True)
class MachineEvent:
    """One machine-readable record, with its data fields already decoded."""

    timestamp: int
    target: str
    type: str
    data: tuple[str, ...]


def parse_line(line: str) -> MachineEvent | None:
    """The event on ``line``, or None when the line is not machine-readable output."""
    match = _LINE_RE.match(line.rstrip("\r\n"))
    if match is None:
        return None
    stamp, target, kind, rest = match.groups()
    data = tuple(decode_field(part) for part in rest.split(",")) if rest is not None else ()
    return MachineEvent(int(stamp), target, kind, data)


@dataclass(frozen=True)
class Artifact:
    """One artifact a build (or post-processor) reported. ``target`` is the build, e.g. ``azure-arm.img``."""

    builder_id: str
    id: str
    string: str
    files: tuple[str, ...] = ()
    target: str = ""


@dataclass(frozen=True)
class BuildError:
    """An ``error`` record: the build that failed and why."""

    target: str
    message: str


@dataclass
class _PartialArtifact:
    builder_id: str = ""
    id: str = ""
    string: str = ""
    files: dict[int, str] = field(default_factory=dict)
    nil: bool = False


@dataclass
class BuildOutput:
    """Accumulates a build's stream: artifacts, errors, the current step, and readable text.

    Feed it every line (:meth:`feed`); it returns the lines a human should see for that input.
    An artifact is recorded when its ``end`` record arrives, so a stream cut short (a killed build)
    never yields a half-described artifact.
    """

    artifacts: list[Artifact] = field(default_factory=list)
    errors: list[BuildError] = field(default_factory=list)
    error_count: int | None = None
    ui_errors: list[str] = field(default_factory=list)
    raw_lines: list[str] = field(default_factory=list)
    current_step: str | None = None
    _partial: dict[tuple[str, int], _PartialArtifact] = field(default_factory=dict, repr=False)

    def feed(self, line: str) -> list[str]:
        """Take one raw line of output; return the readable lines it stands for (maybe none)."""
        line = line.rstrip("\r\n")
        event = parse_line(line)
        if event is None:
            self.raw_lines.append(line)
            return [line]
        return self.add(event)

    def feed_all(self, lines: Iterable[str]) -> list[str]:
        """:meth:`feed` for many lines; the readable lines of all of them."""
        out: list[str] = []
        for line in lines:
            out.extend(self.feed(line))
        return out

    def add(self, event: MachineEvent) -> list[str]:
        """Record one parsed event; return its readable lines."""
        if event.type == "ui":
            return self._ui(event)
        if event.type == "artifact":
            self._artifact(event)
        elif event.type == "error-count" and event.data:
            self.error_count = _int(event.data[0])
        elif event.type == "error":
            self.errors.append(BuildError(event.target, ",".join(event.data)))
        return []

    def failure_messages(self) -> list[str]:
        """Why the build failed: the ``error`` records, else (a template error) the ``ui,error`` text."""
        if self.errors:
            return [f"{e.target}: {e.message}" if e.target else e.message for e in self.errors]
        return [text.strip() for text in self.ui_errors if text.strip()]

    def _ui(self, event: MachineEvent) -> list[str]:
        level = event.data[0] if event.data else ""
        text = ",".join(event.data[1:])
        if level == "error":
            self.ui_errors.append(text)
        if level == "say" and text.startswith(_STEP_PREFIX):
            self.current_step = text[len(_STEP_PREFIX) :].strip()
        return text.split("\n")

    def _artifact(self, event: MachineEvent) -> None:
        if len(event.data) < 2:
            return
        index = _int(event.data[0])
        if index is None:
            return
        key = (event.target, index)
        part = self._partial.setdefault(key, _PartialArtifact())
        kind, values = event.data[1], event.data[2:]
        value = ",".join(values)
        if kind == "builder-id":
            part.builder_id = value
        elif kind == "id":
            part.id = value
        elif kind == "string":
            part.string = value
        elif kind == "file" and len(values) >= 2 and _int(values[0]) is not None:
            part.files[int(values[0])] = ",".join(values[1:])
        elif kind == "nil":
            part.nil = True
        elif kind == "end":
            del self._partial[key]
            if not part.nil:
                files = tuple(part.files[i] for i in sorted(part.files))
                self.artifacts.append(Artifact(part.builder_id, part.id, part.string, files, event.target))


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def parse_azure_artifact(string: str) -> dict[str, str]:
    """The ``Key: value`` lines of an azure-arm artifact's ``string`` as a dict.

    azure-arm prints ``Azure.ResourceManagement.VMImage:``, a blank line, then ``OSType``,
    ``ManagedImageId``, ``ManagedImageLocation``, ``ManagedImageSharedImageGalleryId``, ... one per line.
    The SIG version ID appears only here (the artifact ``id`` is the managed image when there is one).
    Keys keep Packer's spelling, including ``AdditionalDiskUri (datadisk-1)``.
    """
    result: dict[str, str] = {}
    for line in string.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if not line or line == f"{AZURE_ARM_BUILDER_ID}:":
            continue
        match = _AZURE_KEY_RE.match(line)
        if match:
            result[match.group(1)] = match.group(2).strip()
    return result
