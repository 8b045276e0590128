"""A gallery-only ``aibpack run``: published straight from the build VM (Packer >= 1.7) against the managed-image
route (what Packer 1.6.6 must do), with every fake ARM operation taking the same time T.

    python benchmarks/gallery_direct.py [--delay 0.5] [--targets 1] [--repeat 5]

Not a test: it runs the whole ``run`` (compile, check, staging group, the fake ``packer`` that behaves as the azure
plugin v2, distribution, cleanup) against the fake Resource Manager from tests/fakearm, and prints the wall time,
the ARM requests (all of them, Packer's included) and the long-running operations of each route.
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
from fakearm.fixtures import FAKE_USER, StubCredential, arm_env, install_fake_az  # noqa: E402
from support.run_env import FAKE_PACKER  # noqa: E402
from support.templates import image_template, platform_source  # noqa: E402

from aibpack.pipeline import CompileOptions  # noqa: E402
from aibpack.run import RunOptions, run  # noqa: E402

ROUTES = {"gallery-direct": "1.11.2", "managed-image": "1.6.6"}  # the fake packer's version picks the route
PATH = os.environ.get("PATH", "")


def template(directory: Path, fake: FakeArm, targets: int) -> Path:
    distribute = []
    for index in range(targets):
        definition = fake.add_gallery_image("rg-images", "gal", f"img{index}", "westus")
        regions = [{"name": "westus"}, {"name": "eastus"}]
        distribute.append(
            {
                "type": "SharedImage",
                "galleryImageId": definition,
                "runOutputName": f"sig{index}",
                "targetRegions": regions,
            }
        )
    body = image_template(
        location="westus",
        source=platform_source(sku="s-gen2"),
        customize=[{"type": "Shell", "name": "hello", "inline": ["echo hello"]}],
        distribute=distribute,
        name="bench",
    )
    path = directory / "bench.json"
    path.write_text(json.dumps(body))
    return path


def measure(certs: object, delay: float, route: str, targets: int) -> tuple[float, int, int, int]:
    """Wall time, ARM requests (most of them polls and progress reads, so they follow the poll interval), the
    writes among them (PUT, PATCH, POST, DELETE: what the route does), and long-running operations started."""
    with tempfile.TemporaryDirectory() as temp, FakeArm(certs, lro_delay=delay) as fake:  # type: ignore[arg-type]
        env = arm_env(fake)
        os.environ.update(env)
        os.environ["FAKE_PACKER_VERSION"] = ROUTES[route]
        # Signed in with `az login` (the fake az), as run and Packer then both are: --auth cli.
        fake.directory.add_user(FAKE_USER)
        az = Path(temp) / "az"
        install_fake_az(az, fake.subscription_id)
        os.environ["PATH"] = f"{az}{os.pathsep}{PATH}"
        os.environ["AZURE_CONFIG_DIR"] = str(az / "azure")
        fake.add_group("rg-images", "westus")
        fake.add_platform_image("Canonical", "o", "s-gen2", "1.0.0", generation="V2", location="westus")
        path = template(Path(temp), fake, targets)
        options = RunOptions(
            template=path,
            compile=CompileOptions(),
            work_dir=Path(temp) / "work",
            packer=str(FAKE_PACKER),
            auth="cli",
            credential=StubCredential(),
            environ=dict(os.environ),
        )
        fake.clear_requests()
        start = time.perf_counter()
        report = run(options, on_line=lambda line: None)
        elapsed = time.perf_counter() - start
        assert report.status == "Succeeded", report.error
        requests = fake.requests
        writes = [method for method, _, _ in requests if method in ("PUT", "PATCH", "POST", "DELETE")]
        return elapsed, len(requests), len(writes), fake.operations_started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.5, help="T: seconds every fake LRO takes (default 0.5)")
    parser.add_argument("--targets", type=int, default=1, help="gallery targets in the template (default 1)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per route; the median time counts (default 5)")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as temp:
        certs = make_ca(Path(temp))
        measure(certs, 0.0, "gallery-direct", 1)  # warm-up: imports, caches, first TLS handshakes
        for route in ROUTES:
            runs = sorted(measure(certs, args.delay, route, args.targets) for _ in range(args.repeat))
            results[route] = runs[len(runs) // 2]
    for route, (elapsed, requests, writes, operations) in results.items():
        print(
            f"{route:15} T={args.delay:.2f}s  {args.targets} gallery target(s): median {elapsed:5.2f}s, "
            f"{requests} ARM requests ({writes} writes), {operations} long-running operations"
        )
    direct, managed = results["gallery-direct"], results["managed-image"]
    print(
        f"gallery-direct saves {managed[0] - direct[0]:.2f}s ({(managed[0] - direct[0]) / args.delay:.1f} T), "
        f"{managed[2] - direct[2]} writes, {managed[3] - direct[3]} operations"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
