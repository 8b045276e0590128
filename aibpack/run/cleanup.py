"""Cleanup stage, run in ``finally``: delete what this run created in Azure, unless kept for debugging."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aibpack.run.report import RunReport

if TYPE_CHECKING:
    from aibpack.azure.clients import AzureContext
    from aibpack.azure.staging import StagingGroup


def cleanup_stage(ctx: AzureContext, staging: StagingGroup, report: RunReport, keep: bool) -> None:
    """Delete what this run created in Azure, unless kept for debugging."""
    from aibpack.azure.staging import delete_staging

    if keep:
        report.staging_kept = True
        return
    delete_staging(ctx, staging)
    report.staging_deleted = True
