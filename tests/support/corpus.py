"""The real image templates in ../shared/corpus and the values a user passes to compile them.

The corpus lives beside the checkout, not in it, so a fresh clone has none: the tests that read it are then
skipped with the reason. CI sets ``AIBPACK_REQUIRE_CORPUS=1`` (as ``AIBPACK_REQUIRE_TOOLS=1`` for tools), which
turns that skip into a failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
CORPUS = TESTS.parent.parent / "shared" / "corpus"
VALUES = json.loads((TESTS / "data" / "corpus_values.json").read_text(encoding="utf-8"))
REQUIRE_CORPUS = "AIBPACK_REQUIRE_CORPUS"
MISSING = f"the shared corpus is not at {CORPUS} (a fresh clone has none; CI sets {REQUIRE_CORPUS}=1 to require it)"

# Tests marked ``corpus`` (every parameter of corpus_params() is) skip, or fail in CI, without the corpus.
corpus = pytest.mark.corpus


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.json"))


def require_corpus() -> Path:
    """The corpus folder; skip the calling test without it, or fail it when ``AIBPACK_REQUIRE_CORPUS=1``."""
    if corpus_files():
        return CORPUS
    if os.environ.get(REQUIRE_CORPUS) == "1":
        pytest.fail(MISSING)
    pytest.skip(MISSING)


def corpus_params() -> list:
    """One parameter per corpus file, or a single ``corpus-missing`` one that skips (or fails) with the reason."""
    files = corpus_files()
    if not files:
        return [pytest.param(None, id="corpus-missing", marks=corpus)]
    return [pytest.param(file, id=file.stem[-40:], marks=corpus) for file in files]


def compile_args(file: Path) -> list[str]:
    """``--set``/``--param`` options for one corpus file."""
    values = VALUES[file.name]
    args: list[str] = []
    for name, value in values.get("set", {}).items():
        args += ["--set", f"{name}={value}"]
    for name, value in values.get("params", {}).items():
        args += ["--param", f"{name}={value if isinstance(value, str) else json.dumps(value)}"]
    return args


def typos(file: Path) -> dict[str, str]:
    """Misspelt property names in a corpus file (a real sample has ``aritfactTags``): compile refuses them."""
    return dict(VALUES.get(file.name, {}).get("typos", {}))


def without_typos(file: Path, out: Path) -> Path:
    """The corpus file, or, when it misspells a property, a copy in ``out/fixed`` with the names fixed."""
    fixes = typos(file)
    if not fixes:
        return file
    text = file.read_text(encoding="utf-8")
    for wrong, right in fixes.items():
        text = text.replace(f'"{wrong}"', f'"{right}"')
    fixed = out / "fixed" / file.name
    fixed.parent.mkdir(parents=True, exist_ok=True)
    fixed.write_text(text, encoding="utf-8")
    return fixed
