"""Broken templates a user could write: exit 2, one line naming the file and JSON path, nothing written."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.cli import run, run_process
from support.templates import image_template, platform_source

ARM_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
BASE: dict[str, Any] = image_template(
    location="westus2",
    source=platform_source("Canonical", "UbuntuServer", "18.04-LTS", version="latest"),
    customize=[
        {"type": "Shell", "name": "one", "inline": ["echo one"]},
        {"type": "Shell", "name": "two", "inline": ["echo two"]},
        {"type": "Shell", "name": "three", "scriptUri": "https://example.com/s.sh", "sha256Checksum": "a" * 64},
    ],
    distribute=[
        {
            "type": "ManagedImage",
            "runOutputName": "mi",
            "imageId": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/images/img",
            "location": "westus2",
        },
    ],
    apiVersion="2022-07-01",
    name="base",
)


def mutate(change: Callable[[dict[str, Any]], None]) -> str:
    data = copy.deepcopy(BASE)
    change(data)
    return json.dumps(data, indent=2)


def _props(data: dict[str, Any]) -> dict[str, Any]:
    return data["properties"]


def _changed(path: str, value: Any) -> str:
    """BASE with the value at a dotted ``path`` replaced (or deleted with ``_DELETE``), as JSON."""
    return mutate(_set(path, value))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node = data
        for part in parents:
            node = node[part]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return change


_DELETE = object()
GALLERY_IMAGE = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i"

CASES: list[tuple[str, str, str]] = [
    (
        "both-inline-and-script",
        _changed("properties.customize.2.inline", ["x"]),
        "properties.customize[2]",
    ),
    (
        "neither-inline-nor-script",
        _changed("properties.customize.0.inline", _DELETE),
        "properties.customize[0]",
    ),
    (
        "bad-checksum",
        _changed("properties.customize.2.sha256Checksum", "abc"),
        "properties.customize[2].sha256Checksum",
    ),
    ("unknown-step-type", _changed("properties.customize.1.type", "Bash"), "properties.customize[1]"),
    (
        "inline-not-a-list",
        _changed("properties.customize.1.inline", "echo"),
        "properties.customize[1].inline",
    ),
    (
        "inline-line-not-string",
        _changed("properties.customize.1.inline", ["ok", 5]),
        "properties.customize[1].inline[1]",
    ),
    ("no-distribute", _changed("properties.distribute", _DELETE), "properties.distribute"),
    ("empty-distribute", _changed("properties.distribute", []), "properties.distribute"),
    (
        "bad-run-output-name",
        _changed("properties.distribute.0.runOutputName", "has space"),
        "properties.distribute[0].runOutputName",
    ),
    (
        "duplicate-run-output-name",
        mutate(
            lambda d: _props(d)["distribute"].append(
                {"type": "VHD", "runOutputName": "mi", "uri": "https://a.blob.core.windows.net/c/x.vhd"}
            )
        ),
        "properties.distribute[1].runOutputName",
    ),
    (
        "bad-image-id",
        _changed("properties.distribute.0.imageId", "/subscriptions/s1/images/x"),
        "properties.distribute[0].imageId",
    ),
    (
        "timeout-too-long",
        _changed("properties.buildTimeoutInMinutes", 2000),
        "properties.buildTimeoutInMinutes",
    ),
    (
        "timeout-string",
        _changed("properties.buildTimeoutInMinutes", "two hours"),
        "properties.buildTimeoutInMinutes",
    ),
    (
        "run-as-system-without-elevated",
        _changed("properties.customize", [{"type": "PowerShell", "inline": ["x"], "runAsSystem": True}]),
        "properties.customize[0].runAsSystem",
    ),
    (
        "replication-and-target-regions",
        mutate(
            _set(
                "properties.distribute",
                [
                    {
                        "type": "SharedImage",
                        "runOutputName": "sig",
                        "replicationRegions": ["westus2"],
                        "targetRegions": [{"name": "westus2"}],
                        "galleryImageId": GALLERY_IMAGE,
                    }
                ],
            )
        ),
        "properties.distribute[0].replicationRegions",
    ),
    (
        "iso-source",
        mutate(
            _set(
                "properties.source",
                {"type": "ISO", "sourceUri": "https://x/rhel.iso", "sha256Checksum": "b" * 64},
            )
        ),
        "properties.source.type",
    ),
    ("missing-source", _changed("properties.source", _DELETE), "properties.source"),
    ("missing-location", _changed("location", _DELETE), "location"),
    (
        "bad-restart-timeout",
        _changed("properties.customize", [{"type": "WindowsRestart", "restartTimeout": "five minutes"}]),
        "properties.customize[0].restartTimeout",
    ),
    (
        "shell-in-windows-build",
        mutate(lambda d: _props(d)["customize"].append({"type": "WindowsRestart"})),
        "properties.customize[0].type",
    ),
    (
        "file-without-destination",
        _changed("properties.customize", [{"type": "File", "sourceUri": "https://example.com/f"}]),
        "properties.customize[0].destination",
    ),
    (
        "missing-local-script",
        _changed("properties.customize.2.scriptUri", "scripts/missing.sh"),
        "properties.customize[2].scriptUri",
    ),
    ("unresolved-placeholder", _changed("location", "<region>"), "location"),
    (
        "vm-profile-not-an-object",
        _changed("properties.vmProfile", 5),
        "properties.vmProfile: expected an object, got a number",
    ),
    (
        "null-source",
        _changed("properties.source", None),
        "properties.source: missing required property",
    ),
    (
        "vnet-config-as-array",
        _changed("properties.vmProfile", {"vnetConfig": []}),
        "properties.vmProfile.vnetConfig: expected an object, got an array",
    ),
    ("bad-json", '{"properties": {"source": }', "invalid JSON at line 1 column 27"),
    ("not-a-template", json.dumps({"hello": "world"}), ""),
    (
        "target-regions-bad-replica",
        mutate(
            _set(
                "properties.distribute",
                [
                    {
                        "type": "SharedImage",
                        "runOutputName": "sig",
                        "targetRegions": [{"name": "x", "replicaCount": 0}],
                        "galleryImageId": GALLERY_IMAGE,
                    }
                ],
            )
        ),
        "properties.distribute[0].targetRegions[0].replicaCount",
    ),
    (
        "bad-storage-type",
        mutate(
            _set(
                "properties.distribute",
                [
                    {
                        "type": "SharedImage",
                        "runOutputName": "sig",
                        "targetRegions": [{"name": "x", "storageAccountType": "Fast"}],
                        "galleryImageId": GALLERY_IMAGE,
                    }
                ],
            )
        ),
        "properties.distribute[0].targetRegions[0].storageAccountType",
    ),
    (
        "unsupported-uri-scheme",
        _changed("properties.customize.2.scriptUri", "ftp://example.com/s.sh"),
        "properties.customize[2].scriptUri",
    ),
]


@pytest.mark.parametrize(("name", "text", "path"), CASES, ids=[c[0] for c in CASES])
def test_broken_template_fails_cleanly(name: str, text: str, path: str, tmp_path: Path) -> None:
    template = tmp_path / f"{name}.json"
    template.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = run(["compile", str(template), "-o", str(out)])
    assert result.code == 2, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.err
    assert errors[0].startswith(f"error: {template}: {path}"), errors[0]
    assert "Traceback" not in result.err
    assert not out.exists() or not any(out.iterdir())


def test_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20


def test_no_traceback_from_a_real_process(tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(_changed("properties.customize.0.inline", 7), encoding="utf-8")
    result = run_process(["compile", str(template), "-o", str(tmp_path / "out")])
    assert result.code == 2
    assert result.err.strip().startswith(f"error: {template}: properties.customize[0].inline")
    assert "Traceback" not in result.err


def test_one_bad_template_does_not_stop_the_others(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    bad = tmp_path / "bad.json"
    good.write_text(json.dumps(BASE), encoding="utf-8")
    bad.write_text(_changed("location", _DELETE), encoding="utf-8")
    result = run(["compile", str(bad), str(good), "-o", str(tmp_path / "out")])
    assert result.code == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["base.pkr.hcl", "packer-plugins.pkr.hcl"]


@pytest.mark.parametrize(
    ("where", "name", "meant"),
    [
        ("properties.distribute.0", "aritfactTags", "artifactTags"),
        ("properties", "customise", "customize"),
        ("properties", "vmProfil", "vmProfile"),
    ],
)
def test_a_misspelt_property_is_an_error(tmp_path: Path, where: str, name: str, meant: str) -> None:
    template = tmp_path / "t.json"
    template.write_text(_changed(f"{where}.{name}", {"a": "b"}), encoding="utf-8")
    result = run(["compile", str(template), "-o", str(tmp_path / "out")])
    assert result.code == 2
    assert result.err.splitlines() == [
        f"error: {template}: {where.replace('.0', '[0]')}.{name}: unknown property '{name}': did you mean '{meant}'? "
        "(AIB would ignore it and build without it)"
    ]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_unknown_property_like_no_other_warns_and_strict_fails(tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(_changed("properties.futureFeature", {"a": "b"}), encoding="utf-8")
    result = run(["compile", str(template), "-o", str(tmp_path / "out")])
    assert result.code == 0
    assert f"warning: {template}: properties.futureFeature: unknown property 'futureFeature'; ignored" in result.err
    strict = run(["compile", str(template), "-o", str(tmp_path / "strict"), "--strict"])
    assert strict.code == 2 and "futureFeature" in strict.err


def test_unwritable_output_is_a_clean_error(tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(json.dumps(BASE), encoding="utf-8")
    (tmp_path / "a-file").write_text("")
    result = run(["compile", str(template), "-o", str(tmp_path / "a-file" / "out")])
    assert result.code == 2
    assert result.err.startswith(f"error: {template}: cannot write ")
    assert "Traceback" not in result.err and "internal error" not in result.err


ARM_WITH_CONTEXT = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "parameters": {"location": {"type": "string", "defaultValue": "[resourceGroup().location]"}},
    "resources": [
        {
            **{k: v for k, v in BASE.items() if k != "location"},
            "location": "[parameters('location')]",
            "properties": {
                **BASE["properties"],
                "distribute": [
                    {
                        "type": "SharedImage",
                        "runOutputName": "sig",
                        "galleryImageId": "[resourceId('Microsoft.Compute/galleries/images', 'g', 'i')]",
                    }
                ],
            },
        }
    ],
}


def test_unknown_deployment_context_is_assumed_with_warnings_by_compile(tmp_path: Path) -> None:
    template = tmp_path / "arm.json"
    template.write_text(json.dumps(ARM_WITH_CONTEXT), encoding="utf-8")
    result = run(["compile", str(template), "-o", str(tmp_path / "out")])
    assert result.code == 0, result.err
    assert "resourceGroup().location is not known offline; assumed 'aibpack-location' (pass --location" in result.err
    assert "subscription() is not known offline" in result.err and "resourceGroup().name" in result.err
    given = run(
        ["compile", str(template), "-o", str(tmp_path / "given"), "--resource-group", "rg1", "--location", "westus2"],
    )
    assert "not known offline" not in given.err.replace("subscription() is not known offline", "")
    text = (tmp_path / "given" / "base.pkr.hcl").read_text(encoding="utf-8")
    assert 'default     = "westus2"' in text
    strict = run(["compile", str(template), "-o", str(tmp_path / "strict"), "--strict"])
    assert strict.code == 2 and "--strict" in strict.err


@pytest.mark.parametrize("depth", [150, 100_000])
def test_json_nested_too_deep_is_one_line_exit_2(tmp_path: Path, depth: int) -> None:
    template = tmp_path / "deep.json"
    template.write_text('{"a":' * depth + "1" + "}" * depth, encoding="utf-8")
    result = run_process(["compile", str(template), "-o", "-"])
    assert result.code == 2
    assert result.err.splitlines() == [
        f"error: {template}: invalid template: nested more than 100 levels deep (no image template needs that)"
    ]


def test_a_parameter_nested_too_deep_is_one_line_exit_2(tmp_path: Path) -> None:
    template = tmp_path / "arm.json"
    resource = json.loads(json.dumps(BASE))
    resource.update(apiVersion="2022-07-01", name="t")
    resource["properties"]["customize"] = [{"type": "Shell", "inline": ["[string(parameters('x'))]"]}]
    template.write_text(
        json.dumps({"$schema": ARM_SCHEMA, "parameters": {"x": {"type": "array"}}, "resources": [resource]}),
        encoding="utf-8",
    )
    result = run_process(["compile", str(template), "-o", "-", "-p", "x=" + "[" * 5000 + "]" * 5000])
    assert result.code == 2
    assert result.err.splitlines() == [
        f"error: {template}: invalid template: a value or an ARM expression nests more deeply than aibpack can follow"
    ]
