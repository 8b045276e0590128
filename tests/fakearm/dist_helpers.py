"""Helpers for the distribution tests: seeded sources and templates."""

from __future__ import annotations

from typing import Any

from aibpack.azure.results import Built
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


def seed_build(
    fake: FakeArm, group: str = "IT_build", name: str = "built", location: str = "westus", snapshot: bool = True
) -> Built:
    """What a build leaves: the managed image and, as Packer's managed_image_os_disk_snapshot_name makes it, a full
    snapshot of the OS disk beside it (packer-plugin-azure step_snapshot_os_disk.go: createOption Copy)."""
    image = seed_built_image(fake, group, name, location)
    snapshot_id = None
    if snapshot:
        snapshot_id = fake.add_resource(
            rid(fake, group, f"snapshots/aibpack_{name}_osdisk"),
            {
                "location": location,
                "properties": {
                    "osType": "Linux",
                    "diskSizeGB": 30,
                    "creationData": {"createOption": "Copy", "sourceResourceId": rid(fake, group, "disks/pkros1")},
                },
            },
        )
    return Built(image, location, "Linux", "V2", snapshot_id)


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
