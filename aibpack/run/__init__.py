"""``aibpack run``: compile → fetch → check → staging group → packer → distribute → cleanup → run outputs.

One module per stage; this one only orders them. Nothing is created in Azure before the check stage has passed
(files fetched and verified, packer found, credential working, distribution targets present). The staging group
is deleted in ``finally`` whatever happened (success, a failed build, a timeout, SIGINT/SIGTERM, an exception)
unless ``--keep-staging`` or ``--on-error abort`` keeps it for debugging. The Azure SDK is imported only by the
stages that need it, when they run.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aibpack.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, AibpackError
from aibpack.progress import Progress
from aibpack.run.build import build_stage, built_artifact, check_build, kept_for_debugging, os_disk_snapshot_id
from aibpack.run.check import distributable, packer_can_build, preflight_stage
from aibpack.run.cleanup import cleanup_stage
from aibpack.run.compile import compile_stage
from aibpack.run.distribute import distribute
from aibpack.run.fetch import fetch_stage
from aibpack.run.report import RunOptions, RunReport
from aibpack.run.signals import Interrupted, signals_deferred, signals_raise
from aibpack.run.staging import staging_stage

__all__ = ["RunOptions", "RunReport", "run"]


def run(options: RunOptions, on_line: Callable[[str], None]) -> RunReport:
    """Run every stage; never raises for a user-facing failure: the report carries status and exit code."""
    from aibpack.azure.credentials import make_credential
    from aibpack.azure.staging import new_run_id

    start = time.monotonic()
    report = RunReport(template=str(options.template), work_dir=options.work_dir)
    ctx = staging = snapshot = published = None
    keep = options.keep_staging
    progress = options.progress or Progress.silent()
    deferred: list[str] = []
    try:
        with signals_raise():
            try:
                options.work_dir.mkdir(parents=True, exist_ok=True)
                first = compile_stage(options)
                report.template = first.name
                distributable(options, first)
                credential = make_credential(options.auth, options.environ, options.credential)
                staged = fetch_stage(options, first, credential)
                if staged:
                    on_line(f"fetched and verified {len(staged)} file(s) into {options.work_dir / 'files'}")
                pre = preflight_stage(options, first, credential)
                ctx, published = pre.ctx, pre.gallery_version_id
                report.notes.extend(pre.notes)
                compiled = compile_stage(options, staged, pre.target, pre.capture, shown=first)
                packer_can_build(pre, compiled)
                pending: list[str] = []
                with signals_deferred(pending):  # a signal now must not lose the group being created
                    staging = staging_stage(ctx, compiled, new_run_id())
                report.staging_group = staging.name
                report.staging_created_by_us = staging.created_by_us
                made = "created" if staging.created_by_us else "using existing"
                on_line(f"{made} staging resource group {staging.name} ({staging.location})")
                if pending:
                    raise Interrupted(pending[0])
                snapshot = os_disk_snapshot_id(compiled, ctx, staging)
                result = build_stage(options, compiled, pre, staging, on_line)
                report.packer_exit_code = result.exit_code
                artifact = built_artifact(result)
                report.artifact_id = artifact.id if artifact else None
                keep = keep or kept_for_debugging(options, compiled, result)
                built = check_build(result, compiled, artifact)
                report.run_outputs = distribute(
                    ctx,
                    compiled,
                    built,
                    report,
                    staging=staging,
                    os_snapshot_id=snapshot,
                    keep_failed=options.keep_staging,
                    progress=progress,
                )
                report.status, report.exit_code = "Succeeded", EXIT_OK
            except Interrupted as exc:
                report.status, report.exit_code = "Canceled", EXIT_INTERRUPTED
                report.error = f"interrupted by {exc.signal_name}"
            except KeyboardInterrupt:
                report.status, report.exit_code = "Canceled", EXIT_INTERRUPTED
                report.error = "interrupted by SIGINT"
            except AibpackError as exc:
                report.status, report.exit_code = "Failed", exc.exit_code
                report.error = str(exc)
    except Interrupted as exc:  # a signal between the stages and the cleanup
        report.status, report.exit_code = "Canceled", EXIT_INTERRUPTED
        report.error = f"interrupted by {exc.signal_name}"
    finally:
        with signals_deferred(deferred):
            if ctx is not None and staging is not None:
                try:
                    cleanup_stage(
                        ctx,
                        staging,
                        report,
                        keep,
                        os_snapshot_id=snapshot,
                        progress=progress,
                        published_version_id=published,
                    )
                except AibpackError as exc:
                    report.error = f"{report.error}; {exc}" if report.error else str(exc)
                    if report.exit_code == EXIT_OK:
                        report.status, report.exit_code = "Failed", EXIT_FAILED
        report.duration = time.monotonic() - start
    if deferred and report.exit_code == EXIT_OK:
        report.status, report.exit_code = "Canceled", EXIT_INTERRUPTED
        report.error = f"interrupted by {deferred[0]}"
    return report
