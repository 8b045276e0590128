"""A template using every property of the 2025-10-01 spec compiles faithfully and Packer accepts it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.cli import run
from support.hcl_oracle import decode_literal, provisioners, shell_lines, source

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "templates" / "every-property.json"


def test_every_property_compiles_and_validates(tmp_path: Path, packer_bin: str) -> None:
    result = run(["compile", str(TEMPLATE), "-o", str(tmp_path)])
    assert result.code == 0, result.err
    # Properties with no Packer meaning are named, never dropped silently.
    assert "properties.optimize.vmBoot: AIB's image optimization has no Packer equivalent" in result.err
    assert "properties.vmProfile.vnetConfig.containerInstanceSubnetId: the build VM gets no public IP" in result.err
    assert "properties.validate.continueDistributeOnFailure: not honoured" in result.err
    assert "properties.errorHandling.onValidationError: Packer has one -on-error" in result.err
    text = (tmp_path / "every-prop.pkr.hcl").read_text(encoding="utf-8")
    src = source(text)
    assert decode_literal(src["image_publisher"]) == "SUSE"
    assert [decode_literal(src["plan_info"][0][k]) for k in ("plan_name", "plan_product", "plan_publisher")] == [
        "gen2",
        "sles-sap-15-sp5",
        "suse",
    ]
    assert src["os_disk_size_gb"] == 86 and src["disk_additional_size"] == [32, 64]
    assert decode_literal(src["virtual_network_name"]) == "vnet1"
    steps = provisioners(text)
    names = [decode_literal(body["name"]) for _, body in steps]
    assert names == [
        "tricky",
        "remote",
        "file",
        "override",
        "check",
        "vfile",
        "aibpack: deprovision (waagent)",
    ]
    assert shell_lines(steps[0][1]) == [
        "echo '${HOME} $${x} %{y} \"q\" back\\\\slash\ttab é'",
        "EOT",
        "echo trailing\\\\",
    ]
    remote = shell_lines(steps[1][1])
    assert "https://example.com/x.sh" in remote[0]
    assert remote[1].startswith("echo 'ade4c5214c3c675e92c66e2d067a870c5b81b9844b3de3cc72c49ff36425fc93  ")
    for command in (["fmt", "-check", "every-prop.pkr.hcl"], ["validate", "every-prop.pkr.hcl"]):
        checked = subprocess.run([packer_bin, *command], cwd=tmp_path, capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
