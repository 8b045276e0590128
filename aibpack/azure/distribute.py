"""Distribution: deliver the build to every ``distribute`` target, in parallel where Azure allows it.

Gallery targets (``gallery.py``), managed images (``images.py``) and VHDs (``vhd.py``) each run in their own thread
and fail alone: a target's failure, with Azure's error code and message, is captured in its own ``RunOutput``.
429s, 5xx and failed polls are retried by azure-core's policies; an operation that ends Failed is not retried.

One rule orders the gallery targets: "You need to wait for the image version to completely finish being built and
replicated before you can use the same managed image to create another image version" (azure-compute-docs
articles/virtual-machines/image-version.md, CLI and PowerShell notes). An image version is itself a valid source
for another version in the same subscription (same page, Prerequisites), so the first gallery version is made from
the managed image and the others from that version, all at once; ``benchmarks/distribute_parallel.py`` measures
this against one version after another from the managed image. Shallow versions, versions in another subscription,
and any version when the first failed, take the managed image in turn. The Azure SDK is imported inside the
functions (``aibpack compile`` must never load it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aibpack.errors import EXIT_USAGE, AibpackError
from aibpack.model.resource_id import parse_id
from aibpack.progress import Progress, Task

from .clients import AzureContext, azure_error
from .gallery import Source, is_shallow, publish, read_published
from .images import Place, copy_image, tag_in_place
from .results import Built, RunOutput, TargetFailed, norm_region
from .vhd import SharedAccess, export_vhd

if TYPE_CHECKING:
    from aibpack.model.distribute import SharedImageTarget
    from aibpack.model.template import ImageTemplate

__all__ = ["Built", "Place", "RunOutput", "check_distributable", "check_shallow", "distribute_all"]


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


def check_shallow(template: ImageTemplate, build_location: str, *, image_kept: bool) -> None:
    """Raise (exit 2) for a shallow gallery target aibpack cannot publish as Azure requires.

    ``image_kept``: the managed image the versions are made from stays after the run (a ManagedImage target in the
    build's region, or ``aibpack distribute``'s artifact) rather than going with the staging group.
    """
    for index, target in enumerate(template.properties.distribute):
        if target.type == "SharedImage" and is_shallow(target):
            _check_shallow(target, build_location, image_kept, ("properties", "distribute", index))


def _check_shallow(target: SharedImageTarget, build_location: str, image_kept: bool, path: tuple[Any, ...]) -> None:
    """Shallow replication publishes one replica in the source's region only (REST example
    GalleryImageVersion_Create_WithShallowReplicationMode.json; packer-plugin-azure config.go,
    ``use_shallow_replication``), and the version depends on its source image for good ("Shallow replication skips
    copying the image", azure-compute-docs articles/virtual-machines/shared-image-galleries.md)."""
    regions = [(r.name, r.replica_count) for r in target.target_regions or []]
    regions += [(name, 1) for name in target.replication_regions or []]
    if any(norm_region(name) != norm_region(build_location) or count != 1 for name, count in regions):
        raise AibpackError(
            f"replicationMode Shallow publishes one replica in the build's region only: give only "
            f"{build_location} with replicaCount 1, or use replicationMode Full",
            path=(*path, "targetRegions" if target.target_regions else "replicationRegions"),
            exit_code=EXIT_USAGE,
        )
    if not image_kept:
        raise AibpackError(
            "replicationMode Shallow keeps the version depending on its source image, which would go with the "
            f"staging resource group: add a ManagedImage target in {build_location} to keep the image, or use "
            "replicationMode Full",
            path=(*path, "replicationMode"),
            exit_code=EXIT_USAGE,
        )


# ---- the entry point -------------------------------------------------------------------------------------


def distribute_all(
    ctx: AzureContext,
    template: ImageTemplate,
    built: Built,
    *,
    run_tags: Mapping[str, str],
    run: str,
    progress: Progress | None = None,
    work: Place | None = None,
    tagged_by_packer: bool = False,
    keep_failed: bool = False,
    from_first_version: bool = True,
    published_target: int | None = None,
) -> list[RunOutput]:
    """Deliver ``built`` to every target of ``template``; results in template order.

    With ``published_target``, ``built`` is the gallery version Packer published straight from the build VM as
    that target: it is only read back, and is the first version the other gallery targets are made from.

    ``run`` names intermediates; ``work`` is where they go (the staging group), else each target's own group.
    ``tagged_by_packer``: the image Packer built already carries its target's tags. ``keep_failed``: leave a failed
    gallery version for debugging (``--keep-staging``) instead of deleting it. ``from_first_version`` False makes
    every gallery version from the managed image, one after another (the benchmark's comparison).
    """
    targets = list(template.properties.distribute)
    if not targets:
        return []
    progress = progress or Progress.silent()
    ctx.compute  # noqa: B018 - create the shared client before the threads do (cached_property is not locked)
    published = targets[published_target] if published_target is not None else None
    galleries = _GalleryOrder(built, [t for t in targets if t.type == "SharedImage"], from_first_version, published)
    vhds = sum(1 for t in targets if t.type == "VHD")
    access = SharedAccess(ctx, built.os_snapshot_id, vhds) if vhds and built.os_snapshot_id else None
    jobs: list[Callable[[], RunOutput]] = []
    tasks = [progress.task(target.run_output_name) for target in targets]
    for target, task in zip(targets, tasks, strict=True):
        tags = {**run_tags, **target.artifact_tags}
        if target is published:
            jobs.append(lambda t=target, k=task: read_published(ctx, t, built.image_id, k))
        elif target.type == "SharedImage":
            jobs.append(
                lambda t=target, g=tags, k=task: galleries.publish(
                    t, lambda source: publish(ctx, template, t, source, tags=g, task=k, keep_failed=keep_failed)
                )
            )
        elif target.type == "ManagedImage" and target.image_id.lower() == built.image_id.lower():
            jobs.append(lambda t=target, g=tags: tag_in_place(ctx, t, g, tagged_by_packer))
        elif target.type == "ManagedImage":
            jobs.append(lambda t=target, g=tags, k=task: copy_image(ctx, t, built, work=work, run=run, tags=g, task=k))
        else:
            jobs.append(lambda t=target, g=tags, k=task: export_vhd(ctx, t, built, access, g, k))
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="aibpack-dist") as pool:
        futures = [pool.submit(_guarded, *work) for work in zip(jobs, targets, tasks, strict=True)]
        return [f.result() for f in futures]


def _guarded(job: Callable[[], RunOutput], target: Any, task: Task) -> RunOutput:
    try:
        return job()
    except TargetFailed as exc:
        out = exc.output or RunOutput(target.run_output_name, target.type)
        out.provisioning_state, out.error = "Failed", exc.failure
    except Exception as exc:  # one target's failure must never lose the others' results
        out = RunOutput(target.run_output_name, target.type, error=azure_error(exc))
    assert out.error is not None
    task.finish(f"failed: {out.error.text}")
    return out


class _GalleryOrder:
    """Which source each gallery target gets, and when: the managed image feeds one version at a time.

    ``published``: the target whose version Packer published, which ``built`` then is; it is the first version.
    """

    def __init__(
        self,
        built: Built,
        targets: list[SharedImageTarget],
        from_first_version: bool,
        published: SharedImageTarget | None = None,
    ) -> None:
        self.image = Source(built.image_id, built.location)
        self.image_free = threading.Lock()
        self.first = next((t for t in targets if not is_shallow(t)), None) if from_first_version else None
        self.first_done = threading.Event()
        self.first_version: Source | None = None
        if published is not None:
            self.first, self.first_version = published, self.image
            self.first_done.set()

    def publish(self, target: SharedImageTarget, publish_from: Callable[[Source], RunOutput]) -> RunOutput:
        if target is self.first:
            try:
                with self.image_free:
                    out = publish_from(self.image)
                self.first_version = Source(out.artifact_id or "", self.image.location)
                return out
            finally:
                self.first_done.set()
        if self.first is not None and not is_shallow(target) and _same_subscription(target, self.first):
            self.first_done.wait()
            if self.first_version is not None:
                return publish_from(self.first_version)
        with self.image_free:
            return publish_from(self.image)


def _same_subscription(a: SharedImageTarget, b: SharedImageTarget) -> bool:
    return parse_id(a.gallery_image_id).subscription.lower() == parse_id(b.gallery_image_id).subscription.lower()
