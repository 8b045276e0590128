"""``properties.source``: where the build VM's OS disk comes from."""

from __future__ import annotations

from typing import Annotated, Literal

from aibpack.model.base import AibModel, constraint


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
