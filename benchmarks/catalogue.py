"""A monthly catalogue run: 6 templates of which 1 changed, against building all 6 one after another.

    python benchmarks/catalogue.py [--delay 0.5] [--build 3]

Every fake ARM long-running operation takes T (--delay) and every fake Packer build B (--build), standing in for
Azure's minutes and Packer's hour. Reports wall time, Packer builds started and ARM requests (with and without
the polls of long-running operations) for:

- sequential: ``aibpack run T --force`` for each template in turn (what rebuilding everything costs);
- catalogue: ``aibpack run T1 … T6`` after one script changed (the other 5 are up to date);
- catalogue --force: all 6 built at once (at most 4 in parallel).

Not a test: it drives the real ``run`` stages and SDK clients against the fake Resource Manager from tests/fakearm
and the fake ``packer`` from tests/run/fakes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakearm import FakeArm, make_ca  # noqa: E402
from fakearm.fixtures import arm_env, install_fake_az  # noqa: E402
from support.run_env import LOCATION, SOURCE, SOURCE_VERSION, image_template  # noqa: E402

from aibpack.pipeline import CompileOptions  # noqa: E402
from aibpack.run import RunOptions, run_all  # noqa: E402

FAKE_PACKER = ROOT / "tests" / "run" / "fakes" / "packer"
NAMES = ("web", "db", "cache", "queue", "build-agent", "bastion")
GROUP = "rg-images"


def write_catalogue(fake: FakeArm, folder: Path) -> list[Path]:
    """Six templates, each with its own script, publishing to its own gallery image definition."""
    fake.add_group(GROUP, LOCATION)
    fake.add_platform_image(*SOURCE, SOURCE_VERSION, generation="V2", location=LOCATION)
    templates = []
    for name in NAMES:
        definition = fake.add_gallery_image(GROUP, "gallery", name, LOCATION)
        (folder / f"{name}.sh").write_text(f"#!/bin/sh\necho {name} v1\n")
        steps = [{"type": "Shell", "name": "setup", "scriptUri": f"{name}.sh"}]
        target = {"type": "SharedImage", "galleryImageId": definition, "runOutputName": name}
        body = image_template(name, customize=steps, distribute=[target])
        path = folder / f"{name}.json"
        path.write_text(json.dumps(body))
        templates.append(path)
    return templates


def options(template: Path, work: Path, force: bool) -> RunOptions:
    return RunOptions(
        template=template,
        compile=CompileOptions(),
        work_dir=work / template.stem,
        auth="cli",  # the fake az signs in for aibpack and for the fake packer alike
        force=force,
    )


def measure(fake: FakeArm, log: Path, runs: list[list[RunOptions]]) -> tuple[float, int, int, int]:
    """Wall time, Packer builds started, ARM requests, ARM requests other than polls, for ``runs`` in turn."""
    fake.clear_requests()
    before = log.read_text().count('"build"') if log.exists() else 0
    start = time.perf_counter()
    for batch in runs:
        reports = run_all(batch, on_line=lambda line: None, parallel=4)
        assert all(r.exit_code == 0 for r in reports), [r.error for r in reports]
    elapsed = time.perf_counter() - start
    builds = log.read_text().count('"build"') - before
    polls = [p for _, p, _ in fake.requests if "/operations/" in p or "/operationresults/" in p]
    return elapsed, builds, len(fake.requests), len(fake.requests) - len(polls)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.5, help="T: seconds every fake LRO takes (default 0.5)")
    parser.add_argument("--build", type=float, default=3.0, help="B: seconds every fake Packer build takes (3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        certs = make_ca(folder / "ca")
        log = folder / "packer-calls.jsonl"
        with FakeArm(certs, lro_delay=args.delay) as fake:
            os.environ.update(arm_env(fake))
            install_fake_az(folder / "az", fake.subscription_id)
            os.environ["PATH"] = f"{folder / 'az'}{os.pathsep}{os.environ.get('PATH', '')}"
            os.environ["AZURE_CONFIG_DIR"] = str(folder / "az" / "azure")
            os.environ.update(
                {
                    "AIBPACK_PACKER": str(FAKE_PACKER),
                    "FAKE_PACKER_LOG": str(log),
                    "FAKE_PACKER_LOCATION": LOCATION,
                    "FAKE_PACKER_SECONDS": str(args.build),
                }
            )
            templates = write_catalogue(fake, folder)
            work = folder / "work"
            results = {
                "sequential (6 x run --force)": measure(fake, log, [[options(t, work, True)] for t in templates]),
            }
            (folder / "db.sh").write_text("#!/bin/sh\necho db v2\n")
            results["catalogue, 1 of 6 changed"] = measure(fake, log, [[options(t, work, False) for t in templates]])
            results["catalogue --force (all 6)"] = measure(fake, log, [[options(t, work, True) for t in templates]])
    print(f"T={args.delay:.2f}s per ARM operation, B={args.build:.2f}s per Packer build")
    print(f"{'':30} {'wall':>8} {'builds':>7} {'ARM requests':>13} {'without polls':>14}")
    for label, (elapsed, builds, requests, calls) in results.items():
        print(f"{label:30} {elapsed:7.2f}s {builds:7d} {requests:13d} {calls:14d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
