"""Make raw JSON fit the models the way AIB reads it, before pydantic sees it.

AIB matched property names case-insensitively before api-version 2024-02-01 and ignored unknown ones
(a misspelt ``aritfactTags`` silently did nothing). Here every unknown name is a warning with a
"did you mean", and older api-versions get their names re-cased.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from aibpack.errors import Diagnostics, JsonPath

CASE_STRICT_SINCE = "2024-02-01"


def case_insensitive(api_version: str) -> bool:
    """Whether names match case-insensitively: before 2024-02-01, previews included."""
    return api_version[:10] < CASE_STRICT_SINCE


def normalize(model: type[BaseModel], data: Any, *, loose_case: bool, diagnostics: Diagnostics) -> Any:
    """Return ``data`` with names re-cased for ``model`` and unknown names reported and dropped."""
    return _walk(model, data, (), loose_case, diagnostics)


def _walk(annotation: Any, data: Any, path: JsonPath, loose: bool, diag: Diagnostics) -> Any:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        inner, *meta = get_args(annotation)
        discriminator = next((m.discriminator for m in meta if isinstance(m, FieldInfo) and m.discriminator), None)
        if discriminator:
            return _walk_union(get_args(inner), str(discriminator), data, path, loose, diag)
        return _walk(inner, data, path, loose, diag)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if len(members) == 1:
            return _walk(members[0], data, path, loose, diag)
        if models and len(models) == len(members) and "type" in models[0].model_fields:
            return _walk_union(tuple(models), "type", data, path, loose, diag)
        return data
    if origin is list and isinstance(data, list):
        (item,) = get_args(annotation)
        return [_walk(item, v, (*path, i), loose, diag) for i, v in enumerate(data)]
    if origin is dict and isinstance(data, dict):
        _, item = get_args(annotation)
        return {k: _walk(item, v, (*path, k), loose, diag) for k, v in data.items()}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(data, dict):
        return _walk_model(annotation, data, path, loose, diag)
    return data


def _walk_union(models: tuple[Any, ...], tag: str, data: Any, path: JsonPath, loose: bool, diag: Diagnostics) -> Any:
    """Pick the member of a discriminated union by its tag (re-cased when names are loose)."""
    if not isinstance(data, dict):
        return data
    tag_key = _find_key(data, tag, loose)
    if tag_key is None or not isinstance(data[tag_key], str):
        return data
    by_tag = {get_args(m.model_fields[tag].annotation)[0]: m for m in models}
    value = data[tag_key]
    if value not in by_tag and loose:
        value = next((t for t in by_tag if t.lower() == value.lower()), value)
    if value not in by_tag:
        return data
    return _walk_model(by_tag[value], {**data, tag_key: value}, path, loose, diag)


def _find_key(data: dict[str, Any], name: str, loose: bool) -> str | None:
    if name in data:
        return name
    if loose:
        return next((k for k in data if k.lower() == name.lower()), None)
    return None


def _walk_model(model: type[BaseModel], data: dict[str, Any], path: JsonPath, loose: bool, diag: Diagnostics):
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    by_lower = {alias.lower(): alias for alias in fields}
    out: dict[str, Any] = {}
    for raw_key, raw_value in data.items():
        alias = raw_key if raw_key in fields else (by_lower.get(raw_key.lower()) if loose else None)
        if alias is None:
            _report_unknown(raw_key, list(fields), (*path, raw_key), diag)
            continue
        if alias in out:
            diag.warn(f"'{raw_key}' repeats '{alias}' in another case; the last one wins", (*path, raw_key))
        out[alias] = _walk(fields[alias].annotation, raw_value, (*path, alias), loose, diag)
    return out


def _report_unknown(name: str, known: list[str], path: JsonPath, diag: Diagnostics) -> None:
    import difflib  # only on this rare path

    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6) or [k for k in known if k.lower() == name.lower()]
    message = f"unknown property '{name}'; ignored"
    if hint:
        message += f" (did you mean '{hint[0]}'?)"
    diag.warn(message, path)
