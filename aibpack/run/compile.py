"""Compile stage: the template compiled into the work dir, with the plugins file ``packer init`` reads.

It runs twice: first as ``aibpack compile`` would (to know what to fetch and check), then with the verified
copies of remote files and what the check stage learned from Azure: the source image's OS and generation, and the
capture chosen from the gallery definitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from aibpack.errors import AibpackError, Diagnostics
from aibpack.output import write_atomic
from aibpack.pipeline import Compiled, compile_file
from aibpack.plan.capture import Capture
from aibpack.plan.plugins import PLUGINS_FILE
from aibpack.plan.source import BuildTarget
from aibpack.render import render_plugins
from aibpack.run.report import RunOptions


def compile_stage(
    options: RunOptions,
    staged: Mapping[str, Path] | None = None,
    target: BuildTarget | None = None,
    capture: Capture | None = None,
    shown: Compiled | None = None,
) -> Compiled:
    """Compile the template; the final compile, with what preflight learned (``target``, ``capture``) and the
    staged copies, is written into the work dir with its plugins file.

    The first compile stays quiet about guessing the OS: preflight asks Azure before the build. Warnings are shown
    once: the final compile shows only those the first (``shown``) did not.
    """
    diagnostics = Diagnostics(strict=options.compile.strict, file=str(options.template))
    given = options.compile.target
    compile_options = replace(
        options.compile,
        staged=dict(staged or {}),
        target=target or BuildTarget(os=given.os, generation=given.generation, os_asked=True),
        capture=capture,
    )
    try:
        compiled = compile_file(options.template, options.work_dir, compile_options, diagnostics)
    except AibpackError as exc:
        raise exc.located(options.template) from None
    diagnostics.warnings = [w for w in compiled.warnings if shown is None or w not in shown.warnings]
    diagnostics.emit()
    if target is not None:
        write_atomic(options.work_dir / f"{compiled.name}.pkr.hcl", compiled.hcl)
        write_atomic(options.work_dir / PLUGINS_FILE, render_plugins(compiled.plan.plugins))
    return compiled
