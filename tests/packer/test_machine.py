"""Parsing Packer's machine-readable stream: real output of packer 1.6.6 null builds, azure-arm samples."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from aibpack.packer.machine import (
    AZURE_ARM_BUILDER_ID,
    Artifact,
    BuildError,
    BuildOutput,
    MachineEvent,
    decode_field,
    parse_azure_artifact,
    parse_line,
)

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"

# Artifact.String() of packer-plugin-azure (builder/azure/arm/artifact.go) for a managed image published
# to a gallery, as -machine-readable prints it: commas as %!(PACKER_COMMA), newlines as a literal \n.
AZURE_SIG_LINES = [
    f"1714550400,azure-arm.img,artifact,0,builder-id,{AZURE_ARM_BUILDER_ID}",
    f"1714550400,azure-arm.img,artifact,0,id,{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/img1",
    "1714550400,azure-arm.img,artifact,0,string,Azure.ResourceManagement.VMImage:\\n\\nOSType: Windows\\n"
    "ManagedImageResourceGroupName: rg\\nManagedImageName: img1\\n"
    f"ManagedImageId: {SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/img1\\n"
    "ManagedImageLocation: eastus\\nManagedImageOSDiskSnapshotName: snap-os\\n"
    f"ManagedImageSharedImageGalleryId: {SUB}/resourceGroups/g-rg/providers/Microsoft.Compute/galleries/"
    "gal/images/win/versions/2.0.1\\nSharedImageGalleryResourceGroup: g-rg\\nSharedImageGalleryName: gal\\n"
    "SharedImageGalleryImageName: win\\nSharedImageGalleryImageVersion: 2.0.1\\n"
    "SharedImageGalleryReplicatedRegions: eastus%!(PACKER_COMMA) westus2%!(PACKER_COMMA) northeurope\\n",
    "1714550400,azure-arm.img,artifact,0,files-count,0",
    "1714550400,azure-arm.img,artifact,0,end",
]

# The VHD form (plugin >= 2.5): VHDOSDiskUri and one line per additional disk.
AZURE_VHD_STRING = (
    "Azure.ResourceManagement.VMImage:\n\nOSType: Linux\nStorageAccountLocation: westeurope\n"
    "VHDOSDiskUri: https://acct.blob.core.windows.net/system/Microsoft.Compute/Images/images/"
    "pkrosabc.vhd?se=2024-06-01T00%3A00%3A00Z&sig=xyz\n"
    "AdditionalDiskUri (datadisk-1): https://acct.blob.core.windows.net/images/pkrdd1.vhd\n"
)


# -- parse_line -------------------------------------------------------------------------------------------


def test_every_line_of_real_output_parses(captured: dict[str, Any]) -> None:
    for run in captured.values():
        assert run.lines, "packer printed nothing"
        for line in run.lines:
            assert isinstance(parse_line(line), MachineEvent), line
        assert run.stderr == ""  # -machine-readable puts everything on stdout


def test_real_ui_line_decodes_commas(captured: dict[str, Any]) -> None:
    events = [parse_line(line) for line in captured["ok"].lines]
    messages = [e for e in events if e and e.type == "ui" and e.data[0] == "message"]
    assert messages[0].data == ("message", "    null.x: hello, world")
    assert messages[0].target == ""
    assert messages[0].timestamp > 1_600_000_000
    (raw,) = [line for line in captured["ok"].lines if "hello" in line]
    assert raw.endswith(",,ui,message,    null.x: hello%!(PACKER_COMMA) world")


def test_real_ui_line_decodes_newlines(captured: dict[str, Any]) -> None:
    events = [parse_line(line) for line in captured["ok"].lines]
    texts = [e.data[1] for e in events if e and e.type == "ui"]
    assert "\n==> Builds finished. The artifacts of successful builds are:" in texts


def test_parse_line_fields() -> None:
    event = parse_line("1700000000,azure-arm.img,artifact,0,id,/subscriptions/x\n")
    assert event == MachineEvent(1700000000, "azure-arm.img", "artifact", ("0", "id", "/subscriptions/x"))
    assert parse_line("1700000000,,error-count,1") == MachineEvent(1700000000, "", "error-count", ("1",))
    assert parse_line("1700000000,,version-prelease,") == MachineEvent(1700000000, "", "version-prelease", ("",))
    assert parse_line("1700000000,,ui") == MachineEvent(1700000000, "", "ui", ())


@pytest.mark.parametrize(
    "line",
    [
        "",
        "trailing line without newline",
        "2024/05/01 10:00:00 [INFO] (telemetry) plugin noise, not machine-readable",
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "goroutine 1 [running]:",
        "1700000000",
        "1700000000,target",
        "abc,,ui,say,x",
        "1700000000,,UI,say,x",
        "    null.x: 1700000000,,ui,say,indented",
    ],
)
def test_not_machine_readable(line: str) -> None:
    assert parse_line(line) is None


def test_decode_field() -> None:
    assert decode_field("a%!(PACKER_COMMA) b\\nc\\r\\n") == "a, b\nc\r\n"
    # Backslashes are not escaped by Packer, so a real backslash-n cannot be told from a newline.
    assert decode_field("C:\\new") == "C:\new"


# -- BuildOutput on real output ---------------------------------------------------------------------------


def test_real_null_artifact(captured: dict[str, Any]) -> None:
    out = BuildOutput()
    out.feed_all(captured["ok"].lines)
    assert captured["ok"].returncode == 0
    assert out.artifacts == [
        Artifact("fnoeding.null", "Null", "Did not export anything. This is the null builder", (), "null.x")
    ]
    assert {a.target for a in out.artifacts} == {"null.x"}
    assert out.errors == [] and out.error_count is None
    assert out.raw_lines == []


def test_real_readable_lines(captured: dict[str, Any]) -> None:
    out = BuildOutput()
    text = out.feed_all(captured["ok"].lines)
    assert text[0].startswith("==> null.x: Running local shell script: ")
    # a script's stdout and stderr reach Packer through two pipes: their relative order is not fixed
    assert {"    null.x: hello, world", "==> null.x: to-stderr"} <= set(text[1:4])
    assert "    null.x: second" in text
    assert "==> Builds finished. The artifacts of successful builds are:" in text
    assert "--> null.x: Did not export anything. This is the null builder" in text
    assert not any("artifact" in line and "," in line for line in text)  # records are not shown raw
    assert out.ui_errors == ["==> null.x: to-stderr"]  # script stderr becomes ui,error
    assert out.current_step is not None and out.current_step.startswith("null.x: Running local shell script")


def test_real_failure(captured: dict[str, Any]) -> None:
    run = captured["fail"]
    out = BuildOutput()
    out.feed_all(run.lines)
    assert run.returncode == 1
    assert out.artifacts == []
    assert out.error_count == 1
    message = "Script exited with non-zero exit status: 7.Allowed exit codes are: [0]"
    assert out.errors == [BuildError("null.x", message)]
    assert out.failure_messages() == [f"null.x: {message}"]


def test_real_failure_with_abort(captured: dict[str, Any]) -> None:
    run = captured["fail-abort"]
    out = BuildOutput()
    text = out.feed_all(run.lines)
    assert run.returncode == 1
    assert '==> null.x: Step "StepProvision" failed, aborting...' in text
    assert '==> null.x: aborted: skipping cleanup of step "StepConnect"' in text
    assert out.error_count == 1


def test_real_template_error_has_only_ui_errors(captured: dict[str, Any]) -> None:
    run = captured["bad"]
    out = BuildOutput()
    text = out.feed_all(run.lines)
    assert run.returncode == 1
    assert out.errors == []
    assert out.failure_messages()[0].startswith("Error: Argument or block definition required")
    assert "  on bad.pkr.hcl line 2:" in text


def test_packer_version_machine_readable(real_packer: Path) -> None:
    proc = subprocess.run(
        [str(real_packer), "version", "-machine-readable"], capture_output=True, text=True, check=True
    )
    events = [parse_line(line) for line in proc.stdout.splitlines()]
    assert all(events)
    versions = [e.data[0] for e in events if e and e.type == "version"]
    assert versions and versions[0].count(".") == 2


# -- hand-written records ---------------------------------------------------------------------------------


def test_azure_sig_artifact() -> None:
    out = BuildOutput()
    assert out.feed_all(AZURE_SIG_LINES) == []
    (artifact,) = out.artifacts
    assert artifact.builder_id == AZURE_ARM_BUILDER_ID
    assert artifact.target == "azure-arm.img"
    assert artifact.id == f"{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/img1"
    info = parse_azure_artifact(artifact.string)
    assert info == {
        "OSType": "Windows",
        "ManagedImageResourceGroupName": "rg",
        "ManagedImageName": "img1",
        "ManagedImageId": artifact.id,
        "ManagedImageLocation": "eastus",
        "ManagedImageOSDiskSnapshotName": "snap-os",
        "ManagedImageSharedImageGalleryId": (
            f"{SUB}/resourceGroups/g-rg/providers/Microsoft.Compute/galleries/gal/images/win/versions/2.0.1"
        ),
        "SharedImageGalleryResourceGroup": "g-rg",
        "SharedImageGalleryName": "gal",
        "SharedImageGalleryImageName": "win",
        "SharedImageGalleryImageVersion": "2.0.1",
        "SharedImageGalleryReplicatedRegions": "eastus, westus2, northeurope",
    }


def test_azure_vhd_artifact_string() -> None:
    info = parse_azure_artifact(AZURE_VHD_STRING)
    assert info["OSType"] == "Linux"
    assert info["VHDOSDiskUri"].startswith("https://acct.blob.core.windows.net/system/")
    assert info["VHDOSDiskUri"].endswith("?se=2024-06-01T00%3A00%3A00Z&sig=xyz")
    assert info["AdditionalDiskUri (datadisk-1)"] == "https://acct.blob.core.windows.net/images/pkrdd1.vhd"
    assert AZURE_ARM_BUILDER_ID not in info


def test_azure_artifact_string_ignores_other_lines() -> None:
    assert parse_azure_artifact("") == {}
    assert parse_azure_artifact("Did not export anything. This is the null builder") == {}
    assert parse_azure_artifact("OSType: Linux\r\nManagedImageName:\r\n") == {
        "OSType": "Linux",
        "ManagedImageName": "",
    }


def test_artifact_files_and_several_targets() -> None:
    out = BuildOutput()
    out.feed_all(
        [
            "1,a.x,artifact-count,2",
            "1,a.x,artifact,0,builder-id,mitchellh.post-processor.manifest",
            "1,a.x,artifact,0,id,m",
            "1,a.x,artifact,0,files-count,2",
            "1,a.x,artifact,0,file,1,out/second%!(PACKER_COMMA)file.json",
            "1,a.x,artifact,0,file,0,out/first.json",
            "1,a.x,artifact,1,nil",
            "1,a.x,artifact,1,end",
            "1,a.x,artifact,0,end",
            "1,b.y,artifact,0,builder-id,fnoeding.null",
            "1,b.y,artifact,0,end",
        ]
    )
    assert out.artifacts == [
        Artifact("mitchellh.post-processor.manifest", "m", "", ("out/first.json", "out/second,file.json"), "a.x"),
        Artifact("fnoeding.null", "", "", (), "b.y"),
    ]
    assert [a.target for a in out.artifacts] == ["a.x", "b.y"]


def test_artifact_without_end_is_not_recorded() -> None:
    out = BuildOutput()
    out.feed_all(AZURE_SIG_LINES[:-1])  # the build was killed mid-stream
    assert out.artifacts == []


def test_noise_is_kept_raw_and_never_crashes() -> None:
    out = BuildOutput()
    lines = [
        "2024/05/01 10:00:00 packer-plugin-azure plugin: noise, with commas",
        "1,,artifact",
        "1,,artifact,x,id,y",
        "1,,error-count,many",
        "1,,ui",
        "1,t,artifact,0,file,zero,path",
        "1,,something-new,a,b",
    ]
    text = out.feed_all(lines)
    assert text == [lines[0], ""]
    assert out.raw_lines == [lines[0]]
    assert out.artifacts == [] and out.error_count is None
