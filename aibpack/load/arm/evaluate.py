"""The evaluator: every expression in a JSON value, against parameters, variables and the deployment context."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aibpack.errors import AibpackError, JsonPath
from aibpack.load.arm.context import OFFLINE_HINT, DeploymentContext, member, plain
from aibpack.load.arm.functions import (
    CONTEXT_FUNCTIONS,
    FUNCTIONS,
    OFFLINE,
    TAKES_LAMBDA,
    TAKES_LAMBDA_NAMES,
    arity,
    string_arg,
)
from aibpack.load.arm.syntax import ArmError, ArmSyntaxError, Call, Index, Literal, Parser, Property
from aibpack.load.parameters import Parameters, check_value, json_kind


@dataclass(frozen=True)
class Passed:
    """A value a nested deployment passes to its template's parameter: computed in the parent on first use."""

    path: JsonPath
    compute: Callable[[], object]


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
            return plain(self._eval(Parser(text[1:-1]).parse()))
        except ArmSyntaxError as err:
            raise AibpackError(
                f"invalid ARM expression: {err.what} at character {err.pos + 2} (a literal string "
                "that starts with '[' and ends with ']' must be written with '[[')",
                file=self.file,
                path=path,
            ) from None
        except ArmError as err:
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
            raise ArmError(f"parameters({name!r}): no such parameter (declared: {known})")
        if key in self.parameters.given:
            return copy.deepcopy(self.parameters.given[key])
        path = (*param.path, "defaultValue")
        if key not in self.passed and not param.has_default and not param.nullable:
            raise ArmError(f"parameters({param.name!r}): the nested deployment passes no value and there is no default")

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
            raise ArmError(f"variables({name!r}): no such variable (declared: {known})")
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
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Property):
            return member(self._eval(node.target), node.name)
        if isinstance(node, Index):
            return member(self._eval(node.target), plain(self._eval(node.index)))
        assert isinstance(node, Call)
        name = node.name.lower()
        if name == "if":  # lazy, as in ARM: only the chosen branch is evaluated
            arity("if", node.args, 3, 3)
            condition = plain(self._eval(node.args[0]))
            if not isinstance(condition, bool):
                raise ArmError(f"if(): the condition is {json_kind(condition)}, not a boolean")
            return self._eval(node.args[1] if condition else node.args[2])
        if name in TAKES_LAMBDA:
            return self._call_with_lambda(node)
        if name == "lambda":
            raise ArmError(f"lambda() is only an argument of {', '.join(TAKES_LAMBDA_NAMES)}")
        args = [plain(self._eval(arg)) for arg in node.args]
        if name == "lambdavariables":
            arity(node.name, args, 1, 1)
            return self._lambda_variable(string_arg(node.name, args[0]))
        if name in CONTEXT_FUNCTIONS:
            arity(node.name, args, 0, 0)
            return CONTEXT_FUNCTIONS[name](self.context)
        if name == "parameters":
            arity(node.name, args, 1, 1)
            return self.parameter(string_arg(node.name, args[0]))
        if name == "variables":
            arity(node.name, args, 1, 1)
            return self.variable(string_arg(node.name, args[0]))
        if name in FUNCTIONS:
            function, least, most = FUNCTIONS[name]
            arity(node.name, args, least, most)
            return function(self.context, *args)
        if name in OFFLINE or name.startswith("list"):
            raise ArmError(f"ARM function {node.name}() cannot be evaluated offline: {OFFLINE_HINT}")
        raise ArmError(f"unsupported ARM function {node.name}()")

    def _call_with_lambda(self, node: Call) -> object:
        """``map``/``filter``/``reduce``/``toObject``/``sort``: the lambda is applied per item, lazily."""
        name = node.name.lower()
        least, most = {"reduce": (3, 3), "toobject": (2, 3)}.get(name, (2, 2))
        arity(node.name, node.args, least, most)
        array = plain(self._eval(node.args[0]))
        if not isinstance(array, list):
            raise ArmError(f"{node.name}() needs an array, got {json_kind(array)}")
        if name == "reduce":
            accumulated = plain(self._eval(node.args[1]))
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
        keys = [string_arg(node.name, self._apply(node.name, function, item)) for item in array]  # toObject
        values = [self._apply(node.name, node.args[2], item) for item in array] if len(node.args) == 3 else array
        return dict(zip(keys, values, strict=True))

    def _apply(self, function: str, node: object, *values: object) -> object:
        """Evaluate a ``lambda('a', 'b', body)`` node with its names bound to ``values`` (extra ones unused)."""
        if not (isinstance(node, Call) and node.name.lower() == "lambda" and len(node.args) >= 2):
            raise ArmError(f"{function}() needs a lambda('name', ...) argument")
        names = node.args[:-1]
        if not all(isinstance(n, Literal) and isinstance(n.value, str) for n in names):
            raise ArmError("lambda(): the variable names must be string literals")
        self._lambda_scopes.append({n.value.lower(): v for n, v in zip(names, values, strict=False)})  # type: ignore[union-attr]
        try:
            return plain(self._eval(node.args[-1]))
        finally:
            self._lambda_scopes.pop()

    def _lambda_variable(self, name: str) -> object:
        for scope in reversed(self._lambda_scopes):
            if name.lower() in scope:
                return copy.deepcopy(scope[name.lower()])
        raise ArmError(f"lambdaVariables({name!r}): no such lambda variable here")


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
