"""Options that several commands share, and turning them into ``CompileOptions``.

Only click is imported at the top: ``aibpack cleanup`` uses these options too and never compiles anything.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from aibpack.errors import AibpackError

if TYPE_CHECKING:
    from aibpack.azure.clients import AzureContext
    from aibpack.azure.credentials import SignedIn
    from aibpack.pipeline import CompileOptions
    from aibpack.plan.capture import SecurityType

# What bare ``--packer`` stands for: the usual lookup (AIBPACK_PACKER, else packer on PATH).
DEFAULT_PACKER = ""
_SET_FILE_LINE = re.compile(r"^\s*(?:export\s+)?([^=\s]+)\s*=(.*)$")


class NameValue(click.ParamType):
    """``NAME=VALUE``, as ``--param`` and ``--set`` take it; anything else is a usage error."""

    name = "NAME=VALUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        name, sep, text = str(value).partition("=")
        if not sep or not name:
            self.fail(f"expected NAME=VALUE, got {value!r}", param, ctx)
        return name, text


def _apply(func: Callable[..., Any], decorators: Sequence[Callable[..., Any]]) -> Callable[..., Any]:
    return functools.reduce(lambda f, d: d(f), reversed(decorators), func)


def _files(flag: str, dest: str, help_text: str) -> Callable[..., Any]:
    """A repeatable option naming input files."""
    return click.option(
        flag, dest, multiple=True, metavar="FILE", type=click.Path(dir_okay=False, path_type=Path), help=help_text
    )


def template_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """How a template is read: ``--name``, ``-p/--param``, ``--parameters``, ``--set``, ``--set-file``, ``--strict``,
    and the deployment context ``--resource-group`` and ``--location``."""
    return _apply(
        func,
        [
            click.option("--name", help="Which image template, when an ARM template holds several."),
            click.option(
                "-p",
                "--param",
                "params",
                multiple=True,
                type=NameValue(),
                help="An ARM template parameter value (repeatable).",
            ),
            _files("--parameters", "parameter_files", "An ARM parameters file (repeatable; later files win)."),
            click.option(
                "--set",
                "placeholders",
                multiple=True,
                type=NameValue(),
                help="Replace every <NAME> placeholder with VALUE (repeatable; wins over --set-file).",
            ),
            _files(
                "--set-file",
                "set_files",
                "NAME=VALUE lines for --set; '#' starts a comment line (repeatable; later win).",
            ),
            click.option("--strict", is_flag=True, help="Treat warnings as errors."),
            click.option(
                "--resource-group",
                metavar="NAME",
                help="The deployment's resource group, for resourceGroup() in ARM templates.",
            ),
            click.option(
                "--location",
                metavar="LOCATION",
                help="The deployment's location, for resourceGroup().location in ARM templates.",
            ),
        ],
    )


def provisioner_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--provisioners`` and ``--build``: for the commands that build (compile, validate, run)."""
    return _apply(
        func,
        [
            click.option(
                "--provisioners",
                multiple=True,
                metavar="PACKER_TEMPLATE",
                type=click.Path(path_type=Path),
                help="Existing Packer provisioners to keep exactly (JSON, HCL2 file or folder; repeatable).",
            ),
            click.option(
                "--build",
                "build_name",
                metavar="NAME",
                help="Which build of a --provisioners folder holding several.",
            ),
        ],
    )


def _no_effect(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value:
        click.echo(
            f"warning: {param.opts[0]} has no effect on `{ctx.command_path}`; it is accepted only so that "
            "older scripts keep working",
            err=True,
        )


def retired_provisioner_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--provisioners``/``--build`` on commands that never build (distribute, permissions).

    They were offered there once and never used; design.md asks that scripts using an old option keep working, so
    they are still accepted, hidden from help, with a warning.
    """
    return _apply(
        func,
        [
            click.option("--provisioners", multiple=True, hidden=True, expose_value=False, callback=_no_effect),
            click.option("--build", hidden=True, expose_value=False, callback=_no_effect),
        ],
    )


def security_type_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--security-type``: compile a Trusted Launch or Confidential VM build without asking Azure."""
    from aibpack.plan.capture import SECURITY_TYPES  # only the commands that compile take it

    return click.option(
        "--security-type",
        type=click.Choice(SECURITY_TYPES),
        help="Build a Trusted Launch or Confidential VM and publish it straight to the first gallery target "
        "(aibpack run reads this from the gallery image definition).",
    )(func)


def packer_option(help_text: str) -> Callable[..., Any]:
    """``--packer [PATH]``, one meaning wherever it is: the packer binary, bare for AIBPACK_PACKER or PATH."""
    return click.option(
        "--packer",
        "packer",
        is_flag=False,
        flag_value=DEFAULT_PACKER,
        default=None,
        metavar="[PATH]",
        help=help_text,
    )


def azure_options(*, template: bool = True) -> Callable[..., Any]:
    """``--subscription`` and ``--auth``, for the commands that talk to Azure (``cleanup`` reads no template)."""
    where = "the template's resource IDs, else " if template else ""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        from aibpack.azure.credentials import AUTH_MODES  # not at the top: compile never loads it

        return _apply(
            func,
            [
                click.option("--subscription", metavar="ID", help=f"Subscription (else {where}AZURE_SUBSCRIPTION_ID)."),
                click.option(
                    "--auth",
                    type=click.Choice(AUTH_MODES),
                    default="default",
                    show_default=True,
                    help="Sign in with: default (azure-identity's chain), cli (az login), env (a service principal "
                    "in AZURE_* variables), msi (managed identity). See README, Authentication.",
                ),
            ],
        )

    return decorate


def os_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--os``: the source image's OS, where compile would have to guess it (compile, validate, run)."""
    return click.option(
        "--os",
        "os_type",
        type=click.Choice(("Linux", "Windows"), case_sensitive=False),
        help="The source image's OS, where compile would guess it (custom images; run asks Azure).",
    )(func)


def azure_context(
    subscription: str | None, auth: str, candidate_ids: Sequence[str] = ()
) -> tuple[AzureContext, SignedIn]:
    """Signed in (or one line saying why not) to the subscription the options and the template name."""
    from aibpack.azure.clients import AzureContext, resolve_subscription
    from aibpack.azure.credentials import make_credential, sign_in

    ctx = AzureContext.from_env(make_credential(auth), resolve_subscription(subscription, candidate_ids))
    return ctx, sign_in(ctx)


def read_set_file(path: Path) -> dict[str, str]:
    """``NAME=VALUE`` lines (an ``export`` before one, blank lines and ``#`` comment lines allowed).

    The value is the rest of the line, without one pair of quotes around it, as a shell would read it there.
    """
    from aibpack.load.text import read_text  # only when a --set-file is given

    values: dict[str, str] = {}
    for number, line in enumerate(read_text(path, "--set-file").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _SET_FILE_LINE.match(line)
        if match is None:
            raise AibpackError(f"line {number}: expected NAME=VALUE, got {line.strip()!r}", file=path)
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[match.group(1)] = value
    return values


def compile_options(
    *,
    name: str | None,
    params: Sequence[tuple[str, str]],
    parameter_files: Sequence[Path],
    placeholders: Sequence[tuple[str, str]],
    set_files: Sequence[Path] = (),
    strict: bool,
    provisioners: Sequence[Path] = (),
    build_name: str | None = None,
    resource_group: str | None = None,
    location: str | None = None,
    subscription_id: str | None = None,
    assume_context: bool = False,
    os_type: str | None = None,
    security_type: SecurityType | None = None,
) -> CompileOptions:
    from aibpack.load import LoadOptions
    from aibpack.pipeline import CompileOptions
    from aibpack.plan.source import BuildTarget

    values: dict[str, str] = {}
    for file in set_files:
        values.update(read_set_file(file))
    values.update(placeholders)
    load = LoadOptions(
        name=name,
        params=dict(params),
        parameter_files=tuple(parameter_files),
        placeholders=values,
        subscription_id=subscription_id or os.environ.get("AZURE_SUBSCRIPTION_ID") or None,
        resource_group=resource_group,
        location=location,
        assume_context=assume_context,
    )
    given_os = {"linux": "Linux", "windows": "Windows"}.get((os_type or "").lower())
    return CompileOptions(
        load=load,
        strict=strict,
        provisioners=tuple(provisioners),
        build=build_name,
        target=BuildTarget(os=given_os),  # type: ignore[arg-type]
        security_type=security_type,
    )
