"""Helpers for the distribution tests: seeded sources and templates."""

from __future__ import annotations

from typing import Any

from aibpack.errors import Diagnostics
from aibpack.model import ImageTemplate, parse_template

from .server import FakeArm


def sub_id(fake: FakeArm) -> str:
    return fake.subscription_id


def rid(fake: FakeArm, group: str, tail: str = "") -> str:
    base = f"/subscriptions/{fake.subscription_id}/resourceGroups/{group}"
    return f"{base}/providers/Microsoft.Compute/{tail}" if tail else base


def seed_built_image(fake: FakeArm, group: str = "IT_build", name: str = "built", location: str = "westus") -> str:
    """A resource group and the managed image Packer would have left in it."""
    fake.add_group(group, location)
    return fake.add_resource(
        rid(fake, group, f"images/{name}"),
        {
            "location": location,
            "properties": {
                "hyperVGeneration": "V2",
                "storageProfile": {"osDisk": {"osType": "Linux", "osState": "Generalized", "diskSizeGB": 30}},
            },
        },
    )


def make_template(distribute: list[dict[str, Any]], **properties: Any) -> ImageTemplate:
    source = properties.pop(
        "source",
        {"type": "PlatformImage", "publisher": "Canonical", "offer": "ubuntu", "sku": "22_04", "version": "latest"},
    )
    return parse_template(
        {
            "type": "Microsoft.VirtualMachineImages/imageTemplates",
            "name": "tpl",
            "location": "westus",
            "properties": {"source": source, "distribute": distribute, **properties},
        },
        Diagnostics(strict=True),
    )
