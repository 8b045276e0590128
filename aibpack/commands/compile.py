"""``aibpack compile TEMPLATE... [-o PATH]``: image templates → Packer HCL2 files."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from aibpack.commands.options import (
    compile_options,
    os_option,
    provisioner_options,
    security_type_option,
    template_options,
)
from aibpack.errors import EXIT_OK, EXIT_USAGE, AibpackError, Diagnostics
from aibpack.output import write_atomic
from aibpack.pipeline import Compiled, CompileOptions, compile_file, inputs_of, portability_warnings
from aibpack.plan.plugins import PLUGINS_FILE, Plugin
from aibpack.render import render_plugins

STDOUT = "-"
UseCompiled = Callable[[Path, Compiled], None]


@dataclass(frozen=True)
class Destination:
    """Where compiled files go: stdout, one named file, or a directory of ``<name>.pkr.hcl``."""

    stdout: bool = False
    file: Path | None = None
    directory: Path | None = None
    with_plugins: bool = False  # -o DIR: also write DIR/packer-plugins.pkr.hcl

    @property
    def output_dir(self) -> Path:
        if self.file is not None:
            return self.file.parent
        return self.directory or Path.cwd()

    def path_for(self, name: str) -> Path:
        return self.file or (self.output_dir / f"{name}.pkr.hcl")


def destination(output: str | None, count: int) -> Destination:
    """Interpret ``-o`` as design.md says; several templates need a directory."""
    if output == STDOUT:
        if count > 1:
            raise click.UsageError("-o - takes one template; use -o DIR for several")
        return Destination(stdout=True)
    if output is None:
        if count > 1:
            raise click.UsageError("several templates need -o DIR")
        return Destination(directory=Path.cwd())
    path = Path(output)
    if path.name.endswith(".pkr.hcl") and not path.is_dir():
        if count > 1:
            raise click.UsageError(f"-o {output} names one file; use -o DIR for several templates")
        return Destination(file=path)
    if path.suffix and not path.is_dir() and not output.endswith(("/", os.sep)):
        # Packer reads a file as HCL2 only when it is named *.pkr.hcl (or *.pkr.json); any other file it parses
        # as a legacy JSON template (packer command/meta.go, GetConfigFromJSON), so image.hcl would not build.
        raise click.UsageError(
            f"-o {output}: Packer reads HCL only from a file named *.pkr.hcl; use -o {_pkr_hcl(path)} "
            f"(or -o {output}/ for a directory of that name)"
        )
    return Destination(directory=path, with_plugins=True)


def _pkr_hcl(path: Path) -> Path:
    """``image.hcl`` -> ``image.pkr.hcl``: the name the user probably meant."""
    stem = path.name.removesuffix(path.suffix) if path.suffix in (".hcl", ".json") else path.name
    return path.with_name(f"{stem.removesuffix('.pkr')}.pkr.hcl")


def compile_each(templates: list[Path], output_dir: Path, options: CompileOptions, use: UseCompiled) -> int:
    """Compile each template on its own and hand it to ``use``, warnings first.

    A bad template prints its ``error:`` line and sets the exit code; the others still go on.
    """
    exit_code = EXIT_OK
    for template in templates:
        diagnostics = Diagnostics(strict=options.strict, file=str(template))
        try:
            compiled = compile_file(template, output_dir, options, diagnostics)
            diagnostics.emit()
            use(template, compiled)
        except AibpackError as exc:
            diagnostics.emit()
            click.echo(f"error: {exc.located(template)}", err=True)
            exit_code = max(exit_code, exc.exit_code)
    return exit_code


def compile_many(templates: list[Path], dest: Destination, options: CompileOptions) -> int:
    """Compile each template to its file (or stdout); a bad one sets exit code 2 but the others are still written.

    With ``-o DIR``, ``DIR/packer-plugins.pkr.hcl`` then declares every plugin the written files need.
    """
    written: dict[Path, Path] = {}
    plugins: dict[str, Plugin] = {}

    def write(template: Path, compiled: Compiled) -> None:
        for line in portability_warnings(compiled):  # once per template: what Packer 1.6.6 cannot build
            click.echo(line, err=True)
        if dest.stdout:
            sys.stdout.write(compiled.hcl)
            return
        target = dest.path_for(compiled.name)
        if target in written:
            raise AibpackError(
                f"compiles to {target}, as {written[target]} does; give one of them a --name or compile it separately",
                file=template,
            )
        try:
            write_atomic(target, compiled.hcl)
        except OSError as exc:
            raise AibpackError(f"cannot write {target}: {exc.strerror or exc}", file=template) from None
        written[target] = template
        plugins.update((plugin.name, plugin) for plugin in compiled.plan.plugins)
        click.echo(f"{template} -> {target}", err=True)

    code = compile_each(templates, dest.output_dir, options, write)
    if dest.with_plugins and written:
        code = max(code, _write_plugins(dest.output_dir, list(plugins.values()), len(written)))
    return code


def _write_plugins(directory: Path, plugins: list[Plugin], templates: int) -> int:
    """``DIR/packer-plugins.pkr.hcl``, so that ``packer init DIR && packer build DIR`` works on modern Packer."""
    target = directory / PLUGINS_FILE
    try:
        write_atomic(target, render_plugins(plugins))
    except OSError as exc:
        click.echo(f"error: cannot write {target}: {exc.strerror or exc}", err=True)
        return EXIT_USAGE
    click.echo(f"plugins for packer init -> {target}", err=True)
    if templates > 1:
        click.echo(
            f"warning: {directory}: holds {templates} templates, and `packer build {directory}` builds every "
            f"*.pkr.hcl in it together: after `packer init {directory}`, build one at a time "
            f"(packer build {directory}/NAME.pkr.hcl), or compile each into its own folder",
            err=True,
        )
    return EXIT_OK


def print_digests(templates: list[Path], options: CompileOptions) -> int:
    """``DIGEST  TEMPLATE`` per template: the ``aibpackInputs`` tag ``run`` gives its artifacts.

    Each is compiled into its own folder, as ``run`` computes the digest. What only a run can know (a ``latest``
    source, a remote file without checksum) is left open: the line then reads ``partial:DIGEST`` and a note says what
    is missing, since the tag will differ.
    """

    def show(template: Path, compiled: Compiled) -> None:
        inputs = inputs_of(compiled, template.parent)
        if inputs.complete:
            click.echo(f"{inputs.digest}  {template}")
            return
        click.echo(f"partial:{inputs.digest}  {template}")
        unknown = "; ".join(inputs.unknown)
        click.echo(f"note: {template}: partial digest, without {unknown}: aibpack run's tag will differ", err=True)

    return max((compile_each([template], template.parent, options, show) for template in templates), default=EXIT_OK)


@click.command("compile")
@click.argument("templates", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", metavar="PATH", help="DIR, FILE.pkr.hcl, or - for stdout (default: ./<name>.pkr.hcl).")
@click.option(
    "--print-inputs-digest",
    is_flag=True,
    help="Print each template's build inputs digest (the aibpackInputs tag run writes) instead of writing HCL.",
)
@template_options
@provisioner_options
@os_option
@security_type_option
def compile_command(
    templates: tuple[Path, ...], output: str | None, print_inputs_digest: bool, **options: object
) -> None:
    """Compile image templates to Packer HCL2 (never touches the network)."""
    if print_inputs_digest:
        # A digest over a stand-in deployment context would hide it: ask for the context, as run does.
        code = print_digests(list(templates), compile_options(**options))  # type: ignore[arg-type]
    else:
        dest = destination(output, len(templates))
        code = compile_many(list(templates), dest, compile_options(**options, assume_context=True))  # type: ignore[arg-type]
    if code:
        sys.exit(code if code != EXIT_OK else EXIT_USAGE)
