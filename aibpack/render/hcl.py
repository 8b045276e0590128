"""The one place where Python values become HCL2 text.

Two readers see every string we write: HCL's own template engine (``${`` and ``%{``) and, for provisioner
fields, Packer's Go-template pass (``{{``). ``quote`` escapes for both, so what reaches the VM is byte for byte
what the image template said.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

_SIMPLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def go_template_literal(text: str) -> str:
    """Text that Packer's Go-template pass turns back into ``text``: each ``{{`` becomes ``{{"{{"}}``."""
    return text.replace("{{", '{{"{{"}}')


def _escape_char(char: str) -> str:
    if char in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[char]
    if not char.isprintable():
        code = ord(char)
        return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"
    return char


def quote(text: str, *, go_template: bool = False, secrets: Mapping[str, str] | None = None) -> str:
    """A quoted HCL string literal whose value is exactly ``text``.

    ``go_template=True`` is for provisioner fields that Packer also renders as a Go template. ``secrets`` maps
    secret values to the (sensitive) variables that carry them: each occurrence becomes ``${var.NAME}``, so
    the value itself is never written.
    """
    if secrets:
        return '"' + "".join(_with_secrets(text, go_template, secrets)) + '"'
    if go_template:
        text = go_template_literal(text)
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in "$%" and text.startswith("{", index + 1):
            out.append(_template_escape(char, "}" in text[index + 2 :]))
            index += 2
            continue
        out.append(_escape_char(char))
        index += 1
    return '"' + "".join(out) + '"'


def _with_secrets(text: str, go_template: bool, secrets: Mapping[str, str]) -> list[str]:
    """The body of ``quote(text)`` with each secret value replaced by its variable's interpolation."""
    pattern = "|".join(re.escape(v) for v in sorted(secrets, key=lambda v: (-len(v), v)))
    parts = re.split(f"({pattern})", text)
    out: list[str] = []
    for index, part in enumerate(parts):
        if index % 2:
            out.append(f"${{var.{secrets[part]}}}")
            continue
        body = quote(part, go_template=go_template)[1:-1]
        if index + 1 < len(parts) and part.endswith("$"):
            # A literal "$" right before "${var..." would read as the escape "$${"; spell it as \u0024.
            body = body[:-1] + "\\u0024"
        out.append(body)
    return out


def _template_escape(char: str, closed: bool) -> str:
    """A literal ``${``/``%{``: doubled (``$${``) as people write it when a ``}`` follows, else ``$\\u007B``.

    Both mean the same to HCL; python-hcl2 (which tools use to read Packer files) only accepts a doubled
    sequence that is closed by a ``}``.
    """
    return f"{char}{char}{{" if closed else f"{char}\\u007B"


def comment(text: str) -> str:
    """``text`` made safe for a ``#`` comment: it cannot end the line early (control characters escaped)."""
    return "".join(_escape_char(char) for char in text)


def key(name: str) -> str:
    """An object key: bare when it is an identifier, else quoted."""
    return name if _IDENTIFIER.match(name) else quote(name)


def value(data: object, *, go_template: bool = False, indent: int = 0, secrets: Mapping[str, str] | None = None) -> str:
    """An HCL expression for a plain value (str, bool, int, float, list, mapping).

    Lists and objects are written one item a line; ``align`` then lines up the ``=`` signs.
    """
    if isinstance(data, bool):
        return "true" if data else "false"
    if isinstance(data, int | float):
        return repr(data)
    if isinstance(data, str):
        return quote(data, go_template=go_template, secrets=secrets)
    pad = "  " * (indent + 1)
    end = "  " * indent
    if isinstance(data, Mapping):
        if not data:
            return "{}"
        lines = [
            f"{pad}{key(str(k))} = {value(v, go_template=go_template, indent=indent + 1, secrets=secrets)}"
            for k, v in data.items()
        ]
        return "{\n" + "\n".join(lines) + f"\n{end}}}"
    if isinstance(data, Sequence):
        if not data:
            return "[]"
        items = [f"{pad}{value(v, go_template=go_template, indent=indent + 1, secrets=secrets)}," for v in data]
        return "[\n" + "\n".join(items) + f"\n{end}]"
    raise TypeError(f"no HCL form for {type(data).__name__}")


def safe_identifier(text: str, fallback: str = "image") -> str:
    """A Packer-safe name: letters, digits, ``_`` and ``-``, starting with a letter."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_")
    if not cleaned:
        return fallback
    if not cleaned[0].isalpha():
        cleaned = f"{fallback}-{cleaned}"
    return cleaned


_ATTRIBUTE_KEY = re.compile(r'^( *)([A-Za-z_][A-Za-z0-9_-]*|"(?:[^"\\]|\\.)*") += (.*)$')
_HEREDOC_OPENER = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*$")


def heredoc_body_lines(lines: list[str]) -> set[int]:
    """Indexes of lines inside heredocs (body and closing marker): their bytes are the value.

    Re-indenting or re-aligning them would change what reaches the VM, so ``align`` and ``indent``
    leave them alone (as ``packer fmt`` does).
    """
    body: set[int] = set()
    marker: str | None = None
    for index, line in enumerate(lines):
        if marker is not None:
            body.add(index)
            if line.strip() == marker:
                marker = None
            continue
        opener = _HEREDOC_OPENER.search(line)
        if opener:
            marker = opener.group(1)
    return body


def indent(text: str, levels: int = 1) -> str:
    """``text`` indented by ``2 * levels`` spaces, except blank lines and heredoc bodies."""
    lines = text.split("\n")
    body = heredoc_body_lines(lines)
    pad = "  " * levels
    return "\n".join(line if index in body or not line else pad + line for index, line in enumerate(lines))


def align(text: str) -> str:
    """Line up ``=`` in runs of single-line attributes, as ``packer fmt`` (hclwrite) does.

    A run is consecutive lines at one indent that each hold a whole attribute; a line opening a
    multi-line value, a block, a blank line or a comment ends it. Heredoc bodies are kept byte for
    byte and belong to the attribute that opens them, so they do not end a run.
    """
    lines = text.split("\n")
    body = heredoc_body_lines(lines)
    parsed = [None if index in body else _ATTRIBUTE_KEY.match(line) for index, line in enumerate(lines)]
    runs: list[list[int]] = []
    current: list[int] = []
    for index, match in enumerate(parsed):
        if index in body:
            continue
        if match and not match.group(3).endswith(("[", "{", "(")):
            if current and parsed[current[0]].group(1) != match.group(1):  # type: ignore[union-attr]
                runs.append(current)
                current = []
            current.append(index)
            continue
        if current:
            runs.append(current)
        current = []
    if current:
        runs.append(current)
    for run in runs:
        matches = [parsed[index] for index in run]
        width = max(len(m.group(2)) for m in matches)  # type: ignore[union-attr]
        for index, m in zip(run, matches, strict=True):
            lines[index] = f"{m.group(1)}{m.group(2).ljust(width)} = {m.group(3)}"  # type: ignore[union-attr]
    return "\n".join(lines)
