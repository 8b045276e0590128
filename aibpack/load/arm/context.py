"""What ARM knows about the deployment (``subscription()``, ``resourceGroup()``), some of it unknown offline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aibpack.load.arm.syntax import ArmError
from aibpack.load.parameters import json_kind


@dataclass(frozen=True)
class DeploymentContext:
    """What ARM knows about the deployment: ``subscription()`` and ``resourceGroup()``.

    aibpack runs offline, so the caller supplies these (``--subscription`` or ``AZURE_SUBSCRIPTION_ID``,
    ``--resource-group``, ``--location``); an expression that needs one that is missing is an error
    telling the user which option to give, never a made-up placeholder value.
    """

    subscription_id: str | None = None
    resource_group: str | None = None
    location: str | None = None
    # compile's stand-ins for unknown fields -> what each stands for and the option that gives it
    assumed: Mapping[str, str] = field(default_factory=dict)
    other_group: bool = False  # a nested deployment's group, not the one the options describe


HINTS = {
    "subscriptionId": "set AZURE_SUBSCRIPTION_ID (run and distribute also take --subscription ID)",
    "name": "pass --resource-group NAME",
    "location": "pass --location LOCATION",
    "other_group_location": "it is the group of a nested deployment; pass the location to it as a parameter",
}
OFFLINE_HINT = "pass the value as a parameter instead (--param)"


class ContextObject:
    """``subscription()``/``resourceGroup()``: fields may be unknown, which is an error only on use."""

    def __init__(self, label: str, fields: dict[str, str | None], needs: dict[str, str]) -> None:
        self.label = label
        self.fields = fields
        self.needs = needs  # field -> the context field it is computed from, for the hint

    def get(self, name: str) -> str:
        key = next((k for k in self.fields if k.lower() == name.lower()), None)
        if key is None:
            raise ArmError(f"{self.label} has no property {name!r} (known: {', '.join(self.fields)})")
        value = self.fields[key]
        if value is None:
            hint = HINTS.get(self.needs.get(key, ""), OFFLINE_HINT)
            raise ArmError(f"{self.label}.{key} is not known offline: {hint}")
        return value

    def plain(self) -> dict[str, str]:
        return {key: self.get(key) for key in self.fields}


def plain(value: object) -> object:
    """A context object used as a whole becomes an ordinary dict (every field must then be known)."""
    return value.plain() if isinstance(value, ContextObject) else value


def member(target: object, key: object) -> object:
    """``target.key`` / ``target[key]``; object property names match case-insensitively, as in ARM."""
    if isinstance(target, ContextObject) and isinstance(key, str):
        return target.get(key)
    if isinstance(target, dict) and isinstance(key, str):
        if key in target:
            return target[key]
        for name, value in target.items():
            if name.lower() == key.lower():
                return value
        raise ArmError(f"the object has no property {key!r}")
    if isinstance(target, list) and isinstance(key, int) and not isinstance(key, bool):
        if not 0 <= key < len(target):
            raise ArmError(f"index {key} is out of range for an array of {len(target)}")
        return target[key]
    raise ArmError(f"cannot index {json_kind(target)} with {json_kind(key)}")
