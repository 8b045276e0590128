"""Running ``aibpack`` as a user does: in-process (fast) or as a real subprocess."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from aibpack.cli import cli, main


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def run(args: Sequence[str], cwd: Path | None = None) -> Result:
    """``aibpack ARGS`` in this process, with its own stdout/stderr and working directory."""
    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(old)
    return Result(code, out.getvalue(), err.getvalue())


def run_process(args: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
    """``python -m aibpack ARGS`` as a separate process."""
    proc = subprocess.run(
        [sys.executable, "-m", "aibpack", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def parse(args: Sequence[str]) -> click.Context:
    """Parse ``aibpack ARGS`` with the real CLI, without running it: an unknown option or command raises."""
    command: click.Command = cli
    path = ["aibpack"]
    rest = list(args)
    while isinstance(command, click.Group):
        name, *rest = rest
        with click.Context(command, info_name=" ".join(path)) as ctx:
            sub = command.get_command(ctx, name)
        assert sub is not None, f"aibpack has no command {' '.join([*path[1:], name])!r}"
        command, path = sub, [*path, name]
    return command.make_context(" ".join(path), rest)
