"""``aibpack run TEMPLATE``: the whole build; see ``aibpack.run`` for the stages."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import click

from aibpack.commands.options import (
    azure_options,
    compile_options,
    os_option,
    packer_option,
    provisioner_options,
    template_options,
)
from aibpack.errors import EXIT_OK
from aibpack.output import write_atomic


@click.command("run")
@click.argument("template", type=click.Path(path_type=Path))
@template_options
@provisioner_options
@os_option
@azure_options()
@packer_option("The packer binary (else AIBPACK_PACKER, else packer on PATH).")
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the compiled template, staged files and packer.log go (default: a new temporary dir).",
)
@click.option("--keep-staging", is_flag=True, help="Keep the staging resource group for debugging.")
@click.option(
    "--on-error",
    type=click.Choice(("cleanup", "abort")),
    help="On a failed build: clean up, or keep the VM and staging group (default: errorHandling).",
)
@click.option("--output-json", type=click.Path(dir_okay=False, path_type=Path), help="Write the run outputs here.")
@click.option("--json", "as_json", is_flag=True, help="Print the run outputs on stdout instead of the summary.")
def run_command(
    template: Path,
    subscription: str | None,
    auth: str,
    packer: str | None,
    work_dir: Path | None,
    keep_staging: bool,
    on_error: str | None,
    output_json: Path | None,
    as_json: bool,
    **options: object,
) -> None:
    """Build the image: compile, preflight, staging group, packer build, cleanup."""
    from aibpack.progress import for_terminal
    from aibpack.run import RunOptions, run
    from aibpack.run.report import summary, target_errors

    temporary = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="aibpack-run-")) if work_dir is None else work_dir.absolute()
    run_options = RunOptions(
        template=template,
        compile=compile_options(**options, subscription_id=subscription),  # type: ignore[arg-type]
        work_dir=work,
        subscription=subscription,
        auth=auth,
        packer=packer,
        keep_staging=keep_staging,
        on_error=on_error,
        progress=for_terminal(),
    )
    report = run(run_options, on_line=lambda line: click.echo(line, err=True))
    outputs = report.outputs()
    if output_json is not None:
        write_atomic(output_json, json.dumps(outputs, indent=2) + "\n")
    keep_work = report.exit_code != EXIT_OK or not temporary
    if as_json:
        sys.stdout.write(json.dumps(outputs, indent=2) + "\n")
        if report.error:
            click.echo(f"error: {report.error}", err=True)
        for line in target_errors(report.run_outputs):
            click.echo(line, err=True)
        if keep_work:
            click.echo(f"work dir: {work}", err=True)
    else:
        for line in summary(report, keep_work):
            click.echo(line, err=True)
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(report.exit_code)
