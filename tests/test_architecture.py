"""ARCHITECTURE.md matches the tree, and the arrows between the compile stages point one way."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "aibpack"
DOC = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _modules() -> list[Path]:
    """Every module, but the commands: the map says there is one per CLI command, each named as the command."""
    return sorted(
        p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py") and p.parent.name != "commands"
    )


def test_every_path_the_map_names_exists() -> None:
    named = set(re.findall(r"`(aibpack/[\w/.]*)`", DOC))
    assert named, "the map names no path"
    missing = sorted(path for path in named if not (REPO / path).exists())
    assert not missing


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_is_on_the_map(module: Path) -> None:
    assert f"`{module.name}`" in DOC or f"`{module.relative_to(REPO).as_posix()}`" in DOC


def test_every_package_is_on_the_map() -> None:
    packages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    assert [name for name in packages if f"`aibpack/{name}/`" not in DOC] == []


def _imports(package: str) -> set[str]:
    found: set[str] = set()
    for file in (PACKAGE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("aibpack.")}


# Each compile stage may import only the stages before it (and the shared errors/cache/output modules).
UPSTREAM = {
    "load": set(),
    "model": set(),
    "plan": {"model"},
    "render": {"plan"},
    "legacy": {"load", "render"},  # reads files as load does, writes blocks as render does
}
SHARED = {"errors", "cache", "output"}


@pytest.mark.parametrize("stage", sorted(UPSTREAM))
def test_compile_stages_import_only_upstream(stage: str) -> None:
    allowed = {stage} | UPSTREAM[stage] | SHARED
    wrong = sorted(name for name in _imports(stage) if name.split(".")[1] not in allowed)
    assert not wrong, f"aibpack.{stage} imports {wrong}"


def test_azure_package_knows_nothing_of_run_or_commands() -> None:
    wrong = sorted(name for name in _imports("azure") if name.split(".")[1] in ("run", "commands", "pipeline"))
    assert not wrong
