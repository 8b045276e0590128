"""``aibpack validate TEMPLATE [--packer]``: every check of compile, and optionally Packer's own."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from aibpack.commands.options import compile_options, template_options
from aibpack.errors import EXIT_FAILED, AibpackError, Diagnostics
from aibpack.pipeline import compile_file


def packer_validate(hcl: str, name: str, output_dir: Path, packer: str) -> tuple[int, str]:
    """Run ``packer validate`` on ``hcl`` as if it were ``output_dir/<name>.pkr.hcl`` (paths resolve there)."""
    with tempfile.TemporaryDirectory(prefix="aibpack-validate-") as temp:
        file = Path(temp) / f"{name}.pkr.hcl"
        text = hcl.replace("${path.root}/", f"${{path.root}}/{os.path.relpath(output_dir, temp)}/")
        file.write_text(text, encoding="utf-8")
        env = {**os.environ, "CHECKPOINT_DISABLE": "1"}
        try:
            result = subprocess.run(
                [packer, "validate", file.name],
                cwd=temp,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as exc:
            raise AibpackError(f"cannot run packer ({packer}): {exc.strerror}", exit_code=EXIT_FAILED) from None
    return result.returncode, (result.stdout + result.stderr).strip()


@click.command("validate")
@click.argument("template", type=click.Path(path_type=Path))
@click.option("--packer", "run_packer", is_flag=True, help="Also run `packer validate` on the output.")
@click.option(
    "--packer-path",
    metavar="PATH",
    envvar="AIBPACK_PACKER",
    default="packer",
    show_default=True,
    help="The packer binary (or AIBPACK_PACKER).",
)
@template_options
def validate_command(template: Path, run_packer: bool, packer_path: str, **options: object) -> None:
    """Check an image template as compile would, without writing anything."""
    compile_opts = compile_options(**options, assume_context=True)  # type: ignore[arg-type]
    diagnostics = Diagnostics(strict=compile_opts.strict, file=str(template))
    try:
        compiled = compile_file(template, Path.cwd(), compile_opts, diagnostics)
    finally:
        diagnostics.emit()
    if run_packer:
        code, output = packer_validate(compiled.hcl, compiled.name, Path.cwd(), packer_path)
        if code != 0:
            click.echo(output, err=True)
            raise AibpackError(f"packer validate failed (exit {code})", file=template, exit_code=EXIT_FAILED)
    click.echo(f"{template}: ok ({compiled.plan.os_type}, {len(compiled.plan.provisioners)} provisioners)")
    sys.exit(0)
