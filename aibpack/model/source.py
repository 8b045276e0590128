"""``properties.source``: where the build VM's OS disk comes from."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from aibpack.model.base import AibModel, constraint

SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class PlanInfo(AibModel):
    plan_name: str
    plan_product: str
    plan_publisher: str


class PlatformImageSource(AibModel):
    type: Literal["PlatformImage"]
    publisher: str = ""
    offer: str = ""
    sku: str = ""
    version: str = "latest"
    plan_info: PlanInfo | None = None
    exact_version: Annotated[str | None, constraint(description="Read-only; ignored.")] = None


class ManagedImageSource(AibModel):
    type: Literal["ManagedImage"]
    image_id: str


class SharedImageVersionSource(AibModel):
    type: Literal["SharedImageVersion"]
    image_version_id: str
    exact_version: Annotated[str | None, constraint(description="Read-only; ignored.")] = None


class IsoSource(AibModel):
    """The preview-era ISO source: modelled only so that it can be rejected with a clear reason."""

    type: Literal["ISO"]
    source_uri: str = ""
    sha256_checksum: str = ""


# Tagged by ``type`` where it is used: ``Annotated[Source, tagged_by("type")]``.
Source = PlatformImageSource | ManagedImageSource | SharedImageVersionSource | IsoSource


def source_version(source: Source) -> str | None:
    """Versioning Source: the source image's own x.y.z version (image-builder-json.md, "versioning"), if it has one.

    A SharedImageVersion names its version (``exactVersion``, else the ID's last segment); a PlatformImage has
    one when ``version`` is explicit (or ``exactVersion`` says what ``latest`` was).
    """
    candidate = ""
    if isinstance(source, SharedImageVersionSource):
        candidate = source.exact_version or ""
        if not SEMVER.match(candidate):
            candidate = source.image_version_id.rstrip("/").rsplit("/", 1)[-1]
    elif isinstance(source, PlatformImageSource):
        candidate = source.exact_version if source.version.lower() == "latest" and source.exact_version else ""
        candidate = candidate or source.version
    return candidate if SEMVER.match(candidate) else None
