"""The README's catalogue jobs: valid YAML, and every ``aibpack`` command in them is one the CLI has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from support.cli import parse

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
SECTION = re.split(r"\n##+ ", README.split("### Catalogues: build only what changed", 1)[1], maxsplit=1)[0]
BLOCKS = re.findall(r"```(yaml|sh)\n(.*?)```", SECTION, re.DOTALL)


def _invocations(text: str) -> list[list[str]]:
    """The words of every ``aibpack`` call in ``text``, up to a redirection, a pipe or the end of the command."""
    calls = []
    for match in re.finditer(r"\baibpack (run|compile) (.*)", text):
        lexer = shlex.shlex(match.group(2), posix=True, punctuation_chars=True)
        words = []
        for word in lexer:
            if word and set(word) <= set("<>|&;()"):
                break
            words.append(word)
        calls.append([match.group(1), *words])
    return calls


def test_the_section_has_a_github_and_an_azure_pipelines_job() -> None:
    jobs = [yaml.safe_load(body) for kind, body in BLOCKS if kind == "yaml"]
    github, azure = jobs
    assert github[True]["schedule"][0]["cron"] == azure["schedules"][0]["cron"]  # YAML 1.1 reads `on` as True
    assert any("aibpack run" in str(step.get("run", "")) for step in github["jobs"]["catalogue"]["steps"])
    assert any("aibpack run" in str(step.get("inputs", {}).get("inlineScript", "")) for step in azure["steps"])


@pytest.mark.parametrize("call", [c for _, body in BLOCKS for c in _invocations(body)], ids=" ".join)
def test_every_command_and_option_exists(call: list[str]) -> None:
    assert parse(call).info_name == f"aibpack {call[0]}"  # the real parser: an unknown option raises
