"""Packer stage: ``packer init`` when plugins are missing, then ``packer build`` with the run's variables.

Secrets (the credential's, secureString parameters) reach Packer only as ``PKR_VAR_`` environment variables.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from aibpack.errors import BuildFailed
from aibpack.pipeline import Compiled
from aibpack.plan import OS_DISK_SNAPSHOT
from aibpack.run.check import Preflight
from aibpack.run.report import RunOptions
from aibpack.run.signals import Interrupted

if TYPE_CHECKING:
    from aibpack.azure.clients import AzureContext
    from aibpack.azure.staging import StagingGroup
    from aibpack.packer.machine import Artifact
    from aibpack.packer.runner import PackerResult

# buildTimeoutInMinutes 0 means 240 minutes (azure-rest-api-specs imagebuilder.json, ImageTemplateProperties).
DEFAULT_TIMEOUT_MINUTES = 240


SECONDS_PER_MINUTE = 60.0  # tests shrink it to exercise buildTimeoutInMinutes in seconds


_INIT_LOCK = threading.Lock()
# cloud_environment_name values both azure builders accept (packer-plugin-azure and Packer 1.6.6
# builder/azure/common/client/config.go, setCloudEnvironment).
PACKER_CLOUD_NAMES = {"AzureCloud": "Public", "AzureChinaCloud": "China", "AzureUSGovernment": "USGovernment"}


def _hcl_map(values: Mapping[str, str]) -> str:
    """A ``map(string)`` value for ``-var``, escaped by render's one escaping function."""
    from aibpack.render.hcl import quote

    return "{" + ", ".join(f"{quote(k)} = {quote(v)}" for k, v in values.items()) + "}"


def packer_variables(
    options: RunOptions,
    compiled: Compiled,
    pre: Preflight,
    staging: StagingGroup,
    artifact_tags: Mapping[str, str] | None = None,
    os_snapshot_id: str | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """(``-var`` values, secret values for ``PKR_VAR_*``): Packer signs in as the run did (``run.auth``), builds in
    the staging group, delivers the managed image (its name and group) or the gallery version it publishes, and gets
    every secureString parameter's value as a secret. ``artifact_tags`` (the inputs digest) go on everything Packer
    creates, so also on what it delivers straight to a target."""
    from aibpack.plan import output_image
    from aibpack.plan.capture import packer_target

    environ = os.environ if options.environ is None else options.environ
    image = output_image(compiled.template, compiled.name)
    direct = packer_target(compiled.plan.capture, image.target_index)
    variables = {
        **pre.packer_sign_in.variables,
        "location": "",
        "build_resource_group_name": staging.name,
    }
    if pre.gallery_version_id is not None:
        variables["gallery_image_version"] = pre.gallery_version_id.rsplit("/", 1)[1]
    else:
        variables["managed_image_name"] = image.name
        group = image.resource_group if image.target_index is not None else staging.name
        variables["managed_image_resource_group_name"] = group
    tags = {**staging.resource_tags, **(artifact_tags or {}), **_direct_target_tags(compiled, direct)}
    variables["run_tags"] = _hcl_map(tags)
    if os_snapshot_id:  # os_disk_snapshot_id(): Packer leaves the build VM's OS disk as this snapshot
        variables[OS_DISK_SNAPSHOT] = os_snapshot_id.rsplit("/", 1)[1]
    cloud = environ.get("AIBPACK_CLOUD")
    if cloud in PACKER_CLOUD_NAMES:
        variables["cloud_environment_name"] = PACKER_CLOUD_NAMES[cloud]
    secure = {name: value for value, name in compiled.plan.secrets.items()}
    return variables, {**pre.packer_sign_in.secrets, **secure}


def on_error_mode(options: RunOptions, compiled: Compiled) -> str:
    return options.on_error or compiled.template.properties.error_handling.on_customizer_error


def build_timeout_minutes(compiled: Compiled) -> int:
    return compiled.template.properties.build_timeout_in_minutes or DEFAULT_TIMEOUT_MINUTES


def os_disk_snapshot_id(compiled: Compiled, ctx: AzureContext, staging: StagingGroup) -> str | None:
    """The snapshot of the build VM's OS disk that Packer leaves for VHD and managed image copies, if any are needed.

    Packer makes it in the managed image's resource group (packer-plugin-azure step_snapshot_os_disk.go).
    """
    from aibpack.azure.names import intermediate_name
    from aibpack.plan import needs_os_disk_snapshot, output_image

    if not needs_os_disk_snapshot(compiled.template, compiled.name):
        return None
    image = output_image(compiled.template, compiled.name)
    group = image.resource_group if image.target_index is not None else staging.name
    name = intermediate_name(compiled.name, staging.run_id[:8], "osdisk")
    return f"/subscriptions/{ctx.subscription_id}/resourceGroups/{group}/providers/Microsoft.Compute/snapshots/{name}"


def _direct_target_tags(compiled: Compiled, target_index: int | None) -> dict[str, str]:
    """The artifactTags of the target Packer delivers itself: Packer applies them at creation (``azure_tags``)."""
    if target_index is None:
        return {}
    return dict(compiled.template.properties.distribute[target_index].artifact_tags)


def build_stage(
    options: RunOptions,
    compiled: Compiled,
    pre: Preflight,
    staging: StagingGroup,
    on_line: Callable[[str], None],
    *,
    artifact_tags: Mapping[str, str] | None = None,
    os_snapshot_id: str | None = None,
    force: bool = False,
    signals: list[str] | None = None,
) -> PackerResult:
    """``packer init`` when plugins are missing, then ``packer build`` with the timeout and on-error mode.

    ``force`` lets Packer replace the managed image an older build left at the target; ``signals`` (for a build in
    a worker thread) receives SIGINT/SIGTERM from the main thread.
    """
    from aibpack.packer.binary import init_plugins
    from aibpack.packer.runner import build_args, run_packer

    log_path = options.work_dir / "packer.log"
    variables, secrets = packer_variables(options, compiled, pre, staging, artifact_tags, os_snapshot_id)
    with _INIT_LOCK:  # concurrent builds: one `packer init` at a time installs the plugins once
        init_plugins(pre.packer, pre.version, options.work_dir, log_path=log_path)
    args = build_args(
        f"{compiled.name}.pkr.hcl", on_error=on_error_mode(options, compiled), variables=variables, force=force
    )
    return run_packer(
        args,
        packer=pre.packer,
        cwd=options.work_dir,
        log_path=log_path,
        timeout=build_timeout_minutes(compiled) * SECONDS_PER_MINUTE,
        on_line=on_line,
        secret_env=secrets,
        grace_period=options.grace_period,
        signals=signals,
    )


def built_artifact(result: PackerResult) -> Artifact | None:
    """The azure-arm artifact Packer reported (the managed image or the gallery version), if any."""
    from aibpack.packer.machine import AZURE_ARM_BUILDER_ID

    for artifact in result.artifacts:
        if artifact.builder_id == AZURE_ARM_BUILDER_ID or artifact.target.startswith("azure-arm."):
            return artifact
    return result.artifacts[0] if result.artifacts else None


def kept_for_debugging(options: RunOptions, compiled: Compiled, result: PackerResult) -> bool:
    """``--on-error abort`` keeps a failed build's resources for debugging (not a timeout's or an interrupt's)."""
    stopped = result.timed_out or result.interrupted_by is not None
    return result.exit_code != 0 and not stopped and on_error_mode(options, compiled) == "abort"


def check_build(result: PackerResult, compiled: Compiled, artifact: Artifact | None) -> Artifact:
    """The built image, or why there is none raised: an interrupt, the build timeout, Packer's failure."""
    if result.interrupted_by:
        raise Interrupted(result.interrupted_by)
    if result.timed_out:
        minutes = build_timeout_minutes(compiled)
        step = f" (during: {result.last_step})" if result.last_step else ""
        raise BuildFailed(f"packer build timed out after buildTimeoutInMinutes={minutes}{step}")
    if result.exit_code != 0:
        why = "; ".join(result.errors) or "see packer.log"
        raise BuildFailed(f"packer build failed (exit {result.exit_code}): {why}")
    if artifact is None:
        raise BuildFailed("packer build succeeded but reported no azure-arm artifact")
    return artifact
