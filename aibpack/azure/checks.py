"""Check the distribution targets before any VM is started, so a typo costs seconds, not an hour's build.

Read-only: preflight never creates anything in Azure. Inputs are plain data (the JSON path of each target's
ID field, its type, its ID), so this does not depend on the template model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from aibpack.errors import AibpackError, BuildFailed
from aibpack.model.resource_id import ResourceId, parse_id

from .clients import AzureContext, describe_error
from .facts import ImageFacts, definition_facts
from .gallery import version_exists

TargetKind = Literal["ManagedImage", "SharedImage", "VHD"]


@dataclass(frozen=True)
class DistributeTarget:
    """One distribute target: ``path`` is the JSON path of ``resource_id`` in the template."""

    path: tuple[str | int, ...]
    kind: TargetKind
    resource_id: str


def check_targets(
    ctx: AzureContext, targets: Iterable[DistributeTarget], build: ImageFacts | None = None
) -> dict[DistributeTarget, ImageFacts]:
    """Destination groups exist, gallery image definitions exist and can hold the ``build`` image (its OS, a
    generalized state, its Hyper-V generation), explicit gallery versions do not yet.

    Returns each SharedImage target's definition as Azure describes it (with its security type and region).
    Raises ``BuildFailed`` (exit 1) naming the first target that fails, in template order.
    """
    from azure.core.exceptions import AzureError

    groups: dict[tuple[str, str], bool] = {}
    definitions: dict[DistributeTarget, ImageFacts] = {}
    for target in targets:
        if target.kind == "VHD":
            continue
        parsed = _parse(target)
        try:
            key = (parsed.subscription.lower(), parsed.resource_group.lower())
            if key not in groups:
                client = ctx.for_subscription(parsed.subscription).resources
                groups[key] = client.resource_groups.check_existence(parsed.resource_group)
            if not groups[key]:
                raise BuildFailed(
                    f"destination resource group {parsed.resource_group} not found in subscription "
                    f"{parsed.subscription} (create it first: az group create -n {parsed.resource_group})",
                    path=target.path,
                )
            if target.kind == "SharedImage":
                in_sub = ctx.for_subscription(parsed.subscription)
                definitions[target] = _check_gallery_target(in_sub, parsed, target, build)
        except AzureError as exc:
            raise BuildFailed(f"could not check {target.resource_id}: {describe_error(exc)}", path=target.path) from exc
    return definitions


def _unfit(definition: ImageFacts, build: ImageFacts) -> str | None:
    """Why a definition cannot hold this build's image: a version takes its definition's OS type, state and
    Hyper-V generation (azure-compute-docs shared-image-galleries.md, "Image definitions"), and aibpack's image is
    generalized (the last step deprovisions it, as AIB does: waagent or Sysprep). A generation guessed from a SKU's
    name refuses nothing."""
    if definition.os_type.lower() != build.os_type.lower():
        return f"is for {definition.os_type} images, and this build makes a {build.os_type} image"
    if definition.os_state and definition.os_state.lower() != "generalized":
        return f"is {definition.os_state}, and this build makes a generalized image (AIB and aibpack deprovision it)"
    if not build.guessed and definition.generation.upper() != build.generation.upper():
        return (
            f"is Hyper-V generation {definition.generation}, and the source image is {build.generation} (the "
            "image keeps its source's generation)"
        )
    return None


def _parse(target: DistributeTarget) -> ResourceId:
    expected = {
        "ManagedImage": ("Microsoft.Compute/images",),
        "SharedImage": ("Microsoft.Compute/galleries/images", "Microsoft.Compute/galleries/images/versions"),
    }[target.kind]
    try:
        parsed = parse_id(target.resource_id)
    except ValueError as exc:
        raise AibpackError(str(exc), path=target.path) from None
    if parsed.type.lower() not in {t.lower() for t in expected}:
        raise AibpackError(f"'{target.resource_id}' is not a {' or '.join(expected)} ID", path=target.path)
    return parsed


def _check_gallery_target(
    ctx: AzureContext, parsed: ResourceId, target: DistributeTarget, build: ImageFacts | None
) -> ImageFacts:
    from azure.core.exceptions import ResourceNotFoundError

    group, (gallery, image, *version) = parsed.resource_group, parsed.names
    try:
        facts = definition_facts(ctx, target.resource_id)
    except ResourceNotFoundError:
        raise BuildFailed(
            f"gallery image definition {gallery}/{image} not found in resource group {group} "
            "(create it first: az sig image-definition create)",
            path=target.path,
        ) from None
    if build is not None and (problem := _unfit(facts, build)):
        raise BuildFailed(f"gallery image definition {gallery}/{image} {problem}", path=target.path)
    if not version:
        return facts
    if not version_exists(ctx.compute, group, gallery, image, version[0]):
        return facts
    raise BuildFailed(
        f"gallery image version {gallery}/{image}/{version[0]} already exists "
        "(pick a new version, or give the image definition ID to let versioning choose one)",
        path=target.path,
    )
