"""``aibpack run``: compile → preflight → staging group → packer init/build → distribute → cleanup → run outputs.

Each stage is one function. Nothing is created in Azure before preflight has passed (files fetched and verified,
packer found, credential working, distribution targets present). The staging group is deleted in ``finally``
whatever happened (success, a failed build, a timeout, SIGINT/SIGTERM, an exception) unless ``--keep-staging`` or
``--on-error abort`` keeps it for debugging. The Azure SDK is imported only when a stage needs it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aibpack.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, AibpackError, BuildFailed, Diagnostics
from aibpack.output import write_atomic
from aibpack.pipeline import Compiled, CompileOptions, compile_file
from aibpack.preflight import FetchSettings, stage_remote_files

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from aibpack.azure.clients import AzureContext
    from aibpack.azure.staging import StagingGroup
    from aibpack.packer.machine import Artifact
    from aibpack.packer.runner import PackerResult

DEFAULT_TIMEOUT_MINUTES = 240
SECONDS_PER_MINUTE = 60.0  # tests shrink it to exercise buildTimeoutInMinutes in seconds
PLUGINS_FILE = "packer-plugins.pkr.hcl"
PACKER_CLOUD_NAMES = {"AzureCloud": "Public", "AzureChinaCloud": "China", "AzureUSGovernment": "USGovernment"}


class Interrupted(Exception):
    """SIGINT or SIGTERM reached aibpack outside the packer build."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


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

    def outputs(self) -> dict[str, Any]:
        """The run outputs JSON, exactly the keys of design.md."""
        return {
            "template": self.template,
            "status": self.status,
            "stagingResourceGroup": self.staging_group,
            "stagingDeleted": self.staging_deleted,
            "packer": {"exitCode": self.packer_exit_code, "artifactId": self.artifact_id},
            "runOutputs": self.run_outputs,
            "durationSeconds": round(self.duration, 1),
        }


# -- signals ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _signal_handler(handler: Callable[[int, object], None]) -> Iterator[None]:
    """``handler`` for SIGINT and SIGTERM (unless ignored on entry) for the duration of the block."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for sig, old in previous.items():
            if old is not signal.SIG_IGN:
                signal.signal(sig, handler)
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


def _signals_raise() -> contextlib.AbstractContextManager[None]:
    """SIGINT/SIGTERM outside the packer build raise ``Interrupted`` so ``finally`` cleans up."""

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signal.Signals(signum).name)

    return _signal_handler(handler)


def _signals_deferred(seen: list[str]) -> contextlib.AbstractContextManager[None]:
    """During cleanup a signal must not abort the deletes: record it, exit 130 afterwards."""
    return _signal_handler(lambda signum, _frame: seen.append(signal.Signals(signum).name))


# -- stages -----------------------------------------------------------------------------------------------


def plugins_file() -> Path:
    """``packer-plugins.pkr.hcl``: inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / PLUGINS_FILE, here.parent / PLUGINS_FILE):
        if candidate.is_file():
            return candidate
    raise BuildFailed(f"{PLUGINS_FILE} is missing from this aibpack installation")


def compile_stage(options: RunOptions, staged: Mapping[str, Path] | None = None) -> Compiled:
    """Compile the template (with the staged copies, when given) and write it into the work dir."""
    diagnostics = Diagnostics(strict=options.compile.strict, file=str(options.template))
    compile_options = options.compile
    if staged is not None:
        compile_options = CompileOptions(
            load=compile_options.load,
            strict=compile_options.strict,
            provisioners=compile_options.provisioners,
            build=compile_options.build,
            staged=dict(staged),
        )
    try:
        compiled = compile_file(options.template, options.work_dir, compile_options, diagnostics)
    except AibpackError as exc:
        raise exc.located(options.template) from None
    if staged is None:
        diagnostics.emit()  # once is enough
        return compiled
    write_atomic(options.work_dir / f"{compiled.name}.pkr.hcl", compiled.hcl)
    shutil.copyfile(plugins_file(), options.work_dir / PLUGINS_FILE)
    return compiled


def distributable(options: RunOptions, compiled: Compiled) -> None:
    """Refuse, before anything is built, a target aibpack cannot deliver (a VHD without ``uri``)."""
    from aibpack.azure.distribute import check_distributable

    try:
        check_distributable(compiled.template)
    except AibpackError as exc:
        raise exc.located(options.template) from None


def fetch_stage(options: RunOptions, compiled: Compiled) -> dict[str, Path]:
    """Every remote scriptUri/sourceUri downloaded once, verified, staged in ``<work-dir>/files/``."""
    return stage_remote_files(
        compiled.plan.remote_files, options.work_dir, options.fetch, template_file=options.template
    )


@dataclass(frozen=True)
class Preflight:
    packer: Path
    version: tuple[int, int, int]
    ctx: AzureContext


def _target_ids(compiled: Compiled) -> list[str]:
    ids = []
    for target in compiled.template.properties.distribute:
        text = getattr(target, "image_id", None) or getattr(target, "gallery_image_id", None)
        if text:
            ids.append(text)
    if compiled.template.properties.staging_resource_group:
        ids.append(compiled.template.properties.staging_resource_group)
    return ids


def _distribute_targets(compiled: Compiled) -> list[Any]:
    from aibpack.azure.preflight import DistributeTarget

    targets = []
    for index, target in enumerate(compiled.template.properties.distribute):
        base = ("properties", "distribute", index)
        if target.type == "ManagedImage":
            targets.append(DistributeTarget((*base, "imageId"), "ManagedImage", target.image_id))
        elif target.type == "SharedImage":
            targets.append(DistributeTarget((*base, "galleryImageId"), "SharedImage", target.gallery_image_id))
        else:
            targets.append(DistributeTarget((*base, "uri"), "VHD", target.uri or ""))
    return targets


def preflight_stage(options: RunOptions, compiled: Compiled) -> Preflight:
    """Packer and its version, the credential, the subscription, the targets: all read-only."""
    from aibpack.azure.clients import AzureContext, check_credential, make_credential, resolve_subscription
    from aibpack.azure.preflight import check_targets
    from aibpack.packer.runner import find_packer, packer_version

    packer = find_packer(options.packer)
    version = packer_version(packer)
    environ = os.environ if options.environ is None else options.environ
    subscription = resolve_subscription(options.subscription, _target_ids(compiled), environ)
    credential = options.credential or make_credential(options.auth, environ)  # type: ignore[arg-type]
    ctx = AzureContext.from_env(credential, subscription, environ)
    check_credential(ctx)
    try:
        check_targets(ctx, _distribute_targets(compiled))
    except AibpackError as exc:
        raise exc.located(options.template) from None
    return Preflight(packer, version, ctx)


def _destination_group(compiled: Compiled) -> str:
    from aibpack.model.resource_id import parse_id

    for target in compiled.template.properties.distribute:
        text = getattr(target, "image_id", None) or getattr(target, "gallery_image_id", None)
        if text:
            with contextlib.suppress(ValueError):
                return parse_id(text).resource_group
    return "aibpack"


def staging_stage(ctx: AzureContext, compiled: Compiled, run_id: str) -> StagingGroup:
    """Create (or adopt the template's) staging resource group."""
    from aibpack.azure.staging import prepare_staging

    try:
        return prepare_staging(
            ctx,
            staging_resource_group=compiled.template.properties.staging_resource_group or None,
            destination_group=_destination_group(compiled),
            template_name=compiled.name,
            location=compiled.template.location,
            run_id=run_id,
        )
    except AibpackError as exc:
        raise exc if exc.file else exc.located(compiled.file) from None


def _hcl_map(values: Mapping[str, str]) -> str:
    def quote(text: str) -> str:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${").replace("%{", "%%{")
        return f'"{escaped}"'

    return "{" + ", ".join(f"{quote(k)} = {quote(v)}" for k, v in values.items()) + "}"


def packer_variables(
    options: RunOptions, compiled: Compiled, ctx: AzureContext, staging: StagingGroup
) -> tuple[dict[str, str], dict[str, str]]:
    """(``-var`` values, secret values for ``PKR_VAR_*``): the credential matching ``--auth``, the staging group."""
    from aibpack.plan import output_image

    environ = os.environ if options.environ is None else options.environ
    image = output_image(compiled.template, compiled.name)
    variables = {
        "subscription_id": ctx.subscription_id,
        "location": "",
        "build_resource_group_name": staging.name,
        "managed_image_name": image.name,
        "managed_image_resource_group_name": image.resource_group if image.target_index is not None else staging.name,
        "run_tags": _hcl_map({**staging.resource_tags, **_direct_target_tags(compiled, image.target_index)}),
    }
    cloud = environ.get("AIBPACK_CLOUD")
    if cloud in PACKER_CLOUD_NAMES:
        variables["cloud_environment_name"] = PACKER_CLOUD_NAMES[cloud]
    # secureString parameter values reach Packer only as PKR_VAR_ environment variables (masked in logs).
    secrets: dict[str, str] = {name: value for value, name in compiled.plan.secrets.items()}
    if options.auth == "cli":
        variables["use_azure_cli_auth"] = "true"
    elif options.auth == "env":
        for name, env_name in (("client_id", "AZURE_CLIENT_ID"), ("tenant_id", "AZURE_TENANT_ID")):
            if environ.get(env_name):
                variables[name] = environ[env_name]
        if environ.get("AZURE_CLIENT_SECRET"):
            secrets["client_secret"] = environ["AZURE_CLIENT_SECRET"]
    return variables, secrets


def on_error_mode(options: RunOptions, compiled: Compiled) -> str:
    return options.on_error or compiled.template.properties.error_handling.on_customizer_error


def build_timeout_minutes(compiled: Compiled) -> int:
    return compiled.template.properties.build_timeout_in_minutes or DEFAULT_TIMEOUT_MINUTES


def _direct_target_tags(compiled: Compiled, target_index: int | None) -> dict[str, str]:
    """The artifactTags of the ManagedImage target Packer builds directly: Packer applies them at creation."""
    if target_index is None:
        return {}
    return dict(compiled.template.properties.distribute[target_index].artifact_tags)


def build_stage(
    options: RunOptions,
    compiled: Compiled,
    pre: Preflight,
    staging: StagingGroup,
    on_line: Callable[[str], None],
) -> PackerResult:
    """``packer init`` when plugins are missing, then ``packer build`` with the timeout and on-error mode."""
    from aibpack.packer.runner import build_args, init_plugins, run_packer

    log_path = options.work_dir / "packer.log"
    variables, secrets = packer_variables(options, compiled, pre.ctx, staging)
    init_plugins(pre.packer, pre.version, options.work_dir, log_path=log_path)
    args = build_args(f"{compiled.name}.pkr.hcl", on_error=on_error_mode(options, compiled), variables=variables)
    return run_packer(
        args,
        packer=pre.packer,
        cwd=options.work_dir,
        log_path=log_path,
        timeout=build_timeout_minutes(compiled) * SECONDS_PER_MINUTE,
        on_line=on_line,
        secret_env=secrets,
        grace_period=options.grace_period,
    )


def built_artifact(result: PackerResult) -> Artifact | None:
    """The azure-arm artifact Packer reported (the managed image), if any."""
    from aibpack.packer.machine import AZURE_ARM_BUILDER_ID

    for artifact in result.artifacts:
        if artifact.builder_id == AZURE_ARM_BUILDER_ID or artifact.target.startswith("azure-arm."):
            return artifact
    return result.artifacts[0] if result.artifacts else None


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


def cleanup_stage(ctx: AzureContext, staging: StagingGroup, report: RunReport, keep: bool) -> None:
    """Delete what this run created in Azure, unless kept for debugging."""
    from aibpack.azure.staging import delete_staging

    if keep:
        report.staging_kept = True
        return
    delete_staging(ctx, staging)
    report.staging_deleted = True


# -- the whole run ----------------------------------------------------------------------------------------


def run(options: RunOptions, on_line: Callable[[str], None]) -> RunReport:
    """Run every stage; never raises for a user-facing failure: the report carries status and exit code."""
    from aibpack.azure.staging import new_run_id

    start = time.monotonic()
    report = RunReport(template=str(options.template), work_dir=options.work_dir)
    ctx = staging = None
    keep = options.keep_staging
    deferred: list[str] = []
    try:
        with _signals_raise():
            try:
                options.work_dir.mkdir(parents=True, exist_ok=True)
                first = compile_stage(options)
                report.template = first.name
                distributable(options, first)
                staged = fetch_stage(options, first)
                if staged:
                    on_line(f"fetched and verified {len(staged)} file(s) into {options.work_dir / 'files'}")
                compiled = compile_stage(options, staged)
                pre = preflight_stage(options, compiled)
                ctx = pre.ctx
                pending: list[str] = []
                with _signals_deferred(pending):  # a signal now must not lose the group being created
                    staging = staging_stage(ctx, compiled, new_run_id())
                report.staging_group = staging.name
                report.staging_created_by_us = staging.created_by_us
                made = "created" if staging.created_by_us else "using existing"
                on_line(f"{made} staging resource group {staging.name} ({staging.location})")
                if pending:
                    raise Interrupted(pending[0])
                result = build_stage(options, compiled, pre, staging, on_line)
                report.packer_exit_code = result.exit_code
                artifact = built_artifact(result)
                report.artifact_id = artifact.id if artifact else None
                if result.interrupted_by:
                    raise Interrupted(result.interrupted_by)
                if result.timed_out:
                    minutes = build_timeout_minutes(compiled)
                    step = f" (during: {result.last_step})" if result.last_step else ""
                    raise BuildFailed(f"packer build timed out after buildTimeoutInMinutes={minutes}{step}")
                if result.exit_code != 0:
                    if on_error_mode(options, compiled) == "abort":
                        keep = True
                    why = "; ".join(result.errors) or "see packer.log"
                    raise BuildFailed(f"packer build failed (exit {result.exit_code}): {why}")
                if artifact is None:
                    raise BuildFailed("packer build succeeded but reported no azure-arm artifact")
                report.run_outputs = distribute(ctx, compiled, artifact, report)
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
        with _signals_deferred(deferred):
            if ctx is not None and staging is not None:
                try:
                    cleanup_stage(ctx, staging, report, keep)
                except AibpackError as exc:
                    report.error = f"{report.error}; {exc}" if report.error else str(exc)
                    if report.exit_code == EXIT_OK:
                        report.status, report.exit_code = "Failed", EXIT_FAILED
        report.duration = time.monotonic() - start
    if deferred and report.exit_code == EXIT_OK:
        report.status, report.exit_code = "Canceled", EXIT_INTERRUPTED
        report.error = f"interrupted by {deferred[0]}"
    return report
