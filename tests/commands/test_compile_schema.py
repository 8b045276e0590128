"""Every compiled corpus template and example is valid against the current plugins' HCL2 schema.

The schema is the azure plugin's (and the provisioners') own ``*.hcl2spec.go`` (tests/data/packer_schema).
Each template is checked as ``compile`` writes it, published straight to its first gallery target when it has
one (what ``run`` writes for a modern Packer), and as a Trusted Launch build when that is possible.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from support.cli import run
from support.corpus import VALUES, compile_args, corpus_params, require_corpus, without_typos
from support.hcl_oracle import source
from support.packer_schema import check, schema

from aibpack.commands.options import compile_options
from aibpack.errors import AibpackError, Diagnostics
from aibpack.model.distribute import SharedImageTarget
from aibpack.pipeline import CompileOptions, compile_file
from aibpack.plan.capture import Capture

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PARAMETERS = EXAMPLES / "arm-deployment.parameters.json"
TEMPLATES = [
    *corpus_params(),
    *(
        pytest.param(EXAMPLES / name, id=name)
        for name in ("linux-gallery.json", "windows-restarts-updates.json", "arm-deployment.json")
    ),
]


def _args(file: Path) -> list[str]:
    if file.parent == EXAMPLES:
        return ["--parameters", str(PARAMETERS)] if file.name == "arm-deployment.json" else []
    return compile_args(file)


def _options(file: Path) -> CompileOptions:
    """What ``_args`` says, as the options the pipeline takes."""
    values = VALUES.get(file.name, {}) if file.parent != EXAMPLES else {}
    return compile_options(
        name=None,
        params=[(k, v if isinstance(v, str) else json.dumps(v)) for k, v in values.get("params", {}).items()],
        parameter_files=[PARAMETERS] if file.name == "arm-deployment.json" else [],
        placeholders=list(values.get("set", {}).items()),
        strict=False,
        provisioners=(),
        build_name=None,
        assume_context=True,
    )


@pytest.mark.parametrize("file", TEMPLATES)
def test_compiled_output_matches_the_plugin_schema(file: Path | None, tmp_path: Path) -> None:
    file = file or require_corpus()
    result = run(["compile", str(without_typos(file, tmp_path)), "-o", "-", *_args(file)])
    assert result.code == 0, result.err
    assert check(result.out) == []


@pytest.mark.parametrize("file", TEMPLATES)
def test_gallery_direct_and_trusted_launch_outputs_match_the_plugin_schema(file: Path | None, tmp_path: Path) -> None:
    file = file or require_corpus()
    options = _options(file)
    file = without_typos(file, tmp_path)  # compile refuses a misspelt property (test_compile_corpus checks it)
    template = compile_file(file, tmp_path, options, Diagnostics()).template
    galleries = [i for i, t in enumerate(template.properties.distribute) if isinstance(t, SharedImageTarget)]
    trusted = replace(options, security_type="TrustedLaunch")
    if not galleries:  # nowhere to publish to: only the managed-image route, which the test above checked
        with pytest.raises(AibpackError, match="--security-type TrustedLaunch needs a SharedImage target"):
            compile_file(file, tmp_path, trusted, Diagnostics())
        return
    direct = replace(options, capture=Capture(galleries[0]))
    assert check(compile_file(file, tmp_path, direct, Diagnostics()).hcl) == []
    try:
        hcl = compile_file(file, tmp_path, trusted, Diagnostics()).hcl
    except AibpackError as exc:
        assert "Azure never captures such a VM to a managed image" in exc.message
        return
    assert source(hcl)["security_type"] == '"TrustedLaunch"'
    assert check(hcl) == []


def test_the_checker_finds_unknown_names_blocks_written_as_attributes_and_wrong_types() -> None:
    text = """
variable "flag" {
  type    = string
  default = ""
}
source "azure-arm" "x" {
  location            = "westus"
  secure_boot_enabled = var.flag
  vtpm_enabled        = "yes"
  os_disk_size_gb     = "64"
  made_up_option      = 1
  shared_image_gallery_destination = {
    gallery_name = "g"
  }
  plan_info {
    plan_name = "p"
    plan_nope = "q"
  }
}
build {
  sources = ["source.azure-arm.x"]
  provisioner "shell" {
    name         = "n"
    inline       = ["a", 1]
    pause_before = "1s"
  }
  provisioner "ansible" {
    playbook_file = "p.yml"
  }
}
"""
    problems = check(text)
    assert sorted(problems) == sorted(
        [
            'source "azure-arm" "x".secure_boot_enabled: var.flag is string, not bool',
            'source "azure-arm" "x".vtpm_enabled: \'"yes"\' is not a bool',
            'source "azure-arm" "x".os_disk_size_gb: \'"64"\' is not a number',
            'source "azure-arm" "x".made_up_option: unsupported argument (not in the schema)',
            'source "azure-arm" "x".shared_image_gallery_destination: must be a block '
            "(shared_image_gallery_destination { ... }), not an attribute",
            'source "azure-arm" "x".plan_info.plan_nope: unsupported argument (not in the schema)',
            'provisioner[0] "shell".inline[1]: 1 is not a string',
            'provisioner[1] "ansible": no schema for provisioner type ansible',
        ]
    )


def test_the_schema_names_where_it_comes_from() -> None:
    sources = {entry["repository"]: entry for entry in schema()["sources"]}
    assert set(sources) == {
        "hashicorp/packer-plugin-azure",
        "hashicorp/packer-plugin-sdk",
        "hashicorp/packer",
        "rgl/packer-plugin-windows-update",
    }
    assert all(len(entry["commit"]) == 40 for entry in sources.values())
    azure = schema()["source"]["azure-arm"]
    assert azure["attributes"]["security_type"] == "string" and azure["attributes"]["vtpm_enabled"] == "bool"
    assert azure["blocks"]["shared_image_gallery_destination"]["blocks"]["target_region"]["repeated"] is True
