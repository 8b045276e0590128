"""The CI examples in examples/ci: valid YAML, one job per template, and every aibpack command they run exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from support.cli import parse, run

REPO = Path(__file__).resolve().parents[2]
CI = REPO / "examples" / "ci"
GITHUB = CI / "github-actions.yml"
AZURE = CI / "azure-pipelines.yml"


def _load(file: Path) -> dict:
    document = yaml.safe_load(file.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{file.name} is not a YAML mapping"
    return document


def _github_steps() -> list[dict]:
    return _load(GITHUB)["jobs"]["build"]["steps"]


def _azure_job() -> dict:
    (job,) = _load(AZURE)["jobs"]
    return job


def _github_templates() -> list[str]:
    return _load(GITHUB)["jobs"]["build"]["strategy"]["matrix"]["template"]


def _azure_templates() -> list[str]:
    return [entry["template"] for entry in _azure_job()["strategy"]["matrix"].values()]


def _scripts(file: Path) -> list[str]:
    """Every shell script the file runs: GitHub's ``run``, Azure's ``script`` and AzureCLI's ``inlineScript``."""
    if file == GITHUB:
        return [step["run"] for step in _github_steps() if "run" in step]
    scripts = []
    for step in _azure_job()["steps"]:
        if "script" in step:
            scripts.append(step["script"])
        elif step.get("task", "").startswith("AzureCLI@"):
            scripts.append(step["inputs"]["inlineScript"])
    return scripts


def _aibpack_commands(file: Path, template: str, temp: Path) -> list[list[str]]:
    """The aibpack command lines of ``file`` for one matrix entry, with the CI's variables filled in."""
    values = {
        "${{ matrix.template }}": template,
        "$(template)": template,
        "$RUNNER_TEMP": str(temp),
        "$(Agent.TempDirectory)": str(temp),
        "$(Build.ArtifactStagingDirectory)": str(temp / "staging"),
    }
    commands = []
    for script in _scripts(file):
        for line in script.splitlines():
            line = line.split(" #", 1)[0].strip()
            if not line.startswith("aibpack "):
                continue
            for name, value in values.items():
                line = line.replace(name, value)
            assert not re.search(r"\$\{\{|\$\(", line), f"unfilled CI variable in: {line}"
            commands.append(shlex.split(line)[1:])
    return commands


@pytest.mark.parametrize("file", [GITHUB, AZURE], ids=lambda f: f.name)
def test_ci_example_is_yaml_with_one_job_per_template(file: Path) -> None:
    templates = _github_templates() if file == GITHUB else _azure_templates()
    assert len(templates) == len(set(templates)) >= 2
    for template in templates:
        assert (REPO / template).is_file(), template


def test_github_workflow_signs_in_with_oidc_and_installs_packer() -> None:
    workflow = _load(GITHUB)
    assert workflow["permissions"]["id-token"] == "write"
    uses = {step.get("uses", "").split("@")[0]: step for step in _github_steps()}
    assert set(uses["azure/login"]["with"]) == {"client-id", "tenant-id", "subscription-id"}
    assert "client-secret" not in str(workflow)
    assert "hashicorp/setup-packer" in uses


def test_azure_pipeline_signs_in_through_a_service_connection_and_installs_packer() -> None:
    steps = _azure_job()["steps"]
    tasks = [step for step in steps if step.get("task", "").startswith("AzureCLI@")]
    assert tasks and all(task["inputs"]["azureSubscription"] for task in tasks)
    assert any("apt-get install" in step.get("script", "") and "packer" in step["script"] for step in steps)
    # Whatever talks to Azure runs inside the signed-in AzureCLI task.
    for step in steps:
        assert "aibpack run" not in step.get("script", "")


@pytest.mark.parametrize("file", [GITHUB, AZURE], ids=lambda f: f.name)
def test_every_aibpack_command_in_the_example_exists(file: Path, tmp_path: Path) -> None:
    templates = _github_templates() if file == GITHUB else _azure_templates()
    names = set()
    for template in templates:
        for args in _aibpack_commands(file, template, tmp_path):
            ctx = parse(args)
            names.add(ctx.info_name)
    assert {"aibpack validate", "aibpack run"} <= names


@pytest.mark.parametrize("file", [GITHUB, AZURE], ids=lambda f: f.name)
def test_the_examples_validate_step_passes_on_its_templates(file: Path, tmp_path: Path) -> None:
    templates = _github_templates() if file == GITHUB else _azure_templates()
    for template in templates:
        (validate,) = [args for args in _aibpack_commands(file, template, tmp_path) if args[0] == "validate"]
        result = run(validate, cwd=REPO)
        assert result.code == 0, result.err
        assert "warning:" not in result.err
