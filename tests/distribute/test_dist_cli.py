"""``aibpack distribute`` end to end against the fake ARM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakearm import FakeArm
from fakearm.dist_helpers import rid, seed_build, seed_built_image

from aibpack.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def write_template(path: Path, fake: FakeArm, source: dict[str, object], distribute: list[dict[str, object]]) -> Path:
    doc = {
        "type": "Microsoft.VirtualMachineImages/imageTemplates",
        "name": "tpl",
        "location": "westus",
        "properties": {"source": source, "distribute": distribute},
    }
    path.write_text(json.dumps(doc))
    return path


def gallery_targets(tmp_path: Path, fake: FakeArm, *names: str) -> tuple[str, Path]:
    """A built image, and a template distributing it to one gallery image definition per name."""
    built = seed_built_image(fake)
    fake.add_group("rg-gallery", "westus")
    targets = [
        {
            "type": "SharedImage",
            "galleryImageId": fake.add_gallery_image("rg-gallery", "g", name),
            "runOutputName": name,
        }
        for name in names
    ]
    source = {"type": "PlatformImage", "publisher": "p", "offer": "o", "sku": "s"}
    return built, write_template(tmp_path / "t.json", fake, source, targets)


def test_distribute_command_json_and_exit_code(
    tmp_path: Path, fake_arm: FakeArm, fake_arm_env: dict[str, str], fake_az: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built, template = gallery_targets(tmp_path, fake_arm, "good", "bad")
    fake_arm.fail_operation(r"/images/bad/versions/")
    out_file = tmp_path / "out.json"
    code, out, err = run(
        ["distribute", str(template), "--artifact", built, "--auth", "cli", "--json", "--output-json", str(out_file)],
        capsys,
    )
    assert code == 1, err
    result = json.loads(out)
    assert result == json.loads(out_file.read_text())
    assert result["status"] == "Failed"
    assert [(o["runOutputName"], o["provisioningState"]) for o in result["runOutputs"]] == [
        ("good", "Succeeded"),
        ("bad", "Failed"),
    ]
    error = result["runOutputs"][1]["error"]
    assert error == {"code": "InternalOperationError", "message": "operation failed (injected by fakearm)"}
    assert "error: bad (SharedImage): InternalOperationError: operation failed (injected by fakearm)" in err


def test_distribute_command_copies_from_the_given_os_disk_snapshot(
    tmp_path: Path, fake_arm: FakeArm, fake_arm_env: dict[str, str], fake_az: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built = seed_build(fake_arm)
    fake_arm.add_group("rg-east", "eastus")
    east = rid(fake_arm, "rg-east", "images/east")
    source = {"type": "PlatformImage", "publisher": "p", "offer": "o", "sku": "s"}
    target = {"type": "ManagedImage", "imageId": east, "location": "eastus", "runOutputName": "east"}
    template = write_template(tmp_path / "t.json", fake_arm, source, [target])
    args = ["distribute", str(template), "--artifact", built.image_id, "--auth", "cli"]
    code, _, err = run(args, capsys)
    assert code == 1 and "--os-disk-snapshot" in err
    code, out, err = run([*args, "--os-disk-snapshot", built.os_snapshot_id or ""], capsys)
    assert code == 0, err
    assert out.startswith(f"east (ManagedImage): Succeeded {east}")
    assert fake_arm.resources("rg-east") == [east]


def test_distribute_command_refuses_vhd_without_uri(
    tmp_path: Path, fake_arm: FakeArm, fake_arm_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    source = {"type": "PlatformImage", "publisher": "p", "offer": "o", "sku": "s"}
    template = write_template(tmp_path / "t.json", fake_arm, source, [{"type": "VHD", "runOutputName": "v"}])
    code, _, err = run(["distribute", str(template), "--artifact", rid(fake_arm, "g", "images/x")], capsys)
    assert code == 2
    assert "properties.distribute[0].uri" in err
    assert not fake_arm.requests


def test_distribute_summary_prints_replication_states_as_azure_names_them(
    tmp_path: Path, fake_arm: FakeArm, fake_arm_env: dict[str, str], fake_az: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built, template = gallery_targets(tmp_path, fake_arm, "sig")
    code, out, err = run(["distribute", str(template), "--artifact", built, "--auth", "cli"], capsys)
    assert code == 0, err
    assert "westus: Completed" in out
    assert "ReplicationState" not in out + err
