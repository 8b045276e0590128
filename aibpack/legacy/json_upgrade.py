"""Legacy JSON Packer templates → HCL2 text, the way ``packer hcl2_upgrade`` converts them.

We follow hcl2_upgrade's mapping of Go-template calls (``{{user `x`}}`` → ``${var.x}``, ``{{timestamp}}`` →
``${local.timestamp}``, ``{{build `X`}}`` → ``${build.X}``…) so teams get what Packer's own tool gives them,
but we keep the JSON's meaning where hcl2_upgrade is known to be wrong: it drops ``pause_before``, writes
``%{{user `g`}}`` as ``%%${var.g}``, leaves blocks holding ``{{ .Path }}``/``{{ .Vars }}`` unconverted, and
emits ``env()`` where HCL2 Packer rejects it. Calls hcl2_upgrade does not map (``{{ .Path }}``,
``{{isotime "…"}}``, ``{{upper …}}``) stay as Go templates: Packer's HCL2 mode still renders provisioner
fields as Go templates, so they keep working.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aibpack.errors import AibpackError
from aibpack.render import hcl

TIMESTAMP_LOCAL = 'regex_replace(timestamp(), "[- TZ:]", "")'

_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_ARGUMENT = r"\s+(?:`([^`]*)`|\"([^\"]*)\")"
_USER = re.compile(r"^\s*user" + _ARGUMENT + r"\s*$")
_ENV = re.compile(r"^\s*env" + _ARGUMENT + r"\s*$")
_BUILD = re.compile(r"^\s*build" + _ARGUMENT + r"\s*$")
_SIMPLE = {
    "timestamp": "local.timestamp",
    "isotime": "local.timestamp",
    "uuid": "uuidv4()",
    "build_name": "build.name",
    "build_type": "build.type",
    "packer_version": "packer.version",
    "template_dir": "path.root",
}


@dataclass
class Conversion:
    """What converting one JSON string needed: references and whether ``local.timestamp`` is used."""

    template_dir: str = "${path.root}"  # HCL template text that stands for OLD's directory
    user_kind: Mapping[str, str] = field(default_factory=dict)  # JSON variable → "var" | "local"
    in_variable_default: bool = False
    env_variable: Callable[[str], str] = lambda name: f"env_{name}"
    references: set[tuple[str, str]] = field(default_factory=set)
    env_used: set[str] = field(default_factory=set)


def _literal(text: str) -> str:
    """Template text whose value is ``text``: HCL escapes, and ``${``/``%{`` doubled."""
    return hcl.quote(text)[1:-1]


def _interpolation(action: str, conv: Conversion) -> str | None:
    """The HCL template text for one ``{{ action }}``, or None to keep it as a Go template."""
    if user := _USER.match(action):
        name = user.group(1) if user.group(1) is not None else user.group(2)
        if name not in conv.user_kind:
            raise AibpackError(f"{{{{user `{name}`}}}} names no variable of the template")
        kind = conv.user_kind[name]
        conv.references.add((kind, name))
        return f"${{{kind}.{name}}}"
    if env := _ENV.match(action):
        name = env.group(1) if env.group(1) is not None else env.group(2)
        if conv.in_variable_default:
            return f"${{env({json.dumps(name)})}}"
        conv.env_used.add(name)
        variable = conv.env_variable(name)
        conv.references.add(("var", variable))
        return f"${{var.{variable}}}"
    if build := _BUILD.match(action):
        name = build.group(1) if build.group(1) is not None else build.group(2)
        return f"${{build.{name}}}"
    target = _SIMPLE.get(action.strip())
    if target == "path.root":
        return conv.template_dir
    if target is None:
        return None
    if target.startswith("local."):
        conv.references.add(("local", target.split(".", 1)[1]))
    return f"${{{target}}}"


def template_text(text: str, conv: Conversion) -> str:
    """``text`` (Packer JSON, Go templates inside) as the inside of an HCL quoted string."""
    out: list[str] = []
    pending = ""  # literal text not yet escaped, so Go templates we keep join their neighbours
    position = 0
    for match in _ACTION.finditer(text):
        converted = _interpolation(match.group(1), conv)
        pending += text[position : match.start()]
        position = match.end()
        if converted is None:
            pending += match.group(0)
            continue
        out.append(_literal_before_interpolation(pending))
        out.append(converted)
        pending = ""
    out.append(_literal(pending + text[position:]))
    return "".join(out)


def _literal_before_interpolation(text: str) -> str:
    """Literal text followed by ``${``: a trailing ``$`` would read as the ``$${`` escape, so spell it out."""
    if text.endswith("$"):
        return _literal(text[:-1]) + '${"$"}'
    return _literal(text)


def is_plain(text: str) -> bool:
    """True when ``text`` holds no Go-template call at all."""
    return _ACTION.search(text) is None


def expression(data: object, conv: Conversion, indent: int = 0) -> str:
    """An HCL expression for a JSON value, strings converted as templates; lists/objects one item a line."""
    if isinstance(data, str):
        return '"' + template_text(data, conv) + '"'
    if data is None:
        return "null"
    if isinstance(data, bool | int | float):
        return hcl.value(data)
    pad, end = "  " * (indent + 1), "  " * indent
    if isinstance(data, dict):
        if not data:
            return "{}"
        items = [f"{pad}{hcl.key(str(k))} = {expression(v, conv, indent + 1)}" for k, v in data.items()]
        return "{\n" + "\n".join(items) + f"\n{end}}}"
    if isinstance(data, list):
        if not data:
            return "[]"
        if not any(isinstance(item, dict | list) for item in data):
            one_line = "[" + ", ".join(expression(item, conv, indent) for item in data) + "]"
            if len(one_line) <= 80 or len(data) == 1:
                return one_line
        items = [f"{pad}{expression(v, conv, indent + 1)}," for v in data]
        return "[\n" + "\n".join(items) + f"\n{end}]"
    raise AibpackError(f"no HCL form for the JSON value {data!r}")


def provisioner_block(kind: str, attributes: Mapping[str, object], conv: Conversion) -> str:
    """``provisioner "KIND" { … }`` at top level, attributes in the JSON's order."""
    lines = [f"provisioner {hcl.quote(kind)} {{"]
    lines += [f"  {hcl.key(name)} = {expression(value, conv, 1)}" for name, value in attributes.items()]
    lines.append("}")
    return hcl.align("\n".join(lines))
