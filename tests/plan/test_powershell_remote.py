"""A remote PowerShell ``scriptUri`` runs as AIB runs it: the download's strict error handling stays out of it.

AIB runs it as Packer's powershell provisioner runs a script, ``&'PATH'; exit $LastExitCode`` in a session whose
``$ErrorActionPreference`` is PowerShell's default, so errors AIB tolerates must stay tolerated here too.
No PowerShell runs in these tests: the scopes are read from the compiled lines, brace by brace.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import run
from support.hcl_oracle import decode_literal, provisioners

SCRIPT = "https://example.com/setup.ps1"
CHECKSUM = "ab" * 32


def _template(tmp_path: Path, step: dict) -> Path:
    path = tmp_path / "win.json"
    path.write_text(
        json.dumps(
            {
                "type": "Microsoft.VirtualMachineImages/imageTemplates",
                "apiVersion": "2024-02-01",
                "name": "win",
                "location": "westus2",
                "properties": {
                    "source": {
                        "type": "PlatformImage",
                        "publisher": "MicrosoftWindowsServer",
                        "offer": "WindowsServer",
                        "sku": "2022-datacenter",
                        "version": "latest",
                    },
                    "customize": [step],
                    "distribute": [{"type": "VHD", "runOutputName": "v"}],
                },
            }
        )
    )
    return path


def _inline(tmp_path: Path, step: dict) -> list[str]:
    result = run(["compile", str(_template(tmp_path, step)), "-o", "-"])
    assert result.code == 0, result.err
    kind, body = provisioners(result.out)[0]
    assert kind == "powershell"
    return [decode_literal(line) for line in body["inline"]]


def _depth_before(lines: list[str]) -> list[int]:
    """How many script blocks are open where each line starts (the lines hold no braces in strings)."""
    depths, depth = [], 0
    for line in lines:
        depths.append(depth)
        depth += line.count("{") - line.count("}")
    assert depth == 0
    return depths


@pytest.mark.parametrize("elevated", [False, True])
def test_the_script_runs_with_the_default_error_preference_as_packer_runs_a_script(
    tmp_path: Path, elevated: bool
) -> None:
    step = {"type": "PowerShell", "name": "setup", "scriptUri": SCRIPT, "sha256Checksum": CHECKSUM}
    if elevated:
        step["runElevated"] = True
    lines = _inline(tmp_path, step)
    depths = _depth_before(lines)
    target = '"$env:TEMP\\aibpack-customize-0.ps1"'
    # The download, strict, in a child scope of its own that is closed before the script runs ...
    strict = [i for i, line in enumerate(lines) if "$ErrorActionPreference" in line]
    assert strict and all(depths[i] == 1 for i in strict)
    opened = max(i for i in range(strict[0]) if depths[i] == 0)
    assert lines[opened] == "& {"
    # ... then the script, at the top scope, exactly as Packer's script command runs it.
    assert lines[-2:] == [f"& {target}", "exit $LASTEXITCODE"]
    assert depths[-2:] == [0, 0]
    assert not any("$ErrorActionPreference" in line for line, depth in zip(lines, depths, strict=True) if depth == 0)


def test_a_windows_file_download_is_scoped_too(tmp_path: Path) -> None:
    step = {
        "type": "File",
        "name": "cfg",
        "sourceUri": "https://example.com/app.config",
        "destination": "C:\\app.config",
    }
    lines = _inline(tmp_path, step)
    assert lines[0] == "& {" and lines[-1] == "}"
    assert all(depth == 1 for depth in _depth_before(lines)[1:-1])
