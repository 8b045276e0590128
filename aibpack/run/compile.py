"""Compile stage: the template compiled into the work dir, with the plugins file ``packer init`` reads."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from aibpack.errors import AibpackError, BuildFailed, Diagnostics
from aibpack.output import write_atomic
from aibpack.pipeline import Compiled, compile_file
from aibpack.plan.source import BuildTarget
from aibpack.run.report import RunOptions

PLUGINS_FILE = "packer-plugins.pkr.hcl"


def plugins_file() -> Path:
    """``packer-plugins.pkr.hcl``: inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent.parent  # the aibpack package
    for candidate in (here / PLUGINS_FILE, here.parent / PLUGINS_FILE):
        if candidate.is_file():
            return candidate
    raise BuildFailed(f"{PLUGINS_FILE} is missing from this aibpack installation")


def compile_stage(
    options: RunOptions, staged: Mapping[str, Path] | None = None, target: BuildTarget | None = None
) -> Compiled:
    """Compile the template and, with the staged copies and what preflight learned (``target``), write it into the
    work dir. The first compile stays quiet about guessing the OS: preflight asks Azure before the build."""
    diagnostics = Diagnostics(strict=options.compile.strict, file=str(options.template))
    given = options.compile.target
    compile_options = replace(
        options.compile,
        staged=dict(staged or {}),
        target=target or BuildTarget(os=given.os, generation=given.generation, os_asked=True),
    )
    try:
        compiled = compile_file(options.template, options.work_dir, compile_options, diagnostics)
    except AibpackError as exc:
        raise exc.located(options.template) from None
    if target is None:
        diagnostics.emit()  # once is enough
        return compiled
    write_atomic(options.work_dir / f"{compiled.name}.pkr.hcl", compiled.hcl)
    shutil.copyfile(plugins_file(), options.work_dir / PLUGINS_FILE)
    return compiled
