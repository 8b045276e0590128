"""Compile stage: the template compiled into the work dir, with the plugins file ``packer init`` reads."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from aibpack.errors import AibpackError, BuildFailed, Diagnostics
from aibpack.output import write_atomic
from aibpack.pipeline import Compiled, CompileOptions, compile_file
from aibpack.run.report import RunOptions

PLUGINS_FILE = "packer-plugins.pkr.hcl"


def plugins_file() -> Path:
    """``packer-plugins.pkr.hcl``: inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent.parent  # the aibpack package
    for candidate in (here / PLUGINS_FILE, here.parent / PLUGINS_FILE):
        if candidate.is_file():
            return candidate
    raise BuildFailed(f"{PLUGINS_FILE} is missing from this aibpack installation")


def compile_stage(options: RunOptions, staged: Mapping[str, Path] | None = None) -> Compiled:
    """Compile the template (with the staged copies, when given) and write it into the work dir."""
    diagnostics = Diagnostics(strict=options.compile.strict, file=str(options.template))
    compile_options = options.compile
    if staged is not None:
        compile_options = CompileOptions(
            load=compile_options.load,
            strict=compile_options.strict,
            provisioners=compile_options.provisioners,
            build=compile_options.build,
            staged=dict(staged),
        )
    try:
        compiled = compile_file(options.template, options.work_dir, compile_options, diagnostics)
    except AibpackError as exc:
        raise exc.located(options.template) from None
    if staged is None:
        diagnostics.emit()  # once is enough
        return compiled
    write_atomic(options.work_dir / f"{compiled.name}.pkr.hcl", compiled.hcl)
    shutil.copyfile(plugins_file(), options.work_dir / PLUGINS_FILE)
    return compiled
