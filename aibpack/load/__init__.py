"""The load stage: a template file becomes one plain ``imageTemplates`` resource, fully evaluated.

Two forms are accepted. A bare resource is taken literally, as the REST API takes it (``az resource
create``): Azure evaluates no expressions there, and an inline line such as ``[ -d /x ]`` must survive.
An ARM deployment template has its image-template resource picked (``--name`` when there are several)
and every ARM expression in it evaluated. In both, ``--set`` placeholders are substituted in the raw
document first, as the tutorials' ``sed`` did, and whatever placeholder is left is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aibpack.errors import AibpackError, Diagnostics, JsonPath
from aibpack.load import placeholders
from aibpack.load.jsonc import parse_jsonc

if TYPE_CHECKING:
    from aibpack.load.arm import DeploymentContext, Evaluator, Passed

__all__ = ["LoadOptions", "LoadedTemplate", "load_document", "load_template"]

IMAGE_TEMPLATE_TYPE = "Microsoft.VirtualMachineImages/imageTemplates"
DEPLOYMENT_TYPE = "Microsoft.Resources/deployments"
# (JSON path, the resource as written, its evaluated name, the evaluator of the template that holds it)
_Candidate = tuple[JsonPath, dict, "str | None", "Evaluator"]
_NOT_A_TEMPLATE = (
    "not an image template: expected a Microsoft.VirtualMachineImages/imageTemplates resource "
    "or an ARM deployment template holding one"
)


@dataclass(frozen=True)
class LoadOptions:
    """The input options shared by compile/validate/run/distribute."""

    name: str | None = None  # --name: which image template when an ARM template holds several
    params: Mapping[str, str] = field(default_factory=dict)  # --param NAME=VALUE
    parameter_files: Sequence[Path] = ()  # --parameters FILE (repeatable; later wins)
    placeholders: Mapping[str, str] = field(default_factory=dict)  # --set NAME=VALUE
    subscription_id: str | None = None  # for subscription(); the caller falls back to AZURE_SUBSCRIPTION_ID
    resource_group: str | None = None  # for resourceGroup().name
    location: str | None = None  # for resourceGroup().location
    # compile/validate only: stand in for an unknown deployment context, with a warning where it lands
    assume_context: bool = False


@dataclass(frozen=True)
class LoadedTemplate:
    """One image-template resource, with every expression evaluated and every placeholder replaced."""

    file: Path
    name: str | None  # the resource's (evaluated) name, else --name, else None (the caller uses the stem)
    resource: dict  # location, identity, properties, tags, apiVersion, ... as plain JSON values
    resource_path: tuple[str | int, ...]  # where the resource is in the file: () bare, ("resources", 0) ARM
    secure_values: frozenset[str]  # strings from secureString/secureObject parameters: never log them


def load_template(path: Path, options: LoadOptions, diagnostics: Diagnostics) -> LoadedTemplate:
    """Read ``path`` (UTF-8, a BOM allowed) and load it; a missing or unreadable file is an error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AibpackError("file not found", file=path) from None
    except OSError as err:
        raise AibpackError(f"cannot read the file: {err.strerror}", file=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise AibpackError(f"not UTF-8 text (invalid byte at offset {err.start})", file=path) from None
    return load_document(text, path, options, diagnostics)


def load_document(text: str, file: Path, options: LoadOptions, diagnostics: Diagnostics) -> LoadedTemplate:
    """Load a template from its text: what :func:`load_template` does after reading the file."""
    where = str(file)
    document = parse_jsonc(text, where)
    values = placeholders.check_names(options.placeholders, where)
    document = placeholders.replace(document, values, diagnostics)
    if not isinstance(document, dict):
        raise AibpackError(_NOT_A_TEMPLATE, file=where)
    if _is_deployment_template(document):
        loaded = _from_deployment(document, file, options, diagnostics)
    else:
        loaded = _from_resource(document, file, options)
    placeholders.check_resolved(loaded.resource, where, loaded.resource_path)
    return loaded


def _is_deployment_template(document: dict) -> bool:
    schema = document.get("$schema")
    return (isinstance(schema, str) and "deploymenttemplate" in schema.lower()) or isinstance(
        document.get("resources"), list | dict
    )


def _from_resource(document: dict, file: Path, options: LoadOptions) -> LoadedTemplate:
    """A bare resource: checked to look like an image template, otherwise taken as it is."""
    kind = document.get("type")
    if not isinstance(document.get("properties"), dict) or (
        isinstance(kind, str) and not kind.lower().startswith("microsoft.virtualmachineimages")
    ):
        raise AibpackError(_NOT_A_TEMPLATE, file=file)
    if options.params:
        raise AibpackError(
            "--param: a bare image-template resource declares no parameters (use --set for <placeholders>)",
            file=file,
        )
    name = document.get("name")
    if not isinstance(name, str):
        name = options.name
    elif options.name is not None and options.name.lower() != name.lower():
        raise AibpackError(f"--name {options.name}: the template is named {name!r}", file=file, path=("name",))
    return LoadedTemplate(file=file, name=name, resource=document, resource_path=(), secure_values=frozenset())


def _from_deployment(document: dict, file: Path, options: LoadOptions, diagnostics: Diagnostics) -> LoadedTemplate:
    """An ARM deployment template: resolve parameters, pick the image template, evaluate it."""
    # Imported here: a bare resource (the common case) never needs the expression evaluator.
    from aibpack.load import parameters as params_mod
    from aibpack.load.arm import Evaluator

    where = str(file)
    declared = params_mod.declare(document.get("parameters"), where, definitions=document.get("definitions"))
    resolved = params_mod.resolve(
        declared,
        params=options.params,
        files=options.parameter_files,
        template_file=where,
        diagnostics=diagnostics,
    )
    variables = document.get("variables")
    if variables is None:
        variables = {}
    elif not isinstance(variables, dict):
        raise AibpackError("expected an object", file=where, path=("variables",))
    evaluator = Evaluator(
        parameters=resolved,
        variables=variables,
        context=_context(options),
        file=where,
    )
    candidates = _image_templates(document.get("resources"), evaluator, ())
    if not candidates:
        raise AibpackError(f"the ARM template holds no {IMAGE_TEMPLATE_TYPE} resource", file=where, path=("resources",))
    path, raw, name, evaluator = _choose(candidates, options.name, where)
    resource = evaluator.evaluate(raw, path)
    assert isinstance(resource, dict)
    if options.assume_context:
        _warn_assumed(resource, tuple(path), options, diagnostics)
    return LoadedTemplate(
        file=file,
        name=name,
        resource=resource,
        resource_path=tuple(path),
        secure_values=evaluator.secure_values(),
    )


# What compile assumes for a deployment context it cannot know offline; run and distribute never do.
STAND_INS = {
    "subscription_id": ("00000000-0000-0000-0000-000000000000", "subscription()", "set AZURE_SUBSCRIPTION_ID"),
    "resource_group": ("aibpack-resource-group", "resourceGroup().name", "pass --resource-group NAME"),
    "location": ("aibpack-location", "resourceGroup().location", "pass --location LOCATION"),
}


def _context(options: LoadOptions) -> DeploymentContext:
    from aibpack.load.arm import DeploymentContext

    def given_or_assumed(field_name: str) -> str | None:
        value = getattr(options, field_name)
        return value or (STAND_INS[field_name][0] if options.assume_context else None)

    fields = ("subscription_id", "resource_group", "location")
    assumed = {
        STAND_INS[name][0]: f"{STAND_INS[name][1]} ({STAND_INS[name][2]})"
        for name in fields
        if options.assume_context and not getattr(options, name)
    }
    return DeploymentContext(*(given_or_assumed(name) for name in fields), assumed=assumed)


def _warn_assumed(resource: object, prefix: JsonPath, options: LoadOptions, diagnostics: Diagnostics) -> None:
    """One warning per stand-in the template actually used, at the first place it landed."""
    pending = {name: spec for name, spec in STAND_INS.items() if not getattr(options, name)}
    for path, text in _strings(resource, prefix):
        for name, (stand_in, what, hint) in list(pending.items()):
            if stand_in in text:
                diagnostics.warn(f"{what} is not known offline; assumed '{stand_in}' ({hint})", path)
                del pending[name]


def _strings(value: object, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, path)
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _image_templates(resources: object, evaluator: Evaluator, root: JsonPath) -> list[_Candidate]:
    """Each image template in ``resources``, skipping those whose ``condition`` is false.

    ``resources`` is an array, or an object keyed by symbolic name (languageVersion 2.0). The inline
    templates of nested deployments (Bicep modules) are searched too.
    """
    if isinstance(resources, list):
        entries: list[tuple[str | int, object]] = list(enumerate(resources))
    elif isinstance(resources, dict):
        entries = list(resources.items())
    else:
        return []
    found: list[_Candidate] = []
    for key, resource in entries:
        path = (*root, "resources", key)
        if not isinstance(resource, dict):
            continue
        kind = evaluator.evaluate(resource.get("type"), (*path, "type"))
        if not isinstance(kind, str) or kind.lower() not in (IMAGE_TEMPLATE_TYPE.lower(), DEPLOYMENT_TYPE.lower()):
            continue
        if "condition" in resource and evaluator.evaluate(resource["condition"], (*path, "condition")) is False:
            continue
        if kind.lower() == DEPLOYMENT_TYPE.lower():
            template = _inline_template(resource)
            if template is not None and _may_hold_image_template(template):
                inner = _nested_evaluator(resource, template, evaluator, path)
                found += _image_templates(template.get("resources"), inner, (*path, "properties", "template"))
            continue
        name = evaluator.evaluate(resource.get("name"), (*path, "name"))
        found.append((path, resource, name if isinstance(name, str) else None, evaluator))
    return found


def _inline_template(deployment: dict) -> dict | None:
    """A nested deployment's own ``properties.template`` (a ``templateLink`` is not followed)."""
    properties = deployment.get("properties")
    template = properties.get("template") if isinstance(properties, dict) else None
    return template if isinstance(template, dict) else None


def _may_hold_image_template(template: dict) -> bool:
    """Whether an inline template declares an image template (or a resource whose type is an expression).

    Checked on the raw JSON, so that deployments of other things (copy loops, other groups) are never
    evaluated at all.
    """
    resources = template.get("resources")
    entries = resources.values() if isinstance(resources, dict) else resources if isinstance(resources, list) else []
    for resource in entries:
        if not isinstance(resource, dict) or not isinstance(resource.get("type"), str):
            continue
        kind = resource["type"].lower()
        if kind == IMAGE_TEMPLATE_TYPE.lower() or kind.startswith("["):
            return True
        inner = _inline_template(resource) if kind == DEPLOYMENT_TYPE.lower() else None
        if inner is not None and _may_hold_image_template(inner):
            return True
    return False


def _nested_evaluator(deployment: dict, template: dict, parent: Evaluator, path: JsonPath) -> Evaluator:
    """How a nested deployment's inline template is evaluated.

    With the default ``outer`` scope its expressions use the parent's parameters and variables. With
    ``expressionEvaluationOptions.scope: inner`` (every Bicep module) it has its own, and its parameters
    take the values the deployment passes, each evaluated in the parent only when the template uses it.
    """
    from aibpack.load import parameters as params_mod
    from aibpack.load.arm import DeploymentContext, Evaluator

    properties = deployment["properties"]
    options = properties.get("expressionEvaluationOptions")
    scope = options.get("scope") if isinstance(options, dict) else None
    if not (isinstance(scope, str) and scope.lower() == "inner"):
        return parent
    root = (*path, "properties", "template")
    variables = template.get("variables") or {}
    if not isinstance(variables, dict):
        raise AibpackError("expected an object", file=parent.file, path=(*root, "variables"))
    context = parent.context
    group = deployment.get("resourceGroup")
    if group is not None:  # deployed into another group: its name is known, its location is not
        group = parent.evaluate(group, (*path, "resourceGroup"))
        if isinstance(group, str) and group.lower() != (context.resource_group or "").lower():
            context = DeploymentContext(context.subscription_id, group, None, context.assumed)
    return Evaluator(
        parameters=params_mod.Parameters(
            declared=params_mod.declare(template.get("parameters"), parent.file, root, template.get("definitions"))
        ),
        variables=variables,
        context=context,
        file=parent.file,
        root=root,
        parent=parent,
        passed=_passed_values(properties.get("parameters"), parent, (*path, "properties", "parameters")),
    )


def _passed_values(section: object, parent: Evaluator, path: JsonPath) -> dict[str, Passed]:
    """``properties.parameters`` of a nested deployment: ``{"NAME": {"value": ...}}``, or an expression giving that."""
    from aibpack.load.arm import Passed

    if section is None:
        return {}
    if not isinstance(section, dict):
        raise AibpackError("expected an object", file=parent.file, path=path)

    def compute(entry: object, where: JsonPath) -> Callable[[], object]:
        def value() -> object:
            passed = parent.evaluate(entry, where)
            if not isinstance(passed, dict) or "value" not in passed:
                raise AibpackError(
                    'expected {"value": ...} (a Key Vault "reference" cannot be read offline: pass the value instead)',
                    file=parent.file,
                    path=where,
                )
            return passed["value"]

        return value

    return {name.lower(): Passed((*path, name), compute(entry, (*path, name))) for name, entry in section.items()}


def _choose(candidates: list[_Candidate], wanted: str | None, file: str) -> _Candidate:
    """The one candidate, or the one ``--name`` names (case-insensitively, as Azure names are)."""
    names = ", ".join(repr(candidate[2]) for candidate in candidates if candidate[2] is not None) or "none named"
    if wanted is None:
        if len(candidates) == 1:
            return candidates[0]
        raise AibpackError(
            f"the ARM template holds {len(candidates)} image templates ({names}): pick one with --name",
            file=file,
            path=("resources",),
        )
    for candidate in candidates:
        name = candidate[2]
        if name is not None and name.lower() == wanted.lower():
            return candidate
    raise AibpackError(f"--name {wanted}: no image template of that name ({names})", file=file, path=("resources",))
