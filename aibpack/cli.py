"""The ``aibpack`` command: a click group whose commands live in ``aibpack.commands``.

Every failure the user can fix ends as one ``error:`` line and the exit code of design.md; a usage error also
says which ``--help`` to read. A traceback only with ``--debug`` (or ``AIBPACK_DEBUG=1``).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import NamedTuple

import click

from aibpack import __version__
from aibpack.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, AibpackError


class Entry(NamedTuple):
    target: str  # "module:attribute", imported only when the command runs or shows its own help
    summary: str  # the command's one-line help, for `aibpack --help` (a test keeps it equal to the docstring's)


COMMANDS = {
    "compile": Entry(
        "aibpack.commands.compile:compile_command",
        "Compile image templates to Packer HCL2 (never touches the network).",
    ),
    "validate": Entry(
        "aibpack.commands.validate:validate_command",
        "Check image templates as compile would, without writing anything.",
    ),
    "import": Entry(
        "aibpack.commands.import_cmd:import_command",
        "Convert an existing Packer template's provisioners into AIB customize steps.",
    ),
    "schema": Entry("aibpack.commands.schema:schema_command", "Print the JSON Schema of the accepted image template."),
    "run": Entry(
        "aibpack.commands.run:run_command",
        "Build the images: one preflight for all templates, then the builds that are due, concurrently.",
    ),
    "cleanup": Entry(
        "aibpack.commands.cleanup:cleanup_command",
        "Find staging resource groups that aibpack created and a crashed run left behind.",
    ),
    "distribute": Entry(
        "aibpack.commands.distribute:distribute_command",
        "Deliver an existing managed image to every distribute target of TEMPLATE, in parallel.",
    ),
    "permissions": Entry(
        "aibpack.commands.permissions:permissions_group",
        "Check or grant the roles a build needs (Contributor on destinations and staging, Reader on the source).",
    ),
}
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
DEBUG_HELP = "Show tracebacks of internal errors (also AIBPACK_DEBUG=1)."


def _add_debug_option(command: click.Command) -> None:
    """``--debug`` after the command works as before it: ``main`` reads it from argv, so it is only accepted here."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _add_debug_option(sub)
    elif not any(param.name == "debug" for param in command.params):
        command.params.append(click.Option(["--debug"], is_flag=True, expose_value=False, help=DEBUG_HELP))


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs or shows its help, never for ``aibpack --help``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attribute = entry.target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        _add_debug_option(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name].summary) for name in self.list_commands(ctx)])


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS, invoke_without_command=True)
@click.version_option(__version__, prog_name="aibpack")
@click.option("--debug", is_flag=True, envvar="AIBPACK_DEBUG", help=DEBUG_HELP)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Build Azure VM images from Azure Image Builder templates with your own Packer.

    Run `aibpack COMMAND --help` for a command's options.
    """
    ctx.obj = {"debug": debug}
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def _usage_error(exc: click.UsageError) -> str:
    """Click's message, then where to read about the command: ``...; try `aibpack compile --help```."""
    where = exc.ctx.command_path if exc.ctx is not None else "aibpack"
    return f"error: {exc.format_message().rstrip('.')}; try `{where} --help`"


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map every outcome to an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or os.environ.get("AIBPACK_DEBUG") == "1"
    try:
        code = cli.main(args=argv, prog_name="aibpack", standalone_mode=False)
    except AibpackError as exc:
        click.echo(f"error: {exc}", err=True)
        code = exc.exit_code
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.UsageError as exc:
        if exc.ctx is not None and type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as for -h
            click.echo(exc.ctx.get_help())
            code = EXIT_OK
        else:
            click.echo(_usage_error(exc), err=True)
            code = EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        code = EXIT_USAGE
    except click.exceptions.Abort:
        code = EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        code = EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
        code = EXIT_FAILED
    sys.exit(code if isinstance(code, int) else 0)
