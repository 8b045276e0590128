"""``aibpack run`` end to end: real SDK clients against the fake ARM, the fake ``az``, a fake ``packer``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import run
from support.run_env import DEST_GROUP, LOCATION, RunEnv

import aibpack.run
import aibpack.run.build


def _run(env: RunEnv, template: Path, *extra: str) -> tuple[int, str, dict]:
    outputs = env.tmp / "outputs.json"
    result = run(
        ["run", str(template), "--auth", "cli", "--output-json", str(outputs), "--work-dir", str(env.tmp / "w"), *extra]
    )
    return result.code, result.err, json.loads(outputs.read_text())


def test_success_reports_the_image_and_leaves_only_the_target(run_env: RunEnv) -> None:
    code, err, outputs = _run(run_env, run_env.template())

    assert code == 0, err
    image = run_env.image_id()
    assert outputs["status"] == "Succeeded"
    assert outputs["template"] == "golden"
    assert outputs["stagingResourceGroup"].startswith(f"IT_{DEST_GROUP}_golden_")
    assert outputs["stagingDeleted"] is True
    assert outputs["packer"] == {"exitCode": 0, "artifactId": image}
    assert outputs["runOutputs"] == [
        {
            "runOutputName": "managed",
            "type": "ManagedImage",
            "artifactId": image,
            "artifactUri": None,
            "provisioningState": "Succeeded",
            "regions": [{"name": LOCATION, "replicationState": "Completed", "details": ""}],
        }
    ]
    assert isinstance(outputs["durationSeconds"], float)
    # Only the distribution target remains: no staging group, the image in its destination group.
    assert run_env.staging_groups() == []
    assert set(run_env.fake.resource_groups()) == {DEST_GROUP}
    assert run_env.fake.resources() == [image]
    assert "Succeeded" in err and f"built image: {image}" in err
    assert "deleted staging resource group IT_" in err


def test_packer_gets_the_staging_group_cli_auth_and_the_work_dir(run_env: RunEnv) -> None:
    code, err, outputs = _run(run_env, run_env.template(timeout=30))
    assert code == 0, err

    calls = run_env.packer_calls()
    assert [c["argv"][0] for c in calls] == ["version", "init", "build"]
    build = calls[-1]["argv"]
    assert build[:4] == ["build", "-color=false", "-machine-readable", "-on-error=cleanup"]
    assert build[-1] == "golden.pkr.hcl"
    pairs = dict(build[i + 1].split("=", 1) for i, a in enumerate(build) if a == "-var")
    assert pairs["build_resource_group_name"] == outputs["stagingResourceGroup"]
    assert pairs["location"] == ""
    assert pairs["use_azure_cli_auth"] == "true"
    assert pairs["subscription_id"] == run_env.sub
    assert pairs["managed_image_resource_group_name"] == DEST_GROUP
    assert '"createdBy" = "aibpack"' in pairs["run_tags"]
    assert "client_secret" not in pairs
    work = run_env.tmp / "w"
    assert (work / "golden.pkr.hcl").is_file()
    assert "required_plugins" in (work / "packer-plugins.pkr.hcl").read_text()
    assert "artifact,0,id," in (work / "packer.log").read_text()
    assert "[00:00:0" in err  # live output with the elapsed time


def test_intermediate_image_goes_to_the_staging_group_and_is_deleted(run_env: RunEnv) -> None:
    """Packer 1.6.6 cannot publish straight to a gallery: it captures a managed image, run makes the version."""
    run_env.monkeypatch.setenv("FAKE_PACKER_VERSION", "1.6.6")
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION)
    template = run_env.template(
        distribute=[{"type": "SharedImage", "galleryImageId": run_env.gallery_image_id(), "runOutputName": "sig"}]
    )
    before = set(run_env.fake.resources())

    code, err, outputs = _run(run_env, template)

    assert code == 0, err
    assert outputs["packer"]["artifactId"].split("/")[4] == outputs["stagingResourceGroup"]
    assert outputs["runOutputs"][0]["provisioningState"] == "Succeeded"
    version = outputs["runOutputs"][0]["artifactId"]
    assert version.endswith("/versions/1.0.0")
    assert run_env.staging_groups() == []
    assert set(run_env.fake.resources()) == before | {version}


def test_failed_build_exits_1_says_why_and_leaves_nothing(run_env: RunEnv) -> None:
    run_env.mode("fail")
    code, err, outputs = _run(run_env, run_env.template())

    assert code == 1
    assert "packer build failed (exit 1)" in err and "non-zero exit status: 7" in err
    assert outputs["status"] == "Failed"
    assert outputs["stagingDeleted"] is True
    assert outputs["packer"] == {"exitCode": 1, "artifactId": None}
    assert outputs["runOutputs"] == []
    assert run_env.staging_groups() == []
    assert run_env.fake.resources() == []
    assert str(run_env.tmp / "w") in err  # the work dir (packer.log) is named


def test_on_error_abort_keeps_the_staging_group_and_says_how_to_delete_it(run_env: RunEnv) -> None:
    run_env.mode("fail")
    code, err, outputs = _run(run_env, run_env.template(errorHandling={"onCustomizerError": "abort"}))

    assert code == 1
    group = outputs["stagingResourceGroup"]
    assert outputs["stagingDeleted"] is False
    assert run_env.staging_groups() == [group]
    assert f"az group delete -n {group} --yes" in err
    assert "-on-error=abort" in run_env.builds()[0]["argv"]


def test_keep_staging_keeps_the_group_and_names_it(run_env: RunEnv) -> None:
    code, err, outputs = _run(run_env, run_env.template(), "--keep-staging")

    assert code == 0, err
    group = outputs["stagingResourceGroup"]
    assert outputs["stagingDeleted"] is False
    assert run_env.staging_groups() == [group]
    tags = run_env.fake.resource_groups()[group]
    assert tags["createdBy"] == "aibpack" and tags["imageTemplateName"] == "golden" and tags["aibpackRunId"]
    assert f"kept staging resource group {group}" in err
    assert f"az group delete -n {group} --yes" in err


def test_build_timeout_exits_1_with_the_message(run_env: RunEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aibpack.run.build, "SECONDS_PER_MINUTE", 0.5)  # buildTimeoutInMinutes=2 → 1 s
    run_env.mode("hang")
    code, err, outputs = _run(run_env, run_env.template(timeout=2))

    assert code == 1
    assert "timed out after buildTimeoutInMinutes=2" in err
    assert outputs["status"] == "Failed"
    assert run_env.staging_groups() == []


def test_json_prints_the_run_outputs_on_stdout(run_env: RunEnv) -> None:
    result = run(["run", str(run_env.template()), "--auth", "cli", "--json"])
    assert result.code == 0, result.err
    outputs = json.loads(result.out)
    assert outputs["status"] == "Succeeded"
    assert list(outputs) == [
        "template",
        "status",
        "stagingResourceGroup",
        "stagingDeleted",
        "packer",
        "runOutputs",
        "durationSeconds",
    ]


def test_named_existing_staging_group_is_never_deleted(run_env: RunEnv) -> None:
    run_env.fake.add_group("rg-mine", LOCATION)
    run_env.fake.add_resource(
        f"/subscriptions/{run_env.sub}/resourceGroups/rg-mine/providers/Microsoft.Network/virtualNetworks/vnet"
    )
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION)
    template = run_env.template(
        distribute=[{"type": "SharedImage", "galleryImageId": run_env.gallery_image_id(), "runOutputName": "sig"}],
        stagingResourceGroup=f"/subscriptions/{run_env.sub}/resourceGroups/rg-mine",
    )

    code, err, outputs = _run(run_env, template)

    assert code == 0, err
    assert outputs["stagingResourceGroup"] == "rg-mine"
    assert "rg-mine" in run_env.fake.resource_groups()
    # The intermediate image (tagged with this run's id) is gone; the user's VNet stays.
    assert run_env.fake.resources("rg-mine") == [
        f"/subscriptions/{run_env.sub}/resourceGroups/rg-mine/providers/Microsoft.Network/virtualNetworks/vnet"
    ]


def test_bad_template_exits_2_without_touching_azure(run_env: RunEnv) -> None:
    template = run_env.tmp / "bad.json"
    template.write_text('{"type": "Microsoft.VirtualMachineImages/imageTemplates", "location": "westus"}')
    outputs = run_env.tmp / "outputs.json"
    result = run(["run", str(template), "--auth", "cli", "--output-json", str(outputs)])
    assert result.code == 2
    assert "error: " in result.err and str(template) in result.err
    assert json.loads(outputs.read_text())["status"] == "Failed"
    assert run_env.fake.requests == []


def test_failed_staging_delete_exits_1_and_says_how_to_delete(run_env: RunEnv) -> None:
    run_env.fake.fail_operation("/resourcegroups/IT_[^/]+$", method="DELETE")
    code, err, outputs = _run(run_env, run_env.template())
    assert code == 1
    group = outputs["stagingResourceGroup"]
    assert outputs["status"] == "Failed" and outputs["stagingDeleted"] is False
    assert f"az group delete --name {group}" in err


def test_gallery_and_managed_image_targets_are_distributed_in_one_run(run_env: RunEnv) -> None:
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION)
    template = run_env.template(
        distribute=[
            run_env.managed_target(),
            run_env.gallery_target(
                targetRegions=[{"name": LOCATION}, {"name": "eastus", "replicaCount": 2}],
                artifactTags={"team": "platform"},
            ),
        ]
    )
    code, err, outputs = _run(run_env, template)

    assert code == 0, err
    mi, sig = outputs["runOutputs"]
    assert (mi["provisioningState"], sig["provisioningState"]) == ("Succeeded", "Succeeded")
    assert sig["artifactId"].endswith("/galleries/gal/images/ubuntu/versions/1.0.0")
    assert sorted(r["name"] for r in sig["regions"]) == sorted([LOCATION, "eastus"])
    assert run_env.fake.resource(sig["artifactId"])["tags"]["team"] == "platform"
    assert run_env.staging_groups() == []


def test_failed_replication_fails_the_run_marks_the_target_and_cleans_up(run_env: RunEnv) -> None:
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION)
    run_env.fake.fail_operation(r"/versions/", code="ReplicationFailed", message="replication to eastus failed")
    template = run_env.template(
        distribute=[
            {"type": "ManagedImage", "imageId": run_env.image_id(), "location": LOCATION, "runOutputName": "mi"},
            {"type": "SharedImage", "galleryImageId": run_env.gallery_image_id(), "runOutputName": "sig"},
        ]
    )
    code, err, outputs = _run(run_env, template)

    assert code == 1
    assert "distribution failed for sig" in err
    assert outputs["status"] == "Failed"
    states = {o["runOutputName"]: o["provisioningState"] for o in outputs["runOutputs"]}
    assert states == {"mi": "Succeeded", "sig": "Failed"}
    assert outputs["stagingDeleted"] is True
    assert run_env.staging_groups() == []


def test_artifact_tags_of_the_image_packer_builds_are_set_by_packer(run_env: RunEnv) -> None:
    template = run_env.template(
        distribute=[
            {
                "type": "ManagedImage",
                "imageId": run_env.image_id(),
                "location": LOCATION,
                "runOutputName": "mi",
                "artifactTags": {"os": "ubuntu", "team": "platform"},
            }
        ]
    )
    code, err, outputs = _run(run_env, template)

    assert outputs["runOutputs"][0]["provisioningState"] == "Succeeded"

    assert code == 0, err
    build = run_env.builds()[0]
    run_tags = next(a for a in build["argv"] if a.startswith("run_tags="))
    assert '"os" = "ubuntu"' in run_tags and '"team" = "platform"' in run_tags
    tags = run_env.fake.resource(run_env.image_id())["tags"]
    assert tags["os"] == "ubuntu" and tags["createdBy"] == "aibpack"
    # No call after the build touches the image Packer created and tagged.
    assert not [r for r in run_env.fake.requests if r[0] == "PATCH" and "/images/" in r[1]]
