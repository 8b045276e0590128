"""A small HCL2 scanner that keeps source positions, for reusing provisioner blocks byte for byte.

python-hcl2 tells us *what* a file says but loses how it was written (heredocs, comments, layout).
To keep a team's provisioner blocks exactly, we cut them out of the source text instead, and edit only
the few spans that must change (a renamed variable, a path that must now resolve from elsewhere).
This module finds those spans: blocks, attributes, string literals and references (``var.x``), telling
expression code apart from literal text inside strings, heredocs and comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aibpack.errors import AibpackError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_OPENING = "{[("
_CLOSING = "}])"


@dataclass(frozen=True)
class Token:
    """One lexical item. ``depth`` 0 is top-level code; >0 is code inside a string interpolation."""

    kind: str  # ident | number | punct | string | heredoc | comment | newline
    start: int
    end: int
    depth: int


@dataclass
class Attribute:
    name: str
    start: int  # of the name
    value_start: int
    value_end: int  # exclusive, before the newline


@dataclass
class Block:
    type: str
    labels: tuple[str, ...]
    start: int  # of the type keyword
    end: int  # just after the closing brace
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)


class HclScanError(AibpackError):
    """The text is not HCL this scanner understands."""


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[Token] = []

    def add(self, kind: str, start: int, end: int, depth: int) -> None:
        self.tokens.append(Token(kind, start, end, depth))

    def code(self, i: int, depth: int, nested: bool) -> int:
        """Scan expression code from ``i``; when ``nested``, stop at the ``}`` closing an interpolation."""
        text, level = self.text, 0
        while i < len(text):
            char = text[i]
            if char in " \t\r":
                i += 1
            elif char == "\n":
                self.add("newline", i, i + 1, depth)
                i += 1
            elif char == "#" or text.startswith("//", i):
                end = text.find("\n", i)
                end = len(text) if end < 0 else end
                self.add("comment", i, end, depth)
                i = end
            elif text.startswith("/*", i):
                end = text.find("*/", i + 2)
                end = len(text) if end < 0 else end + 2
                self.add("comment", i, end, depth)
                i = end
            elif char == '"':
                i = self.quoted(i, depth)
            elif heredoc := _HEREDOC.match(text, i):
                i = self.heredoc(i, heredoc, depth)
            elif word := _IDENT.match(text, i) or _NUMBER.match(text, i):
                self.add("ident" if word.re is _IDENT else "number", i, word.end(), depth)
                i = word.end()
            else:
                if char in _CLOSING:
                    if nested and level == 0 and char == "}":
                        return i
                    level -= 1
                elif char in _OPENING:
                    level += 1
                self.add("punct", i, i + 1, depth)
                i += 1
        if nested:
            raise HclScanError("unterminated ${ interpolation")
        return i

    def template(self, i: int, end: int, depth: int, stop_at_quote: bool) -> int:
        """Scan template text (a quoted string or heredoc body) up to ``end``; return where it stopped."""
        text = self.text
        while i < end:
            if stop_at_quote and text[i] == "\\":
                i += 2
            elif stop_at_quote and text[i] == '"':
                return i
            elif stop_at_quote and text[i] == "\n":
                raise HclScanError("unterminated quoted string")
            elif text.startswith(("$${", "%%{"), i):
                i += 3
            elif text.startswith(("${", "%{"), i):
                i = self.code(i + 2, depth + 1, nested=True) + 1
            else:
                i += 1
        if stop_at_quote:
            raise HclScanError("unterminated quoted string")
        return i

    def quoted(self, i: int, depth: int) -> int:
        index = len(self.tokens)
        self.add("string", i, i, depth)
        end = self.template(i + 1, len(self.text), depth, stop_at_quote=True) + 1
        self.tokens[index] = Token("string", i, end, depth)
        return end

    def heredoc(self, i: int, opener: re.Match[str], depth: int) -> int:
        text, marker = self.text, opener.group(2)
        line_start = opener.end()
        while line_start <= len(text):
            line_end = text.find("\n", line_start)
            line_end = len(text) if line_end < 0 else line_end
            if text[line_start:line_end].strip() == marker:
                index = len(self.tokens)
                self.add("heredoc", i, line_end, depth)
                self.template(opener.end(), line_start, depth, stop_at_quote=False)
                self.tokens[index] = Token("heredoc", i, line_end, depth)
                return line_end
            line_start = line_end + 1
        raise HclScanError(f"heredoc <<{marker} has no closing {marker} line")


def scan(text: str) -> list[Token]:
    """All tokens of ``text`` in source order (interpolation tokens follow their string)."""
    scanner = _Scanner(text)
    scanner.code(0, 0, nested=False)
    return scanner.tokens


def parse_blocks(text: str) -> list[Block]:
    """The top-level blocks of ``text`` with their attributes and nested blocks."""
    tokens = [t for t in scan(text) if t.depth == 0 and t.kind != "comment"]
    blocks, _, k = _body(text, tokens, 0)
    if k < len(tokens):
        raise HclScanError(f"unexpected }} at offset {tokens[k].start}")
    return blocks


def _body(text: str, tokens: list[Token], k: int) -> tuple[list[Block], dict[str, Attribute], int]:
    """Parse a body from token ``k`` up to an unmatched ``}``: its blocks, attributes and that index."""
    blocks: list[Block] = []
    attributes: dict[str, Attribute] = {}
    while k < len(tokens):
        token = tokens[k]
        if token.kind == "newline":
            k += 1
            continue
        if token.kind == "punct" and text[token.start] == "}":
            break
        if token.kind != "ident":
            raise HclScanError(f"unexpected {text[token.start : token.end]!r} at offset {token.start}")
        name = text[token.start : token.end]
        if k + 1 < len(tokens) and text[tokens[k + 1].start : tokens[k + 1].end] == "=":
            value_start, k = _value_end(text, tokens, k + 2)
            attributes[name] = Attribute(name, token.start, value_start, tokens[k - 1].end)
            continue
        labels: list[str] = []
        k += 1
        while k < len(tokens) and tokens[k].kind in ("string", "ident"):
            label = text[tokens[k].start : tokens[k].end]
            labels.append(label[1:-1] if label.startswith('"') else label)
            k += 1
        if k >= len(tokens) or text[tokens[k].start] != "{":
            raise HclScanError(f"expected {{ after block {name!r} at offset {token.start}")
        inner, inner_attributes, k = _body(text, tokens, k + 1)
        if k >= len(tokens):
            raise HclScanError(f"block {name!r} at offset {token.start} is not closed")
        blocks.append(Block(name, tuple(labels), token.start, tokens[k].end, inner_attributes, inner))
        k += 1
    return blocks, attributes, k


def _value_end(text: str, tokens: list[Token], k: int) -> tuple[int, int]:
    """From the first token of an attribute value: its start offset and the index just past it."""
    start = tokens[k].start if k < len(tokens) else len(text)
    level = 0
    while k < len(tokens):
        token = tokens[k]
        char = text[token.start] if token.kind == "punct" else ""
        if token.kind == "newline" and level == 0:
            break
        if char and char in _OPENING:
            level += 1
        elif char and char in _CLOSING:
            if level == 0:
                break
            level -= 1
        k += 1
    return start, k


def references(text: str, tokens: list[Token] | None = None) -> list[tuple[str, str, int, int]]:
    """``(namespace, name, start, end)`` of each ``var.NAME`` / ``local.NAME`` in code (end = name's end)."""
    tokens = scan(text) if tokens is None else tokens
    code = [t for t in tokens if t.kind in ("ident", "punct", "number")]
    found = []
    for index, token in enumerate(code[:-2]):
        word = text[token.start : token.end]
        if word not in ("var", "local"):
            continue
        dot, name = code[index + 1], code[index + 2]
        if text[dot.start : dot.end] != "." or name.kind != "ident" or dot.start != token.end:
            continue
        if index and text[code[index - 1].start] == "." and code[index - 1].end == token.start:
            continue  # part of a longer traversal such as source.var.x
        found.append((word, text[name.start : name.end], name.start, name.end))
    return found


def path_root_references(text: str, tokens: list[Token] | None = None) -> list[tuple[int, int]]:
    """Spans of each ``path.root`` traversal in code."""
    tokens = scan(text) if tokens is None else tokens
    code = [t for t in tokens if t.kind in ("ident", "punct")]
    spans = []
    for index, token in enumerate(code[:-2]):
        if text[token.start : code[index + 2].end] == "path.root":
            before = code[index - 1] if index else None
            if before is None or text[before.start] != "." or before.end != token.start:
                spans.append((token.start, code[index + 2].end))
    return spans


def heredoc_value(raw: str) -> str:
    """The template text of a heredoc ``<<EOT`` / ``<<-EOT`` (``-`` strips the common indentation)."""
    header, _, rest = raw.partition("\n")
    lines = rest.split("\n")[:-1]  # the last line is the closing marker
    if header.startswith("<<-"):
        indents = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
        cut = min(indents, default=0)
        lines = [line[cut:] for line in lines]
    return "".join(line + "\n" for line in lines).replace("$${", "${").replace("%%{", "%{")


_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def string_value(raw: str) -> str:
    """The template text of a quoted HCL string (escapes resolved; ``${…}`` left in, ``$${`` → ``${``)."""
    body, out, i = raw[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            code = body[i + 1]
            if code in "uU":
                width = 4 if code == "u" else 8
                out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
                i += 2 + width
                continue
            out.append(_UNESCAPES.get(code, code))
            i += 2
        elif body.startswith(("$${", "%%{"), i):
            out.append(body[i + 1 : i + 3])
            i += 3
        else:
            out.append(char)
            i += 1
    return "".join(out)


def literal(raw: object) -> object:
    """A python-hcl2 value (default options: quotes and heredocs kept) as plain data.

    Quoted strings and heredocs become their text; a bare expression stays ``${expr}`` as hcl2 gives it.
    """
    if isinstance(raw, list):
        return [literal(item) for item in raw]
    if isinstance(raw, dict):
        return {str(literal(key)): literal(value) for key, value in raw.items() if key != "__is_block__"}
    if isinstance(raw, str) and raw.startswith('"<<') and raw.endswith('"'):
        return heredoc_value(raw[1:-1])
    if isinstance(raw, str) and len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
        return string_value(raw)
    return raw
