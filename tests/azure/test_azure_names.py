"""Names of what aibpack creates on its way: accepted by Azure and by Packer, however long the image's name."""

from __future__ import annotations

import re

import pytest

from aibpack.azure.names import intermediate_name

# Packer's rule for managed_image_os_disk_snapshot_name (packer-plugin-azure config.go reSnapshotName), stricter than
# Azure's for disks and snapshots (1-80, ending with a letter, digit or underscore).
PACKER_SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9_]{1,79}$")


@pytest.mark.parametrize(
    "base",
    ["golden", "ubuntu-22.04-golden", "x" * 200, "a-" * 50, "--", "ünïcode image", "trailing-"],
)
def test_names_fit_every_rule(base: str) -> None:
    name = intermediate_name(base, "1a2b3c4d", "osdisk")
    assert PACKER_SNAPSHOT_NAME.match(name), name
    assert name.startswith("aibpack") and name.endswith("_1a2b3c4d_osdisk")


def test_short_names_keep_the_image_name() -> None:
    assert intermediate_name("ubuntu-22.04", "r1", "copy") == "aibpack_ubuntu_22_04_r1_copy"
