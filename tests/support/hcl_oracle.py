"""An independent reader of what aibpack writes: python-hcl2 parses, these decode the literal back.

Kept apart from ``aibpack.render.hcl`` on purpose: the tests check the writer against this reader.
"""

from __future__ import annotations

import re
from typing import Any

import hcl2

_ESCAPE = re.compile(r'\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[nrt"\\])|\$\$\{|%%\{')


def decode_literal(token: str) -> str:
    """The value of an HCL quoted string token as python-hcl2 returns it (quotes included)."""
    assert token.startswith('"') and token.endswith('"'), token
    body = token[1:-1]

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "$${":
            return "${"
        if text == "%%{":
            return "%{"
        code = match.group(1)
        if code[0] in "uU":
            return chr(int(code[1:], 16))
        return {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}[code]

    return _ESCAPE.sub(replace, body)


def decode_go_template(text: str) -> str:
    """What Packer's Go-template pass makes of text where aibpack wrote ``{{"{{"}}`` for ``{{``."""
    return text.replace('{{"{{"}}', "{{")


def provisioner_value(token: str, *, go_template: bool = True) -> str:
    value = decode_literal(token)
    return decode_go_template(value) if go_template else value


def parse(text: str) -> dict[str, Any]:
    return hcl2.loads(text)


def provisioners(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``[(type, body), ...]`` of the build's provisioners, in order."""
    build = parse(text)["build"][0]
    out = []
    for item in build.get("provisioner", []):
        ((kind, body),) = item.items()
        out.append((kind.strip('"'), body))
    return out


def source(text: str) -> dict[str, Any]:
    ((_, by_name),) = parse(text)["source"][0].items()
    ((_, body),) = by_name.items()
    return body


def shell_lines(body: dict[str, Any]) -> list[str]:
    """The lines a compiled shell provisioner runs: its inline lines, or the base64 script aibpack ships
    when a line holds ``{{`` (which Packer's shell provisioner cannot carry)."""
    import base64

    inline = [provisioner_value(line) for line in body["inline"]]
    if len(inline) == 2 and inline[0].startswith("echo ") and " | base64 -d > " in inline[0]:
        script = base64.b64decode(inline[0].split()[1]).decode("utf-8")
        assert script.endswith("\n")
        return script[:-1].split("\n")
    return inline
