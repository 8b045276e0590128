"""Round trip: import old provisioners into an image template, compile it; the same commands run."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

from legacy.legacy_support import DATA, provisioner_bodies
from support.cli import run
from support.hcl_oracle import decode_go_template
from support.templates import platform_source

TEMPLATE = {
    "type": "Microsoft.VirtualMachineImages/imageTemplates",
    "apiVersion": "2022-02-14",
    "location": "westeurope",
    "properties": {
        "source": platform_source("Canonical", "UbuntuServer", "18.04-LTS", version="latest"),
        "customize": [{"type": "Shell", "name": "first", "inline": ["echo first"]}],
        "distribute": [
            {
                "type": "ManagedImage",
                "imageId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
                "Microsoft.Compute/images/img",
                "location": "westeurope",
                "runOutputName": "img",
            }
        ],
    },
}


def test_import_merge_compile(tmp_path: Path) -> None:
    shutil.copytree(DATA / "ubuntu-2019", tmp_path / "ubuntu-2019")
    template = tmp_path / "image.json"
    template.write_text(json.dumps(TEMPLATE))
    imported = run(["import", str(tmp_path / "ubuntu-2019" / "ubuntu-1804.json"), "--into", str(template)])
    assert imported.code == 0, imported.err
    steps = json.loads(template.read_text())["properties"]["customize"][1:]
    out = tmp_path / "out"
    compiled = run(["compile", str(template), "-o", str(out)])
    assert compiled.code == 0, compiled.err
    text = "\n".join(p.read_text() for p in out.glob("*.pkr.hcl"))
    # what reaches the VM: Packer renders the Go-template escapes aibpack wrote
    inline = [decode_go_template(line) for _, body in provisioner_bodies(text) for line in body.get("inline", [])]
    # lines holding "{{" travel base64-encoded (Packer's shell provisioner cannot carry them)
    inline += [
        script_line
        for line in inline
        if line.startswith("echo ") and " | base64 -d > " in line
        for script_line in base64.b64decode(line.split()[1]).decode().splitlines()
    ]
    for step in steps:
        for line in step.get("inline", []):
            assert line in inline
