"""Shared fixtures: the corpus, the real packer binary, and running the CLI as a user would."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))  # for the ``support`` helpers

from support.corpus import require_corpus  # noqa: E402
from support.tools import require_tool  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "corpus: reads ../shared/corpus (skipped without it, unless required)")


@pytest.fixture(autouse=True)
def _corpus_present(request: pytest.FixtureRequest) -> None:
    """A test marked ``corpus`` skips without the shared corpus, or fails when AIBPACK_REQUIRE_CORPUS=1."""
    if request.node.get_closest_marker("corpus") is not None:
        require_corpus()


@pytest.fixture(scope="session")
def packer_bin() -> str:
    """Debian's packer; CI (AIBPACK_REQUIRE_TOOLS=1) fails instead of skipping when it is missing."""
    return require_tool("packer")


@pytest.fixture(autouse=True)
def _no_packer_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")


def pytest_report_header() -> list[str]:
    return [
        f"packer: {shutil.which('packer') or 'missing'}",
        f"require tools: {os.environ.get('AIBPACK_REQUIRE_TOOLS', '0')}",
        f"require corpus: {os.environ.get('AIBPACK_REQUIRE_CORPUS', '0')}",
    ]
