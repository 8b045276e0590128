"""``compile --provisioners``: an existing template's provisioner blocks, kept exactly, with what they need.

HCL2 input is cut from the source text, so heredocs and comments survive; JSON input is converted as
``packer hcl2_upgrade`` would. Only what must change is changed: names that clash with aibpack's own, and
paths, because Packer now runs from the output directory while the old paths meant the old template's.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import hcl2

from aibpack.errors import AibpackError, Diagnostics
from aibpack.legacy import hcl_scan, json_upgrade
from aibpack.legacy.template import (
    Declarations,
    HclFile,
    HclLocal,
    HclVariable,
    attribute_text,
    dedent,
    hcl_declarations,
    hcl_values,
    read_template,
    select_build,
    template_directory,
    template_kind,
)
from aibpack.render import hcl

# Attributes holding paths on the machine running Packer, per provisioner type (relative = to the cwd).
LOCAL_PATHS: dict[str, tuple[str, ...]] = {
    "shell": ("script", "scripts"),
    "powershell": ("script", "scripts"),
    "windows-shell": ("script", "scripts"),
    "shell-local": ("script", "scripts"),
    "file": ("source", "sources"),
    "ansible": ("playbook_file", "galaxy_file", "inventory_file", "inventory_directory"),
    "ansible-local": ("playbook_file", "playbook_dir", "galaxy_file", "inventory_file", "role_paths"),
    "puppet-masterless": ("manifest_file", "manifest_dir", "hiera_config_path", "module_paths"),
    "chef-solo": ("cookbook_paths", "roles_path", "data_bags_path", "environments_path"),
    "salt-masterless": ("local_state_tree", "local_pillar_roots", "minion_config"),
    "inspec": ("profile",),
}


# Paths that must exist before the build (Packer stats them at validate time).
_MUST_EXIST = ("script", "scripts", "source", "sources")


_DEPROVISION = re.compile(r"waagent\b[^\n]*-deprovision|sysprep", re.IGNORECASE)


@dataclass(frozen=True)
class PreservedProvisioners:
    source_file: Path
    blocks: tuple[str, ...]
    variables: tuple[HclVariable, ...]
    locals: tuple[HclLocal, ...]
    source_names: frozenset[str]


# ---------------------------------------------------------------------------------------------------
# Declarations


def _json_declarations(data: dict, conv: json_upgrade.Conversion) -> Declarations:
    """OLD's variables as HCL: plain ones (and ``{{env}}`` ones) stay variables, templated ones become locals.

    Sets ``conv.user_kind`` (``var`` or ``local`` per JSON variable) for ``{{user}}`` conversion.
    """
    raw = data.get("variables") or {}
    sensitive = set(data.get("sensitive-variables") or [])
    kinds = {name: "var" if _stays_variable(value) else "local" for name, value in raw.items()}
    conv.user_kind = kinds
    variables: dict[str, HclVariable] = {}
    local_values: dict[str, HclLocal] = {}
    for name, value in raw.items():
        if kinds[name] == "local":
            local_values[name] = HclLocal(name, json_upgrade.expression(value, conv), name in sensitive)
            continue
        conv.in_variable_default = True
        default = "" if value is None else json_upgrade.expression(_as_string(value), conv)
        conv.in_variable_default = False
        variables[name] = HclVariable(name, "string", default, name in sensitive)
    return Declarations(variables, local_values)


def _stays_variable(value: object) -> bool:
    """Variables may hold only constants and ``env()``; anything else in a default needs a local."""
    if not isinstance(value, str):
        return True
    without_env = re.sub(r"\{\{\s*env\s+(`[^`]*`|\"[^\"]*\")\s*\}\}", "", value)
    return json_upgrade.is_plain(without_env)


def _as_string(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _needed(blocks: Iterable[str], decl: Declarations, where: Path) -> tuple[list[str], list[str]]:
    """Variables and locals the blocks use, directly or through locals, in declaration order."""
    wanted: set[tuple[str, str]] = set()
    pending = [ref for block in blocks for ref in _refs(block)]
    while pending:
        kind, name = pending.pop()
        if (kind, name) in wanted:
            continue
        wanted.add((kind, name))
        if kind == "var" and name not in decl.variables:
            raise AibpackError(f"the provisioners use var.{name}, which is not declared", file=where)
        if kind == "local":
            if name not in decl.locals:
                raise AibpackError(f"the provisioners use local.{name}, which is not declared", file=where)
            pending.extend(_refs(decl.locals[name].expression))
    return (
        [name for name in decl.variables if ("var", name) in wanted],
        [name for name in decl.locals if ("local", name) in wanted],
    )


def _refs(text: str) -> list[tuple[str, str]]:
    return [(kind, name) for kind, name, _, _ in hcl_scan.references(text)]


def _renames(names: Iterable[str], reserved: frozenset[str]) -> dict[str, str]:
    """``legacy_<name>`` (then ``legacy2_<name>``…) for each name aibpack's own output already uses."""
    taken = set(reserved) | set(names)
    renames = {}
    for name in names:
        if name not in reserved:
            continue
        candidate, counter = f"legacy_{name}", 2
        while candidate in taken:
            candidate, counter = f"legacy{counter}_{name}", counter + 1
        taken.add(candidate)
        renames[name] = candidate
    return renames


def _rename(text: str, var_renames: dict[str, str], local_renames: dict[str, str]) -> str:
    """``text`` with ``var.X`` / ``local.X`` renamed in code (never in literal text)."""
    tables = {"var": var_renames, "local": local_renames}
    out, position = [], 0
    for kind, name, start, end in hcl_scan.references(text):
        if name in tables[kind]:
            out += [text[position:start], tables[kind][name]]
            position = end
    return "".join(out) + text[position:]


# ---------------------------------------------------------------------------------------------------
# Checks shared by JSON and HCL2 input


def _check_paths(where: Path, index: int, kind: str, attributes: dict[str, object], old_dir: Path) -> None:
    """A script or upload that does not exist fails now, naming it, instead of in ``packer validate``."""
    if kind not in LOCAL_PATHS or attributes.get("generated") is True or attributes.get("direction") == "download":
        return
    for name in _MUST_EXIST:
        value = attributes.get(name)
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str) or "{{" in item.replace("{{template_dir}}", "") or "${" in item:
                continue
            path = Path(item.replace("{{template_dir}}", str(old_dir)))
            if not (path if path.is_absolute() else old_dir / path).exists():
                raise AibpackError(f"provisioners[{index}] ({kind}): {name} {item} not found", file=where)


def _warn_user_deprovision(where: Path, index: int, kind: str, texts: Iterable[str], d: Diagnostics) -> None:
    if any(_DEPROVISION.search(text) for text in texts):
        d.warn(
            f"{where}: provisioners[{index}] ({kind}): the input already deprovisions the VM (waagent/"
            "sysprep); it is kept, and aibpack still adds its own deprovision step last"
        )


def _script_texts(attributes: dict[str, object], old_dir: Path) -> list[str]:
    texts = []
    for name in ("script", "scripts"):
        value = attributes.get(name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and "${" not in item:
                path = Path(item.replace("{{template_dir}}", str(old_dir)))
                path = path if path.is_absolute() else old_dir / path
                if path.is_file():
                    texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return texts


def _warn_only_except(
    where: Path, index: int, kind: str, attributes: dict[str, object], compiled: str, d: Diagnostics
) -> None:
    """``only``/``except`` are kept verbatim; say so when they no longer select the compiled build."""
    name = compiled.removeprefix("source.")
    only, excepted = attributes.get("only"), attributes.get("except")
    prefix = f"{where}: provisioners[{index}] ({kind})"
    if isinstance(only, list) and name not in only:
        d.warn(
            f"{prefix}: only = {json.dumps(only)} names no source of the compiled build ({name}); "
            "the provisioner would never run"
        )
    if isinstance(excepted, list) and name in excepted:
        d.warn(
            f"{prefix}: except = {json.dumps(excepted)} names the compiled build ({name}); "
            "the provisioner would never run"
        )
    elif isinstance(excepted, list):
        d.warn(
            f"{prefix}: except = {json.dumps(excepted)} names no source of the compiled build "
            f"({name}); it has no effect"
        )
    override = attributes.get("override")
    if isinstance(override, dict) and name not in override:
        d.warn(f"{prefix}: override names no source of the compiled build ({name}); it has no effect")


# ---------------------------------------------------------------------------------------------------
# compile --provisioners


def load_provisioners(
    path: Path,
    *,
    build: str | None,
    output_dir: Path,
    reserved_names: frozenset[str],
    compiled_source: str,
    diagnostics: Diagnostics,
) -> PreservedProvisioners:
    """OLD's provisioners as HCL blocks for the compiled build, with the declarations they need."""
    read = read_template(path)
    old_dir = template_directory(path)
    root = _relative_root(old_dir, output_dir)
    if isinstance(read, dict):
        blocks, decl, sources, where = _json_blocks(path, read, old_dir, root, compiled_source, diagnostics)
    else:
        blocks, decl, sources, where = _hcl_blocks(path, read, build, old_dir, root, compiled_source, diagnostics)
    if not blocks:
        diagnostics.warn(f"{where}: has no provisioners")
    variable_names, local_names = _needed(blocks, decl, where)
    var_renames = _renames(variable_names, reserved_names)
    local_renames = _renames(local_names, reserved_names)
    for name in variable_names:
        if not decl.variables[name].default:
            diagnostics.warn(
                f'{where}: variable {name!r} has no default; declared with default "" '
                f"(give it with -var {var_renames.get(name, name)}=VALUE)"
            )
    variables = tuple(_renamed_variable(decl.variables[name], var_renames, local_renames) for name in variable_names)
    local_values = tuple(
        HclLocal(
            local_renames.get(name, name),
            _rename(decl.locals[name].expression, var_renames, local_renames),
            decl.locals[name].sensitive,
        )
        for name in local_names
    )
    return PreservedProvisioners(
        source_file=path,
        blocks=tuple(hcl.align(_rename(block, var_renames, local_renames)) for block in blocks),
        variables=variables,
        locals=local_values,
        source_names=sources,
    )


def _renamed_variable(variable: HclVariable, var_renames: dict[str, str], local_renames: dict[str, str]) -> HclVariable:
    return HclVariable(
        name=var_renames.get(variable.name, variable.name),
        type=variable.type,
        default=_rename(variable.default, var_renames, local_renames) if variable.default else '""',
        sensitive=variable.sensitive,
        description=variable.description,
    )


def _json_blocks(
    path: Path, data: dict, old_dir: Path, root: str, compiled: str, d: Diagnostics
) -> tuple[list[str], Declarations, frozenset[str], Path]:
    template_dir = (
        "${path.root}" if root == "." else "${path.root}/" + json_upgrade.template_text(root, json_upgrade.Conversion())
    )
    conv = json_upgrade.Conversion(template_dir=template_dir)
    decl = _json_declarations(data, conv)
    blocks = []
    for index, raw in enumerate(data.get("provisioners") or []):
        kind = template_kind(path, raw, index)
        attributes = {k: v for k, v in raw.items() if k != "type"}
        _check_paths(path, index, kind, attributes, old_dir)
        _warn_only_except(path, index, kind, attributes, compiled, d)
        _warn_user_deprovision(path, index, kind, [json.dumps(raw), *_script_texts(attributes, old_dir)], d)
        if root != ".":
            attributes = _json_relocated(kind, attributes)
        try:
            blocks.append(json_upgrade.provisioner_block(kind, attributes, conv))
        except AibpackError as err:
            raise AibpackError(f"provisioners[{index}] ({kind}): {err.message}", file=path) from None
    for name in sorted(conv.env_used):
        decl.variables[f"env_{name}"] = HclVariable(f"env_{name}", "string", f"env({json.dumps(name)})", False)
    if ("local", "timestamp") in conv.references and "timestamp" not in decl.locals:
        decl.locals["timestamp"] = HclLocal("timestamp", json_upgrade.TIMESTAMP_LOCAL)
    builders = data.get("builders") or []
    sources = frozenset(str(b.get("name") or b.get("type")) for b in builders if isinstance(b, dict))
    return blocks, decl, sources, path


def _json_relocated(kind: str, attributes: dict[str, object]) -> dict[str, object]:
    """Relative local paths prefixed with ``{{template_dir}}/``, which then points at OLD's directory."""
    names = LOCAL_PATHS.get(kind, ())
    if kind == "file" and attributes.get("direction") == "download":
        names = ("destination",)
    out = dict(attributes)
    for name in names:
        value = out.get(name)
        if isinstance(value, str) and _is_relative(value):
            out[name] = "{{template_dir}}/" + _strip_dot(value)
        elif isinstance(value, list):
            out[name] = [
                "{{template_dir}}/" + _strip_dot(v) if isinstance(v, str) and _is_relative(v) else v for v in value
            ]
    return out


def _hcl_blocks(
    path: Path,
    files: list[HclFile],
    build: str | None,
    old_dir: Path,
    root: str,
    compiled: str,
    d: Diagnostics,
) -> tuple[list[str], Declarations, frozenset[str], Path]:
    file, build_block = select_build(files, build, path)
    blocks = []
    for block in build_block.blocks:
        if block.type == "error-cleanup-provisioner":
            d.warn(f"{file.path}: error-cleanup-provisioner {block.labels[0]!r} is not carried over")
    provisioners = [b for b in build_block.blocks if b.type == "provisioner"]
    for index, block in enumerate(provisioners):
        kind = block.labels[0] if block.labels else ""
        block_text = file.text[block.start : block.end]
        attributes = hcl_values(block_text, old_dir)
        _check_paths(file.path, index, kind, attributes, old_dir)
        _warn_only_except(file.path, index, kind, attributes, compiled, d)
        texts = [block_text, *_script_texts(attributes, old_dir)]
        _warn_user_deprovision(file.path, index, kind, texts, d)
        edits = _hcl_path_edits(file.text, block, root) if root != "." else []
        blocks.append(_cut(file.text, block, edits))
    return blocks, hcl_declarations(files, d), _hcl_source_names(file, build_block), file.path


def _hcl_path_edits(text: str, block: hcl_scan.Block, root: str) -> list[tuple[int, int, str]]:
    """Edits pointing relative paths and ``path.root`` at OLD's directory, as seen from the output."""
    prefix = "${path.root}/" + hcl.quote(root)[1:-1]
    tokens = [t for t in hcl_scan.scan(text[: block.end]) if t.start >= block.start]
    edits = []
    for start, end in hcl_scan.path_root_references(text, tokens):
        if text[start - 2 : start] == "${" and text[end : end + 1] == "}":
            edits.append((start - 2, end + 1, prefix))
        else:
            edits.append((start, end, '"' + prefix + '"'))
    kind = block.labels[0] if block.labels else ""
    names = LOCAL_PATHS.get(kind, ())
    direction = block.attributes.get("direction")
    if kind == "file" and direction and "download" in attribute_text(text, direction):
        names = ("destination",)
    for name in names:
        attribute = block.attributes.get(name)
        if attribute is None:
            continue
        for token in tokens:
            inside = attribute.value_start <= token.start < attribute.value_end
            if not (inside and token.kind == "string" and token.depth == 0):
                continue
            value = hcl_scan.string_value(text[token.start : token.end])
            if _is_relative(value):
                dots = len(value) - len(_strip_dot(value))
                edits.append((token.start + 1, token.start + 1 + dots, prefix + "/"))
    return edits


def _cut(text: str, block: hcl_scan.Block, edits: list[tuple[int, int, str]]) -> str:
    """The block's text with ``edits`` applied, moved to column 0 (heredoc bodies untouched)."""
    line_start = text.rfind("\n", 0, block.start) + 1
    lead = text[line_start : block.start]
    width = len(lead) if not lead.strip() else 0
    out, position = [], block.start
    for start, end, replacement in sorted(edits):
        out += [text[position:start], replacement]
        position = end
    out.append(text[position : block.end])
    return dedent("".join(out), width)


def _relative_root(old_dir: Path, output_dir: Path) -> str:
    """Posix path from ``output_dir`` to ``old_dir``; ``.`` when they are the same."""
    return Path(os.path.relpath(old_dir, output_dir.resolve())).as_posix()


def _is_relative(path: str) -> bool:
    return not (
        path.startswith(("/", "\\", "~", "{{", "${")) or re.match(r"^[A-Za-z]:[\\/]", path) or "://" in path or not path
    )


def _strip_dot(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path


def _hcl_source_names(file: HclFile, block: hcl_scan.Block) -> frozenset[str]:
    names = {f"{b.labels[0]}" for b in block.blocks if b.type == "source" and b.labels}
    attribute = block.attributes.get("sources")
    if attribute is not None:
        value = hcl_scan.literal(hcl2.loads(f"x = {attribute_text(file.text, attribute)}")["x"])
        names.update(str(v) for v in (value if isinstance(value, list) else []))
    return frozenset(name.removeprefix("source.") for name in names)
