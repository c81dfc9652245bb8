"""Columns a table does not declare, learned: the one-pass decode takes them once met.

When Defender adds a column, every record of its table fails the one-pass decode
and takes the per-record path; that path teaches the column
(``m365parse.shapes.stream._Learned``) and the next decodes declare it. The records
must be the same either way: same types, same values, the column in ``extra``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import m365parse
from m365parse.shapes import stream
from m365parse.tables import RECORD_TYPES, TABLES

from .conftest import body, record


@pytest.fixture(autouse=True)
def _decided_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    """Columns decided after 2 records of their table (256 in use), so that one decode teaches them."""
    monkeypatch.setattr(stream._Learned, "SAMPLE", 2)


def _net(i: int, **more: Any) -> dict[str, Any]:
    props = {"Timestamp": f"2024-05-14T08:41:56.{i:07d}Z", "RemotePort": 443, "ActionType": "ConnectionSuccess"}
    return record("DeviceNetworkEvents", **{**props, **more})


def _proc(i: int) -> dict[str, Any]:
    return record("DeviceProcessEvents", ProcessId=i, FileName="a.exe")


def _decoded_twice(data: bytes) -> tuple[m365parse.Batch, m365parse.Batch]:
    """``data`` decoded with nothing learned, then again with what that decode taught."""
    stream._LEARNED.forget()
    first = m365parse.decode(data)
    second = m365parse.decode(data)
    return first, second


def _same(a: m365parse.Batch, b: m365parse.Batch) -> None:
    assert a.records == b.records and a.errors == b.errors
    for x, y in zip(a.records, b.records, strict=True):
        assert type(x) is type(y) is RECORD_TYPES[x.table]
        assert type(x.properties) is type(y.properties) is TABLES[x.table]
        assert x.extra == y.extra and x.to_dict() == y.to_dict()
        for column in ("Timestamp", "time"):
            assert m365parse.timestamp_ns(x, column) == m365parse.timestamp_ns(y, column)


def _layouts(batch: m365parse.Batch) -> list[str]:
    return [r._source()[0]._shape for r in batch.records]  # type: ignore[index]


def test_a_new_column_is_learned_and_the_records_stay_the_same() -> None:
    data = body(*(_net(i, BrandNewColumn=f"v{i}") if i % 2 else _proc(i) for i in range(12)))
    first, second = _decoded_twice(data)
    assert stream._LEARNED.columns == {"DeviceNetworkEvents": ("BrandNewColumn",)}
    _same(first, second)
    assert [r.extra for r in second.records if r.table == "DeviceNetworkEvents"] == [
        {"BrandNewColumn": f"v{i}"} for i in range(1, 12, 2)
    ]
    assert "one" in _layouts(first)  # the first decode: the record that taught it, on its own
    assert set(_layouts(second)) == {"body"}  # the second: every record in the one pass


@pytest.mark.parametrize("value", [None, "", 0, [1, {"a": None}], {"x": [True]}, 2**70, 1.5, "\\u00e9"])
def test_every_value_of_a_learned_column_is_kept_as_it_arrived(value: Any) -> None:
    data = body(_net(1, BrandNewColumn="x"), _net(2, BrandNewColumn=value), _net(3))
    first, second = _decoded_twice(data)
    _same(first, second)
    assert [r.extra for r in second.records] == [{"BrandNewColumn": "x"}, {"BrandNewColumn": value}, {}]


def test_several_learned_columns_in_any_order_and_other_undeclared_ones() -> None:
    data = body(
        _net(1, NewA=1, NewB=2),
        _net(2, NewB=3, NewA=4),  # the other order
        _net(3, NewB=5),
        _net(4, NewA=6, NewC=7),  # NewC: learned by this decode, after the others
    )
    first, second = _decoded_twice(data)
    _same(first, second)
    assert [r.extra for r in second.records] == [
        {"NewA": 1, "NewB": 2},
        {"NewB": 3, "NewA": 4},
        {"NewB": 5},
        {"NewA": 6, "NewC": 7},
    ]
    assert stream._LEARNED.columns["DeviceNetworkEvents"] == ("NewA", "NewB", "NewC")


def test_a_record_with_a_learned_column_and_a_value_that_does_not_fit() -> None:
    data = body(
        _net(1, BrandNewColumn=1), _net(2, BrandNewColumn=2, RemotePort="not a port"), _net(3, BrandNewColumn=3)
    )
    first, second = _decoded_twice(data)
    _same(first, second)
    assert second.records[1].properties.RemotePort is None
    assert second.records[1].extra == {"BrandNewColumn": 2, "RemotePort": "not a port"}


def test_at_most_so_many_columns_are_learned() -> None:
    many = {f"New{i}": i for i in range(stream._Learned.PER_TABLE + 3)}
    data = body(_net(1, **many), _net(2, **many))
    first, second = _decoded_twice(data)
    _same(first, second)
    assert len(stream._LEARNED.columns["DeviceNetworkEvents"]) == stream._Learned.PER_TABLE
    assert second.records[0].extra == many


@pytest.mark.parametrize("name", ['a"b', "a\\b", "a\x01b", ""])
def test_names_no_field_can_have_are_not_learned(name: str) -> None:
    data = body(_net(1, **{name: 1}), _net(2, **{name: 2}))
    first, second = _decoded_twice(data)
    _same(first, second)
    assert stream._LEARNED.columns == {}
    assert second.records[1].extra == {name: 2}


@pytest.mark.parametrize(
    ("table", "props"),
    [
        ("CloudAppEvents", {"Isp": "a", "ISP": "b"}),  # the other spelling goes to extra, never learned
        ("CloudAppEvents", {"Isp": "a"}),
        ("MessagePostDeliveryEvents", {"ThreatTypes": "phish"}),  # fills the column spelled ThreadTypes
        ("MessagePostDeliveryEvents", {"ThreatTypes": "phish", "ThreadTypes": "malware"}),
    ],
)
def test_other_spellings_of_a_column_are_not_learned(table: str, props: dict[str, Any]) -> None:
    data = body(record(table, **props), record(table, **props))
    first, second = _decoded_twice(data)
    _same(first, second)
    assert stream._LEARNED.columns == {}


def test_json_lines_and_arrays_learn_too() -> None:
    recs = [_net(i, BrandNewColumn=i) for i in range(5)]
    lines = "\n".join(json.dumps(r) for r in recs).encode()
    for data in (lines, json.dumps(recs).encode()):
        first, second = _decoded_twice(data)
        _same(first, second)
        assert set(_layouts(second)) == {"lines" if data is lines else "array"}
    decoder = m365parse.JsonLinesDecoder()
    assert decoder.feed(lines + b"\n").records == second.records


def test_decode_normalized_gives_the_same_events_learned_or_not() -> None:
    data = body(*(_net(i, BrandNewColumn=i) for i in range(4)))
    stream._LEARNED.forget()
    before = m365parse.decode_normalized(data, "ecs")
    m365parse.decode(data)  # learns
    assert stream._LEARNED.columns
    after = m365parse.decode_normalized(data, "ecs")
    assert after.events == before.events == m365parse.normalize_batch(m365parse.decode(data), "ecs")


@pytest.mark.parametrize(("every", "learned"), [(1, True), (8, True), (9, False), (100, False)])
def test_a_column_is_learned_when_common_enough(monkeypatch: pytest.MonkeyPatch, every: int, learned: bool) -> None:
    # 1 record in every `every` of the table has it; decided once 256 records of the table were seen
    monkeypatch.setattr(stream._Learned, "SAMPLE", 256)
    stream._LEARNED.forget()
    recs = [_net(i, BrandNewColumn=i) if i % every == 0 else _net(i) for i in range(288)]
    units = [body(*recs[i : i + 96]) for i in range(0, 288, 96)]
    first = [m365parse.decode(u) for u in units]
    assert ("DeviceNetworkEvents" in stream._LEARNED.columns) is learned
    again = [m365parse.decode(u) for u in units]
    for a, b in zip(first, again, strict=True):
        _same(a, b)
    one_pass = all(shape != "one" for batch in again for shape in _layouts(batch))
    assert one_pass is learned  # not learned: each record with it keeps taking the per-record path


def test_a_column_rolled_out_gradually_is_learned_once_common(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream._Learned, "SAMPLE", 64)
    stream._LEARNED.forget()
    rare = [_net(i, BrandNewColumn=i) if i % 32 == 0 else _net(i) for i in range(64)]
    m365parse.decode(body(*rare))
    assert stream._LEARNED.columns == {}  # 2 in 64: not yet
    common = [_net(i, BrandNewColumn=i) if i % 2 == 0 else _net(i) for i in range(64)]
    m365parse.decode(body(*common))
    assert stream._LEARNED.columns == {"DeviceNetworkEvents": ("BrandNewColumn",)}


def test_records_of_a_narrowed_decode_are_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    # decode_normalized skips the columns its rule set does not read: its records cannot tell
    # whether they had the column, so they do not count against it
    monkeypatch.setattr(stream._Learned, "SAMPLE", 16)
    stream._LEARNED.forget()
    m365parse.decode(body(_net(0, BrandNewColumn=0), _net(1, BrandNewColumn=1), _net(2)))
    m365parse.decode_normalized(body(*(_net(i) for i in range(3, 40))), "jsa")
    assert stream._LEARNED.reported["DeviceNetworkEvents"] == {"BrandNewColumn": 2}
    m365parse.decode(body(*(_net(i, BrandNewColumn=i) for i in range(40, 54))))
    assert stream._LEARNED.columns == {"DeviceNetworkEvents": ("BrandNewColumn",)}
