"""m365parse.arrow.ocsf_schema / ocsf_tables: OCSF events as one Arrow table per class (issue 12 point 6)."""

from __future__ import annotations

import importlib.util
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import m365parse  # noqa: E402
from m365parse import _ocsf_attributes  # noqa: E402
from m365parse import arrow as ma  # noqa: E402
from m365parse.mappings.ocsf._schema import CLASSES as CAPTIONS  # noqa: E402

from .ocsf_schema import CLASSES as SUBSET_CLASSES  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = sorted((ROOT / "tests" / "golden_ocsf").glob("*/*.expected.json"))
SAMPLES = sorted((ROOT / "m365parse" / "samples").glob("*.json"))
API_SAMPLES = sorted((ROOT / "m365parse" / "samples" / "api").glob("*.json"))  # alerts, incidents, hunting rows


def _golden_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for path in GOLDEN:
        events += json.loads(path.read_text("utf-8"))
    return events


def _sample_events() -> list[dict[str, Any]]:
    events = []
    for path in SAMPLES + API_SAMPLES:
        for rec in m365parse.decode(path.read_bytes()).records:
            events.append(m365parse.normalize(rec, "ocsf"))
    return events


# --- the inverse, to compare: Arrow rows back to the events' dicts -------------------------


def _back(value: Any, t: Any, json_text: bool) -> Any:
    """A value read from Arrow as the event held it: nulls dropped, JSON text parsed, times in ms."""
    if value is None:
        return None
    if pa.types.is_list(t):
        return [_back(v, t.value_type, json_text) for v in value]
    if json_text:
        return json.loads(value)
    if pa.types.is_struct(t):
        out = {}
        for f in t:
            v = _back(value[f.name], f.type, _is_json(f))
            if v is not None:
                out[f.name] = v
        return out
    if pa.types.is_timestamp(t):
        return int((value - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() * 1000)
    return value


def _is_json(field: Any) -> bool:
    return bool(field.metadata) and field.metadata.get(b"m365parse.encoding") == b"json"


def _events(table: Any) -> list[dict[str, Any]]:
    struct = pa.struct(list(table.schema))
    return [_back(row, struct, False) for row in table.to_pylist()]


def _by_class(events: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        out.setdefault(e["class_uid"], []).append(e)
    return out


# --- lossless ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("depth", "time_type"), [(ma.OCSF_DEPTH, "int64"), (0, "int64"), (1, "timestamp"), (4, "int64")]
)
def test_every_golden_event_round_trips(depth: int, time_type: str) -> None:
    events = _golden_events()
    tables = ma.ocsf_tables(events, depth=depth, time_type=time_type)  # type: ignore[arg-type]
    expected = _by_class(events)
    assert list(tables) == list(expected)  # classes in order of first appearance
    # every class of the golden events, and so every class the rule set emits there
    assert len(tables) >= 20
    for uid, table in tables.items():
        assert table.schema.equals(ma.ocsf_schema(uid, depth=depth, time_type=time_type), check_metadata=True)  # type: ignore[arg-type]
        assert table.num_rows == len(expected[uid])
        assert _events(table) == expected[uid]


def test_sample_events_of_every_table_round_trip() -> None:
    events = _sample_events()
    tables = ma.ocsf_tables(events)
    assert sum(t.num_rows for t in tables.values()) == len(events)
    assert {2004, 2005} <= set(tables)  # the API kinds' Detection and Incident Findings too
    for uid, rows in _by_class(events).items():
        assert _events(tables[uid]) == rows


def test_parquet_written_and_read_back() -> None:
    events = _golden_events()
    for uid, table in ma.ocsf_tables(events).items():
        sink = io.BytesIO()
        pq.write_table(table, sink)
        back = pq.read_table(io.BytesIO(sink.getvalue()))
        assert back.schema.equals(table.schema, check_metadata=True)
        assert back.schema.metadata[b"ocsf.class_uid"] == str(uid).encode()
        assert _events(back) == _by_class(events)[uid]


# --- the schema ---------------------------------------------------------------------------


def test_schema_types_follow_ocsf_types() -> None:
    s = ma.ocsf_schema(1007)
    assert s.metadata == {
        b"ocsf.version": b"1.8.0",
        b"ocsf.class_uid": b"1007",
        b"ocsf.class_name": b"process_activity",
    }
    assert s.field("time").type == pa.int64()  # timestamp_t: ms since the epoch
    assert s.field("time_dt").type == pa.string()  # datetime_t: the exact text
    assert s.field("severity_id").type == pa.int32()  # integer_t
    assert s.field("type_uid").type == pa.int64()  # long_t
    assert s.field("class_name").type == pa.string()
    unmapped = s.field("unmapped")
    assert unmapped.type == pa.string() and _is_json(unmapped)
    profiles = s.field("metadata").type.field("profiles")
    assert profiles.type == pa.list_(pa.field("element", pa.string()))
    process = s.field("actor").type.field("process").type
    assert pa.types.is_struct(process)
    file = process.field("file").type
    assert pa.types.is_struct(file)  # level 3
    hashes = file.field("hashes")  # level 4: past the default depth, JSON text
    assert hashes.type == pa.list_(pa.field("element", pa.string())) and _is_json(hashes)
    assert file.field("size").type == pa.int64()
    assert pa.types.is_struct(ma.ocsf_schema(1007, depth=4).field("actor").type.field("process").type.field("file").type.field("hashes").type.value_type)
    assert all(f.type == pa.string() or pa.types.is_list(f.type) or not pa.types.is_struct(f.type) for f in ma.ocsf_schema(1007, depth=0))
    assert ma.ocsf_schema(1007, time_type="timestamp").field("time").type == pa.timestamp("ms", tz="UTC")
    net = ma.ocsf_schema(4001)
    assert net.field("src_endpoint").type.field("port").type == pa.int32()  # port_t is an integer_t
    assert net.field("connection_info").type.field("boundary").type == pa.string()


@pytest.mark.parametrize("uid", sorted(CAPTIONS))
def test_every_class_has_its_attributes(uid: int) -> None:
    s = ma.ocsf_schema(uid)
    assert set(s.names) == set(SUBSET_CLASSES[str(uid)]["attributes"])
    assert s.metadata[b"ocsf.class_name"] == CAPTIONS[uid][0].encode()


def test_generated_attributes_are_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("ocsf_attrs_generate", ROOT / "m365parse" / "_ocsf_attributes_generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = Path(_ocsf_attributes.__file__).read_text("utf-8")
    assert text == module.render(), "run python m365parse/_ocsf_attributes_generate.py"


def test_bad_arguments() -> None:
    with pytest.raises(m365parse.M365ParseError, match="1234"):
        ma.ocsf_schema(1234)
    with pytest.raises(ValueError, match="depth"):
        ma.ocsf_schema(1007, depth=-1)
    with pytest.raises(ValueError, match="time_type"):
        ma.ocsf_schema(1007, time_type="seconds")  # type: ignore[arg-type]


# --- bad events: a clear error naming the event and the attribute -------------------------


def _event(**more: Any) -> dict[str, Any]:
    return {"class_uid": 1007, "activity_id": 1, "time": 1715676116601, **more}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"activity_id": 1}, r"event 1: class_uid None"),
        ({"class_uid": 9999}, r"event 1: class_uid 9999"),
        ({"class_uid": True}, r"event 1: class_uid True"),
        ("not an event", r"event 1: class_uid None"),
        (_event(nonsense=1), r"event 1 \(class 1007\)\.nonsense: not an attribute"),
        (_event(actor={"process": {"pid": 1, "colour": "red"}}), r"\.actor\.process\.colour: not an attribute"),
        (_event(severity_id="1"), r"\.severity_id='1': expected int32"),
        (_event(severity_id=True), r"\.severity_id=True: expected int32"),
        (_event(severity_id=2**31), r"beyond a 32-bit"),
        (_event(type_uid=2**63), r"beyond a 64-bit"),
        (_event(time=1.5), r"\.time=1\.5: expected time"),
        (_event(actor="me"), r"\.actor: expected an object"),
        (_event(metadata={"profiles": "host"}), r"\.metadata\.profiles: expected an array"),
    ],
)
def test_bad_event_is_a_clear_error(event: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ma.ocsf_tables([_event(), event])


def test_rows_keep_input_order_and_missing_attributes_are_null() -> None:
    events = [_event(time=3), {"class_uid": 0, "activity_id": 0, "time": 9}, _event(time=1), _event(time=2)]
    tables = ma.ocsf_tables(events)
    assert list(tables) == [1007, 0]
    assert tables[1007].column("time").to_pylist() == [3, 1, 2]
    assert tables[1007].column("actor").to_pylist() == [None, None, None]
    assert ma.ocsf_tables([]) == {}


def test_unmapped_is_json_text() -> None:
    unmapped = {"AdditionalFields": {"a": [1, "x\\y", None]}, "Big": 2**70, "Text": "é"}
    (table,) = ma.ocsf_tables([_event(unmapped=unmapped)]).values()
    (text,) = table.column("unmapped").to_pylist()
    assert json.loads(text) == unmapped


def test_lone_surrogates_escaped_in_json_and_named_in_strings() -> None:
    sample = json.loads((Path(m365parse.__file__).parent / "samples" / "DeviceProcessEvents.json").read_text())
    rec = sample["records"][0] if isinstance(sample, dict) else sample[0]
    rec["properties"]["NewColumn"] = "x\ud800"
    events = m365parse.normalize_batch(m365parse.decode(json.dumps(rec)), "ocsf")
    (table,) = ma.ocsf_tables(events).values()
    unmapped = json.loads(table.column("unmapped")[0].as_py())
    assert unmapped["extra"] == {"NewColumn": "x\ud800"}  # the escape in JSON text: read back as it was
    rec["properties"]["FileName"] = "a\ud800b"
    events = m365parse.normalize_batch(m365parse.decode(json.dumps(rec)), "ocsf")
    with pytest.raises(ValueError, match=r"event 0 \(class 1007\)\.process\.name: a text with a lone surrogate"):
        ma.ocsf_tables(events)
