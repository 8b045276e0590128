"""The ``aibpack`` command: a click group whose commands live in ``aibpack.commands``.

Every failure the user can fix ends as one ``error:`` line and the exit code of design.md; a traceback
only with ``--debug`` (or ``AIBPACK_DEBUG=1``).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

import click

from aibpack import __version__
from aibpack.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, AibpackError

# Command name → "module:attribute", imported only when that command runs (compile must stay fast).
COMMANDS = {
    "compile": "aibpack.commands.compile:compile_command",
    "validate": "aibpack.commands.validate:validate_command",
    "import": "aibpack.commands.import_cmd:import_command",
    "schema": "aibpack.commands.schema:schema_command",
    "run": "aibpack.commands.run:run_command",
    "cleanup": "aibpack.commands.cleanup:cleanup_command",
    "distribute": "aibpack.commands.distribute:distribute_command",
    "permissions": "aibpack.commands.permissions:permissions_group",
}


class LazyGroup(click.Group):
    """Imports a command's module only when it is invoked or listed in help."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="aibpack")
@click.option("--debug", is_flag=True, envvar="AIBPACK_DEBUG", help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Build Azure VM images from Azure Image Builder templates with your own Packer."""
    ctx.obj = {"debug": debug}


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
