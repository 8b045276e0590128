"""The preserved blocks and their declarations pass real ``packer validate`` and ``packer fmt -check``.

Packer runs from the output directory (elsewhere than the old template), so this also proves the
rewritten script and upload paths resolve: Packer stats them at validate time.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from legacy.legacy_support import DATA, load, packer, wrap

INPUTS = [
    "rhel-2022",
    "ubuntu-2019/ubuntu-1804.json",
    "windows-2020/win2019.json",
    "long/jenkins-agent.json",
]


@pytest.fixture
def fake_ansible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ansible provisioner runs ``ansible-playbook --version`` when prepared."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "ansible-playbook"
    tool.write_text("#!/bin/sh\necho 'ansible-playbook 2.9.6'\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize("name", INPUTS)
def test_validates_from_the_output_directory(name: str, packer_bin: str, tmp_path: Path, fake_ansible: None) -> None:
    top = name.split("/")[0]
    old_dir = tmp_path / "team" / top
    shutil.copytree(DATA / top, old_dir)
    out = tmp_path / "out"
    out.mkdir()
    result, _ = load(tmp_path / "team" / name, out)
    (out / "image.pkr.hcl").write_text(wrap(result))
    validated = packer(packer_bin, "validate", "image.pkr.hcl", cwd=out)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    formatted = packer(packer_bin, "fmt", "-check", "image.pkr.hcl", cwd=out)
    assert formatted.returncode == 0, (out / "image.pkr.hcl").read_text()
