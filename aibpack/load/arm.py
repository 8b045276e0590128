"""ARM template expressions (``"[concat(parameters('a'), '-x')]"``), evaluated offline.

A string that starts with ``[`` and ends with ``]`` is an expression; ``[[`` escapes a literal. The
expression is tokenized, parsed by recursive descent into a small tree, and evaluated against the
parameters, the variables and a :class:`DeploymentContext`. Only what can be known without calling Azure
is supported: anything else (``reference()``, ``newGuid()``, ...) is an error naming the function
and the JSON path of the string, never a guess. ``uniqueString()`` and ``guid()`` are hashes, computed
as Azure computes them.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aibpack.errors import AibpackError, JsonPath
from aibpack.load.arm_names import arm_guid, unique_string
from aibpack.load.parameters import Parameters, check_value, json_kind


@dataclass(frozen=True)
class DeploymentContext:
    """What ARM knows about the deployment: ``subscription()`` and ``resourceGroup()``.

    aibpack runs offline, so the caller supplies these (``--subscription`` or ``AZURE_SUBSCRIPTION_ID``,
    ``--resource-group``, ``--location``); an expression that needs one that is missing is an error
    telling the user which option to give, never a made-up placeholder value.
    """

    subscription_id: str | None = None
    resource_group: str | None = None
    location: str | None = None
    # compile's stand-ins for unknown fields -> what each stands for and the option that gives it
    assumed: Mapping[str, str] = field(default_factory=dict)
    other_group: bool = False  # a nested deployment's group, not the one the options describe


@dataclass(frozen=True)
class Passed:
    """A value a nested deployment passes to its template's parameter: computed in the parent on first use."""

    path: JsonPath
    compute: Callable[[], object]


class _Fail(Exception):
    """An expression problem; the evaluator adds the file and JSON path of the string."""


_HINTS = {
    "subscriptionId": "set AZURE_SUBSCRIPTION_ID (run and distribute also take --subscription ID)",
    "name": "pass --resource-group NAME",
    "location": "pass --location LOCATION",
    "other_group_location": "it is the group of a nested deployment; pass the location to it as a parameter",
}
_OFFLINE_HINT = "pass the value as a parameter instead (--param)"


class _ContextObject:
    """``subscription()``/``resourceGroup()``: fields may be unknown, which is an error only on use."""

    def __init__(self, label: str, fields: dict[str, str | None], needs: dict[str, str]) -> None:
        self.label = label
        self.fields = fields
        self.needs = needs  # field -> the context field it is computed from, for the hint

    def get(self, name: str) -> str:
        key = next((k for k in self.fields if k.lower() == name.lower()), None)
        if key is None:
            raise _Fail(f"{self.label} has no property {name!r} (known: {', '.join(self.fields)})")
        value = self.fields[key]
        if value is None:
            hint = _HINTS.get(self.needs.get(key, ""), _OFFLINE_HINT)
            raise _Fail(f"{self.label}.{key} is not known offline: {hint}")
        return value

    def plain(self) -> dict[str, str]:
        return {key: self.get(key) for key in self.fields}


# --- tokenizer and parser -------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<int>-?\d+)|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)|(?P<punct>[(),.\[\]]))"
)


@dataclass(frozen=True)
class _Token:
    kind: str  # str, int, name, punct, end
    text: str
    pos: int


@dataclass(frozen=True)
class _Literal:
    value: object


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[object, ...]


@dataclass(frozen=True)
class _Property:
    target: object
    name: str


@dataclass(frozen=True)
class _Index:
    target: object
    index: object


class _Syntax(_Fail):
    """A syntax error at character ``pos`` of the expression body."""

    def __init__(self, what: str, pos: int) -> None:
        super().__init__(what)
        self.what = what
        self.pos = pos


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if not text[pos:].strip():
                break
            start = len(text) - len(text[pos:].lstrip())
            what = "unterminated string" if text[start] == "'" else f"unexpected {text[start]!r}"
            raise _Syntax(what, start)
        kind = match.lastgroup or "punct"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    """``expr := primary ('.' name | '[' expr ']')*``; ``primary := string | int | name '(' args ')'``."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.at = 0

    def parse(self) -> object:
        node = self.expression()
        self.expect("end")
        return node

    def expression(self) -> object:
        node = self.primary()
        while self.peek().text in (".", "["):
            if self.take().text == ".":
                node = _Property(node, self.expect("name").text)
            else:
                node = _Index(node, self.expression())
                self.expect("]")
        return node

    def primary(self) -> object:
        token = self.take()
        if token.kind == "str":
            return _Literal(token.text[1:-1].replace("''", "'"))
        if token.kind == "int":
            return _Literal(int(token.text))
        if token.kind != "name":
            raise _Syntax(f"expected a function call, string or number, got {_shown(token)}", token.pos)
        self.expect("(")
        args: list[object] = []
        if self.peek().text != ")":
            args.append(self.expression())
            while self.peek().text == ",":
                self.take()
                args.append(self.expression())
        self.expect(")")
        return _Call(token.text, tuple(args))

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += token.kind != "end"
        return token

    def expect(self, what: str) -> _Token:
        token = self.take()
        if token.kind == what if what in ("end", "name") else token.text == what and token.kind == "punct":
            return token
        wanted = "the end of the expression" if what == "end" else repr(what)
        raise _Syntax(f"expected {wanted}, got {_shown(token)}", token.pos)


def _shown(token: _Token) -> str:
    return "the end of the expression" if token.kind == "end" else repr(token.text)


# --- evaluation -----------------------------------------------------------------------------------


class Evaluator:
    """Evaluates every expression in a JSON value, with the template's parameters and variables.

    Variables and parameter defaults are evaluated lazily, once, on first use (a cycle is an error).
    """

    def __init__(
        self,
        *,
        parameters: Parameters,
        variables: Mapping[str, object],
        context: DeploymentContext,
        file: str,
        root: JsonPath = (),
        parent: Evaluator | None = None,
        passed: Mapping[str, Passed] | None = None,
    ) -> None:
        """``root`` is where the template is in the file. The template of a nested deployment has the
        ``parent`` that deploys it, and the values that deployment ``passed`` (by lower-cased name)."""
        self.parameters = parameters
        self.variables = {name.lower(): (name, value) for name, value in variables.items()}
        self.context = context
        self.file = file
        self.root = root
        self.parent = parent
        self.passed = passed or {}
        self._lambda_scopes: list[dict[str, object]] = []  # innermost last: lambdaVariables() looks there
        self._values: dict[tuple[str, str], object] = {}
        self._active: dict[tuple[str, str], str] = {}  # being evaluated, in order -> declared name

    def evaluate(self, value: object, path: JsonPath) -> object:
        """``value`` with every expression in keys and values replaced by its result."""
        if isinstance(value, str):
            return self.string(value, path)
        if isinstance(value, list):
            return [self.evaluate(item, (*path, i)) for i, item in enumerate(value)]
        if isinstance(value, dict):
            out: dict[str, object] = {}
            for key, item in value.items():
                new_key = self.string(key, path)
                if not isinstance(new_key, str):
                    raise AibpackError(
                        f"the property name {key!r} evaluates to {json_kind(new_key)}, not a string",
                        file=self.file,
                        path=path,
                    )
                out[new_key] = self.evaluate(item, (*path, key))
            return out
        return value

    def string(self, text: str, path: JsonPath) -> object:
        """A string value: the result of its expression, the literal with ``[[`` unescaped, or itself."""
        if not (text.startswith("[") and text.endswith("]")):
            return text
        if text.startswith("[["):
            return text[1:]
        try:
            return _plain(self._eval(_Parser(text[1:-1]).parse()))
        except _Syntax as err:
            raise AibpackError(
                f"invalid ARM expression: {err.what} at character {err.pos + 2} (a literal string "
                "that starts with '[' and ends with ']' must be written with '[[')",
                file=self.file,
                path=path,
            ) from None
        except _Fail as err:
            raise AibpackError(str(err), file=self.file, path=path) from None

    def secure_values(self) -> frozenset[str]:
        """Every non-empty string inside the values of secure parameters used or given, to redact."""
        found: set[str] = set()
        for key, param in self.parameters.declared.items():
            if param.secure:
                if key in self.parameters.given:
                    _strings(self.parameters.given[key], found)
                if ("parameters", key) in self._values:
                    _strings(self._values[("parameters", key)], found)
        if self.parent is not None:
            found |= self.parent.secure_values()
        return frozenset(found)

    # -- lookups ------------------------------------------------------------------------------------

    def parameter(self, name: str) -> object:
        key = name.lower()
        param = self.parameters.declared.get(key)
        if param is None:
            known = ", ".join(p.name for p in self.parameters.declared.values()) or "none"
            raise _Fail(f"parameters({name!r}): no such parameter (declared: {known})")
        if key in self.parameters.given:
            return copy.deepcopy(self.parameters.given[key])
        path = (*param.path, "defaultValue")
        if key not in self.passed and not param.has_default and not param.nullable:
            raise _Fail(f"parameters({param.name!r}): the nested deployment passes no value and there is no default")

        def compute() -> object:
            if key in self.passed:
                where, value = self.passed[key].path, self.passed[key].compute()
            else:
                where, value = path, self.evaluate(param.default, path)
            check_value(param, value, self.file, where)
            return value

        return self._once(("parameters", key), param.name, path, compute)

    def variable(self, name: str) -> object:
        key = name.lower()
        if key not in self.variables:
            known = ", ".join(n for n, _ in self.variables.values()) or "none"
            raise _Fail(f"variables({name!r}): no such variable (declared: {known})")
        declared, raw = self.variables[key]
        path = (*self.root, "variables", declared)
        return self._once(("variables", key), declared, path, lambda: self.evaluate(raw, path))

    def _once(self, key: tuple[str, str], name: str, path: JsonPath, compute: Callable[[], object]) -> object:
        if key not in self._values:
            if key in self._active:
                names = list(self._active.values())
                chain = [*names[list(self._active).index(key) :], name]
                raise AibpackError(
                    f"{key[0]}({name!r}) refers to itself: {' -> '.join(chain)}", file=self.file, path=path
                )
            self._active[key] = name
            try:
                self._values[key] = compute()
            finally:
                del self._active[key]
        return copy.deepcopy(self._values[key])

    # -- tree walking ---------------------------------------------------------------------------------

    def _eval(self, node: object) -> object:
        if isinstance(node, _Literal):
            return node.value
        if isinstance(node, _Property):
            return _member(self._eval(node.target), node.name)
        if isinstance(node, _Index):
            return _member(self._eval(node.target), _plain(self._eval(node.index)))
        assert isinstance(node, _Call)
        name = node.name.lower()
        if name == "if":  # lazy, as in ARM: only the chosen branch is evaluated
            _arity("if", node.args, 3, 3)
            condition = _plain(self._eval(node.args[0]))
            if not isinstance(condition, bool):
                raise _Fail(f"if(): the condition is {json_kind(condition)}, not a boolean")
            return self._eval(node.args[1] if condition else node.args[2])
        if name in _TAKES_LAMBDA:
            return self._call_with_lambda(node)
        if name == "lambda":
            raise _Fail(f"lambda() is only an argument of {', '.join(_TAKES_LAMBDA_NAMES)}")
        args = [_plain(self._eval(arg)) for arg in node.args]
        if name == "lambdavariables":
            _arity(node.name, args, 1, 1)
            return self._lambda_variable(_text(node.name, args[0]))
        if name in _CONTEXT:
            _arity(node.name, args, 0, 0)
            return _CONTEXT[name](self.context)
        if name == "parameters":
            _arity(node.name, args, 1, 1)
            return self.parameter(_text(node.name, args[0]))
        if name == "variables":
            _arity(node.name, args, 1, 1)
            return self.variable(_text(node.name, args[0]))
        if name in _FUNCTIONS:
            function, least, most = _FUNCTIONS[name]
            _arity(node.name, args, least, most)
            return function(self.context, *args)
        if name in _OFFLINE or name.startswith("list"):
            raise _Fail(f"ARM function {node.name}() cannot be evaluated offline: {_OFFLINE_HINT}")
        raise _Fail(f"unsupported ARM function {node.name}()")

    def _call_with_lambda(self, node: _Call) -> object:
        """``map``/``filter``/``reduce``/``toObject``/``sort``: the lambda is applied per item, lazily."""
        name = node.name.lower()
        least, most = {"reduce": (3, 3), "toobject": (2, 3)}.get(name, (2, 2))
        _arity(node.name, node.args, least, most)
        array = _plain(self._eval(node.args[0]))
        if not isinstance(array, list):
            raise _Fail(f"{node.name}() needs an array, got {json_kind(array)}")
        if name == "reduce":
            accumulated = _plain(self._eval(node.args[1]))
            for index, item in enumerate(array):
                accumulated = self._apply(node.name, node.args[2], accumulated, item, index)
            return accumulated
        function = node.args[1]
        if name == "map":
            return [self._apply(node.name, function, item, index) for index, item in enumerate(array)]
        if name == "filter":
            return [item for index, item in enumerate(array) if self._apply(node.name, function, item, index) is True]
        if name == "sort":
            before = functools.cmp_to_key(lambda a, b: -1 if self._apply(node.name, function, a, b) is True else 1)
            return sorted(array, key=before)
        keys = [_text(node.name, self._apply(node.name, function, item)) for item in array]  # toObject
        values = [self._apply(node.name, node.args[2], item) for item in array] if len(node.args) == 3 else array
        return dict(zip(keys, values, strict=True))

    def _apply(self, function: str, node: object, *values: object) -> object:
        """Evaluate a ``lambda('a', 'b', body)`` node with its names bound to ``values`` (extra ones unused)."""
        if not (isinstance(node, _Call) and node.name.lower() == "lambda" and len(node.args) >= 2):
            raise _Fail(f"{function}() needs a lambda('name', ...) argument")
        names = node.args[:-1]
        if not all(isinstance(n, _Literal) and isinstance(n.value, str) for n in names):
            raise _Fail("lambda(): the variable names must be string literals")
        self._lambda_scopes.append({n.value.lower(): v for n, v in zip(names, values, strict=False)})  # type: ignore[union-attr]
        try:
            return _plain(self._eval(node.args[-1]))
        finally:
            self._lambda_scopes.pop()

    def _lambda_variable(self, name: str) -> object:
        for scope in reversed(self._lambda_scopes):
            if name.lower() in scope:
                return copy.deepcopy(scope[name.lower()])
        raise _Fail(f"lambdaVariables({name!r}): no such lambda variable here")


def _arity(name: str, args: tuple[object, ...] | list[object], least: int, most: int | None) -> None:
    if len(args) < least or (most is not None and len(args) > most):
        wanted = str(least) if least == most else f"{least}+" if most is None else f"{least} to {most}"
        raise _Fail(f"{name}() takes {wanted} argument(s), got {len(args)}")


def _plain(value: object) -> object:
    """A context object used as a whole becomes an ordinary dict (every field must then be known)."""
    return value.plain() if isinstance(value, _ContextObject) else value


def _member(target: object, key: object) -> object:
    """``target.key`` / ``target[key]``; object property names match case-insensitively, as in ARM."""
    if isinstance(target, _ContextObject) and isinstance(key, str):
        return target.get(key)
    if isinstance(target, dict) and isinstance(key, str):
        if key in target:
            return target[key]
        for name, value in target.items():
            if name.lower() == key.lower():
                return value
        raise _Fail(f"the object has no property {key!r}")
    if isinstance(target, list) and isinstance(key, int) and not isinstance(key, bool):
        if not 0 <= key < len(target):
            raise _Fail(f"index {key} is out of range for an array of {len(target)}")
        return target[key]
    raise _Fail(f"cannot index {json_kind(target)} with {json_kind(key)}")


def _strings(value: object, found: set[str]) -> None:
    """Collect the non-empty strings in ``value`` (an empty one is nothing to hide)."""
    if isinstance(value, str):
        if value:
            found.add(value)
    elif isinstance(value, list):
        for item in value:
            _strings(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, found)


def _text(function: str, value: object) -> str:
    if not isinstance(value, str):
        raise _Fail(f"{function}() needs a string, got {json_kind(value)}")
    return value


def _to_string(value: object) -> str:
    """ARM's ``string()``: booleans as ``True``/``False`` (.NET), arrays and objects as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


# --- functions ------------------------------------------------------------------------------------


def _subscription(context: DeploymentContext) -> _ContextObject:
    sub = context.subscription_id
    return _ContextObject(
        "subscription()",
        {
            "id": f"/subscriptions/{sub}" if sub else None,
            "subscriptionId": sub,
            "tenantId": None,
            "displayName": None,
        },
        {"id": "subscriptionId", "subscriptionId": "subscriptionId"},
    )


def _resource_group(context: DeploymentContext) -> _ContextObject:
    sub, group = context.subscription_id, context.resource_group
    return _ContextObject(
        "resourceGroup()",
        {
            "id": f"/subscriptions/{sub}/resourceGroups/{group}" if sub and group else None,
            "name": group,
            "type": "Microsoft.Resources/resourceGroups",
            "location": context.location,
        },
        {
            "id": "subscriptionId" if not sub else "name",
            "name": "name",
            "location": "other_group_location" if context.other_group else "location",
        },
    )


_CONTEXT: dict[str, Callable[[DeploymentContext], _ContextObject]] = {
    "subscription": _subscription,
    "resourcegroup": _resource_group,
}


def _resource_id(context: DeploymentContext, *args: object) -> str:
    """``resourceId([subscriptionId], [resourceGroupName], type, name1, ...)``.

    As in ARM, the resource type is the first of the first three arguments that contains a ``/``; what
    comes before it is the subscription and/or resource group, and the names must fill the type's
    segments (``vnet/subnet`` may also be given as one name).
    """
    values = _texts("resourceId", args)
    position = next((i for i, v in enumerate(values[:3]) if "/" in v), None)
    if position is None:
        raise _Fail("resourceId(): no resource type (like 'Microsoft.Compute/images') among the arguments")
    prefix = values[:position]
    try:
        group = prefix[-1] if prefix else _resource_group(context).get("name")
        sub = prefix[0] if len(prefix) == 2 else _subscription(context).get("subscriptionId")
    except _Fail as err:
        raise _Fail(f"resourceId(): {err}") from None
    return f"/subscriptions/{sub}/resourceGroups/{group}" + _provider_path("resourceId", values[position:])


def _subscription_resource_id(context: DeploymentContext, *args: object) -> str:
    """``subscriptionResourceId([subscriptionId], type, name1, ...)``: a resource of the subscription itself."""
    values = _texts("subscriptionResourceId", args)
    if "/" in values[0]:
        try:
            values.insert(0, _subscription(context).get("subscriptionId"))
        except _Fail as err:
            raise _Fail(f"subscriptionResourceId(): {err}") from None
    return f"/subscriptions/{values[0]}" + _provider_path("subscriptionResourceId", values[1:])


def _extension_resource_id(_: DeploymentContext, scope: object, *args: object) -> str:
    """``extensionResourceId(resourceId, type, name1, ...)``: a resource that extends another one."""
    return _text("extensionResourceId", scope).rstrip("/") + _provider_path(
        "extensionResourceId", _texts("extensionResourceId", args)
    )


def _tenant_resource_id(_: DeploymentContext, *args: object) -> str:
    """``tenantResourceId(type, name1, ...)``: a resource at the tenant, like a built-in role definition."""
    return _provider_path("tenantResourceId", _texts("tenantResourceId", args))


def _texts(function: str, args: tuple[object, ...]) -> list[str]:
    return [_text(function, arg) for arg in args]


def _provider_path(function: str, values: list[str]) -> str:
    """``/providers/NS/type1/name1/type2/name2`` from ``[NS/type1/type2, name1, name2]``."""
    if not values or "/" not in values[0]:
        raise _Fail(f"{function}(): no resource type (like 'Microsoft.Compute/images') among the arguments")
    kind, names = values[0], values[1:]
    segments = kind.strip("/").split("/")
    parts = "/".join(names).split("/") if names else []
    if len(parts) != len(segments) - 1:
        raise _Fail(f"{function}(): type {kind!r} needs {len(segments) - 1} name(s), got {len(parts)}")
    tail = "/".join(f"{t}/{n}" for t, n in zip(segments[1:], parts, strict=True))
    return f"/providers/{segments[0]}/{tail}"


def _concat(_: DeploymentContext, *args: object) -> object:
    if args and all(isinstance(a, list) for a in args):
        return [item for a in args for item in a]  # type: ignore[union-attr]
    if any(isinstance(a, list | dict) for a in args):
        raise _Fail("concat() takes either all strings or all arrays")
    return "".join(_to_string(a) for a in args)


_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)\}|[{}]")


def _format(_: DeploymentContext, template: object, *args: object) -> str:
    """.NET composite formatting, ``{0}`` items and ``{{``/``}}`` escapes (no format specifiers)."""

    def item(match: re.Match[str]) -> str:
        text = match.group()
        if text in ("{{", "}}"):
            return text[0]
        if match.group(1) is None:
            raise _Fail(f"format(): only {{n}} items are supported, near {text!r}")
        index = int(match.group(1))
        if index >= len(args):
            raise _Fail(f"format(): item {{{index}}} but only {len(args)} argument(s)")
        return _to_string(args[index])

    return _FORMAT_ITEM.sub(item, _text("format", template))


def _equal(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _int(_: DeploymentContext, value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise _Fail(f"int(): cannot convert {json_kind(value)} {value!r}") from None


def _bool(_: DeploymentContext, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _Fail(f"bool(): cannot convert {json_kind(value)} {value!r}")


def _json(_: DeploymentContext, value: object) -> object:
    try:
        return json.loads(_text("json", value))
    except json.JSONDecodeError as err:
        raise _Fail(f"json(): invalid JSON: {err.msg}") from None


def _length(_: DeploymentContext, value: object) -> int:
    if not isinstance(value, str | list | dict):
        raise _Fail(f"length() needs a string, array or object, got {json_kind(value)}")
    return len(value)


def _contains(_: DeploymentContext, container: object, item: object) -> bool:
    if isinstance(container, str):
        return _to_string(item) in container
    if isinstance(container, list):
        return any(_equal(x, item) for x in container)
    if isinstance(container, dict):
        return isinstance(item, str) and item.lower() in (k.lower() for k in container)
    raise _Fail(f"contains() needs a string, array or object, got {json_kind(container)}")


def _create_object(_: DeploymentContext, *args: object) -> dict[str, object]:
    if len(args) % 2:
        raise _Fail("createObject() takes name/value pairs")
    return {_text("createObject", k): v for k, v in zip(args[::2], args[1::2], strict=True)}


def _substring(_: DeploymentContext, value: object, start: object, length: object = None) -> str:
    text = _text("substring", value)
    if not isinstance(start, int) or (length is not None and not isinstance(length, int)):
        raise _Fail("substring() needs integer start and length")
    end = len(text) if length is None else start + length  # type: ignore[operator]
    if start < 0 or end > len(text) or end < start:
        raise _Fail(f"substring(): start {start} and length {length} are outside a string of {len(text)}")
    return text[start:end]


def _end(function: str, value: object, index: int) -> object:
    """``first()``/``last()``: an empty string gives ``''``, an empty array ``null``, as in ARM."""
    if isinstance(value, str):
        return value[index] if value else ""
    if isinstance(value, list):
        return value[index] if value else None
    raise _Fail(f"{function}() needs a string or an array, got {json_kind(value)}")


def _integers(function: str, args: tuple[object, ...]) -> list[int]:
    if any(not isinstance(arg, int) or isinstance(arg, bool) for arg in args):
        raise _Fail(f"{function}() needs integers")
    return list(args)  # type: ignore[arg-type]


def _arithmetic(name: str, op: Callable[[int, int], int]) -> Callable[..., int]:
    def apply(_: DeploymentContext, a: object, b: object) -> int:
        left, right = _integers(name, (a, b))
        if name in ("div", "mod") and right == 0:
            raise _Fail(f"{name}(): division by zero")
        return op(left, right)

    return apply


def _truncated_div(a: int, b: int) -> int:
    """.NET integer division: towards zero."""
    return abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)


def _compare(name: str, op: Callable[[object, object], bool]) -> Callable[..., bool]:
    def apply(_: DeploymentContext, a: object, b: object) -> bool:
        if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool) and not isinstance(b, bool):
            return op(a, b)
        if isinstance(a, str) and isinstance(b, str):
            return op(a, b)
        raise _Fail(f"{name}() compares two integers or two strings")

    return apply


def _extreme(name: str, pick: Callable[[list[int]], int]) -> Callable[..., int]:
    def apply(_: DeploymentContext, *args: object) -> int:
        values = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        if not values:
            raise _Fail(f"{name}() needs at least one integer")
        return pick(_integers(name, tuple(values)))

    return apply


def _range(_: DeploymentContext, start: object, count: object) -> list[int]:
    first, length = _integers("range", (start, count))
    if length < 0:
        raise _Fail("range(): the count is negative")
    return list(range(first, first + length))


def _union(_: DeploymentContext, *args: object) -> object:
    """Arrays: each item once, in order; objects: merged, a later value winning (not deeply)."""
    if all(isinstance(arg, list) for arg in args):
        items: list[object] = []
        for arg in args:
            items += [item for item in arg if not any(_equal(item, seen) for seen in items)]  # type: ignore[union-attr]
        return items
    if all(isinstance(arg, dict) for arg in args):
        merged: dict[str, object] = {}
        for arg in args:
            for key, value in arg.items():  # type: ignore[union-attr]
                merged.pop(next((k for k in merged if k.lower() == key.lower()), key), None)
                merged[key] = value
        return merged
    raise _Fail("union() needs all arrays or all objects")


def _slice(name: str) -> Callable[..., object]:
    """``take()``/``skip()`` of a string or an array; a count out of range is clamped, as in ARM."""

    def apply(_: DeploymentContext, value: object, count: object) -> object:
        (number,) = _integers(name, (count,))
        if not isinstance(value, str | list):
            raise _Fail(f"{name}() needs a string or an array, got {json_kind(value)}")
        number = max(0, number)
        return value[:number] if name == "take" else value[number:]

    return apply


def _pad_left(_: DeploymentContext, value: object, width: object, fill: object = " ") -> str:
    (total,) = _integers("padLeft", (width,))
    text = _to_string(value)
    if not isinstance(fill, str) or len(fill) != 1:
        raise _Fail("padLeft() pads with a single character")
    return text.rjust(total, fill)


def _index_of(name: str, last: bool) -> Callable[..., int]:
    def apply(_: DeploymentContext, value: object, target: object) -> int:
        text, part = _text(name, value).lower(), _text(name, target).lower()
        return text.rfind(part) if last else text.find(part)

    return apply


def _base64(_: DeploymentContext, value: object) -> str:
    import base64

    return base64.b64encode(_text("base64", value).encode("utf-8")).decode("ascii")


def _base64_to_string(_: DeploymentContext, value: object) -> str:
    import base64
    import binascii

    try:
        return base64.b64decode(_text("base64ToString", value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _Fail("base64ToString(): not base64 of UTF-8 text") from None


def _uri(_: DeploymentContext, base: object, relative: object) -> str:
    """``uri(base, relative)``: ``relative`` resolved against ``base``, as a browser (and .NET's Uri) would."""
    from urllib.parse import urljoin

    return urljoin(_text("uri", base), _text("uri", relative))


def _try_get(_: DeploymentContext, value: object, *keys: object) -> object:
    """``tryGet(object, key, ...)`` (Bicep's ``.?``): the value down that path, or null where it stops."""
    for key in keys:
        try:
            value = _member(value, key)
        except _Fail:
            return None
    return value


def _shallow_merge(context: DeploymentContext, objects: object) -> object:
    """``shallowMerge([a, b, ...])``: the objects merged, a later value winning (not deeply)."""
    if not isinstance(objects, list) or not all(isinstance(item, dict) for item in objects):
        raise _Fail("shallowMerge() needs an array of objects")
    return _union(context, *objects) if objects else {}


def _items(_: DeploymentContext, value: object) -> list[dict[str, object]]:
    if not isinstance(value, dict):
        raise _Fail(f"items() needs an object, got {json_kind(value)}")
    return [{"key": key, "value": item} for key, item in value.items()]


def _join(_: DeploymentContext, value: object, delimiter: object) -> str:
    if not isinstance(value, list):
        raise _Fail(f"join() needs an array, got {json_kind(value)}")
    return _text("join", delimiter).join(_to_string(item) for item in value)


def _hashed(function: str, context: DeploymentContext, args: tuple[object, ...]) -> list[str]:
    """The strings a name function hashes; a stand-in compile assumed would hide in the hash, so it is refused."""
    texts = _texts(function, args)
    for stand_in, what in context.assumed.items():
        if any(stand_in in text for text in texts):
            raise _Fail(f"{function}() of {what}, which is not known offline")
    return texts


def _str_function(name: str, op: Callable[..., object]) -> Callable[..., object]:
    """A function over string arguments, each checked to be a string."""
    return lambda _, *args: op(*(_text(name, a) for a in args))


def _logic(name: str, op: Callable[[list[bool]], bool]) -> Callable[..., bool]:
    def run(_: DeploymentContext, *args: object) -> bool:
        if not all(isinstance(a, bool) for a in args):
            raise _Fail(f"{name}() needs boolean arguments")
        return op(list(args))  # type: ignore[arg-type]

    return run


# lower-case name -> (implementation, least, most arguments; None = any number)
_FUNCTIONS: dict[str, tuple[Callable[..., object], int, int | None]] = {
    "concat": (_concat, 1, None),
    "format": (_format, 1, None),
    "tolower": (_str_function("toLower", str.lower), 1, 1),
    "toupper": (_str_function("toUpper", str.upper), 1, 1),
    "trim": (_str_function("trim", str.strip), 1, 1),
    "replace": (_str_function("replace", str.replace), 3, 3),
    "split": (_str_function("split", str.split), 2, 2),
    "startswith": (_str_function("startsWith", lambda s, p: s.lower().startswith(p.lower())), 2, 2),
    "endswith": (_str_function("endsWith", lambda s, p: s.lower().endswith(p.lower())), 2, 2),
    "substring": (_substring, 2, 3),
    "resourceid": (_resource_id, 2, None),
    "string": (lambda _, v: _to_string(v), 1, 1),
    "int": (_int, 1, 1),
    "bool": (_bool, 1, 1),
    "json": (_json, 1, 1),
    "true": (lambda _: True, 0, 0),
    "false": (lambda _: False, 0, 0),
    "null": (lambda _: None, 0, 0),
    "equals": (lambda _, a, b: _equal(a, b), 2, 2),
    "not": (_logic("not", lambda v: not v[0]), 1, 1),
    "and": (_logic("and", all), 2, None),
    "or": (_logic("or", any), 2, None),
    "empty": (lambda _, v: v is None or v in ("", [], {}), 1, 1),
    "length": (_length, 1, 1),
    "contains": (_contains, 2, 2),
    "coalesce": (lambda _, *args: next((a for a in args if a is not None), None), 1, None),
    "createarray": (lambda _, *args: list(args), 0, None),
    "createobject": (_create_object, 0, None),
    "first": (lambda _, v: _end("first", v, 0), 1, 1),
    "last": (lambda _, v: _end("last", v, -1), 1, 1),
    "array": (lambda _, v: v if isinstance(v, list) else [v], 1, 1),
    "range": (_range, 2, 2),
    "union": (_union, 1, None),
    "take": (_slice("take"), 2, 2),
    "skip": (_slice("skip"), 2, 2),
    "min": (_extreme("min", min), 1, None),
    "max": (_extreme("max", max), 1, None),
    "add": (_arithmetic("add", lambda a, b: a + b), 2, 2),
    "sub": (_arithmetic("sub", lambda a, b: a - b), 2, 2),
    "mul": (_arithmetic("mul", lambda a, b: a * b), 2, 2),
    "div": (_arithmetic("div", _truncated_div), 2, 2),
    "mod": (_arithmetic("mod", lambda a, b: a - _truncated_div(a, b) * b), 2, 2),
    "less": (_compare("less", lambda a, b: a < b), 2, 2),  # type: ignore[operator]
    "lessorequals": (_compare("lessOrEquals", lambda a, b: a <= b), 2, 2),  # type: ignore[operator]
    "greater": (_compare("greater", lambda a, b: a > b), 2, 2),  # type: ignore[operator]
    "greaterorequals": (_compare("greaterOrEquals", lambda a, b: a >= b), 2, 2),  # type: ignore[operator]
    "padleft": (_pad_left, 2, 3),
    "indexof": (_index_of("indexOf", last=False), 2, 2),
    "lastindexof": (_index_of("lastIndexOf", last=True), 2, 2),
    "base64": (_base64, 1, 1),
    "base64tostring": (_base64_to_string, 1, 1),
    "uri": (_uri, 2, 2),
    "subscriptionresourceid": (_subscription_resource_id, 2, None),
    "tenantresourceid": (_tenant_resource_id, 2, None),
    "extensionresourceid": (_extension_resource_id, 3, None),
    "tryget": (_try_get, 2, None),
    "shallowmerge": (_shallow_merge, 1, 1),
    "items": (_items, 1, 1),
    "objectkeys": (lambda _, v: [item["key"] for item in _items(_, v)], 1, 1),
    "join": (_join, 2, 2),
    "uniquestring": (lambda context, *args: unique_string(*_hashed("uniqueString", context, args)), 1, None),
    "guid": (lambda context, *args: arm_guid(*_hashed("guid", context, args)), 1, None),
}

# Functions whose last argument(s) are lambda('name', ..., body), evaluated per item.
_TAKES_LAMBDA_NAMES = ("map", "filter", "reduce", "sort", "toObject")
_TAKES_LAMBDA = frozenset(name.lower() for name in _TAKES_LAMBDA_NAMES)

# Functions that need Azure (or a fresh random value) to answer; so do all list*() functions.
# fmt: off
_OFFLINE = frozenset({
    "reference", "newguid", "utcnow", "deployment", "environment", "tenant",
    "managementgroup", "pickzones", "providers", "managementgroupresourceid",
})
# fmt: on
