"""``aibpack run T1 T2 …``: one preflight for all templates, then the builds concurrently."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cli import run
from support.run_env import DEST_GROUP, LOCATION, FileServer, RunEnv

NAMES = ("web", "db", "cache")
BUILD_SECONDS = 2.0


def _catalogue(env: RunEnv, names: tuple[str, ...] = NAMES) -> list[Path]:
    return [env.template(name=name) for name in names]


def _run(env: RunEnv, templates: list[Path], *extra: str) -> tuple[int, str, object, float]:
    outputs = env.tmp / "outputs.json"
    args = ["run", *map(str, templates), "--auth", "cli", "--output-json", str(outputs), *extra]
    start = time.monotonic()
    result = run(args)
    return result.code, result.err, json.loads(outputs.read_text()), time.monotonic() - start


def test_three_templates_build_at_once(run_env: RunEnv) -> None:
    run_env.monkeypatch.setenv("FAKE_PACKER_SECONDS", str(BUILD_SECONDS))
    code, err, single, longest = _run(run_env, [run_env.template(name="solo")])
    assert code == 0, err

    code, err, outputs, elapsed = _run(run_env, _catalogue(run_env))

    assert code == 0, err
    assert elapsed < 1.7 * longest, (elapsed, longest)
    starts = sorted(build["start"] for build in run_env.builds()[1:])
    assert starts[-1] - starts[0] < BUILD_SECONDS  # all three were under way together
    assert isinstance(single, dict)  # one template: today's object
    assert [o["template"] for o in outputs] == list(NAMES)  # several: a list, in argument order
    assert all(o["status"] == "Succeeded" and o["runOutputs"] for o in outputs)
    for name in NAMES:
        assert f"[{name}] " in err  # packer's lines, prefixed with their template
        assert f"\n{name}: Succeeded in " in err  # the summary names each template
        assert f"  managed (ManagedImage, {LOCATION} Completed): {run_env.image_id(name)}" in err
    assert "3 templates: 3 built, 0 up to date, 0 failed" in err
    assert run_env.staging_groups() == []


def test_parallel_limits_the_builds_at_once(run_env: RunEnv) -> None:
    run_env.monkeypatch.setenv("FAKE_PACKER_SECONDS", "0.5")

    code, err, _, _ = _run(run_env, _catalogue(run_env, NAMES[:2]), "--parallel", "1")

    assert code == 0, err
    first, second = sorted(build["start"] for build in run_env.builds())
    assert second - first >= 0.5  # the second began after the first had finished


def test_one_bad_checksum_among_three_stops_everything(run_env: RunEnv, file_server: FileServer) -> None:
    url, _ = file_server.add("setup.sh", b"echo hi\n")
    web, cache = run_env.template(name="web"), run_env.template(name="cache")
    db = run_env.template(name="db", customize=[{"type": "Shell", "scriptUri": url, "sha256Checksum": "ab" * 32}])

    code, err, outputs, _ = _run(run_env, [web, db, cache])

    assert code == 1
    assert f"error: {db}: properties.customize[0].scriptUri" in err and "sha256Checksum" in err
    assert run_env.writes() == [] and run_env.builds() == [] and run_env.staging_groups() == []
    assert [(o["template"], o["status"]) for o in outputs] == [
        ("web", "Canceled"),
        ("db", "Failed"),
        ("cache", "Canceled"),
    ]
    assert "web: not built (preflight failed for db)" in err


def test_every_error_of_every_template_is_printed(run_env: RunEnv, file_server: FileServer) -> None:
    url, _ = file_server.add("setup.sh", b"echo hi\n")
    bad_script = run_env.template(name="a", customize=[{"type": "Shell", "scriptUri": url, "sha256Checksum": "0" * 64}])
    no_gallery = run_env.template(
        name="b",
        distribute=[{"type": "SharedImage", "galleryImageId": run_env.gallery_image_id(), "runOutputName": "sig"}],
    )
    bad_json = run_env.tmp / "c.json"
    bad_json.write_text('{"type": "Microsoft.VirtualMachineImages/imageTemplates", "location": "westus"}')

    code, err, outputs, _ = _run(run_env, [bad_script, no_gallery, bad_json, run_env.template(name="d")])

    assert code == 2  # a template that is bad input
    assert f"error: {bad_script}: properties.customize[0].scriptUri" in err
    assert f"error: {no_gallery}: properties.distribute[0].galleryImageId" in err and "gal/ubuntu not found" in err
    assert f"error: {bad_json}" in err
    assert [o["status"] for o in outputs] == ["Failed", "Failed", "Failed", "Canceled"]
    assert run_env.writes() == [] and run_env.builds() == []


def test_up_to_date_templates_are_skipped_and_the_changed_one_is_built(run_env: RunEnv) -> None:
    templates = _catalogue(run_env)
    assert _run(run_env, templates)[0] == 0
    run_env.fake.clear_requests()
    changed = run_env.template(name="db", vmProfile={"vmSize": "Standard_D4s_v5"})

    code, err, outputs, _ = _run(run_env, [templates[0], changed, templates[2]])

    assert code == 0, err
    assert [o.get("upToDate", False) for o in outputs] == [True, False, True]
    assert [b["argv"][-1] for b in run_env.builds()[3:]] == ["db.pkr.hcl"]
    assert "3 templates: 1 built, 2 up to date, 0 failed" in err
    assert "[web] up to date: every target holds an artifact tagged aibpackInputs=" in err


def test_same_file_names_get_their_own_work_dirs(run_env: RunEnv) -> None:
    one, two = run_env.tmp / "one", run_env.tmp / "two"
    for folder, name in ((one, "web"), (two, "db")):
        folder.mkdir()
        run_env.template(name=name).rename(folder / "image.json")
    work = run_env.tmp / "work"

    code, err, _, _ = _run(run_env, [one / "image.json", two / "image.json"], "--work-dir", str(work))

    assert code == 0, err
    assert (work / "image" / "web.pkr.hcl").is_file() and (work / "image-2" / "db.pkr.hcl").is_file()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_and_cleans_up_every_build(run_env: RunEnv, sig: signal.Signals) -> None:
    run_env.fake.add_gallery_image(DEST_GROUP, "gal", "ubuntu", LOCATION)
    outputs = run_env.tmp / "outputs.json"
    env = {**os.environ, "FAKE_PACKER_MODE": "hang"}
    templates = [str(t) for t in _catalogue(run_env, NAMES[:2])]
    proc = subprocess.Popen(
        [sys.executable, "-m", "aibpack", "run", *templates, "--auth", "cli", "--output-json", str(outputs)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(run_env.builds()) < 2 or len(run_env.staging_groups()) < 2:
            assert time.monotonic() < deadline, "the builds did not start"
            time.sleep(0.05)
        time.sleep(0.3)  # let both fakes reach their sleep
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 130, err
    for build in run_env.builds():
        with pytest.raises(ProcessLookupError):
            os.killpg(build["pgid"], 0)
    assert run_env.staging_groups() == []
    assert [(o["status"], o["stagingDeleted"]) for o in json.loads(outputs.read_text())] == [("Canceled", True)] * 2
    assert "Traceback" not in err
