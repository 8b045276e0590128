"""Parameter values of an ARM deployment template, as ``az deployment group create`` would take them.

Precedence: ``--param NAME=VALUE``, then ``--parameters FILE`` (later files win), then the template's
``defaultValue``. The defaults may be expressions, so they are evaluated later, on use, by
:mod:`aibpack.load.arm`; this module finds the explicit values and checks every value against its
declaration. Names match case-insensitively, as in ARM.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aibpack.errors import AibpackError, Diagnostics, JsonPath, format_path
from aibpack.load.jsonc import parse_jsonc
from aibpack.load.text import read_text

SECURE_TYPES = frozenset({"securestring", "secureobject"})
# ARM type name (lower case) -> the Python type a value must have and the word used in messages.
_TYPES: dict[str, tuple[type, str]] = {
    "string": (str, "a string"),
    "securestring": (str, "a string"),
    "int": (int, "an integer"),
    "bool": (bool, "true or false"),
    "array": (list, "an array"),
    "object": (dict, "an object"),
    "secureobject": (dict, "an object"),
}
# Types whose --param value is JSON rather than plain text.
_JSON_TYPES = frozenset({"int", "bool", "array", "object", "secureobject"})


@dataclass(frozen=True)
class Parameter:
    """One declared parameter; ``type`` is lower-cased (``securestring``), as ARM ignores its case."""

    name: str
    type: str
    has_default: bool = False
    default: object = None
    allowed: list[object] | None = None
    nullable: bool = False  # languageVersion 2.0: may be null, which it is when no value is given
    root: JsonPath = ()  # where the declaring template is in the file: () or a nested deployment's template

    @property
    def secure(self) -> bool:
        return self.type in SECURE_TYPES

    @property
    def path(self) -> JsonPath:
        return (*self.root, "parameters", self.name)


@dataclass(frozen=True)
class Parameters:
    """Declared parameters and the explicit values given for them, both keyed by lower-cased name."""

    declared: Mapping[str, Parameter] = field(default_factory=dict)
    given: Mapping[str, object] = field(default_factory=dict)


def declare(section: object, file: str, root: JsonPath = (), definitions: object = None) -> dict[str, Parameter]:
    """Read a template's ``parameters`` section; a malformed declaration is an error at its path.

    A languageVersion 2.0 type (``"$ref": "#/definitions/NAME"``) is looked up in ``definitions``.
    """
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise AibpackError("expected an object of parameter declarations", file=file, path=(*root, "parameters"))
    declared: dict[str, Parameter] = {}
    for name, decl in section.items():
        path = (*root, "parameters", name)
        if not isinstance(decl, dict):
            raise AibpackError('expected a declaration with a "type"', file=file, path=path)
        kind, nullable = _type_of(decl, definitions, file, path)
        allowed = decl.get("allowedValues")
        if allowed is not None and not isinstance(allowed, list):
            raise AibpackError("expected an array", file=file, path=(*path, "allowedValues"))
        declared[name.lower()] = Parameter(
            name=name,
            type=kind,
            has_default="defaultValue" in decl,
            default=decl.get("defaultValue"),
            allowed=allowed,
            nullable=nullable,
            root=root,
        )
    return declared


def _type_of(decl: dict, definitions: object, file: str, path: JsonPath) -> tuple[str, bool]:
    """The declared type, lower-cased, and whether it is nullable, following ``$ref`` to ``#/definitions/NAME``."""
    nullable = False
    for _ in range(8):
        nullable = nullable or decl.get("nullable") is True
        kind = decl.get("type")
        if isinstance(kind, str):
            if kind.lower() not in _TYPES:
                raise AibpackError(
                    f"unknown parameter type {kind!r}: expected one of "
                    "string, securestring, int, bool, array, object, secureobject",
                    file=file,
                    path=(*path, "type"),
                )
            return kind.lower(), nullable
        reference = decl.get("$ref")
        target = reference.removeprefix("#/definitions/") if isinstance(reference, str) else None
        if target is None or not isinstance(definitions, dict) or not isinstance(definitions.get(target), dict):
            raise AibpackError(
                'expected a declaration with a "type" (or a "$ref" to #/definitions)', file=file, path=path
            )
        decl = definitions[target]
    raise AibpackError("the type's $ref chain is too long", file=file, path=path)


def resolve(
    declared: Mapping[str, Parameter],
    *,
    params: Mapping[str, str],
    files: Sequence[Path],
    template_file: str,
    diagnostics: Diagnostics,
) -> Parameters:
    """Collect the explicit values and make sure every parameter has a value or a default.

    A ``--param`` for an undeclared parameter is an error; a parameter file may serve several templates,
    so an undeclared name there is only a warning.
    """
    given: dict[str, object] = {}
    for param_file in files:
        for key, (value, path) in _read_parameter_file(param_file).items():
            param = declared.get(key)
            if param is None:
                diagnostics.warn(f"{param_file}: {format_path(path[:-1])}: not declared by the template; ignored")
                continue
            check_value(param, value, str(param_file), path)
            given[key] = value
    for name, text in params.items():
        param = declared.get(name.lower())
        if param is None:
            known = ", ".join(p.name for p in declared.values()) or "none"
            raise AibpackError(
                f"--param {name}: the template declares no parameter {name!r} (declared: {known})",
                file=template_file,
                path=("parameters",),
            )
        value = _decode(param, text, template_file)
        check_value(param, value, template_file, param.path)
        given[name.lower()] = value
    missing = [p for key, p in declared.items() if key not in given and not p.has_default and not p.nullable]
    if missing:
        raise MissingParameters(missing, template_file)
    return Parameters(declared=dict(declared), given=given)


class MissingParameters(AibpackError):
    """Parameters with neither a value nor a default, all named at once, with the options that give them."""

    def __init__(self, missing: Sequence[Parameter], file: str) -> None:
        self.missing = tuple(missing)
        super().__init__(f"{self.describe()}: pass {self.how_to_pass()}", file=file, path=missing[0].path)

    def describe(self) -> str:
        word = "parameter" if len(self.missing) == 1 else "parameters"
        return f"no value for {word} " + ", ".join(p.name for p in self.missing)

    def how_to_pass(self) -> str:
        return " ".join(f"--param {p.name}=VALUE" for p in self.missing) + " (or --parameters FILE)"


def check_value(param: Parameter, value: object, file: str, path: JsonPath) -> None:
    """Check ``value`` against the declared type and ``allowedValues``; secure values are never shown."""
    if value is None and param.nullable:
        return
    expected, word = _TYPES[param.type]
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise AibpackError(
            f"parameter {param.name!r} is declared {param.type} and needs {word}, got {json_kind(value)}",
            file=file,
            path=path,
        )
    if param.allowed is None:
        return
    items = value if param.type == "array" else [value]
    for item in items:  # type: ignore[union-attr]
        if item not in param.allowed:
            shown = "the value" if param.secure else f"{json.dumps(item)}"
            allowed = ", ".join(json.dumps(a) for a in param.allowed)
            raise AibpackError(
                f"parameter {param.name!r}: {shown} is not one of the allowedValues ({allowed})",
                file=file,
                path=path,
            )


def _decode(param: Parameter, text: str, file: str) -> object:
    """A ``--param`` value: JSON for int/bool/array/object parameters, plain text otherwise."""
    if param.type not in _JSON_TYPES:
        return text
    if param.type == "bool" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        shown = "the value" if param.secure else repr(text)
        raise AibpackError(
            f"--param {param.name}: {shown} is not valid JSON for a {param.type} parameter ({err.msg})",
            file=file,
            path=param.path,
        ) from None


def _read_parameter_file(path: Path) -> dict[str, tuple[object, JsonPath]]:
    """Values of an ARM parameter file, keyed by lower-cased name, each with its JSON path."""
    file = str(path)
    doc = parse_jsonc(read_text(path, "parameter file"), file)
    if not isinstance(doc, dict):
        raise AibpackError('expected an object: {"parameters": {"NAME": {"value": ...}}}', file=file)
    prefix: JsonPath = ()
    entries = doc
    if _is_deployment_parameters(doc):
        prefix, entries = ("parameters",), doc.get("parameters", {})
        if not isinstance(entries, dict):
            raise AibpackError("expected an object", file=file, path=prefix)
    values: dict[str, tuple[object, JsonPath]] = {}
    for name, entry in entries.items():
        path = (*prefix, name)
        if isinstance(entry, dict) and "reference" in entry:
            raise AibpackError(
                f"parameter {name!r} is a Key Vault reference, which aibpack cannot read: "
                f"pass the value with --param {name}=VALUE",
                file=file,
                path=(*path, "reference"),
            )
        if not isinstance(entry, dict) or "value" not in entry:
            raise AibpackError(f'expected {{"value": ...}} for parameter {name!r}', file=file, path=path)
        values[name.lower()] = (entry["value"], (*path, "value"))
    return values


def _is_deployment_parameters(doc: dict[str, object]) -> bool:
    """The full file format (``$schema``/``contentVersion``/``parameters``) rather than bare entries."""
    if "$schema" in doc or "contentVersion" in doc:
        return True
    entry = doc.get("parameters")
    return isinstance(entry, dict) and not ("value" in entry or "reference" in entry)


def json_kind(value: object) -> str:
    """How a JSON value is named in messages ('an integer'), without showing the value."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "an object"
    )
