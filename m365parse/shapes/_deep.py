"""Column-by-column building of nested structs (API alerts, incidents) from untyped JSON, losing nothing.

:func:`build` is the per-item fallback of the API shapes: it builds ``struct_type``
from a decoded dict, recursing into nested structs, lists and tagged unions
(evidence typed by ``@odata.type``).  What does not fit goes to ``extra``: an
undeclared top-level key under its name, one deeper down under its JSON path
(``$.evidence[2].newProperty``), a value that does not fit its type under the
same key (the attribute is then ``None``).  An item of a tagged union whose tag
is unknown (or missing) stays in place as the untyped dict it arrived as.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Union

import msgspec
from msgspec import Struct

from .._values import converter_for

__all__ = ["build", "child_path"]

#: ``(value, path, extra) -> (ok, converted)``
_Conv = Callable[[Any, str, dict[str, Any]], tuple[bool, Any]]
_Plan = tuple[dict[str, tuple[str, _Conv]], str | None, str | None]

_PLANS: dict[type, _Plan] = {}
_NAME = re.compile(r"[A-Za-z_@][A-Za-z0-9_@]*\Z")


def child_path(path: str, key: str) -> str:
    """The JSON path of member ``key`` of the object at ``path`` (``$`` is the item)."""
    return f"{path}{_member(key)}"


@functools.lru_cache(maxsize=4096)
def _member(key: str) -> str:
    """``.key``, or ``["key"]`` when the key is not a plain name (``a.b``, ``@odata.type``)."""
    if _NAME.match(key) and "@" not in key[1:]:
        return f".{key}"
    import json

    return f"[{json.dumps(key)}]"


def _extra_key(path: str, key: str) -> str:
    return key if path == "$" else child_path(path, key)


def _tag_info(struct_type: type[Struct]) -> tuple[str | None, str | None]:
    config = struct_type.__struct_config__
    tag = config.tag
    return config.tag_field, tag if isinstance(tag, str) else None


def _plan(struct_type: type[Struct]) -> _Plan:
    plan = _PLANS.get(struct_type)
    if plan is None:
        fields = {
            f.encode_name: (f.name, _converter(f.encode_name, f.type)) for f in msgspec.structs.fields(struct_type)
        }
        plan = (fields, *_tag_info(struct_type))
        _PLANS[struct_type] = plan
    return plan


def build(struct_type: type[Struct], value: dict[str, Any], path: str, extra: dict[str, Any]) -> Struct:
    """``struct_type`` from the untyped object ``value`` found at ``path``; misfits go to ``extra``."""
    fields, tag_field, tag = _plan(struct_type)
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None:
            if key == tag_field and item == tag:
                continue
            extra[_extra_key(path, key)] = item
            continue
        if item is None:
            continue
        name, convert = spec
        ok, converted = convert(item, child_path(path, key), extra)
        if not ok:
            extra[_extra_key(path, key)] = item
        elif converted is not None:
            kwargs[name] = converted
    return struct_type(**kwargs)


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Struct)


def _converter(name: str, annotation: Any) -> _Conv:
    args = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    inner = [a for a in args if a is not type(None)]
    if inner and all(_is_struct(a) for a in inner):
        if len(inner) == 1 and _tag_info(inner[0])[1] is None:
            return _struct_converter(inner[0])
        return _union_converter(inner)
    base = inner[0] if len(inner) == 1 else annotation
    if typing.get_origin(base) is list:
        (item_type,) = typing.get_args(base) or (Any,)
        return _list_converter(_converter(name, item_type))
    if typing.get_origin(base) is dict:
        return _dict_converter
    flat = converter_for(name, annotation)
    return lambda value, path, extra: flat(value)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) is Union or isinstance(tp, types.UnionType)


def _struct_converter(struct_type: type[Struct]) -> _Conv:
    def convert(value: Any, path: str, extra: dict[str, Any]) -> tuple[bool, Any]:
        if not isinstance(value, dict):
            return False, None
        return True, build(struct_type, value, path, extra)

    return convert


def _union_converter(members: list[type[Struct]]) -> _Conv:
    by_tag = {}
    for member in members:
        tag_field, tag = _tag_info(member)
        if tag is not None:
            by_tag[tag] = member
    tag_field = _tag_info(members[0])[0]
    only = members[0] if len(members) == 1 else None

    def convert(value: Any, path: str, extra: dict[str, Any]) -> tuple[bool, Any]:
        if not isinstance(value, dict):
            return False, None
        tag = value.get(tag_field) if tag_field else None
        member = by_tag.get(tag) if isinstance(tag, str) else None
        if member is None and only is not None and tag is None:
            member = only  # a value of exactly the declared type may omit its @odata.type
        if member is None:
            return True, value  # an unknown type: kept untyped, in place
        return True, build(member, value, path, extra)

    return convert


def _list_converter(item: _Conv) -> _Conv:
    def convert(value: Any, path: str, extra: dict[str, Any]) -> tuple[bool, Any]:
        if not isinstance(value, list):
            return False, None
        out: list[Any] = []
        for pos, element in enumerate(value):
            if element is None:
                out.append(None)
                continue
            mark = len(extra)
            ok, converted = item(element, f"{path}[{pos}]", extra)
            if not ok:
                # The whole list is kept where it does not fit: drop what its items put in extra.
                for key in list(extra)[mark:]:
                    del extra[key]
                return False, None
            out.append(converted)
        return True, out

    return convert


def _dict_converter(value: Any, path: str, extra: dict[str, Any]) -> tuple[bool, Any]:
    return (True, value) if isinstance(value, dict) else (False, None)
