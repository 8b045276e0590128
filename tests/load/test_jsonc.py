import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aibpack.errors import AibpackError
from aibpack.load.jsonc import parse_jsonc


def test_plain_json_keeps_key_order() -> None:
    assert list(parse_jsonc('{"b": 1, "a": 2, "c": [1, 2]}', "t.json")) == ["b", "a", "c"]


def test_line_and_block_comments() -> None:
    text = """{
        // a line comment
        "a": 1, /* a block
        comment over lines */ "b": [1, /* inline */ 2]
    }"""
    assert parse_jsonc(text, "t.json") == {"a": 1, "b": [1, 2]}


def test_trailing_commas_in_objects_and_arrays() -> None:
    assert parse_jsonc('{"a": [1, 2,], "b": {"c": 3,},}', "t.json") == {"a": [1, 2], "b": {"c": 3}}


def test_trailing_comma_before_a_comment() -> None:
    assert parse_jsonc('{"a": 1, // last\n}', "t.json") == {"a": 1}


def test_a_bracket_inside_a_comment_does_not_make_a_comma_trailing() -> None:
    # A commented-out line, as people leave them in real templates (the ']' and '}' are inside the comments).
    text = """{
        "type": "Microsoft.VirtualMachineImages/imageTemplates",
        // "apiVersion": "[parameters('api-version')]",
        "apiVersion": "2022-02-14", /* was {"a": [1]} */
        "location": "westus", /* ] */ /* } */
        "tags": [1, // ]
        2, /* ] */ ]
    }"""
    assert parse_jsonc(text, "t.json") == {
        "type": "Microsoft.VirtualMachineImages/imageTemplates",
        "apiVersion": "2022-02-14",
        "location": "westus",
        "tags": [1, 2],
    }


def test_comment_markers_and_commas_inside_strings_are_kept() -> None:
    text = '{"url": "https://example.com/a", "c": "/* not */ a comment", "t": "x,}", "q": "say \\"//\\"",}'
    assert parse_jsonc(text, "t.json") == {
        "url": "https://example.com/a",
        "c": "/* not */ a comment",
        "t": "x,}",
        "q": 'say "//"',
    }


def test_byte_order_mark_is_accepted() -> None:
    assert parse_jsonc('\ufeff{"a": 1}', "t.json") == {"a": 1}


def test_duplicate_keys_last_wins() -> None:
    assert parse_jsonc('{"a": 1, "a": 2}', "t.json") == {"a": 2}


def test_syntax_error_names_line_and_column() -> None:
    with pytest.raises(AibpackError) as caught:
        parse_jsonc('{\n  "a": 1\n  "b": 2\n}', "bad.json")
    assert caught.value.message == "invalid JSON at line 3 column 3: Expecting ',' delimiter"
    assert caught.value.file == "bad.json"
    assert caught.value.path == ()


def test_error_position_is_not_moved_by_comments() -> None:
    with pytest.raises(AibpackError) as caught:
        parse_jsonc('{ /* some comment */ "a": 1 // x\n, "b" 2}', "bad.json")
    assert caught.value.message == "invalid JSON at line 2 column 7: Expecting ':' delimiter"


def test_unterminated_block_comment() -> None:
    with pytest.raises(AibpackError, match=r"line 2 column 3: unterminated /\* comment"):
        parse_jsonc('{"a": 1,\n  /* never closed\n}', "bad.json")


def test_empty_text_is_an_error() -> None:
    with pytest.raises(AibpackError, match="line 1 column 1: Expecting value"):
        parse_jsonc("", "bad.json")


def test_corpus_parses_like_json(corpus_file) -> None:
    text = corpus_file.read_text(encoding="utf-8")
    assert parse_jsonc(text, str(corpus_file)) == json.loads(text)


# Property: any JSON value, written with comments (holding brackets, quotes, commas, slashes) and trailing commas
# wherever Azure accepts them, parses back to the same value.
_JSON_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | _JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)
_COMMENT_TEXT = st.text(alphabet=st.sampled_from(list('ab ,]}[{"/*\\')), max_size=10)
_GAPS = st.lists(
    st.one_of(
        st.sampled_from([" ", "\n", "\r\n", "\t"]),
        _COMMENT_TEXT.map(lambda text: f"// {text}\n"),
        _COMMENT_TEXT.filter(lambda text: "*/" not in text).map(lambda text: f"/* {text} */"),
    ),
    max_size=2,
).map("".join)


def _write(value: object, draw: st.DrawFn) -> str:
    """``value`` as JSON text with a random gap around every token and, sometimes, a trailing comma."""

    def gap() -> str:
        return draw(_GAPS)

    if isinstance(value, list):
        items = [gap() + _write(item, draw) + gap() for item in value]
    elif isinstance(value, dict):
        items = [f"{gap()}{json.dumps(key)}{gap()}:{gap()}{_write(item, draw)}{gap()}" for key, item in value.items()]
    else:
        return json.dumps(value)
    trailing = "," + gap() if items and draw(st.booleans()) else ""
    opening, closing = ("[", "]") if isinstance(value, list) else ("{", "}")
    return opening + gap() + ",".join(items) + trailing + closing


@st.composite
def _commented_json(draw: st.DrawFn) -> tuple[object, str]:
    value = draw(_JSON)
    return value, draw(_GAPS) + _write(value, draw) + draw(_GAPS)


@settings(max_examples=400, deadline=None)
@given(_commented_json())
def test_comments_and_trailing_commas_never_change_the_value(case: tuple[object, str]) -> None:
    value, text = case
    assert parse_jsonc(text, "t.json") == value
