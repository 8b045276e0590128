import uuid

import pytest

from aibpack.errors import AibpackError, Diagnostics
from aibpack.load import parameters
from aibpack.load.arm import DeploymentContext, Evaluator

SUB = "11111111-2222-3333-4444-555555555555"
CONTEXT = DeploymentContext(subscription_id=SUB, resource_group="aibImageRG", location="westus2")

DECLARED = {
    "managedImageName": {"type": "string"},
    "count": {"type": "int", "defaultValue": 3},
    "obj": {"type": "object", "defaultValue": {"Inner": {"name": "x"}, "list": [10, 20]}},
    "arr": {"type": "array", "defaultValue": ["a", "b", "c"]},
    "derived": {"type": "string", "defaultValue": "[concat(parameters('managedimagename'), '-v2')]"},
    "password": {"type": "secureString", "defaultValue": "s3cret"},
    "flag": {"type": "bool", "defaultValue": True},
    "badDefault": {"type": "int", "defaultValue": "[concat('a', 'b')]"},
}


def evaluator(
    variables: dict | None = None,
    context: DeploymentContext = CONTEXT,
    params: dict[str, str] | None = None,
) -> Evaluator:
    declared = parameters.declare(DECLARED, "t.json")
    resolved = parameters.resolve(
        declared,
        params=params if params is not None else {"managedImageName": "img01"},
        files=(),
        template_file="t.json",
        diagnostics=Diagnostics(),
    )
    return Evaluator(parameters=resolved, variables=variables or {}, context=context, file="t.json")


def ev(text: str, **kwargs: object) -> object:
    return evaluator(**kwargs).evaluate(text, ("x",))  # type: ignore[arg-type]


def error(text: str, **kwargs: object) -> AibpackError:
    with pytest.raises(AibpackError) as caught:
        ev(text, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("[[literal]", "[literal]"),
        ("[[concat('a')]", "[concat('a')]"),
        ("[ -d /x ] && echo yes", "[ -d /x ] && echo yes"),
        ("['it''s']", "it's"),
        ("['']", ""),
        ("[42]", 42),
        ("[-7]", -7),
        ("[true()]", True),
        ("[false()]", False),
        ("[null()]", None),
        ("[  concat( 'a' ,  'b' )  ]", "ab"),
        ("[CONCAT('a', ToLower('B'))]", "ab"),
        ("[concat('a', concat('b', format('{0}-{1}', 'c', 'd')))]", "abc-d"),
        ("[format('{1}/{0}/{1}', 'x', toUpper('y'))]", "Y/x/Y"),
        ("[format('{{literal}} {0}', 1)]", "{literal} 1"),
        ("[format('{0}', true())]", "True"),
        ("[concat('n', 1, true())]", "n1True"),
        ("[concat(createArray(1, 2), createArray(3))]", [1, 2, 3]),
        ("[toLower('MiXeD')]", "mixed"),
        ("[toUpper('MiXeD')]", "MIXED"),
    ],
)
def test_literals_and_string_functions(text: str, expected: object) -> None:
    assert ev(text) == expected


def test_parameter_names_are_case_insensitive() -> None:
    assert ev("[parameters('managedimagename')]") == "img01"
    assert ev("[parameters('MANAGEDIMAGENAME')]") == "img01"


def test_parameter_default_may_be_an_expression() -> None:
    assert ev("[parameters('derived')]") == "img01-v2"


def test_parameter_default_is_type_checked() -> None:
    err = error("[parameters('badDefault')]")
    assert err.path == ("parameters", "badDefault", "defaultValue")
    assert "needs an integer, got a string" in err.message


def test_given_value_beats_default() -> None:
    assert ev("[parameters('count')]", params={"managedImageName": "i", "count": "9"}) == 9


def test_undeclared_parameter() -> None:
    err = error("[parameters('nope')]")
    assert err.path == ("x",)
    assert "parameters('nope'): no such parameter" in err.message


def test_property_access_and_indexing() -> None:
    assert ev("[parameters('obj').inner.name]") == "x"  # property names match case-insensitively
    assert ev("[parameters('obj')['list'][1]]") == 20
    assert ev("[parameters('arr')[2]]") == "c"
    assert "no property 'missing'" in error("[parameters('obj').missing]").message
    assert "index 5 is out of range" in error("[parameters('arr')[5]]").message


def test_variables_are_lazy_case_insensitive_and_may_use_each_other() -> None:
    variables = {
        "resourceId": "[concat(variables('Prefix'), parameters('managedImageName'))]",
        "prefix": "/images/",
        "broken": "[unknownThing()]",  # never used, so never evaluated
        "nested": {"list": ["[variables('prefix')]"]},
    }
    assert ev("[variables('resourceid')]", variables=variables) == "/images/img01"
    assert ev("[variables('nested').list[0]]", variables=variables) == "/images/"


def test_variable_cycle_is_an_error() -> None:
    variables = {"a": "[variables('b')]", "b": "[concat(variables('a'), 'x')]"}
    err = error("[variables('a')]", variables=variables)
    assert err.message == "variables('a') refers to itself: a -> b -> a"
    assert err.path == ("variables", "a")


def test_variable_error_is_reported_at_the_variable() -> None:
    err = error("[variables('v')]", variables={"v": "[nope()]"})
    assert err.path == ("variables", "v")
    assert err.message == "unsupported ARM function nope()"


def test_undeclared_variable() -> None:
    assert "variables('v'): no such variable (declared: none)" in error("[variables('v')]").message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[resourceId('Microsoft.Compute/images', 'img')]",
            f"/subscriptions/{SUB}/resourceGroups/aibImageRG/providers/Microsoft.Compute/images/img",
        ),
        (
            "[resourceId('otherRG', 'Microsoft.Compute/galleries/images', 'g', 'i')]",
            f"/subscriptions/{SUB}/resourceGroups/otherRG/providers/Microsoft.Compute/galleries/g/images/i",
        ),
        (
            "[resourceId('sub2', 'rg2', 'Microsoft.Compute/galleries/images/versions', 'g', 'i', '1.0.0')]",
            "/subscriptions/sub2/resourceGroups/rg2/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0",
        ),
        (
            "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet/subnet')]",
            f"/subscriptions/{SUB}/resourceGroups/aibImageRG/providers/Microsoft.Network/virtualNetworks/vnet/subnets/subnet",
        ),
    ],
)
def test_resource_id(text: str, expected: str) -> None:
    assert ev(text) == expected


def test_resource_id_name_count_must_match_the_type() -> None:
    err = error("[resourceId('Microsoft.Compute/galleries/images', 'g')]")
    assert err.message == "resourceId(): type 'Microsoft.Compute/galleries/images' needs 2 name(s), got 1"
    assert "no resource type" in error("[resourceId('a', 'b', 'c', 'Microsoft.X/y', 'n')]").message


def test_subscription_and_resource_group() -> None:
    assert ev("[subscription().subscriptionId]") == SUB
    assert ev("[subscription().id]") == f"/subscriptions/{SUB}"
    assert ev("[resourceGroup().name]") == "aibImageRG"
    assert ev("[resourceGroup().location]") == "westus2"
    assert ev("[resourceGroup().id]") == f"/subscriptions/{SUB}/resourceGroups/aibImageRG"
    assert ev("[resourceGroup()]") == {
        "id": f"/subscriptions/{SUB}/resourceGroups/aibImageRG",
        "name": "aibImageRG",
        "type": "Microsoft.Resources/resourceGroups",
        "location": "westus2",
    }


def test_unknown_context_is_an_error_saying_what_to_pass() -> None:
    empty = DeploymentContext()
    assert error("[subscription().subscriptionId]", context=empty).message == (
        "subscription().subscriptionId is not known offline: "
        "set AZURE_SUBSCRIPTION_ID (run and distribute also take --subscription ID)"
    )
    assert "pass --resource-group NAME" in error("[resourceGroup().name]", context=empty).message
    assert "pass --location LOCATION" in error("[resourceGroup().location]", context=empty).message
    resource_id = "[resourceId('Microsoft.Compute/images', 'i')]"
    assert error(resource_id, context=empty).message == (
        "resourceId(): resourceGroup().name is not known offline: pass --resource-group NAME"
    )
    assert "AZURE_SUBSCRIPTION_ID" in error(resource_id, context=DeploymentContext(resource_group="rg")).message
    assert "subscription().tenantId is not known offline" in error("[subscription().tenantId]").message
    # only what is used must be known
    assert ev("[resourceGroup().name]", context=DeploymentContext(resource_group="rg")) == "rg"


def test_unsupported_function_names_it_and_the_path() -> None:
    err = error("[concat('a', reverse('b'))]")
    assert err.message == "unsupported ARM function reverse()"
    assert err.path == ("x",)
    assert err.file == "t.json"


@pytest.mark.parametrize("function", ["newGuid()", "reference('x')", "listKeys('x', '1')"])
def test_functions_that_need_azure(function: str) -> None:
    message = error(f"[{function}]").message
    assert "cannot be evaluated offline: pass the value as a parameter instead (--param)" in message
    assert function.split("(")[0] + "()" in message


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("[concat('a']", "expected ')', got the end of the expression at character 12"),
        ("[concat('a)]", "unterminated string at character 9"),
        ("[ -d /x ]", "unexpected '-' at character 3"),
        ("[concat('a') extra]", "expected the end of the expression, got 'extra'"),
        ("[parameters]", "expected '(', got the end of the expression"),
        ("[]", "expected a function call, string or number, got the end of the expression"),
        ("[concat('a').]", "expected 'name'"),
    ],
)
def test_syntax_errors(text: str, detail: str) -> None:
    err = error(text)
    assert err.message.startswith("invalid ARM expression: " + detail)
    assert "must be written with '[['" in err.message


def test_wrong_number_of_arguments() -> None:
    assert error("[toLower('a', 'b')]").message == "toLower() takes 1 argument(s), got 2"
    assert error("[parameters()]").message == "parameters() takes 1 argument(s), got 0"
    assert error("[concat()]").message == "concat() takes 1+ argument(s), got 0"
    assert error("[substring('abc')]").message == "substring() takes 2 to 3 argument(s), got 1"


def test_type_errors() -> None:
    assert error("[toLower(1)]").message == "toLower() needs a string, got an integer"
    assert "either all strings or all arrays" in error("[concat('a', createArray(1))]").message
    assert "only {n} items are supported" in error("[format('{0:D3}', 1)]").message
    assert "item {2} but only 1 argument(s)" in error("[format('{2}', 1)]").message
    assert "cannot index a string with an integer" in error("['abc'[0]]").message


def test_if_evaluates_only_the_chosen_branch() -> None:
    assert ev("[if(true(), 'yes', parameters('missing'))]") == "yes"
    assert ev("[if(equals(parameters('count'), 3), 'three', 'other')]") == "three"
    assert "condition is a string" in error("[if('x', 1, 2)]").message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[string(parameters('obj').list)]", "[10,20]"),
        ("[string(false())]", "False"),
        ("[int('12')]", 12),
        ("[bool('TRUE')]", True),
        ("[bool(0)]", False),
        ("[json('{\"a\": [1]}').a[0]]", 1),
        ("[equals('a', 'a')]", True),
        ("[equals(1, true())]", False),
        ("[not(equals(1, 2))]", True),
        ("[and(true(), false())]", False),
        ("[or(false(), true(), false())]", True),
        ("[empty('')]", True),
        ("[empty(parameters('arr'))]", False),
        ("[length(parameters('arr'))]", 3),
        ("[length('abcd')]", 4),
        ("[contains('abc', 'b')]", True),
        ("[contains(parameters('arr'), 'z')]", False),
        ("[contains(parameters('obj'), 'INNER')]", True),
        ("[coalesce(null(), 'b')]", "b"),
        ("[createObject('k', 1)]", {"k": 1}),
        ("[first(parameters('arr'))]", "a"),
        ("[last('xyz')]", "z"),
        ("[first('')]", ""),
        ("[replace('a-b-c', '-', '_')]", "a_b_c"),
        ("[split('a,b', ',')]", ["a", "b"]),
        ("[trim('  a ')]", "a"),
        ("[substring('abcdef', 2, 3)]", "cde"),
        ("[substring('abcdef', 4)]", "ef"),
        ("[startsWith('Hello', 'he')]", True),
        ("[endsWith('Hello', 'LO')]", True),
    ],
)
def test_more_functions(text: str, expected: object) -> None:
    assert ev(text) == expected


def test_keys_and_nested_values_are_evaluated() -> None:
    value = {
        "[concat('/ids/', parameters('managedImageName'))]": {},
        "list": ["[parameters('count')]", {"deep": "[[kept]"}],
        "number": 5,
    }
    assert evaluator().evaluate(value, ()) == {"/ids/img01": {}, "list": [3, {"deep": "[kept]"}], "number": 5}


def test_key_must_evaluate_to_a_string() -> None:
    with pytest.raises(AibpackError) as caught:
        evaluator().evaluate({"a": {"[parameters('count')]": 1}}, ("properties",))
    assert caught.value.path == ("properties", "a")
    assert "evaluates to an integer, not a string" in caught.value.message


def test_error_path_points_at_the_string() -> None:
    with pytest.raises(AibpackError) as caught:
        evaluator().evaluate({"customize": [{"scriptUri": "ok"}, {"scriptUri": "[nope()]"}]}, ("properties",))
    assert caught.value.path == ("properties", "customize", 1, "scriptUri")


def test_secure_values_cover_given_and_defaulted_secure_parameters() -> None:
    ev_ = evaluator()
    assert ev_.secure_values() == frozenset()
    assert ev_.evaluate("[parameters('password')]", ()) == "s3cret"
    assert ev_.secure_values() == frozenset({"s3cret"})
    given = evaluator(params={"managedImageName": "i", "password": "given"})
    assert given.secure_values() == frozenset({"given"})
    empty = evaluator(params={"managedImageName": "i", "password": ""})
    assert empty.secure_values() == frozenset()  # nothing to redact, and "" must never be replaced


def test_results_are_independent_copies() -> None:
    ev_ = evaluator()
    first = ev_.evaluate("[parameters('arr')]", ())
    first.append("mutated")  # type: ignore[union-attr]
    assert ev_.evaluate("[parameters('arr')]", ()) == ["a", "b", "c"]


# Outputs of real deployments (ARM's uniqueString() of these arguments).
UNIQUE_STRINGS = [
    ("'aaa'", "zavj67f3en4hc"),
    ("'bbb'", "w5eragfxe33cy"),
    ("'zzz'", "cryksdzzzawae"),
    ("'xxx', 'yyy', 'zzz'", "lghi7k5js7itq"),
]


@pytest.mark.parametrize(("arguments", "expected"), UNIQUE_STRINGS)
def test_unique_string_is_azures(arguments: str, expected: str) -> None:
    assert ev(f"[uniqueString({arguments})]") == expected


def test_unique_string_of_the_resource_group_id() -> None:
    value = ev("[concat('img', uniqueString(resourceGroup().id))]")
    group_id = f"/subscriptions/{SUB}/resourceGroups/aibImageRG"
    assert value == "img" + ev(f"[uniqueString('{group_id}')]")
    assert isinstance(value, str) and len(value) == 16


def test_guid_is_the_version_5_uuid_of_the_joined_arguments() -> None:
    value = ev("[guid('a', 'b', 'c')]")
    assert value == str(uuid.uuid5(uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830"), "a-b-c"))
    assert value == ev("[guid('a-b-c')]")
    assert uuid.UUID(str(value)).version == 5


def test_name_functions_take_strings_only() -> None:
    assert error("[uniqueString(1)]").message == "uniqueString() needs a string, got an integer"
    assert error("[guid(createArray('a'))]").message == "guid() needs a string, got an array"


def test_a_hash_of_an_assumed_context_value_is_refused() -> None:
    context = DeploymentContext(
        subscription_id="sub",
        resource_group="aibpack-resource-group",
        location="westus",
        assumed={"aibpack-resource-group": "resourceGroup().name (pass --resource-group NAME)"},
    )
    message = error("[uniqueString(resourceGroup().id)]", context=context).message
    assert message == "uniqueString() of resourceGroup().name (pass --resource-group NAME), which is not known offline"
    assert ev("[concat('x-', resourceGroup().name)]", context=context) == "x-aibpack-resource-group"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[array('a')]", ["a"]),
        ("[array(createArray(1, 2))]", [1, 2]),
        ("[range(3, 4)]", [3, 4, 5, 6]),
        ("[union(createArray(1, 2), createArray(2, 3))]", [1, 2, 3]),
        ("[union(createObject('a', 1, 'b', 2), createObject('B', 3))]", {"a": 1, "B": 3}),
        ("[take('abcdef', 3)]", "abc"),
        ("[skip(createArray(1, 2, 3), 2)]", [3]),
        ("[take('ab', 10)]", "ab"),
        ("[min(3, 1, 2)]", 1),
        ("[max(createArray(3, 9, 2))]", 9),
        ("[add(2, 3)]", 5),
        ("[sub(2, 3)]", -1),
        ("[mul(4, 3)]", 12),
        ("[div(-7, 2)]", -3),
        ("[mod(-7, 2)]", -1),
        ("[less(1, 2)]", True),
        ("[greaterOrEquals('b', 'a')]", True),
        ("[padLeft('7', 3, '0')]", "007"),
        ("[indexOf('Image-Builder', 'builder')]", 6),
        ("[lastIndexOf('a-b-c', '-')]", 3),
        ("[base64ToString(base64('héllo'))]", "héllo"),
        ("[uri('https://example.com/scripts/', 'setup.sh')]", "https://example.com/scripts/setup.sh"),
        ("[uri('https://example.com/a/b.json', 'c.sh')]", "https://example.com/a/c.sh"),
    ],
)
def test_arithmetic_collection_and_text_functions(text: str, expected: object) -> None:
    assert ev(text) == expected


def test_resource_ids_at_other_scopes() -> None:
    assert ev("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'r1')]") == (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/r1"
    )
    assert ev("[subscriptionResourceId('s2', 'Microsoft.Resources/resourceGroups', 'g')]") == (
        "/subscriptions/s2/providers/Microsoft.Resources/resourceGroups/g"
    )
    assert ev("[tenantResourceId('Microsoft.Authorization/policyDefinitions', 'p')]") == (
        "/providers/Microsoft.Authorization/policyDefinitions/p"
    )
    identity = f"/subscriptions/{SUB}/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"
    assert ev(f"[extensionResourceId('{identity}', 'Microsoft.Authorization/locks', 'lock')]") == (
        f"{identity}/providers/Microsoft.Authorization/locks/lock"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[div(1, 0)]", "div(): division by zero"),
        ("[add('1', 2)]", "add() needs integers"),
        ("[union(createArray(1), createObject('a', 1))]", "union() needs all arrays or all objects"),
        ("[range(0, -1)]", "range(): the count is negative"),
        ("[less(1, 'a')]", "less() compares two integers or two strings"),
    ],
)
def test_more_functions_fail_clearly(text: str, message: str) -> None:
    assert error(text).message == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[map(createArray(1, 2, 3), lambda('n', mul(lambdaVariables('n'), 10)))]", [10, 20, 30]),
        (
            "[map(createArray('a', 'b'), lambda('x', 'i', "
            "format('{0}{1}', lambdaVariables('x'), lambdaVariables('i'))))]",
            ["a0", "b1"],
        ),
        ("[filter(createArray(1, 5, 2, 8), lambda('n', greater(lambdaVariables('n'), 2)))]", [5, 8]),
        ("[reduce(createArray(1, 2, 3), 0, lambda('sum', 'n', add(lambdaVariables('sum'), lambdaVariables('n'))))]", 6),
        ("[sort(createArray(3, 1, 2), lambda('a', 'b', less(lambdaVariables('a'), lambdaVariables('b'))))]", [1, 2, 3]),
        ("[toObject(createArray('a', 'b'), lambda('k', toUpper(lambdaVariables('k'))))]", {"A": "a", "B": "b"}),
        # nested lambdas see their own and the enclosing variables
        (
            "[map(createArray(1, 2), lambda('x', "
            "map(createArray(10), lambda('y', add(lambdaVariables('x'), lambdaVariables('y'))))))]",
            [[11], [12]],
        ),
        ("[tryGet(createObject('a', createObject('b', 1)), 'a', 'B')]", 1),
        ("[tryGet(createObject('a', 1), 'missing')]", None),
        ("[tryGet(createArray(1, 2), 5)]", None),
        (
            "[shallowMerge(createArray("
            "createObject('a', 1, 'b', createObject('x', 1)), createObject('b', createObject('y', 2))))]",
            {"a": 1, "b": {"y": 2}},
        ),
        ("[items(createObject('a', 1))]", [{"key": "a", "value": 1}]),
        ("[objectKeys(createObject('a', 1, 'b', 2))]", ["a", "b"]),
        ("[join(createArray('a', 1, true()), '-')]", "a-1-True"),
    ],
)
def test_lambdas_and_object_helpers(text: str, expected: object) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[lambdaVariables('x')]", "lambdaVariables('x'): no such lambda variable here"),
        ("[lambda('x', 1)]", "lambda() is only an argument of map, filter, reduce, sort, toObject"),
        ("[map(createArray(1), 'x')]", "map() needs a lambda('name', ...) argument"),
        ("[map('abc', lambda('x', 1))]", "map() needs an array, got a string"),
        ("[shallowMerge(createArray(1))]", "shallowMerge() needs an array of objects"),
    ],
)
def test_lambda_mistakes_fail_clearly(text: str, message: str) -> None:
    assert error(text).message == message
