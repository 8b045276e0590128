"""``aibpack validate TEMPLATE... [--packer [PATH]]``: every check of compile, and optionally Packer's own."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from aibpack.commands.compile import compile_each
from aibpack.commands.options import (
    DEFAULT_PACKER,
    compile_options,
    os_option,
    packer_option,
    provisioner_options,
    security_type_option,
    template_options,
)
from aibpack.errors import EXIT_FAILED, AibpackError
from aibpack.pipeline import Compiled


def packer_validate(compiled: Compiled, output_dir: Path, packer: Path) -> tuple[int, str]:
    """Run ``packer validate`` on the compiled file as if it were ``output_dir/<name>.pkr.hcl`` (paths resolve
    there). A Packer that cannot run it (1.6.6 and a WindowsUpdate step, say) is refused with what it needs,
    rather than with Packer's "Unknown provisioner type"; a modern one also gets ``packer-plugins.pkr.hcl``.
    """
    from aibpack.packer.binary import INIT_MIN_VERSION, packer_version, require_packer_for
    from aibpack.plan.plugins import PLUGINS_FILE
    from aibpack.render import render_plugins

    version = packer_version(packer)
    require_packer_for(packer, version, compiled.plan.modern_only)
    with tempfile.TemporaryDirectory(prefix="aibpack-validate-") as temp:
        file = Path(temp) / f"{compiled.name}.pkr.hcl"
        text = compiled.hcl.replace("${path.root}/", f"${{path.root}}/{os.path.relpath(output_dir, temp)}/")
        file.write_text(text, encoding="utf-8")
        if version >= INIT_MIN_VERSION:
            (Path(temp) / PLUGINS_FILE).write_text(render_plugins(compiled.plan.plugins), encoding="utf-8")
        env = {**os.environ, "CHECKPOINT_DISABLE": "1"}
        try:
            result = subprocess.run(
                [str(packer), "validate", "."],
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
@click.argument("templates", nargs=-1, type=click.Path(path_type=Path))
@packer_option("Also run `packer validate` on each output, with this packer (bare: AIBPACK_PACKER, else PATH).")
@click.option("--packer-path", metavar="PATH", hidden=True, help="Older spelling of --packer PATH.")
@template_options
@provisioner_options
@os_option
@security_type_option
def validate_command(
    templates: tuple[Path, ...], packer: str | None, packer_path: str | None, **options: object
) -> None:
    """Check image templates as compile would, without writing anything."""
    if packer is not None and packer.lower().endswith((".json", ".jsonc")):
        # `validate --packer T.json`: bare --packer took the template as its PATH (a packer is never *.json).
        templates, packer = (Path(packer), *templates), DEFAULT_PACKER
    if not templates:
        raise click.UsageError("Missing argument 'TEMPLATES...'.")
    binary = None
    if packer is not None:
        from aibpack.packer.binary import find_packer

        binary = find_packer(packer or packer_path)
    compile_opts = compile_options(**options, assume_context=True)  # type: ignore[arg-type]

    def check(template: Path, compiled: Compiled) -> None:
        if binary is not None:
            code, output = packer_validate(compiled, Path.cwd(), binary)
            if code != 0:
                click.echo(output, err=True)
                raise AibpackError(f"packer validate failed (exit {code})", file=template, exit_code=EXIT_FAILED)
        count = len(compiled.plan.provisioners)
        click.echo(f"{template}: ok ({compiled.plan.os_type}, {count} provisioner{'' if count == 1 else 's'})")

    code = compile_each(list(templates), Path.cwd(), compile_opts, check)
    sys.exit(code)
