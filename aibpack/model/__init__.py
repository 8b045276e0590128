"""The model stage: a loaded resource (plain JSON) becomes a validated ``ImageTemplate``."""

from __future__ import annotations

from typing import Any

from pydantic_core import ValidationError

from aibpack.errors import AibpackError, Diagnostics, JsonPath
from aibpack.model import rules
from aibpack.model.core import core_schema, validator
from aibpack.model.normalize import case_insensitive, normalize
from aibpack.model.template import ImageTemplate

__all__ = ["ImageTemplate", "parse_template"]


def parse_template(resource: dict[str, Any], diagnostics: Diagnostics) -> ImageTemplate:
    """Validate one image-template resource against the models and AIB's cross-field rules.

    Errors are ``AibpackError`` with a JSON path relative to the resource.
    """
    api_version = resource.get("apiVersion")
    loose = case_insensitive(api_version if isinstance(api_version, str) else "")
    data = normalize(core_schema(), resource, loose_case=loose, diagnostics=diagnostics)
    try:
        template = validator().validate_python(data)
    except ValidationError as exc:
        raise _first_error(exc, data) from None
    rules.check(template)
    return template


def _first_error(exc: ValidationError, data: Any) -> AibpackError:
    error = exc.errors(include_url=False)[0]
    path = _data_path(error["loc"], data)
    return AibpackError(_message(error), path=path)


def _data_path(loc: tuple[Any, ...], data: Any) -> JsonPath:
    """Pydantic's location without the union tags it inserts (``customize[2].Shell.inline``)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part not in node:
            tag = node.get("type", node.get("scheme"))
            if tag == part:
                continue
        path.append(part)
        node = node[part] if isinstance(node, dict | list) and _has(node, part) else None
    return tuple(path)


def _has(node: dict[str, Any] | list[Any], part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(part, int) and 0 <= part < len(node)


def _message(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "missing required property"
    if kind == "union_tag_invalid":
        return f"unknown type {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return f"missing '{ctx.get('discriminator', 'type').strip(chr(39))}' (one of the known types)"
    if kind == "literal_error":
        return f"got {error.get('input')!r}; expected {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"{error.get('input')!r} does not match {ctx.get('pattern')}"
    if kind in (
        "string_type",
        "int_type",
        "int_parsing",
        "bool_type",
        "bool_parsing",
        "list_type",
        "dict_type",
        "dataclass_type",
        "dataclass_args_type",
        "int_from_float",
    ):
        expected = {
            "string": "a string",
            "int": "an integer",
            "bool": "true or false",
            "list": "an array",
            "dict": "an object",
            "dataclass": "an object",
        }[kind.split("_")[0]]
        return f"expected {expected}, got {_json_type(error.get('input'))}"
    return str(error["msg"])


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"the string {value!r}"
    return "an array" if isinstance(value, list) else "an object"
