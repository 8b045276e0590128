"""Make raw JSON fit the models the way AIB reads it, before pydantic sees it.

AIB matched property names case-insensitively before api-version 2024-02-01 and ignored unknown ones
(a misspelt ``aritfactTags`` silently did nothing). Here a misspelt name (one close to a known name) is an error
with a "did you mean", any other unknown name a warning, and older api-versions get their names re-cased.
A property set to null is absent, as in any Azure PUT.

The walk follows the validator's own core schema, so it knows exactly the names and tags pydantic will accept.
"""

from __future__ import annotations

from typing import Any

from aibpack.errors import AibpackError, Diagnostics, JsonPath
from aibpack.model.core import CoreSchema

# From api-version 2024-02-01 AIB matches property names case-sensitively and refuses unknown ones
# (azure-compute-docs image-builder-api-update-release-notes.md, May 2024).
CASE_STRICT_SINCE = "2024-02-01"
# Schemas that only wrap another one, under ``schema``: None, defaults, validator functions.
_WRAPPERS = frozenset({"nullable", "default", "function-after", "function-before", "function-wrap"})


def case_insensitive(api_version: str) -> bool:
    """Whether names match case-insensitively: before 2024-02-01, previews included."""
    return api_version[:10] < CASE_STRICT_SINCE


def normalize(schema: CoreSchema, data: Any, *, loose_case: bool, diagnostics: Diagnostics) -> Any:
    """Return ``data`` with names re-cased for ``schema`` and unknown names reported and dropped."""
    definitions: dict[str, CoreSchema] = {}
    if schema["type"] == "definitions":
        definitions = {definition["ref"]: definition for definition in schema["definitions"]}
        schema = schema["schema"]
    return _Walk(definitions, loose_case, diagnostics).value(schema, data, ())


class _Walk:
    def __init__(self, definitions: dict[str, CoreSchema], loose: bool, diagnostics: Diagnostics) -> None:
        self.definitions = definitions
        self.loose = loose
        self.diagnostics = diagnostics

    def value(self, schema: CoreSchema, data: Any, path: JsonPath) -> Any:
        kind = schema["type"]
        if kind == "definition-ref":
            return self.value(self.definitions[schema["schema_ref"]], data, path)
        if kind in _WRAPPERS:
            return self.value(schema["schema"], data, path)
        if kind == "list" and isinstance(data, list) and "items_schema" in schema:
            return [self.value(schema["items_schema"], item, (*path, i)) for i, item in enumerate(data)]
        if kind == "dict" and isinstance(data, dict) and "values_schema" in schema:
            values = schema["values_schema"]
            nulls_kept = values["type"] in ("any", "nullable")  # else a null entry (a tag) is absent, as in Azure
            return {
                key: self.value(values, item, (*path, key))
                for key, item in data.items()
                if item is not None or nulls_kept
            }
        if kind == "tagged-union" and isinstance(data, dict):
            return self.tagged(schema, data, path)
        if kind == "dataclass" and isinstance(data, dict):
            return self.record(schema["schema"], data, path)
        return data

    def tagged(self, schema: CoreSchema, data: dict[str, Any], path: JsonPath) -> Any:
        """Pick the member of a tagged union by its tag (re-cased when names are loose)."""
        tag_key = self.find_key(data, schema["discriminator"])
        if tag_key is None or not isinstance(data[tag_key], str):
            return data
        choices: dict[str, CoreSchema] = schema["choices"]
        tag = data[tag_key]
        if tag not in choices and self.loose:
            tag = next((known for known in choices if known.lower() == tag.lower()), tag)
        if tag not in choices:
            return data
        return self.value(choices[tag], {**data, tag_key: tag}, path)

    def find_key(self, data: dict[str, Any], name: str) -> str | None:
        if name in data:
            return name
        if self.loose:
            return next((key for key in data if key.lower() == name.lower()), None)
        return None

    def record(self, arguments: CoreSchema, data: dict[str, Any], path: JsonPath) -> dict[str, Any]:
        fields = {field["validation_alias"]: field["schema"] for field in arguments["fields"]}
        by_lower = {alias.lower(): alias for alias in fields}
        out: dict[str, Any] = {}
        for raw_key, raw_value in data.items():
            alias = raw_key if raw_key in fields else (by_lower.get(raw_key.lower()) if self.loose else None)
            if alias is None:
                _report_unknown(raw_key, list(fields), (*path, raw_key), self.diagnostics)
                continue
            if raw_value is None:  # as Azure reads a PUT (and Bicep writes an unset nullable parameter): absent
                continue
            if alias in out:
                self.diagnostics.warn(
                    f"'{raw_key}' repeats '{alias}' in another case; the last one wins", (*path, raw_key)
                )
            out[alias] = self.value(fields[alias], raw_value, (*path, alias))
        return out


def _report_unknown(name: str, known: list[str], path: JsonPath, diag: Diagnostics) -> None:
    """A name close to a known one is a typo (``customise``, ``vmsize``): an error, or the image would be built
    without what it meant. A name like no known one stays a warning: it may come from a newer api-version."""
    import difflib  # only on this rare path

    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6) or [k for k in known if k.lower() == name.lower()]
    if hint:
        raise AibpackError(
            f"unknown property '{name}': did you mean '{hint[0]}'? (AIB would ignore it and build without it)",
            path=path,
        )
    diag.warn(f"unknown property '{name}'; ignored", path)
