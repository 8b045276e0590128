"""Staging stage: the resource group Packer builds in, created and tagged (or the template's, adopted)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from aibpack.errors import AibpackError
from aibpack.pipeline import Compiled

if TYPE_CHECKING:
    from aibpack.azure.clients import AzureContext
    from aibpack.azure.staging import StagingGroup


def _destination_group(compiled: Compiled) -> str:
    from aibpack.model.resource_id import parse_id

    for target in compiled.template.properties.distribute:
        text = getattr(target, "image_id", None) or getattr(target, "gallery_image_id", None)
        if text:
            with contextlib.suppress(ValueError):
                return parse_id(text).resource_group
    return "aibpack"


def staging_stage(ctx: AzureContext, compiled: Compiled, run_id: str) -> StagingGroup:
    """Create (or adopt the template's) staging resource group."""
    from aibpack.azure.staging import prepare_staging

    try:
        return prepare_staging(
            ctx,
            staging_resource_group=compiled.template.properties.staging_resource_group or None,
            destination_group=_destination_group(compiled),
            template_name=compiled.name,
            location=compiled.template.location,
            run_id=run_id,
        )
    except AibpackError as exc:
        raise exc if exc.file else exc.located(compiled.file) from None
