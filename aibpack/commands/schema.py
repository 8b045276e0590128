"""``aibpack schema``: the JSON Schema of the accepted image template, for editors."""

from __future__ import annotations

import json

import click
from pydantic import TypeAdapter

from aibpack.model.template import ImageTemplate


def template_schema() -> dict[str, object]:
    schema = TypeAdapter(ImageTemplate).json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Microsoft.VirtualMachineImages/imageTemplates (as accepted by aibpack)"
    return schema


@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the accepted image template."""
    click.echo(json.dumps(template_schema(), indent=2, sort_keys=True))
