"""Shared fixtures for the load-stage tests: the real templates and the values a user passes for them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"  # beside the checkout, read-only
CORPUS_VALUES = Path(__file__).resolve().parent.parent / "data" / "corpus_values.json"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking ``corpus_file`` runs once per real template."""
    if "corpus_file" in metafunc.fixturenames:
        files = sorted(CORPUS.glob("*.json"))
        metafunc.parametrize("corpus_file", files, ids=[f.name for f in files])


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def corpus_values() -> dict[str, dict[str, dict[str, str]]]:
    """``{file name: {"set": {...}, "params": {...}}}`` from tests/data/corpus_values.json."""
    return json.loads(CORPUS_VALUES.read_text(encoding="utf-8"))
