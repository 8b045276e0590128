"""``properties.distribute``: where the built image goes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

from aibpack.model.base import AibModel, constraint, tagged_by

RUN_OUTPUT_NAME = r"^[A-Za-z0-9\-_.]{1,64}$"
StorageAccountType = Literal["Standard_LRS", "Standard_ZRS", "Premium_LRS"]


class _Target(AibModel):
    run_output_name: Annotated[str, constraint(pattern=RUN_OUTPUT_NAME)]
    artifact_tags: dict[str, str] = field(default_factory=dict)


class ManagedImageTarget(_Target):
    type: Literal["ManagedImage"]
    image_id: str
    location: str


class TargetRegion(AibModel):
    name: str
    replica_count: Annotated[int, constraint(ge=1)] = 1
    storage_account_type: StorageAccountType = "Standard_LRS"


class LatestVersioning(AibModel):
    scheme: Literal["Latest"]
    major: Annotated[int, constraint(ge=-1)] = -1


class SourceVersioning(AibModel):
    scheme: Literal["Source"]


Versioning = LatestVersioning | SourceVersioning


class SharedImageTarget(_Target):
    type: Literal["SharedImage"]
    gallery_image_id: str
    target_regions: list[TargetRegion] | None = None
    replication_regions: list[str] | None = None
    storage_account_type: StorageAccountType | None = None
    exclude_from_latest: bool = False
    versioning: Annotated[Versioning, tagged_by("scheme")] | None = None
    replication_mode: Literal["Full", "Shallow"] | None = None


class VhdTarget(_Target):
    type: Literal["VHD"]
    uri: str | None = None


# The regions aibpack adds (the source's, the definition's) get AIB's default replica count: "Omit to use the
# default (1)" (Azure/azure-rest-api-specs imagebuilder.json 2025-10-01, TargetRegion.replicaCount).
ADDED_REGION_REPLICAS = 1


@dataclass(frozen=True)
class VersionRegion:
    """One region of a gallery version: its name, replica count and storage account type."""

    name: str
    replicas: int
    storage_account_type: str


def version_regions(target: SharedImageTarget, added: Sequence[str]) -> list[VersionRegion]:
    """The target's regions (``targetRegions``, else ``replicationRegions``), with each of ``added`` put first, in
    order, when the target lacks it: the version's own region, which Azure requires among its target regions
    ("You need to replicate to the source region", azure-compute-docs image-version.md), and the definition's,
    which AIB kept (image-builder-json.md, "Distribute: sharedImage")."""
    storage = target.storage_account_type or "Standard_LRS"
    if target.target_regions:
        regions = [VersionRegion(r.name, r.replica_count, r.storage_account_type) for r in target.target_regions]
    else:
        regions = [VersionRegion(name, 1, storage) for name in target.replication_regions or []]
    for name in reversed([n for n in added if n]):
        if norm_region(name) not in {norm_region(r.name) for r in regions}:
            regions.insert(0, VersionRegion(name, ADDED_REGION_REPLICAS, storage))
    return regions


def norm_region(name: str) -> str:
    """ARM takes a region by name or display name: "West US" and "westus" are one region."""
    return name.replace(" ", "").lower()


def first_version(versioning: Versioning | None) -> str:
    """The version ``versioning: Latest`` starts at when the definition has none (within ``major`` if given):
    ``<major>.0.0``, ``1.0.0`` with no major, ``0.0.1`` for major 0 (image-builder-json.md, "versioning": "With
    major set to 0, the Latest scheme generates version 0.1.3" from 0.1.2; a version is never 0.0.0)."""
    major = versioning.major if isinstance(versioning, LatestVersioning) else -1
    if major > 0:
        return f"{major}.0.0"
    return "0.0.1" if major == 0 else "1.0.0"


# Tagged by ``type`` where it is used: ``Annotated[Distributor, tagged_by("type")]``.
Distributor = ManagedImageTarget | SharedImageTarget | VhdTarget
