"""``aibpack schema``: the JSON Schema editors use, generated from the same models compile validates with."""

from __future__ import annotations

import json

from support.cli import run


def test_schema_describes_the_template() -> None:
    result = run(["schema"])
    assert result.code == 0, result.err
    schema = json.loads(result.out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"location", "properties", "identity"} <= set(schema["properties"])
    definitions = schema["$defs"]
    props = definitions["ImageTemplateProperties"]
    assert set(props["required"]) == {"source", "distribute"}
    customize = props["properties"]["customize"]["items"]
    assert set(customize["discriminator"]["mapping"]) == {
        "Shell",
        "PowerShell",
        "File",
        "WindowsRestart",
        "WindowsUpdate",
    }
    vm_profile = definitions["VmProfile"]["properties"]
    assert "osDiskSizeGB" in vm_profile and "vnetConfig" in vm_profile
    assert definitions["ImageTemplateProperties"]["properties"]["buildTimeoutInMinutes"]["maximum"] == 960
