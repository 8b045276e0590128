"""Gallery image versions: which version, where it lives, what it is made from, and waiting for its replication.

Azure's rules followed here, each from its source:

- The version is created in its source's region, and that region is one of its target regions: "You need to
  replicate to the source region" and a managed image "must be in the same region" as the version
  (azure-compute-docs articles/virtual-machines/image-version.md); Azure refuses otherwise with "Gallery image
  version publishing profile regions '…' must contain the location of image version '…'" (hashicorp/packer#8895).
  AIB created the version in the image definition's region (azure-compute-docs
  articles/virtual-machines/linux/image-builder-json.md, "Distribute: sharedImage"), so that region is kept too.
- A PUT on an existing version is an update, of a few fields only (articles/virtual-machines/
  shared-image-galleries.md, "Updating resources"): a version is never written over. A version taken by a
  concurrent run is refused by Azure (PropertyChangeNotAllowed on the source), and Latest then takes the next.
- The source may be a managed image or another gallery image version (image-version.md, Prerequisites); a version
  made from a version must be created where the source has a replica ("ensure that the source image version's
  region or replica and target region are the same", image-version.md).
- Shallow replication skips the copy (shared-image-galleries.md, "Shallow replication"): one replica, in the
  source's region only (REST example GalleryImageVersion_Create_WithShallowReplicationMode.json; packer-plugin-azure
  builder/azure/arm/config.go, ``use_shallow_replication``), and the version keeps depending on its source.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aibpack.model.distribute import first_version, version_regions
from aibpack.model.resource_id import parse_id
from aibpack.model.source import SEMVER, source_version
from aibpack.progress import Task

from .clients import AzureContext, AzureFailure, azure_error, enum_text, poll_with
from .results import RegionStatus, RunOutput, TargetFailed

if TYPE_CHECKING:
    from aibpack.model.distribute import SharedImageTarget
    from aibpack.model.template import ImageTemplate

# Versions a concurrent run may take between our choice and our PUT; after that many, the target fails.
LATEST_ATTEMPTS = 5


@dataclass(frozen=True)
class Source:
    """What a version is made from: a managed image or a gallery image version, and the region it is in."""

    id: str
    location: str


def is_shallow(target: SharedImageTarget) -> bool:
    return (target.replication_mode or "Full").lower() == "shallow"


def publish(
    ctx: AzureContext,
    template: ImageTemplate,
    target: SharedImageTarget,
    source: Source,
    *,
    tags: Mapping[str, str],
    task: Task,
    keep_failed: bool,
) -> RunOutput:
    """Create the target's version from ``source`` and wait for its replication, reporting it on ``task``."""
    from azure.core.exceptions import HttpResponseError

    parsed = parse_id(target.gallery_image_id)
    compute = ctx.for_subscription(parsed.subscription).compute
    group, (gallery, image, *explicit) = parsed.resource_group, parsed.names
    definition = compute.gallery_images.get(group, gallery, image)
    body = version_body(target, source, definition.location, tags)
    out = RunOutput(target.run_output_name, "SharedImage")
    fixed = explicit[0] if explicit else (_source_version(template) if by_source(target) else None)
    for _ in range(1 if fixed else LATEST_ATTEMPTS):
        version = fixed or next_latest(compute, group, gallery, image, target)
        out.artifact_id = f"{_definition_id(parsed)}/versions/{version}"
        if fixed and version_exists(compute, group, gallery, image, version):
            raise TargetFailed(f"gallery image version {gallery}/{image}/{version} already exists", out)
        task.update(f"creating version {version} from {_short(source.id)} in {source.location}")
        try:
            poller = compute.gallery_image_versions.begin_create_or_update(group, gallery, image, version, body)
        except HttpResponseError as exc:
            if not fixed and _taken(exc):  # a concurrent run took this number first
                continue
            raise TargetFailed.from_azure(exc, out) from exc
        # Azure took our PUT: the version is ours (a PUT on someone else's version changes its source and is
        # refused), so a failure below is ours to clean up.
        return _wait(ctx, compute, (group, gallery, image, version), poller, out, task, keep_failed)
    raise TargetFailed(f"no free version number after {LATEST_ATTEMPTS} tries (concurrent runs)", out)


def read_published(ctx: AzureContext, target: SharedImageTarget, version_id: str, task: Task) -> RunOutput:
    """The version Packer published straight from the build VM as ``target``: read back, region by region.

    Packer waited for its replication (step_publish_to_shared_image_gallery.go ``CreateOrUpdateThenPoll``).
    """
    parsed = parse_id(version_id)
    gallery, image, version = parsed.names
    versions = ctx.for_subscription(parsed.subscription).compute.gallery_image_versions
    got = versions.get(parsed.resource_group, gallery, image, version, expand="ReplicationStatus")
    out = RunOutput(target.run_output_name, "SharedImage", artifact_id=version_id, regions=region_statuses(got))
    state = enum_text(got.provisioning_state)
    if state != "Succeeded":
        raise TargetFailed(f"gallery image version {version}, published by Packer, is {state}", out)
    out.provisioning_state = "Succeeded"
    task.finish(f"{version} published: " + ", ".join(f"{r.name} {r.replication_state}" for r in out.regions))
    return out


def discard_unfinished(ctx: AzureContext, version_id: str) -> bool:
    """Delete the version Packer was publishing when the build failed, unless it ended Succeeded; True if deleted.

    The plugin leaves a version whose publishing failed (its step's Cleanup does nothing:
    step_publish_to_shared_image_gallery.go); a failed version aibpack made is deleted, so is this one.
    """
    from azure.core.exceptions import ResourceNotFoundError

    parsed = parse_id(version_id)
    gallery, image, version = parsed.names
    versions = ctx.for_subscription(parsed.subscription).compute.gallery_image_versions
    try:
        got = versions.get(parsed.resource_group, gallery, image, version)
    except ResourceNotFoundError:
        return False
    if enum_text(got.provisioning_state) == "Succeeded":
        return False
    versions.begin_delete(parsed.resource_group, gallery, image, version).result()
    return True


def choose_version(ctx: AzureContext, template: ImageTemplate, target: SharedImageTarget) -> str:
    """The version ``target`` gets: explicit in its ID, the source's (versioning Source), else the next Latest."""
    parsed = parse_id(target.gallery_image_id)
    group, (gallery, image, *explicit) = parsed.resource_group, parsed.names
    if explicit:
        return explicit[0]
    if by_source(target):
        return _source_version(template)
    return next_latest(ctx.for_subscription(parsed.subscription).compute, group, gallery, image, target)


def _wait(
    ctx: AzureContext,
    compute: Any,
    where: tuple[str, str, str, str],
    poller: Any,
    out: RunOutput,
    task: Task,
    keep_failed: bool,
) -> RunOutput:
    from azure.core.exceptions import HttpResponseError

    versions = compute.gallery_image_versions
    version = where[3]

    def report() -> None:
        out.regions = region_statuses(versions.get(*where, expand="ReplicationStatus"))
        task.update(f"{version} replicating: " + ", ".join(f"{r.name} {r.progress}%" for r in out.regions))

    try:
        poll_with(poller, ctx.progress_every, report)
    except HttpResponseError as exc:
        failure = azure_error(exc)
        with contextlib.suppress(HttpResponseError):
            out.regions = region_statuses(versions.get(*where, expand="ReplicationStatus"))
        if not keep_failed:
            failure = _delete_failed(versions, where, failure)
        raise TargetFailed(failure.text, out, failure) from exc
    got = versions.get(*where, expand="ReplicationStatus")
    out.regions = region_statuses(got)
    out.provisioning_state = "Succeeded"
    task.finish(f"{version} published: " + ", ".join(f"{r.name} {r.replication_state}" for r in out.regions))
    return out


def _taken(exc: Any) -> bool:
    """Azure refused our PUT because the version exists (with another source): PropertyChangeNotAllowed, 409."""
    code = getattr(getattr(exc, "error", None), "code", None)
    return exc.status_code == 409 or code == "PropertyChangeNotAllowed"


def _delete_failed(versions: Any, where: tuple[str, str, str, str], failure: AzureFailure) -> AzureFailure:
    """Delete the version that failed (it is ours); if that fails too, say so beside Azure's first error."""
    from azure.core.exceptions import HttpResponseError

    try:
        versions.begin_delete(*where).result()
    except HttpResponseError as exc:
        gallery, image, version = where[1:]
        note = (
            f" (the failed version could not be deleted: {azure_error(exc).text}; delete it with: az sig "
            f"image-version delete -g {where[0]} -r {gallery} -i {image} -e {version})"
        )
        return AzureFailure(failure.code, failure.message + note)
    return failure


def version_body(target: SharedImageTarget, source: Source, home: str, tags: Mapping[str, str]) -> Any:
    """The version's PUT body: created in the source's region, replicated where the target asks."""
    from azure.mgmt.compute.models import (
        GalleryArtifactVersionFullSource,
        GalleryImageVersion,
        GalleryImageVersionPublishingProfile,
        GalleryImageVersionStorageProfile,
    )

    profile = GalleryImageVersionPublishingProfile(
        target_regions=target_regions(target, source.location, home), exclude_from_latest=target.exclude_from_latest
    )
    if target.replication_mode:
        profile.replication_mode = target.replication_mode
    return GalleryImageVersion(
        location=source.location,
        tags=dict(tags),
        publishing_profile=profile,
        storage_profile=GalleryImageVersionStorageProfile(source=GalleryArtifactVersionFullSource(id=source.id)),
    )


def target_regions(target: SharedImageTarget, source_region: str, home: str) -> list[Any]:
    """The target's regions, plus the source's region (Azure's rule) and the definition's (AIB's), shallow aside."""
    from azure.mgmt.compute.models import TargetRegion

    added = [source_region] if is_shallow(target) else [source_region, home]
    return [
        TargetRegion(name=r.name, regional_replica_count=r.replicas, storage_account_type=r.storage_account_type)
        for r in version_regions(target, added)
    ]


def region_statuses(version: Any) -> list[RegionStatus]:
    status = version.replication_status
    return [
        RegionStatus(s.region, enum_text(s.state) or "Unknown", s.details or "", s.progress or 0)
        for s in (status.summary if status else None) or []
    ]


def version_exists(compute: Any, group: str, gallery: str, image: str, version: str) -> bool:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        compute.gallery_image_versions.get(group, gallery, image, version)
    except ResourceNotFoundError:
        return False
    return True


def _source_version(template: ImageTemplate) -> str:
    version = source_version(template.properties.source)
    if version is None:
        raise TargetFailed(SOURCE_VERSION_MISSING)
    return version


def by_source(target: SharedImageTarget) -> bool:
    return target.versioning is not None and target.versioning.scheme == "Source"


def _definition_id(parsed: Any) -> str:
    gallery, image = parsed.names[:2]
    return (
        f"/subscriptions/{parsed.subscription}/resourceGroups/{parsed.resource_group}/providers/Microsoft.Compute"
        f"/galleries/{gallery}/images/{image}"
    )


def _short(resource_id: str) -> str:
    parts = resource_id.split("/")
    return "/".join(parts[-2:]) if "/versions/" not in resource_id.lower() else "/".join(parts[-5::2])


def next_latest(compute: Any, group: str, gallery: str, image: str, target: SharedImageTarget) -> str:
    """Versioning Latest: the highest existing version (within ``major`` when given) with its patch plus one.

    With no version yet it starts where ``first_version`` says.
    """
    versioning = target.versioning
    major = versioning.major if versioning is not None and versioning.scheme == "Latest" else -1
    best: tuple[int, int, int] | None = None
    for existing in compute.gallery_image_versions.list_by_gallery_image(group, gallery, image):
        match = SEMVER.match(existing.name or "")
        if not match:
            continue
        parts = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if major >= 0 and parts[0] != major:
            continue
        best = parts if best is None or parts > best else best
    if best is not None:
        return f"{best[0]}.{best[1]}.{best[2] + 1}"
    return first_version(versioning)


SOURCE_VERSION_MISSING = (
    "versioning Source needs a source with an x.y.z version (a SharedImageVersion, or a PlatformImage with an "
    "explicit version)"
)
