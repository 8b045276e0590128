"""The source's OS and generation at compile time: known from the publisher or a step, else a guess compile says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.cli import run
from support.hcl_oracle import source

SUB = "11111111-2222-4333-8444-555555555555"
IMAGE = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/base"


def _compile(tmp_path: Path, src: dict[str, Any], *args: str, customize: list[Any] | None = None) -> tuple[Any, dict]:
    doc = {
        "type": "Microsoft.VirtualMachineImages/imageTemplates",
        "name": "t",
        "location": "westus",
        "properties": {
            "source": src,
            "customize": customize or [],
            "distribute": [
                {
                    "type": "ManagedImage",
                    "imageId": IMAGE.replace("base", "out"),
                    "location": "westus",
                    "runOutputName": "m",
                }
            ],
        },
    }
    template = tmp_path / "t.json"
    template.write_text(json.dumps(doc))
    out = tmp_path / "t.pkr.hcl"
    result = run(["compile", str(template), "-o", str(out), *args])
    return result, source(out.read_text()) if result.code == 0 else {}


def _platform(publisher: str, offer: str, sku: str) -> dict[str, str]:
    return {"type": "PlatformImage", "publisher": publisher, "offer": offer, "sku": sku, "version": "latest"}


@pytest.mark.parametrize(
    ("src", "os", "size"),
    [
        (_platform("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2"), "Linux", "Standard_D2ds_v4"),
        (
            _platform("MicrosoftWindowsServer", "WindowsServer", "2019-datacenter-gensecond"),
            "Windows",
            "Standard_D2ds_v4",
        ),
        (_platform("MicrosoftWindowsServer", "WindowsServer", "2019-Datacenter"), "Windows", "Standard_D1_v2"),
        (_platform("RedHat", "RHEL", "8-lvm-gen2"), "Linux", "Standard_D2ds_v4"),
    ],
)
def test_a_publisher_with_one_os_is_no_guess(tmp_path: Path, src: dict[str, str], os: str, size: str) -> None:
    result, block = _compile(tmp_path, src)
    assert result.code == 0 and "guessed" not in result.err, result.err
    assert (block["os_type"], block["vm_size"]) == (f'"{os}"', f'"{size}"')


def test_sql_server_publishes_ubuntu_too(tmp_path: Path) -> None:
    result, block = _compile(tmp_path, _platform("MicrosoftSQLServer", "sql2019-ubuntupro2004", "enterprise"))
    assert block["os_type"] == '"Linux"'
    assert "guessed Linux from the image's offer and sku (publisher MicrosoftSQLServer has both)" in result.err
    result, block = _compile(tmp_path, _platform("MicrosoftSQLServer", "sql2019-ws2022", "enterprise-gen2"))
    assert (block["os_type"], block["vm_size"]) == ('"Windows"', '"Standard_D2ds_v4"')
    assert "guessed Windows" in result.err


def test_a_custom_image_is_a_guess_unless_os_says(tmp_path: Path) -> None:
    result, block = _compile(tmp_path, {"type": "ManagedImage", "imageId": IMAGE})
    assert block["os_type"] == '"Linux"'
    assert "properties.source.type: compile cannot see a custom image's OS: guessed Linux" in result.err
    result, block = _compile(tmp_path, {"type": "ManagedImage", "imageId": IMAGE}, "--os", "windows")
    assert (block["os_type"], block["communicator"]) == ('"Windows"', '"winrm"')
    assert "guessed" not in result.err
    strict, _ = _compile(tmp_path, {"type": "ManagedImage", "imageId": IMAGE}, "--strict")
    assert strict.code == 2 and "--os Linux|Windows" in strict.err


def test_os_linux_with_a_windows_step_is_an_error(tmp_path: Path) -> None:
    result, _ = _compile(
        tmp_path,
        {"type": "ManagedImage", "imageId": IMAGE},
        "--os",
        "Linux",
        customize=[{"type": "PowerShell", "inline": ["Write-Host hi"]}],
    )
    assert result.code == 2
    assert "properties.customize[0]: a Windows-only step, but the image is Linux" in result.err


def test_a_windows_step_settles_a_custom_image(tmp_path: Path) -> None:
    result, block = _compile(
        tmp_path, {"type": "ManagedImage", "imageId": IMAGE}, customize=[{"type": "WindowsRestart"}]
    )
    assert block["os_type"] == '"Windows"' and "guessed" not in result.err
