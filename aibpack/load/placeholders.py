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

# How paths to script content end (in the resource, or in a deployment holding it; "*" is any array index).
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
    found = unresolved(resource)
    if found:
        first = next(iter(found.values()))
        raise AibpackError(f"{describe(found)}: pass {how_to_set(found)}", file=file, path=(*prefix, *first))


def unresolved(value: object, path: JsonPath = ()) -> dict[str, JsonPath]:
    """Each ``<name>`` left in ``value`` (inline script lines and ARM ``metadata`` aside), where it first is."""
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
                if key.lower() == "metadata":  # ARM's descriptions of parameters and templates, never used
                    continue
                for name in PLACEHOLDER.findall(key):
                    found.setdefault(name, path)
                walk(item, (*path, key))

    walk(value, path)
    return found


def describe(found: Mapping[str, JsonPath]) -> str:
    """``unresolved placeholders <a>, <b>``."""
    word = "placeholder" if len(found) == 1 else "placeholders"
    return f"unresolved {word} " + ", ".join(f"<{name}>" for name in found)


def how_to_set(found: Mapping[str, JsonPath]) -> str:
    """``--set a=VALUE --set b=VALUE`` (or, for several, a ``--set-file`` of NAME=VALUE lines)."""
    sets = " ".join(f"--set {name}=VALUE" for name in found)
    return sets if len(found) == 1 else f"{sets} (or --set-file FILE with a NAME=VALUE line each)"


def _is_content(path: JsonPath) -> bool:
    """Whether ``path`` ends at an inline script line: of the resource itself, or of one inside a deployment."""
    for pattern in _CONTENT_PATHS:
        tail = path[len(path) - len(pattern) :] if len(path) >= len(pattern) else None
        if tail is not None and all(
            (p == "*" and isinstance(part, int)) or (isinstance(part, str) and part.lower() == p)
            for part, p in zip(tail, pattern, strict=True)
        ):
            return True
    return False
