"""Cleanup stage, run in ``finally``: delete what this run created in Azure, unless kept for debugging."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aibpack.progress import Progress
from aibpack.run.report import RunReport

if TYPE_CHECKING:
    from aibpack.azure.clients import AzureContext
    from aibpack.azure.staging import StagingGroup


def cleanup_stage(
    ctx: AzureContext,
    staging: StagingGroup,
    report: RunReport,
    keep: bool,
    *,
    os_snapshot_id: str | None,
    progress: Progress,
    published_version_id: str | None = None,
) -> None:
    """Delete the OS disk snapshot Packer left outside the staging group, a gallery version Packer failed to
    publish (a failed run only), then the staging group itself."""
    from aibpack.azure.gallery import discard_unfinished
    from aibpack.azure.images import delete_snapshot
    from aibpack.azure.staging import delete_staging
    from aibpack.model.resource_id import parse_id

    unfinished = published_version_id if report.status != "Succeeded" else None
    if keep:
        if unfinished:
            report.notes.append(
                f"kept the gallery version Packer was publishing, {unfinished}, if it exists; delete it with: "
                f"az sig image-version delete --ids {unfinished}"
            )
        report.staging_kept = True
        if os_snapshot_id and parse_id(os_snapshot_id).resource_group.lower() != staging.name.lower():
            report.notes.append(
                f"kept the OS disk snapshot {os_snapshot_id}; delete it with: az snapshot delete --ids {os_snapshot_id}"
            )
        return
    if os_snapshot_id and parse_id(os_snapshot_id).resource_group.lower() != staging.name.lower():
        delete_snapshot(ctx, os_snapshot_id)
    if unfinished and discard_unfinished(ctx, unfinished):
        report.notes.append(f"deleted the gallery version Packer failed to publish, {unfinished}")
    delete_staging(ctx, staging, progress.task(f"staging resource group {staging.name}"))
    report.staging_deleted = True
