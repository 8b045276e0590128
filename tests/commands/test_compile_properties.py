"""Property-based: arbitrary strings in inline lines, names, tags and URIs survive compile byte-exact."""

from __future__ import annotations

import json
import shlex
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.hcl_oracle import decode_literal, provisioner_value, provisioners, shell_lines, source

from aibpack.errors import Diagnostics
from aibpack.pipeline import CompileOptions, compile_file

TRICKY = ["${", "$${", "%{", "%%{", "}", '"', "\\", "\n", "\t", "EOT", "{{ .Path }}", "é", "\U0001f600", "'", "$"]
texts = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=6)), max_size=10).map("".join)
# JSON cannot carry lone surrogates, and neither can a UTF-8 file.
texts = texts.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))
trailing_backslash = texts.map(lambda t: t + "\\")
# A URI is one line with no white space at its ends (compile rejects those with a clear error).
uri_paths = texts.map(lambda t: t.replace("\n", "").replace("\r", "").strip())


def _template(lines: list[str], name: str, tags: dict[str, str], uri_path: str) -> dict:
    return {
        "type": "Microsoft.VirtualMachineImages/imageTemplates",
        "apiVersion": "2024-02-01",
        "location": "westus2",
        "properties": {
            "source": {"type": "PlatformImage", "publisher": "Canonical", "offer": "o", "sku": "s", "version": "1"},
            "customize": [
                {"type": "Shell", "name": name, "inline": lines},
                {"type": "Shell", "name": "remote", "scriptUri": "https://example.com/" + uri_path},
            ],
            "managedResourceTags": tags,
            "distribute": [
                {
                    "type": "ManagedImage",
                    "runOutputName": "mi",
                    "location": "westus2",
                    "imageId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/i",
                }
            ],
        },
    }


def _shell_words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def _compile(data: dict) -> str:
    with tempfile.TemporaryDirectory() as temp:
        file = Path(temp) / "t.json"
        file.write_text(json.dumps(data), encoding="utf-8")
        return compile_file(file, Path(temp), CompileOptions(), Diagnostics()).hcl


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.one_of(texts, trailing_backslash), min_size=1, max_size=4),
    name=texts,
    tags=st.dictionaries(texts.filter(bool), texts, max_size=3),
    uri_path=uri_paths,
)
def test_strings_survive_compile(lines: list[str], name: str, tags: dict[str, str], uri_path: str) -> None:
    data = _template(lines, name, tags, uri_path)
    hcl = _compile(data)
    steps = provisioners(hcl)
    kind, body = steps[0]
    assert kind == "shell"
    assert (
        shell_lines(body) == [part for line in lines for part in line.split("\n")]
        if any("{{" in line for line in lines)
        else [provisioner_value(line) for line in body["inline"]] == lines
    )
    expected_name = name or "properties.customize[0]"
    assert decode_literal(body["name"]) == expected_name
    # The URI reaches curl as one shell word.
    curl = shell_lines(steps[1][1])[0]
    assert "https://example.com/" + uri_path in _shell_words(curl)
    tag_blocks = source(hcl).get("azure_tag", [])
    assert {provisioner_value(b["name"]): provisioner_value(b["value"]) for b in tag_blocks} == tags
    assert _compile(data) == hcl
