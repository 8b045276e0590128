"""Distribute stage: the built image delivered to every target with the Azure SDK (see ``azure.distribute``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aibpack.errors import BuildFailed
from aibpack.pipeline import Compiled
from aibpack.run.report import RunReport

if TYPE_CHECKING:
    from aibpack.azure.clients import AzureContext
    from aibpack.packer.machine import Artifact


def distribute(ctx: AzureContext, compiled: Compiled, artifact: Artifact, report: RunReport) -> list[dict[str, Any]]:
    """Deliver the built image to every distribution target in parallel; the run outputs, one per target.

    A target that fails is reported as Failed without losing the others; the run then fails (exit 1).
    """
    from aibpack.azure.distribute import distribute_all
    from aibpack.azure.staging import AIBPACK_TAGS
    from aibpack.packer.machine import parse_azure_artifact

    details = parse_azure_artifact(artifact.string)
    image_id = details.get("ManagedImageId") or artifact.id
    outputs = distribute_all(
        ctx,
        compiled.template,
        image_id,
        build_location=compiled.template.location,
        run_tags=AIBPACK_TAGS,
        tagged_by_packer=True,
    )
    report.run_outputs = [output.to_dict() for output in outputs]
    failed = [output.run_output_name for output in outputs if not output.succeeded]
    if failed:
        raise BuildFailed(f"distribution failed for {', '.join(failed)} (see runOutputs)")
    return report.run_outputs
