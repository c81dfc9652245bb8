"""Spec builders: the rule language of :mod:`m365parse.mappings.registry` as function calls.

Rule data reads better as ``first(col("AccountUpn"), col("AccountName", "lower"))``
than as the nested dicts it stands for; every built-in rule set (``ecs``, ``ocsf``)
writes its rules with these.  Each returns a plain spec, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .registry import Spec

__all__ = ["Rules", "col", "const", "first", "collect", "when", "lookup", "fit"]

#: A table's rules: target field -> spec.
Rules = dict[str, Spec]


def col(column: str, *transforms: str) -> Spec:
    """The column, through ``transforms`` in order: ``{"column": ..., "transform": [...]}``."""
    return {"column": column, "transform": list(transforms)} if transforms else column


def const(value: Any) -> Spec:
    """A constant: ``{"const": value}``."""
    return {"const": value}


def first(*specs: Spec) -> Spec:
    """The first of ``specs`` whose value is not empty: ``{"first": [...]}``."""
    return {"first": list(specs)}


def collect(*specs: Spec) -> Spec:
    """Every non-empty value of ``specs``, as a list without repeats: ``{"collect": [...]}``."""
    return {"collect": list(specs)}


def when(condition: str, then: Spec, other: Spec | None = None) -> Spec:
    """``then`` when the named condition holds for the record, else ``other`` (if given)."""
    spec: dict[str, Any] = {"if": condition, "then": then}
    if other is not None:
        spec["else"] = other
    return spec


def lookup(spec: Spec, table: Mapping[Any, Any], default: Any = None) -> Spec:
    """``spec``'s value looked up in ``table``; a value not in it gives ``default`` (or nothing)."""
    out: dict[str, Any] = dict(spec) if isinstance(spec, Mapping) else {"column": spec}
    out["map"] = dict(table)
    if default is not None:
        out["default"] = default
    return out


def fit(spec: Spec, cols: Mapping[str, str]) -> Spec:
    """``spec`` without what reads columns that ``cols`` (a table's) does not have; None when nothing is left.

    A ``first`` left with one item and nothing of its own (no transform, map or
    default) is that item.
    """
    if spec is None or isinstance(spec, str):
        return spec if spec in cols else None
    if not isinstance(spec, Mapping):
        return spec
    if "column" in spec:
        return spec if spec["column"] in cols else None
    for key in ("first", "collect"):
        if key in spec:
            items = [f for f in (fit(item, cols) for item in spec[key]) if f is not None]
            if not items:
                return None
            if key == "first" and len(items) == 1 and not {"transform", "map", "default"} & set(spec):
                return items[0]
            return {**spec, key: items}
    if "if" in spec:
        then, other = fit(spec["then"], cols), fit(spec.get("else"), cols)
        if then is None and other is None:
            return None
        out = {k: v for k, v in spec.items() if k != "else"}
        out["then"] = then if then is not None else const(None)
        if other is not None:
            out["else"] = other
        return out
    return spec
