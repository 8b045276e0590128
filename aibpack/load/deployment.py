"""ARM deployment templates: parameters resolved, the image template picked (nested deployments too), evaluated.

Only imported for deployment templates: a bare resource never needs the expression evaluator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from aibpack.errors import AibpackError, Diagnostics, JsonPath
from aibpack.load import IMAGE_TEMPLATE_TYPE, LoadedTemplate, LoadOptions
from aibpack.load import parameters as params_mod
from aibpack.load.arm import DeploymentContext, Evaluator, Passed

DEPLOYMENT_TYPE = "Microsoft.Resources/deployments"
# (JSON path, the resource as written, its evaluated name, the evaluator of the template that holds it)
_Candidate = tuple[JsonPath, dict, str | None, Evaluator]


def from_deployment(document: dict, file: Path, options: LoadOptions, diagnostics: Diagnostics) -> LoadedTemplate:
    """An ARM deployment template: resolve parameters, pick the image template, evaluate it."""
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
    found: list[_Candidate] = []
    for key, resource in _entries(resources):
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


def _entries(resources: object) -> list[tuple[str | int, object]]:
    """``resources`` by index, or by symbolic name (languageVersion 2.0); anything else holds none."""
    if isinstance(resources, list):
        return list(enumerate(resources))
    return list(resources.items()) if isinstance(resources, dict) else []


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
    for _, resource in _entries(template.get("resources")):
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
            context = DeploymentContext(context.subscription_id, group, None, context.assumed, other_group=True)
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
