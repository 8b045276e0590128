"""ARM deployment templates: the image template among their resources, evaluated with the template's parameters,
variables and placeholders, and inside nested deployments (Bicep modules)."""

import json
from pathlib import Path

from load.load_support import SUB, fails, load

from aibpack.errors import Diagnostics
from aibpack.load import LoadOptions, load_template


def image_template(name: str = "[parameters('imageTemplateName')]", **extra: object) -> dict:
    return {
        "type": "Microsoft.VirtualMachineImages/imageTemplates",
        "apiVersion": "2022-07-01",
        "name": name,
        "location": "westus2",
        "properties": {"source": {"type": "PlatformImage"}, "customize": [], "distribute": []},
        **extra,
    }


def arm(*resources: dict, parameters: dict | None = None, variables: dict | None = None) -> dict:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": parameters if parameters is not None else {"imageTemplateName": {"type": "string"}},
        "variables": variables or {},
        "resources": list(resources),
    }


# --- ARM deployment templates -----------------------------------------------------------------------


def test_arm_template_detected_by_resources_without_schema() -> None:
    document = {"resources": [image_template(name="plain")]}
    assert load(document).name == "plain"


def test_only_image_templates_are_considered() -> None:
    document = arm(
        {"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "name": "[nope()]"},
        image_template(),
        parameters={"imageTemplateName": {"type": "string", "defaultValue": "one"}},
    )
    loaded = load(document)
    assert loaded.name == "one"
    assert loaded.resource_path == ("resources", 1)


def test_type_is_case_insensitive() -> None:
    resource = image_template(name="x")
    resource["type"] = "microsoft.virtualmachineimages/IMAGETEMPLATES"
    assert load(arm(resource, parameters={})).name == "x"


def test_no_image_template() -> None:
    err = fails(arm({"type": "Microsoft.Storage/storageAccounts", "name": "s"}, parameters={}))
    assert err.message == "the ARM template holds no Microsoft.VirtualMachineImages/imageTemplates resource"
    assert err.path == ("resources",)


def test_several_image_templates_need_name() -> None:
    document = arm(image_template(name="linux"), image_template(name="windows"), parameters={})
    err = fails(document)
    assert err.message == "the ARM template holds 2 image templates ('linux', 'windows'): pick one with --name"
    loaded = load(document, name="WINDOWS")
    assert loaded.name == "windows"
    assert loaded.resource_path == ("resources", 1)
    err = fails(document, name="mac")
    assert err.message == "--name mac: no image template of that name ('linux', 'windows')"


def test_condition_false_is_skipped() -> None:
    document = arm(
        image_template(name="off", condition="[equals(parameters('which'), 'on')]"),
        image_template(name="on"),
        parameters={"which": {"type": "string", "defaultValue": "off"}},
    )
    assert load(document).name == "on"


def test_symbolic_resources_object() -> None:
    document = arm(parameters={})
    document["languageVersion"] = "2.0"
    document["resources"] = {"aib": image_template(name="sym")}
    loaded = load(document)
    assert loaded.name == "sym"
    assert loaded.resource_path == ("resources", "aib")


def test_expressions_in_the_resource_are_evaluated() -> None:
    document = arm(
        image_template(
            apiVersion="[parameters('api-version')]",
            identity={"type": "UserAssigned", "userAssignedIdentities": {"[variables('identity')]": {}}},
            tags={"literal": "[[not an expression]"},
        ),
        parameters={"imageTemplateName": {"type": "string"}, "api-version": {"type": "string"}},
        variables={
            "identity": "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'aibIdentity')]",
        },
    )
    loaded = load(
        document,
        params={"imageTemplateName": "img", "API-VERSION": "2022-07-01"},
        subscription_id=SUB,
        resource_group="aibImageRG",
    )
    assert loaded.resource["apiVersion"] == "2022-07-01"
    assert list(loaded.resource["identity"]["userAssignedIdentities"]) == [
        f"/subscriptions/{SUB}/resourceGroups/aibImageRG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aibIdentity"
    ]
    assert loaded.resource["tags"] == {"literal": "[not an expression]"}


def test_location_from_context() -> None:
    document = arm(image_template(name="x", location="[resourceGroup().location]"), parameters={})
    assert load(document, location="eastus").resource["location"] == "eastus"
    err = fails(document)
    assert err.message == "resourceGroup().location is not known offline: pass --location LOCATION"
    assert err.path == ("resources", 0, "location")


def test_error_path_is_from_the_file_root() -> None:
    resource = image_template(name="x")
    resource["properties"]["customize"] = [{"type": "Shell", "scriptUri": "[reference('a')]"}]
    err = fails(arm(resource, parameters={}))
    assert err.path == ("resources", 0, "properties", "customize", 0, "scriptUri")
    assert "reference() cannot be evaluated offline" in err.message


def test_placeholders_are_replaced_before_evaluation() -> None:
    document = arm(
        image_template(name="[concat('<prefix>', '-img')]"),
        parameters={},
    )
    assert load(document, placeholders={"prefix": "team"}).name == "team-img"


def test_unresolved_placeholder_in_an_arm_resource() -> None:
    document = arm(image_template(name="x", location="<region>"), parameters={})
    err = fails(document)
    assert err.message == "unresolved placeholder <region>: pass --set region=VALUE"
    assert err.path == ("resources", 0, "location")


def test_unresolved_placeholder_from_a_parameter_default() -> None:
    document = arm(
        image_template(name="x", location="[parameters('loc')]"),
        parameters={"loc": {"type": "string", "defaultValue": "<region>"}},
    )
    assert fails(document).path == ("resources", 0, "location")
    assert load(document, placeholders={"region": "westus2"}).resource["location"] == "westus2"


def test_missing_parameter_and_unknown_param() -> None:
    err = fails(arm(image_template()))
    assert str(err) == (
        "t.json: parameters.imageTemplateName: no value for parameter imageTemplateName: "
        "pass --param imageTemplateName=VALUE (or --parameters FILE)"
    )


def test_missing_parameters_and_placeholders_are_named_together() -> None:
    document = arm(
        image_template(location="<region>", identity={"userAssignedIdentities": {"<imgBuilderId>": {}}}),
        parameters={"imageTemplateName": {"type": "string"}, "size": {"type": "int"}},
    )
    document["parameters"]["imageTemplateName"]["metadata"] = {"description": "not a <placeholder>"}
    document["resources"][0]["properties"]["customize"] = [{"type": "Shell", "inline": ["echo <b>bold</b>"]}]
    err = fails(document)
    assert err.message == (
        "no value for parameters imageTemplateName, size and unresolved placeholders <region>, <imgBuilderId>: "
        "pass --param imageTemplateName=VALUE --param size=VALUE (or --parameters FILE) "
        "--set region=VALUE --set imgBuilderId=VALUE (or --set-file FILE with a NAME=VALUE line each)"
    )
    assert err.path == ("parameters", "imageTemplateName")
    loaded = load(
        document, params={"imageTemplateName": "x", "size": "1"}, placeholders={"region": "r", "imgBuilderId": "i"}
    )
    assert loaded.resource["location"] == "r"
    err = fails(arm(image_template()), params={"imageTemplateName": "x", "extra": "y"})
    assert err.message.startswith("--param extra: the template declares no parameter 'extra'")


def test_bad_int_param() -> None:
    document = arm(
        image_template(name="x", properties={"buildTimeoutInMinutes": "[parameters('timeout')]"}),
        parameters={"timeout": {"type": "int"}},
    )
    assert load(document, params={"timeout": "90"}).resource["properties"]["buildTimeoutInMinutes"] == 90
    err = fails(document, params={"timeout": "ninety"})
    assert err.path == ("parameters", "timeout")


def test_secure_values_are_reported() -> None:
    document = arm(
        image_template(name="x", properties={"customize": [{"inline": ["[concat('pw=', parameters('pw'))]"]}]}),
        parameters={"pw": {"type": "secureString"}},
    )
    loaded = load(document, params={"pw": "hunter2"})
    assert loaded.secure_values == frozenset({"hunter2"})
    assert loaded.resource["properties"]["customize"][0]["inline"] == ["pw=hunter2"]


def test_variables_must_be_an_object() -> None:
    document = arm(image_template(name="x"), parameters={}, variables=None)
    document["variables"] = []
    assert fails(document).message == "expected an object"


def test_parameters_file_through_load_template(tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(json.dumps(arm(image_template())), encoding="utf-8")
    params = tmp_path / "t.parameters.json"
    params.write_text(json.dumps({"parameters": {"imageTemplateName": {"value": "fromFile"}}}), encoding="utf-8")
    loaded = load_template(template, LoadOptions(parameter_files=(params,)), Diagnostics())
    assert loaded.name == "fromFile"
    assert loaded.file == template


# --- nested deployments (Bicep modules) ---------------------------------------------------------------


def module(
    *resources: dict,
    passed: dict,
    scope: str | None = "inner",
    parameters: dict | None = None,
    variables: dict | None = None,
    **extra: object,
) -> dict:
    """A ``Microsoft.Resources/deployments`` resource with an inline template, as ``az bicep build`` writes it."""
    properties: dict = {
        "mode": "Incremental",
        "parameters": passed,
        "template": {
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "parameters": parameters or {},
            "variables": variables or {},
            "resources": list(resources),
        },
    }
    if scope is not None:
        properties["expressionEvaluationOptions"] = {"scope": scope}
    return {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "m",
        "properties": properties,
        **extra,
    }


def test_an_image_template_inside_a_bicep_module_is_found_and_evaluated_in_its_scope() -> None:
    inner = image_template(
        name="[parameters('templateName')]",
        location="[parameters('location')]",
        tags={"owner": "[variables('owner')]", "rg": "[resourceGroup().name]"},
    )
    document = arm(
        {"type": "Microsoft.Storage/storageAccounts", "name": "[reference('x').name]"},  # never evaluated
        module(
            inner,
            passed={
                "templateName": {"value": "[format('{0}-tpl', parameters('prefix'))]"},
                # Bicep writes optional module values as one expression giving {"value": ...}
                "location": "[if(empty(parameters('region')), createObject('value', 'westus2'), "
                "createObject('value', parameters('region')))]",
                "unused": {"value": "[reference('somewhere').outputs.id.value]"},  # never used: never evaluated
            },
            parameters={
                "templateName": {"type": "string"},
                "location": {"type": "string"},
                "unused": {"type": "string"},
            },
            variables={"owner": "platform"},
        ),
        parameters={"prefix": {"type": "string"}, "region": {"type": "string", "defaultValue": ""}},
    )
    loaded = load(document, params={"prefix": "golden"}, resource_group="rg-img")
    assert loaded.name == "golden-tpl"
    assert loaded.resource_path == ("resources", 1, "properties", "template", "resources", 0)
    assert loaded.resource["location"] == "westus2"
    assert loaded.resource["tags"] == {"owner": "platform", "rg": "rg-img"}


def test_a_module_deployed_to_another_group_sees_that_group() -> None:
    inner = image_template(name="t", tags={"rg": "[resourceGroup().name]"})
    deployment = module(inner, passed={}, resourceGroup="[parameters('group')]")
    document = arm(deployment, parameters={"group": {"type": "string"}})
    loaded = load(document, params={"group": "rg-other"}, resource_group="rg-main", location="westus")
    assert loaded.resource["tags"] == {"rg": "rg-other"}
    inner["location"] = "[resourceGroup().location]"  # unknown for another group
    err = fails(
        arm(module(inner, passed={}, resourceGroup="[parameters('group')]"), parameters={"group": {"type": "string"}}),
        params={"group": "rg-other"},
        resource_group="rg-main",
        location="westus",
    )
    assert err.path == ("resources", 0, "properties", "template", "resources", 0, "location")
    assert err.message == (
        "resourceGroup().location is not known offline: "
        "it is the group of a nested deployment; pass the location to it as a parameter"
    )


def test_deployments_of_other_things_are_never_evaluated() -> None:
    roles = module(
        {"type": "Microsoft.Authorization/roleAssignments", "name": "[guid(copyIndex())]"},
        passed={"principal": {"value": "[reference('x').principalId]"}},
        resourceGroup="[variables('groups')[copyIndex()]]",
        copy={"name": "roles", "count": 2},
    )
    document = arm(roles, module(image_template(name="t"), passed={}), parameters={})
    assert load(document, resource_group="rg").resource_path == (
        "resources",
        1,
        "properties",
        "template",
        "resources",
        0,
    )


def test_outer_scope_uses_the_parents_parameters() -> None:
    inner = image_template(name="[parameters('imageTemplateName')]")
    document = arm(module(inner, passed={}, scope=None))
    assert load(document, params={"imageTemplateName": "outer"}).name == "outer"


def test_errors_inside_a_module_name_the_path_in_the_file() -> None:
    inner = image_template(name="t", location="[parameters('location')]")
    passed = {"location": {"value": "[reference('x').location]"}}
    err = fails(arm(module(inner, passed=passed, parameters={"location": {"type": "string"}}), parameters={}))
    assert err.path == ("resources", 0, "properties", "parameters", "location", "value")
    assert "reference() cannot be evaluated offline" in err.message
    missing = fails(arm(module(inner, passed={}, parameters={"location": {"type": "string"}}), parameters={}))
    assert missing.path == ("resources", 0, "properties", "template", "resources", 0, "location")
    assert "the nested deployment passes no value" in missing.message
    wrong_type = {"location": {"value": 3}}
    err = fails(arm(module(inner, passed=wrong_type, parameters={"location": {"type": "string"}}), parameters={}))
    assert err.path == ("resources", 0, "properties", "parameters", "location")


def test_language_version_2_parameter_types_and_nullable_ones() -> None:
    document = arm(
        image_template(name="[parameters('name')]", tags="[parameters('tags')]"),
        parameters={
            "name": {"$ref": "#/definitions/nameType"},
            "tags": {"$ref": "#/definitions/tagsType", "nullable": True},
        },
    )
    document["languageVersion"] = "2.0"
    document["definitions"] = {
        "nameType": {"$ref": "#/definitions/text"},
        "text": {"type": "string"},
        "tagsType": {"type": "object"},
    }
    loaded = load(document, params={"name": "golden"})
    assert loaded.name == "golden"
    assert loaded.resource["tags"] is None  # absent for the model, as Azure reads a null
    given = load(document, params={"name": "golden", "tags": '{"team": "platform"}'})
    assert given.resource["tags"] == {"team": "platform"}
    wrong = fails(document, params={"name": "golden", "tags": "[1]"})
    assert wrong.path == ("parameters", "tags")
    document["parameters"]["name"] = {"$ref": "#/definitions/missing"}
    err = fails(document, params={"name": "golden"})
    assert err.path == ("parameters", "name")
    assert '"$ref" to #/definitions' in err.message
