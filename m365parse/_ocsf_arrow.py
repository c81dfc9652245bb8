"""OCSF events as Arrow tables, one per class (Amazon Security Lake takes OCSF as Parquet, one class per table).

Public through :mod:`m365parse.arrow` (:func:`~m365parse.arrow.ocsf_schema`,
:func:`~m365parse.arrow.ocsf_tables`), which imports this module when they are
first called (the attribute tables are large); needs the ``arrow`` extra.  The
attribute types come from the generated ``_ocsf_attributes`` (OCSF 1.8.0, the
classes and objects the "ocsf" rule set uses).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from . import _json
from ._ocsf_attributes import BASE_TYPES, CLASSES, OBJECTS, VERSION
from .errors import M365ParseError

__all__ = ["schema", "tables"]

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

# What a value of each kind must be (bool is an int in Python: told apart below).
_SCALARS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "int32": (int,),
    "int64": (int,),
    "float64": (int, float),
    "bool": (bool,),
    "time": (int,),
}


@dataclass(frozen=True)
class _Attr:
    """How one attribute becomes Arrow: ``kind`` of each value, ``array`` for lists,
    ``children`` for an object kept as a struct."""

    kind: str  # string, int32, int64, float64, bool, time, json, struct
    array: bool
    children: Mapping[str, _Attr] | None = None


def _scalar_kind(ocsf_type: str) -> str:
    base = BASE_TYPES.get(ocsf_type, ocsf_type)
    if ocsf_type == "timestamp_t":
        return "time"
    return {
        "string_t": "string",
        "integer_t": "int32",
        "long_t": "int64",
        "float_t": "float64",
        "boolean_t": "bool",
    }.get(base, "json")  # json_t (any JSON value)


def _attrs(attributes: Mapping[str, tuple[str, str, bool]], level: int, depth: int) -> dict[str, _Attr]:
    out: dict[str, _Attr] = {}
    for name, (ocsf_type, object_type, is_array) in attributes.items():
        if ocsf_type != "object_t":
            out[name] = _Attr(_scalar_kind(ocsf_type), is_array)
        elif object_type == "object" or not OBJECTS.get(object_type) or level >= depth:
            out[name] = _Attr("json", is_array)  # unmapped, free-form objects, objects past the depth
        else:
            out[name] = _Attr("struct", is_array, _attrs(OBJECTS[object_type], level + 1, depth))
    return out


@functools.cache
def _plan(class_uid: int, depth: int) -> dict[str, _Attr]:
    if isinstance(class_uid, bool) or not isinstance(class_uid, int) or class_uid not in CLASSES:
        known = ", ".join(str(uid) for uid in CLASSES)
        raise M365ParseError(f"OCSF class_uid {class_uid!r} is not one the ocsf rule set emits; known: {known}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be a non-negative integer, got {depth!r}")
    return _attrs(CLASSES[class_uid][1], 0, depth)


def _arrow_type(attr: _Attr, attributes: Mapping[str, tuple[str, str, bool]], name: str, time_type: str) -> Any:
    object_type = attributes[name][1]
    if attr.kind == "struct":
        assert attr.children is not None
        obj = OBJECTS[object_type]
        t: Any = pa.struct([_field(n, a, obj, time_type) for n, a in attr.children.items()])
    elif attr.kind == "time":
        t = pa.int64() if time_type == "int64" else pa.timestamp("ms", tz="UTC")
    else:
        t = {
            "string": pa.string(),
            "int32": pa.int32(),
            "int64": pa.int64(),
            "float64": pa.float64(),
            "bool": pa.bool_(),
            "json": pa.string(),
        }[attr.kind]
    # "element": the name Parquet gives a list's items, so a table read back has the same schema
    return pa.list_(pa.field("element", t)) if attr.array else t


def _field(name: str, attr: _Attr, attributes: Mapping[str, tuple[str, str, bool]], time_type: str) -> pa.Field[Any]:
    meta = {"m365parse.encoding": "json"} if attr.kind == "json" else None
    return pa.field(name, _arrow_type(attr, attributes, name, time_type), nullable=True, metadata=meta)


def schema(class_uid: int, depth: int, time_type: str) -> pa.Schema:
    """:func:`m365parse.arrow.ocsf_schema`."""
    return _schema(class_uid, depth, time_type)


@functools.cache
def _schema(class_uid: int, depth: int, time_type: str) -> pa.Schema:
    if time_type not in ("int64", "timestamp"):
        raise ValueError(f"time_type must be 'int64' or 'timestamp', got {time_type!r}")
    plan = _plan(class_uid, depth)
    name, attributes = CLASSES[class_uid]
    fields = [_field(n, a, attributes, time_type) for n, a in plan.items()]
    meta: dict[bytes | str, bytes | str] = {
        "ocsf.version": VERSION,
        "ocsf.class_uid": str(class_uid),
        "ocsf.class_name": name,
    }
    return pa.schema(fields, metadata=meta)


class _Bad(ValueError):
    """A value that does not fit its attribute; the message names its path."""


def _value(attr: _Attr, value: Any, path: str) -> Any:
    if value is None:
        return None
    if attr.array:
        if not isinstance(value, list):
            raise _Bad(f"{path}: expected an array, got {type(value).__name__}")
        item = _Attr(attr.kind, False, attr.children)
        return [_value(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    kind = attr.kind
    if kind == "json":
        return _json.encode(value).decode()  # a lone surrogate as its \udXXX escape: valid UTF-8, lossless
    if kind == "struct":
        if not isinstance(value, dict):
            raise _Bad(f"{path}: expected an object, got {type(value).__name__}")
        assert attr.children is not None
        return _object(attr.children, value, path)
    if not isinstance(value, _SCALARS[kind]) or (isinstance(value, bool) and kind != "bool"):
        raise _Bad(f"{path}={value!r}: expected {kind}")
    number: Any = value
    if kind == "int32" and not _INT32_MIN <= number <= _INT32_MAX:
        raise _Bad(f"{path}={value!r}: beyond a 32-bit OCSF integer_t")
    if kind in ("int64", "time") and not _INT64_MIN <= number <= _INT64_MAX:
        raise _Bad(f"{path}={value!r}: beyond a 64-bit OCSF long_t")
    return value


def _object(children: Mapping[str, _Attr], obj: Mapping[str, Any], path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        attr = children.get(key)
        if attr is None:
            raise _Bad(f"{path}.{key}: not an attribute here (OCSF 1.8.0); keep such values in unmapped")
        out[key] = _value(attr, value, f"{path}.{key}")
    return out


def tables(events: Iterable[Mapping[str, Any]], depth: int, time_type: str) -> dict[int, pa.Table]:
    """:func:`m365parse.arrow.ocsf_tables`."""
    groups: dict[int, list[dict[str, Any]]] = {}
    positions: dict[int, list[int]] = {}
    for index, event in enumerate(events):
        uid = event.get("class_uid") if isinstance(event, Mapping) else None
        if isinstance(uid, bool) or not isinstance(uid, int) or uid not in CLASSES:
            raise ValueError(f"event {index}: class_uid {uid!r} is not an OCSF class the ocsf rule set emits")
        try:
            row = _object(_plan(uid, depth), event, f"event {index} (class {uid})")
        except _Bad as e:
            raise ValueError(str(e)) from None
        groups.setdefault(uid, []).append(row)
        positions.setdefault(uid, []).append(index)
    out = {}
    for uid, rows in groups.items():
        try:
            out[uid] = pa.Table.from_pylist(rows, schema=_schema(uid, depth, time_type))
        except UnicodeEncodeError:
            for row, index in zip(rows, positions[uid], strict=True):
                path = _lone_surrogate(row, f"event {index} (class {uid})")
                if path is not None:
                    raise ValueError(f"{path}: a text with a lone surrogate (Arrow strings are UTF-8)") from None
            raise
    return out


def _lone_surrogate(value: Any, path: str) -> str | None:
    """The path of the first text in a row that UTF-8 cannot encode (a lone surrogate), or None."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return path
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _lone_surrogate(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}")
        if found is not None:
            return found
    return None
