"""Azure's rules for the Compute resources aibpack writes, as the fake enforces them, each beside its source.

Where Azure's documentation states a rule but no error text, the code and message here are the fake's own
wording and say so; where a public report shows Azure's answer, the fake answers the same.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from .replies import Response, error, parse_resource, region

Record = dict[str, Any]
Lookup = Callable[[str], Record | None]

DISKS = "microsoft.compute/disks"
SNAPSHOTS = "microsoft.compute/snapshots"
IMAGES = "microsoft.compute/images"
VERSIONS = "microsoft.compute/galleries/images/versions"

# Disks, snapshots and images: 1-80 characters, alphanumerics, underscores, periods and hyphens, starting with an
# alphanumeric and ending with an alphanumeric or underscore (azure-docs articles/azure-resource-manager/management/
# resource-name-rules.md, Microsoft.Compute; the same pattern Azure/azure-rest-api-specs#43895 adds to DiskRP from the
# service's own validation). A bad name is answered "InvalidParameter: The value of parameter snapshot.name is invalid."
# (Azure/azure-cli#18174; "disk.name" in microsoft/AzureStorageExplorer#4425).
NAME_RULE = re.compile(r"^[^_\W][\w.-]{0,79}(?<![-.])$")
_NAME_PARAMETER = {DISKS: "disk", SNAPSHOTS: "snapshot", IMAGES: "image"}
# Gallery image versions: "Allowed characters for the image version are numbers and periods. Numbers must be
# within the range of a 32-bit integer. Format: MajorVersion.MinorVersion.Patch" (azure-compute-docs
# articles/virtual-machines/image-version.md, Prerequisites).
_VERSION_NAME = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_INT32_MAX = 2**31 - 1
# "Once created, you can make some changes to the gallery resources. These are limited to: ... Image version:
# Regional replica count, Target regions, Exclude from latest, End of life date" (azure-compute-docs
# articles/virtual-machines/shared-image-galleries.md, "Updating resources").
UPDATABLE_PUBLISHING = {"targetregions", "replicacount", "excludefromlatest", "endoflifedate"}
_MANAGED_IMAGE_ID = re.compile(r"/providers/microsoft\.compute/images/[^/]+$", re.IGNORECASE)


def check_name(full_type: str, name: str) -> Response | None:
    parameter = _NAME_PARAMETER.get(full_type.lower())
    if parameter and not NAME_RULE.match(name):
        return error(
            400, "InvalidParameter", f"The value of parameter {parameter}.name is invalid.", f"{parameter}.name"
        )
    if full_type.lower() == VERSIONS:
        match = _VERSION_NAME.match(name)
        if not match or any(int(part) > _INT32_MAX for part in match.groups()):
            # The rule is image-version.md's (above); the wording is the fake's.
            return error(
                400,
                "InvalidParameter",
                f"The gallery image version name '{name}' is invalid: it must be MajorVersion.MinorVersion.Patch "
                "with numbers in the range of a 32-bit integer.",
                "galleryImageVersionName",
            )
    return None


# ---- background copies (CopyStart) -------------------------------------------------------------------------


def copy_percent(record: Record) -> float | None:
    """``completionPercent`` of a snapshot made by CopyStart, None for any other resource."""
    job = record.get("_copy")
    if job is None:
        return record.get("properties", {}).get("completionPercent")
    return job_fraction(job) * 100.0


def job_fraction(job: dict[str, Any]) -> float:
    """How far a background job is, 0..1: it needs both ``total`` polls and ``delay`` seconds to finish."""
    by_polls = job["done"] / job["total"] if job["total"] else 1.0
    by_time = (time.monotonic() - job["started"]) / job["delay"] if job["delay"] else 1.0
    return max(0.0, min(1.0, by_polls, by_time))


def check_usable(record: Record) -> Response | None:
    """A CopyStart snapshot can be used only when complete: "The value of the property [CompletionPercent] must be
    100 before you can use the snapshot for restoring disk or generate a SAS URI for downloading the underlying data"
    (azure-compute-docs articles/virtual-machines/disks-copy-incremental-snapshot-across-regions.md, "Check copy
    status"). The code and wording of the refusal are the fake's."""
    job = record.get("_copy")
    if job is None:
        return None
    if job.get("error"):
        failure = job["error"]
        return error(409, "OperationNotAllowed", f"{record['name']}: {failure['errorCode']}: {failure['errorMessage']}")
    percent = copy_percent(record) or 0.0
    return error(
        409,
        "OperationNotAllowed",
        f"The snapshot '{record['name']}' is still being copied (completionPercent {percent:.0f}); it can be used "
        "once completionPercent is 100.",
    )


# ---- disks, snapshots, images --------------------------------------------------------------------------------


def check_disk_or_snapshot(lookup: Lookup, full_type: str, location: str, body: Record) -> Response | None:
    """How a disk or snapshot may be created from another resource."""
    creation = (body.get("properties") or {}).get("creationData") or {}
    option = (creation.get("createOption") or "").lower()
    reference = (creation.get("imageReference") or {}).get("id") or ""
    if option == "fromimage" and _MANAGED_IMAGE_ID.search(reference):
        # A managed image is no imageReference for a disk: New-AzDisk answered 400 "InvalidParameter: The value of
        # parameter imageReference is invalid." (Azure/azure-powershell#14000; "Creating a disk from an `image` is
        # not supported", Azure/azure-cli#6081).
        return error(400, "InvalidParameter", "The value of parameter imageReference is invalid.", "imageReference")
    source_id = creation.get("sourceResourceId") or ""
    source = lookup(source_id) if source_id else None
    if source is None:
        return None
    if option == "copystart":
        # "Only incremental snapshots can be copied across regions. Full snapshots can't be copied across regions."
        # (disks-copy-incremental-snapshot-across-regions.md, Restrictions); the copy is itself an incremental
        # snapshot (the same page's ARM template: "createOption": "CopyStart", "incremental": true).
        props = body.get("properties") or {}
        if full_type.lower() != SNAPSHOTS or not props.get("incremental"):
            return error(400, "InvalidParameter", "CopyStart creates only incremental snapshots.", "incremental")
        if source["type"].lower() != SNAPSHOTS or not source["properties"].get("incremental"):
            return error(
                400,
                "InvalidParameter",
                f"'{source_id}' is not an incremental snapshot: only incremental snapshots can be copied across "
                "regions.",
                "sourceResourceId",
            )
    elif option == "copy" and region(source.get("location")) != region(location):
        # Copy stays in the source's region; crossing regions is CopyStart's job (Azure/azure-cli#22370: "For
        # incremental snapshot use CreateOption Copy if same region and use CreateOption CopyStart if different
        # region"). The wording is the fake's.
        return error(
            400,
            "InvalidParameter",
            f"The source '{source_id}' is in region '{source.get('location')}', not '{location}': Copy needs a "
            "source in the same region (use CopyStart for an incremental snapshot).",
            "sourceResourceId",
        )
    return check_usable(source)


def check_image(lookup: Lookup, location: str, body: Record) -> Response | None:
    """A managed image is made from a disk or snapshot in its own region: "The Images need to be created from sources
    in the same Azure region" (Azure/azure-cli#3809, a maintainer's answer). The wording is the fake's.

    Nor is it made from a Trusted Launch (or Confidential) VM: "OperationNotAllowed: Creation of managed images are not
    supported for virtual machine with TrustedLaunch security type." (hashicorp/packer#13189; azure-compute-docs
    trusted-launch-portal.md: "Creation of managed images isn't supported for Trusted Launch VMs")."""
    vm_id = ((body.get("properties") or {}).get("sourceVirtualMachine") or {}).get("id") or ""
    security = vm_security(lookup(vm_id) if vm_id else None)
    if security:
        return error(
            409,
            "OperationNotAllowed",
            f"Creation of managed images are not supported for virtual machine with {security} security type.",
        )
    os_disk = ((body.get("properties") or {}).get("storageProfile") or {}).get("osDisk") or {}
    for key in ("snapshot", "managedDisk"):
        source_id = (os_disk.get(key) or {}).get("id") or ""
        source = lookup(source_id) if source_id else None
        if source is None:
            continue
        if region(source.get("location")) != region(location):
            return error(
                400,
                "InvalidParameter",
                f"The source '{source_id}' is in region '{source.get('location')}', not the image's '{location}'.",
                f"storageProfile.osDisk.{key}",
            )
        if problem := check_usable(source):
            return problem
    return None


# ---- gallery image versions ----------------------------------------------------------------------------------


def version_source(record: Record) -> str:
    source = ((record.get("properties") or {}).get("storageProfile") or {}).get("source") or {}
    return (source.get("id") or source.get("virtualMachineId") or "").lower()


def target_regions(record: Record) -> list[str]:
    profile = (record.get("properties") or {}).get("publishingProfile") or {}
    return [r.get("name", "") for r in profile.get("targetRegions") or []] or [record.get("location", "")]


def check_version_create(lookup: Lookup, others: Iterable[Record], location: str, body: Record) -> Response | None:
    """A new gallery image version: where it lives, what its source may be, and shallow replication."""
    props = body.get("properties") or {}
    profile = props.get("publishingProfile") or {}
    regions = [region(r.get("name")) for r in profile.get("targetRegions") or []]
    if regions and region(location) not in regions:
        # Azure's answer when the version's own region is not a target region (hashicorp/packer#8895): "Gallery
        # image version publishing profile regions 'northeurope' must contain the location of image version
        # 'East US'." "You need to replicate to the source region" (image-version.md, Portal steps).
        names = ", ".join(r.get("name", "") for r in profile.get("targetRegions") or [])
        return error(
            400,
            "InvalidParameter",
            f"Gallery image version publishing profile regions '{names}' must contain the location of image "
            f"version '{location}'.",
            "galleryImageVersion.properties.publishingProfile.targetRegions",
        )
    if (profile.get("replicationMode") or "").lower() == "shallow":
        # Shallow replication publishes in the source region only, one replica: REST example
        # GalleryImageVersion_Create_WithShallowReplicationMode.json (Azure/azure-rest-api-specs, GalleryRP
        # 2024-03-03) and packer-plugin-azure builder/azure/arm/config.go (use_shallow_replication: "they can only
        # replicate to the build region and must have a replica count of 1"). The wording is the fake's.
        counts = [r.get("regionalReplicaCount", 1) for r in profile.get("targetRegions") or []]
        if regions not in ([], [region(location)]) or any(c != 1 for c in counts):
            return error(
                400,
                "InvalidParameter",
                "Shallow replication publishes one replica in the image version's own region only.",
                "galleryImageVersion.properties.publishingProfile.targetRegions",
            )
    source_id = version_source(body)
    source = lookup(source_id) if source_id else None
    if source is None:
        return None
    if source["type"].lower() == IMAGES:
        # "Managed image: ... The managed image must be in the same region that you chose in Instance details"
        # (image-version.md, Portal steps). The wording is the fake's.
        if region(source.get("location")) != region(location):
            return error(
                400,
                "InvalidParameter",
                f"The managed image '{source['id']}' is in region '{source.get('location')}'; an image version made "
                f"from it must be created in that region, not '{location}'.",
                "galleryImageVersion.properties.storageProfile.source.id",
            )
        # "You need to wait for the image version to completely finish being built and replicated before you can use
        # the same managed image to create another image version." (image-version.md, CLI and PowerShell notes).
        for other in others:
            state = other["properties"].get("provisioningState")
            if version_source(other) == source_id and state in ("Creating", "Updating"):
                return error(
                    409,
                    "OperationNotAllowed",
                    f"The managed image '{source['id']}' is the source of image version '{other['id']}', which is "
                    "still being built and replicated; wait for it to finish before making another image version "
                    "from the same managed image.",
                )
    elif source["type"].lower() == VERSIONS:
        # "ensure that the source image version's region or replica and target region are the same"
        # (image-version.md, "Create an image version ... using the source image version in another tenant").
        ready = source["properties"].get("provisioningState") == "Succeeded"
        if not ready or region(location) not in {region(r) for r in target_regions(source)}:
            return error(
                400,
                "InvalidParameter",
                f"The source image version '{source['id']}' has no completed replica in '{location}'.",
                "galleryImageVersion.properties.storageProfile.source.id",
            )
    return None


# A definition's SecurityType (azure-compute-docs trusted-launch-portal.md, "Deploy a Trusted Launch VM from an Azure
# Compute Gallery image"): these images carry the VM guest state...
GUEST_STATE = ("trustedlaunch", "confidentialvm")
# ...these carry none ("TrustedLaunchSupported is a generic Gen2 image that does not contain the VMGS blob",
# Azure/azure-cli#26632).
NO_GUEST_STATE = ("trustedlaunchsupported", "trustedlaunchandconfidentialvmsupported", "confidentialvmsupported")


def security_type(definition: Record | None) -> str:
    """A gallery image definition's ``SecurityType`` feature ("" when it has none)."""
    for feature in ((definition or {}).get("properties") or {}).get("features") or []:
        if str(feature.get("name", "")).lower() == "securitytype":
            return str(feature.get("value") or "")
    return ""


def vm_security(vm: Record | None) -> str:
    """A VM's Trusted Launch or Confidential security type ("" for a standard VM or no VM)."""
    security = (((vm or {}).get("properties") or {}).get("securityProfile") or {}).get("securityType") or ""
    return security if security.lower() in GUEST_STATE else ""


def check_version_security(lookup: Lookup, definition: Record | None, body: Record) -> Response | None:
    """A version's source must suit its definition's security type.

    - ``TrustedLaunch``/``ConfidentialVM``: a Trusted Launch (or Confidential) VM, its OS disk or snapshot, or such a
      gallery version (trusted-launch-portal.md, "Trusted Launch VM images"); never a managed image, which such a VM
      cannot even be captured to (trusted-launch-faq.md, "Is Azure Compute Gallery supported by Trusted Launch?").
    - the ``...Supported`` types: a VHD, a managed image ("User Image") or a gallery version, never a VM (Azure's
      InvalidParameter, quoted in hashicorp/packer-plugin-azure#304 and microsoft/STL#4682), and never a Trusted
      Launch or Confidential VM's security data (Azure's Conflict, quoted in a public AVD image runbook: "contains
      TrustedLaunch or ConfidentialVM security data that cannot be used in image with 'TrustedLaunchSupported'
      security type").
    The managed-image refusal has the shape of the VM one; its list of sources is the documentation's.
    """
    security = security_type(definition)
    given = ((body.get("properties") or {}).get("storageProfile") or {}).get("source") or {}
    source_id = given.get("id") or given.get("virtualMachineId") or ""  # as given, for the message
    source = lookup(source_id) if source_id else None
    kind = (source or {}).get("type", "").lower()
    if security.lower() in GUEST_STATE:
        if kind == IMAGES or _MANAGED_IMAGE_ID.search(source_id):
            return _not_supported(
                security, source_id, "Virtual Machine, Managed Disk, Snapshot and Gallery Image Version"
            )
        return None
    if security.lower() not in NO_GUEST_STATE:
        return None
    secured = vm_security(source) or (
        kind == VERSIONS and security_type(lookup(source_id.rsplit("/versions/", 1)[0])).lower() in GUEST_STATE
    )
    if secured:
        return error(
            409,
            "Conflict",
            f"The source '{source_id}' contains TrustedLaunch or ConfidentialVM security data that cannot be used in "
            f"image with '{security}' security type. Please use either TrustedLaunch or ConfidentialVM security type.",
        )
    if "/providers/microsoft.compute/virtualmachines/" in source_id.lower():
        return _not_supported(security, source_id, "Vhd Blob, User Image and Gallery Image Version")
    return None


def _not_supported(security: str, source_id: str, sources: str) -> Response:
    return error(
        400,
        "InvalidParameter",
        f"The security type '{security}' is not supported for the source id '{source_id}'. Currently only {sources} "
        f"sources are supported for '{security}' images.",
    )


def check_version_update(existing: Record, body: Record) -> Response | None:
    """A PUT or PATCH on an existing version is an update: only what shared-image-galleries.md lets change may differ.

    The refusal is Azure's PropertyChangeNotAllowed, "Changing property '...' is not allowed." (Azure/bicep-types-az
    #2430; the same code for a gallery image version PUT over an existing one, cloudfoundry/bosh-azure-cpi-release
    #720). ``replicationMode`` and ``storageAccountType`` are "not updatable" (GalleryRP.json,
    GalleryArtifactPublishingProfileBase / GalleryImageVersionPublishingProfile).
    """
    props = body.get("properties") or {}
    old = existing.get("properties") or {}
    if body.get("location") and region(body["location"]) != region(existing.get("location")):
        # ARM's answer to a PUT that moves a resource (ARM RPC, "PUT Resource": the location can't change).
        return error(
            409,
            "InvalidResourceLocation",
            f"The resource '{existing['name']}' already exists in location '{existing.get('location')}' in resource "
            f"group. A resource with the same name cannot be created in location '{body['location']}'.",
        )
    new_source = version_source(body)
    if new_source and new_source != version_source(existing):
        return _property_change("galleryImageVersion.properties.storageProfile.source.id")
    new_profile = {k.lower(): v for k, v in (props.get("publishingProfile") or {}).items()}
    old_profile = {k.lower(): v for k, v in (old.get("publishingProfile") or {}).items()}
    for key, value in new_profile.items():
        if key in UPDATABLE_PUBLISHING or key == "publisheddate":
            continue
        if value != old_profile.get(key, value if key != "replicationmode" else "Full"):
            return _property_change(f"galleryImageVersion.properties.publishingProfile.{key}")
    return None


def _property_change(name: str) -> Response:
    return error(409, "PropertyChangeNotAllowed", f"Changing property '{name}' is not allowed.", name)


def is_child_of_this_fake(resource_id: str, subscriptions: set[str]) -> bool:
    parsed = parse_resource(resource_id)
    return bool(parsed and parsed[0].lower() in subscriptions)
