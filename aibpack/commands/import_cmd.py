"""``aibpack import OLD [-o FILE] [--into TEMPLATE] [--build NAME]``: Packer provisioners → AIB steps."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from aibpack.errors import AibpackError, Diagnostics
from aibpack.legacy.importer import customize_steps
from aibpack.legacy.template import read_provisioners
from aibpack.load import IMAGE_TEMPLATE_TYPE
from aibpack.load.jsonc import blank_comments, members, parse_jsonc, value_at
from aibpack.load.text import read_text
from aibpack.output import write_atomic


def _dump(data: object) -> str:
    return _json(data) + "\n"


def _resource_path(document: object, file: Path) -> tuple[str | int, ...]:
    """Where the image template whose ``properties.customize`` we extend is: the file itself, or in ``resources``."""
    if not isinstance(document, dict):
        raise AibpackError("an image template is a JSON object", file=file)
    if "resources" not in document:
        return ()
    resources = document["resources"] if isinstance(document["resources"], list) else []
    found = [
        index
        for index, resource in enumerate(resources)
        if isinstance(resource, dict) and str(resource.get("type", "")).lower() == IMAGE_TEMPLATE_TYPE.lower()
    ]
    if len(found) != 1:
        raise AibpackError(
            f"the deployment holds {len(found)} imageTemplates resources; --into needs exactly one", file=file
        )
    return ("resources", found[0])


def merge_into(template: Path, steps: list[dict]) -> str:
    """``template``'s text with ``steps`` appended to its ``properties.customize``; nothing else changes.

    The steps are spliced into the text, so the user's comments, layout and key order stay as they were.
    """
    text = read_text(template, "image template")
    file = str(template)
    document = parse_jsonc(text, file)
    root = _resource_path(document, template)
    plain = blank_comments(text, file)
    properties = value_at(plain, (*root, "properties"))
    if properties is None or plain[properties[0]] != "{":
        raise AibpackError("expected a properties object", file=template, path=(*root, "properties"))
    customize = value_at(plain, (*root, "properties", "customize"))
    if customize is None:
        merged = _append(text, plain, properties[0], ['"customize": ' + _json(steps)])
    elif plain[customize[0]] == "[":
        merged = _append(text, plain, customize[0], [_json(step) for step in steps])
    else:
        raise AibpackError("is not a list", file=template, path=(*root, "properties", "customize"))
    _check_merged(merged, document, root, steps, file)
    return merged


def _indent_at(text: str, offset: int) -> str:
    """The leading whitespace of the line ``offset`` is on."""
    line = text[text.rfind("\n", 0, offset) + 1 : offset]
    return line[: len(line) - len(line.lstrip())]


def _append(text: str, plain: str, container: int, items: list[str]) -> str:
    """``text`` with ``items`` after the last member of ``container``, each line indented like its siblings."""
    existing = members(plain, container)
    if existing:
        indent = _indent_at(text, existing[-1][1])
        at = existing[-1][2]
        return text[:at] + "".join(",\n" + indent + item.replace("\n", "\n" + indent) for item in items) + text[at:]
    outer = _indent_at(text, container)
    indent = outer + "  "
    at = container + 1
    close = plain.index("]" if plain[container] == "[" else "}", at)
    inside = text[at:close].rstrip()  # a comment alone in an empty container stays, before the new items
    added = ",\n".join(indent + item.replace("\n", "\n" + indent) for item in items)
    return text[:at] + inside + "\n" + added + "\n" + outer + text[close:]


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _check_merged(merged: str, before: object, root: tuple[str | int, ...], steps: list[dict], file: str) -> None:
    """The edited text parses to the old template plus the steps, and to nothing else."""
    expected = json.loads(json.dumps(before))
    resource = expected
    for part in root:
        resource = resource[part]
    properties = next(value for key, value in resource.items() if key.lower() == "properties")
    key = next((k for k in properties if k.lower() == "customize"), "customize")
    properties[key] = [*(properties.get(key) or []), *steps]
    if parse_jsonc(merged, file) != expected:
        raise RuntimeError("appending the steps would change more than properties.customize")


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
            click.echo(_written(target, into, len(steps)), err=True)
    except AibpackError as err:
        diagnostics.emit()
        click.echo(f"error: {err.located(old)}", err=True)
        return err.exit_code
    return 0


def _written(target: Path, into: Path | None, count: int) -> str:
    """What was written where, so that an edited template is never a surprise."""
    steps = f"{count} customize step{'' if count == 1 else 's'}"
    if into is None:
        return f"{target}: {steps}"
    if target == into:
        return f"{into}: appended {steps} to properties.customize (the rest of the file is unchanged)"
    return f"{target}: {into} with {steps} appended to properties.customize ({into} is unchanged)"


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
