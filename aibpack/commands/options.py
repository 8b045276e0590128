"""Options shared by the commands that read an image template, and turning them into ``CompileOptions``."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from aibpack.errors import AibpackError
from aibpack.load import LoadOptions
from aibpack.pipeline import CompileOptions


def _pairs(option: str, values: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise AibpackError(f"{option} expects NAME=VALUE, got {item!r}")
        out[name] = value
    return out


def template_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--name``, ``-p/--param``, ``--parameters``, ``--set``, ``--strict``, ``--provisioners``, ``--build``."""
    decorators = [
        click.option("--name", help="Which image template, when an ARM template holds several."),
        click.option(
            "-p",
            "--param",
            "params",
            multiple=True,
            metavar="NAME=VALUE",
            help="An ARM template parameter value (repeatable).",
        ),
        click.option(
            "--parameters",
            "parameter_files",
            multiple=True,
            metavar="FILE",
            type=click.Path(dir_okay=False, path_type=Path),
            help="An ARM parameters file (repeatable; later files win).",
        ),
        click.option(
            "--set",
            "placeholders",
            multiple=True,
            metavar="NAME=VALUE",
            help="Replace every <NAME> placeholder with VALUE (repeatable).",
        ),
        click.option("--strict", is_flag=True, help="Treat warnings as errors."),
        click.option(
            "--provisioners",
            multiple=True,
            metavar="PACKER_TEMPLATE",
            type=click.Path(path_type=Path),
            help="Existing Packer provisioners to keep exactly (JSON, HCL2 file or folder; repeatable).",
        ),
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
        click.option(
            "--build",
            "build_name",
            metavar="NAME",
            help="Which build of a --provisioners folder holding several.",
        ),
    ]
    return functools.reduce(lambda f, d: d(f), reversed(decorators), func)


def compile_options(
    *,
    name: str | None,
    params: Sequence[str],
    parameter_files: Sequence[Path],
    placeholders: Sequence[str],
    strict: bool,
    provisioners: Sequence[Path],
    build_name: str | None,
    resource_group: str | None = None,
    location: str | None = None,
    subscription_id: str | None = None,
    assume_context: bool = False,
) -> CompileOptions:
    load = LoadOptions(
        name=name,
        params=_pairs("--param", params),
        parameter_files=tuple(parameter_files),
        placeholders=_pairs("--set", placeholders),
        subscription_id=subscription_id or os.environ.get("AZURE_SUBSCRIPTION_ID") or None,
        resource_group=resource_group,
        location=location,
        assume_context=assume_context,
    )
    return CompileOptions(load=load, strict=strict, provisioners=tuple(provisioners), build=build_name)
