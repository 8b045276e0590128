"""The models as values: frozen, compared by value, named in the API's camelCase, defaults filled in."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from support.templates import image_template, platform_source

from aibpack.errors import Diagnostics
from aibpack.model import ImageTemplate, parse_template
from aibpack.model.base import api_name
from aibpack.model.customize import ShellStep
from aibpack.model.template import ErrorHandling, VmProfile

RESOURCE: dict[str, Any] = image_template(
    location="westeurope",
    source=platform_source(),
    customize=[{"type": "Shell", "name": "hello", "inline": ["echo hello"]}],
    distribute=[{"type": "VHD", "runOutputName": "vhd"}],
    apiVersion="2024-02-01",
)


def _parse() -> ImageTemplate:
    return parse_template(RESOURCE, Diagnostics(strict=True))


@pytest.mark.parametrize(
    ("attribute", "name"),
    [
        ("sha256_checksum", "sha256Checksum"),
        ("in_vm", "inVm"),
        ("validate_", "validate"),
        ("location", "location"),
        ("container_instance_subnet_id", "containerInstanceSubnetId"),
    ],
)
def test_api_name(attribute: str, name: str) -> None:
    assert api_name(attribute) == name


def test_models_are_frozen() -> None:
    template = _parse()
    with pytest.raises(dataclasses.FrozenInstanceError):
        template.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del template.properties.customize[0].name  # type: ignore[misc]


def test_models_compare_by_value() -> None:
    first, second = _parse(), _parse()
    assert first == second and first is not second
    assert first.properties.customize[0] != first.properties.distribute[0]


def test_absent_objects_hold_their_defaults() -> None:
    props = _parse().properties
    assert (
        props.error_handling
        == parse_template(
            {**RESOURCE, "properties": {**RESOURCE["properties"], "errorHandling": {}}}, Diagnostics(strict=True)
        ).properties.error_handling
    )
    assert isinstance(props.error_handling, ErrorHandling)
    assert props.error_handling.on_customizer_error == "cleanup"
    assert isinstance(props.vm_profile, VmProfile)
    assert props.vm_profile.user_assigned_identities == []


def test_repr_names_the_model_and_every_field() -> None:
    step = _parse().properties.customize[0]
    assert isinstance(step, ShellStep)
    assert repr(step) == (
        "ShellStep(name='hello', script_uri=None, inline=['echo hello'], sha256_checksum='', type='Shell')"
    )


def test_null_is_absent_as_in_any_azure_put() -> None:
    properties = {**RESOURCE["properties"], "errorHandling": None, "vmProfile": {"vmSize": None}}
    template = parse_template({**RESOURCE, "tags": None, "properties": properties}, Diagnostics(strict=True))
    assert template == _parse()
    tagged = parse_template({**RESOURCE, "tags": {"a": "1", "b": None}}, Diagnostics(strict=True))
    assert tagged.tags == {"a": "1"}
