"""The render stage: a ``BuildPlan`` becomes HCL2 text through the jinja2 templates in ``templates/``.

Rendering is pure (no I/O besides reading the templates); ``hcl.align`` makes the result
``packer fmt``-canonical so the output is byte-stable.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2

from aibpack import __version__
from aibpack.cache import cache_dir
from aibpack.plan.build import Block, BuildPlan, Expr, Interpolation, RawBlock, Value
from aibpack.plan.plugins import Plugin
from aibpack.render import hcl

# Provisioner and builder strings pass through Packer's Go-template engine too; these meta-arguments don't.
_NOT_GO_TEMPLATES = frozenset({"name"})


def templates_dir() -> Path:
    """``templates/`` inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("aibpack's templates/ directory is missing from this installation")


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs (like ``__pycache__``): compile stays fast. None if not writable."""
    directory = cache_dir("jinja")
    return None if directory is None else jinja2.FileSystemBytecodeCache(str(directory))


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters["hcl"] = lambda data, indent=0, secrets=None: expression(data, indent=indent, secrets=secrets)
    env.filters["block"] = lambda block, indent=0, secrets=None: block_text(block, indent, secrets)
    env.filters["comment"] = hcl.comment
    return env


def expression(
    data: Value, *, go_template: bool = False, indent: int = 0, secrets: Mapping[str, str] | None = None
) -> str:
    """An HCL expression for a plan value; ``Expr`` is written as is, nested inside lists too."""
    if isinstance(data, Expr):
        # Multi-line expressions (kept from existing Packer files) are written as if at column 0.
        return hcl.indent(data.text, indent)[2 * indent :] if indent else data.text
    if isinstance(data, Interpolation):
        parts = (
            f"${{{part.text}}}" if isinstance(part, Expr) else hcl.quote(part, go_template=go_template)[1:-1]
            for part in data.parts
        )
        return '"' + "".join(parts) + '"'
    if isinstance(data, list) and any(isinstance(item, Expr | Interpolation) for item in data):
        pad = "  " * (indent + 1)
        items = [
            f"{pad}{expression(item, go_template=go_template, indent=indent + 1, secrets=secrets)}," for item in data
        ]
        return "[\n" + "\n".join(items) + "\n" + "  " * indent + "]"
    return hcl.value(data, go_template=go_template, indent=indent, secrets=secrets)


def block_text(block: Block | RawBlock, indent: int, secrets: Mapping[str, str] | None = None) -> str:
    """One block, indented by ``indent`` levels; nested blocks always span lines."""
    pad = "  " * indent
    if isinstance(block, RawBlock):
        return hcl.indent(block.text.rstrip("\n"), indent)
    labels = "".join(f" {hcl.quote(label)}" for label in block.labels)
    lines = [f"{pad}{block.type}{labels} {{"]
    for attribute in block.attributes:
        go = attribute.name not in _NOT_GO_TEMPLATES
        text = expression(attribute.value, go_template=go, indent=indent + 1, secrets=secrets)
        lines.append(f"{pad}  {attribute.name} = {text}")
    for nested in block.blocks:
        lines.append("")
        lines.append(block_text(nested, indent + 1, secrets))
    lines.append(f"{pad}}}")
    return "\n".join(lines)


def render(plan: BuildPlan) -> str:
    """The whole ``.pkr.hcl`` file for ``plan``."""
    text = (
        _environment()
        .get_template("build.pkr.hcl.j2")
        .render(
            version=__version__,
            input_file=plan.input_file,
            name=plan.name,
            modern_only=plan.modern_only,
            packer_delivers=plan.packer_delivers,
            run_delivers=plan.run_delivers,
            variables=plan.variables,
            locals=plan.locals,
            source=plan.source,
            source_ref=plan.source_ref,
            provisioners=plan.provisioners,
            secrets=plan.secrets,
        )
    )
    return hcl.align(text)


def render_plugins(plugins: Sequence[Plugin]) -> str:
    """``packer-plugins.pkr.hcl``: the ``required_plugins`` that ``packer init`` installs for a folder."""
    text = _environment().get_template("plugins.pkr.hcl.j2").render(version=__version__, plugins=plugins)
    return hcl.align(text)
