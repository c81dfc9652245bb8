"""Kinds whose paths are all members of the item (hunting rows) have a normalizer per item type.

Each is checked against the spec-by-spec reference (``api_rules.evaluate``) and against the
general compiled normalizer (the walk over the tree of paths) on rows with every kind of
value: None, empty strings, lists and dicts, datetimes with 0 to 7 fractional digits,
Graph's annotated dynamic values, members a row's struct does not declare, values changed
after decoding, and rules of a user's own.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from typing import Any

import msgspec
import pytest

import m365parse
from m365parse.api.records import HuntingRecord
from m365parse.mappings.api_rules import (
    Apply,
    Call,
    Collect,
    Const,
    First,
    Func,
    Item,
    Text,
    compile_rules,
    exact_text_of,
    normalizer_for,
)

from .test_api_rules_compiled import RULE_SETS, _expected, _plain, _rules

_COLUMNS = [("Timestamp", "DateTime"), ("TimeGenerated", "DateTime"), ("DeviceName", "String"),
            ("AccountName", "String"), ("AccountUpn", "String"), ("RemoteIP", "String"), ("IPAddress", "String"),
            ("Count", "Int64"), ("Flag", "Boolean"), ("Score", "Double"), ("Extra", "Dynamic"), ("class", "String")]


def _time(rng: random.Random) -> str | None:
    if rng.random() < 0.15:
        return None
    digits = rng.randint(0, 7)
    frac = "." + "".join(rng.choice("0123456789") for _ in range(digits)) if digits else ""
    return f"20{rng.randint(10, 40)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T0{rng.randint(0, 9)}:1{rng.randint(0, 9)}:2{rng.randint(0, 9)}{frac}Z"


def _row(rng: random.Random) -> dict[str, Any]:
    def text(value: str) -> str | None:
        return rng.choice([value, value, "", None])

    return {
        "Timestamp": _time(rng),
        "TimeGenerated": _time(rng),
        "DeviceName": text(f"dev-{rng.randint(1, 99)}"),
        "AccountName": text("jdoe"),
        "AccountUpn": text("jdoe@contoso.com"),
        "RemoteIP": rng.choice(["10.0.0.1", "::1", "fe80::1%eth0", "not an ip", "", None]),
        "IPAddress": rng.choice(["192.0.2.7", "", None]),
        "Count": rng.choice([0, 1, 42, None]),
        "Flag": rng.choice([True, False, None]),
        "Score": rng.choice([0.0, 1.5, None]),
        "Extra": rng.choice([None, {}, [], {"k": [1, None, "x"]}, [{"a": "2026-01-01T00:00:00Z"}], "text", ""]),
        "class": text("keyword column"),
    }


def _rows(count: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [_row(rng) for _ in range(count)]


def _xdr(rows: list[dict[str, Any]], columns: list[tuple[str, str]] = _COLUMNS) -> list[m365parse.Record]:
    schema = [{"Name": name, "Type": kind} for name, kind in columns]
    batch = m365parse.decode(json.dumps({"Schema": schema, "Results": rows}))
    assert batch.errors == []
    return batch.records


def _graph(rows: list[dict[str, Any]]) -> list[m365parse.Record]:
    """The same rows as Graph's runHuntingQuery gives them: dynamic values annotated."""
    results = []
    for row in rows:
        out = dict(row)
        for name, kind in _COLUMNS:
            if kind == "Dynamic" and row[name] is not None:
                out[f"{name}@odata.type"] = "#Microsoft.Graph.Json"
            if kind == "DateTime" and row[name] is not None:
                out[f"{name}@odata.type"] = "#DateTimeOffset"
        results.append(out)
    body = {"schema": [{"name": n, "type": k} for n, k in _COLUMNS], "results": results}
    batch = m365parse.decode(json.dumps(body))
    assert batch.errors == []
    return batch.records


def _same(got: Any, want: Any) -> None:
    assert _plain(got) == _plain(want)
    assert json.dumps(_plain(got), default=str) == json.dumps(_plain(want), default=str)  # keys in order


def _check(fn: Any, rules: dict[str, Any], records: list[m365parse.Record], nested: bool) -> None:
    general = fn.__globals__["_general0"]
    for record in records:
        got = fn(record)
        _same(got, _expected(rules, record, nested))
        _same(got, general(record))


def _typed(fn: Any) -> dict[type, Any]:
    return {t: f for t, f in fn.__globals__["_tget0"].__self__.items() if (f.__doc__ or "").startswith("def normalize")}


@pytest.mark.parametrize("rule_set", RULE_SETS)
def test_rows_of_every_kind_of_value_normalize_as_the_general_normalizer_does(rule_set: str) -> None:
    nested = not rule_set.startswith("jsa")
    fn = normalizer_for(rule_set, "HuntingRow", nested)
    assert fn is not None
    rows = _rows(300)
    xdr, graph = _xdr(rows), _graph(rows)
    assert all(r.table == "HuntingRow" and not isinstance(r.properties, dict) for r in xdr + graph)
    _check(fn, _rules(rule_set, "HuntingRow"), xdr + graph, nested)
    assert len(_typed(fn)) == 2  # the XDR row struct and the Graph one (annotations as members)


@pytest.mark.parametrize("rule_set", RULE_SETS)
def test_datetimes_with_every_number_of_fractional_digits_are_exact(rule_set: str) -> None:
    nested = not rule_set.startswith("jsa")
    fn = normalizer_for(rule_set, "HuntingRow", nested)
    assert fn is not None
    texts = [f"2026-07-01T10:00:00{'.' + '1234567'[:n] if n else ''}Z" for n in range(8)]
    texts += ["2026-07-01T10:00:00.9999999Z", "2026-07-01T10:00:00.0000001Z", "2026-07-01T10:00:00.1230000Z"]
    records = _xdr([{"Timestamp": t} for t in texts], [("Timestamp", "DateTime"), ("DeviceName", "String")])
    _check(fn, _rules(rule_set, "HuntingRow"), records, nested)
    for record, text in zip(records, texts, strict=True):
        got = fn(record)
        when = got["DeviceTime"] if not nested else None
        if when is not None:
            assert when.ns == m365parse.timestamp_ns(record, "Timestamp")
            assert when.isoformat_exact() == m365parse.exact_datetime(record, "Timestamp").isoformat_exact()
        assert text  # every text decoded


@pytest.mark.parametrize("rule_set", RULE_SETS)
def test_values_changed_after_decoding_are_read_as_they_are_now(rule_set: str) -> None:
    nested = not rule_set.startswith("jsa")
    fn = normalizer_for(rule_set, "HuntingRow", nested)
    assert fn is not None
    records = _xdr(_rows(6, seed=11))
    when = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    records[0].properties.Timestamp = "not a datetime any more"
    records[1].properties.DeviceName = when  # a datetime where a string was
    records[2].properties.Timestamp = when
    records[3].properties.AccountName = ["a", "", None]
    records[4].properties.Timestamp = None
    records[4].properties.TimeGenerated = when
    _check(fn, _rules(rule_set, "HuntingRow"), records, nested)


def test_struct_types_declaring_only_some_members_and_rows_kept_as_dicts() -> None:
    rules = {"a": First.of("Timestamp", "TimeGenerated"), "b": "DeviceName", "c": First.of("Missing", "AccountName"),
             "d": Apply(First.of("RemoteIP", "IPAddress"), ("ip",)), "e": "Missing"}
    when = datetime(2026, 7, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)
    narrow = msgspec.defstruct("Narrow", [("TimeGenerated", Any, None), ("AccountName", Any, None)],
                               kw_only=True, omit_defaults=True)
    renamed = msgspec.defstruct("Renamed", [("dev", Any, msgspec.field(default=None, name="DeviceName"))],
                                kw_only=True, omit_defaults=True)
    records = [
        HuntingRecord(properties=narrow(TimeGenerated=when, AccountName="jdoe")),
        HuntingRecord(properties=narrow()),
        HuntingRecord(properties=renamed(dev="dev-1")),  # a member read by its JSON name, its attribute another
        HuntingRecord(properties={"Timestamp": "2026-07-01T10:00:00Z", "DeviceName": "d", "IPAddress": "::1"}),
        HuntingRecord(properties=None),
        *_xdr(_rows(20, seed=5)),
    ]
    for nested in (False, True):
        fn = compile_rules(rules, nested)
        _check(fn, rules, records, nested)
        assert fn(records[2]) == {"b": "dev-1"}
        typed = _typed(fn)
        assert {narrow, renamed} <= set(typed) and dict not in typed


def test_a_users_own_rules_of_every_spec_over_members() -> None:
    def joined(*values: Any) -> str:
        """the values joined (datetimes as their exact text, as the rule sets' own functions read them)"""
        return "|".join(str(exact_text_of(v)) for v in values)

    def table(record: m365parse.Record) -> str:
        """the record's kind"""
        return record.table

    rules: dict[str, Any] = {
        "const": Const("x"),
        "const_list": Const(["a", "b"]),
        "const_empty": Const(""),
        "event.path": "DeviceName",
        "event.dollar": "$.Timestamp",  # the same member as "Timestamp": one local
        "time": "Timestamp",
        "first": First.of("AccountName", "AccountUpn", Const("nobody")),
        "first_paths": First.of("Timestamp", "TimeGenerated"),
        "collect": Collect.of("AccountName", "AccountUpn", "DeviceName", "AccountName"),
        "apply": Apply(First.of("RemoteIP", "IPAddress"), ("ip", "ipv6")),
        "apply_path": Apply("RemoteIP", ("ip",)),
        "apply_collect": Apply(Collect.of("RemoteIP", "IPAddress"), ("ip",)),
        "text": Text("Count"),
        "func": Func.of(joined, "Count", "Flag", "Timestamp"),
        "call": Call(table),
        "dynamic": "Extra",
        "keyword": "class",
        "score": "Score",
        "flag": "Flag",
        "item": Item(),
        "whole": Item(whole=True),
    }
    rows = _rows(200, seed=9)
    records = _xdr(rows) + _graph(rows)
    for nested in (False, True):
        fn = compile_rules(rules, nested)
        _check(fn, rules, records, nested)
        assert len(_typed(fn)) == 2


def test_many_row_structs_keep_a_bounded_number_of_normalizers() -> None:
    from m365parse.mappings import api_rules

    fn = compile_rules({"a": "A", "b": First.of("B", "A")}, False)
    for i in range(api_rules._MAX_READERS + 5):
        struct = msgspec.defstruct(f"Row{i}", [("A", Any, None), (f"C{i}", Any, None)], kw_only=True)
        assert fn(HuntingRecord(properties=struct(A=str(i)))) == {"a": str(i), "b": str(i)}
    assert len(fn.__globals__["_tget0"].__self__) <= api_rules._MAX_READERS
