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
from aibpack.load import placeholders
from aibpack.load.jsonc import parse_jsonc

__all__ = ["LoadOptions", "LoadedTemplate", "load_document", "load_template"]

IMAGE_TEMPLATE_TYPE = "Microsoft.VirtualMachineImages/imageTemplates"
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
        # Imported here: a bare resource (the common case) never needs the expression evaluator.
        from aibpack.load.deployment import from_deployment

        loaded = from_deployment(document, file, options, diagnostics)
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
