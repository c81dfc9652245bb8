"""Property-based tests of the polled APIs' shapes (Graph alerts, MDE alerts, XDR incidents, hunting rows).

Items are generated from the struct field types of :mod:`m365parse.api`, with
values of the right type or of a type that cannot be converted, undeclared keys
at any depth, and evidence of known and unknown ``@odata.type``:

- nothing is lost: the record's ``to_dict()`` properties, with ``extra`` put back
  at its JSON paths, give back the item (nulls aside);
- every item is accounted for, in a page, an array or JSON lines;
- the one-pass decode and the item-by-item build agree.
"""

from __future__ import annotations

import itertools
import json
import types
import typing
from datetime import datetime
from typing import Any, Union

import msgspec
from hypothesis import given
from hypothesis import strategies as st

import m365parse
from m365parse.api import EVIDENCE_TYPES, GraphAlert, MdeAlert, XdrIncident

from ._support import decode_checked, examples

_LETTERS = st.text(alphabet="abcxyz", min_size=1, max_size=6)
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_TIMES = st.sampled_from(
    ["2026-07-13T19:41:59Z", "2026-07-13T19:41:59.3Z", "2026-07-13T19:41:59.12345Z", "2026-07-13T19:41:59.1234567Z"]
)
_ODD = st.one_of(st.dictionaries(_LETTERS, st.integers(), max_size=2), st.lists(st.integers(), min_size=1, max_size=2))
_DEPTH = 3


def _args(tp: Any) -> list[Any]:
    if typing.get_origin(tp) is Union or isinstance(tp, types.UnionType):
        return [a for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


def _value(tp: Any, depth: int) -> st.SearchStrategy[Any]:
    (inner, *more) = _args(tp)
    if more and all(isinstance(a, type) and issubclass(a, msgspec.Struct) for a in (inner, *more)):
        return _evidence(depth)
    if isinstance(inner, type) and issubclass(inner, msgspec.Struct):
        return _item(inner, depth) if depth > 0 else st.just({})
    origin = typing.get_origin(inner)
    if origin is list:
        (item,) = typing.get_args(inner)
        return st.lists(_value(item, depth - 1), max_size=2) if depth > 0 else st.just([])
    if origin is dict:
        return st.dictionaries(_LETTERS, st.integers() | _LETTERS, max_size=2)
    if inner is str:
        return _TEXT | st.integers()
    if inner is int:
        return st.integers(-(2**40), 2**40) | _LETTERS
    if inner is bool:
        return st.booleans() | _LETTERS
    if inner is float:
        return st.floats(allow_nan=False, allow_infinity=False, width=32) | _LETTERS
    if typing.get_origin(inner) is typing.Annotated or inner is datetime:
        return _TIMES | _LETTERS
    return st.integers() | _TEXT | _ODD


def _item(struct: type[msgspec.Struct], depth: int) -> st.SearchStrategy[dict[str, Any]]:
    fields = {f.encode_name: f.type for f in msgspec.structs.fields(struct) if not f.encode_name.startswith("@")}
    tag = struct.__struct_config__.tag
    declared = st.fixed_dictionaries({}, optional={k: _value(t, depth - 1) for k, t in fields.items()})
    extra = st.dictionaries(st.sampled_from(["zzNew", "brandNew", "x_y"]), st.integers() | _TEXT, max_size=1)
    out = st.tuples(declared, extra).map(lambda pair: {**pair[0], **pair[1]})
    if isinstance(tag, str):
        out = out.map(lambda d: {"@odata.type": tag, **d})
    return out


def _evidence(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    known = st.sampled_from(sorted(EVIDENCE_TYPES)).flatmap(lambda tag: _item(EVIDENCE_TYPES[tag], depth))
    unknown = st.fixed_dictionaries(
        {"@odata.type": st.just("#microsoft.graph.security.futureEvidence"), "createdDateTime": _TIMES, "x": st.integers()}
    )
    return st.one_of(known, unknown)


def _graph_alert() -> st.SearchStrategy[dict[str, Any]]:
    base = {"providerAlertId": st.just("p-1"), "serviceSource": st.just("microsoftDefenderForEndpoint")}
    return st.tuples(_item(GraphAlert, _DEPTH), st.fixed_dictionaries(base)).map(lambda p: {**p[0], **p[1]})


def _mde_alert() -> st.SearchStrategy[dict[str, Any]]:
    return _item(MdeAlert, _DEPTH).map(lambda d: {**d, "alertCreationTime": "2026-04-26T07:45:50.116Z", "machineId": "m"})


def _xdr_incident() -> st.SearchStrategy[dict[str, Any]]:
    return _item(XdrIncident, _DEPTH).map(lambda d: {**d, "incidentName": "i", "alerts": d.get("alerts") if isinstance(d.get("alerts"), list) else []})


def _no_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value]
    return value


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    steps = m365parse._values.path_steps(path)
    assert steps is not None, path
    node: Any = doc
    for step, after in itertools.pairwise(steps):
        if isinstance(step, int):
            node = node[step]
        else:
            node = node.setdefault(step, [] if isinstance(after, int) else {})
    node[steps[-1]] = value


def _rebuilt(record: m365parse.Record) -> dict[str, Any]:
    data = record.to_dict()
    doc: dict[str, Any] = data["properties"]
    for key, value in data["extra"].items():
        _put(doc, key if key.startswith("$") else "$." + json.dumps(key) if not key.isidentifier() else key, value)
    return doc


def _canonical(value: Any) -> Any:
    """Timestamps as exact instants, numbers as numbers: what "the same value" means after typing.

    ``@odata.type`` keys are left out: ``to_dict()`` writes the type of a nested
    evidence that arrived without it (a value of exactly the declared type may omit it).
    """
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items() if k != "@odata.type"}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, str):
        ns = m365parse._values.parse_ns(value)
        return ("ts", ns) if ns is not None and value[:4].isdigit() else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _check_nothing_lost(items: list[dict[str, Any]], make: Any) -> None:
    batch = decode_checked(make(items), "generated API items")
    assert batch is not None
    assert len(batch.records) + len(batch.errors) == len(items)
    assert batch.errors == []
    for record, item in zip(batch.records, items, strict=True):
        assert _canonical(_rebuilt(record)) == _canonical(_no_nulls(item))


@examples(40)
@given(st.lists(_graph_alert(), min_size=1, max_size=3), st.sampled_from(["page", "array", "lines"]))
def test_graph_alerts_lose_nothing(items: list[dict[str, Any]], shape: str) -> None:
    makers = {
        "page": lambda xs: json.dumps({"@odata.context": "#security/alerts_v2", "value": xs}),
        "array": json.dumps,
        "lines": lambda xs: "\n".join(json.dumps(x) for x in xs),
    }
    _check_nothing_lost(items, makers[shape])


@examples(25)
@given(st.lists(_mde_alert(), min_size=1, max_size=2))
def test_mde_alerts_lose_nothing(items: list[dict[str, Any]]) -> None:
    _check_nothing_lost(items, lambda xs: json.dumps({"value": xs}))


@examples(25)
@given(st.lists(_xdr_incident(), min_size=1, max_size=2))
def test_xdr_incidents_lose_nothing(items: list[dict[str, Any]]) -> None:
    _check_nothing_lost(items, lambda xs: json.dumps({"@odata.context": "x#Incidents", "value": xs}))


@examples(25)
@given(
    st.lists(st.sampled_from(["String", "Int64", "DateTime", "SByte", "Double", "Dynamic", "Whatever"]), min_size=1, max_size=5),
    st.lists(st.lists(st.integers() | _TEXT | _TIMES | st.none() | _ODD, min_size=5, max_size=5), max_size=4),
    st.booleans(),
)
def test_hunting_rows_are_all_accounted_for(types_: list[str], rows: list[list[Any]], graph: bool) -> None:
    names = [f"C{i}" for i in range(len(types_))]
    schema = [{"name" if graph else "Name": n, "type" if graph else "Type": t} for n, t in zip(names, types_, strict=True)]
    results = [dict(zip(names, row, strict=False)) for row in rows]
    body = {"schema": schema, "results": results} if graph else {"Schema": schema, "Results": results}
    batch = decode_checked(json.dumps(body), "generated hunting response")
    assert batch is not None and batch.errors == [] and len(batch.records) == len(rows)
    for record, row in zip(batch.records, results, strict=True):
        data = record.to_dict()
        back = {**data["properties"], **data["extra"]}
        kinds = dict(zip(names, types_, strict=True))
        # "" (and msgspec's lax "null" text) in a typed column is an empty value, as in the tables;
        # everything else is kept
        typed = ("String", "Dynamic", "Whatever")
        kept = {
            k
            for k, v in row.items()
            if v is not None and not (isinstance(v, str) and v.lower() in ("", "null") and kinds[k] not in typed)
        }
        assert set(back) == kept
