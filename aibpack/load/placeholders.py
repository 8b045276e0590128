"""``<NAME>`` placeholders, as the tutorials fill them with ``sed`` (``--set NAME=VALUE``).

Replacement is plain text substitution in every string value and object key. An unresolved placeholder
is an error, except in inline script lines: there ``<b>`` or ``<pre>`` is more likely HTML or shell than
a forgotten placeholder, so lines are only ever substituted, never judged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aibpack.errors import AibpackError, Diagnostics, JsonPath

PLACEHOLDER = re.compile(r"<([A-Za-z][A-Za-z0-9_.-]*)>")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")

# Paths (relative to the resource; "*" is any array index) whose strings are script content.
_CONTENT_PATHS = (
    ("properties", "customize", "*", "inline", "*"),
    ("properties", "validate", "invmvalidations", "*", "inline", "*"),
)


def check_names(values: Mapping[str, str], file: str) -> dict[str, str]:
    """The ``--set`` names, with ``<name>`` accepted for ``name``; anything else is a usage error."""
    names: dict[str, str] = {}
    for raw, value in values.items():
        name = raw[1:-1] if raw.startswith("<") and raw.endswith(">") else raw
        if not _NAME.fullmatch(name):
            raise AibpackError(
                f"--set {raw}: a placeholder name is a letter followed by letters, digits, '_', '.' or '-'",
                file=file,
            )
        names[name] = value
    return names


def replace(document: object, values: Mapping[str, str], diagnostics: Diagnostics) -> object:
    """``document`` with every ``<NAME>`` of ``values`` substituted; a name never seen is a warning."""
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            used.add(name)
            return values[name]
        return match.group()

    def walk(value: object) -> object:
        if isinstance(value, str):
            return PLACEHOLDER.sub(substitute, value) if "<" in value else value
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {walk(key): walk(item) for key, item in value.items()}
        return value

    result = walk(document) if values else document
    for name in values:
        if name not in used:
            diagnostics.warn(f"--set {name}: the template has no <{name}> placeholder")
    return result


def check_resolved(resource: object, file: str, prefix: JsonPath) -> None:
    """Fail, naming all of them at once, if a ``<name>`` is left outside inline script lines."""
    found: dict[str, JsonPath] = {}

    def walk(value: object, path: JsonPath) -> None:
        if isinstance(value, str):
            if "<" in value and not _is_content(path):
                for name in PLACEHOLDER.findall(value):
                    found.setdefault(name, path)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, (*path, i))
        elif isinstance(value, dict):
            for key, item in value.items():
                for name in PLACEHOLDER.findall(key):
                    found.setdefault(name, path)
                walk(item, (*path, key))

    walk(resource, ())
    if not found:
        return
    names = list(found)
    listed = ", ".join(f"<{n}>" for n in names)
    sets = " ".join(f"--set {n}=VALUE" for n in names)
    word = "placeholder" if len(names) == 1 else "placeholders"
    raise AibpackError(f"unresolved {word} {listed}: pass {sets}", file=file, path=(*prefix, *found[names[0]]))


def _is_content(path: JsonPath) -> bool:
    for pattern in _CONTENT_PATHS:
        if len(path) == len(pattern) and all(
            (p == "*" and isinstance(part, int)) or (isinstance(part, str) and part.lower() == p)
            for part, p in zip(path, pattern, strict=True)
        ):
            return True
    return False
