"""Compile overhead, measured against plain Python (not a test: run it, read the numbers).

1. One ``aibpack compile`` process vs ``python -c "import pydantic, jinja2, click"``: medians of interleaved
   runs; the target is a ratio of at most 1.6.
2. 100 templates in one call vs 1: the cost per extra template after start-up; the target is at most 5 ms.

Both use a warm cache (``XDG_CACHE_HOME`` in a temporary folder), as every run after the first does. The first
run's cost, with an empty cache (pydantic builds the validator, jinja compiles the template), is reported too.

Usage: python benchmarks/compile_speed.py [--runs N]. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "linux-gallery.json"
AIBPACK = [sys.executable, "-m", "aibpack"]
BASELINE = [sys.executable, "-c", "import pydantic, jinja2, click"]


def _time(command: list[str], cwd: Path, cache: Path) -> float:
    # Measure this checkout, not an installed copy.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(cache)}
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _catalogue(directory: Path, count: int) -> list[Path]:
    """``count`` distinct templates: the example under other names, its local script beside them."""
    shutil.copytree(EXAMPLE.parent / "scripts", directory / "scripts", dirs_exist_ok=True)
    text = EXAMPLE.read_text(encoding="utf-8")
    files = []
    for index in range(count):
        file = directory / f"t{index:03d}.json"
        file.write_text(text.replace('"name": "ubuntu2204-golden"', f'"name": "golden-{index:03d}"'))
        files.append(file)
    return files


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        one = _catalogue(work / "one", 1)
        many = _catalogue(work / "many", 100)
        compile_one = [*AIBPACK, "compile", str(one[0]), "-o", str(work / "out1")]
        compile_many = [*AIBPACK, "compile", *map(str, many), "-o", str(work / "out100")]
        cache = work / "cache"
        for command in (BASELINE, compile_one, compile_many):  # warm the caches
            _time(command, work, cache)
        base, single, hundred, cold = [], [], [], []
        for run in range(args.runs):  # interleaved, so drift hits all four alike
            base.append(_time(BASELINE, work, cache))
            single.append(_time(compile_one, work, cache))
            hundred.append(_time(compile_many, work, cache))
            cold.append(_time(compile_one, work, work / f"empty-cache-{run}"))
    result = {
        "runs": args.runs,
        "baseline_import_median_s": round(statistics.median(base), 4),
        "compile_one_median_s": round(statistics.median(single), 4),
        "compile_100_median_s": round(statistics.median(hundred), 4),
        "compile_one_empty_cache_median_s": round(statistics.median(cold), 4),
    }
    result["ratio_one_vs_baseline"] = round(result["compile_one_median_s"] / result["baseline_import_median_s"], 3)
    per_template = (statistics.median(hundred) - statistics.median(single)) / 99
    result["ms_per_extra_template"] = round(per_template * 1000, 2)
    print(json.dumps(result, indent=2))
    ok = result["ratio_one_vs_baseline"] <= 1.6 and result["ms_per_extra_template"] <= 5.0
    print("targets met" if ok else "TARGET MISSED: ratio <= 1.6 and <= 5 ms per template")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
