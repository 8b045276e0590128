"""The validator pydantic builds from the models, and the copy of it kept between runs."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aibpack.model.core import build_core_schema, core_schema, validator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# Loaded only to build the validator: a run that finds it cached needs none of them (nor pydantic at all,
# only pydantic-core).
BUILD_ONLY = (
    "pydantic",
    "pydantic.main",
    "pydantic.fields",
    "pydantic.type_adapter",
    "pydantic._internal._generate_schema",
)

COMPILE = (
    "import sys\n"
    "from aibpack.cli import main\n"
    "try:\n"
    "    main(['compile', sys.argv[1], '-o', sys.argv[2]])\n"
    "except SystemExit as exc:\n"
    "    assert exc.code in (0, None), exc.code\n"
    f"print(','.join(sorted(m for m in {BUILD_ONLY!r} if m in sys.modules)))\n"
)


def _compile(out: Path, cache: Path) -> tuple[str, bytes]:
    """Compile the Linux example in a new process with ``cache`` as XDG_CACHE_HOME: (build-only modules, HCL)."""
    result = subprocess.run(
        [sys.executable, "-c", COMPILE, str(EXAMPLES / "linux-gallery.json"), str(out)],
        env={**os.environ, "XDG_CACHE_HOME": str(cache)},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip(), (out / "ubuntu2204-golden.pkr.hcl").read_bytes()


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("aibpack/models-*/*.pickle"))


def test_second_run_uses_the_cached_validator_and_compiles_the_same_bytes(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold_modules, cold = _compile(tmp_path / "cold", cache)
    assert cold_modules  # the first run had pydantic build the validator ...
    assert len(_entries(cache)) == 1  # ... and kept it
    warm_modules, warm = _compile(tmp_path / "warm", cache)
    assert warm_modules == ""  # the second loaded none of pydantic's model machinery
    assert warm == cold


def test_a_damaged_cache_entry_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _, first = _compile(tmp_path / "first", cache)
    (entry,) = _entries(cache)
    entry.write_bytes(b"not a pickle")
    modules, again = _compile(tmp_path / "again", cache)
    assert modules  # rebuilt ...
    assert again == first
    assert pickle.loads(entry.read_bytes())["type"] in ("definitions", "dataclass")  # ... and replaced


def test_an_unusable_cache_directory_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory would go")
    _, reference = _compile(tmp_path / "reference", tmp_path / "cache")
    modules, output = _compile(tmp_path / "out", blocker)
    assert modules  # built every time, kept nowhere
    assert output == reference


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    core_schema.cache_clear()
    validator.cache_clear()
    yield tmp_path
    core_schema.cache_clear()
    validator.cache_clear()


def test_the_kept_schema_is_exactly_what_pydantic_builds(fresh_cache: Path) -> None:
    schema = core_schema()
    (entry,) = _entries(fresh_cache)
    assert pickle.loads(entry.read_bytes()) == schema == build_core_schema()


def test_the_kept_schema_holds_no_serializer_or_json_schema_hooks(fresh_cache: Path) -> None:
    def keys(node: object) -> set[str]:
        if isinstance(node, dict):
            return set(node).union(*(keys(value) for value in node.values()))
        if isinstance(node, list):
            return set().union(*(keys(item) for item in node))
        return set()

    assert not keys(core_schema()) & {"metadata", "serialization"}


def test_a_relative_cache_home_puts_nothing_in_the_working_directory(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "HOME"}
    env.update(XDG_CACHE_HOME="relative-cache", PYTHONPATH=str(EXAMPLES.parent))  # relative: ignored, as XDG says
    result = subprocess.run(
        [sys.executable, "-m", "aibpack", "compile", str(EXAMPLES / "linux-gallery.json"), "-o", "out"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
