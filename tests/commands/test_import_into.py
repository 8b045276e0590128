"""``aibpack import OLD --into TEMPLATE``: the steps are appended, and the user's file is otherwise left as it was."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from support.cli import run

from aibpack.load.jsonc import parse_jsonc

PACKER = {
    "builders": [{"type": "null", "communicator": "none"}],
    "provisioners": [
        {"type": "shell", "inline": ["echo one"]},
        {"type": "shell", "inline": ["echo two"]},
    ],
}
STEPS = [{"type": "Shell", "inline": ["echo one"]}, {"type": "Shell", "inline": ["echo two"]}]

COMMENTED = """{
  // Our golden image. Reviewed by the platform team.
  "type": "Microsoft.VirtualMachineImages/imageTemplates",
  "apiVersion": "2024-02-01",
  "location": "westeurope",
  "properties": {
    "source": { "type": "PlatformImage", "publisher": "Canonical", "offer": "o", "sku": "s", "version": "latest" },
    "customize": [
      {
        "type": "Shell",
        "name": "first", // keep this one first
        "inline": ["echo 0"]
      }, /* trailing comma, as Azure allows */
    ],
    "distribute": []
  }
}
"""


@pytest.fixture
def old(tmp_path: Path) -> Path:
    path = tmp_path / "old.json"
    path.write_text(json.dumps(PACKER), encoding="utf-8")
    return path


def _import_into(old: Path, template: Path, *extra: str) -> str:
    result = run(["import", str(old), "--into", str(template), *extra])
    assert result.code == 0, result.err
    return result.err


def _customize(text: str) -> list:
    return parse_jsonc(text, "t.json")["properties"]["customize"]


def test_comments_layout_and_mode_are_kept(old: Path, tmp_path: Path) -> None:
    template = tmp_path / "golden.json"
    template.write_text(COMMENTED, encoding="utf-8")
    os.chmod(template, 0o640)
    said = _import_into(old, template)
    text = template.read_text(encoding="utf-8")
    assert stat.S_IMODE(template.stat().st_mode) == 0o640
    head, _, _ = COMMENTED.partition("      }, /* trailing comma")
    assert text.startswith(head + "      },\n")  # everything before the new steps is byte for byte the same
    assert text.endswith(' /* trailing comma, as Azure allows */\n    ],\n    "distribute": []\n  }\n}\n')
    assert "// keep this one first" in text
    assert _customize(text)[1:] == STEPS
    assert f"{template}: appended 2 customize steps to properties.customize" in said


def test_an_empty_customize_gets_the_steps(old: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(
        '{\n  "location": "x",\n  "properties": {\n'
        '    "customize": [ // none yet\n    ],\n    "distribute": []\n  }\n}\n'
    )
    _import_into(old, template)
    text = template.read_text(encoding="utf-8")
    assert "// none yet" in text
    assert _customize(text) == STEPS


def test_a_template_without_customize_gets_one(old: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text('{\n  "location": "x",\n  "properties": {\n    "distribute": [] // soon\n  }\n}\n')
    _import_into(old, template)
    text = template.read_text(encoding="utf-8")
    assert text.startswith('{\n  "location": "x",\n  "properties": {\n    "distribute": [],\n    "customize": [\n')
    assert "// soon" in text
    assert _customize(text) == STEPS


def test_with_output_the_template_is_untouched_and_the_new_file_named(old: Path, tmp_path: Path) -> None:
    template = tmp_path / "golden.json"
    template.write_text(COMMENTED, encoding="utf-8")
    out = tmp_path / "golden-imported.json"
    said = _import_into(old, template, "-o", str(out))
    assert template.read_text(encoding="utf-8") == COMMENTED
    assert _customize(out.read_text(encoding="utf-8"))[1:] == STEPS
    assert f"{out}: {template} with 2 customize steps appended" in said


def test_a_utf16_template_is_read(old: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_bytes('{"location": "x", "properties": {"customize": []}}'.encode("utf-16"))
    _import_into(old, template)
    assert _customize(template.read_text(encoding="utf-8")) == STEPS
