"""secureString parameter values never reach the compiled file: sensitive variables carry them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support.cli import run
from support.hcl_oracle import decode_literal, parse, provisioners

SECRET = "s3cr3t-$PAT-value"
ARM = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "parameters": {"token": {"type": "securestring"}, "sas": {"type": "secureString"}},
    "resources": [
        {
            "type": "Microsoft.VirtualMachineImages/imageTemplates",
            "apiVersion": "2022-07-01",
            "name": "secretive",
            "location": "westus2",
            "properties": {
                "source": {"type": "PlatformImage", "publisher": "Canonical", "offer": "o", "sku": "s"},
                "customize": [
                    {"type": "Shell", "name": "use", "inline": ["[concat('export TOKEN=$', parameters('token'))]"]},
                    {
                        "type": "Shell",
                        "name": "fetch",
                        "scriptUri": "[concat('https://a.blob.core.windows.net/s/x.sh?', parameters('sas'))]",
                    },
                ],
                "distribute": [{"type": "VHD", "runOutputName": "v", "uri": "https://a.blob.core.windows.net/v/i.vhd"}],
            },
        }
    ],
}


def test_secure_values_become_sensitive_variables(tmp_path: Path, packer_bin: str) -> None:
    template = tmp_path / "arm.json"
    template.write_text(json.dumps(ARM), encoding="utf-8")
    out = tmp_path / "out.pkr.hcl"
    result = run(["compile", str(template), "-o", str(out), "-p", f"token={SECRET}", "-p", "sas=sig=SAS%2Ftoken"])
    assert result.code == 0, result.err
    text = out.read_text(encoding="utf-8")
    assert SECRET not in text and "sig=SAS%2Ftoken" not in text
    assert SECRET not in result.err + result.out
    variables = {name: body for item in parse(text)["variable"] for name, body in item.items()}
    for name in ('"secret_1"', '"secret_2"'):
        assert variables[name]["sensitive"] is True and variables[name]["default"] == '""'
    steps = provisioners(text)
    assert decode_literal(steps[0][1]["inline"][0]).startswith("export TOKEN=")
    assert "${var.secret_" in steps[0][1]["inline"][0] and "\\u0024${var.secret_" in steps[0][1]["inline"][0]
    assert "${var.secret_" in steps[1][1]["inline"][0]
    checked = subprocess.run([packer_bin, "validate", out.name], cwd=tmp_path, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
