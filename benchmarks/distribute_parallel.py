"""Distribution parallelism: with every fake ARM operation taking the same time T, three targets should take
at most 1.3x the time of one. Also prints the number of ARM requests per target and per run.

    python benchmarks/distribute_parallel.py [--delay 0.5]

Not a test: it drives the real SDK clients against the fake Resource Manager from tests/fakearm.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakearm import FakeArm, make_ca  # noqa: E402
from fakearm.dist_helpers import make_template, rid, seed_built_image  # noqa: E402
from fakearm.fixtures import StubCredential, arm_env  # noqa: E402

from aibpack.azure.clients import AzureContext  # noqa: E402
from aibpack.azure.distribute import distribute_all  # noqa: E402


def targets(fake: FakeArm, kind: str, count: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(count):
        if kind == "gallery":
            definition = fake.add_gallery_image("rg-gallery", "g", f"img{i}", location="westus")
            out.append({"type": "SharedImage", "galleryImageId": definition, "runOutputName": f"sig{i}"})
        else:
            image_id = rid(fake, "rg-east", f"images/copy{i}")
            out.append({"type": "ManagedImage", "imageId": image_id, "location": "eastus", "runOutputName": f"m{i}"})
    return out


def measure(certs: object, delay: float, kind: str, count: int) -> tuple[float, int, int]:
    """Wall time, ARM requests, and ARM requests other than LRO polls."""
    with FakeArm(certs, lro_delay=delay) as fake:  # type: ignore[arg-type]
        env = arm_env(fake)
        ctx = AzureContext(
            StubCredential(),
            fake.subscription_id,
            endpoint=env["AIBPACK_ARM_ENDPOINT"],
            scope=f"{env['AIBPACK_ARM_ENDPOINT']}/.default",
            connection_verify=fake.ca_path,
            polling_interval=0.01,
            retry_backoff_factor=0.01,
            extra_kwargs={"proxies": {}},
        )
        built = seed_built_image(fake)
        fake.add_group("rg-gallery", "westus")
        fake.add_group("rg-east", "eastus")
        template = make_template(targets(fake, kind, count))
        fake.clear_requests()
        start = time.perf_counter()
        outputs = distribute_all(ctx, template, built, build_location="westus", run_tags={})
        elapsed = time.perf_counter() - start
        assert all(o.succeeded for o in outputs), [o.error for o in outputs]
        polls = [p for _, p, _ in fake.requests if "/operations/" in p or "/operationresults/" in p]
        return elapsed, len(fake.requests), len(fake.requests) - len(polls)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.5, help="T: seconds every fake LRO takes (default 0.5)")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as temp:
        certs = make_ca(Path(temp))
        measure(certs, 0.0, "gallery", 1)  # warm-up: imports, first TLS handshakes
        for kind in ("gallery", "managed-image-other-region"):
            one, requests_one, calls_one = measure(certs, args.delay, kind, 1)
            three, requests_three, calls_three = measure(certs, args.delay, kind, 3)
            ratio = three / one
            ok &= ratio <= 1.3
            print(
                f"{kind:27} T={args.delay:.2f}s  1 target: {one:5.2f}s, {requests_one} requests "
                f"({calls_one} without polls)  3 targets: {three:5.2f}s, {requests_three} requests "
                f"({calls_three} without polls, {calls_three / 3:.0f}/target)  "
                f"ratio {ratio:.2f} {'ok' if ratio <= 1.3 else 'TOO SLOW'}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
