"""ARM expression syntax: tokens and a recursive-descent parser into a small tree of nodes.

``expr := primary ('.' name | '[' expr ']')*``; ``primary := string | int | name '(' args ')'``.
Parsing knows no function: what a call means is :mod:`aibpack.load.arm.functions`' and the evaluator's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class ArmError(Exception):
    """An expression problem; the evaluator adds the file and JSON path of the string."""


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<int>-?\d+)|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)|(?P<punct>[(),.\[\]]))"
)


@dataclass(frozen=True)
class Token:
    kind: str  # str, int, name, punct, end
    text: str
    pos: int


@dataclass(frozen=True)
class Literal:
    value: object


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[object, ...]


@dataclass(frozen=True)
class Property:
    target: object
    name: str


@dataclass(frozen=True)
class Index:
    target: object
    index: object


class ArmSyntaxError(ArmError):
    """A syntax error at character ``pos`` of the expression body."""

    def __init__(self, what: str, pos: int) -> None:
        super().__init__(what)
        self.what = what
        self.pos = pos


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if not text[pos:].strip():
                break
            start = len(text) - len(text[pos:].lstrip())
            what = "unterminated string" if text[start] == "'" else f"unexpected {text[start]!r}"
            raise ArmSyntaxError(what, start)
        kind = match.lastgroup or "punct"
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class Parser:
    """``expr := primary ('.' name | '[' expr ']')*``; ``primary := string | int | name '(' args ')'``."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.at = 0

    def parse(self) -> object:
        node = self.expression()
        self.expect("end")
        return node

    def expression(self) -> object:
        node = self.primary()
        while self.peek().text in (".", "["):
            if self.take().text == ".":
                node = Property(node, self.expect("name").text)
            else:
                node = Index(node, self.expression())
                self.expect("]")
        return node

    def primary(self) -> object:
        token = self.take()
        if token.kind == "str":
            return Literal(token.text[1:-1].replace("''", "'"))
        if token.kind == "int":
            return Literal(int(token.text))
        if token.kind != "name":
            raise ArmSyntaxError(f"expected a function call, string or number, got {shown(token)}", token.pos)
        self.expect("(")
        args: list[object] = []
        if self.peek().text != ")":
            args.append(self.expression())
            while self.peek().text == ",":
                self.take()
                args.append(self.expression())
        self.expect(")")
        return Call(token.text, tuple(args))

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += token.kind != "end"
        return token

    def expect(self, what: str) -> Token:
        token = self.take()
        if token.kind == what if what in ("end", "name") else token.text == what and token.kind == "punct":
            return token
        wanted = "the end of the expression" if what == "end" else repr(what)
        raise ArmSyntaxError(f"expected {wanted}, got {shown(token)}", token.pos)


def shown(token: Token) -> str:
    return "the end of the expression" if token.kind == "end" else repr(token.text)
