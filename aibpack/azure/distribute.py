"""Distribution: deliver the managed image Packer built to every ``distribute`` target, in parallel.

``distribute_all`` runs one worker per target; each target's failure is captured in its own ``RunOutput``.
429s, 5xx and failed polls are retried by azure-core's policies; an operation that ends Failed fails only its
target. The Azure SDK is imported inside the functions (``aibpack compile`` must never load it).

Versioning Latest with no existing version (within ``major`` when given) starts at ``<major>.0.0``, or
``1.0.0`` when no major is given; for major 0 it starts at ``0.0.1`` (gallery versions must not be 0.0.0).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from aibpack.errors import EXIT_USAGE, AibpackError
from aibpack.model.resource_id import ResourceId, parse_id

from .clients import AzureContext, describe_error
from .staging import AIBPACK_TAGS

if TYPE_CHECKING:
    from aibpack.model.distribute import ManagedImageTarget, SharedImageTarget, VhdTarget
    from aibpack.model.template import ImageTemplate

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
VHD_CHUNK = 4 * 1024 * 1024


@dataclass
class RegionStatus:
    name: str
    replication_state: str
    details: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "replicationState": self.replication_state, "details": self.details}


@dataclass
class RunOutput:
    """One target's result, in AIB's runOutputs shape (see ``to_dict``)."""

    run_output_name: str
    type: str
    artifact_id: str | None = None
    artifact_uri: str | None = None
    provisioning_state: str = "Failed"
    regions: list[RegionStatus] = field(default_factory=list)
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.provisioning_state == "Succeeded"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "runOutputName": self.run_output_name,
            "type": self.type,
            "artifactId": self.artifact_id,
            "artifactUri": self.artifact_uri,
            "provisioningState": self.provisioning_state,
            "regions": [r.to_dict() for r in self.regions],
        }
        if self.error:
            out["error"] = self.error
        return out


class TargetFailed(Exception):
    """A target failed; carries what is known so far (artifact ID, regions)."""

    def __init__(self, message: str, output: RunOutput | None = None) -> None:
        super().__init__(message)
        self.output = output


# ---- checks before anything is built ---------------------------------------------------------------------


def check_distributable(template: ImageTemplate) -> None:
    """Raise (exit 2) when a target cannot be delivered anywhere durable: a VHD target without ``uri``."""
    for index, target in enumerate(template.properties.distribute):
        if target.type == "VHD" and not (target.uri or "").strip():
            raise AibpackError(
                "a VHD target needs a uri: aibpack deletes its staging resource group, so the VHD has "
                "nowhere durable to stay (set uri to a blob URL, e.g. https://ACCOUNT.blob.core.windows.net/"
                "vhds/NAME.vhd, with or without a SAS token)",
                path=("properties", "distribute", index, "uri"),
                exit_code=EXIT_USAGE,
            )


def strip_sas(uri: str) -> str:
    """The blob URL without its query (SAS token)."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _norm_region(name: str) -> str:
    return name.replace(" ", "").lower()


# ---- the entry point -------------------------------------------------------------------------------------


def distribute_all(
    ctx: AzureContext,
    template: ImageTemplate,
    artifact_id: str,
    *,
    build_location: str,
    run_tags: Mapping[str, str],
    max_workers: int | None = None,
    tagged_by_packer: bool = False,
) -> list[RunOutput]:
    """Deliver the managed image ``artifact_id`` to every target of ``template``; results in template order.

    ``tagged_by_packer``: the image Packer built already carries its target's tags (``run`` passes them to
    Packer), so that target needs no call at all.
    """
    targets = list(template.properties.distribute)
    if not targets:
        return []
    ctx.compute  # noqa: B018 - create the shared client before the threads do (cached_property is not locked)
    jobs: list[Callable[[], RunOutput]] = []
    for target in targets:
        if target.type == "SharedImage":
            jobs.append(lambda t=target: _shared_image(ctx, template, t, artifact_id, run_tags))
        elif target.type == "ManagedImage":
            jobs.append(
                lambda t=target: _managed_image(ctx, t, artifact_id, build_location, run_tags, tagged_by_packer)
            )
        else:
            jobs.append(lambda t=target: _vhd(ctx, t, artifact_id, run_tags))
    with ThreadPoolExecutor(max_workers=max_workers or len(jobs), thread_name_prefix="aibpack-dist") as pool:
        futures = [pool.submit(_guarded, job, target) for job, target in zip(jobs, targets, strict=True)]
        return [f.result() for f in futures]


def _guarded(job: Callable[[], RunOutput], target: Any) -> RunOutput:
    try:
        return job()
    except TargetFailed as exc:
        out = exc.output or RunOutput(target.run_output_name, target.type)
        out.provisioning_state, out.error = "Failed", str(exc)
        return out
    except Exception as exc:  # one target's failure must never lose the others' results
        return RunOutput(target.run_output_name, target.type, error=describe_error(exc))


def _tags(run_tags: Mapping[str, str], target: Any) -> dict[str, str]:
    return {**run_tags, **target.artifact_tags}


# ---- SharedImage -----------------------------------------------------------------------------------------


def _shared_image(
    ctx: AzureContext,
    template: ImageTemplate,
    target: SharedImageTarget,
    artifact_id: str,
    run_tags: Mapping[str, str],
) -> RunOutput:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
    from azure.mgmt.compute.models import (
        GalleryArtifactVersionFullSource,
        GalleryImageVersion,
        GalleryImageVersionPublishingProfile,
        GalleryImageVersionStorageProfile,
        TargetRegion,
    )

    parsed = parse_id(target.gallery_image_id)
    compute = ctx.for_subscription(parsed.subscription).compute
    group, (gallery, image, *explicit) = parsed.resource_group, parsed.names
    definition = compute.gallery_images.get(group, gallery, image)
    if explicit:
        version = explicit[0]
        try:
            compute.gallery_image_versions.get(group, gallery, image, version)
        except ResourceNotFoundError:
            pass
        else:
            raise TargetFailed(f"gallery image version {gallery}/{image}/{version} already exists")
    else:
        version = _choose_version(compute, group, gallery, image, target, template)

    home = definition.location
    regions: list[Any] = []
    if target.target_regions:
        for r in target.target_regions:
            regions.append(
                TargetRegion(
                    name=r.name, regional_replica_count=r.replica_count, storage_account_type=r.storage_account_type
                )
            )
    else:
        storage = target.storage_account_type or "Standard_LRS"
        for name in target.replication_regions or []:
            regions.append(TargetRegion(name=name, regional_replica_count=1, storage_account_type=storage))
    if _norm_region(home) not in {_norm_region(r.name) for r in regions}:
        storage = target.storage_account_type or "Standard_LRS"
        regions.insert(0, TargetRegion(name=home, regional_replica_count=1, storage_account_type=storage))
    profile = GalleryImageVersionPublishingProfile(
        target_regions=regions, exclude_from_latest=target.exclude_from_latest
    )
    if target.replication_mode:
        profile.replication_mode = target.replication_mode
    body = GalleryImageVersion(
        location=home,
        tags=_tags(run_tags, target),
        publishing_profile=profile,
        storage_profile=GalleryImageVersionStorageProfile(source=GalleryArtifactVersionFullSource(id=artifact_id)),
    )
    version_id = (
        f"/subscriptions/{parsed.subscription}/resourceGroups/{group}/providers/Microsoft.Compute"
        f"/galleries/{gallery}/images/{image}/versions/{version}"
    )
    out = RunOutput(target.run_output_name, "SharedImage", artifact_id=version_id)
    failure: str | None = None
    try:
        compute.gallery_image_versions.begin_create_or_update(group, gallery, image, version, body).result()
    except HttpResponseError as exc:
        failure = describe_error(exc)
    try:
        got = compute.gallery_image_versions.get(group, gallery, image, version, expand="ReplicationStatus")
        status = got.replication_status
        for summary in (status.summary if status else None) or []:
            out.regions.append(RegionStatus(summary.region, summary.state or "Unknown", summary.details or ""))
        if got.provisioning_state != "Succeeded" and not failure:
            failure = f"gallery image version {version} ended {got.provisioning_state}"
    except HttpResponseError:
        if not failure:
            raise
    if not out.regions:
        out.regions = [RegionStatus(r.name, "Failed" if failure else "Completed") for r in regions]
    if failure:
        raise TargetFailed(failure, out)
    out.provisioning_state = "Succeeded"
    return out


def _choose_version(
    compute: Any, group: str, gallery: str, image: str, target: SharedImageTarget, template: ImageTemplate
) -> str:
    versioning = target.versioning
    if versioning is not None and versioning.scheme == "Source":
        return _source_version(template)
    major = versioning.major if versioning is not None else -1
    best: tuple[int, int, int] | None = None
    for existing in compute.gallery_image_versions.list_by_gallery_image(group, gallery, image):
        match = _SEMVER.match(existing.name or "")
        if not match:
            continue
        parts = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if major >= 0 and parts[0] != major:
            continue
        best = parts if best is None or parts > best else best
    if best is not None:
        return f"{best[0]}.{best[1]}.{best[2] + 1}"
    if major > 0:
        return f"{major}.0.0"
    return "0.0.1" if major == 0 else "1.0.0"


def _source_version(template: ImageTemplate) -> str:
    source = template.properties.source
    candidate = ""
    if source.type == "SharedImageVersion":
        candidate = source.exact_version or ""
        if not _SEMVER.match(candidate):
            candidate = source.image_version_id.rstrip("/").rsplit("/", 1)[-1]
    elif source.type == "PlatformImage":
        candidate = source.exact_version if source.version.lower() == "latest" and source.exact_version else ""
        candidate = candidate or source.version
    if not _SEMVER.match(candidate):
        raise TargetFailed(
            f"versioning Source needs a source with an x.y.z version (a SharedImageVersion, or a PlatformImage "
            f"with an explicit version); the source's is '{candidate or source.type}'"
        )
    return candidate


# ---- ManagedImage ----------------------------------------------------------------------------------------


def _managed_image(
    ctx: AzureContext,
    target: ManagedImageTarget,
    artifact_id: str,
    build_location: str,
    run_tags: Mapping[str, str],
    tagged_by_packer: bool = False,
) -> RunOutput:
    from azure.mgmt.compute.models import Image, ImageOSDisk, ImageStorageProfile, ImageUpdate, SubResource

    dest = parse_id(target.image_id)
    src = parse_id(artifact_id)
    dest_compute = ctx.for_subscription(dest.subscription).compute
    src_compute = ctx.for_subscription(src.subscription).compute
    tags = _tags(run_tags, target)
    out = RunOutput(target.run_output_name, "ManagedImage", artifact_id=target.image_id)
    if target.image_id.lower() == artifact_id.lower():
        # Packer wrote it here already: nothing to copy, at most the artifact tags to apply.
        if not tagged_by_packer:
            dest_compute.images.begin_update(dest.resource_group, dest.name, ImageUpdate(tags=tags)).result()
        out.regions, out.provisioning_state = [RegionStatus(target.location, "Completed")], "Succeeded"
        return out

    source = src_compute.images.get(src.resource_group, src.name)
    os_disk = source.storage_profile.os_disk
    cleanup: list[tuple[str, str]] = []  # (kind, name) in dest group, deleted in reverse order
    suffix = uuid.uuid4().hex[:8]
    try:
        disk_name = _temp_disk_from_image(
            ctx.for_subscription(dest.subscription), dest.resource_group, source, artifact_id, suffix
        )
        cleanup.append(("disk", disk_name))
        disk_id = _child_id(dest, "disks", disk_name)
        if _norm_region(source.location) == _norm_region(target.location):
            image_disk = ImageOSDisk(
                os_type=os_disk.os_type, os_state=os_disk.os_state, managed_disk=SubResource(id=disk_id)
            )
        else:
            # A snapshot of the disk in its region, then CopyStart of that snapshot into the target region.
            here = f"{dest.name}-aibpack-{suffix}-src"
            _snapshot(dest_compute, dest, here, source.location, "Copy", disk_id, run_tags)
            cleanup.append(("snapshot", here))
            there = f"{dest.name}-aibpack-{suffix}-dst"
            here_id = _child_id(dest, "snapshots", here)
            _snapshot(dest_compute, dest, there, target.location, "CopyStart", here_id, run_tags)
            cleanup.append(("snapshot", there))
            image_disk = ImageOSDisk(
                os_type=os_disk.os_type,
                os_state=os_disk.os_state,
                snapshot=SubResource(id=_child_id(dest, "snapshots", there)),
            )
        image = Image(
            location=target.location,
            tags=tags,
            hyper_v_generation=source.hyper_v_generation,
            storage_profile=ImageStorageProfile(os_disk=image_disk),
        )
        dest_compute.images.begin_create_or_update(dest.resource_group, dest.name, image).result()
    finally:
        _delete_intermediates(dest_compute, dest.resource_group, cleanup)
    out.regions, out.provisioning_state = [RegionStatus(target.location, "Completed")], "Succeeded"
    return out


def _snapshot(
    compute: Any,
    dest: ResourceId,
    name: str,
    location: str,
    create_option: str,
    source_id: str,
    run_tags: Mapping[str, str],
) -> None:
    """An incremental snapshot in ``dest``'s group, made from ``source_id`` by ``create_option``; waits for it."""
    from azure.mgmt.compute.models import CreationData, Snapshot

    snapshot = Snapshot(
        location=location,
        incremental=True,
        creation_data=CreationData(create_option=create_option, source_resource_id=source_id),
        tags=dict(run_tags),
    )
    compute.snapshots.begin_create_or_update(dest.resource_group, name, snapshot).result()


def _child_id(dest: ResourceId, kind: str, name: str) -> str:
    group = f"/subscriptions/{dest.subscription}/resourceGroups/{dest.resource_group}"
    return f"{group}/providers/Microsoft.Compute/{kind}/{name}"


def _temp_disk_from_image(ctx: AzureContext, group: str, source: Any, image_id: str, suffix: str) -> str:
    """A managed disk made from the managed image ``source`` (in its region, in ``group``); returns its name."""
    from azure.mgmt.compute.models import CreationData, Disk, ImageDiskReference

    name = f"{source.name}-aibpack-{suffix}-disk"[:80]
    disk = Disk(
        location=source.location,
        hyper_v_generation=source.hyper_v_generation,
        os_type=source.storage_profile.os_disk.os_type,
        creation_data=CreationData(create_option="FromImage", image_reference=ImageDiskReference(id=image_id)),
        tags=dict(AIBPACK_TAGS),
    )
    ctx.compute.disks.begin_create_or_update(group, name, disk).result()
    return name


def _delete_intermediates(compute: Any, group: str, items: list[tuple[str, str]]) -> None:
    problems = []
    for kind, name in reversed(items):
        operations = compute.disks if kind == "disk" else compute.snapshots
        try:
            operations.begin_delete(group, name).result()
        except Exception as exc:
            problems.append(f"{kind} {name}: {describe_error(exc)}")
    if problems:
        raise TargetFailed("could not delete intermediate " + "; ".join(problems))


# ---- VHD -------------------------------------------------------------------------------------------------


def _vhd(ctx: AzureContext, target: VhdTarget, artifact_id: str, run_tags: Mapping[str, str]) -> RunOutput:
    from azure.mgmt.compute.models import GrantAccessData

    if not target.uri:
        raise TargetFailed("a VHD target needs a uri")
    src = parse_id(artifact_id)
    src_ctx = ctx.for_subscription(src.subscription)
    source = src_ctx.compute.images.get(src.resource_group, src.name)
    disk_name = _temp_disk_from_image(src_ctx, src.resource_group, source, artifact_id, uuid.uuid4().hex[:8])
    disks = src_ctx.compute.disks
    granted = False
    try:
        access = disks.begin_grant_access(
            src.resource_group, disk_name, GrantAccessData(access="Read", duration_in_seconds=3600)
        ).result()
        granted = True
        _copy_to_blob(ctx, access.access_sas, target.uri, {**run_tags, **target.artifact_tags})
    finally:
        try:
            if granted:
                disks.begin_revoke_access(src.resource_group, disk_name).result()
        finally:
            _delete_intermediates(src_ctx.compute, src.resource_group, [("disk", disk_name)])
    location = source.location
    return RunOutput(
        target.run_output_name,
        "VHD",
        artifact_id=None,
        artifact_uri=strip_sas(target.uri),
        provisioning_state="Succeeded",
        regions=[RegionStatus(location, "Completed")],
    )


def _copy_to_blob(ctx: AzureContext, source_sas: str, uri: str, tags: Mapping[str, str]) -> None:
    """Stream the disk at ``source_sas`` into a page blob at ``uri`` (its SAS, else the run's credential)."""
    import requests
    from azure.storage.blob import BlobClient, BlobType

    credential = None if urlsplit(uri).query else ctx.credential
    blob = BlobClient.from_blob_url(uri, credential=credential, connection_verify=ctx.connection_verify)
    with requests.get(source_sas, stream=True, timeout=60, verify=ctx.connection_verify) as response:
        response.raise_for_status()
        length = int(response.headers["Content-Length"])
        blob.upload_blob(
            response.iter_content(VHD_CHUNK),
            length=length,
            blob_type=BlobType.PAGEBLOB,
            overwrite=True,
            metadata={_metadata_key(k): v for k, v in tags.items()},
        )


def _metadata_key(name: str) -> str:
    """Blob metadata names must be C# identifiers."""
    key = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return key if key[:1].isalpha() or key[:1] == "_" else f"_{key}"
