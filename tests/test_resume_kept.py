"""A one-pass decode that fails keeps the records it completed: the same records and errors as one by one.

The kinds of record real data sends that the one-pass decode rejects (FIELD-NOTES): a
column the table does not declare, ``""`` in an integer column (ports), a value of
another type, a line that is not JSON; alone, in a row, 1%, first and last.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import m365parse
from m365parse import InvalidRecord, Record
from m365parse import _decode as core
from m365parse.record import DECODED
from m365parse.shapes import Partial, stream
from m365parse.tables import RECORD_TYPES

from .test_resume import _expected, _same

SAMPLES = Path(m365parse.__file__).resolve().parent / "samples"
TABLES = ("DeviceNetworkEvents", "DeviceProcessEvents", "DeviceLogonEvents", "DeviceFileEvents")


def _records(n: int) -> list[dict[str, Any]]:
    pool = [
        rec for table in TABLES for rec in json.loads((SAMPLES / f"{table}.json").read_text("utf-8"))["records"]
    ]
    return [json.loads(json.dumps(pool[i % len(pool)])) for i in range(n)]


_INT_COLUMNS = ("RemotePort", "LocalPort", "ProcessId", "InitiatingProcessId", "InitiatingProcessParentId")


def _spoil(rec: dict[str, Any], kind: str) -> None:
    props = rec["properties"]
    if kind == "new column":
        props["SomeNewColumn"] = "x"
    elif kind == "empty int":
        column = next(c for c in _INT_COLUMNS if c in props)
        props[column] = ""
    elif kind == "new column and empty int":
        props["SomeNewColumn"] = {"nested": [1, 2]}
        props[next(c for c in _INT_COLUMNS if c in props)] = ""
    elif kind == "wrong type":
        props["Timestamp"] = [1]
    else:
        raise AssertionError(kind)


def _data(raws: list[bytes], shape: str) -> tuple[bytes, str | None]:
    if shape == "body":
        return b'{"records": [' + b", ".join(raws) + b"]}", "$.records"
    if shape == "array":
        return b"[" + b",\n ".join(raws) + b"]", "$"
    return b"\n".join(raws) + b"\n", None


def _spoiled_array(n: int, at: int, kind: str) -> tuple[list[bytes], bytes]:
    """``n`` records, the one at ``at`` spoiled (``kind``): their bytes, and them as a JSON array."""
    recs = _records(n)
    _spoil(recs[at], kind)
    raws = [json.dumps(r).encode() for r in recs]
    return raws, b"[" + b",".join(raws) + b"]"


KINDS = ("new column", "empty int", "new column and empty int", "wrong type")
WHERE = {
    "first": [0],
    "second": [1],
    "middle": [150],
    "last": [299],
    "two in a row": [100, 101],
    "1%": list(range(50, 300, 100)),
    "5%": list(range(3, 300, 20)),
}


@pytest.mark.parametrize("where", sorted(WHERE))
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", ["body", "array", "lines"])
def test_same_records_extra_and_errors_as_one_by_one(shape: str, kind: str, where: str) -> None:
    recs = _records(300)
    for i in WHERE[where]:
        _spoil(recs[i], kind)
    raws = [json.dumps(r).encode() for r in recs]
    data, prefix = _data(raws, shape)
    batch = m365parse.decode(data)
    assert len(batch.records) == len(raws) and not batch.errors
    _same(batch, _expected(raws, prefix), ("time", "Timestamp"))
    for i in WHERE[where]:
        extra = batch.records[i].extra
        # "" is an empty value: None, like null (not kept in extra)
        assert ("SomeNewColumn" in extra) == ("new column" in kind)
        assert ("Timestamp" in extra) == (kind == "wrong type")
    assert all(not r.extra for i, r in enumerate(batch.records) if i not in WHERE[where])
    # records of their tables' types, not of the collecting twins the one pass decodes into
    assert all(type(r) is RECORD_TYPES[r.table] for r in batch.records)
    assert DECODED.get() is None  # no collecting left on


@pytest.mark.parametrize("shape", ["body", "lines"])
def test_mixed_kinds_with_errors_and_lines_that_are_not_json(shape: str) -> None:
    recs = _records(120)
    for n, i in enumerate(range(5, 120, 11)):
        _spoil(recs[i], KINDS[n % len(KINDS)])
    raws = [json.dumps(r).encode() for r in recs]
    raws[30] = b'{"category": "AdvancedHunting-DeviceProcessEvents", "properties": 1}'  # an error
    raws[60] = raws[60].replace(b'"Publish"', b'"Pub\xfflish"', 1)  # invalid UTF-8: not JSON
    raws[61] = b'{"time": "\x00", ' + raws[61][1:]  # a raw NUL byte in a string: not JSON
    data, prefix = _data(raws, shape)
    batch = m365parse.decode(data)
    assert len(batch.records) + len(batch.errors) == len(raws)
    _same(batch, _expected(raws, prefix), ("time", "Timestamp"))
    assert [e.index for e in batch.errors] == [30, 60, 61]


def test_a_failed_run_keeps_the_records_before_the_item_it_failed_at() -> None:
    raws, array = _spoiled_array(40, 25, "new column")
    with pytest.raises(Partial) as exc:
        stream._run(array)
    assert core.failed_item(exc.value) == 25
    kept = exc.value.records
    assert len(kept) == 25
    expected = _expected(raws[:25], "$")
    assert kept == expected and all(type(r) is RECORD_TYPES[r.table] for r in kept)
    assert DECODED.get() is None


def test_records_made_outside_a_decode_are_not_collected() -> None:
    from m365parse.tables import DeviceProcessEventsRecord

    before = DECODED.get()
    DeviceProcessEventsRecord(properties=None)
    assert before is None and DECODED.get() is None


def test_only_the_one_pass_decoders_collect() -> None:
    """A record of a table's type made while a one-pass decode collects (a hunting row
    wrapped, a caller's own) is not taken for one that decode completed."""
    from m365parse.tables import DeviceProcessEventsRecord

    sink: list[Record] = []
    token = DECODED.set(sink)
    try:
        DeviceProcessEventsRecord(properties=None)
        assert sink == []
        stream._decoders().one.decode(json.dumps(_records(1)[0]).encode())
        # collected as a record of its table (the twin msgspec made it as is not seen)
        assert len(sink) == 1 and type(sink[0]) is RECORD_TYPES[sink[0].table]
    finally:
        DECODED.reset(token)


def test_a_run_that_fails_on_its_first_item_keeps_nothing() -> None:
    raws, array = _spoiled_array(10, 0, "empty int")
    with pytest.raises(ValueError) as exc:
        stream._run(array)
    assert not isinstance(exc.value, Partial)
    batch = m365parse.decode(array)
    _same(batch, _expected(raws, "$"), ("time", "Timestamp"))
    assert isinstance(batch.records[0], Record) and not isinstance(batch.records[0], InvalidRecord)


def test_an_array_resumes_after_the_record_its_one_pass_decode_failed_at() -> None:
    raws, array = _spoiled_array(60, 40, "new column")
    with pytest.raises(m365parse.shapes.Resume) as exc:
        stream._array(array)
    assert exc.value.at == 40 and exc.value.done is not None and len(exc.value.done) == 40
    batch = m365parse.decode(array)
    _same(batch, _expected(raws, "$"), ("time", "Timestamp"))
    assert batch.records[40].extra == {"SomeNewColumn": "x"}
