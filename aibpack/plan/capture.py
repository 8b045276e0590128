"""What Packer itself delivers at the end of the build, and the build VM that suits it.

The azure-arm builder ends a build in one of two ways:

- it captures a managed image (``managed_image_name``). Every Packer since 1.6.6 can; ``aibpack run`` then makes
  every target from that image (a managed image is a gallery version's source: azure-compute-docs
  ``shared-image-galleries.md``, "Image source").
- it publishes the build VM straight to a gallery (``shared_image_gallery_destination`` with no managed image;
  packer-plugin-azure ``step_publish_to_shared_image_gallery.go`` then uses the VM as the version's source).
  Only the azure plugin v2 can: Packer 1.6.6 demands a managed image beside it. It saves the capture and the
  copy of the image into the version, and it is the only way for Trusted Launch and Confidential VMs, which
  Azure never captures to a managed image (hashicorp/packer#13189, "Creation of managed images are not
  supported for virtual machine with TrustedLaunch security type").

The gallery image definition decides, by its ``SecurityType`` feature (azure-compute-docs
``trusted-launch-portal.md``, "Deploy a Trusted Launch VM from an Azure Compute Gallery image"):

- ``TrustedLaunch`` and ``ConfidentialVM`` images carry the VM guest state: their source is a Trusted Launch (or
  Confidential) VM, so the build VM is one and publishes straight to the gallery;
- ``TrustedLaunchSupported``, ``TrustedLaunchAndConfidentialVmSupported`` and ``ConfidentialVMSupported`` images
  carry none. Azure refuses a Trusted Launch VM's security data in them ("contains TrustedLaunch or
  ConfidentialVM security data that cannot be used in image with 'TrustedLaunchSupported' security type") and
  takes only a VHD, a managed image or a gallery version as their source ("Currently only Vhd Blob, User Image and
  Gallery Image Version sources are supported for 'TrustedLaunchSupported' images", packer-plugin-azure#304).
  So they get a plain Gen2 build VM and the managed-image route, as AIB builds them
  (azure-compute-docs ``image-builder-overview.md``, "Confidential VM and Trusted Launch Support");
- a definition without the feature takes either route.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from aibpack.errors import AibpackError
from aibpack.model.distribute import SharedImageTarget, first_version
from aibpack.model.source import source_version
from aibpack.model.template import ImageTemplate

SecurityType = Literal["TrustedLaunch", "ConfidentialVM"]
SECURITY_TYPES: tuple[SecurityType, ...] = ("TrustedLaunch", "ConfidentialVM")
SECURITY_NAMES: dict[str, str] = {"TrustedLaunch": "Trusted Launch VM", "ConfidentialVM": "Confidential VM"}

# A definition's SecurityType → the security_type its build VM needs (the plugin's two values, config.go
# ``assertAllowedSecurityType``); the "...Supported" types need none and refuse a VM source.
_BUILD_SECURITY: dict[str, SecurityType] = {"trustedlaunch": "TrustedLaunch", "confidentialvm": "ConfidentialVM"}
_NO_VM_SOURCE = frozenset(
    {"trustedlaunchsupported", "trustedlaunchandconfidentialvmsupported", "confidentialvmsupported"}
)


@dataclass(frozen=True)
class Definition:
    """What a gallery image definition demands of its images, as Azure reports it (run's check stage reads it)."""

    security_type: str = ""  # the SecurityType feature; "" when the definition has none
    location: str = ""  # the definition's region

    @property
    def build_security(self) -> SecurityType | None:
        """The build VM's ``security_type`` this definition needs, if any."""
        return _BUILD_SECURITY.get(self.security_type.lower())

    @property
    def takes_vm_source(self) -> bool:
        """Whether a version of it can be published straight from the build VM."""
        return self.security_type.lower() not in _NO_VM_SOURCE


@dataclass(frozen=True)
class Capture:
    """What Packer delivers: a managed image (``gallery_target`` None), or a version of that SharedImage target.

    ``security_type`` makes the build VM a Trusted Launch or Confidential VM; ``gallery_region`` is the gallery
    definition's, when known (``run`` asks Azure).
    """

    gallery_target: int | None = None
    security_type: SecurityType | None = None
    gallery_region: str = ""


def compile_capture(template: ImageTemplate, security_type: SecurityType | None) -> Capture:
    """``compile --security-type``: a Trusted Launch (or Confidential) build published to the first gallery target.

    Without the option, compile keeps the managed-image route, which Packer 1.6.6 validates too.
    """
    if security_type is None:
        return Capture()
    galleries = _gallery_targets(template)
    if not galleries:
        raise AibpackError(
            f"--security-type {security_type} needs a SharedImage target: Azure keeps Trusted Launch and "
            "Confidential VM images only in a gallery, never as a managed image",
            path=("properties", "distribute"),
        )
    return Capture(galleries[0], security_type)


def run_capture(template: ImageTemplate, definitions: Mapping[int, Definition], gallery_direct: bool) -> Capture:
    """What Packer delivers for ``run``, from the definitions Azure reported (by target index).

    ``gallery_direct`` says the Packer at hand can publish straight to a gallery (Packer >= 1.7 with the azure
    plugin v2). A template whose only targets are galleries that take a VM source is published straight to the
    first one; a Trusted Launch or Confidential definition is, whatever the other targets.
    """
    secured = [(index, d) for index, d in sorted(definitions.items()) if d.build_security]
    if secured:
        index, definition = secured[0]
        for other, more in secured[1:]:
            if more.build_security != definition.build_security:
                raise AibpackError(
                    f"one build VM cannot be both {definition.build_security} (distribute[{index}]'s definition) "
                    f"and {more.build_security} (this target's definition): build them with separate templates",
                    path=("properties", "distribute", other),
                )
        for other, more in sorted(definitions.items()):
            if not more.takes_vm_source:
                raise AibpackError(
                    f"this target's gallery image definition is {more.security_type}, which Azure refuses to fill "
                    f'from a {definition.build_security} build ("contains TrustedLaunch or ConfidentialVM security '
                    f"data that cannot be used in image with '{more.security_type}' security type\"), and "
                    f"distribute[{index}]'s definition is {definition.security_type}: build them with separate "
                    "templates",
                    path=("properties", "distribute", other),
                )
        return Capture(index, definition.build_security, definition.location)
    galleries = _gallery_targets(template)
    direct = (
        gallery_direct
        and galleries
        and len(galleries) == len(template.properties.distribute)
        and all(definitions.get(i, Definition()).takes_vm_source for i in galleries)
        and not any(_shallow(template, i) for i in galleries)
        and len({_subscription(template, i) for i in galleries}) == 1
    )
    if not direct:
        return Capture()
    return Capture(galleries[0], None, definitions.get(galleries[0], Definition()).location)


def check_capture(template: ImageTemplate, capture: Capture) -> None:
    """Refuse, before anything exists, a target the capture cannot serve (each with the reason)."""
    if capture.gallery_target is None:
        return
    target = template.properties.distribute[capture.gallery_target]
    base = ("properties", "distribute", capture.gallery_target)
    if not isinstance(target, SharedImageTarget):
        raise AibpackError("Packer can publish only to a SharedImage target", path=base)
    for index in _gallery_targets(template):
        if _subscription(template, index) != _subscription(template, capture.gallery_target):
            raise AibpackError(
                f"a gallery version is made from another only in the same subscription (azure-compute-docs "
                f"image-version.md, Prerequisites), and there is no managed image to make this one from: the build "
                f"publishes straight to distribute[{capture.gallery_target}]; build this target with its own template",
                path=("properties", "distribute", index, "galleryImageId"),
            )
    if target.replication_mode == "Shallow":
        raise AibpackError(
            "a shallow-replicated version keeps depending on its source, and the source of a version published "
            "straight from the build VM is that VM, which Packer deletes (use replicationMode Full)",
            path=(*base, "replicationMode"),
        )
    if capture.security_type is None:
        return
    kind = f"{SECURITY_NAMES[capture.security_type]} (security_type {capture.security_type})"
    for index, other in enumerate(template.properties.distribute):
        if other.type in ("ManagedImage", "VHD"):
            raise AibpackError(
                f"the build VM is a {kind}, as distribute[{capture.gallery_target}]'s gallery image definition "
                f"needs, and Azure never captures such a VM to a managed image, which a {other.type} target is made "
                "from: publish to a gallery instead, or build this target from a template without it",
                path=("properties", "distribute", index),
            )


def packer_target(capture: Capture, managed_image_target: int | None) -> int | None:
    """The distribution target Packer delivers itself (so ``run`` only reads it back)."""
    return capture.gallery_target if capture.gallery_target is not None else managed_image_target


def default_gallery_version(template: ImageTemplate, target: SharedImageTarget) -> str:
    """The version a compiled file publishes when no one passes ``gallery_image_version``.

    An explicit version in ``galleryImageId`` is that; ``versioning: Source`` is the source's version;
    ``Latest`` can only be known by asking Azure, which ``aibpack run`` does, so it starts where Latest starts.
    """
    parts = target.gallery_image_id.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2].lower() == "versions":
        return parts[-1]
    if target.versioning is not None and target.versioning.scheme == "Source":
        return source_version(template.properties.source) or first_version(None)
    return first_version(target.versioning)


def _gallery_targets(template: ImageTemplate) -> list[int]:
    return [i for i, t in enumerate(template.properties.distribute) if isinstance(t, SharedImageTarget)]


def _subscription(template: ImageTemplate, index: int) -> str:
    target = template.properties.distribute[index]
    assert isinstance(target, SharedImageTarget)
    parts = target.gallery_image_id.split("/")
    return parts[2].lower() if len(parts) > 2 else ""


def _shallow(template: ImageTemplate, index: int) -> bool:
    target = template.properties.distribute[index]
    return isinstance(target, SharedImageTarget) and target.replication_mode == "Shallow"
