"""HCL2 input: the blocks are the original blocks, attribute for attribute, with the needed declarations."""

from __future__ import annotations

import shutil
from pathlib import Path

import hcl2
import pytest
from legacy.legacy_support import DATA, load, provisioner_bodies

from aibpack.errors import AibpackError

RHEL = DATA / "rhel-2022"


def _original_bodies() -> list[tuple[str, dict]]:
    """The original blocks, with ``location`` renamed as it clashes with aibpack's own variable."""
    text = (RHEL / "build.pkr.hcl").read_text()
    return provisioner_bodies(text.replace("${var.location}", "${var.legacy_location}"))


def test_blocks_equal_the_original_blocks() -> None:
    result, _ = load(RHEL, RHEL)
    assert provisioner_bodies("\n".join(result.blocks)) == _original_bodies()
    assert result.source_names == frozenset({"azure-arm.rhel8"})


def test_heredocs_and_comments_are_kept_byte_for_byte() -> None:
    result, _ = load(RHEL, RHEL)
    original = (RHEL / "build.pkr.hcl").read_text()
    heredoc = original[original.index("<<EOF") : original.index("EOF\n    ]") + 3]
    assert heredoc in result.blocks[4]  # including "  key = value" lines that align() must not touch
    body = original[original.index("<<-EOT\n") : original.index("      EOT\n") + 10]
    assert body in result.blocks[1]  # moved left with its block, its body untouched


def test_declarations_follow_references_through_locals() -> None:
    result, warnings = load(RHEL, RHEL)
    variables = {v.name: v for v in result.variables}
    assert set(variables) == {"legacy_location", "registry_password", "packages", "proxy_url"}
    assert variables["packages"].type == "list(string)"
    assert variables["packages"].default == '[\n  "git",\n  "jq",\n  "podman",\n]'
    assert variables["registry_password"].sensitive and variables["registry_password"].default == '""'
    assert variables["legacy_location"].description == "Azure region of the build VM"
    assert [(x.name, x.expression) for x in result.locals] == [("pkg_list", 'join(" ", var.packages)')]
    assert "${var.legacy_location}" in result.blocks[5]  # renamed where it is used, too
    assert any("registry_password' has no default" in w for w in warnings)


def test_paths_point_at_the_old_folder_from_elsewhere(tmp_path: Path) -> None:
    old = tmp_path / "repo" / "packer" / "rhel"
    shutil.copytree(RHEL, old)
    out = tmp_path / "build"
    out.mkdir()
    result, _ = load(old, out)
    bodies = provisioner_bodies("\n".join(result.blocks))
    prefix = "${path.root}/../repo/packer/rhel"
    assert bodies[2][1]["sources"] == [f"{prefix}/files/conf.d/", f"{prefix}/files/banner.txt"]
    assert bodies[3][1]["script"] == f"{prefix}/scripts/harden.sh"
    assert bodies[0] == _original_bodies()[0]


def test_warnings_for_only_except_and_user_deprovision() -> None:
    _, warnings = load(RHEL, RHEL, source="source.azure-arm.rhel8")
    assert not any("only =" in w for w in warnings)  # it names the compiled source
    assert any("provisioners[4] (shell): except" in w and "no effect" in w for w in warnings)
    assert any("provisioners[6] (shell): the input already deprovisions" in w for w in warnings)
    _, others = load(RHEL, RHEL, source="source.azure-arm.other")
    assert any("provisioners[3] (shell): only" in w and "never run" in w for w in others)


def test_a_single_file_with_heredocs(tmp_path: Path) -> None:
    text = (RHEL / "build.pkr.hcl").read_text()
    single = tmp_path / "all.pkr.hcl"
    variables = (RHEL / "variables.pkr.hcl").read_text()
    single.write_text(variables + "\n" + text)
    for sub in ("scripts", "files"):
        shutil.copytree(RHEL / sub, tmp_path / sub)
    result, _ = load(single, tmp_path)
    assert provisioner_bodies("\n".join(result.blocks)) == _original_bodies()


def test_several_builds_need_a_name() -> None:
    with pytest.raises(AibpackError, match=r"2 build blocks \(linux, windows\); pick one with --build NAME"):
        load(DATA / "two-builds", DATA / "two-builds")
    result, _ = load(DATA / "two-builds", DATA / "two-builds", build="windows")
    assert provisioner_bodies(result.blocks[0]) == [("shell-local", {"inline": ["echo windows"]})]
    with pytest.raises(AibpackError, match="no build named 'mac'"):
        load(DATA / "two-builds", DATA / "two-builds", build="mac")


def test_not_a_template_and_missing_script(tmp_path: Path) -> None:
    with pytest.raises(AibpackError, match="neither a JSON nor an HCL2 Packer template") as err:
        load(DATA / "not-a-template.txt", tmp_path)
    assert err.value.exit_code == 2
    broken = tmp_path / "b.pkr.hcl"
    broken.write_text('build {\n  provisioner "shell" {\n    script = "nope.sh"\n  }\n}\n')
    with pytest.raises(AibpackError, match=r"provisioners\[0\] \(shell\): script nope.sh not found"):
        load(broken, tmp_path)


def test_blocks_parse_alone() -> None:
    result, _ = load(RHEL, RHEL)
    for block in result.blocks:
        assert list(hcl2.loads(block)) == ["provisioner"]
