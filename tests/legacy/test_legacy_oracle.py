"""Legacy JSON → HCL2 blocks, checked against Debian's real ``packer hcl2_upgrade`` (1.6.6).

Our blocks must equal its blocks attribute for attribute, except where hcl2_upgrade is known to be wrong;
there the JSON's meaning is asserted instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from legacy.legacy_support import DATA, hcl2_upgrade, load, normalized, provisioner_bodies

TEMPLATES = ["ubuntu-2019/ubuntu-1804.json", "windows-2020/win2019.json", "long/jenkins-agent.json"]

# hcl2_upgrade leaves a block unconverted when any field holds {{ .Path }}/{{ .Vars }}; this is the
# conversion it would have done, which is what the JSON means in HCL2.
_GO_CALLS = [
    (re.compile(r"\{\{user `([^`]+)`\}\}"), r"${var.\1}"),
    (re.compile(r"\{\{template_dir\}\}"), "${path.root}"),
    (re.compile(r"\{\{timestamp\}\}"), "${local.timestamp}"),
    (re.compile(r"\{\{build `([^`]+)`\}\}"), r"${build.\1}"),
]


def _json_meaning(value: object, locals_: set[str]) -> object:
    """The oracle's value with its known mistakes corrected."""
    if isinstance(value, dict):
        return {k: _json_meaning(v, locals_) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_meaning(v, locals_) for v in value]
    if not isinstance(value, str):
        return value
    for pattern, replacement in _GO_CALLS:
        value = pattern.sub(replacement, value)
    value = value.replace("%%${", "%${")  # hcl2_upgrade doubles a % that precedes a converted call
    for name in locals_:  # variables with templated defaults are locals (HCL2 variables cannot reference)
        value = value.replace(f"${{var.{name}}}", f"${{local.{name}}}")
    return value


@pytest.mark.parametrize("name", TEMPLATES)
def test_blocks_equal_hcl2_upgrade(name: str, packer_bin: str, tmp_path: Path) -> None:
    template = DATA / name
    oracle = provisioner_bodies(hcl2_upgrade(packer_bin, template, tmp_path / "upgraded.pkr.hcl"))
    result, _ = load(template, template.parent)
    ours = provisioner_bodies("\n".join(result.blocks))
    raw = json.loads(template.read_text())["provisioners"]
    locals_ = {local.name for local in result.locals} - {"timestamp"}
    assert [kind for kind, _ in ours] == [kind for kind, _ in oracle] == [p["type"] for p in raw]
    for index, ((_, mine), (_, theirs), original) in enumerate(zip(ours, oracle, raw, strict=True)):
        expected = _json_meaning(theirs, locals_)
        if "pause_before" in original:  # hcl2_upgrade drops it
            assert "pause_before" not in theirs
            expected["pause_before"] = original["pause_before"]
        assert normalized(mine) == normalized(expected), f"provisioners[{index}]"
        assert list(mine) == [k for k in original if k != "type"], "attribute order is the JSON's"


def test_known_wrong_cases_keep_the_json_meaning(tmp_path: Path) -> None:
    result, _ = load(DATA / "windows-2020/win2019.json", DATA / "windows-2020")
    blocks = provisioner_bodies("\n".join(result.blocks))
    restartless = blocks[3][1]
    assert restartless["inline"][0] == "Get-LocalGroupMember -Group Administrators | %${var.group}"
    assert restartless["inline"][2] == "Write-Host ${env:COMPUTERNAME}"  # written $${env:...}
    assert restartless["pause_before"] == "2m"
    ubuntu, _ = load(DATA / "ubuntu-2019/ubuntu-1804.json", DATA / "ubuntu-2019")
    sudo = provisioner_bodies("\n".join(ubuntu.blocks))[2][1]
    assert sudo["execute_command"] == "echo '${var.ssh_user}' | {{ .Vars }} sudo -S -E bash '{{ .Path }}'"


def test_variables_keep_defaults_and_sensitivity() -> None:
    result, warnings = load(DATA / "ubuntu-2019/ubuntu-1804.json", DATA / "ubuntu-2019")
    by_name = {v.name: v for v in result.variables}
    assert by_name["artifactory_token"].sensitive and by_name["artifactory_token"].default == '""'
    assert by_name["app_version"].default == '"2.4.1"' and not by_name["app_version"].sensitive
    assert by_name["apt_mirror"].default == '""'  # required in the JSON; the reference stays
    assert by_name["http_proxy"].default == '"${env("http_proxy")}"'
    assert "client_id" not in by_name  # used by the builder only
    assert [local.name for local in result.locals] == ["timestamp"]
    assert any("variable 'apt_mirror' has no default" in w for w in warnings)


def test_templated_default_becomes_a_sensitive_aware_local() -> None:
    result, _ = load(DATA / "windows-2020/win2019.json", DATA / "windows-2020")
    (greeting,) = [local for local in result.locals if local.name == "greeting"]
    assert greeting.expression == '"hello ${var.agent_version}"'
    assert {v.name for v in result.variables} >= {"agent_version", "winrm_password", "group"}
    assert next(v for v in result.variables if v.name == "winrm_password").sensitive


def test_env_outside_variables_becomes_a_variable(tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(json.dumps({"provisioners": [{"type": "shell-local", "inline": ["echo {{env `HOME`}}"]}]}))
    result, _ = load(template, tmp_path)
    assert provisioner_bodies(result.blocks[0])[0][1]["inline"] == ["echo ${var.env_HOME}"]
    assert [(v.name, v.default) for v in result.variables] == [("env_HOME", 'env("HOME")')]


def test_dollar_before_a_converted_call_stays_a_dollar(tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    data = {"variables": {"v": "1"}, "provisioners": [{"type": "shell-local", "inline": ["echo ${{user `v`}}"]}]}
    template.write_text(json.dumps(data))
    result, _ = load(template, tmp_path)
    assert provisioner_bodies(result.blocks[0])[0][1]["inline"] == ['echo ${"$"}${var.v}']
