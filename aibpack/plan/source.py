"""The ``source "azure-arm"`` block: where the VM comes from, its shape, and how Packer reaches it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from aibpack.errors import AibpackError, Diagnostics
from aibpack.model.customize import PowerShellStep, WindowsRestartStep, WindowsUpdateStep
from aibpack.model.distribute import SharedImageTarget, version_regions
from aibpack.model.resource_id import parse_resource_id
from aibpack.model.source import ManagedImageSource, PlatformImageSource, SharedImageVersionSource
from aibpack.model.template import ImageTemplate
from aibpack.plan.build import Attribute, Block, Expr, OsType
from aibpack.plan.capture import Capture

Generation = Literal["V1", "V2"]
# AIB's default build VM by the source's Hyper-V generation: azure-rest-api-specs imagebuilder.json
# (ImageTemplateVmProfile.vmSize): "Standard_D1_v2 for Gen1 images and Standard_D2ds_v4 for Gen2 images".
DEFAULT_VM_SIZE = "Standard_D1_v2"
DEFAULT_VM_SIZE_GEN2 = "Standard_D2ds_v4"
# Publishers whose every image has one OS: the `az vm create --image` aliases (Azure/azure-rest-api-specs
# arm-compute/quickstart-templates/aliases.json: OpenLogic, CoreOS, credativ, SUSE, RedHat, Canonical are Linux,
# MicrosoftWindowsServer is Windows), and MicrosoftWindowsDesktop, the Windows 10/11 publisher of AIB's Azure
# Virtual Desktop tutorial (azure-compute-docs image-builder-virtual-desktop.md). Others publish both (SQL Server
# and the Data Science VM have Ubuntu images too), so their OS is only guessed from the image names.
PUBLISHER_OS: dict[str, OsType] = {
    "openlogic": "Linux",
    "coreos": "Linux",
    "credativ": "Linux",
    "suse": "Linux",
    "redhat": "Linux",
    "canonical": "Linux",
    "microsoftwindowsserver": "Windows",
    "microsoftwindowsdesktop": "Windows",
}
_WINDOWS_NAME = re.compile(r"windows|(?<![a-z])win(?:\d|-|$)|-ws20\d\d|(?<![a-z])ws20\d\d", re.IGNORECASE)
# Gen2 SKUs say so: Canonical's "-gen2" (22_04-lts-gen2), Windows Server's "-gensecond" (2019-datacenter-gensecond),
# "-g2" (azure-compute-docs generation-2.md, "Generation 2 VM images in Azure Marketplace").
_GEN2_SKU = re.compile(r"gen2|gensecond|-g2(?:$|-)", re.IGNORECASE)
_WINDOWS_STEPS = (PowerShellStep, WindowsRestartStep, WindowsUpdateStep)


@dataclass(frozen=True)
class BuildTarget:
    """What compile knows of the build beyond the template: the source image's OS and Hyper-V generation (``--os``,
    or Azure's answer when ``aibpack run`` asked), and whether Packer loads the azure plugin v2 (Packer >= 1.7), whose
    sign-in fields Packer 1.6.6 rejects. ``os_asked`` says run asks Azure, so compile need not say it guessed."""

    os: OsType | None = None
    generation: Generation | None = None
    plugin_v2: bool = False
    os_asked: bool = False


def os_type(template: ImageTemplate, target: BuildTarget, diagnostics: Diagnostics) -> OsType:
    """The OS given (``--os`` or Azure), else Windows when a step only Windows runs, else what the source's publisher
    or names say, with a warning when that is a guess."""
    props = template.properties
    steps = [(("properties", "customize", i), step) for i, step in enumerate(props.customize)] + [
        (("properties", "validate", "inVMValidations", i), step)
        for i, step in enumerate(props.validate_.in_vm_validations if props.validate_ else [])
    ]
    windows_step = next((path for path, step in steps if isinstance(step, _WINDOWS_STEPS)), None)
    if target.os is not None:
        if target.os == "Linux" and windows_step is not None:
            raise AibpackError(
                "a Windows-only step, but the image is Linux (--os, or the source image in Azure)", path=windows_step
            )
        return target.os
    if windows_step is not None:
        return "Windows"
    source = props.source
    path = ("properties", "source")
    if isinstance(source, PlatformImageSource):
        known = PUBLISHER_OS.get(source.publisher.lower())
        if known:
            return known
        guess: OsType = "Windows" if _WINDOWS_NAME.search(f"{source.offer} {source.sku}") else "Linux"
        if not target.os_asked:
            diagnostics.warn(
                f"guessed {guess} from the image's offer and sku (publisher {source.publisher} has both): say it "
                "with --os Linux|Windows (aibpack run asks Azure)",
                (*path, "publisher"),
            )
        return guess
    if not target.os_asked:
        diagnostics.warn(
            "compile cannot see a custom image's OS: guessed Linux; say it with --os Linux|Windows (aibpack run "
            "asks Azure)",
            (*path, "type"),
        )
    return "Linux"


def generation(template: ImageTemplate, target: BuildTarget) -> Generation:
    """The source's Hyper-V generation: Azure's answer, else V2 when a platform SKU's name says Gen2, else V1."""
    if target.generation is not None:
        return target.generation
    source = template.properties.source
    if isinstance(source, PlatformImageSource) and _GEN2_SKU.search(source.sku):
        return "V2"
    return "V1"


def vm_size(
    template: ImageTemplate, os: OsType, target: BuildTarget, capture: Capture, diagnostics: Diagnostics
) -> str:
    """AIB's default size by generation, and a warning for Windows on fewer than 2 vCPUs.

    A Trusted Launch or Confidential build is Gen2 (azure-compute-docs trusted-launch.md), and neither runs on the
    Dv2 series of the Gen1 default (trusted-launch.md, "Virtual machines sizes").
    """
    size = template.properties.vm_profile.vm_size
    if not size:
        gen2 = generation(template, target) == "V2" or capture.security_type is not None
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


@dataclass(frozen=True)
class SignInField:
    name: str
    type: str
    default: object
    description: str
    sensitive: bool = False
    plugin_v2_only: bool = False


# The azure builder's sign-in fields, each a variable `aibpack run` sets for the identity it signed in as:
# packer-plugin-azure builder/azure/common/client/config.go. Packer 1.6.6's bundled builder (hashicorp/packer v1.6.6,
# same file) knows all but client_cert_password (plugin v2.0.0) and oidc_request_url/_token (plugin v2.1.5).
SIGN_IN_FIELDS = (
    SignInField("subscription_id", "string", "", "Subscription of the build."),
    SignInField("client_id", "string", "", "Service principal; with a managed identity, a user-assigned one."),
    SignInField("client_secret", "string", "", "Service principal secret.", sensitive=True),
    SignInField("client_cert_path", "string", "", "Service principal certificate (PKCS#12; PEM for Packer 1.6.6)."),
    SignInField("client_cert_password", "string", "", "Its password.", sensitive=True, plugin_v2_only=True),
    SignInField("client_jwt", "string", "", "A federated (OIDC) token of the service principal.", sensitive=True),
    SignInField(
        "oidc_request_url", "string", "", "GitHub Actions' OIDC token URL.", sensitive=True, plugin_v2_only=True
    ),
    SignInField(
        "oidc_request_token", "string", "", "GitHub Actions' OIDC request token.", sensitive=True, plugin_v2_only=True
    ),
    SignInField("tenant_id", "string", "", "Tenant of the service principal."),
    # True, so that ``packer build DIR`` after ``az login`` signs in as the user; false (and no client_*) would make
    # the plugin fall back to the machine's managed identity (packer-plugin-azure
    # builder/azure/common/client/config.go, FillParameters). ``aibpack run`` always sets it.
    SignInField(
        "use_azure_cli_auth", "bool", True, "Authenticate with the Azure CLI's login (false: client_* or MSI)."
    ),
    SignInField("cloud_environment_name", "string", "Public", "Public, China or USGovernment."),
)


def sign_in_fields(target: BuildTarget) -> tuple[SignInField, ...]:
    return tuple(f for f in SIGN_IN_FIELDS if target.plugin_v2 or not f.plugin_v2_only)


def source_block(
    name: str,
    template: ImageTemplate,
    os: OsType,
    target: BuildTarget,
    capture: Capture,
    diagnostics: Diagnostics,
    *,
    os_disk_snapshot: bool,
    version: str | None = None,
) -> Block:
    """``os_disk_snapshot``: Packer also leaves a snapshot of the OS disk, named by ``run`` (empty: none).
    ``version`` replaces a source's ``latest`` (``run`` resolved it)."""
    props = template.properties
    attrs: list[Attribute] = [
        *(Attribute(f.name, Expr(f"var.{f.name}")) for f in sign_in_fields(target)),
        Attribute("location", Expr("var.location")),
        Attribute("build_resource_group_name", Expr("var.build_resource_group_name")),
        Attribute("os_type", os),
        Attribute("vm_size", vm_size(template, os, target, capture, diagnostics)),
    ]
    blocks: list[Block] = []
    source_attrs, source_blocks = _source_image(template, version)
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
        gallery = props.distribute[capture.gallery_target]
        assert isinstance(gallery, SharedImageTarget)
        if gallery.exclude_from_latest:
            attrs.append(Attribute("shared_gallery_image_version_exclude_from_latest", True))
        blocks.append(_gallery_destination(template, gallery, capture, diagnostics))
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


def _source_image(template: ImageTemplate, resolved: str | None) -> tuple[list[Attribute], list[Block]]:
    source = template.properties.source
    if isinstance(source, PlatformImageSource):
        attrs = [
            Attribute("image_publisher", source.publisher),
            Attribute("image_offer", source.offer),
            Attribute("image_sku", source.sku),
            Attribute("image_version", resolved or source.version or "latest"),
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
    if version.lower() != "latest" or resolved:
        sig.append(Attribute("image_version", version if version.lower() != "latest" else resolved))
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
