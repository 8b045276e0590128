"""The image template resource and its properties (api 2025-10-01 plus older fields still in use)."""

from __future__ import annotations

from dataclasses import field
from typing import Annotated, Literal

from aibpack.model.base import AibModel, constraint, tagged_by
from aibpack.model.customize import Customizer, Validator
from aibpack.model.distribute import Distributor
from aibpack.model.source import Source

OnError = Literal["cleanup", "abort"]
State = Literal["Enabled", "Disabled"]


class VnetConfig(AibModel):
    subnet_id: str = ""
    container_instance_subnet_id: str = ""
    proxy_vm_size: str = ""
    # Deprecated pre-2021 spellings of the subnet, still in old templates.
    subnet_name: str = ""
    resource_group_name: str = ""


class VmProfile(AibModel):
    vm_size: str = ""
    os_disk_size_gb: Annotated[int, constraint(ge=0, alias="osDiskSizeGB")] = 0
    user_assigned_identities: list[str] = field(default_factory=list)
    vnet_config: VnetConfig | None = None


class DataDisk(AibModel):
    size_gb: Annotated[int, constraint(ge=0, alias="sizeGB")]


class ValidateSettings(AibModel):
    continue_distribute_on_failure: bool = False
    source_validation_only: bool = False
    in_vm_validations: Annotated[list[Annotated[Validator, tagged_by("type")]], constraint(alias="inVMValidations")] = (
        field(default_factory=list)
    )


class ErrorHandling(AibModel):
    on_customizer_error: OnError = "cleanup"
    on_validation_error: OnError = "cleanup"


class VmBoot(AibModel):
    state: State = "Disabled"


class Workload(AibModel):
    state: State = "Disabled"
    script_uri: str = ""
    sha256_checksum: str = ""


class Optimize(AibModel):
    vm_boot: VmBoot | None = None
    workload: Workload | None = None


class AutoRun(AibModel):
    state: State = "Disabled"


class ImageTemplateProperties(AibModel):
    source: Annotated[Source, tagged_by("type")]
    customize: list[Annotated[Customizer, tagged_by("type")]] = field(default_factory=list)
    validate_: ValidateSettings | None = None
    distribute: list[Annotated[Distributor, tagged_by("type")]]
    optimize: Optimize | None = None
    # Absent means an empty object: validated, so that it holds its defaults.
    error_handling: Annotated[ErrorHandling, constraint(validate_default=True)] = field(default_factory=dict)
    build_timeout_in_minutes: Annotated[int, constraint(ge=0, le=960)] = 0
    vm_profile: Annotated[VmProfile, constraint(validate_default=True)] = field(default_factory=dict)
    additional_data_disks: list[DataDisk] = field(default_factory=list)
    staging_resource_group: str = ""
    auto_run: AutoRun | None = None
    managed_resource_tags: dict[str, str] = field(default_factory=dict)
    # Read-only fields a GET returns; ignored when present.
    provisioning_state: str | None = None
    provisioning_error: dict[str, object] | None = None
    last_run_status: dict[str, object] | None = None
    exact_staging_resource_group: str | None = None


class Identity(AibModel):
    type: Literal["UserAssigned", "None"] = "UserAssigned"
    user_assigned_identities: dict[str, dict[str, object]] = field(default_factory=dict)


class ImageTemplate(AibModel):
    """A ``Microsoft.VirtualMachineImages/imageTemplates`` resource."""

    type: str = "Microsoft.VirtualMachineImages/imageTemplates"
    api_version: str = "2025-10-01"
    name: str = ""
    location: str
    tags: dict[str, str] = field(default_factory=dict)
    identity: Identity | None = None
    properties: ImageTemplateProperties
    # ARM resource keys with no meaning for a build.
    depends_on: list[object] = field(default_factory=list)
    comments: str = ""
    # Read-only fields of an exported template, ignored when present: ``id`` and ``systemData`` (ARM's Resource,
    # common-types resource-management types.json) and the ``resourceGroup`` that ``az`` adds from the ``id``
    # (azure-cli azure/cli/core/commands/transform.py).
    id: str = ""
    system_data: dict[str, object] | None = None
    resource_group: str = ""
