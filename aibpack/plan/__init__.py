"""The plan stage: a validated ``ImageTemplate`` becomes a ``BuildPlan`` for one Packer file.

Everything AIB did implicitly is decided here: the OS and communicator, the VM size, the provisioners in
template order, the deprovision step last, and the variables ``run`` sets per build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aibpack.errors import Diagnostics
from aibpack.model.customize import WindowsUpdateStep
from aibpack.model.distribute import ManagedImageTarget, SharedImageTarget, VhdTarget, norm_region
from aibpack.model.resource_id import parse_group_id, parse_resource_id
from aibpack.model.template import ImageTemplate
from aibpack.plan import deprovision
from aibpack.plan.build import Attribute, Block, BuildPlan, RawBlock, RemoteFile, Variable
from aibpack.plan.capture import Capture, check_capture, default_gallery_version, packer_target
from aibpack.plan.plugins import modern_only, required_plugins
from aibpack.plan.source import SIGN_IN_FIELDS, BuildTarget, os_type, sign_in_fields, source_block
from aibpack.plan.steps import StepContext, plan_steps

__all__ = [
    "OS_DISK_SNAPSHOT",
    "RESERVED_VARIABLES",
    "BuildPlan",
    "Capture",
    "PlanOptions",
    "build_plan",
    "needs_os_disk_snapshot",
    "output_image",
]

# The azure-arm builder snapshots the build VM's OS disk under this name, in the managed image's resource group
# (packer-plugin-azure builder/azure/arm/step_snapshot_os_disk.go; the same option in Packer 1.6.6's builder).
OS_DISK_SNAPSHOT = "managed_image_os_disk_snapshot_name"

RESERVED_VARIABLES = frozenset(
    {
        *(f.name for f in SIGN_IN_FIELDS),
        "location",
        "build_resource_group_name",
        "managed_image_name",
        "managed_image_resource_group_name",
        "gallery_image_version",
        "run_tags",
        OS_DISK_SNAPSHOT,
    }
)


@dataclass(frozen=True)
class PlanOptions:
    name: str
    input_file: Path
    output_dir: Path
    staged: Mapping[str, Path] = field(default_factory=dict)
    preserved: Sequence[RawBlock] = ()
    extra_variables: Sequence[Variable] = ()
    extra_locals: Sequence[Attribute] = ()
    secret_values: frozenset[str] = field(default=frozenset(), repr=False)
    target: BuildTarget = field(default_factory=BuildTarget)
    capture: Capture = field(default_factory=Capture)
    source_version: str | None = None  # what ``run`` resolved the source's ``latest`` to: the build uses exactly it


@dataclass(frozen=True)
class OutputImage:
    """The one managed image Packer produces, and whether it is a distribution target itself."""

    name: str
    resource_group: str
    target_index: int | None


def output_image(template: ImageTemplate, name: str) -> OutputImage:
    """The first ManagedImage target in the build's location, else an intermediate image.

    An intermediate image goes to the staging group (set by ``run``); its default resource group here is the
    template's ``stagingResourceGroup`` or the first target's group, so the file validates on its own.
    """
    location = norm_region(template.location)
    for index, target in enumerate(template.properties.distribute):
        if isinstance(target, ManagedImageTarget) and norm_region(target.location) == location:
            rid = parse_resource_id(target.image_id, "Microsoft.Compute/images")
            return OutputImage(rid.name, rid.resource_group, index)
    group = f"IT_aibpack_{name}"[:90].rstrip("-.")
    if template.properties.staging_resource_group:
        group = parse_group_id(template.properties.staging_resource_group)[1]
    else:
        for target in template.properties.distribute:
            if isinstance(target, ManagedImageTarget):
                group = parse_resource_id(target.image_id, "Microsoft.Compute/images").resource_group
                break
            if isinstance(target, SharedImageTarget):
                group = parse_resource_id(
                    target.gallery_image_id.split("/versions/")[0], "Microsoft.Compute/galleries/images"
                ).resource_group
                break
    return OutputImage(f"aibpack-{name}"[:80].rstrip("-._"), group, None)


def needs_os_disk_snapshot(template: ImageTemplate, name: str) -> bool:
    """Whether a target is made from the build's OS disk snapshot: a VHD, or a managed image Packer does not write.

    Azure makes no disk from a managed image ("The value of parameter imageReference is invalid",
    Azure/azure-powershell#14000), so those copies start from a snapshot of the build VM's OS disk.
    """
    direct = output_image(template, name).target_index
    return any(
        isinstance(target, VhdTarget) or (isinstance(target, ManagedImageTarget) and index != direct)
        for index, target in enumerate(template.properties.distribute)
    )


def build_plan(template: ImageTemplate, options: PlanOptions, diagnostics: Diagnostics) -> BuildPlan:
    check_capture(template, options.capture)
    os = os_type(template, options.target, diagnostics)
    secrets = {value: f"secret_{n}" for n, value in enumerate(sorted(options.secret_values), start=1)}
    ctx = StepContext(os, options.input_file.parent, options.output_dir, options.staged, frozenset(secrets))
    customize, remote = plan_steps(template.properties.customize, ("properties", "customize"), ctx)
    validators: list[Block] = []
    validate = template.properties.validate_
    if validate is not None:
        validators, more = plan_steps(validate.in_vm_validations, ("properties", "validate", "inVMValidations"), ctx)
        remote += more
    _warn_unmapped(template, diagnostics)
    provisioners = (
        *customize,
        *options.preserved,
        *validators,
        deprovision.run_last(os),
    )
    capture = options.capture
    packer_delivers, run_delivers = _deliveries(template, options.name, capture)
    return BuildPlan(
        name=options.name,
        input_file=options.input_file.name,
        os_type=os,
        variables=(
            *_variables(template, options.name, options.target, capture),
            *_secret_variables(secrets),
            *options.extra_variables,
        ),
        locals=tuple(options.extra_locals),
        source=source_block(
            options.name,
            template,
            os,
            options.target,
            capture,
            diagnostics,
            os_disk_snapshot=needs_os_disk_snapshot(template, options.name),
            version=options.source_version,
        ),
        provisioners=provisioners,
        capture=capture,
        plugins=required_plugins(provisioners),
        modern_only=modern_only(capture, _windows_update_paths(template)),
        packer_delivers=packer_delivers,
        run_delivers=run_delivers,
        remote_files=tuple(_dedupe(remote)),
        secrets=secrets,
    )


def _windows_update_paths(template: ImageTemplate) -> list[tuple[str | int, ...]]:
    props = template.properties
    paths: list[tuple[str | int, ...]] = [
        ("properties", "customize", i) for i, step in enumerate(props.customize) if isinstance(step, WindowsUpdateStep)
    ]
    if props.validate_ is not None:
        paths += [
            ("properties", "validate", "inVMValidations", i)
            for i, step in enumerate(props.validate_.in_vm_validations)
            if isinstance(step, WindowsUpdateStep)
        ]
    return paths


def _deliveries(template: ImageTemplate, name: str, capture: Capture) -> tuple[str, tuple[str, ...]]:
    """What ``packer build`` of the file delivers itself, and the targets only ``aibpack run`` delivers."""
    targets = template.properties.distribute
    direct = packer_target(capture, output_image(template, name).target_index)

    def describe(index: int) -> str:
        return f"distribute[{index}] {targets[index].type} {targets[index].run_output_name}"

    if capture.gallery_target is not None:
        delivers = f"{describe(direct)} (version var.gallery_image_version, straight from the build VM)"
    elif direct is not None:
        delivers = f"{describe(direct)} (the managed image var.managed_image_name)"
    else:
        delivers = "an intermediate managed image (var.managed_image_name) that aibpack run makes the targets from"
    return delivers, tuple(describe(i) for i in range(len(targets)) if i != direct)


def _secret_variables(secrets: dict[str, str]) -> list[Variable]:
    """One sensitive variable per secureString value: the output refers to it, ``run`` passes it (PKR_VAR_)."""
    return [
        Variable(name, "string", "", "A secureString parameter's value (aibpack run passes it).", sensitive=True)
        for name in secrets.values()
    ]


def _variables(template: ImageTemplate, name: str, target: BuildTarget, capture: Capture) -> list[Variable]:
    defaults = {"subscription_id": _subscription(template)}
    return [
        *(
            Variable(f.name, f.type, defaults.get(f.name, f.default), f.description, sensitive=f.sensitive)
            for f in sign_in_fields(target)
        ),
        Variable("location", "string", template.location, "Region of the build; empty when a build group is set."),
        Variable(
            "build_resource_group_name",
            "string",
            "",
            "Existing group to build in (aibpack run's staging group).",
        ),
        *_output_variables(template, name, capture),
        Variable("run_tags", "map(string)", {}, "Tags aibpack run puts on everything Packer creates."),
        *_snapshot_variable(template, name),
    ]


def _output_variables(template: ImageTemplate, name: str, capture: Capture) -> list[Variable]:
    """The managed image's name and group, or the gallery version Packer publishes."""
    if capture.gallery_target is not None:
        target = template.properties.distribute[capture.gallery_target]
        assert isinstance(target, SharedImageTarget)
        return [
            Variable(
                "gallery_image_version",
                "string",
                default_gallery_version(template, target),
                "The gallery version Packer publishes (aibpack run picks it by the target's versioning).",
            )
        ]
    image = output_image(template, name)
    return [
        Variable("managed_image_name", "string", image.name, "The managed image Packer creates."),
        Variable("managed_image_resource_group_name", "string", image.resource_group, "Its resource group."),
    ]


def _snapshot_variable(template: ImageTemplate, name: str) -> list[Variable]:
    if not needs_os_disk_snapshot(template, name):
        return []
    return [
        Variable(
            OS_DISK_SNAPSHOT,
            "string",
            "",
            "Snapshot of the OS disk that VHD and managed image copies start from (aibpack run names it).",
        )
    ]


def _subscription(template: ImageTemplate) -> str:
    """The subscription named by the template's own resource IDs, if any."""
    for target in template.properties.distribute:
        text = getattr(target, "image_id", None) or getattr(target, "gallery_image_id", None)
        if text:
            return text.split("/")[2]
    return ""


def _warn_unmapped(template: ImageTemplate, diagnostics: Diagnostics) -> None:
    """Properties AIB honours that a Packer build cannot express: say so, never drop them silently."""
    props = template.properties
    if props.optimize is not None:
        for field_name, setting in (
            ("vmBoot", props.optimize.vm_boot),
            ("workload", props.optimize.workload),
        ):
            if setting is not None and setting.state == "Enabled":
                diagnostics.warn(
                    "AIB's image optimization has no Packer equivalent; not applied",
                    ("properties", "optimize", field_name),
                )
    if props.auto_run is not None and props.auto_run.state == "Enabled":
        diagnostics.warn("autoRun has no meaning for aibpack: builds run when you run them", ("properties", "autoRun"))
    validate = props.validate_
    if validate is not None and validate.in_vm_validations and validate.continue_distribute_on_failure:
        diagnostics.warn(
            "not honoured: Packer stops at the first failing provisioner, so a failed validation leaves no image "
            "to distribute",
            ("properties", "validate", "continueDistributeOnFailure"),
        )
    handling = props.error_handling
    if (
        validate is not None
        and validate.in_vm_validations
        and handling.on_validation_error != handling.on_customizer_error
    ):
        diagnostics.warn(
            f"Packer has one -on-error for every provisioner: validations follow onCustomizerError "
            f"({handling.on_customizer_error})",
            ("properties", "errorHandling", "onValidationError"),
        )
    if props.validate_ is not None and props.validate_.source_validation_only:
        diagnostics.warn(
            "sourceValidationOnly is not supported: the customize steps run as usual",
            ("properties", "validate", "sourceValidationOnly"),
        )
    for index, target in enumerate(props.distribute):
        if isinstance(target, VhdTarget) and not target.uri:
            diagnostics.warn(
                "a VHD target without 'uri' has nowhere durable to go: 'aibpack run' refuses it; set 'uri'",
                ("properties", "distribute", index),
            )


def _dedupe(remote: list[RemoteFile]) -> list[RemoteFile]:
    seen: set[tuple[str, str]] = set()
    out = []
    for item in remote:
        if (item.uri, item.sha256) not in seen:
            seen.add((item.uri, item.sha256))
            out.append(item)
    return out
