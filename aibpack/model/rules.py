"""The cross-field rules AIB enforces at submission, each failing with the exact JSON path."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from aibpack.errors import AibpackError, JsonPath
from aibpack.model.customize import FileStep, PowerShellStep, ShellStep
from aibpack.model.distribute import SharedImageTarget
from aibpack.model.resource_id import parse_group_id, parse_resource_id
from aibpack.model.source import IsoSource, ManagedImageSource, SharedImageVersionSource
from aibpack.model.template import ImageTemplate

SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
ISO_REASON = (
    "ISO sources are not supported: Azure retired them after the 2019 preview APIs; build from the Red Hat "
    "marketplace images instead (PlatformImage, publisher RedHat, offer RHEL; or offer rhel-byos for your own "
    "subscription)"
)


def check(template: ImageTemplate) -> None:
    """Raise the first rule violation as an ``AibpackError`` (file filled in by the caller)."""
    for path, message in violations(template):
        raise AibpackError(message, path=path)


def violations(template: ImageTemplate) -> Iterator[tuple[JsonPath, str]]:
    props = template.properties
    yield from _source(template)
    yield from _steps(props.customize, ("properties", "customize"))
    if props.validate_ is not None:
        yield from _steps(props.validate_.in_vm_validations, ("properties", "validate", "inVMValidations"))
    yield from _distribute(template)
    yield from _vm_profile(template)
    if props.staging_resource_group:
        try:
            parse_group_id(props.staging_resource_group)
        except ValueError as exc:
            yield ("properties", "stagingResourceGroup"), str(exc)


def _source(template: ImageTemplate) -> Iterator[tuple[JsonPath, str]]:
    source = template.properties.source
    path = ("properties", "source")
    if isinstance(source, IsoSource):
        yield (*path, "type"), ISO_REASON
    elif isinstance(source, ManagedImageSource):
        yield from _resource_id(source.image_id, "Microsoft.Compute/images", (*path, "imageId"))
    elif isinstance(source, SharedImageVersionSource):
        yield from _resource_id(
            source.image_version_id, "Microsoft.Compute/galleries/images/versions", (*path, "imageVersionId")
        )
    else:
        for field in ("publisher", "offer", "sku"):
            if not getattr(source, field):
                yield (*path, field), "missing: a PlatformImage source needs publisher, offer and sku"


def _steps(steps: Sequence[object], base: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    for index, step in enumerate(steps):
        path = (*base, index)
        if isinstance(step, ShellStep | PowerShellStep):
            has_inline = step.inline is not None
            if has_inline == bool(step.script_uri):
                yield path, "needs exactly one of 'inline' and 'scriptUri'"
            elif step.script_uri and step.script_uri.strip() != step.script_uri:
                yield (*path, "scriptUri"), "has leading or trailing white space"
            if has_inline and step.sha256_checksum:
                yield (*path, "sha256Checksum"), "applies only to 'scriptUri', not to 'inline'"
        if isinstance(step, FileStep):
            if not step.source_uri:
                yield (*path, "sourceUri"), "missing: a File step needs sourceUri and destination"
            if not step.destination:
                yield (*path, "destination"), "missing: a File step needs sourceUri and destination"
        if isinstance(step, PowerShellStep) and step.run_as_system and not step.run_elevated:
            yield (*path, "runAsSystem"), "needs 'runElevated': true"
        checksum = getattr(step, "sha256_checksum", "")
        if checksum and not SHA256.match(checksum):
            yield (*path, "sha256Checksum"), "must be 64 hexadecimal characters (a SHA-256 digest)"
        timeout = getattr(step, "restart_timeout", "")
        if timeout and not GO_DURATION.match(timeout):
            yield (*path, "restartTimeout"), f"'{timeout}' is not a duration such as 5m, 90s or 1h30m"


def _distribute(template: ImageTemplate) -> Iterator[tuple[JsonPath, str]]:
    targets = template.properties.distribute
    if not targets:
        yield ("properties", "distribute"), "needs at least one target"
    seen: dict[str, int] = {}
    for index, target in enumerate(targets):
        path = ("properties", "distribute", index)
        name = target.run_output_name
        if name.lower() in seen:
            yield (*path, "runOutputName"), f"'{name}' is already used by distribute[{seen[name.lower()]}]"
        seen.setdefault(name.lower(), index)
        if target.type == "ManagedImage":
            yield from _resource_id(target.image_id, "Microsoft.Compute/images", (*path, "imageId"))
        elif isinstance(target, SharedImageTarget):
            yield from _shared_image(target, path)


def _shared_image(target: SharedImageTarget, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    gallery_id = target.gallery_image_id
    kind = "Microsoft.Compute/galleries/images"
    if "/versions/" in gallery_id.lower():
        kind += "/versions"
    yield from _resource_id(gallery_id, kind, (*path, "galleryImageId"))
    if target.replication_regions is not None and target.target_regions is not None:
        yield (*path, "replicationRegions"), "cannot be used together with 'targetRegions'"
    if target.storage_account_type is not None and target.target_regions is not None:
        yield (
            (*path, "storageAccountType"),
            "belongs in each targetRegions entry when 'targetRegions' is used",
        )
    if target.replication_mode == "Shallow" and target.target_regions and len(target.target_regions) > 1:
        yield (*path, "replicationMode"), "Shallow replication supports a single target region"


def _vm_profile(template: ImageTemplate) -> Iterator[tuple[JsonPath, str]]:
    profile = template.properties.vm_profile
    path = ("properties", "vmProfile")
    for index, identity in enumerate(profile.user_assigned_identities):
        yield from _resource_id(
            identity,
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            (*path, "userAssignedIdentities", index),
        )
    vnet = profile.vnet_config
    if vnet is None:
        return
    vpath = (*path, "vnetConfig")
    if vnet.subnet_id:
        yield from _resource_id(vnet.subnet_id, "Microsoft.Network/virtualNetworks/subnets", (*vpath, "subnetId"))
    if vnet.container_instance_subnet_id and not vnet.subnet_id:
        yield (*vpath, "containerInstanceSubnetId"), "needs 'subnetId'"
    if vnet.container_instance_subnet_id and vnet.proxy_vm_size:
        yield (*vpath, "proxyVmSize"), "cannot be used together with 'containerInstanceSubnetId'"


def _resource_id(text: str, kind: str, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    try:
        parse_resource_id(text, kind)
    except ValueError as exc:
        yield path, str(exc)
