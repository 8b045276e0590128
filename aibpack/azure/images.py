"""ManagedImage targets: the image Packer built, tagged in place, or copied from the build's OS disk snapshot.

Azure makes no disk from a managed image ("The value of parameter imageReference is invalid",
Azure/azure-powershell#14000; "Creating a disk from an `image` is not supported", Azure/azure-cli#6081), so copies
start from the snapshot of the build VM's OS disk that Packer leaves (``managed_image_os_disk_snapshot_name``,
packer-plugin-azure builder/azure/arm/step_snapshot_os_disk.go: a full snapshot, in the managed image's resource
group and the build's region).

- Same region: the image is made from that snapshot (an image's source is "in the same Azure region",
  Azure/azure-cli#3809).
- Another region: only incremental snapshots cross regions ("Full snapshots can't be copied across regions",
  azure-compute-docs articles/virtual-machines/disks-copy-incremental-snapshot-across-regions.md), and an
  incremental snapshot is a snapshot of a disk (REST example Snapshot_GetIncrementalSnapshot.json: its
  ``sourceResourceId`` is a disk). So: a disk from the snapshot, an incremental snapshot of it, CopyStart of that
  into the target region, then the image. CopyStart returns when the copy has started; the copy is usable, and its
  source may be deleted, only when ``completionPercent`` is 100 (same page, "Check copy status").
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aibpack.model.resource_id import ResourceId, parse_id
from aibpack.progress import Task

from .clients import AzureContext, AzureFailure, azure_error, enum_text
from .names import intermediate_name
from .results import Built, RegionStatus, RunOutput, TargetFailed, norm_region

if TYPE_CHECKING:
    from aibpack.model.distribute import ManagedImageTarget

COMPLETE = 100.0
NO_SNAPSHOT = (
    "the build left no OS disk snapshot to copy from (Azure makes no disk from a managed image); "
    "aibpack run has Packer leave one, and aibpack distribute takes it as --os-disk-snapshot"
)


@dataclass(frozen=True)
class Place:
    """A resource group (and its subscription) where intermediate disks and snapshots go."""

    subscription: str
    resource_group: str

    def child_id(self, kind: str, name: str) -> str:
        group = f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
        return f"{group}/providers/Microsoft.Compute/{kind}/{name}"


def tag_in_place(ctx: AzureContext, target: ManagedImageTarget, tags: Mapping[str, str], tagged: bool) -> RunOutput:
    """Packer wrote the image where the target wants it: at most its tags to apply."""
    from azure.mgmt.compute.models import ImageUpdate

    dest = parse_id(target.image_id)
    if not tagged:
        images = ctx.for_subscription(dest.subscription).compute.images
        images.begin_update(dest.resource_group, dest.name, ImageUpdate(tags=dict(tags))).result()
    return _done(target)


def copy_image(
    ctx: AzureContext,
    target: ManagedImageTarget,
    built: Built,
    *,
    work: Place | None,
    run: str,
    tags: Mapping[str, str],
    task: Task,
) -> RunOutput:
    """The target image made from the build's OS disk snapshot, through a copy to its region when needed."""
    from azure.mgmt.compute.models import Image, ImageOSDisk, ImageStorageProfile, SubResource

    if not built.os_snapshot_id:
        raise TargetFailed(NO_SNAPSHOT)
    dest = parse_id(target.image_id)
    compute = ctx.for_subscription(dest.subscription).compute
    place = work if work and work.subscription.lower() == dest.subscription.lower() else _place_of(dest)
    made: list[tuple[str, str]] = []  # (kind, name) in ``place``, deleted in reverse order
    try:
        snapshot_id = built.os_snapshot_id
        if norm_region(built.location) != norm_region(target.location):
            copy = _Copy(compute, place, built, target, run, tags, task, ctx.progress_every)
            snapshot_id = copy.to_region(made)
        task.update(f"creating image {dest.name} in {target.location}")
        # AIB's images are generalized: its deprovision step always runs last (image-builder-json.md, Generalize).
        os_disk = ImageOSDisk(os_type=built.os_type, os_state="Generalized", snapshot=SubResource(id=snapshot_id))
        image = Image(
            location=target.location,
            tags=dict(tags),
            hyper_v_generation=built.hyper_v_generation,
            storage_profile=ImageStorageProfile(os_disk=os_disk),
        )
        try:
            compute.images.begin_create_or_update(dest.resource_group, dest.name, image).result()
        except Exception as exc:
            raise TargetFailed.from_azure(exc, RunOutput(target.run_output_name, "ManagedImage")) from exc
    finally:
        delete_made(compute, place, made)
    task.finish(f"image {dest.name} created in {target.location}")
    return _done(target)


@dataclass
class _Copy:
    """The OS disk snapshot carried to another region: a disk, an incremental snapshot of it, a CopyStart copy."""

    compute: Any
    place: Place
    built: Built
    target: ManagedImageTarget
    run: str
    tags: Mapping[str, str]
    task: Task
    every: float

    def to_region(self, made: list[tuple[str, str]]) -> str:
        """Create the three intermediates (recorded in ``made``), wait for the copy; the copy's snapshot ID."""
        from azure.mgmt.compute.models import CreationData

        base = parse_id(self.target.image_id).name
        disk, here, there = (intermediate_name(base, self.run, role) for role in ("disk", "inc", "copy"))
        source, place = self.built.os_snapshot_id, self.place
        steps = [
            ("disk", disk, self.built.location, "Copy", source),
            ("snapshot", here, self.built.location, "Copy", place.child_id("disks", disk)),
            ("snapshot", there, self.target.location, "CopyStart", place.child_id("snapshots", here)),
        ]
        for kind, name, location, option, source_id in steps:
            creation = CreationData(create_option=option, source_resource_id=source_id)
            self._create(kind, name, location, creation, made)
        self._wait(there)
        return place.child_id("snapshots", there)

    def _create(self, kind: str, name: str, location: str, creation: Any, made: list[tuple[str, str]]) -> None:
        from azure.mgmt.compute.models import Disk, Snapshot

        self.task.update(f"creating {kind} {name} in {location}")
        body: dict[str, Any] = {"location": location, "tags": dict(self.tags), "creation_data": creation}
        if kind == "disk":
            body |= {"os_type": self.built.os_type, "hyper_v_generation": self.built.hyper_v_generation}
            operations, model = self.compute.disks, Disk
        else:
            body["incremental"] = True
            operations, model = self.compute.snapshots, Snapshot
        made.append((kind, name))
        try:
            operations.begin_create_or_update(self.place.resource_group, name, model(**body)).result()
        except Exception as exc:
            raise TargetFailed.from_azure(exc, RunOutput(self.target.run_output_name, "ManagedImage")) from exc

    def _wait(self, name: str) -> None:
        """Poll the CopyStart snapshot until its ``completionPercent`` is 100, or its copy failed."""
        while True:
            snapshot = self.compute.snapshots.get(self.place.resource_group, name)
            failure = snapshot.copy_completion_error
            if failure is not None:
                copy_failure = AzureFailure(enum_text(failure.error_code), failure.error_message)
                raise TargetFailed(copy_failure.text, failure=copy_failure)
            percent = COMPLETE if snapshot.completion_percent is None else snapshot.completion_percent
            self.task.update(f"copying the OS disk snapshot to {self.target.location}: {percent:.0f}%")
            if percent >= COMPLETE:
                return
            time.sleep(self.every)


def delete_made(compute: Any, place: Place, made: list[tuple[str, str]]) -> None:
    """Delete intermediates, all at once (the copy is complete or abandoned by now); raise naming what stayed."""
    problems, pollers = [], []
    for kind, name in reversed(made):
        operations = compute.disks if kind == "disk" else compute.snapshots
        try:
            pollers.append((kind, name, operations.begin_delete(place.resource_group, name)))
        except Exception as exc:
            problems.append(f"{kind} {name}: {azure_error(exc).text}")
    for kind, name, poller in pollers:
        try:
            poller.result()
        except Exception as exc:
            problems.append(f"{kind} {name}: {azure_error(exc).text}")
    if problems:
        raise TargetFailed(f"could not delete intermediate {'; '.join(problems)} in {place.resource_group}")


def _place_of(dest: ResourceId) -> Place:
    return Place(dest.subscription, dest.resource_group)


def _done(target: ManagedImageTarget) -> RunOutput:
    return RunOutput(
        target.run_output_name,
        "ManagedImage",
        artifact_id=target.image_id,
        provisioning_state="Succeeded",
        regions=[RegionStatus(target.location, "Completed")],
    )


def delete_snapshot(ctx: AzureContext, snapshot_id: str) -> None:
    """Delete a snapshot if it is there (the OS disk snapshot Packer may or may not have made)."""
    from aibpack.errors import BuildFailed

    ref = parse_id(snapshot_id)
    try:
        ctx.for_subscription(ref.subscription).compute.snapshots.begin_delete(ref.resource_group, ref.name).result()
    except Exception as exc:
        raise BuildFailed(
            f"could not delete the OS disk snapshot {snapshot_id}: {azure_error(exc).text} "
            f"(delete it with: az snapshot delete --ids {snapshot_id})"
        ) from exc


def read_built(ctx: AzureContext, image_id: str, os_snapshot_id: str | None) -> Built:
    """The build's managed image as distribution needs it: its region, OS type and generation, read from Azure."""
    ref = parse_id(image_id)
    image = ctx.for_subscription(ref.subscription).compute.images.get(ref.resource_group, ref.name)
    os_disk = image.storage_profile.os_disk if image.storage_profile else None
    return Built(
        image_id=image_id,
        location=image.location,
        os_type=enum_text(os_disk.os_type) if os_disk and os_disk.os_type else "Linux",
        hyper_v_generation=enum_text(image.hyper_v_generation) or None,
        os_snapshot_id=os_snapshot_id,
    )
