"""Reading existing Packer templates (legacy JSON, a ``.pkr.hcl`` file, or a template folder).

This is what both uses share: the files, the build to take (``--build``), the variables and locals declared.
``read_provisioners`` gives ``aibpack import`` the provisioners as plain values; :mod:`.preserve` gives
``compile --provisioners`` the blocks themselves, kept exactly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import hcl2

from aibpack.errors import AibpackError, Diagnostics
from aibpack.legacy import hcl_scan, json_upgrade
from aibpack.load.text import read_text
from aibpack.render import hcl


@dataclass(frozen=True)
class HclVariable:
    """A variable the preserved blocks need, declared in the compiled output.

    ``type`` and ``default`` are HCL expression text; a multi-line one is written for column 0, so
    place it with ``hcl.indent`` (which leaves heredoc bodies alone). ``description`` is plain text.
    """

    name: str
    type: str | None
    default: str
    sensitive: bool
    description: str | None = None


@dataclass(frozen=True)
class HclLocal:
    """A local the preserved blocks need; ``expression`` is HCL text (multi-line: for column 0)."""

    name: str
    expression: str
    sensitive: bool = False


@dataclass(frozen=True)
class LegacyProvisioner:
    """One provisioner as plain values, for ``aibpack import``.

    Strings have variables replaced by their literal default, or ``<name>`` when there is none or it is
    sensitive; OLD's directory (``{{template_dir}}``, ``${path.root}``) is replaced by its absolute path.
    """

    index: int
    type: str
    attributes: dict[str, object]


@dataclass(frozen=True)
class LegacyTemplate:
    file: Path  # the file holding the build, for messages
    directory: Path  # what relative paths in it mean
    provisioners: tuple[LegacyProvisioner, ...]


@dataclass(frozen=True)
class HclFile:
    path: Path
    text: str
    blocks: tuple[hcl_scan.Block, ...]


@dataclass(frozen=True)
class Declarations:
    """OLD's variables and locals by name, before we know which ones the blocks use."""

    variables: dict[str, HclVariable]
    locals: dict[str, HclLocal]


# ---------------------------------------------------------------------------------------------------
# Reading the input


def read_template(path: Path) -> dict | list[HclFile]:
    """The JSON template as data, or the HCL2 files (one, or a folder's ``*.pkr.hcl``)."""
    if path.is_dir():
        files = sorted(path.glob("*.pkr.hcl"))
        if not files:
            raise AibpackError("the folder holds no *.pkr.hcl file", file=path)
        return [_read_hcl(file, read_text(file, "Packer template")) for file in files]
    text = read_text(path, "Packer template")
    if path.suffix == ".json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            if path.suffix == ".json":
                raise AibpackError(
                    f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}", file=path
                ) from None
        else:
            if not isinstance(data, dict):
                raise AibpackError("a Packer JSON template is an object", file=path)
            return data
    return [_read_hcl(path, text)]


def _read_hcl(path: Path, text: str) -> HclFile:
    try:
        hcl2.loads(text)
    except Exception as err:  # python-hcl2 raises lark errors of many kinds
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise AibpackError(f"neither a JSON nor an HCL2 Packer template ({first})", file=path) from None
    try:
        return HclFile(path, text, tuple(hcl_scan.parse_blocks(text)))
    except AibpackError as err:
        raise err.located(path) from None


def template_directory(path: Path) -> Path:
    return (path if path.is_dir() else path.parent).resolve()


def template_kind(path: Path, data: object, index: int) -> str:
    kind = data.get("type") if isinstance(data, dict) else None
    if not isinstance(kind, str) or not kind:
        raise AibpackError(f"provisioners[{index}] has no type", file=path)
    return kind


# ---------------------------------------------------------------------------------------------------
# Build selection (HCL2)


def _build_name(file: HclFile, block: hcl_scan.Block) -> str | None:
    attribute = block.attributes.get("name")
    if attribute is None:
        return None
    value = hcl_scan.literal(file.text[attribute.value_start : attribute.value_end].strip())
    return str(value)


def select_build(files: list[HclFile], build: str | None, where: Path) -> tuple[HclFile, hcl_scan.Block]:
    builds = [(file, block) for file in files for block in file.blocks if block.type == "build"]
    if build is not None:
        chosen = [(f, b) for f, b in builds if _build_name(f, b) == build]
        if not chosen:
            raise AibpackError(f"no build named {build!r} (found: {_names(files, builds)})", file=where)
        return chosen[0]
    if not builds:
        raise AibpackError("no build block", file=where)
    if len(builds) > 1:
        raise AibpackError(
            f"{len(builds)} build blocks ({_names(files, builds)}); pick one with --build NAME", file=where
        )
    return builds[0]


def _names(files: list[HclFile], builds: list[tuple[HclFile, hcl_scan.Block]]) -> str:
    names = []
    for file, block in builds:
        name = _build_name(file, block)
        line = file.text.count("\n", 0, block.start) + 1
        names.append(name if name else f"unnamed build at {file.path.name}:{line}")
    return ", ".join(names) or "none"


def attribute_text(text: str, attribute: hcl_scan.Attribute) -> str:
    return text[attribute.value_start : attribute.value_end]


# ---------------------------------------------------------------------------------------------------
# aibpack import


def read_provisioners(path: Path, *, build: str | None) -> LegacyTemplate:
    """OLD's provisioners as plain values, variables replaced (see ``LegacyProvisioner``)."""
    read = read_template(path)
    old_dir = template_directory(path)
    if isinstance(read, dict):
        return LegacyTemplate(path, old_dir, tuple(_json_plain(path, read, old_dir)))
    file, build_block = select_build(read, build, path)
    values = _hcl_plain_values(read)
    provisioners = []
    for index, block in enumerate(b for b in build_block.blocks if b.type == "provisioner"):
        attributes = _substitute(hcl_values(file.text[block.start : block.end], old_dir), values)
        kind = block.labels[0] if block.labels else ""
        provisioners.append(LegacyProvisioner(index, kind, attributes))  # type: ignore[arg-type]
    return LegacyTemplate(file.path, old_dir, tuple(provisioners))


def _json_plain(path: Path, data: dict, old_dir: Path) -> list[LegacyProvisioner]:
    raw = data.get("variables") or {}
    sensitive = set(data.get("sensitive-variables") or [])

    def user(match: re.Match[str]) -> str:
        name = match.group(1) if match.group(1) is not None else match.group(2)
        value = raw.get(name)
        if name in sensitive or not isinstance(value, str) or not json_upgrade.is_plain(value):
            return f"<{name}>"
        return value

    def plain(data: object) -> object:
        if isinstance(data, str):
            data = re.sub(r"\{\{\s*user\s+(?:`([^`]*)`|\"([^\"]*)\")\s*\}\}", user, data)
            return re.sub(r"\{\{\s*template_dir\s*\}\}", str(old_dir), data)
        if isinstance(data, list):
            return [plain(item) for item in data]
        if isinstance(data, dict):
            return {key: plain(value) for key, value in data.items()}
        return data

    return [
        LegacyProvisioner(
            index, template_kind(path, item, index), plain({k: v for k, v in item.items() if k != "type"})
        )  # type: ignore[arg-type]
        for index, item in enumerate(data.get("provisioners") or [])
    ]


def _hcl_plain_values(files: list[HclFile]) -> dict[str, str]:
    """``var.x`` / ``local.x`` → the literal value when it is a non-sensitive constant, else ``<x>``."""
    decl = hcl_declarations(files, Diagnostics())
    values = {}
    for kind, table in (("var", decl.variables), ("local", decl.locals)):
        for name, item in table.items():
            expression = item.default if isinstance(item, HclVariable) else item.expression
            value = hcl_scan.literal(hcl2.loads(f"x = {expression}")["x"]) if expression else None
            constant = isinstance(value, str | int | float) and "${" not in str(value)
            values[f"{kind}.{name}"] = str(value) if constant and not item.sensitive else f"<{name}>"
    return values


def hcl_declarations(files: list[HclFile], diagnostics: Diagnostics) -> Declarations:
    variables: dict[str, HclVariable] = {}
    local_values: dict[str, HclLocal] = {}
    for file in files:
        for block in file.blocks:
            if block.type == "variable" and block.labels:
                variables[block.labels[0]] = _hcl_variable(file, block)
            elif block.type == "locals":
                for name, attribute in block.attributes.items():
                    local_values[name] = HclLocal(name, _expression_text(file.text, attribute))
            elif block.type == "local" and block.labels and "expression" in block.attributes:
                sensitive = block.attributes.get("sensitive")
                local_values[block.labels[0]] = HclLocal(
                    block.labels[0],
                    _expression_text(file.text, block.attributes["expression"]),
                    sensitive is not None and attribute_text(file.text, sensitive).strip() == "true",
                )
    return Declarations(variables, local_values)


def _hcl_variable(file: HclFile, block: hcl_scan.Block) -> HclVariable:
    get = block.attributes.get
    description = get("description")
    text = attribute_text(file.text, description).strip() if description else ""
    return HclVariable(
        name=block.labels[0],
        type=_expression_text(file.text, get("type")) if get("type") else None,
        default=_expression_text(file.text, get("default")) if get("default") else "",
        sensitive=bool(get("sensitive")) and attribute_text(file.text, get("sensitive")).strip() == "true",
        description=hcl_scan.string_value(text) if text.startswith('"') else None,
    )


def _expression_text(text: str, attribute: hcl_scan.Attribute) -> str:
    """The attribute's value text, continuation lines moved as if the attribute stood at column 0."""
    line_start = text.rfind("\n", 0, attribute.start) + 1
    return dedent(text[attribute.value_start : attribute.value_end], attribute.start - line_start)


def hcl_values(block_text: str, old_dir: Path) -> dict[str, object]:
    """A provisioner block's attributes as plain values, ``${path.root}`` replaced by OLD's directory."""
    parsed = hcl_scan.literal(hcl2.loads(block_text))
    body = next(iter(parsed["provisioner"][0].values()))  # type: ignore[index]
    return _substitute(body, {"path.root": str(old_dir)})  # type: ignore[return-value]


def _substitute(data: object, values: dict[str, str]) -> object:
    if isinstance(data, str):
        return re.sub(r"\$\{([a-z]+\.[A-Za-z0-9_-]+)\}", lambda m: values.get(m.group(1), m.group(0)), data)
    if isinstance(data, list):
        return [_substitute(item, values) for item in data]
    if isinstance(data, dict):
        return {key: _substitute(value, values) for key, value in data.items()}
    return data


def dedent(text: str, width: int) -> str:
    """Remove up to ``width`` leading spaces from each line but the first, outside heredoc bodies."""
    lines = text.split("\n")
    body = hcl.heredoc_body_lines(lines)
    out = [lines[0]]
    for index, line in enumerate(lines[1:], start=1):
        if index in body:
            out.append(line)
        else:
            cut = min(width, len(line) - len(line.lstrip(" ")))
            out.append(line[cut:])
    return "\n".join(out)
