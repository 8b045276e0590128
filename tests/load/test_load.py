"""Loading a template file: the real templates, a bare image template resource, documents that are none, files."""

import json
import re
from pathlib import Path

import pytest
from load.load_support import SUB, fails, load

from aibpack.errors import AibpackError, Diagnostics
from aibpack.load import LoadOptions, load_template
from aibpack.load.placeholders import PLACEHOLDER

# --- the real templates -----------------------------------------------------------------------------


def test_corpus_values_cover_every_corpus_file(corpus_file: Path, corpus_values: dict) -> None:
    assert corpus_file.name in corpus_values
    assert {"set", "params"} <= set(corpus_values[corpus_file.name]) <= {"set", "params", "typos"}


def test_corpus_file_loads_with_the_values_a_user_passes(corpus_file: Path, corpus_values: dict) -> None:
    values = corpus_values[corpus_file.name]
    diagnostics = Diagnostics()
    options = LoadOptions(placeholders=values["set"], params=values["params"])
    loaded = load_template(corpus_file, options, diagnostics)
    assert diagnostics.warnings == []  # every --set is used
    assert loaded.file == corpus_file
    assert isinstance(loaded.resource["properties"], dict)
    text = json.dumps(loaded.resource)
    assert not PLACEHOLDER.search(text)
    assert "[parameters(" not in text and "[concat(" not in text and "[variables(" not in text
    if "imageTemplateName" in values["params"]:
        assert loaded.name == values["params"]["imageTemplateName"]
        assert loaded.resource_path == ("resources", 0)
    else:
        assert loaded.name is None
        assert loaded.resource_path == ()
    assert loaded.secure_values == frozenset()


def test_corpus_file_without_values_names_all_that_is_missing_at_once(corpus_file: Path, corpus_values: dict) -> None:
    """One round trip: the error names every --set and every --param the template needs, together."""
    with pytest.raises(AibpackError) as caught:
        load_template(corpus_file, LoadOptions(), Diagnostics())
    assert caught.value.file == str(corpus_file)
    message = caught.value.message
    assert set(re.findall(r"--set ([\w.-]+)=VALUE", message)) == set(corpus_values[corpus_file.name]["set"])
    asked = set(re.findall(r"--param ([\w.-]+)=VALUE", message))
    assert asked <= set(corpus_values[corpus_file.name]["params"])
    # What is asked for is enough: with exactly those values the template loads.
    given = {name: value for name, value in corpus_values[corpus_file.name]["params"].items() if name in asked}
    options = LoadOptions(placeholders=corpus_values[corpus_file.name]["set"], params=given)
    load_template(corpus_file, options, Diagnostics())


def test_corpus_arm_template_is_evaluated(corpus_dir: Path, corpus_values: dict) -> None:
    name = "solutions__4_Using_ENV_Variables__devOpsEnvTemplate.json"
    values = corpus_values[name]
    loaded = load_template(corpus_dir / name, LoadOptions(params=values["params"]), Diagnostics())
    target = loaded.resource["properties"]["distribute"][0]
    assert (
        target["imageId"]
        == f"/subscriptions/{SUB}/resourceGroups/aibImageRG/providers/Microsoft.Compute/images/aibDevOpsImg01"
    )
    assert target["runOutputName"] == "aibDevOpsImg01"  # parameters('managedimagename'): names ignore case
    assert target["location"] == "westus2"
    assert loaded.resource["properties"]["customize"][0]["inline"] == [
        "Target_OS=ubuntu1804",
        "echo setting Target OS working directory: $Target_OS",
        "sudo mkdir /$Target_OS",
    ]


def test_corpus_placeholder_key_inside_an_arm_template(corpus_dir: Path, corpus_values: dict) -> None:
    name = "solutions__14_Building_Images_WVD__armTemplateWVD.json"
    values = corpus_values[name]
    options = LoadOptions(placeholders=values["set"], params=values["params"])
    loaded = load_template(corpus_dir / name, options, Diagnostics())
    assert list(loaded.resource["identity"]["userAssignedIdentities"]) == [values["set"]["imgBuilderId"]]
    assert loaded.resource["apiVersion"] == values["params"]["api-version"]


# --- the bare resource ------------------------------------------------------------------------------


def test_bare_resource_is_taken_literally() -> None:
    resource = {
        "type": "Microsoft.VirtualMachineImages",
        "location": "westus2",
        "properties": {"customize": [{"type": "Shell", "inline": ["[ -d /x ]", "[[kept]"]}]},
    }
    loaded = load(resource)
    assert loaded.resource == resource
    assert loaded.name is None
    assert loaded.resource_path == ()


def test_bare_resource_name_and_dash_dash_name() -> None:
    assert load({"properties": {}}, name="fromCli").name == "fromCli"
    assert load({"name": "own", "properties": {}}).name == "own"
    assert load({"name": "own", "properties": {}}, name="OWN").name == "own"
    err = fails({"name": "own", "properties": {}}, name="other")
    assert err.message == "--name other: the template is named 'own'"
    assert err.path == ("name",)


def test_bare_resource_takes_no_params() -> None:
    assert "declares no parameters" in fails({"properties": {}}, params={"a": "b"}).message


@pytest.mark.parametrize(
    "document",
    [
        "[1, 2]",
        '"text"',
        {"location": "westus2"},
        {"properties": "x"},
        {"type": "Microsoft.Compute/virtualMachines", "properties": {}},
    ],
)
def test_not_an_image_template(document: object) -> None:
    err = fails(document)
    assert err.message.startswith("not an image template: expected a Microsoft.VirtualMachineImages/imageTemplates")
    assert err.file == "t.json"


@pytest.mark.parametrize(
    "document",
    [
        {"$schema": "https://x/deploymentParameters.json#", "parameters": {"a": {"value": 1}}},
        {"parameters": {"imageTemplateName": {"value": "x"}, "secret": {"reference": {"keyVault": {}}}}},
    ],
)
def test_a_parameters_file_given_as_the_template_is_named_so(document: object) -> None:
    err = fails(document)
    assert err.message == "an ARM parameters file, not a template: pass it with the template it belongs to, " + (
        "aibpack compile TEMPLATE --parameters t.json"
    )


# --- files ------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AibpackError) as caught:
        load_template(tmp_path / "none.json", LoadOptions(), Diagnostics())
    assert str(caught.value) == f"{tmp_path / 'none.json'}: file not found"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"properties": {"x": "caf\u00e9"}}'.encode("latin-1"))
    with pytest.raises(AibpackError) as caught:
        load_template(path, LoadOptions(), Diagnostics())
    assert caught.value.file == str(path)
    assert caught.value.message.startswith("not UTF-8 text")


def test_bom_comments_and_trailing_commas(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(b'\xef\xbb\xbf{\n  // a comment\n  "properties": {"a": "http://x",},\n}')
    assert load_template(path, LoadOptions(), Diagnostics()).resource == {"properties": {"a": "http://x"}}


def test_bad_json_names_the_file_and_position() -> None:
    err = fails('{\n  "properties": {\n    "a": 1\n    "b": 2\n  }\n}')
    assert str(err) == "t.json: invalid JSON at line 4 column 5: Expecting ',' delimiter"
