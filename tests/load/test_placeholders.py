import pytest

from aibpack.errors import AibpackError, Diagnostics
from aibpack.load.placeholders import check_names, check_resolved, replace


def test_replaces_in_values_keys_and_longer_strings() -> None:
    document = {
        "location": "<region>",
        "identity": {"userAssignedIdentities": {"<imgBuilderId>": {}}},
        "imageId": "/subscriptions/<subscriptionID>/resourceGroups/<rgName>/images/x",
        "count": 3,
        "list": ["<region>", None],
    }
    values = {"region": "westus2", "imgBuilderId": "/ids/aib", "subscriptionID": "1111", "rgName": "rg"}
    diagnostics = Diagnostics()
    assert replace(document, values, diagnostics) == {
        "location": "westus2",
        "identity": {"userAssignedIdentities": {"/ids/aib": {}}},
        "imageId": "/subscriptions/1111/resourceGroups/rg/images/x",
        "count": 3,
        "list": ["westus2", None],
    }
    assert diagnostics.warnings == []


def test_names_match_exactly_and_values_are_not_rescanned() -> None:
    result = replace({"a": "<Region> <region>", "b": "<x>"}, {"region": "<x>", "x": "y"}, Diagnostics())
    assert result == {"a": "<Region> <x>", "b": "y"}


def test_unused_set_is_a_warning() -> None:
    diagnostics = Diagnostics()
    replace({"a": "<region>"}, {"region": "w", "unused": "v"}, diagnostics)
    assert diagnostics.warnings == ["--set unused: the template has no <unused> placeholder"]
    with pytest.raises(AibpackError, match=r"no <unused> placeholder \(--strict\)"):
        replace({}, {"unused": "v"}, Diagnostics(strict=True))


def test_set_names_may_be_given_with_angle_brackets() -> None:
    assert check_names({"<region>": "w", "rg.name-1_x": "v"}, "t.json") == {"region": "w", "rg.name-1_x": "v"}
    with pytest.raises(AibpackError, match=r"--set 1bad: a placeholder name is a letter"):
        check_names({"1bad": "v"}, "t.json")


def test_unresolved_placeholder_names_path_and_fix() -> None:
    with pytest.raises(AibpackError) as caught:
        check_resolved({"properties": {"distribute": [{"runOutputName": "<runOutputName>"}]}}, "t.json", ())
    err = caught.value
    assert err.message == "unresolved placeholder <runOutputName>: pass --set runOutputName=VALUE"
    assert err.path == ("properties", "distribute", 0, "runOutputName")
    assert err.file == "t.json"


def test_all_unresolved_placeholders_at_once_with_the_first_path() -> None:
    resource = {
        "location": "fine",
        "identity": {"userAssignedIdentities": {"<imgBuilderId>": {}}},
        "properties": {"x": "<a> and <b>", "y": "<a>"},
    }
    with pytest.raises(AibpackError) as caught:
        check_resolved(resource, "t.json", ("resources", 0))
    err = caught.value
    assert err.message == (
        "unresolved placeholders <imgBuilderId>, <a>, <b>: pass --set imgBuilderId=VALUE --set a=VALUE --set b=VALUE"
        " (or --set-file FILE with a NAME=VALUE line each)"
    )
    assert err.path == ("resources", 0, "identity", "userAssignedIdentities")


def test_inline_lines_are_content_never_errors() -> None:
    resource = {
        "properties": {
            "customize": [
                {"type": "Shell", "inline": ["cat <<EOF > /tmp/x", "echo '<b>bold</b>' 2>&1", "<pre>"]},
                {"type": "PowerShell", "Inline": ["Write-Host <name>"]},
            ],
            "validate": {"inVMValidations": [{"type": "Shell", "inline": ["test <value>"]}]},
        }
    }
    check_resolved(resource, "t.json", ())


def test_inline_lines_still_get_set_values() -> None:
    document = {"properties": {"customize": [{"inline": ["echo <greeting> <b>"]}]}}
    result = replace(document, {"greeting": "hi"}, Diagnostics())
    assert result == {"properties": {"customize": [{"inline": ["echo hi <b>"]}]}}


def test_only_inline_lines_are_exempt() -> None:
    resource = {"properties": {"customize": [{"type": "Shell", "scriptUri": "<scriptUrl>", "inline": ["ok"]}]}}
    with pytest.raises(AibpackError, match=r"unresolved placeholder <scriptUrl>"):
        check_resolved(resource, "t.json", ())


def test_shell_syntax_is_not_a_placeholder() -> None:
    check_resolved({"properties": {"x": "a < b > c", "y": "<>", "z": "2>&1 <<EOF <1abc>"}}, "t.json", ())
