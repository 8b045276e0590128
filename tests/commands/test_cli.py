"""The command table of ``aibpack.cli``: ``aibpack --help`` lists the commands from it without importing them."""

from __future__ import annotations

import inspect

import click
import pytest

from aibpack.cli import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_summary_is_the_commands_own_first_help_line(name: str) -> None:
    with click.Context(cli) as ctx:
        command = cli.get_command(ctx, name)
    assert command is not None
    assert COMMANDS[name].summary == inspect.cleandoc(command.help or "").splitlines()[0]
