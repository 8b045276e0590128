"""A newcomer's first hour, run as they run it: ``aibpack`` as a process, from a fresh checkout, nothing beside it.

The checkout is a copy of the repository's files (what ``git clone`` gives) in a folder with no ``../shared``;
the user's cache and working folder are new too. Covered: help, exit codes, usage messages, the input formats
people pass by mistake, file modes, several-template validate, ``--set-file``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from aibpack.load.jsonc import parse_jsonc

REPO = Path(__file__).resolve().parents[2]
IMAGE_ID = "/subscriptions/<subscriptionID>/resourceGroups/<rgName>/providers/Microsoft.Compute/images/golden"
EXAMPLE = "examples/linux-gallery.json"
PLACEHOLDERS = {
    "type": "Microsoft.VirtualMachineImages/imageTemplates",
    "apiVersion": "2022-07-01",
    "location": "<region>",
    "identity": {"type": "UserAssigned", "userAssignedIdentities": {"<imgBuilderId>": {}}},
    "properties": {
        "source": {"type": "PlatformImage", "publisher": "Canonical", "offer": "o", "sku": "s", "version": "latest"},
        "customize": [{"type": "Shell", "name": "hello", "inline": ["echo hello"]}],
        "distribute": [
            {
                "type": "ManagedImage",
                "imageId": IMAGE_ID,
                "location": "<region>",
                "runOutputName": "out",
            }
        ],
    },
}
SET_FILE = """# what the tutorial exports before running sed
export subscriptionID=11111111-2222-3333-4444-555555555555
rgName="aibImageRG"
region = westus2

imgBuilderId='/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/aibImageRG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aibIdentity'
"""


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Newcomer:
    checkout: Path
    work: Path
    env: dict[str, str]

    def aibpack(self, *args: str, umask: int | None = None, **env: str) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "aibpack", *args],
            cwd=self.work,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            check=False,
            preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def write(self, name: str, content: str | bytes | object) -> Path:
        path = self.work / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2), encoding="utf-8")
        return path


def _repository_files() -> list[str]:
    """What a clone holds: the tracked files and the new ones not ignored."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: cannot tell which files a clone holds")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    return [name for name in listed.stdout.decode().split("\0") if name and (REPO / name).is_file()]


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Newcomer:
    root = tmp_path_factory.mktemp("first-hour")
    checkout = root / "aibpack"
    for name in _repository_files():
        target = checkout / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    work = root / "work"
    work.mkdir()
    shutil.copytree(checkout / "examples", work / "examples")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIBPACK_", "AZURE_", "PYTEST"))}
    env.update(PYTHONPATH=str(checkout), XDG_CACHE_HOME=str(root / "cache"), HOME=str(root))
    return Newcomer(checkout, work, env)


def _error_line(result: Result) -> str:
    """The one ``error:`` line of a failed command (warnings may come before it)."""
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.err
    return errors[0]


# --- a fresh clone ----------------------------------------------------------------------------------------------


def test_a_fresh_clone_skips_the_corpus_tests_with_the_reason_and_ci_fails_them(newcomer: Newcomer) -> None:
    assert not (newcomer.checkout.parent / "shared").exists()
    args = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/load/test_jsonc.py"]
    env = {**newcomer.env, "CHECKPOINT_DISABLE": "1"}
    skipped = subprocess.run(args, cwd=newcomer.checkout, env=env, capture_output=True, text=True, check=False)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "SKIPPED" in skipped.stdout and "the shared corpus is not at" in skipped.stdout
    env["AIBPACK_REQUIRE_CORPUS"] = "1"
    required = subprocess.run(args, cwd=newcomer.checkout, env=env, capture_output=True, text=True, check=False)
    assert required.returncode != 0
    assert "the shared corpus is not at" in required.stdout


# --- help ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [(), ("-h",), ("--help",)], ids=["bare", "-h", "--help"])
def test_help_lists_every_command_and_exits_0(newcomer: Newcomer, args: tuple[str, ...]) -> None:
    result = newcomer.aibpack(*args)
    assert result.code == 0 and result.err == ""
    assert re.match(r"Usage: aibpack \[OPTIONS\] \[?COMMAND\]? \[ARGS\]\.\.\.\n", result.out)  # [COMMAND]: click 8.5
    for command in ("compile", "validate", "import", "schema", "run", "distribute", "cleanup", "permissions"):
        assert f"\n  {command} " in result.out


@pytest.mark.parametrize("args", [("compile", "-h"), ("permissions",), ("permissions", "check", "-h")])
def test_every_command_has_help(newcomer: Newcomer, args: tuple[str, ...]) -> None:
    result = newcomer.aibpack(*args)
    assert result.code == 0 and result.out.startswith(f"Usage: aibpack {' '.join(a for a in args if a != '-h')}")


def test_aibpack_help_imports_no_command(newcomer: Newcomer) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "aibpack", "--help"],
        cwd=newcomer.work,
        env=newcomer.env,
        capture_output=True,
        text=True,
        check=True,
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line]
    assert "aibpack.cli" in imported
    assert [name for name in imported if name.startswith(("aibpack.commands", "pydantic", "azure"))] == []


def test_debug_is_documented_and_taken_after_the_command(newcomer: Newcomer) -> None:
    assert "--debug" in newcomer.aibpack("compile", "--help").out
    assert newcomer.aibpack("compile", EXAMPLE, "-o", "-", "--debug").code == 0


def test_each_command_offers_only_what_it_uses(newcomer: Newcomer) -> None:
    cleanup = newcomer.aibpack("cleanup", "--help").out
    assert "template" not in cleanup.lower()
    for command in (("distribute",), ("permissions", "check"), ("permissions", "grant")):
        text = newcomer.aibpack(*command, "--help").out
        assert "--provisioners" not in text and "--build" not in text
    for command in ("compile", "validate", "run"):
        text = newcomer.aibpack(command, "--help").out
        assert "--provisioners" in text and "--set-file" in text
    # --packer is the packer binary in both commands that run it
    for command in ("validate", "run"):
        assert "--packer [PATH]" in newcomer.aibpack(command, "--help").out


def test_retired_options_still_parse_with_a_warning(newcomer: Newcomer) -> None:
    """Scripts written when distribute/permissions offered --provisioners/--build keep working (design.md)."""
    calls = {
        "aibpack distribute": ("distribute", "missing.json", "--artifact", "x"),
        "aibpack permissions check": ("permissions", "check", "missing.json"),
    }
    for path, command in calls.items():
        result = newcomer.aibpack(*command, "--provisioners", "old.json", "--build", "b")
        assert "No such option" not in result.err
        assert f"warning: --provisioners has no effect on `{path}`" in result.err
        assert f"warning: --build has no effect on `{path}`" in result.err
        assert "missing.json" in result.err and result.code == 2


# --- exit codes and usage errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (("compile",), "aibpack compile"),
        (("compile", EXAMPLE, "--no-such-option"), "aibpack compile"),
        (("validate",), "aibpack validate"),
        (("compil", EXAMPLE), "aibpack"),
        (("compile", EXAMPLE, "--set", "region"), "aibpack compile"),
        (("run", EXAMPLE, "--auth", "password"), "aibpack run"),
        (("permissions", "check"), "aibpack permissions check"),
        (("compile", EXAMPLE, "examples/windows-restarts-updates.json"), "aibpack compile"),
    ],
)
def test_usage_errors_exit_2_and_say_which_help_to_read(newcomer: Newcomer, args: tuple[str, ...], where: str) -> None:
    result = newcomer.aibpack(*args)
    assert result.code == 2
    assert _error_line(result).endswith(f"; try `{where} --help`")


def test_a_missing_or_broken_template_is_one_error_line_and_exit_2(newcomer: Newcomer) -> None:
    missing = newcomer.aibpack("compile", "nope.json")
    assert missing.code == 2 and missing.err == "error: nope.json: file not found\n"
    broken = newcomer.write("broken.json", '{\n  "location": "westus2",\n  "properties": {\n}')
    result = newcomer.aibpack("validate", str(broken))
    assert result.code == 2 and result.err.startswith(f"error: {broken}: invalid JSON at line 4 column 2")


def test_version(newcomer: Newcomer) -> None:
    result = newcomer.aibpack("--version")
    assert result.code == 0 and result.out.startswith("aibpack, version ")


# --- input formats ------------------------------------------------------------------------------------------------


def test_a_bicep_file_says_to_build_it_first(newcomer: Newcomer) -> None:
    bicep = newcomer.write("main.bicep", "param location string = resourceGroup().location\n")
    result = newcomer.aibpack("compile", str(bicep))
    assert result.code == 2
    assert "a Bicep file" in _error_line(result) and "az bicep build --file" in result.err
    # Bicep saved with a .json name is recognized by its text.
    text = (
        "param imageTemplateName string\nresource it 'Microsoft.VirtualMachineImages/imageTemplates@2022-07-01' = {\n"
    )
    result = newcomer.aibpack("compile", str(newcomer.write("bicep.json", text)))
    assert result.code == 2 and "looks like Bicep" in _error_line(result)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_bom_files_compile_like_utf8(newcomer: Newcomer, encoding: str) -> None:
    text = (newcomer.work / EXAMPLE).read_text(encoding="utf-8")
    converted = newcomer.write(f"examples/golden-{encoding}.json", text.encode(encoding))
    result = newcomer.aibpack("compile", str(converted), "-o", "-")
    reference = newcomer.aibpack("compile", EXAMPLE, "-o", "-")
    assert result.code == 0, result.err
    assert result.out.split("\n", 1)[1] == reference.out.split("\n", 1)[1]  # all but the header naming the file


def test_a_parameters_file_passed_as_the_template_is_named(newcomer: Newcomer) -> None:
    result = newcomer.aibpack("compile", "examples/arm-deployment.parameters.json")
    assert result.code == 2
    assert "an ARM parameters file, not a template" in _error_line(result)
    assert "--parameters examples/arm-deployment.parameters.json" in result.err


def test_a_packer_template_passed_as_the_template_is_named(newcomer: Newcomer) -> None:
    packer_json = newcomer.write("old.json", {"builders": [{"type": "azure-arm"}], "provisioners": []})
    packer_hcl = newcomer.write("old.pkr.hcl", 'source "azure-arm" "x" {\n}\nbuild {\n  sources = []\n}\n')
    for path in (packer_json, packer_hcl):
        result = newcomer.aibpack("validate", str(path))
        assert result.code == 2
        assert "a Packer template: `aibpack import" in _error_line(result)


def test_other_json_says_what_it_found(newcomer: Newcomer) -> None:
    listed = newcomer.write("list.json", [PLACEHOLDERS, PLACEHOLDERS])
    assert "a list of 2 image templates, as `az image builder list` prints" in _error_line(
        newcomer.aibpack("compile", str(listed))
    )
    other = newcomer.write("package.json", {"name": "web", "version": "1.0.0"})
    line = _error_line(newcomer.aibpack("compile", str(other)))
    assert "not an image template" in line and "keys: name, version" in line


def _exported(newcomer: Newcomer) -> dict:
    """The example as Azure gives it back: with ids, systemData, the run's state and other read-only fields."""
    resource = parse_jsonc((newcomer.work / EXAMPLE).read_text(encoding="utf-8"), EXAMPLE)
    resource.pop("apiVersion")
    resource["properties"]["customize"] = resource["properties"]["customize"][1:]  # no local script beside it
    sub = "11111111-2222-3333-4444-555555555555"
    resource["id"] = f"/subscriptions/{sub}/resourceGroups/rg-imaging/providers/Microsoft.VirtualMachineImages/"
    resource["id"] += "imageTemplates/ubuntu2204-golden"
    resource["systemData"] = {"createdBy": "someone@example.com", "createdAt": "2024-05-01T10:00:00Z"}
    for identity in resource["identity"]["userAssignedIdentities"].values():
        identity.update(principalId="p", clientId="c")
    properties = resource["properties"]
    properties["source"]["exactVersion"] = "22.04.202405010"
    properties.update(
        provisioningState="Succeeded",
        provisioningError=None,
        lastRunStatus={"runState": "Succeeded", "runSubState": "Distributing", "message": ""},
        exactStagingResourceGroup=f"/subscriptions/{sub}/resourceGroups/IT_rg-imaging_ubuntu2204-golden_1234",
    )
    return resource


def test_an_exported_template_compiles_without_warnings(newcomer: Newcomer) -> None:
    portal = _exported(newcomer)
    az_show = {key: value for key, value in portal.items() if key != "properties"}
    az_show.update(portal["properties"], resourceGroup="rg-imaging", validate=None, optimize=None, tags=None)
    outputs = []
    for name, document in (("portal.json", portal), ("az-show.json", az_show)):
        result = newcomer.aibpack("compile", str(newcomer.write(name, document)), "-o", "-")
        assert result.code == 0, result.err
        assert result.err == ""
        outputs.append(result.out.split("\n", 1)[1])
    assert outputs[0] == outputs[1]


def test_missing_parameters_and_placeholders_come_in_one_message(newcomer: Newcomer) -> None:
    arm = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"imageTemplateName": {"type": "string"}, "svclocation": {"type": "string"}},
        "resources": [{**PLACEHOLDERS, "name": "[parameters('imageTemplateName')]", "apiVersion": "2022-07-01"}],
    }
    result = newcomer.aibpack("validate", str(newcomer.write("arm.json", arm)))
    assert result.code == 2
    line = _error_line(result)
    for option in ("--param imageTemplateName=VALUE", "--param svclocation=VALUE", "--set region=VALUE"):
        assert option in line
    for name in ("imgBuilderId", "subscriptionID", "rgName"):
        assert f"--set {name}=VALUE" in line


def test_set_file_fills_the_tutorial_placeholders(newcomer: Newcomer) -> None:
    template = newcomer.write("tutorial.json", PLACEHOLDERS)
    values = newcomer.write("vars.env", SET_FILE)
    result = newcomer.aibpack("compile", str(template), "--set-file", str(values), "-o", "-")
    assert result.code == 0, result.err
    assert 'variable "location" { type = string default = "westus2"' in " ".join(result.out.split())
    assert '"11111111-2222-3333-4444-555555555555"' in result.out and '"aibImageRG"' in result.out
    # --set wins over the file
    result = newcomer.aibpack("compile", str(template), "--set-file", str(values), "--set", "region=eastus", "-o", "-")
    assert 'variable "location" { type = string default = "eastus"' in " ".join(result.out.split())
    bad = newcomer.write("bad.env", "region westus2\n")
    result = newcomer.aibpack("compile", str(template), "--set-file", str(bad))
    assert result.code == 2
    assert _error_line(result) == f"error: {bad}: line 1: expected NAME=VALUE, got 'region westus2'"


# --- files --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_output_files_follow_the_umask(newcomer: Newcomer, umask: int, mode: int) -> None:
    out = newcomer.work / f"out-{umask:o}"
    result = newcomer.aibpack("compile", EXAMPLE, "-o", str(out), umask=umask)
    assert result.code == 0, result.err
    written = sorted(out.iterdir())  # the compiled file and packer-plugins.pkr.hcl
    assert len(written) == 2
    assert all(stat.S_IMODE(file.stat().st_mode) == mode for file in written)


def test_a_replaced_file_keeps_its_mode(newcomer: Newcomer) -> None:
    target = newcomer.work / "kept.pkr.hcl"
    target.write_text("old")
    target.chmod(0o640)
    assert newcomer.aibpack("compile", EXAMPLE, "-o", str(target), umask=0o022).code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and "source" in target.read_text()


@pytest.mark.parametrize("name", ["image.hcl", "image.json"])
def test_an_output_name_packer_would_not_read_is_refused(newcomer: Newcomer, name: str) -> None:
    result = newcomer.aibpack("compile", EXAMPLE, "-o", name)
    assert result.code == 2
    assert "use -o image.pkr.hcl" in _error_line(result)
    assert not (newcomer.work / name).exists()


# --- validate -------------------------------------------------------------------------------------------------


def test_validate_takes_several_templates_and_reports_each(newcomer: Newcomer) -> None:
    broken = newcomer.write("broken.json", {**PLACEHOLDERS, "location": "westus2"})
    result = newcomer.aibpack("validate", EXAMPLE, str(broken), "examples/windows-restarts-updates.json")
    assert result.code == 2
    assert result.out.splitlines() == [
        f"{EXAMPLE}: ok (Linux, 3 provisioners)",
        "examples/windows-restarts-updates.json: ok (Windows, 6 provisioners)",
    ]
    assert _error_line(result).startswith(f"error: {broken}: ")
    assert newcomer.aibpack("validate", EXAMPLE, "examples/windows-restarts-updates.json").code == 0


def test_one_provisioner_is_singular(newcomer: Newcomer) -> None:
    template = {**PLACEHOLDERS, "location": "westus2"}
    template["properties"] = {**PLACEHOLDERS["properties"], "customize": []}
    path = newcomer.write("bare.json", template)
    result = newcomer.aibpack("validate", str(path), "--set-file", str(newcomer.write("v.env", SET_FILE)))
    assert result.code == 0, result.err
    assert result.out == f"{path}: ok (Linux, 1 provisioner)\n"
