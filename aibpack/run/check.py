"""Check stage (preflight): before anything exists in Azure, everything the build needs is there.

Packer and its version, the credential, the subscription and every distribution target: all read-only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aibpack.errors import EXIT_USAGE, AibpackError
from aibpack.pipeline import Compiled
from aibpack.plan.capture import Capture, run_capture
from aibpack.run.report import RunOptions

if TYPE_CHECKING:
    from aibpack.azure.clients import AzureContext


def distributable(options: RunOptions, compiled: Compiled) -> None:
    """Refuse, before anything is built, a target aibpack cannot deliver (a VHD without ``uri``, a shallow gallery
    version whose source image would go with the staging group, or in other regions than the build's)."""
    from aibpack.azure.distribute import check_distributable, check_shallow
    from aibpack.plan import output_image

    template = compiled.template
    try:
        check_distributable(template)
        kept = output_image(template, compiled.name).target_index is not None
        check_shallow(template, template.location, image_kept=kept)
        for index, target in enumerate(template.properties.distribute):
            if target.type == "SharedImage":
                _version_id(compiled, index)
    except AibpackError as exc:
        raise exc.located(options.template) from None


@dataclass(frozen=True)
class Preflight:
    packer: Path
    version: tuple[int, int, int]
    ctx: AzureContext
    capture: Capture  # what Packer delivers, chosen from the gallery definitions and this Packer
    gallery_version_id: str | None = None  # the version Packer publishes straight from the VM, if it does


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
    from aibpack.azure.checks import DistributeTarget

    targets = []
    for index, target in enumerate(compiled.template.properties.distribute):
        base = ("properties", "distribute", index)
        if target.type == "ManagedImage":
            targets.append(DistributeTarget((*base, "imageId"), "ManagedImage", target.image_id))
        elif target.type == "SharedImage":
            targets.append(DistributeTarget((*base, "galleryImageId"), "SharedImage", _version_id(compiled, index)))
        else:
            targets.append(DistributeTarget((*base, "uri"), "VHD", target.uri or ""))
    return targets


def _version_id(compiled: Compiled, index: int) -> str:
    """A gallery target's ID; with versioning Source, the version's, so that one already there is refused now."""
    from aibpack.azure.gallery import SOURCE_VERSION_MISSING, by_source
    from aibpack.model.source import source_version

    target = compiled.template.properties.distribute[index]
    if "/versions/" in target.gallery_image_id.lower() or not by_source(target):
        return target.gallery_image_id
    version = source_version(compiled.template.properties.source)
    if version is None:
        path = ("properties", "distribute", index, "versioning")
        raise AibpackError(SOURCE_VERSION_MISSING, path=path, exit_code=EXIT_USAGE)
    return f"{target.gallery_image_id.rstrip('/')}/versions/{version}"


def preflight_stage(options: RunOptions, compiled: Compiled) -> Preflight:
    """Packer and its version, the credential, the subscription, the targets: all read-only.

    The gallery definitions Azure reports decide what Packer delivers (``plan.capture``).
    """
    from aibpack.azure.checks import check_targets
    from aibpack.azure.clients import AzureContext, check_credential, make_credential, resolve_subscription
    from aibpack.packer.runner import INIT_MIN_VERSION, find_packer, packer_version

    packer = find_packer(options.packer)
    version = packer_version(packer)
    environ = os.environ if options.environ is None else options.environ
    subscription = resolve_subscription(options.subscription, _target_ids(compiled), environ)
    credential = options.credential or make_credential(options.auth, environ)  # type: ignore[arg-type]
    ctx = AzureContext.from_env(credential, subscription, environ)
    check_credential(ctx)
    try:
        found = check_targets(ctx, _distribute_targets(compiled))
        definitions = {int(target.path[2]): definition for target, definition in found.items()}
        capture = run_capture(compiled.template, definitions, gallery_direct=version >= INIT_MIN_VERSION)
        published = _published_version_id(ctx, compiled, capture)
    except AibpackError as exc:
        raise exc.located(options.template) from None
    return Preflight(packer, version, ctx, capture, published)


def _published_version_id(ctx: AzureContext, compiled: Compiled, capture: Capture) -> str | None:
    """The version Packer will publish: explicit, the source's, or the next Latest (read-only: Azure is asked)."""
    from aibpack.azure.gallery import choose_version
    from aibpack.azure.results import TargetFailed
    from aibpack.errors import BuildFailed

    if capture.gallery_target is None:
        return None
    target = compiled.template.properties.distribute[capture.gallery_target]
    assert target.type == "SharedImage"
    try:
        version = choose_version(ctx, compiled.template, target)
    except TargetFailed as exc:
        raise BuildFailed(str(exc), path=("properties", "distribute", capture.gallery_target)) from None
    definition = target.gallery_image_id.rstrip("/").split("/versions/")[0]
    return f"{definition}/versions/{version}"


def packer_can_build(pre: Preflight, compiled: Compiled) -> None:
    """Refuse, before anything is created, a Packer too old for this build (Trusted Launch, a WindowsUpdate step)."""
    from aibpack.packer.runner import require_packer_for

    try:
        require_packer_for(pre.packer, pre.version, compiled.plan.modern_only)
    except AibpackError as exc:
        raise exc.located(compiled.file) from None
