"""Image templates as tests write them: one builder, so each test states only what it is about."""

from __future__ import annotations

from typing import Any

TEMPLATE_TYPE = "Microsoft.VirtualMachineImages/imageTemplates"


def platform_source(publisher: str = "Canonical", offer: str = "o", sku: str = "s", **extra: str) -> dict[str, Any]:
    return {"type": "PlatformImage", "publisher": publisher, "offer": offer, "sku": sku, **extra}


def image_template(
    *,
    location: str,
    source: dict[str, Any],
    customize: list[dict[str, Any]],
    distribute: list[dict[str, Any]],
    **top: Any,
) -> dict[str, Any]:
    """A bare image template resource; ``top`` adds top-level fields (``name``, ``apiVersion``, ...)."""
    return {
        "type": TEMPLATE_TYPE,
        **top,
        "location": location,
        "properties": {"source": source, "customize": customize, "distribute": distribute},
    }
