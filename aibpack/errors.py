"""One error type for everything the user must fix, and the exit codes of design.md.

Every error carries the file and the JSON path it is about, so the CLI can print one line:
``error: FILE: properties.customize[2].scriptUri: what is wrong``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

JsonPath = Sequence[str | int]


def format_path(path: Iterable[str | int]) -> str:
    """Render a JSON path the way users read it: ``properties.customize[2].scriptUri``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out


class AibpackError(Exception):
    """A problem the user can fix. ``exit_code`` 2 is bad input, 1 is a failed build or Azure call."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        path: JsonPath = (),
        exit_code: int = EXIT_USAGE,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.path = tuple(path)
        self.exit_code = exit_code

    def located(self, file: str | Path | None = None, prefix: JsonPath = ()) -> AibpackError:
        """The same error, with the file filled in and ``prefix`` put before its path."""
        return AibpackError(
            self.message,
            file=self.file or (str(file) if file is not None else None),
            path=(*prefix, *self.path),
            exit_code=self.exit_code,
        )

    def __str__(self) -> str:
        parts = [p for p in (self.file, format_path(self.path)) if p]
        return ": ".join([*parts, self.message])


class BuildFailed(AibpackError):
    """The build, Azure, or cleanup failed (exit 1)."""

    def __init__(self, message: str, **kwargs: object) -> None:
        kwargs.setdefault("exit_code", EXIT_FAILED)
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


@dataclass
class Diagnostics:
    """Warnings collected while loading and compiling; ``strict`` turns the first one into an error."""

    strict: bool = False
    file: str | None = None
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str, path: JsonPath = ()) -> None:
        if self.strict:
            raise AibpackError(message + " (--strict)", file=self.file, path=path)
        parts = [p for p in (self.file, format_path(path)) if p]
        self.warnings.append(": ".join([*parts, message]))

    def emit(self, stream=None) -> None:
        """Print every warning as a ``warning:`` line on stderr."""
        stream = stream or sys.stderr
        for text in self.warnings:
            print(f"warning: {text}", file=stream)
