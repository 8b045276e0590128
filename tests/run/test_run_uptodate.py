"""Up to date means no build: artifacts carry ``aibpackInputs``, and a run whose targets hold them builds nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

from support.cli import run
from support.run_env import DEST_GROUP, LOCATION, SOURCE, SOURCE_VERSION, FileServer, RunEnv

TAG = "aibpackInputs"


def _run(env: RunEnv, template: Path, *extra: str) -> tuple[int, str, dict]:
    outputs = env.tmp / "outputs.json"
    result = run(["run", str(template), "--auth", "cli", "--output-json", str(outputs), *extra])
    return result.code, result.err, json.loads(outputs.read_text())


def _script(env: RunEnv, text: str) -> None:
    (env.tmp / "setup.sh").write_text(text)


def _template(env: RunEnv, **kwargs) -> Path:  # type: ignore[no-untyped-def]
    """The default template with a local script (``setup.sh`` beside it)."""
    if not (env.tmp / "setup.sh").exists():
        _script(env, "#!/bin/sh\necho v1\n")
    return env.template(customize=[{"type": "Shell", "name": "setup", "scriptUri": "setup.sh"}], **kwargs)


def _groups_created(env: RunEnv) -> list[str]:
    return [path for method, path, _ in env.fake.requests if method == "PUT" and path.count("/") == 4]


def test_the_second_run_with_unchanged_inputs_builds_nothing(run_env: RunEnv) -> None:
    template = _template(run_env)
    code, err, first = _run(run_env, template)
    assert code == 0, err
    image = run_env.fake.resource(run_env.image_id())
    digest = image["tags"][TAG]
    assert len(digest) == 64
    run_env.fake.clear_requests()
    calls_before = len(run_env.packer_calls())

    code, err, second = _run(run_env, template)

    assert code == 0, err
    assert run_env.packer_calls()[calls_before:] == []  # no packer at all, not even `packer version`
    assert _groups_created(run_env) == [] and run_env.writes() == []  # nothing created, nothing changed
    assert second["upToDate"] is True and second["status"] == "Succeeded"
    assert second["stagingResourceGroup"] is None
    assert second["runOutputs"] == [
        {
            "runOutputName": "managed",
            "type": "ManagedImage",
            "artifactId": run_env.image_id(),
            "artifactUri": None,
            "provisioningState": "Succeeded",
            "regions": [{"name": LOCATION, "replicationState": "Completed", "details": ""}],
        }
    ]
    assert "upToDate" not in first  # a build keeps today's object
    assert f"golden: up to date ({TAG}={digest}), nothing built" in err
    assert f"managed (ManagedImage, {LOCATION} Completed): {run_env.image_id()}" in err


def test_a_newer_marketplace_version_rebuilds_from_exactly_that_version(run_env: RunEnv) -> None:
    template = _template(run_env)
    assert _run(run_env, template)[0] == 0
    old = run_env.fake.resource(run_env.image_id())["tags"][TAG]
    newer = "24.04.202502210"
    run_env.fake.add_platform_image(*SOURCE, newer, generation="V2", location=LOCATION)

    work = run_env.tmp / "w2"
    code, err, outputs = _run(run_env, template, "--work-dir", str(work))

    assert code == 0, err
    assert len(run_env.builds()) == 2 and "upToDate" not in outputs
    assert re.search(rf'image_version\s+= "{newer}"', (work / "golden.pkr.hcl").read_text())  # what the digest names
    assert "-force" in run_env.builds()[1]["argv"]  # Packer replaces the image an older build left
    assert run_env.fake.resource(run_env.image_id())["tags"][TAG] not in (old, "")
    assert run_env.staging_groups() == []


def test_a_changed_script_rebuilds(run_env: RunEnv) -> None:
    template = _template(run_env)
    assert _run(run_env, template)[0] == 0
    _script(run_env, "#!/bin/sh\necho v2\n")

    code, err, outputs = _run(run_env, template)

    assert code == 0, err
    assert len(run_env.builds()) == 2 and "upToDate" not in outputs


def test_a_changed_remote_file_without_checksum_rebuilds(run_env: RunEnv, file_server: FileServer) -> None:
    url, _ = file_server.add("remote.sh", b"echo one\n")
    template = run_env.template(customize=[{"type": "Shell", "scriptUri": url}])
    assert _run(run_env, template)[0] == 0
    assert _run(run_env, template)[2].get("upToDate") is True
    file_server.add("remote.sh", b"echo two\n")

    code, err, outputs = _run(run_env, template)

    assert code == 0, err
    assert len(run_env.builds()) == 2 and "upToDate" not in outputs


def test_force_rebuilds_an_up_to_date_template(run_env: RunEnv) -> None:
    template = _template(run_env)
    assert _run(run_env, template)[0] == 0

    code, err, outputs = _run(run_env, template, "--force")

    assert code == 0, err
    assert len(run_env.builds()) == 2 and "upToDate" not in outputs
    assert run_env.staging_groups() == []


def test_any_gallery_version_with_the_tag_counts_for_latest_versioning(run_env: RunEnv) -> None:
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION)
    template = _template(
        run_env,
        distribute=[{"type": "SharedImage", "galleryImageId": run_env.gallery_image_id(), "runOutputName": "sig"}],
    )
    code, err, first = _run(run_env, template)
    assert code == 0, err
    built = first["runOutputs"][0]["artifactId"]
    assert run_env.fake.resource(built)["tags"][TAG]
    # Someone publishes a newer version from other inputs: the one made from these inputs still counts.
    other = run_env.gallery_image_id() + "/versions/2.0.0"
    run_env.fake.add_resource(other, {"location": LOCATION, "tags": {TAG: "0" * 64}})
    run_env.fake.clear_requests()

    code, err, second = _run(run_env, template)

    assert code == 0, err
    assert second["upToDate"] is True and len(run_env.builds()) == 1
    assert [o["artifactId"] for o in second["runOutputs"]] == [built]
    assert second["runOutputs"][0]["regions"] == [{"name": LOCATION, "replicationState": "Completed", "details": ""}]
    assert run_env.writes() == []


def test_every_target_must_hold_the_artifact(run_env: RunEnv) -> None:
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION)
    sig = {"type": "SharedImage", "galleryImageId": run_env.gallery_image_id(), "runOutputName": "sig"}
    managed = {"type": "ManagedImage", "imageId": run_env.image_id(), "location": LOCATION, "runOutputName": "mi"}
    assert _run(run_env, _template(run_env, distribute=[managed, sig]))[0] == 0
    for version in run_env.fake.resources(DEST_GROUP):
        if "/versions/" in version:
            run_env.fake.add_resource(version, {"location": LOCATION, "tags": {}})  # its tag is gone

    code, err, outputs = _run(run_env, _template(run_env, distribute=[managed, sig]))

    assert code == 0, err
    assert len(run_env.builds()) == 2 and "upToDate" not in outputs


def test_an_image_aibpack_did_not_publish_is_never_replaced(run_env: RunEnv) -> None:
    run_env.fake.add_resource(run_env.image_id(), {"location": LOCATION, "tags": {"owner": "someone"}})

    code, err, outputs = _run(run_env, _template(run_env))

    assert code == 1 and outputs["status"] == "Failed"
    assert "properties.distribute[0].imageId" in err and "aibpack did not publish it" in err
    assert run_env.writes() == [] and run_env.builds() == []
    assert run_env.fake.resource(run_env.image_id())["tags"] == {"owner": "someone"}


def test_compile_prints_the_digest_run_tags_with_when_all_is_known_offline(run_env: RunEnv) -> None:
    template = _template(run_env)
    body = json.loads(template.read_text())
    body["properties"]["source"]["version"] = SOURCE_VERSION
    template.write_text(json.dumps(body))
    printed = run(["compile", str(template), "--print-inputs-digest"])
    assert printed.code == 0, printed.err

    assert _run(run_env, template)[0] == 0

    digest, name = printed.out.split()
    assert name == str(template)
    assert run_env.fake.resource(run_env.image_id())["tags"][TAG] == digest


def test_compile_says_what_it_cannot_know_offline(run_env: RunEnv) -> None:
    template = _template(run_env)  # source version "latest"

    printed = run(["compile", str(template), "--print-inputs-digest"])
    assert _run(run_env, template)[0] == 0

    assert printed.code == 0, printed.err
    partial, _ = printed.out.split()
    assert partial.startswith("partial:")
    assert "latest" in printed.err and "aibpack run" in printed.err
    assert run_env.fake.resource(run_env.image_id())["tags"][TAG] != partial.removeprefix("partial:")
    assert not list(run_env.tmp.glob("*.pkr.hcl"))  # it prints; it writes no HCL


def test_a_source_the_catalogue_does_not_list_is_never_up_to_date(run_env: RunEnv) -> None:
    unlisted = {"type": "PlatformImage", "publisher": "Canonical", "offer": "private-offer", "sku": "server"}
    template = _template(run_env, source={**unlisted, "version": "latest"})
    assert _run(run_env, template)[0] == 0

    code, err, outputs = _run(run_env, template)

    assert code == 0, err
    assert len(run_env.builds()) == 2 and "upToDate" not in outputs
    assert "Canonical:private-offer:server:latest is not listed in westus's marketplace catalogue: built" in err
