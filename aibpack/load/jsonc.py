"""JSON as Azure reads it: ``//`` and ``/* */`` comments and trailing commas are accepted.

Templates are first tried as plain JSON (the common case, and the fastest). Only when that fails are
comments and trailing commas blanked out by one regular-expression pass that skips over strings; they
become spaces (line breaks kept), so json's line and column numbers still point into the user's file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from aibpack.errors import AibpackError

_STRING = r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
# What may stand between a trailing comma and its bracket. Each comment is matched whole (to the line's end,
# to the first ``*/``), so that a bracket inside one, as in ``// "[parameters('x')]"``, is never taken for it.
_GAP = r"(?:\s|//[^\r\n]*(?![^\r\n])|/\*(?:[^*]|\*(?!/))*\*/)*"
# One pass: runs of ordinary text and whole strings are kept in one match each (few Python callbacks,
# so big files stay fast); what is left between them is a comment or a trailing comma.
_SCAN = re.compile(
    rf"""
      (?P<keep>(?:[^"/,]+|{_STRING}|/(?![/*])|,(?!{_GAP}[}}\]]))+)
    | (?P<comma>,)
    | (?P<line>//[^\r\n]*)
    | (?P<block>/\*.*?\*/)
    | (?P<open>/\*)
    """,
    re.DOTALL | re.VERBOSE,
)
_NOT_NEWLINE = re.compile(r"[^\r\n]")


def parse_jsonc(text: str, file: str) -> object:
    """Parse ``text`` into plain Python values, keeping key order; a later duplicate key wins.

    A syntax error is an ``AibpackError`` naming the line and column, e.g.
    ``invalid JSON at line 12 column 5: Expecting ',' delimiter``. So is nesting deeper than MAX_DEPTH.
    """
    text = text.removeprefix("\ufeff")
    try:
        return _checked(json.loads(text), file)
    except json.JSONDecodeError:
        pass
    except RecursionError:
        raise _too_deep(file) from None
    cleaned = _strip(text, file)
    try:
        return _checked(json.loads(cleaned), file)
    except json.JSONDecodeError as err:
        raise AibpackError(f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}", file=file) from None
    except RecursionError:
        raise _too_deep(file) from None


# aibpack's own limit, far beyond any image template (they nest a few levels; ARM deployments a few more), so that
# the stages after it, which walk the document recursively, never run out of Python's stack.
MAX_DEPTH = 100


def _checked(value: object, file: str) -> object:
    """``value`` if it nests at most MAX_DEPTH levels; found without recursion, whatever the depth."""
    stack: list[tuple[object, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise _too_deep(file)
        if isinstance(item, dict):
            stack.extend((child, (*path, str(key))) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(item))
    return value


def _too_deep(file: str) -> AibpackError:
    return AibpackError(
        f"invalid template: nested more than {MAX_DEPTH} levels deep (no image template needs that)", file=file
    )


def _strip(text: str, file: str) -> str:
    """Blank out comments and trailing commas; every position that json reports stays put."""

    def blank(match: re.Match[str]) -> str:
        kind = match.lastgroup
        if kind == "keep":
            return match.group()
        if kind == "open":
            line = text.count("\n", 0, match.start()) + 1
            column = match.start() - text.rfind("\n", 0, match.start())
            raise AibpackError(f"invalid JSON at line {line} column {column}: unterminated /* comment", file=file)
        return _NOT_NEWLINE.sub(" ", match.group())

    return _SCAN.sub(blank, text)


# -- positions, for editing a user's file in place -----------------------------------------------------------
_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"\s*")


def blank_comments(text: str, file: str) -> str:
    """``text`` with comments and trailing commas turned into spaces: plain JSON, every offset unchanged."""
    return _strip(text.removeprefix("\ufeff").rjust(len(text)), file)


def members(plain: str, start: int) -> list[tuple[str | int, int, int]]:
    """The members of the object or array at ``start`` of ``plain`` JSON: (key or index, value start, value end)."""
    opening = plain[start]
    closing = {"{": "}", "[": "]"}[opening]
    found: list[tuple[str | int, int, int]] = []
    at = _SPACE.match(plain, start + 1).end()  # type: ignore[union-attr]
    while plain[at] != closing:
        key: str | int = len(found)
        if opening == "{":
            key, at = _DECODER.raw_decode(plain, at)
            at = _SPACE.match(plain, plain.index(":", at) + 1).end()  # type: ignore[union-attr]
        _, end = _DECODER.raw_decode(plain, at)
        found.append((key, at, end))
        at = _SPACE.match(plain, end).end()  # type: ignore[union-attr]
        if plain[at] == ",":
            at = _SPACE.match(plain, at + 1).end()  # type: ignore[union-attr]
    return found


def value_at(plain: str, path: Sequence[str | int]) -> tuple[int, int] | None:
    """Where the value at ``path`` is in ``plain`` JSON, keys matched ignoring case (the last duplicate wins)."""
    start = _SPACE.match(plain).end()  # type: ignore[union-attr]
    end = _DECODER.raw_decode(plain, start)[1]
    for part in path:
        if plain[start] not in "{[":
            return None
        matches = [
            (begin, finish)
            for key, begin, finish in members(plain, start)
            if key == part or (isinstance(key, str) and isinstance(part, str) and key.lower() == part.lower())
        ]
        if not matches:
            return None
        start, end = matches[-1]
    return start, end
