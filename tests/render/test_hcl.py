"""The one escaping function, checked against an independent reader (python-hcl2 + support.hcl_oracle)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from support.hcl_oracle import decode_go_template, decode_literal, parse

from aibpack.render.hcl import align, go_template_literal, key, quote, safe_identifier, value

TRICKY = [
    "${",
    "$${",
    "%{",
    "%%{",
    '"',
    "\\",
    "\n",
    "\t",
    "\r",
    "{{ .Path }}",
    "EOT",
    "é",
    "\u2028",
    "\x00",
    "$",
    "}}",
]
tricky_text = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=8)), max_size=12).map("".join)


def _roundtrip(text: str, go_template: bool = False) -> str:
    parsed = parse(f"x = {quote(text, go_template=go_template)}\n")
    decoded = decode_literal(parsed["x"])
    return decode_go_template(decoded) if go_template else decoded


@settings(max_examples=300, deadline=None)
@given(tricky_text)
def test_quote_survives_hcl(text: str) -> None:
    assert _roundtrip(text) == text


@settings(max_examples=300, deadline=None)
@given(tricky_text)
def test_quote_survives_hcl_and_go_templates(text: str) -> None:
    assert _roundtrip(text, go_template=True) == text


def test_known_escapes() -> None:
    assert quote("${HOME}") == '"$${HOME}"'
    assert quote("$${x}") == '"$$${x}"'
    assert quote("%{ for }") == '"%%{ for }"'
    assert quote("$ alone and $$") == '"$ alone and $$"'
    assert quote('C:\\temp "x"') == '"C:\\\\temp \\"x\\""'
    assert quote("a\nb\tc") == '"a\\nb\\tc"'
    assert quote("\x01") == '"\\u0001"'
    assert quote("{{ .Path }}", go_template=True) == '"{{\\"{{\\"}} .Path }}"'


def test_go_template_literal_keeps_other_braces() -> None:
    assert go_template_literal("}} {{{") == '}} {{"{{"}}{'


def test_keys_quoted_only_when_needed() -> None:
    assert key("plain_key-1") == "plain_key-1"
    assert key("has space") == '"has space"'
    assert key("1starts") == '"1starts"'


def test_value_shapes() -> None:
    assert value(True) == "true"
    assert value(3) == "3"
    assert value([]) == "[]"
    assert value({}) == "{}"
    assert value(["a"], indent=1) == '[\n    "a",\n  ]'


def test_align_lines_up_runs_like_packer_fmt() -> None:
    text = "a {\n  x = 1\n  long_name = 2\n  list = [\n    1,\n  ]\n  y = 3\n}"
    assert align(text) == "a {\n  x         = 1\n  long_name = 2\n  list = [\n    1,\n  ]\n  y = 3\n}"


def test_safe_identifier() -> None:
    assert safe_identifier("my image.v1") == "my-image-v1"
    assert safe_identifier("1abc") == "image-1abc"
    assert safe_identifier("...") == "image"
