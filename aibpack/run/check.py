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
    from aibpack.azure.gallery import SOURCE_VERSION_MISSING, by_source, source_version

    target = compiled.template.properties.distribute[index]
    if "/versions/" in target.gallery_image_id.lower() or not by_source(target):
        return target.gallery_image_id
    version = source_version(compiled.template)
    if version is None:
        path = ("properties", "distribute", index, "versioning")
        raise AibpackError(SOURCE_VERSION_MISSING, path=path, exit_code=EXIT_USAGE)
    return f"{target.gallery_image_id.rstrip('/')}/versions/{version}"


def preflight_stage(options: RunOptions, compiled: Compiled) -> Preflight:
    """Packer and its version, the credential, the subscription, the targets: all read-only."""
    from aibpack.azure.checks import check_targets
    from aibpack.azure.clients import AzureContext, check_credential, make_credential, resolve_subscription
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
