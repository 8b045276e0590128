"""``aibpack distribute TEMPLATE --artifact MANAGED_IMAGE_ID``: only the post-build distribution."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from aibpack.commands.options import (
    azure_context,
    azure_options,
    compile_options,
    retired_provisioner_options,
    template_options,
)
from aibpack.errors import EXIT_FAILED, AibpackError, Diagnostics
from aibpack.output import write_atomic
from aibpack.pipeline import Compiled, compile_file

if TYPE_CHECKING:
    from aibpack.azure.clients import AzureContext
    from aibpack.azure.results import Built
    from aibpack.model.template import ImageTemplate


def load_template(template: Path, options: dict[str, Any]) -> Compiled:
    """The template compiled in memory; quiet about the source's OS, which these commands read from Azure."""
    compile_opts = compile_options(**options)
    compile_opts = replace(compile_opts, target=replace(compile_opts.target, os_asked=True))
    diagnostics = Diagnostics(strict=compile_opts.strict, file=str(template))
    try:
        return compile_file(template, Path.cwd(), compile_opts, diagnostics)
    finally:
        diagnostics.emit()


def template_ids(template: ImageTemplate) -> list[str]:
    """Resource IDs of the template, to take the subscription from."""
    ids: list[str] = []
    for target in template.properties.distribute:
        ids.append(getattr(target, "image_id", None) or getattr(target, "gallery_image_id", None) or "")
    ids.append(template.properties.staging_resource_group)
    return ids


@click.command("distribute")
@click.argument("template", type=click.Path(path_type=Path))
@click.option("--artifact", required=True, metavar="MANAGED_IMAGE_ID", help="The managed image to distribute.")
@click.option(
    "--os-disk-snapshot",
    metavar="SNAPSHOT_ID",
    help="Snapshot of the build VM's OS disk, for VHD targets and managed images in other regions.",
)
@azure_options()
@click.option("--output-json", type=click.Path(dir_okay=False, path_type=Path), help="Write the run outputs here.")
@click.option("--json", "as_json", is_flag=True, help="Print the run outputs as JSON instead of a summary.")
@template_options
@retired_provisioner_options
def distribute_command(
    template: Path,
    artifact: str,
    os_disk_snapshot: str | None,
    subscription: str | None,
    auth: str,
    output_json: Path | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Deliver an existing managed image to every distribute target of TEMPLATE, in parallel."""
    from aibpack.azure.checks import check_targets
    from aibpack.azure.distribute import check_distributable, check_shallow, distribute_all
    from aibpack.azure.facts import ImageFacts
    from aibpack.azure.staging import AIBPACK_TAGS, new_run_id
    from aibpack.model.resource_id import parse_id
    from aibpack.progress import for_terminal
    from aibpack.run.check import distribute_targets
    from aibpack.run.report import target_errors

    compiled = load_template(template, options)
    image = compiled.template
    try:
        check_distributable(image)
    except AibpackError as exc:
        raise exc.located(template) from None
    for option, value in (("--artifact", artifact), ("--os-disk-snapshot", os_disk_snapshot)):
        try:
            if value:
                parse_id(value)
        except ValueError as exc:
            raise AibpackError(f"{option}: {exc}") from None
    ctx, _ = azure_context(subscription, auth, [artifact, *template_ids(image)])
    built = _built(ctx, artifact, os_disk_snapshot)
    try:
        check_shallow(image, built.location, image_kept=True)
        # The artifact as Azure describes it must fit every gallery definition (OS type, generalized, generation).
        check_targets(ctx, distribute_targets(compiled), ImageFacts(built.os_type, built.hyper_v_generation or "V1"))
    except AibpackError as exc:
        raise exc.located(template) from None
    outputs = distribute_all(ctx, image, built, run_tags=AIBPACK_TAGS, run=new_run_id()[:8], progress=for_terminal())
    failed = [o for o in outputs if not o.succeeded]
    result = {
        "template": str(template),
        "status": "Failed" if failed else "Succeeded",
        "runOutputs": [o.to_dict() for o in outputs],
    }
    if output_json:
        write_atomic(output_json, json.dumps(result, indent=2) + "\n")
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        for o in outputs:
            where = o.artifact_uri or o.artifact_id or ""
            regions = ", ".join(f"{r.name}: {r.replication_state}" for r in o.regions)
            line = f"{o.run_output_name} ({o.type}): {o.provisioning_state} {where}".rstrip()
            click.echo(f"{line} [{regions}]" if regions else line)
    for line in target_errors(result["runOutputs"]):
        click.echo(line, err=True)
    sys.exit(EXIT_FAILED if failed else 0)


def _built(ctx: AzureContext, artifact: str, os_disk_snapshot: str | None) -> Built:
    from aibpack.azure.clients import describe_error
    from aibpack.azure.images import read_built

    try:
        return read_built(ctx, artifact, os_disk_snapshot)
    except Exception as exc:  # the SDK's errors, and anything the transport raises
        raise AibpackError(f"--artifact {artifact}: {describe_error(exc)}", exit_code=EXIT_FAILED) from None
