"""``aibpack import OLD [-o FILE] [--into TEMPLATE] [--build NAME]``: Packer provisioners → AIB steps."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from aibpack.errors import AibpackError, Diagnostics
from aibpack.legacy.importer import customize_steps
from aibpack.legacy.template import read_provisioners
from aibpack.load.jsonc import parse_jsonc
from aibpack.output import write_atomic


def _dump(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _image_template(document: object, file: Path) -> dict:
    """The object whose ``properties.customize`` we extend: the resource itself, or the one in an ARM file."""
    if not isinstance(document, dict):
        raise AibpackError("an image template is a JSON object", file=file)
    if "resources" not in document:
        return document
    found = [
        resource
        for resource in document["resources"] or []
        if isinstance(resource, dict)
        and str(resource.get("type", "")).lower() == "microsoft.virtualmachineimages/imagetemplates"
    ]
    if len(found) != 1:
        raise AibpackError(
            f"the deployment holds {len(found)} imageTemplates resources; --into needs exactly one", file=file
        )
    return found[0]


def merge_into(template: Path, steps: list[dict]) -> str:
    """``template``'s text with ``steps`` appended to its ``properties.customize``."""
    try:
        text = template.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise AibpackError(f"cannot read the image template: {err.strerror}", file=template) from None
    document = parse_jsonc(text, str(template))
    resource = _image_template(document, template)
    properties = resource.setdefault("properties", {})
    if not isinstance(properties, dict):
        raise AibpackError("properties is not an object", file=template, path=("properties",))
    customize = properties.setdefault("customize", [])
    if not isinstance(customize, list):
        raise AibpackError("is not a list", file=template, path=("properties", "customize"))
    customize.extend(steps)
    return _dump(document)


def run_import(old: Path, output: Path | None, into: Path | None, build: str | None) -> int:
    """The whole command; returns its exit code. Warnings and errors go to stderr."""
    diagnostics = Diagnostics(file=str(old))
    try:
        template = read_provisioners(old, build=build)
        diagnostics.file = str(template.file)
        target = output or into
        steps = customize_steps(template, (target.parent if target else Path.cwd()), diagnostics)
        text = merge_into(into, steps) if into else _dump({"customize": steps})
        diagnostics.emit()
        if target is None:
            sys.stdout.write(text)
        else:
            write_atomic(target, text)
    except AibpackError as err:
        diagnostics.emit()
        click.echo(f"error: {err.located(old)}", err=True)
        return err.exit_code
    return 0


@click.command("import")
@click.argument("old", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here (default: stdout, or --into).")
@click.option(
    "--into",
    type=click.Path(path_type=Path),
    help="Append the steps to this image template's properties.customize (rewritten in place unless -o).",
)
@click.option("--build", "build", metavar="NAME", help="The build block to read, when OLD has several.")
def import_command(old: Path, output: Path | None, into: Path | None, build: str | None) -> None:
    """Convert an existing Packer template's provisioners into AIB customize steps."""
    code = run_import(old, output, into, build)
    if code:
        sys.exit(code)
