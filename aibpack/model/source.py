"""``properties.source``: where the build VM's OS disk comes from."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from aibpack.model.base import AibModel


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
    exact_version: str | None = Field(default=None, description="Read-only; ignored.")


class ManagedImageSource(AibModel):
    type: Literal["ManagedImage"]
    image_id: str


class SharedImageVersionSource(AibModel):
    type: Literal["SharedImageVersion"]
    image_version_id: str
    exact_version: str | None = Field(default=None, description="Read-only; ignored.")


class IsoSource(AibModel):
    """The preview-era ISO source: modelled only so that it can be rejected with a clear reason."""

    type: Literal["ISO"]
    source_uri: str = ""
    sha256_checksum: str = ""


Source = Annotated[
    PlatformImageSource | ManagedImageSource | SharedImageVersionSource | IsoSource,
    Field(discriminator="type"),
]
