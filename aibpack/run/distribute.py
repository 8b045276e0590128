"""Distribute stage: the built image delivered to every target with the Azure SDK (see ``azure.distribute``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aibpack.errors import BuildFailed
from aibpack.pipeline import Compiled
from aibpack.progress import Progress
from aibpack.run.report import RunReport

if TYPE_CHECKING:
    from aibpack.azure.clients import AzureContext
    from aibpack.azure.results import Built
    from aibpack.azure.staging import StagingGroup
    from aibpack.packer.machine import Artifact


def distribute(
    ctx: AzureContext,
    compiled: Compiled,
    artifact: Artifact,
    report: RunReport,
    *,
    staging: StagingGroup,
    os_snapshot_id: str | None,
    keep_failed: bool,
    progress: Progress,
    artifact_tags: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Deliver the built image to every distribution target; the run outputs, one per target.

    Every artifact gets ``artifact_tags`` (the inputs digest) besides aibpack's own. A target that fails is reported
    as Failed, with Azure's error, without losing the others; the run then fails (exit 1) naming each failed target
    and why.
    """
    from aibpack.azure.distribute import Place, distribute_all
    from aibpack.azure.staging import AIBPACK_TAGS

    published = compiled.plan.capture.gallery_target
    if published is None:
        built = built_image(ctx, artifact, os_snapshot_id)
    else:
        built = published_version(artifact, staging.location)
    outputs = distribute_all(
        ctx,
        compiled.template,
        built,
        run_tags={**AIBPACK_TAGS, **(artifact_tags or {})},
        run=staging.run_id[:8],
        progress=progress,
        work=Place(ctx.subscription_id, staging.name),
        tagged_by_packer=True,
        keep_failed=keep_failed,
        published_target=published,
    )
    report.run_outputs = [output.to_dict() for output in outputs]
    failed = [o.run_output_name for o in outputs if not o.succeeded]
    if failed:
        raise BuildFailed(f"distribution failed for {', '.join(failed)} (Azure's errors below, and in runOutputs)")
    return report.run_outputs


def published_version(artifact: Artifact, location: str) -> Built:
    """The gallery version Packer published straight from the build VM: ``ManagedImageSharedImageGalleryId`` in
    its artifact (artifact.go ``String()``), created in the build's location (step_publish_to_shared_image_gallery.go
    ``Location``), which for ``run`` is the staging group's."""
    from aibpack.azure.results import Built
    from aibpack.packer.machine import parse_azure_artifact

    details = parse_azure_artifact(artifact.string)
    version = details.get("ManagedImageSharedImageGalleryId") or artifact.id
    return Built(version, location, os_type=details.get("OSType", "Linux"))


def built_image(ctx: AzureContext, artifact: Artifact, os_snapshot_id: str | None) -> Built:
    """What Packer left, from its artifact (packer-plugin-azure builder/azure/arm/artifact.go ``String()``): the
    managed image and the OS disk snapshot (``ManagedImageOSDiskSnapshotName``, in the image's resource group)."""
    from aibpack.azure.clients import describe_error
    from aibpack.azure.images import read_built
    from aibpack.model.resource_id import parse_id
    from aibpack.packer.machine import parse_azure_artifact

    details = parse_azure_artifact(artifact.string)
    image_id = details.get("ManagedImageId") or artifact.id
    named, group = details.get("ManagedImageOSDiskSnapshotName"), details.get("ManagedImageResourceGroupName")
    if named and group:
        sub = parse_id(image_id).subscription
        os_snapshot_id = f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Compute/snapshots/{named}"
    try:
        return read_built(ctx, image_id, os_snapshot_id)
    except Exception as exc:  # the SDK's errors, and anything the transport raises
        raise BuildFailed(f"cannot read the built image {image_id}: {describe_error(exc)}") from exc
