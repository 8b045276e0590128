"""The ARM template functions aibpack evaluates offline, by lower-case name, with their argument counts.

Each implementation takes the :class:`DeploymentContext` first. Functions that need Azure (or a fresh random
value) are listed in ``OFFLINE`` so the error can say so instead of "unsupported".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from aibpack.load.arm.context import ContextObject, DeploymentContext, member
from aibpack.load.arm.names import arm_guid, unique_string
from aibpack.load.arm.syntax import ArmError
from aibpack.load.parameters import json_kind


def arity(name: str, args: tuple[object, ...] | list[object], least: int, most: int | None) -> None:
    if len(args) < least or (most is not None and len(args) > most):
        wanted = str(least) if least == most else f"{least}+" if most is None else f"{least} to {most}"
        raise ArmError(f"{name}() takes {wanted} argument(s), got {len(args)}")


def string_arg(function: str, value: object) -> str:
    if not isinstance(value, str):
        raise ArmError(f"{function}() needs a string, got {json_kind(value)}")
    return value


def to_string(value: object) -> str:
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


def _subscription(context: DeploymentContext) -> ContextObject:
    sub = context.subscription_id
    return ContextObject(
        "subscription()",
        {
            "id": f"/subscriptions/{sub}" if sub else None,
            "subscriptionId": sub,
            "tenantId": None,
            "displayName": None,
        },
        {"id": "subscriptionId", "subscriptionId": "subscriptionId"},
    )


def _resource_group(context: DeploymentContext) -> ContextObject:
    sub, group = context.subscription_id, context.resource_group
    return ContextObject(
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


CONTEXT_FUNCTIONS: dict[str, Callable[[DeploymentContext], ContextObject]] = {
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
        raise ArmError("resourceId(): no resource type (like 'Microsoft.Compute/images') among the arguments")
    prefix = values[:position]
    try:
        group = prefix[-1] if prefix else _resource_group(context).get("name")
        sub = prefix[0] if len(prefix) == 2 else _subscription(context).get("subscriptionId")
    except ArmError as err:
        raise ArmError(f"resourceId(): {err}") from None
    return f"/subscriptions/{sub}/resourceGroups/{group}" + _provider_path("resourceId", values[position:])


def _subscription_resource_id(context: DeploymentContext, *args: object) -> str:
    """``subscriptionResourceId([subscriptionId], type, name1, ...)``: a resource of the subscription itself."""
    values = _texts("subscriptionResourceId", args)
    if "/" in values[0]:
        try:
            values.insert(0, _subscription(context).get("subscriptionId"))
        except ArmError as err:
            raise ArmError(f"subscriptionResourceId(): {err}") from None
    return f"/subscriptions/{values[0]}" + _provider_path("subscriptionResourceId", values[1:])


def _extension_resource_id(_: DeploymentContext, scope: object, *args: object) -> str:
    """``extensionResourceId(resourceId, type, name1, ...)``: a resource that extends another one."""
    return string_arg("extensionResourceId", scope).rstrip("/") + _provider_path(
        "extensionResourceId", _texts("extensionResourceId", args)
    )


def _tenant_resource_id(_: DeploymentContext, *args: object) -> str:
    """``tenantResourceId(type, name1, ...)``: a resource at the tenant, like a built-in role definition."""
    return _provider_path("tenantResourceId", _texts("tenantResourceId", args))


def _texts(function: str, args: tuple[object, ...]) -> list[str]:
    return [string_arg(function, arg) for arg in args]


def _provider_path(function: str, values: list[str]) -> str:
    """``/providers/NS/type1/name1/type2/name2`` from ``[NS/type1/type2, name1, name2]``."""
    if not values or "/" not in values[0]:
        raise ArmError(f"{function}(): no resource type (like 'Microsoft.Compute/images') among the arguments")
    kind, names = values[0], values[1:]
    segments = kind.strip("/").split("/")
    parts = "/".join(names).split("/") if names else []
    if len(parts) != len(segments) - 1:
        raise ArmError(f"{function}(): type {kind!r} needs {len(segments) - 1} name(s), got {len(parts)}")
    tail = "/".join(f"{t}/{n}" for t, n in zip(segments[1:], parts, strict=True))
    return f"/providers/{segments[0]}/{tail}"


def _concat(_: DeploymentContext, *args: object) -> object:
    if args and all(isinstance(a, list) for a in args):
        return [item for a in args for item in a]  # type: ignore[union-attr]
    if any(isinstance(a, list | dict) for a in args):
        raise ArmError("concat() takes either all strings or all arrays")
    return "".join(to_string(a) for a in args)


_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)\}|[{}]")


def _format(_: DeploymentContext, template: object, *args: object) -> str:
    """.NET composite formatting, ``{0}`` items and ``{{``/``}}`` escapes (no format specifiers)."""

    def item(match: re.Match[str]) -> str:
        text = match.group()
        if text in ("{{", "}}"):
            return text[0]
        if match.group(1) is None:
            raise ArmError(f"format(): only {{n}} items are supported, near {text!r}")
        index = int(match.group(1))
        if index >= len(args):
            raise ArmError(f"format(): item {{{index}}} but only {len(args)} argument(s)")
        return to_string(args[index])

    return _FORMAT_ITEM.sub(item, string_arg("format", template))


def _equal(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _int(_: DeploymentContext, value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ArmError(f"int(): cannot convert {json_kind(value)} {value!r}") from None


def _bool(_: DeploymentContext, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ArmError(f"bool(): cannot convert {json_kind(value)} {value!r}")


def _json(_: DeploymentContext, value: object) -> object:
    try:
        return json.loads(string_arg("json", value))
    except json.JSONDecodeError as err:
        raise ArmError(f"json(): invalid JSON: {err.msg}") from None


def _length(_: DeploymentContext, value: object) -> int:
    if not isinstance(value, str | list | dict):
        raise ArmError(f"length() needs a string, array or object, got {json_kind(value)}")
    return len(value)


def _contains(_: DeploymentContext, container: object, item: object) -> bool:
    if isinstance(container, str):
        return to_string(item) in container
    if isinstance(container, list):
        return any(_equal(x, item) for x in container)
    if isinstance(container, dict):
        return isinstance(item, str) and item.lower() in (k.lower() for k in container)
    raise ArmError(f"contains() needs a string, array or object, got {json_kind(container)}")


def _create_object(_: DeploymentContext, *args: object) -> dict[str, object]:
    if len(args) % 2:
        raise ArmError("createObject() takes name/value pairs")
    return {string_arg("createObject", k): v for k, v in zip(args[::2], args[1::2], strict=True)}


def _substring(_: DeploymentContext, value: object, start: object, length: object = None) -> str:
    text = string_arg("substring", value)
    if not isinstance(start, int) or (length is not None and not isinstance(length, int)):
        raise ArmError("substring() needs integer start and length")
    end = len(text) if length is None else start + length  # type: ignore[operator]
    if start < 0 or end > len(text) or end < start:
        raise ArmError(f"substring(): start {start} and length {length} are outside a string of {len(text)}")
    return text[start:end]


def _end(function: str, value: object, index: int) -> object:
    """``first()``/``last()``: an empty string gives ``''``, an empty array ``null``, as in ARM."""
    if isinstance(value, str):
        return value[index] if value else ""
    if isinstance(value, list):
        return value[index] if value else None
    raise ArmError(f"{function}() needs a string or an array, got {json_kind(value)}")


def _integers(function: str, args: tuple[object, ...]) -> list[int]:
    if any(not isinstance(arg, int) or isinstance(arg, bool) for arg in args):
        raise ArmError(f"{function}() needs integers")
    return list(args)  # type: ignore[arg-type]


def _arithmetic(name: str, op: Callable[[int, int], int]) -> Callable[..., int]:
    def apply(_: DeploymentContext, a: object, b: object) -> int:
        left, right = _integers(name, (a, b))
        if name in ("div", "mod") and right == 0:
            raise ArmError(f"{name}(): division by zero")
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
        raise ArmError(f"{name}() compares two integers or two strings")

    return apply


def _extreme(name: str, pick: Callable[[list[int]], int]) -> Callable[..., int]:
    def apply(_: DeploymentContext, *args: object) -> int:
        values = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        if not values:
            raise ArmError(f"{name}() needs at least one integer")
        return pick(_integers(name, tuple(values)))

    return apply


def _range(_: DeploymentContext, start: object, count: object) -> list[int]:
    first, length = _integers("range", (start, count))
    if length < 0:
        raise ArmError("range(): the count is negative")
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
    raise ArmError("union() needs all arrays or all objects")


def _slice(name: str) -> Callable[..., object]:
    """``take()``/``skip()`` of a string or an array; a count out of range is clamped, as in ARM."""

    def apply(_: DeploymentContext, value: object, count: object) -> object:
        (number,) = _integers(name, (count,))
        if not isinstance(value, str | list):
            raise ArmError(f"{name}() needs a string or an array, got {json_kind(value)}")
        number = max(0, number)
        return value[:number] if name == "take" else value[number:]

    return apply


def _pad_left(_: DeploymentContext, value: object, width: object, fill: object = " ") -> str:
    (total,) = _integers("padLeft", (width,))
    text = to_string(value)
    if not isinstance(fill, str) or len(fill) != 1:
        raise ArmError("padLeft() pads with a single character")
    return text.rjust(total, fill)


def _index_of(name: str, last: bool) -> Callable[..., int]:
    def apply(_: DeploymentContext, value: object, target: object) -> int:
        text, part = string_arg(name, value).lower(), string_arg(name, target).lower()
        return text.rfind(part) if last else text.find(part)

    return apply


def _base64(_: DeploymentContext, value: object) -> str:
    import base64

    return base64.b64encode(string_arg("base64", value).encode("utf-8")).decode("ascii")


def _base64_to_string(_: DeploymentContext, value: object) -> str:
    import base64
    import binascii

    try:
        return base64.b64decode(string_arg("base64ToString", value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ArmError("base64ToString(): not base64 of UTF-8 text") from None


def _uri(_: DeploymentContext, base: object, relative: object) -> str:
    """``uri(base, relative)``: ``relative`` resolved against ``base``, as a browser (and .NET's Uri) would."""
    from urllib.parse import urljoin

    return urljoin(string_arg("uri", base), string_arg("uri", relative))


def _try_get(_: DeploymentContext, value: object, *keys: object) -> object:
    """``tryGet(object, key, ...)`` (Bicep's ``.?``): the value down that path, or null where it stops."""
    for key in keys:
        try:
            value = member(value, key)
        except ArmError:
            return None
    return value


def _shallow_merge(context: DeploymentContext, objects: object) -> object:
    """``shallowMerge([a, b, ...])``: the objects merged, a later value winning (not deeply)."""
    if not isinstance(objects, list) or not all(isinstance(item, dict) for item in objects):
        raise ArmError("shallowMerge() needs an array of objects")
    return _union(context, *objects) if objects else {}


def _items(_: DeploymentContext, value: object) -> list[dict[str, object]]:
    if not isinstance(value, dict):
        raise ArmError(f"items() needs an object, got {json_kind(value)}")
    return [{"key": key, "value": item} for key, item in value.items()]


def _join(_: DeploymentContext, value: object, delimiter: object) -> str:
    if not isinstance(value, list):
        raise ArmError(f"join() needs an array, got {json_kind(value)}")
    return string_arg("join", delimiter).join(to_string(item) for item in value)


def _hashed(function: str, context: DeploymentContext, args: tuple[object, ...]) -> list[str]:
    """The strings a name function hashes; a stand-in compile assumed would hide in the hash, so it is refused."""
    texts = _texts(function, args)
    for stand_in, what in context.assumed.items():
        if any(stand_in in text for text in texts):
            raise ArmError(f"{function}() of {what}, which is not known offline")
    return texts


def _str_function(name: str, op: Callable[..., object]) -> Callable[..., object]:
    """A function over string arguments, each checked to be a string."""
    return lambda _, *args: op(*(string_arg(name, a) for a in args))


def _logic(name: str, op: Callable[[list[bool]], bool]) -> Callable[..., bool]:
    def run(_: DeploymentContext, *args: object) -> bool:
        if not all(isinstance(a, bool) for a in args):
            raise ArmError(f"{name}() needs boolean arguments")
        return op(list(args))  # type: ignore[arg-type]

    return run


# lower-case name -> (implementation, least, most arguments; None = any number)
FUNCTIONS: dict[str, tuple[Callable[..., object], int, int | None]] = {
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
    "string": (lambda _, v: to_string(v), 1, 1),
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
TAKES_LAMBDA_NAMES = ("map", "filter", "reduce", "sort", "toObject")
TAKES_LAMBDA = frozenset(name.lower() for name in TAKES_LAMBDA_NAMES)

# Functions that need Azure (or a fresh random value) to answer; so do all list*() functions.
# fmt: off
OFFLINE = frozenset({
    "reference", "newguid", "utcnow", "deployment", "environment", "tenant",
    "managementgroup", "pickzones", "providers", "managementgroupresourceid",
})
# fmt: on
