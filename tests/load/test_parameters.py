import json
from pathlib import Path

import pytest

from aibpack.errors import AibpackError, Diagnostics
from aibpack.load.parameters import Parameters, declare, resolve

DECLARED = {
    "imageTemplateName": {"type": "string"},
    "count": {"type": "Int", "defaultValue": 1},
    "enabled": {"type": "bool", "defaultValue": False},
    "regions": {"type": "array", "defaultValue": [], "allowedValues": ["westus2", "eastus"]},
    "tags": {"type": "object", "defaultValue": {}},
    "size": {
        "type": "string",
        "defaultValue": "Standard_D2s_v3",
        "allowedValues": ["Standard_D2s_v3", "Standard_D4s_v3"],
    },
    "adminPassword": {"type": "secureString", "defaultValue": "", "allowedValues": ["", "right"]},
    "secrets": {"type": "secureObject", "defaultValue": {}},
}


def run(
    params: dict[str, str] | None = None,
    files: tuple[Path, ...] = (),
    declared: dict | None = None,
    diagnostics: Diagnostics | None = None,
) -> Parameters:
    return resolve(
        declare(DECLARED if declared is None else declared, "t.json"),
        params={"imageTemplateName": "img"} if params is None else params,
        files=files,
        template_file="t.json",
        diagnostics=diagnostics or Diagnostics(),
    )


def fails(**kwargs: object) -> AibpackError:
    with pytest.raises(AibpackError) as caught:
        run(**kwargs)  # type: ignore[arg-type]
    return caught.value


def write(tmp_path: Path, name: str, content: object) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_declarations_are_keyed_case_insensitively() -> None:
    declared = declare(DECLARED, "t.json")
    assert declared["imagetemplatename"].name == "imageTemplateName"
    assert declared["count"].type == "int"
    assert declared["count"].has_default
    assert not declared["imagetemplatename"].has_default
    assert declare(None, "t.json") == {}


@pytest.mark.parametrize(
    ("section", "path", "message"),
    [
        ([], ("parameters",), "expected an object of parameter declarations"),
        ({"a": "string"}, ("parameters", "a"), 'expected a declaration with a "type"'),
        ({"a": {"type": "float"}}, ("parameters", "a", "type"), "unknown parameter type 'float'"),
        (
            {"a": {"type": "string", "allowedValues": "x"}},
            ("parameters", "a", "allowedValues"),
            "expected an array",
        ),
    ],
)
def test_bad_declarations(section: object, path: tuple, message: str) -> None:
    with pytest.raises(AibpackError) as caught:
        declare(section, "t.json")
    assert caught.value.path == path
    assert message in caught.value.message


def test_param_values_are_decoded_by_declared_type() -> None:
    given = run(
        params={
            "IMAGETEMPLATENAME": "123",  # a string parameter keeps the text, even when it looks like JSON
            "count": "42",
            "enabled": "True",
            "regions": '["eastus"]',
            "tags": '{"team": "infra"}',
        }
    ).given
    assert given == {
        "imagetemplatename": "123",
        "count": 42,
        "enabled": True,
        "regions": ["eastus"],
        "tags": {"team": "infra"},
    }


def test_bad_int_param_names_the_parameter() -> None:
    err = fails(params={"imageTemplateName": "x", "count": "many"})
    assert err.path == ("parameters", "count")
    assert err.message.startswith("--param count: 'many' is not valid JSON for a int parameter")


def test_param_of_the_wrong_json_type() -> None:
    err = fails(params={"imageTemplateName": "x", "count": '"3"'})
    assert err.message == "parameter 'count' is declared int and needs an integer, got a string"
    assert "needs true or false, got an integer" in fails(params={"imageTemplateName": "x", "enabled": "1"}).message


def test_unknown_param_is_an_error() -> None:
    err = fails(params={"imageTemplateName": "x", "colour": "red"})
    assert err.message.startswith("--param colour: the template declares no parameter 'colour' (declared: ")
    assert err.file == "t.json"


def test_missing_value() -> None:
    err = fails(params={})
    assert (
        err.message
        == "no value for parameter imageTemplateName: pass --param imageTemplateName=VALUE (or --parameters FILE)"
    )
    assert err.path == ("parameters", "imageTemplateName")


def test_several_missing_values_are_listed() -> None:
    err = fails(
        params={}, declared={"a": {"type": "string"}, "b": {"type": "int"}, "c": {"type": "int", "defaultValue": 1}}
    )
    assert err.message == "no value for parameters a, b: pass --param a=VALUE --param b=VALUE (or --parameters FILE)"
    assert err.path == ("parameters", "a")


def test_allowed_values() -> None:
    assert run(params={"imageTemplateName": "x", "size": "Standard_D4s_v3"}).given["size"] == "Standard_D4s_v3"
    err = fails(params={"imageTemplateName": "x", "size": "Standard_B1s"})
    assert err.message == (
        'parameter \'size\': "Standard_B1s" is not one of the allowedValues ("Standard_D2s_v3", "Standard_D4s_v3")'
    )
    err = fails(params={"imageTemplateName": "x", "regions": '["westus2", "mars"]'})
    assert '"mars" is not one of the allowedValues' in err.message


def test_secure_values_are_never_shown() -> None:
    err = fails(params={"imageTemplateName": "x", "adminPassword": "hunter2"})
    assert "hunter2" not in err.message
    assert "the value is not one of the allowedValues" in err.message
    err = fails(params={"imageTemplateName": "x", "secrets": "{hunter2"})
    assert "hunter2" not in err.message


def test_secure_parameters_are_known() -> None:
    assert {p.name for p in run().declared.values() if p.secure} == {"adminPassword", "secrets"}


def test_parameter_file_full_and_bare_forms(tmp_path: Path) -> None:
    full = write(
        tmp_path,
        "full.json",
        {
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
            "contentVersion": "1.0.0.0",
            "parameters": {"imageTemplateName": {"value": "fromFull"}, "count": {"value": 5}},
        },
    )
    bare = write(tmp_path, "bare.json", '{"ImageTemplateName": {"value": "fromBare"}, // comment\n}')
    assert run(params={}, files=(full,)).given == {"imagetemplatename": "fromFull", "count": 5}
    # later files win, --param wins over files
    assert run(params={}, files=(full, bare)).given["imagetemplatename"] == "fromBare"
    assert run(params={"imageTemplateName": "cli"}, files=(full, bare)).given["imagetemplatename"] == "cli"


def test_parameter_file_holding_a_parameter_named_parameters(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", {"parameters": {"value": ["a"]}, "imageTemplateName": {"value": "x"}})
    given = run(params={}, files=(path,), declared={**DECLARED, "parameters": {"type": "array"}}).given
    assert given["parameters"] == ["a"]


def test_parameter_file_value_is_type_checked_at_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", {"parameters": {"count": {"value": "five"}}})
    err = fails(files=(path,))
    assert err.file == str(path)
    assert err.path == ("parameters", "count", "value")


def test_key_vault_reference_is_a_clear_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.json",
        {"parameters": {"adminPassword": {"reference": {"keyVault": {"id": "/subscriptions/x"}, "secretName": "pw"}}}},
    )
    err = fails(files=(path,))
    assert err.file == str(path)
    assert err.path == ("parameters", "adminPassword", "reference")
    assert err.message == (
        "parameter 'adminPassword' is a Key Vault reference, which aibpack cannot read: "
        "pass the value with --param adminPassword=VALUE"
    )


def test_parameter_file_entry_without_value(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", {"parameters": {"count": 5}})
    err = fails(files=(path,))
    assert err.message == "expected {\"value\": ...} for parameter 'count'"
    assert err.path == ("parameters", "count")


def test_undeclared_parameter_in_a_file_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", {"parameters": {"other": {"value": 1}}})
    diagnostics = Diagnostics()
    run(files=(path,), diagnostics=diagnostics)
    assert diagnostics.warnings == [f"{path}: parameters.other: not declared by the template; ignored"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1]", 'expected an object: {"parameters": {"NAME": {"value": ...}}}'),
        ('{"parameters": {', "invalid JSON at line 1 column 17"),
        ('{"$schema": "x", "parameters": []}', "expected an object"),
    ],
)
def test_bad_parameter_files(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path, "p.json", content)
    err = fails(files=(path,))
    assert err.file == str(path)
    assert err.message.startswith(message)


def test_missing_parameter_file(tmp_path: Path) -> None:
    err = fails(files=(tmp_path / "nope.json",))
    assert err.message == "parameter file not found"
    assert err.file == str(tmp_path / "nope.json")
