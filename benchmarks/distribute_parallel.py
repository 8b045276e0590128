"""Distribution time and ARM requests, with every fake Azure operation taking the same time T.

    python benchmarks/distribute_parallel.py [--delay 0.5]

Gallery targets: Azure lets a managed image feed one image version at a time (azure-compute-docs
articles/virtual-machines/image-version.md), so three versions cannot simply run side by side. Two ways keep the
rule: every version from the managed image, one after another; or the first version from the image and the
others from that version, together (what aibpack does). Both are measured for one and three gallery targets.
Managed images in another region (snapshot, CopyStart, image) have no such rule: three should take about the
time of one. Not a test: it drives the real SDK clients against the fake Resource Manager from tests/fakearm, and
exits 1 when aibpack's way is not the faster one or the managed images do not overlap.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakearm import FakeArm, make_ca  # noqa: E402
from fakearm.dist_helpers import make_template, rid, seed_build  # noqa: E402
from fakearm.fixtures import StubCredential, arm_env  # noqa: E402

from aibpack.azure.clients import AzureContext  # noqa: E402
from aibpack.azure.distribute import distribute_all  # noqa: E402

PARALLEL_RATIO = 1.3  # three managed-image copies may take at most this much longer than one


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


def measure(certs: Any, delay: float, kind: str, count: int, from_first_version: bool = True) -> tuple[float, int, int]:
    """Wall time, ARM requests, and ARM requests other than LRO polls."""
    with FakeArm(certs, lro_delay=delay) as fake:
        env = arm_env(fake)
        every = max(delay / 10, 0.01)  # LRO polls and progress reads alike, as with Azure's Retry-After
        ctx = AzureContext(
            StubCredential(),
            fake.subscription_id,
            endpoint=env["AIBPACK_ARM_ENDPOINT"],
            scope=f"{env['AIBPACK_ARM_ENDPOINT']}/.default",
            connection_verify=fake.ca_path,
            polling_interval=every,
            progress_every=every,
            retry_backoff_factor=0.01,
            extra_kwargs={"proxies": {}},
        )
        built = seed_build(fake)
        fake.add_group("rg-gallery", "westus")
        fake.add_group("rg-east", "eastus")
        template = make_template(targets(fake, kind, count))
        fake.clear_requests()
        start = time.perf_counter()
        outputs = distribute_all(ctx, template, built, run_tags={}, run="bench", from_first_version=from_first_version)
        elapsed = time.perf_counter() - start
        assert all(o.succeeded for o in outputs), [o.error for o in outputs]
        polls = [p for _, p, _ in fake.requests if "/operations/" in p or "/operationresults/" in p]
        return elapsed, len(fake.requests), len(fake.requests) - len(polls)


def report(label: str, delay: float, one: tuple[float, int, int], three: tuple[float, int, int]) -> float:
    ratio = three[0] / one[0]
    print(
        f"{label:44} T={delay:.2f}s  1 target: {one[0]:5.2f}s {one[1]:4} requests ({one[2]:3} without polls)"
        f"  3 targets: {three[0]:5.2f}s {three[1]:4} requests ({three[2]:3} without polls)  ratio {ratio:.2f}"
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.5, help="T: seconds every fake operation takes (default 0.5)")
    args = parser.parse_args()
    delay = args.delay
    with tempfile.TemporaryDirectory() as temp:
        certs = make_ca(Path(temp))
        measure(certs, 0.0, "gallery", 1)  # warm-up: imports, first TLS handshakes
        chained = report(
            "gallery, others from the first version",
            delay,
            measure(certs, delay, "gallery", 1),
            measure(certs, delay, "gallery", 3),
        )
        serial = report(
            "gallery, each from the image, one at a time",
            delay,
            measure(certs, delay, "gallery", 1, from_first_version=False),
            measure(certs, delay, "gallery", 3, from_first_version=False),
        )
        copies = report(
            "managed image in another region",
            delay,
            measure(certs, delay, "managed-image-other-region", 1),
            measure(certs, delay, "managed-image-other-region", 3),
        )
    ok = chained < serial and copies <= PARALLEL_RATIO
    print("ok" if ok else "NOT OK: aibpack's gallery order must beat one-at-a-time, and copies must overlap")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
