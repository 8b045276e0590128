"""The ``source "azure-arm"`` block: where the VM comes from, its shape, and how Packer reaches it."""

from __future__ import annotations

import re

from aibpack.errors import Diagnostics
from aibpack.model.customize import PowerShellStep, WindowsRestartStep, WindowsUpdateStep
from aibpack.model.distribute import SharedImageTarget, version_regions
from aibpack.model.resource_id import parse_resource_id
from aibpack.model.source import ManagedImageSource, PlatformImageSource, SharedImageVersionSource
from aibpack.model.template import ImageTemplate
from aibpack.plan.build import Attribute, Block, Expr, OsType
from aibpack.plan.capture import Capture

DEFAULT_VM_SIZE = "Standard_D1_v2"
DEFAULT_VM_SIZE_GEN2 = "Standard_D2ds_v4"
WINDOWS_PUBLISHERS = {
    "microsoftwindowsserver",
    "microsoftwindowsdesktop",
    "microsoftsqlserver",
    "microsoftvisualstudio",
    "microsoftwindowsserverhpcpack",
    "microsoftbiztalkserver",
    "microsoftsharepoint",
    "microsoftdynamicsax",
    "microsoft-dsvm",
}
_WINDOWS_STEPS = (PowerShellStep, WindowsRestartStep, WindowsUpdateStep)


def os_type(template: ImageTemplate) -> OsType:
    """Windows when the source is a Windows image or any step only Windows can run."""
    props = template.properties
    steps = [*props.customize, *(props.validate_.in_vm_validations if props.validate_ else [])]
    if any(isinstance(step, _WINDOWS_STEPS) for step in steps):
        return "Windows"
    source = props.source
    if isinstance(source, PlatformImageSource):
        names = f"{source.offer} {source.sku}".lower()
        if source.publisher.lower() in WINDOWS_PUBLISHERS or "windows" in names:
            return "Windows"
    return "Linux"


def vm_size(template: ImageTemplate, os: OsType, capture: Capture, diagnostics: Diagnostics) -> str:
    """AIB's default size by generation, and a warning for Windows on fewer than 2 vCPUs.

    AIB builds Gen2 images on Standard_D2ds_v4 (azure-compute-docs image-builder-overview.md, "Costs"); a Gen2
    gallery definition or a Trusted Launch build is Gen2 too, and Trusted Launch does not run on the Dv2 series
    of the Gen1 default (azure-compute-docs trusted-launch.md, "Virtual machines sizes").
    """
    size = template.properties.vm_profile.vm_size
    if not size:
        source = template.properties.source
        gen2 = isinstance(source, PlatformImageSource) and re.search(r"gen2|-g2\b|g2$", source.sku.lower())
        gen2 = gen2 or capture.hyper_v_generation.upper() == "V2" or capture.security_type is not None
        size = DEFAULT_VM_SIZE_GEN2 if gen2 else DEFAULT_VM_SIZE
        if capture.security_type == "ConfidentialVM":
            diagnostics.warn(
                f"a Confidential VM needs a confidential size (azure-compute-docs confidential-vm-overview.md), "
                f"not {size}: set vmProfile.vmSize",
                ("properties", "vmProfile"),
            )
    cpus = re.match(r"^(?:Standard|Basic)_[A-Za-z]+?(\d+)", size)
    if os == "Windows" and cpus and int(cpus.group(1)) < 2:
        diagnostics.warn(
            f"Windows builds on {size} (1 vCPU) are slow and can time out; AIB recommends Standard_D2_v2 or larger",
            ("properties", "vmProfile", "vmSize") if template.properties.vm_profile.vm_size else (),
        )
    return size


def source_block(
    name: str,
    template: ImageTemplate,
    os: OsType,
    capture: Capture,
    diagnostics: Diagnostics,
    *,
    os_disk_snapshot: bool,
) -> Block:
    """``os_disk_snapshot``: Packer also leaves a snapshot of the OS disk, named by ``run`` (empty: none)."""
    props = template.properties
    attrs: list[Attribute] = [
        Attribute("subscription_id", Expr("var.subscription_id")),
        Attribute("client_id", Expr("var.client_id")),
        Attribute("client_secret", Expr("var.client_secret")),
        Attribute("tenant_id", Expr("var.tenant_id")),
        Attribute("use_azure_cli_auth", Expr("var.use_azure_cli_auth")),
        Attribute("cloud_environment_name", Expr("var.cloud_environment_name")),
        Attribute("location", Expr("var.location")),
        Attribute("build_resource_group_name", Expr("var.build_resource_group_name")),
        Attribute("os_type", os),
        Attribute("vm_size", vm_size(template, os, capture, diagnostics)),
    ]
    blocks: list[Block] = []
    source_attrs, source_blocks = _source_image(template)
    attrs += source_attrs
    blocks += source_blocks
    attrs += _security(capture)
    profile = props.vm_profile
    if profile.os_disk_size_gb > 0:
        attrs.append(Attribute("os_disk_size_gb", profile.os_disk_size_gb))
    if props.additional_data_disks:
        attrs.append(Attribute("disk_additional_size", [d.size_gb for d in props.additional_data_disks]))
    if profile.user_assigned_identities:
        attrs.append(Attribute("user_assigned_managed_identities", list(profile.user_assigned_identities)))
    attrs += _network(template, diagnostics)
    if capture.gallery_target is None:
        attrs += [
            Attribute("managed_image_name", Expr("var.managed_image_name")),
            Attribute("managed_image_resource_group_name", Expr("var.managed_image_resource_group_name")),
        ]
        if os_disk_snapshot:
            # Made only when the name is not empty (packer-plugin-azure step_snapshot_os_disk.go, ``enable``).
            attrs.append(
                Attribute("managed_image_os_disk_snapshot_name", Expr("var.managed_image_os_disk_snapshot_name"))
            )
    else:
        target = props.distribute[capture.gallery_target]
        assert isinstance(target, SharedImageTarget)
        if target.exclude_from_latest:
            attrs.append(Attribute("shared_gallery_image_version_exclude_from_latest", True))
        blocks.append(_gallery_destination(template, target, capture, diagnostics))
    attrs.append(Attribute("azure_tags", Expr("var.run_tags")))
    attrs += _communicator(os)
    blocks += _tag_blocks(template)
    return Block("source", ("azure-arm", name), tuple(attrs), tuple(blocks))


def _security(capture: Capture) -> list[Attribute]:
    """A Trusted Launch or Confidential build VM; the plugin's comments (config.go ``SecureBootEnabled``,
    ``VTpmEnabled``): "For Trusted Launch or Confidential VMs, Secure Boot must be enabled", "vTPM must be
    enabled"."""
    if capture.security_type is None:
        return []
    return [
        Attribute("security_type", capture.security_type),
        Attribute("secure_boot_enabled", True),
        Attribute("vtpm_enabled", True),
    ]


def _gallery_destination(
    template: ImageTemplate, target: SharedImageTarget, capture: Capture, diagnostics: Diagnostics
) -> Block:
    """``shared_image_gallery_destination``: Packer publishes the build VM as this target's version.

    One ``target_region`` block per region (plugin v2.0.3; config.go: "At a minimum their must be one target
    region entry for the primary build region", so the build's location is added when the target lacks it).
    The plugin takes one storage account type for the whole version (``storage_account_type``).
    """
    rid = parse_resource_id(target.gallery_image_id.split("/versions/")[0], "Microsoft.Compute/galleries/images")
    gallery, image = rid.names
    # The build's region first: the plugin creates the version there (step_publish_to_shared_image_gallery.go).
    regions = version_regions(target, [template.location, capture.gallery_region])
    storage = regions[0].storage_account_type
    if len({r.storage_account_type for r in regions}) > 1:
        diagnostics.warn(
            f"the azure plugin gives a version one storage account type for all its regions: {storage} for all",
            ("properties", "distribute", capture.gallery_target, "targetRegions"),
        )
    region_blocks = tuple(
        Block("target_region", attributes=(Attribute("name", r.name), Attribute("replicas", r.replicas)))
        for r in regions
    )
    attrs = (
        Attribute("subscription", rid.subscription),
        Attribute("resource_group", rid.resource_group),
        Attribute("gallery_name", gallery),
        Attribute("image_name", image),
        Attribute("image_version", Expr("var.gallery_image_version")),
        Attribute("storage_account_type", storage),
    )
    return Block("shared_image_gallery_destination", attributes=attrs, blocks=region_blocks)


def _source_image(template: ImageTemplate) -> tuple[list[Attribute], list[Block]]:
    source = template.properties.source
    if isinstance(source, PlatformImageSource):
        attrs = [
            Attribute("image_publisher", source.publisher),
            Attribute("image_offer", source.offer),
            Attribute("image_sku", source.sku),
            Attribute("image_version", source.version or "latest"),
        ]
        plan = source.plan_info
        blocks = []
        if plan is not None:
            plan_attrs = (
                Attribute("plan_name", plan.plan_name),
                Attribute("plan_product", plan.plan_product),
                Attribute("plan_publisher", plan.plan_publisher),
            )
            blocks.append(Block("plan_info", attributes=plan_attrs))
        return attrs, blocks
    if isinstance(source, ManagedImageSource):
        rid = parse_resource_id(source.image_id, "Microsoft.Compute/images")
        return [
            Attribute("custom_managed_image_name", rid.name),
            Attribute("custom_managed_image_resource_group_name", rid.resource_group),
        ], []
    assert isinstance(source, SharedImageVersionSource)
    rid = parse_resource_id(source.image_version_id, "Microsoft.Compute/galleries/images/versions")
    gallery, image, version = rid.names
    sig = [
        Attribute("subscription", rid.subscription),
        Attribute("resource_group", rid.resource_group),
        Attribute("gallery_name", gallery),
        Attribute("image_name", image),
    ]
    if version.lower() != "latest":
        sig.append(Attribute("image_version", version))
    return [], [Block("shared_image_gallery", attributes=tuple(sig))]


def _network(template: ImageTemplate, diagnostics: Diagnostics) -> list[Attribute]:
    """``vnetConfig.subnetId`` → ``virtual_network_*``; what AIB's proxy did is now the user's network's job."""
    vnet = template.properties.vm_profile.vnet_config
    path = ("properties", "vmProfile", "vnetConfig")
    if vnet is None or not vnet.subnet_id:
        if vnet is not None and vnet.subnet_name:
            diagnostics.warn("deprecated and not used: give 'subnetId'", (*path, "subnetName"))
        return []
    unused = [
        name
        for name, value in (
            ("proxyVmSize", vnet.proxy_vm_size),
            ("containerInstanceSubnetId", vnet.container_instance_subnet_id),
        )
        if value
    ]
    diagnostics.warn(
        "the build VM gets no public IP in this subnet and Packer connects to it directly (AIB used a proxy VM or "
        f"container instance{'; ' + ', '.join(unused) + ' not used' if unused else ''}): run aibpack from a "
        "machine that can reach the subnet",
        (*path, unused[0] if unused else "subnetId"),
    )
    rid = parse_resource_id(vnet.subnet_id, "Microsoft.Network/virtualNetworks/subnets")
    vnet_name, subnet = rid.names
    return [
        Attribute("virtual_network_name", vnet_name),
        Attribute("virtual_network_subnet_name", subnet),
        Attribute("virtual_network_resource_group_name", rid.resource_group),
    ]


def _tag_blocks(template: ImageTemplate) -> list[Block]:
    """``managedResourceTags`` as ``azure_tag`` blocks; Packer adds them to ``azure_tags`` (the run's tags)."""
    return [
        Block("azure_tag", attributes=(Attribute("name", name), Attribute("value", value)))
        for name, value in template.properties.managed_resource_tags.items()
    ]


def _communicator(os: OsType) -> list[Attribute]:
    if os == "Windows":
        return [
            Attribute("communicator", "winrm"),
            Attribute("winrm_username", "packer"),
            Attribute("winrm_use_ssl", True),
            Attribute("winrm_insecure", True),
            Attribute("winrm_timeout", "10m"),
        ]
    return [
        Attribute("communicator", "ssh"),
        Attribute("ssh_username", "packer"),
        Attribute("ssh_timeout", "20m"),
    ]
