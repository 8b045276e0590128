"""The load stage: a template file becomes one plain ``imageTemplates`` resource, fully evaluated.

Two forms are accepted. A bare resource is taken literally, as the REST API takes it (``az resource
create``): Azure evaluates no expressions there, and an inline line such as ``[ -d /x ]`` must survive.
An ARM deployment template has its image-template resource picked (``--name`` when there are several)
and every ARM expression in it evaluated. In both, ``--set`` placeholders are substituted in the raw
document first, as the tutorials' ``sed`` did, and whatever placeholder is left is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aibpack.errors import AibpackError, Diagnostics
from aibpack.load import exported, hints, placeholders
from aibpack.load.hints import IMAGE_TEMPLATE_TYPE
from aibpack.load.jsonc import parse_jsonc
from aibpack.load.text import read_text

__all__ = ["IMAGE_TEMPLATE_TYPE", "LoadOptions", "LoadedTemplate", "load_document", "load_template"]


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
    """Read ``path`` (UTF-8 or UTF-16, a BOM allowed) and load it; a missing or unreadable file is an error."""
    message = hints.bicep(path)
    if message:
        raise AibpackError(message, file=path)
    return load_document(read_text(path), path, options, diagnostics)


def load_document(text: str, file: Path, options: LoadOptions, diagnostics: Diagnostics) -> LoadedTemplate:
    """Load a template from its text: what :func:`load_template` does after reading the file."""
    where = str(file)
    try:
        document = parse_jsonc(text, where)
    except AibpackError:
        hint = hints.syntax(file, text)
        if hint is None:
            raise
        raise AibpackError(hint, file=where) from None
    values = placeholders.check_names(options.placeholders, where)
    document = placeholders.replace(document, values, diagnostics)
    if not isinstance(document, dict):
        raise AibpackError(hints.not_a_template(document, file), file=where)
    if _is_deployment_template(document):
        loaded = _from_deployment(document, file, options, diagnostics)
    else:
        loaded = _from_resource(document, file, options)
    placeholders.check_resolved(loaded.resource, where, loaded.resource_path)
    return loaded


def _from_deployment(document: dict, file: Path, options: LoadOptions, diagnostics: Diagnostics) -> LoadedTemplate:
    """An ARM deployment template; parameters without a value are named with the placeholders left, at once."""
    # Imported here: a bare resource (the common case) never needs the expression evaluator.
    from aibpack.load.deployment import from_deployment
    from aibpack.load.parameters import MissingParameters

    try:
        return from_deployment(document, file, options, diagnostics)
    except MissingParameters as missing:
        left = placeholders.unresolved(document)
        if not left:
            raise
        message = (
            f"{missing.describe()} and {placeholders.describe(left)}: "
            f"pass {missing.how_to_pass()} {placeholders.how_to_set(left)}"
        )
        raise AibpackError(message, file=file, path=missing.path) from None


def _is_deployment_template(document: dict) -> bool:
    schema = document.get("$schema")
    return (isinstance(schema, str) and "deploymenttemplate" in schema.lower()) or isinstance(
        document.get("resources"), list | dict
    )


def _from_resource(document: dict, file: Path, options: LoadOptions) -> LoadedTemplate:
    """A bare resource: checked to look like an image template, otherwise taken as it is."""
    if exported.is_flattened(document):
        document = exported.unflatten(document)
    kind = document.get("type")
    if not isinstance(document.get("properties"), dict) or (
        isinstance(kind, str) and not kind.lower().startswith("microsoft.virtualmachineimages")
    ):
        raise AibpackError(hints.not_a_template(document, file), file=file)
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
