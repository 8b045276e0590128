"""``aibpack run TEMPLATE...``: the whole build of one template or a catalogue; see ``aibpack.run`` for the stages."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
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
from aibpack.errors import EXIT_INTERRUPTED, EXIT_OK
from aibpack.output import write_atomic

DEFAULT_PARALLEL = 4  # builds at once when --parallel is not given (fewer when there are fewer templates)


@click.command("run")
@click.argument("templates", nargs=-1, required=True, type=click.Path(path_type=Path))
@template_options
@provisioner_options
@os_option
@azure_options()
@packer_option("The packer binary (else AIBPACK_PACKER, else packer on PATH).")
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the compiled template, staged files and packer.log go (default: a new temporary dir); with several "
    "templates, one folder each inside it.",
)
@click.option("--keep-staging", is_flag=True, help="Keep the staging resource group for debugging.")
@click.option(
    "--on-error",
    type=click.Choice(("cleanup", "abort")),
    help="On a failed build: clean up, or keep the VM and staging group (default: errorHandling).",
)
@click.option(
    "--parallel",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"Build at most N templates at once (default: all of them, up to {DEFAULT_PARALLEL}).",
)
@click.option("--force", is_flag=True, help="Build even templates whose targets are up to date.")
@click.option("--output-json", type=click.Path(dir_okay=False, path_type=Path), help="Write the run outputs here.")
@click.option("--json", "as_json", is_flag=True, help="Print the run outputs on stdout instead of the summary.")
def run_command(
    templates: tuple[Path, ...],
    subscription: str | None,
    auth: str,
    packer: str | None,
    work_dir: Path | None,
    keep_staging: bool,
    on_error: str | None,
    parallel: int | None,
    force: bool,
    output_json: Path | None,
    as_json: bool,
    **options: object,
) -> None:
    """Build the images: one preflight for all templates, then the builds that are due, concurrently."""
    from aibpack.progress import for_terminal
    from aibpack.run import RunOptions, run_all
    from aibpack.run.report import summary, target_errors, totals

    start = time.monotonic()
    temporary = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="aibpack-run-")) if work_dir is None else work_dir.absolute()
    compile_settings = compile_options(**options, subscription_id=subscription)  # type: ignore[arg-type]
    progress = for_terminal()
    runs = [
        RunOptions(
            template=template,
            compile=compile_settings,
            work_dir=folder,
            subscription=subscription,
            auth=auth,
            packer=packer,
            keep_staging=keep_staging,
            on_error=on_error,
            progress=progress,
            force=force,
        )
        for template, folder in zip(templates, _work_dirs(work, templates), strict=True)
    ]
    reports = run_all(runs, on_line=lambda line: click.echo(line, err=True), parallel=parallel or DEFAULT_PARALLEL)
    outputs = reports[0].outputs() if len(reports) == 1 else [report.outputs() for report in reports]
    if output_json is not None:
        write_atomic(output_json, json.dumps(outputs, indent=2) + "\n")
    keep_work = any(report.exit_code != EXIT_OK for report in reports) or not temporary
    if as_json:
        sys.stdout.write(json.dumps(outputs, indent=2) + "\n")
        for report in reports:
            if report.error:
                click.echo(f"error: {report.error}", err=True)
            for line in target_errors(report.run_outputs):
                click.echo(line, err=True)
        if keep_work:
            click.echo(f"work dir: {work}", err=True)
    else:
        for report in reports:
            for line in summary(report, keep_work):
                click.echo(line, err=True)
        if len(reports) > 1:
            click.echo(totals(reports, time.monotonic() - start), err=True)
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(overall_exit_code([report.exit_code for report in reports]))


def _work_dirs(work: Path, templates: tuple[Path, ...]) -> list[Path]:
    """``work`` for one template; for several, a folder each inside it, named after the file."""
    if len(templates) == 1:
        return [work]
    folders: list[Path] = []
    for template in templates:
        folder, number = work / template.stem, 2
        while folder in folders:
            folder, number = work / f"{template.stem}-{number}", number + 1
        folders.append(folder)
    return folders


def overall_exit_code(codes: list[int]) -> int:
    """130 when interrupted, else the worst: 2 (bad input) over 1 (a build or Azure failed) over 0."""
    return EXIT_INTERRUPTED if EXIT_INTERRUPTED in codes else max(codes)
