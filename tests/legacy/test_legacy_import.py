"""``aibpack import``: provisioners → AIB customize steps, a warning for each thing AIB cannot carry."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from legacy.legacy_support import DATA

from aibpack.commands.import_cmd import import_command

DROPPED = "has no AIB equivalent; dropped (use --provisioners to keep it exactly)"


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(import_command, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def team(tmp_path: Path) -> Path:
    for name in ("ubuntu-2019", "windows-2020", "rhel-2022"):
        shutil.copytree(DATA / name, tmp_path / name)
    return tmp_path


def test_linux_json(team: Path) -> None:
    old = team / "ubuntu-2019" / "ubuntu-1804.json"
    out = team / "aib" / "ubuntu.json"
    code, stdout, stderr = _run(old, "-o", out)
    assert code == 0 and stdout == ""
    steps = json.loads(out.read_text())["customize"]
    assert out.read_text().startswith('{\n  "customize": [\n    {\n      "type": "Shell"')
    assert steps[1] == {
        "type": "Shell",
        "name": "apt-upgrade.sh",
        "scriptUri": "../ubuntu-2019/scripts/apt-upgrade.sh",
        "sha256Checksum": _sha(team / "ubuntu-2019/scripts/apt-upgrade.sh"),
    }
    assert steps[4]["inline"][:3] == [
        "export DOCKER_VERSION=19.03.13",
        "curl -fsSL https://get.docker.com | sudo VERSION=${DOCKER_VERSION} sh",
        "sudo usermod -aG docker packer",
    ]
    secret = steps[5]["inline"][2]
    assert "<artifactory_token>" in secret and "agent_2.4.1.deb" in secret  # sensitive → placeholder
    assert [s["type"] for s in steps] == ["Shell"] * 7
    lines = stderr.splitlines()
    for index, kind, attribute in [
        (0, "shell", "pause_before"),
        (1, "shell", "execute_command"),
        (1, "shell", "environment_vars"),
        (1, "shell", "max_retries"),
        (1, "shell", "timeout"),
        (2, "shell", "expect_disconnect"),
        (2, "shell", "skip_clean"),
        (3, "shell", "only"),
        (6, "shell", "except"),
        (7, "ansible", "ansible"),
        (8, "shell", "inline_shebang"),
    ]:
        assert f"warning: {old}: provisioners[{index}] ({kind}): {attribute} {DROPPED}" in lines
    assert any("provisioners[4] (file): source directory motd.d" in line for line in lines)
    assert any("{{timestamp}} is a Packer expression AIB does not evaluate" in line for line in lines)


def test_windows_json(team: Path) -> None:
    old = team / "windows-2020" / "win2019.json"
    code, stdout, stderr = _run(old)
    assert code == 0
    steps = json.loads(stdout)["customize"]
    assert [s["type"] for s in steps] == [
        "PowerShell",
        "PowerShell",
        "PowerShell",
        "WindowsRestart",
        "PowerShell",
        "File",
        "WindowsRestart",
        "PowerShell",
    ]
    assert steps[1]["runElevated"] is True and "runAsSystem" not in steps[1]
    assert steps[1]["validExitCodes"] == [0, 3010]
    assert steps[3] == {
        "type": "WindowsRestart",
        "restartCheckCommand": "powershell -command \"& {Write-Output 'restarted.'}\"",
        "restartTimeout": "30m",
    }
    assert steps[4]["runAsSystem"] is True and steps[4]["inline"][0].endswith("| %Developers")
    assert steps[5]["destination"] == "C:\\app\\app.config"
    assert f"warning: {old}: provisioners[1] (powershell): environment_vars {DROPPED}" in stderr
    assert f"warning: {old}: provisioners[3] (powershell): pause_before {DROPPED}" in stderr


def test_hcl2_folder_folds_environment_into_inline(team: Path) -> None:
    code, stdout, stderr = _run(team / "rhel-2022")
    assert code == 0
    steps = json.loads(stdout)["customize"]
    assert steps[1]["inline"][:2] == ["export HTTPS_PROXY=''", "export PKGS='<pkg_list>'"]
    assert steps[1]["inline"][2].startswith("set -euo pipefail\ndnf -y update\ndnf -y install ${PKGS}\n")
    assert "environment_vars" not in stderr.split("provisioners[2]")[0]
    build = team / "rhel-2022" / "build.pkr.hcl"
    assert f"warning: {build}: provisioners[5] (shell-local): shell-local {DROPPED}" in stderr
    assert steps[2]["destination"] == "/tmp/banner.txt"


def test_into_an_arm_deployment(team: Path) -> None:
    template = team / "aib.json"
    template.write_text(
        json.dumps(
            {
                "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                "resources": [
                    {
                        "type": "Microsoft.VirtualMachineImages/imageTemplates",
                        "name": "x",
                        "properties": {"customize": [{"type": "Shell", "inline": ["echo first"]}]},
                    }
                ],
            }
        )
    )
    code, _, _ = _run(team / "windows-2020" / "win2019.json", "--into", template)
    assert code == 0
    customize = json.loads(template.read_text())["resources"][0]["properties"]["customize"]
    assert customize[0] == {"type": "Shell", "inline": ["echo first"]} and len(customize) == 9
    assert customize[2]["scriptUri"] == "windows-2020/scripts/install-agent.ps1"


def test_errors_and_empty(team: Path, tmp_path: Path) -> None:
    code, stdout, stderr = _run(DATA / "not-a-template.txt")
    assert code == 2 and stdout == ""
    assert (
        stderr.startswith(f"error: {DATA / 'not-a-template.txt'}: neither a JSON nor an HCL2")
        and len(stderr.splitlines()) == 1
    )
    (team / "ubuntu-2019" / "scripts" / "base-packages.sh").unlink()
    out = tmp_path / "steps.json"
    code, _, stderr = _run(team / "ubuntu-2019" / "ubuntu-1804.json", "-o", out)
    assert code == 2 and not out.exists()
    assert "provisioners[1] (shell): scripts scripts/base-packages.sh not found" in stderr.splitlines()[-1]
    empty = tmp_path / "empty.json"
    empty.write_text('{"builders": [{"type": "null"}]}')
    code, stdout, stderr = _run(empty)
    assert code == 0 and json.loads(stdout) == {"customize": []}
    assert stderr == f"warning: {empty}: has no provisioners; nothing to import\n"
