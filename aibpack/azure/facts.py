"""What Azure says about an image: its OS, its Hyper-V generation and, for a gallery definition, its state.

Compile can only guess these from names; ``run`` and ``distribute`` ask. The fields, from azure-rest-api-specs
(Microsoft.Compute, ComputeRP and GalleryRP):
- platform images (virtualMachineImage.json): ``VirtualMachineImages_List`` with ``$orderby=name desc`` and
  ``$top=1`` gives the newest version, as the azure plugin resolves ``latest`` (packer-plugin-azure
  builder/azure/chroot/step_resolve_plaform_image_version.go); ``VirtualMachineImages_Get`` gives
  ``properties.osDiskImage.operatingSystem`` and ``properties.hyperVGeneration``;
- managed images (image.json): ``properties.storageProfile.osDisk.osType`` and ``osState``,
  ``properties.hyperVGeneration``;
- gallery image definitions (galleryRPCommon / gallery.json): ``properties.osType``, ``osState``,
  ``hyperVGeneration``, and the ``SecurityType`` entry of ``features`` (a list of name/value pairs,
  ``GalleryImageFeature``). A version takes its definition's.
A missing ``hyperVGeneration`` means V1, Azure's default for images (image.json ``HyperVGenerationTypes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aibpack.errors import BuildFailed
from aibpack.model.resource_id import parse_id

from .clients import describe_error, enum_text

if TYPE_CHECKING:
    from aibpack.model.source import Source

    from .clients import AzureContext


@dataclass(frozen=True)
class ImageFacts:
    os_type: str  # Linux | Windows
    generation: str  # V1 | V2
    os_state: str = "Generalized"  # Generalized | Specialized
    location: str = ""
    guessed: bool = False  # from the image's names, not from Azure: its generation is only a guess
    security_type: str = ""  # a gallery definition's SecurityType feature (TrustedLaunch, ...); "" when none


class NotListed(BuildFailed):
    """A platform image the region's catalogue does not list (Packer would fail on it too, later)."""


def platform_image_facts(
    ctx: AzureContext, location: str, publisher: str, offer: str, sku: str, version: str
) -> ImageFacts:
    from azure.core.exceptions import ResourceNotFoundError

    images = ctx.compute.virtual_machine_images
    urn = f"{publisher}:{offer}:{sku}:{version or 'latest'}"
    try:
        if not version or version.lower() == "latest":
            newest = images.list(location, publisher, offer, sku, top=1, orderby="name desc")
            if not newest:
                raise NotListed(f"{urn} could not be found in location {location}")
            version = newest[0].name
        image = images.get(location, publisher, offer, sku, version)
    except ResourceNotFoundError:
        raise NotListed(f"{urn} could not be found in location {location}") from None
    os_disk = getattr(image, "os_disk_image", None)
    return ImageFacts(
        enum_text(getattr(os_disk, "operating_system", None)) or "Linux",
        enum_text(image.hyper_v_generation) or "V1",
    )


def managed_image_facts(ctx: AzureContext, image_id: str) -> ImageFacts:
    ref = parse_id(image_id)
    image = ctx.for_subscription(ref.subscription).compute.images.get(ref.resource_group, ref.name)
    os_disk = image.storage_profile.os_disk if image.storage_profile else None
    return ImageFacts(
        enum_text(getattr(os_disk, "os_type", None)) or "Linux",
        enum_text(image.hyper_v_generation) or "V1",
        enum_text(getattr(os_disk, "os_state", None)) or "Generalized",
        image.location,
    )


def definition_facts(ctx: AzureContext, definition_id: str) -> ImageFacts:
    ref = parse_id(definition_id.split("/versions/")[0])
    gallery, image = ref.names
    definition = ctx.for_subscription(ref.subscription).compute.gallery_images.get(ref.resource_group, gallery, image)
    security = next(
        (enum_text(f.value) for f in definition.features or [] if str(f.name or "").lower() == "securitytype"),
        "",
    )
    return ImageFacts(
        enum_text(definition.os_type) or "Linux",
        enum_text(definition.hyper_v_generation) or "V1",
        enum_text(definition.os_state),
        str(definition.location or ""),
        security_type=security,
    )


def source_facts(ctx: AzureContext, source: Source, location: str, version: str | None = None) -> ImageFacts:
    """The build's source image, as Azure describes it; ``BuildFailed`` naming the source when it cannot.

    ``version``: what a marketplace ``latest`` was resolved to (then no list is needed)."""
    from azure.core.exceptions import AzureError

    from aibpack.model.source import ManagedImageSource, PlatformImageSource, SharedImageVersionSource

    try:
        if isinstance(source, PlatformImageSource):
            return platform_image_facts(
                ctx, location, source.publisher, source.offer, source.sku, version or source.version or "latest"
            )
        if isinstance(source, ManagedImageSource):
            return managed_image_facts(ctx, source.image_id)
        assert isinstance(source, SharedImageVersionSource)
        return definition_facts(ctx, source.image_version_id)
    except AzureError as exc:
        raise BuildFailed(
            f"could not read the source image: {describe_error(exc)}", path=("properties", "source")
        ) from exc
    except BuildFailed as exc:
        raise type(exc)(exc.message, path=("properties", "source")) from None
