import json

import pytest

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
