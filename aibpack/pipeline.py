"""compile = load → model → plan → render, for one template file. No network, no Azure SDK."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from aibpack.errors import AibpackError, Diagnostics, format_path
from aibpack.inputs import BuildInputs, offline_inputs
from aibpack.load import LoadOptions, load_template
from aibpack.model import ImageTemplate, parse_template
from aibpack.plan import RESERVED_VARIABLES, BuildPlan, PlanOptions, build_plan
from aibpack.plan.build import Attribute, Expr, RawBlock, Variable
from aibpack.plan.capture import Capture, SecurityType, compile_capture
from aibpack.plan.source import BuildTarget
from aibpack.render import render
from aibpack.render.hcl import safe_identifier


@dataclass(frozen=True)
class CompileOptions:
    load: LoadOptions = field(default_factory=LoadOptions)
    strict: bool = False
    provisioners: Sequence[Path] = ()
    build: str | None = None
    staged: Mapping[str, Path] = field(default_factory=dict)
    target: BuildTarget = field(default_factory=BuildTarget)
    security_type: SecurityType | None = None  # compile --security-type
    capture: Capture | None = None  # what run decided from Azure; wins over security_type
    source_version: str | None = None  # what ``run`` resolved the source's ``latest`` to


@dataclass(frozen=True)
class Compiled:
    name: str
    file: Path
    template: ImageTemplate
    plan: BuildPlan
    hcl: str
    warnings: tuple[str, ...] = ()  # the compile's warnings, as Diagnostics formats them


def compile_file(path: Path, output_dir: Path, options: CompileOptions, diagnostics: Diagnostics) -> Compiled:
    """Compile one image template; every error is an ``AibpackError`` naming ``path`` and a JSON path."""
    try:
        return _compile(path, output_dir, options, diagnostics)
    except RecursionError:  # an ARM expression or a --param value nested hundreds of levels: the walk ran out of stack
        raise AibpackError(
            "invalid template: a value or an ARM expression nests more deeply than aibpack can follow", file=path
        ) from None


def _compile(path: Path, output_dir: Path, options: CompileOptions, diagnostics: Diagnostics) -> Compiled:
    loaded = load_template(path, options.load, diagnostics)
    try:
        template = parse_template(loaded.resource, diagnostics)
    except AibpackError as exc:
        raise exc.located(path, loaded.resource_path) from None
    name = safe_identifier(loaded.name or template.name or path.stem)
    preserved = _preserved(options, output_dir, name, diagnostics)
    plan_options = PlanOptions(
        name=name,
        input_file=path,
        output_dir=output_dir,
        staged=options.staged,
        preserved=preserved.blocks,
        extra_variables=preserved.variables,
        extra_locals=preserved.locals,
        secret_values=loaded.secure_values,
        target=options.target,
        source_version=options.source_version,
    )
    try:
        capture = options.capture or compile_capture(template, options.security_type)
        plan = build_plan(template, replace(plan_options, capture=capture), diagnostics)
    except AibpackError as exc:
        raise exc.located(path, loaded.resource_path) from None
    return Compiled(
        name=name, file=path, template=template, plan=plan, hcl=render(plan), warnings=tuple(diagnostics.warnings)
    )


def compile_with_inputs(path: Path, options: CompileOptions, diagnostics: Diagnostics) -> tuple[Compiled, BuildInputs]:
    """Compile ``path`` as ``compile`` writes it beside the template, and the inputs of that build (offline).

    The build's folder is the template's, so ``${path.root}/…`` names files relative to the template: the same on
    every machine and in every work dir. Staged copies and a resolved ``latest`` are left out: they are run's.
    """
    build_dir = path.parent
    compiled = compile_file(path, build_dir, replace(options, staged={}, source_version=None), diagnostics)
    return compiled, inputs_of(compiled, build_dir)


def inputs_of(compiled: Compiled, build_dir: Path) -> BuildInputs:
    """The build inputs of ``compiled`` (compiled into ``build_dir``), as far as they are known offline."""
    remote = {item.uri: item.sha256 for item in compiled.plan.remote_files}
    return offline_inputs(compiled.hcl, build_dir, compiled.template, remote)


@dataclass(frozen=True)
class _Preserved:
    blocks: tuple[RawBlock, ...] = ()
    variables: tuple[Variable, ...] = ()
    locals: tuple[Attribute, ...] = ()


def _preserved(options: CompileOptions, output_dir: Path, name: str, diagnostics: Diagnostics) -> _Preserved:
    """Existing Packer provisioners (``--provisioners``), kept exactly."""
    if not options.provisioners:
        return _Preserved()
    from aibpack.legacy.preserve import load_provisioners

    blocks: list[RawBlock] = []
    variables: list[Variable] = []
    locals_: list[Attribute] = []
    for file in options.provisioners:
        kept = load_provisioners(
            file,
            build=options.build,
            output_dir=output_dir,
            reserved_names=RESERVED_VARIABLES | {v.name for v in variables} | {local.name for local in locals_},
            compiled_source=f"source.azure-arm.{name}",
            diagnostics=diagnostics,
        )
        blocks += [RawBlock(text) for text in kept.blocks]
        variables += [
            Variable(v.name, v.type or "", Expr(v.default), v.description or f"From {file.name}.", v.sensitive)
            for v in kept.variables
        ]
        locals_ += [Attribute(local.name, Expr(local.expression)) for local in kept.locals]
    return _Preserved(tuple(blocks), tuple(variables), tuple(locals_))


def portability_warnings(compiled: Compiled) -> list[str]:
    """``warning:`` lines for what the template asks of Packer that Packer 1.6.6 lacks (a WindowsUpdate step).

    Printed once per template; the template is valid, so ``--strict`` does not make them errors.
    """
    return [
        f"warning: {compiled.file}: {format_path(need.path)}: {need}; Packer 1.6.6 cannot build this file "
        "(packer-plugins.pkr.hcl declares the plugin for packer init)"
        for need in compiled.plan.modern_only
        if need.path
    ]
