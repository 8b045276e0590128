"""The base of every model: frozen records with snake_case attributes, read from the REST API's camelCase.

The models are plain dataclasses with no generated ``__init__``: pydantic-core fills their instances, through the
validator that ``aibpack.model.validator`` has pydantic build from them (once per installed version). Plain classes
import in microseconds; pydantic's model machinery would cost more than the whole rest of a compile. Annotations
are strings (PEP 563) that pydantic evaluates only when it builds that validator, so the helpers below import
pydantic then and not before.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def api_name(attribute: str) -> str:
    """The REST name of an attribute: ``sha256_checksum`` -> ``sha256Checksum``; ``validate_`` -> ``validate``."""
    head, *rest = attribute.rstrip("_").split("_")
    return head + "".join(part.capitalize() for part in rest)


def constraint(**field_arguments: Any) -> Any:
    """``pydantic.Field(...)`` for ``Annotated`` metadata (``ge``, ``pattern``, an ``alias`` off the pattern)."""
    from pydantic import Field

    return Field(**field_arguments)


def tagged_by(discriminator: str) -> Any:
    """Metadata that makes a union of models a tagged union, picked by the value of ``discriminator``."""
    return constraint(discriminator=discriminator)


class AibModel:
    """Frozen, compared by value; unknown keys were already reported (and dropped) by ``normalize``."""

    # pydantic's ConfigDict, as the plain dict it is.
    __pydantic_config__ = {"alias_generator": api_name, "extra": "forbid"}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(init=False, repr=False, eq=False)(cls)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]  # lists inside: not hashable, like the JSON

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def __setattr__(self, name: str, value: object) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
