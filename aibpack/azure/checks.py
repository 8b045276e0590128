"""Check the distribution targets before any VM is started, so a typo costs seconds, not an hour's build.

Read-only: preflight never creates anything in Azure. Inputs are plain data (the JSON path of each target's
ID field, its type, its ID), so this does not depend on the template model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aibpack.errors import AibpackError, BuildFailed
from aibpack.model.resource_id import ResourceId, parse_id
from aibpack.plan.capture import Definition

from .clients import AzureContext, describe_error

TargetKind = Literal["ManagedImage", "SharedImage", "VHD"]


@dataclass(frozen=True)
class DistributeTarget:
    """One distribute target: ``path`` is the JSON path of ``resource_id`` in the template."""

    path: tuple[str | int, ...]
    kind: TargetKind
    resource_id: str


def check_targets(ctx: AzureContext, targets: Iterable[DistributeTarget]) -> dict[DistributeTarget, Definition]:
    """Destination groups exist, gallery image definitions exist, explicit gallery versions do not yet.

    Returns what each SharedImage target's definition demands (its security type and Hyper-V generation).
    Raises ``BuildFailed`` (exit 1) naming the first target that fails, in template order.
    """
    from azure.core.exceptions import AzureError

    groups: dict[tuple[str, str], bool] = {}
    definitions: dict[DistributeTarget, Definition] = {}
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
                definitions[target] = _check_gallery_target(ctx.for_subscription(parsed.subscription), parsed, target)
        except AzureError as exc:
            raise BuildFailed(f"could not check {target.resource_id}: {describe_error(exc)}", path=target.path) from exc
    return definitions


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


def _check_gallery_target(ctx: AzureContext, parsed: ResourceId, target: DistributeTarget) -> Definition:
    from azure.core.exceptions import ResourceNotFoundError

    group, (gallery, image, *version) = parsed.resource_group, parsed.names
    try:
        found = ctx.compute.gallery_images.get(group, gallery, image)
    except ResourceNotFoundError:
        raise BuildFailed(
            f"gallery image definition {gallery}/{image} not found in resource group {group} "
            "(create it first: az sig image-definition create)",
            path=target.path,
        ) from None
    definition = _definition(found)
    if not version:
        return definition
    try:
        ctx.compute.gallery_image_versions.get(group, gallery, image, version[0])
    except ResourceNotFoundError:
        return definition
    raise BuildFailed(
        f"gallery image version {gallery}/{image}/{version[0]} already exists "
        "(pick a new version, or give the image definition ID to let versioning choose one)",
        path=target.path,
    )


def _definition(image: Any) -> Definition:
    """The definition's ``SecurityType`` feature and ``hyperVGeneration`` (GalleryImageProperties.features, a
    list of name/value pairs: azure-rest-api-specs compute GalleryRP ``GalleryImageFeature``)."""
    security = next(
        (str(f.value or "") for f in image.features or [] if str(f.name or "").lower() == "securitytype"), ""
    )
    generation = image.hyper_v_generation
    return Definition(
        security_type=security,
        hyper_v_generation=str(getattr(generation, "value", generation) or ""),
        location=str(image.location or ""),
    )
