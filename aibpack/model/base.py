"""The base of every model: camelCase names as in the REST API, snake_case in Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class AibModel(BaseModel):
    """Frozen, camelCase-aliased; unknown keys were already reported (and dropped) by ``normalize``."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        # Build the validator once, for the whole template, on first use (not once per class at import).
        defer_build=True,
    )
