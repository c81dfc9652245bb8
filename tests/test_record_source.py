"""Where a record was decoded from (``Record._source``): what exact timestamps are read from.

A record the decoder makes around an item it decoded (an API alert or incident, a
hunting row, a SIEM alert) holds its origin alone; the origin finds the record's
position from the item (``properties``).  A record msgspec decoded whole (a
streamed record) holds ``(origin, position)``.  Both read the same texts.
"""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

import m365parse
from m365parse._decode import Origin
from m365parse._values import format_ns, parse_ns
from m365parse.tables import UNDOCUMENTED, AlertInfo

from .conftest import body, record

API = Path(m365parse.__file__).parent / "samples" / "api"

#: Inputs whose records are made around decoded items, and a datetime column of theirs.
WRAPPED = {
    "HuntingXdr.json": "Timestamp",
    "HuntingMde.json": "Timestamp",
    "GraphAlertPage.json": "createdDateTime",
    "MdeAlertPage.json": "alertCreationTime",
}


def _hunting(rows: int) -> bytes:
    schema = [{"Name": "Timestamp", "Type": "DateTime"}, {"Name": "Name", "Type": "String"}]
    results = [{"Timestamp": f"2024-05-14T08:41:{i % 60:02d}.{i:07d}Z", "Name": f"n{i}"} for i in range(rows)]
    return json.dumps({"Schema": schema, "Results": results}).encode()


def _ns(pos: int) -> int:
    """The instant of row ``pos`` of :func:`_hunting`, to the 100 ns."""
    base = 1715676060 * 10**9  # 2024-05-14T08:41:00Z
    return base + (pos % 60) * 10**9 + pos * 100


def test_each_record_finds_its_own_position() -> None:
    batch = m365parse.decode(_hunting(500))
    assert len(batch.records) == 500 and not batch.errors
    origin = batch.records[0]._src
    assert isinstance(origin, Origin)  # no (origin, position) tuple per record
    for pos, rec in enumerate(batch.records):
        assert rec._src is origin
        assert rec._source() == (origin, pos)
        assert m365parse.timestamp_ns(rec, "Timestamp") == _ns(pos)


@pytest.mark.parametrize("name", sorted(WRAPPED))
def test_records_made_around_items_read_the_texts_that_arrived(name: str) -> None:
    data = (API / name).read_bytes()
    batch = m365parse.decode(data)
    assert batch.records
    column = WRAPPED[name]
    for pos, rec in enumerate(batch.records):
        assert isinstance(rec._src, Origin)
        assert rec._source() == (rec._src, pos)
        if getattr(rec.properties, column, None) is not None:
            assert rec._src.original_text(rec, pos, column, False) == _arrived(data, pos, column)


def _arrived(data: bytes, pos: int, column: str) -> Any:
    doc = json.loads(data)
    items = doc["value"] if isinstance(doc, dict) and "value" in doc else doc.get("Results", doc.get("results"))
    return items[pos][column]


def test_copies_keep_the_source_and_a_new_item_has_none() -> None:
    rec = m365parse.decode(_hunting(3)).records[2]
    exact = m365parse.timestamp_ns(rec, "Timestamp")
    assert exact == _ns(2)
    assert copy.copy(rec)._source() == rec._source()
    assert m365parse.timestamp_ns(copy.copy(rec), "Timestamp") == exact
    assert msgspec.structs.replace(rec, extra={"x": 1})._source() == rec._source()
    # properties replaced by another struct: no longer an item of the origin
    other = msgspec.structs.replace(rec, properties=copy.copy(rec.properties))
    assert other._source() is None
    assert m365parse.timestamp_ns(other, "Timestamp") == exact - 200  # the microsecond msgspec kept
    hand = type(rec)(properties=rec.properties)
    assert hand._source() is None


def test_streamed_records_keep_origin_and_position() -> None:
    batch = m365parse.decode(body(record(ProcessId=1), record(ProcessId=2)))
    for pos, rec in enumerate(batch.records):
        assert isinstance(rec._src, tuple)
        assert rec._source() == rec._src == (rec._src[0], pos)


def test_an_origin_whose_reader_has_no_texts_does_not_read_the_input_again() -> None:
    rec = m365parse.decode((API / "GraphAlertPage.json").read_bytes()).records[0]
    origin = rec._src
    assert origin.texts(rec) == (None, None)
    assert origin._views is None  # nothing decoded again for it


def _alert_info_rows(stamps: list[str], graph: bool = False) -> bytes:
    """A hunting response of AlertInfo rows (a known table's columns) whose Timestamps are ``stamps``."""
    not_returned = {"MachineGroup", *UNDOCUMENTED.get("AlertInfo", ())}  # streamed rows only
    columns = [n for n in AlertInfo.__struct_fields__ if n not in not_returned]
    key, typ = ("name", "type") if graph else ("Name", "Type")
    schema = [{key: n, typ: "DateTime" if n == "Timestamp" else "String"} for n in columns]
    rows = [{"Timestamp": t, "AlertId": f"da{i}", "Title": "t"} for i, t in enumerate(stamps)]
    return json.dumps({"schema": schema, "results": rows} if graph else {"Schema": schema, "Results": rows}).encode()


STAMPS = [
    "2024-05-14T08:41:56.5950497Z",
    "2024-05-14T08:41:56.582Z",  # Kusto trims trailing zeros
    "2024-05-14T08:41:56Z",
    "2024-05-14T08:41:56.9999996Z",  # rounds into the next second
    "2024-05-14T10:41:56.5950497+02:00",  # not canonical: read the slow way
]


@pytest.mark.parametrize("graph", [False, True])
def test_rows_of_a_known_table_have_typed_texts(graph: bool) -> None:
    """Hunting rows of a known table: per row, a struct of the table's datetime columns as they
    arrived, read by the compiled rule sets (Origin.texts) and by exact timestamps alike."""
    batch = m365parse.decode(_alert_info_rows(STAMPS, graph))
    assert [rec.table for rec in batch.records] == ["AlertInfo"] * len(STAMPS) and not batch.errors
    for pos, rec in enumerate(batch.records):
        envelope, texts = rec._src.texts(rec)
        assert envelope is None and not isinstance(texts, dict)
        assert texts.Timestamp == STAMPS[pos] == rec._src.original_text(rec, pos, "Timestamp", False)
        assert m365parse.timestamp_ns(rec, "Timestamp") == parse_ns(STAMPS[pos])
        assert m365parse.normalize(rec, "ecs")["@timestamp"] == format_ns(parse_ns(STAMPS[pos]))


def test_rows_of_no_table_are_read_untyped() -> None:
    rec = m365parse.decode(_hunting(3)).records[1]
    assert rec._src.texts(rec) == (None, None)  # HuntingRow records read their rows as dicts (to_dict)
    assert isinstance(rec._src._views[1], dict)
    assert m365parse.timestamp_ns(rec, "Timestamp") == _ns(1)


@pytest.mark.parametrize("rule_set", ["jsa", "ecs", "ocsf"])
def test_normalized_wrapped_records_keep_every_digit(rule_set: str) -> None:
    page = json.loads((API / "GraphAlertPage.json").read_bytes())
    for pos, item in enumerate(page["value"]):
        item["createdDateTime"] = f"2026-07-13T19:41:5{pos}.123456{pos + 7}Z"
    batch = m365parse.decode(json.dumps(page))
    assert len(batch.records) == len(page["value"]) >= 2
    for pos, rec in enumerate(batch.records):
        assert isinstance(rec._src, Origin)
        out = json.dumps(m365parse.normalize(rec, rule_set), default=lambda value: value.isoformat_exact())
        assert f"19:41:5{pos}.123456{pos + 7}Z" in out


def test_a_pickled_record_and_batch_keep_the_exact_timestamps() -> None:
    import pickle

    page = json.loads((API / "MdeAlertPage.json").read_bytes())
    page["value"] += [dict(page["value"][0], id=f"da{i}") for i in range(2)]  # three alerts
    for pos, item in enumerate(page["value"]):
        item["alertCreationTime"] = f"2026-07-13T19:41:5{pos}.123456{pos + 7}Z"
    batch = m365parse.decode(json.dumps(page))
    last = len(batch.records) - 1
    assert last == 2
    rec = batch.records[last]
    exact = m365parse.timestamp_ns(rec, "alertCreationTime")
    assert exact is not None and exact % 1000 == (last + 7) * 100
    for back in (pickle.loads(pickle.dumps(rec)), pickle.loads(pickle.dumps(batch)).records[last], copy.deepcopy(rec)):
        assert isinstance(back._src, Origin) and back._src is not rec._src
        assert back._source() == (back._src, last)  # the item pickled once, shared with the origin's list
        assert m365parse.timestamp_ns(back, "alertCreationTime") == exact


def _record_classes() -> list[type[m365parse.Record]]:
    from m365parse.api.records import API_RECORD_TYPES
    from m365parse.record import SiemRecord, UnknownRecord
    from m365parse.tables import RECORD_TYPES

    return [*RECORD_TYPES.values(), *API_RECORD_TYPES.values(), SiemRecord, UnknownRecord]


@pytest.mark.parametrize("record_type", _record_classes(), ids=lambda t: t.__name__)
def test_every_record_class_is_made_with_properties_and_source_first(record_type: type[Any]) -> None:
    # The decoder makes the records around decoded items positionally,
    # map(record_type, items, repeat(origin)): a record class declared kw_only
    # (or declaring a field before properties) would move them.
    assert record_type.__struct_fields__[:2] == ("properties", "_src")
    origin = object()
    required = {"category": "AdvancedHunting-NewTable"} if "category" in record_type.__struct_fields__ else {}
    made = record_type({}, origin, **required)
    assert made.properties == {} and made._src is origin


_SAMPLE_DIR = Path(m365parse.__file__).resolve().parent / "samples"
_SAMPLE_FILES = sorted(p for p in _SAMPLE_DIR.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl"))


def test_there_are_samples_of_every_api_shape() -> None:
    names = {p.name for p in _SAMPLE_FILES}
    assert {"HuntingXdr.json", "HuntingGraph.json", "LogAnalyticsExport.json", "GraphAlertPage.json"} <= names


@pytest.mark.parametrize("path", _SAMPLE_FILES, ids=lambda p: str(p.relative_to(_SAMPLE_DIR)))
def test_every_samples_batch_pickles_and_copies(path: Path) -> None:
    # Structs built at run time (hunting rows per schema, export rows per table) included.
    batch = m365parse.decode(path.read_bytes())
    for back in (pickle.loads(pickle.dumps(batch)), copy.deepcopy(batch)):
        assert back == batch
        assert [r.to_dict() for r in back.records] == [r.to_dict() for r in batch.records]


def test_samples_unpickle_in_a_fresh_process() -> None:
    # where no struct was built at run time yet
    batches = [m365parse.decode(p.read_bytes()) for p in _SAMPLE_FILES]
    script = (
        "import json, pickle, sys, m365parse\n"
        "batches = pickle.loads(sys.stdin.buffer.read())\n"
        "print(json.dumps([[r.to_dict() for r in b.records] for b in batches]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], input=pickle.dumps(batches), capture_output=True, check=True)
    want = [[r.to_dict() for r in b.records] for b in batches]
    assert json.loads(out.stdout) == json.loads(json.dumps(want))
