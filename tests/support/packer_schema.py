"""Checks a compiled ``.pkr.hcl`` against the current plugins' HCL2 schema (``tests/data/packer_schema``).

Packer decodes a ``source "azure-arm"`` body and each provisioner body with the spec the plugin generated into
its ``*.hcl2spec.go``; ``schema.json`` holds those specs (``make.py`` regenerates it). A name the spec lacks is
Packer's "Unsupported argument" (or "Unsupported block type"), a block written as ``x = {...}`` or a value of
another type fails to decode. Here that is a problem line, so a test can show all of them at once.

Values are read with python-hcl2: a quoted string keeps its quotes, an expression is ``${...}``, a block is a
list of dicts marked ``__is_block__``. ``var.NAME`` takes the type its ``variable`` block declares.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import hcl2

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "data" / "packer_schema" / "schema.json"
_VAR = re.compile(r"^\$\{var\.([A-Za-z_][\w-]*)\}$")
_LIST = re.compile(r"^list\((.+)\)$")
_MAP = re.compile(r"^map\((.+)\)$")
BLOCK = "__is_block__"


@functools.cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def check(text: str) -> list[str]:
    """Every place where ``text`` does not match the schema: unknown names, blocks as attributes, wrong types."""
    parsed = hcl2.loads(text)
    types = _variable_types(parsed)
    problems: list[str] = []
    spec = schema()
    for item in parsed.get("source", []):
        for kind, by_name in item.items():
            kind = kind.strip('"')
            for name, body in by_name.items():
                where = f'source "{kind}" {name}'
                if kind not in spec["source"]:
                    problems.append(f"{where}: no schema for source type {kind}")
                    continue
                problems += _body(where, body, spec["source"][kind], types)
    for build in parsed.get("build", []):
        for index, item in enumerate(build.get("provisioner", [])):
            for kind, body in item.items():
                kind = kind.strip('"')
                where = f'provisioner[{index}] "{kind}"'
                if kind not in spec["provisioner"]:
                    problems.append(f"{where}: no schema for provisioner type {kind}")
                    continue
                merged = spec["provisioner"][kind]
                meta = {"attributes": {**merged["attributes"], **spec["provisioner_meta"]}, "blocks": merged["blocks"]}
                problems += _body(where, body, meta, types)
    return problems


def _variable_types(parsed: dict[str, Any]) -> dict[str, str]:
    out = {}
    for item in parsed.get("variable", []):
        for name, body in item.items():
            declared = str(body.get("type", "any"))
            out[name.strip('"')] = declared[2:-1] if declared.startswith("${") else declared
    return out


def _body(where: str, body: dict[str, Any], spec: dict[str, Any], types: dict[str, str]) -> list[str]:
    problems = []
    for key, value in body.items():
        if key == BLOCK:
            continue
        path = f"{where}.{key}"
        if key in spec["blocks"]:
            problems += _blocks(path, value, spec["blocks"][key], types)
        elif key in spec["attributes"]:
            if _is_block_list(value):
                problems.append(f"{path}: written as a block, but the schema has an attribute")
            else:
                problems += _value(path, value, spec["attributes"][key], types)
        else:
            problems.append(f"{path}: unsupported argument (not in the schema)")
    return problems


def _is_block_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get(BLOCK) for v in value)


def _blocks(path: str, value: Any, spec: dict[str, Any], types: dict[str, str]) -> list[str]:
    if not _is_block_list(value):
        return [f"{path}: must be a block ({path.rsplit('.', 1)[-1]} {{ ... }}), not an attribute"]
    if len(value) > 1 and not spec["repeated"]:
        return [f"{path}: only one block of this type is allowed"]
    problems = []
    for index, body in enumerate(value):
        problems += _body(f"{path}[{index}]" if spec["repeated"] else path, body, spec, types)
    return problems


def _value(path: str, value: Any, expected: str, types: dict[str, str]) -> list[str]:
    """One attribute value against its declared type; ``${...}`` other than ``var.X`` is taken as right."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        var = _VAR.match(value)
        if var is None:
            return []
        declared = types.get(var.group(1))
        if declared is None:
            return [f"{path}: var.{var.group(1)} is not declared"]
        return [] if declared in (expected, "any") else [f"{path}: var.{var.group(1)} is {declared}, not {expected}"]
    if expected == "any":
        return []
    if expected == "string":
        ok = isinstance(value, str) and value.startswith('"') and value.endswith('"')
    elif expected == "bool":
        ok = isinstance(value, bool)
    elif expected == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif match := _LIST.match(expected):
        if not isinstance(value, list):
            return [f"{path}: must be a list of {match.group(1)}"]
        return [p for i, item in enumerate(value) for p in _value(f"{path}[{i}]", item, match.group(1), types)]
    elif match := _MAP.match(expected):
        if not isinstance(value, dict) or value.get(BLOCK):
            return [f"{path}: must be a map of {match.group(1)}"]
        return [p for k, item in value.items() for p in _value(f"{path}.{k}", item, match.group(1), types)]
    else:
        return [f"{path}: the schema type {expected} is not understood here"]
    return [] if ok else [f"{path}: {value!r} is not a {expected}"]
