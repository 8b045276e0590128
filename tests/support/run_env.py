"""Helpers for the ``aibpack run`` tests (a module, not conftest, so tests can import it)."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakearm import FakeArm

from support import templates

FAKE_PACKER = Path(__file__).resolve().parent.parent / "run" / "fakes" / "packer"
DEST_GROUP = "rg-images"
LOCATION = "westus"
# The marketplace image the default template builds from (Ubuntu 24.04's "server" SKU is Gen2), and the version the
# fake's catalogue lists at first.
SOURCE = ("Canonical", "ubuntu-24_04-lts", "server")
SOURCE_VERSION = "24.04.202501010"


def image_template(
    name: str,
    *,
    customize: list[dict[str, Any]],
    distribute: list[dict[str, Any]],
    version: str = "latest",
    **properties: Any,
) -> dict[str, Any]:
    """A bare image template building from ``SOURCE`` (at ``version``) in ``LOCATION``."""
    publisher, offer, sku = SOURCE
    source = templates.platform_source(publisher, offer, sku, version=version)
    body = templates.image_template(
        location=LOCATION, source=source, customize=customize, distribute=distribute, name=name
    )
    body["properties"].update(properties)
    return body


@dataclass
class RunEnv:
    """Everything a run test needs: the fake, where things go, and the fake packer's call log."""

    fake: FakeArm
    tmp: Path
    packer_log: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def sub(self) -> str:
        return self.fake.subscription_id

    def image_id(self, name: str = "golden", group: str = DEST_GROUP) -> str:
        return f"/subscriptions/{self.sub}/resourceGroups/{group}/providers/Microsoft.Compute/images/{name}"

    def gallery_image_id(self, gallery: str = "gal", image: str = "ubuntu", group: str = DEST_GROUP) -> str:
        return (
            f"/subscriptions/{self.sub}/resourceGroups/{group}/providers/Microsoft.Compute/galleries/"
            f"{gallery}/images/{image}"
        )

    def managed_target(self, run_output_name: str = "mi") -> dict[str, Any]:
        """A ManagedImage target in the build's region: Packer writes it itself."""
        return {
            "type": "ManagedImage",
            "imageId": self.image_id(),
            "location": LOCATION,
            "runOutputName": run_output_name,
        }

    def gallery_target(self, run_output_name: str = "sig", **extra: Any) -> dict[str, Any]:
        return {
            "type": "SharedImage",
            "galleryImageId": self.gallery_image_id(),
            "runOutputName": run_output_name,
            **extra,
        }

    def template(
        self,
        *,
        customize: list[dict[str, Any]] | None = None,
        distribute: list[dict[str, Any]] | None = None,
        timeout: int = 0,
        name: str = "golden",
        **properties: Any,
    ) -> Path:
        """Write a bare image template; by default one ManagedImage target in the build's location."""
        managed = {
            "type": "ManagedImage",
            "imageId": self.image_id(name),
            "location": LOCATION,
            "runOutputName": "managed",
        }
        body = image_template(
            name,
            customize=customize or [{"type": "Shell", "name": "hello", "inline": ["echo hello"]}],
            distribute=distribute or [managed],
            buildTimeoutInMinutes=timeout,
            **properties,
        )
        path = self.tmp / f"{name}.json"
        path.write_text(json.dumps(body, indent=2))
        return path

    def mode(self, mode: str) -> None:
        self.monkeypatch.setenv("FAKE_PACKER_MODE", mode)

    def packer_calls(self) -> list[dict[str, Any]]:
        if not self.packer_log.exists():
            return []
        return [json.loads(line) for line in self.packer_log.read_text().splitlines()]

    def builds(self) -> list[dict[str, Any]]:
        return [c for c in self.packer_calls() if c["argv"][:1] == ["build"]]

    def writes(self) -> list[tuple[str, str, int]]:
        return [r for r in self.fake.requests if r[0] in ("PUT", "PATCH", "DELETE", "POST")]

    def staging_groups(self) -> list[str]:
        return [name for name, tags in self.fake.resource_groups().items() if tags.get("createdBy") == "aibpack"]

    def process_env(self) -> dict[str, str]:
        """The environment for ``python -m aibpack`` as a subprocess (a copy of what monkeypatch set)."""
        return dict(os.environ)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class FileServer:
    root: Path
    port: int

    def add(self, name: str, content: bytes) -> tuple[str, str]:
        """Serve ``content`` as ``/name``; returns (URL, sha256)."""
        (self.root / name).write_bytes(content)
        return f"http://127.0.0.1:{self.port}/{name}", hashlib.sha256(content).hexdigest()
