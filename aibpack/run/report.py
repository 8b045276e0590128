"""What ``run`` is asked to do, and what it did: the run outputs of design.md and the human summary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aibpack.errors import EXIT_FAILED, EXIT_OK, AibpackError
from aibpack.inputs import TAG
from aibpack.pipeline import CompileOptions
from aibpack.progress import Progress
from aibpack.run.fetch import FetchSettings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from aibpack.azure.results import RunOutput


@dataclass(frozen=True)
class RunOptions:
    template: Path
    compile: CompileOptions
    work_dir: Path
    subscription: str | None = None
    auth: str = "default"
    packer: str | None = None
    keep_staging: bool = False
    on_error: str | None = None  # None: the template's errorHandling.onCustomizerError
    grace_period: float = 30.0
    fetch: FetchSettings = field(default_factory=FetchSettings)
    credential: TokenCredential | None = None  # tests inject one; else made from ``auth``
    environ: Mapping[str, str] | None = None
    progress: Progress | None = None  # where the long waits report; None: nowhere
    force: bool = False  # build even when every target already holds an artifact of these inputs


@dataclass
class RunReport:
    """What ``run`` did: the run outputs of design.md plus what the human summary needs."""

    template: str
    status: str = "Failed"
    staging_group: str | None = None
    staging_deleted: bool = False
    staging_kept: bool = False
    staging_created_by_us: bool = False
    packer_exit_code: int | None = None
    artifact_id: str | None = None
    run_outputs: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0
    error: str | None = None
    exit_code: int = EXIT_FAILED
    work_dir: Path | None = None
    notes: list[str] = field(default_factory=list)
    inputs_digest: str | None = None
    up_to_date: bool = False
    not_built: str | None = None  # why a template that passed preflight was not built (another one failed)

    def outputs(self) -> dict[str, Any]:
        """The run outputs JSON, exactly the keys of design.md (and ``upToDate`` when nothing was built)."""
        outputs = {
            "template": self.template,
            "status": self.status,
            "stagingResourceGroup": self.staging_group,
            "stagingDeleted": self.staging_deleted,
            "packer": {"exitCode": self.packer_exit_code, "artifactId": self.artifact_id},
            "runOutputs": self.run_outputs,
            "durationSeconds": round(self.duration, 1),
        }
        return {**outputs, "upToDate": True} if self.up_to_date else outputs

    @property
    def inputs_tag(self) -> str:
        return f"{TAG}={self.inputs_digest}"

    def fail(self, exc: AibpackError) -> None:
        self.status, self.exit_code, self.error = "Failed", exc.exit_code, str(exc)

    def mark_up_to_date(self, published: list[RunOutput]) -> None:
        """Nothing to build: every target already holds these artifacts, made from the same inputs."""
        self.up_to_date = True
        self.status, self.exit_code = "Succeeded", EXIT_OK
        self.run_outputs = [output.to_dict() for output in published]


def totals(reports: list[RunReport], seconds: float) -> str:
    """One line for a catalogue: how many templates were built, up to date, failed, in how long."""
    built = sum(1 for r in reports if r.status == "Succeeded" and not r.up_to_date)
    current = sum(1 for r in reports if r.up_to_date)
    failed = sum(1 for r in reports if r.status == "Failed")
    canceled = sum(1 for r in reports if r.status == "Canceled")
    parts = [f"{built} built", f"{current} up to date", f"{failed} failed"]
    if canceled:
        parts.append(f"{canceled} canceled")
    return f"{len(reports)} templates: {', '.join(parts)} in {_minutes(seconds)}"


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{whole}s"


def target_errors(run_outputs: list[dict[str, Any]]) -> list[str]:
    """One line per failed target with Azure's error code and message (``error`` of its run output)."""
    lines = []
    for output in run_outputs:
        if output["provisioningState"] != "Succeeded":
            error = output.get("error") or {"code": "Unknown", "message": "no error was reported"}
            lines.append(f"error: {output['runOutputName']} ({output['type']}): {error['code']}: {error['message']}")
    return lines


def summary(report, keep_work_dir: bool) -> list[str]:  # type: ignore[no-untyped-def]
    """The short human summary: what was built, where, how long, what was kept."""
    if report.up_to_date:
        lines = [f"{report.template}: up to date ({report.inputs_tag}), nothing built"]
    elif report.not_built:
        lines = [f"{report.template}: not built ({report.not_built})"]
    else:
        lines = [f"{report.template}: {report.status} in {_minutes(report.duration)}"]
    if report.error:
        lines.append(f"error: {report.error}")
    if report.artifact_id:
        lines.append(f"built image: {report.artifact_id}")
    for output in report.run_outputs:
        if output["provisioningState"] == "Succeeded":
            regions = ", ".join(f"{r['name']} {r['replicationState']}" for r in output["regions"])
            where = output["artifactId"] or output["artifactUri"]
            lines.append(f"  {output['runOutputName']} ({output['type']}, {regions}): {where}")
    lines += target_errors(report.run_outputs)
    for note in report.notes:
        lines.append(f"warning: {note}")
    if report.staging_group:
        if report.staging_kept and report.staging_created_by_us:
            lines.append(
                f"kept staging resource group {report.staging_group}; delete it with: "
                f"az group delete -n {report.staging_group} --yes"
            )
        elif report.staging_kept:
            lines.append(
                f"kept this run's resources in staging resource group {report.staging_group}; delete them with: "
                "aibpack cleanup, or az resource delete on the resources tagged aibpackRunId"
            )
        elif report.staging_deleted:
            lines.append(f"deleted staging resource group {report.staging_group}")
        else:
            lines.append(
                f"staging resource group {report.staging_group} may be left; delete it with: "
                f"az group delete -n {report.staging_group} --yes"
            )
    if keep_work_dir and report.work_dir is not None:
        lines.append(f"work dir (compiled template, packer.log): {report.work_dir}")
    return lines
