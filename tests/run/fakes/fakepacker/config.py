"""The source block's values as the builder reads them, and config.go's checks (assertRequiredParametersSet), with
the plugin's messages."""

import re

from . import Failed

SEMVER = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")  # config.go validImageVersion


def text(config, key):
    value = config.get(key)
    return "" if value is None else str(value)


def flag(config, key):
    return str(config.get(key)).lower() == "true"


def prepare(c):
    """Raise the plugin's Prepare errors as its packersdk.MultiError prints them."""
    errs = []
    sig = (c.get("shared_image_gallery_destination") or [{}])[0]
    managed = c.get("managed_image_name") or c.get("managed_image_resource_group_name")
    if not c.get("managed_image_name") and not c.get("capture_container_name") and not sig.get("gallery_name"):
        errs.append(
            "A capture_container_name, managed_image_name and managed_image_resource_group_name, or "
            "shared_image_gallery_destination must be specified"
        )
    if bool(c.get("managed_image_name")) != bool(c.get("managed_image_resource_group_name")):
        errs.append("managed_image_name and managed_image_resource_group_name must be specified together")
    if c.get("managed_image_name") and c.get("security_type") == "ConfidentialVM":
        errs.append(
            "Setting a security type of 'ConfidentialVM' is not allowed when building a VHD or creating a Managed "
            "Image, only when publishing directly to Shared Image Gallery"
        )
    if managed and (c.get("secure_boot_enabled") or c.get("vtpm_enabled")):
        errs.append(
            "A managed image (managed_image_name, managed_image_resource_group_name) can not set SecureBoot or "
            "VTpm, these features are only supported when directly publishing to a Shared Image Gallery"
        )
    if bool(c.get("location")) == bool(c.get("build_resource_group_name")):
        errs.append(
            "Specify either a location to create the resource group in or an existing build_resource_group_name, "
            "but not both."
        )
    if c.get("security_type") and c["security_type"] not in ("TrustedLaunch", "ConfidentialVM"):
        errs.append(f'The security_type "{c["security_type"]}" must match either "TrustedLaunch" or "ConfidentialVM".')
    if sig.get("gallery_name"):
        if not sig.get("resource_group"):
            errs.append("A resource_group must be specified for shared_image_gallery_destination")
        if not sig.get("image_name"):
            errs.append("An image_name must be specified for shared_image_gallery_destination")
        if not SEMVER.match(str(sig.get("image_version", ""))):
            errs.append(
                "An image_version must be specified for shared_image_gallery_destination and must follow the "
                "Major(int).Minor(int).Patch(int) format"
            )
        if sig.get("replication_regions") and sig.get("target_region"):
            errs.append(
                "`replicated_regions` can not be defined alongside `target_region`; you can define a target_region "
                "for each destination region you wish to replicate to."
            )
    if errs:
        raise Failed(f"{len(errs)} error(s) occurred:\n\n" + "\n".join(f"* {e}" for e in errs))
