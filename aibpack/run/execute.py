"""The stages that write to Azure, for one template that passed preflight: staging group → packer → distribute,
then cleanup in ``finally`` (unless kept for debugging).

Builds run in worker threads (several at once for a catalogue). Signals reach them through ``Cancel``: checked
between the stages and forwarded into ``packer build``; the cleanup always finishes.
"""

from __future__ import annotations

import time

from aibpack.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, AibpackError
from aibpack.progress import Progress
from aibpack.run.build import build_stage, built_artifact, check_build, kept_for_debugging, os_disk_snapshot_id
from aibpack.run.cleanup import cleanup_stage
from aibpack.run.distribute import distribute
from aibpack.run.prepare import Prepared
from aibpack.run.report import RunReport
from aibpack.run.signals import Cancel, Interrupted
from aibpack.run.staging import staging_stage


def execute(item: Prepared, cancel: Cancel, started: float) -> RunReport:
    """Build, distribute and clean up one template; the report carries status and exit code, nothing is raised."""
    from aibpack.azure.staging import new_run_id

    report, options, compiled, pre, check = item.report, item.options, item.compiled, item.preflight, item.check
    assert compiled is not None and pre is not None and check is not None
    staging = snapshot = None
    keep = options.keep_staging
    progress = options.progress or Progress.silent()
    try:
        cancel.check()
        staging = staging_stage(pre.ctx, compiled, new_run_id())
        report.staging_group = staging.name
        report.staging_created_by_us = staging.created_by_us
        made = "created" if staging.created_by_us else "using existing"
        item.say(f"{made} staging resource group {staging.name} ({staging.location})")
        cancel.check()
        snapshot = os_disk_snapshot_id(compiled, pre.ctx, staging)
        result = build_stage(
            options,
            compiled,
            pre,
            staging,
            item.say,
            artifact_tags=check.tags,
            os_snapshot_id=snapshot,
            force=item.force_packer,
            signals=cancel.listener(),
        )
        report.packer_exit_code = result.exit_code
        artifact = built_artifact(result)
        report.artifact_id = artifact.id if artifact else None
        keep = keep or kept_for_debugging(options, compiled, result)
        built = check_build(result, compiled, artifact)
        cancel.check()
        report.run_outputs = distribute(
            pre.ctx,
            compiled,
            built,
            report,
            staging=staging,
            os_snapshot_id=snapshot,
            keep_failed=options.keep_staging,
            progress=progress,
            artifact_tags=check.tags,
        )
        report.status, report.exit_code = "Succeeded", EXIT_OK
    except Interrupted as exc:
        report.status, report.exit_code = "Canceled", EXIT_INTERRUPTED
        report.error = f"interrupted by {exc.signal_name}"
    except AibpackError as exc:
        report.fail(exc)
    finally:
        if staging is not None:
            try:
                cleanup_stage(
                    pre.ctx,
                    staging,
                    report,
                    keep,
                    os_snapshot_id=snapshot,
                    progress=progress,
                    published_version_id=pre.gallery_version_id,
                )
            except AibpackError as exc:
                report.error = f"{report.error}; {exc}" if report.error else str(exc)
                if report.exit_code == EXIT_OK:
                    report.status, report.exit_code = "Failed", EXIT_FAILED
        report.duration = time.monotonic() - started
    if cancel.signal_name and report.exit_code == EXIT_OK:  # the stop came while this build was finishing
        report.status, report.exit_code = "Canceled", EXIT_INTERRUPTED
        report.error = f"interrupted by {cancel.signal_name}"
    return report
