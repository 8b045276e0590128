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
from aibpack.inputs import BuildInputs
from aibpack.output import write_atomic
from aibpack.pipeline import Compiled, compile_file, compile_with_inputs
from aibpack.plan.capture import Capture
from aibpack.plan.plugins import PLUGINS_FILE
from aibpack.plan.source import BuildTarget
from aibpack.render import render_plugins
from aibpack.run.report import RunOptions


def canonical_stage(options: RunOptions) -> tuple[Compiled, BuildInputs]:
    """The template compiled beside itself, as ``compile`` writes it, and the build inputs known offline.

    It stays quiet about guessing the OS: preflight asks Azure before the build."""
    diagnostics = Diagnostics(strict=options.compile.strict, file=str(options.template))
    given = options.compile.target
    quiet = replace(options.compile, target=BuildTarget(os=given.os, generation=given.generation, os_asked=True))
    try:
        compiled, inputs = compile_with_inputs(options.template, quiet, diagnostics)
    except AibpackError as exc:
        raise exc.located(options.template) from None
    diagnostics.emit()
    return compiled, inputs


def compile_stage(
    options: RunOptions,
    staged: Mapping[str, Path],
    target: BuildTarget,
    capture: Capture,
    source_version: str | None,
    shown: Compiled,
) -> Compiled:
    """The build as the run runs it, written with its plugins file into the work dir: the staged copies, what
    preflight learned (``target``, ``capture``) and the version the source's ``latest`` resolved to.

    Warnings are shown once: only those the first compile (``shown``) did not show."""
    diagnostics = Diagnostics(strict=options.compile.strict, file=str(options.template))
    compile_options = replace(
        options.compile, staged=dict(staged), target=target, capture=capture, source_version=source_version
    )
    try:
        compiled = compile_file(options.template, options.work_dir, compile_options, diagnostics)
    except AibpackError as exc:
        raise exc.located(options.template) from None
    diagnostics.warnings = [w for w in compiled.warnings if w not in shown.warnings]
    diagnostics.emit()
    write_atomic(options.work_dir / f"{compiled.name}.pkr.hcl", compiled.hcl)
    write_atomic(options.work_dir / PLUGINS_FILE, render_plugins(compiled.plan.plugins))
    return compiled
