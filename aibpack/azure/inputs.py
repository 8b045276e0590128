"""What Azure already holds for a build: the version a source's ``latest`` is today, and the artifacts published
with a given ``aibpackInputs`` tag. Read-only: nothing here writes to Azure.

The Azure SDK is imported inside the functions (``aibpack compile`` must never load it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aibpack.errors import BuildFailed, JsonPath
from aibpack.inputs import TAG, offline_source, platform_reference
from aibpack.model.resource_id import parse_id
from aibpack.model.source import PlatformImageSource, SharedImageVersionSource

from .clients import AzureContext, describe_error
from .gallery import region_statuses
from .results import RegionStatus, RunOutput
from .vhd import blob_client, strip_sas

if TYPE_CHECKING:
    from aibpack.model.template import ImageTemplate

_SOURCE_PATH: JsonPath = ("properties", "source")


@dataclass(frozen=True)
class ResolvedSource:
    """The source as the digest names it; ``version`` is what ``latest`` became (Packer then builds exactly it).

    ``unlisted`` says why ``latest`` could not be resolved (the region's catalogue does not list the image): Packer
    resolves it itself then, and nothing built from it can be known to be up to date.
    """

    reference: str
    version: str | None = None
    unlisted: str | None = None


def version_key(name: str) -> tuple[int, ...] | None:
    """A version name as numbers, so that ``10.0.1`` comes after ``9.9.9``; None when a part is not a number.

    Marketplace versions are Major.Minor.Build of decimal numbers (REST spec Azure/azure-rest-api-specs, compute
    ``ImageReference.version``); a gallery's ``latest`` is its highest MajorVersion, then MinorVersion, then Patch
    (azure-compute-docs ``articles/virtual-machines/shared-image-galleries.md``, "Image versions").
    """
    parts = name.split(".")
    if not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def _highest(names: list[str]) -> str | None:
    keyed = [(key, name) for name in names if (key := version_key(name)) is not None]
    return max(keyed)[1] if keyed else None


def resolve_source(ctx: AzureContext, template: ImageTemplate) -> ResolvedSource:
    """The source image with ``latest`` resolved as Azure would resolve it now; a ``BuildFailed`` if it can't be."""
    from azure.core.exceptions import AzureError

    source = template.properties.source
    known = offline_source(source)
    if known is not None:
        return ResolvedSource(known)
    try:
        if isinstance(source, PlatformImageSource):
            return _latest_platform_image(ctx, source, template.location)
        assert isinstance(source, SharedImageVersionSource)
        return _latest_gallery_version(ctx, source.image_version_id)
    except AzureError as exc:
        message = f"could not resolve the source's latest version: {describe_error(exc)}"
        raise BuildFailed(message, path=_SOURCE_PATH) from exc


def _latest_platform_image(ctx: AzureContext, source: PlatformImageSource, location: str) -> ResolvedSource:
    """The highest version of a marketplace SKU in the build's region, through ``virtual_machine_images.list``.

    Every version is listed and compared as numbers: the list's own order (and ``$orderby=name``) is text.
    """
    from azure.core.exceptions import ResourceNotFoundError

    urn = platform_reference(source, "latest")
    try:
        listed = ctx.compute.virtual_machine_images.list(location, source.publisher, source.offer, source.sku)
    except ResourceNotFoundError:  # Azure's answer for an unknown SKU (danielsollondon/azvmimagebuilder#80)
        listed = []
    version = _highest([image.name for image in listed if image.name])
    if version is None:
        why = f"{urn} is not listed in {location}'s marketplace catalogue"
        return ResolvedSource(f"{urn} (unlisted)", unlisted=why)
    return ResolvedSource(platform_reference(source, version), version)


def _latest_gallery_version(ctx: AzureContext, version_id: str) -> ResolvedSource:
    """The highest version of a gallery image definition not excluded from latest: its full version ID."""
    parsed = parse_id(version_id)
    group, (gallery, image, _latest) = parsed.resource_group, parsed.names
    compute = ctx.for_subscription(parsed.subscription).compute
    candidates = {
        version.name: version
        for version in compute.gallery_image_versions.list_by_gallery_image(group, gallery, image)
        if version.name
        and version.provisioning_state == "Succeeded"
        and not (version.publishing_profile and version.publishing_profile.exclude_from_latest)
    }
    name = _highest(list(candidates))
    if name is None:
        raise BuildFailed(
            f"gallery image {gallery}/{image} has no version to take as latest (none succeeded and not excluded "
            "from latest)",
            path=(*_SOURCE_PATH, "imageVersionId"),
        )
    return ResolvedSource(candidates[name].id or f"{version_id.rsplit('/', 1)[0]}/{name}", name)


# ---- artifacts published with a digest ----------------------------------------------------------------------


@dataclass
class Published:
    """Per target, the artifact already carrying the digest; and what a new build would have to replace."""

    outputs: list[RunOutput] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # runOutputNames of targets without such an artifact
    # ManagedImage targets whose ID is taken: by an image aibpack published (tagged, to be replaced by the build)
    # or by one it did not (a build must not delete it): (JSON path of imageId, image ID).
    replaceable: list[str] = field(default_factory=list)
    foreign: list[tuple[JsonPath, str]] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.missing


def _tag(tags: dict[str, str] | None) -> str | None:
    """The aibpackInputs tag; Azure tag names compare case-insensitively."""
    return next((value for name, value in (tags or {}).items() if name.lower() == TAG.lower()), None)


def find_published(ctx: AzureContext, template: ImageTemplate, digest: str) -> Published:
    """Look at every distribution target for an artifact tagged ``aibpackInputs=<digest>``.

    A gallery target given as an image definition (versioning Latest or Source) counts any version of the definition
    with the tag; an explicit version, a managed image or a VHD blob counts only itself.
    """
    from azure.core.exceptions import AzureError

    published = Published()
    for index, target in enumerate(template.properties.distribute):
        try:
            if target.type == "ManagedImage":
                found = _managed_image(ctx, target, digest, published, ("properties", "distribute", index, "imageId"))
            elif target.type == "SharedImage":
                found = _gallery_version(ctx, target, digest)
            else:
                found = _vhd(ctx, target, digest)
        except AzureError as exc:
            raise BuildFailed(
                f"could not look for an artifact already built from these inputs: {describe_error(exc)}",
                path=("properties", "distribute", index),
            ) from exc
        if found is None:
            published.missing.append(target.run_output_name)
        else:
            published.outputs.append(found)
    return published


def _succeeded(output: RunOutput) -> RunOutput:
    output.provisioning_state = "Succeeded"
    return output


def _managed_image(
    ctx: AzureContext, target: Any, digest: str, published: Published, path: JsonPath
) -> RunOutput | None:
    from azure.core.exceptions import ResourceNotFoundError

    parsed = parse_id(target.image_id)
    try:
        image = ctx.for_subscription(parsed.subscription).compute.images.get(parsed.resource_group, parsed.name)
    except ResourceNotFoundError:
        return None
    tag = _tag(image.tags)
    if tag is None:
        published.foreign.append((path, target.image_id))
    else:
        published.replaceable.append(target.image_id)
    if tag != digest or image.provisioning_state != "Succeeded":
        return None
    regions = [RegionStatus(image.location, "Completed")]
    return _succeeded(RunOutput(target.run_output_name, "ManagedImage", artifact_id=target.image_id, regions=regions))


def _gallery_version(ctx: AzureContext, target: Any, digest: str) -> RunOutput | None:
    from azure.core.exceptions import ResourceNotFoundError

    parsed = parse_id(target.gallery_image_id)
    group, (gallery, image, *explicit) = parsed.resource_group, parsed.names
    versions = ctx.for_subscription(parsed.subscription).compute.gallery_image_versions
    if explicit:
        candidates = [explicit[0]]
    else:
        try:
            listed = list(versions.list_by_gallery_image(group, gallery, image))
        except ResourceNotFoundError:
            return None
        tagged = [v.name for v in listed if v.name and _tag(v.tags) == digest and v.provisioning_state == "Succeeded"]
        candidates = [name for name in [_highest(tagged)] if name]
    for name in candidates:
        try:
            version = versions.get(group, gallery, image, name, expand="ReplicationStatus")
        except ResourceNotFoundError:
            return None
        if _tag(version.tags) != digest or version.provisioning_state != "Succeeded":
            return None
        regions = region_statuses(version)
        return _succeeded(RunOutput(target.run_output_name, "SharedImage", artifact_id=version.id, regions=regions))
    return None


def _vhd(ctx: AzureContext, target: Any, digest: str) -> RunOutput | None:
    """A VHD blob counts when its metadata carries the tag (distribution writes the tags there)."""
    from azure.core.exceptions import HttpResponseError

    if not target.uri:
        return None
    blob = blob_client(ctx, target.uri)
    try:
        properties = blob.get_blob_properties()
    except HttpResponseError:
        return None  # absent, or not readable with this SAS: build it again
    if _tag(properties.metadata) != digest:
        return None
    return _succeeded(RunOutput(target.run_output_name, "VHD", artifact_uri=strip_sas(target.uri)))
