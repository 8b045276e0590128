"""Shared fixtures for the load-stage tests: the real templates and the values a user passes for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.corpus import VALUES, corpus_params, require_corpus


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking ``corpus_file`` runs once per real template (skipped, with the reason, without them)."""
    if "corpus_file" in metafunc.fixturenames:
        metafunc.parametrize("corpus_file", corpus_params())


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return require_corpus()


@pytest.fixture(scope="session")
def corpus_values() -> dict[str, dict[str, dict[str, str]]]:
    """``{file name: {"set": {...}, "params": {...}}}`` from tests/data/corpus_values.json."""
    return VALUES
