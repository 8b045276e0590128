"""The real image templates in ../shared/corpus and the values a user passes to compile them."""

from __future__ import annotations

import json
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
CORPUS = TESTS.parent.parent / "shared" / "corpus"
VALUES = json.loads((TESTS / "data" / "corpus_values.json").read_text(encoding="utf-8"))


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.json"))


def compile_args(file: Path) -> list[str]:
    """``--set``/``--param`` options for one corpus file."""
    values = VALUES[file.name]
    args: list[str] = []
    for name, value in values.get("set", {}).items():
        args += ["--set", f"{name}={value}"]
    for name, value in values.get("params", {}).items():
        args += ["--param", f"{name}={value if isinstance(value, str) else json.dumps(value)}"]
    return args
