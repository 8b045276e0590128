"""Names for what aibpack creates on its way (the OS disk snapshot, temporary disks and snapshots).

Azure takes 1-80 characters for disks and snapshots, starting with a letter or digit and ending with a letter,
digit or underscore (azure-docs articles/azure-resource-manager/management/resource-name-rules.md,
Microsoft.Compute); some versions of that page allow only letters, digits and underscores for disks, and Packer's
``managed_image_os_disk_snapshot_name`` must match ``^[A-Za-z0-9_]{1,79}$`` (packer-plugin-azure
builder/azure/arm/config.go, ``reSnapshotName``, the same in Packer 1.6.6). Names made here satisfy all of them:
letters, digits and underscores only, at most 79 characters, starting with ``aibpack`` and ending with a role.
"""

from __future__ import annotations

import re

MAX_NAME = 79
PREFIX = "aibpack"
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_]+")


def intermediate_name(base: str, run: str, role: str) -> str:
    """``aibpack_<base>_<run>_<role>``, with ``base`` made safe and cut so that the whole fits ``MAX_NAME``."""
    tail = f"_{_safe(run)}_{_safe(role)}"
    room = MAX_NAME - len(PREFIX) - len(tail) - 1
    middle = _safe(base)[:room].strip("_")
    return f"{PREFIX}_{middle}{tail}" if middle else f"{PREFIX}{tail}"


def _safe(text: str) -> str:
    return _NOT_ALLOWED.sub("_", text).strip("_")
