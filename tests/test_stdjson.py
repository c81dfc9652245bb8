"""What json.loads reads and msgspec does not: decode() reads it too; what m365parse writes never crashes on it."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from datetime import datetime, timezone
from typing import Any

import msgspec
import pytest

import m365parse
from m365parse import InvalidInput
from m365parse.__main__ import run
from m365parse._json import encode
from m365parse._stdjson import loads, loads_one, utf8

from .conftest import record

TS = "2024-05-14T08:41:56.5950497Z"
TS_NS = 1715676116_595049700


def _record(**props: Any) -> dict[str, Any]:
    return {**record("DeviceProcessEvents", Timestamp=TS, **props), "time": TS}


# (name, JSON text of a value, what json.loads makes of it)
ODD_VALUES = [
    ("lone high surrogate escape", b'"\\ud800 lone"', "\ud800 lone"),
    ("lone low surrogate escape", b'"\\udc00"', "\udc00"),
    ("high surrogate before a non-surrogate escape", b'"\\ud83d\\u0041"', "\ud83dA"),
    ("UTF-8-encoded surrogate", b'"a\xed\xa0\x80b"', "a\ud800b"),
    ("NaN", b"NaN", math.nan),
    ("Infinity", b"Infinity", math.inf),
    ("-Infinity", b"-Infinity", -math.inf),
    ("1e400", b"1e400", math.inf),
    ("a float of 400 digits", b"9" * 400 + b".5", math.inf),
    ("a negative integer of 4,300 digits", b"-" + b"9" * 4300, -int("9" * 4300)),
]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize(("name", "text", "value"), ODD_VALUES, ids=[v[0] for v in ODD_VALUES])
def test_msgspec_rejects_and_json_loads_reads(name: str, text: bytes, value: Any) -> None:
    with pytest.raises((msgspec.DecodeError, ValueError)):
        msgspec.json.decode(text)
    assert _same(json.loads(text), value)
    assert _same(loads(text), value)


def _raw(column: str, text: bytes) -> bytes:
    return json.dumps(_record(**{column: "PLACEHOLDER"})).encode().replace(b'"PLACEHOLDER"', text)


def _shapes(raw: bytes) -> dict[str, bytes]:
    good = json.dumps(_record(FileName="good.exe")).encode()
    return {
        "body": b'{"records": [' + good + b", " + raw + b", " + good + b"]}",
        "body, records not first": b'{"x": 1, "records": [' + good + b", " + raw + b", " + good + b"]}",
        "array": b"[" + good + b", " + raw + b", " + good + b"]",
        "lines": good + b"\n" + raw + b"\r\n" + good,
        "bodies per line": b'{"records": [' + good + b", " + raw + b']}\n{"records": [' + good + b"]}",
        "one": raw,
    }


@pytest.mark.parametrize(("name", "text", "value"), ODD_VALUES, ids=[v[0] for v in ODD_VALUES])
@pytest.mark.parametrize("column", ["ProcessCommandLine", "ProcessId", "AdditionalFields", "Zz_New"])
def test_every_shape_decodes_the_record(name: str, text: bytes, value: Any, column: str) -> None:
    raw = _raw(column, text)
    for shape, data in _shapes(raw).items():
        batch = m365parse.decode(data)
        assert batch.errors == [], (shape, [e.reason for e in batch.errors])
        assert len(batch.records) == (1 if shape == "one" else 3), shape
        rec = batch.records[0 if shape == "one" else 1]
        assert rec.table == "DeviceProcessEvents"
        _check_column(rec, column, value)
        assert m365parse.timestamp_ns(rec, "Timestamp") == TS_NS  # exact, read again by the standard library
        assert m365parse.timestamp_ns(rec, "time") == TS_NS
        assert rec.to_dict()["properties"]["Timestamp"] == TS


def _check_column(rec: m365parse.Record, column: str, value: Any) -> None:
    typed = getattr(rec.properties, column, None)
    fits = {"ProcessCommandLine": str, "ProcessId": int, "AdditionalFields": str}  # JSON text as it arrived
    if column in fits and isinstance(value, fits[column]):
        assert typed == value and column not in rec.extra
    else:  # no fit (a float in an integer column), or an undeclared column
        assert typed is None
        assert _same(rec.extra[column], value)


@pytest.mark.parametrize(("name", "text", "value"), ODD_VALUES, ids=[v[0] for v in ODD_VALUES])
def test_pretty_printed_record_and_body(name: str, text: bytes, value: Any) -> None:
    raw = json.dumps(_record(FileName="x.exe", Zz_New="PLACEHOLDER"), indent=2).encode()
    raw = raw.replace(b'"PLACEHOLDER"', text)
    for data in (raw, b'{\n  "x": 1,\n  "records": [\n' + raw + b"\n  ]\n}\n"):
        batch = m365parse.decode(data)
        assert batch.errors == [] and len(batch.records) == 1
        assert _same(batch.records[0].extra["Zz_New"], value)
        assert m365parse.timestamp_ns(batch.records[0], "Timestamp") == TS_NS


def test_surrogates_in_the_envelope_keys_and_siem_alerts() -> None:
    raw = _record(FileName="x")
    raw["tenantId"] = "t\ud800"
    raw["\udc00key"] = 1
    raw["properties"]["Zz\ud800"] = "v\udfff"
    alert = {"AlertId": "a\ud800", "AlertTime": "2020-09-30T14:09:20.3574301Z", "Severity": math.nan}
    data = json.dumps([raw, alert]).encode()
    assert b"\\ud800" in data
    batch = m365parse.decode(data)
    assert batch.errors == []
    rec, siem = batch.records
    assert rec.tenantId == "t\ud800" and rec.envelope_extra == {"\udc00key": 1}
    assert rec.extra == {"Zz\ud800": "v\udfff"}
    assert siem.properties.AlertId == "a\ud800" and math.isnan(siem.extra["Severity"])
    assert m365parse.timestamp_ns(siem, "AlertTime") == 1601474960_357430100


@pytest.mark.parametrize("column", ["ProcessId", "IsProcessRemoteSession", "ProcessCreationTime"])
def test_a_surrogate_in_a_typed_column_goes_to_extra(column: str) -> None:
    rec = m365parse.decode(json.dumps(_record(**{column: "1\ud800"})).encode()).records[0]
    assert getattr(rec.properties, column) is None
    assert rec.extra == {column: "1\ud800"}
    rec = m365parse.decode(json.dumps({**_record(), "time": "2024\ud800"}).encode()).records[0]
    assert rec.time is None and rec.envelope_extra == {"time": "2024\ud800"}


@pytest.mark.parametrize(
    "text",
    [b"9" * 4301, b"nan", b"-NaN", b'"\xff"', b'"\xc0\xaf"', b'"a\x01"', b"[" * 5000 + b"]" * 5000],
    ids=["4301 digits", "nan", "-NaN", "invalid UTF-8", "overlong UTF-8", "control character", "deep"],
)
def test_what_json_loads_rejects_stays_an_invalid_record(text: bytes) -> None:
    with pytest.raises((ValueError, RecursionError)):
        json.loads(text)
    good = json.dumps(_record()).encode()
    batch = m365parse.decode(b"[" + good + b"," + _raw("Zz", text) + b"," + good + b"]")
    assert len(batch.records) == 2
    (error,) = batch.errors
    assert error.index == 1 and error.reason.startswith("not JSON")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "utf-8-sig"])
@pytest.mark.parametrize("shape", ["body", "lines", "array"])
def test_utf16_and_utf32_input_as_json_loads_recognises_it(encoding: str, shape: str) -> None:
    recs = [_record(FileName="naïve \U0001f600"), _record(FileName="\ud800")]
    if shape == "body":
        text = json.dumps({"records": recs}, ensure_ascii=False)
    elif shape == "array":
        text = json.dumps(recs, ensure_ascii=False)
    else:
        text = "\n".join(json.dumps(r, ensure_ascii=False) for r in recs)
    data = text.encode(encoding, "surrogatepass")
    if shape != "lines":
        assert json.loads(data) == json.loads(text)
    batch = m365parse.decode(data)
    assert batch.errors == []
    assert [r.properties.FileName for r in batch.records] == ["naïve \U0001f600", "\ud800"]
    assert batch.records == m365parse.decode(text).records


def test_utf8_leaves_other_input_alone() -> None:
    for data in (b"", b"{", b'{"a": 1}', b"\xff", b"\x00", b"\xfe\xff\x00"):
        assert utf8(data) == data
    with pytest.raises(InvalidInput):
        m365parse.decode(b"\xff\xfe{")  # a UTF-16 BOM before a lone byte: not JSON


def test_json_lines_never_go_to_the_standard_library_whole() -> None:
    lines = b'{"a": NaN}\n{"b": 1}\n'
    with pytest.raises(msgspec.DecodeError):
        loads_one(lines)  # two values: not one, whatever json.loads would do with the first
    assert math.isnan(loads_one(b'{\n  "a": NaN\n}\n')["a"])
    batch = m365parse.decode(b"\n".join([json.dumps(_record()).encode(), _raw("Zz", b"NaN")]))
    assert len(batch.records) == 2 and batch.errors == []


# --- writing ------------------------------------------------------------------------


CLEAN = [
    {"a": 1, "b": [1.5, None, True, "é\n\"\\"], "c": {"d": "\U0001f600"}, 1: 2},
    [float("nan"), float("inf"), -(10**40)],
    datetime(2024, 5, 14, 8, 41, 56, 595049, tzinfo=timezone.utc),
    "",
]


@pytest.mark.parametrize("value", CLEAN)
def test_encode_is_msgspec_on_clean_data(value: Any) -> None:
    assert encode(value) == msgspec.json.encode(value)


@pytest.mark.parametrize(
    "value",
    [
        "\ud800",
        ["a\udc00b", {"k": "\udfff"}],
        {"\ud800": {"\udc01": ["\ud802", 1, math.nan, "é"]}, "ok": "\U0001f600"},
        {"x": [[{"\ud800k": "v"}]], 7: "\ud800"},
    ],
)
def test_encode_writes_lone_surrogates_as_escapes(value: Any) -> None:
    out = encode(value)
    out.decode("utf-8")  # valid UTF-8
    assert b"\\ud8" in out or b"\\udc" in out or b"\\udf" in out
    back = json.loads(out)
    assert encode(back) == out
    assert json.dumps(back, sort_keys=True, default=str).replace("NaN", "null") == json.dumps(
        json.loads(json.dumps(value, default=str)), sort_keys=True
    ).replace("NaN", "null")


def test_encode_takes_structs_datetimes_and_an_enc_hook() -> None:
    class Thing:
        pass

    value = {"when": datetime(2024, 1, 1, tzinfo=timezone.utc), "what": Thing(), "name": "\ud800"}
    out = encode(value, enc_hook=lambda obj: "thing")
    assert json.loads(out) == {"when": "2024-01-01T00:00:00Z", "what": "thing", "name": "\ud800"}
    with pytest.raises(TypeError):
        encode({"what": Thing(), "name": "\ud800"})
    rec = m365parse.decode(json.dumps(_record(FileName="\ud800")).encode()).records[0]
    assert json.loads(encode(rec.properties))["FileName"] == "\ud800"


def test_to_dict_keeps_surrogates_and_the_command_line_escapes_them() -> None:
    data = json.dumps([_record(FileName="\ud800 lone", Zz=math.inf)]).encode()
    rec = m365parse.decode(data).records[0]
    assert rec.to_dict()["properties"]["FileName"] == "\ud800 lone"
    out, err = io.BytesIO(), io.BytesIO()
    assert run(["-"], out, err, io.BytesIO(data)) == 0, err.getvalue()
    assert b'"FileName":"\\ud800 lone"' in out.getvalue()
    line = json.loads(out.getvalue())
    assert line["properties"]["FileName"] == "\ud800 lone"
    assert line["extra"] == {"Zz": None}  # JSON has no infinity: null, as msgspec writes it


@pytest.mark.parametrize("rule_set", ["ecs+original", "ecs+severity+original"])
def test_event_original_escapes_surrogates(rule_set: str) -> None:
    data = json.dumps([_record(FileName="\ud800 lone")]).encode()
    event = m365parse.normalize(m365parse.decode(data).records[0], rule_set)
    original = event["event"]["original"]
    assert '"FileName":"\\ud800 lone"' in original
    assert json.loads(original)["properties"]["FileName"] == "\ud800 lone"
    for name in m365parse.registry:  # every rule set takes such a record
        m365parse.normalize(m365parse.decode(data).records[0], name)


def test_json_lines_decoder_reads_them_too() -> None:
    lines = [_raw(column, text) for _name, text, _value in ODD_VALUES for column in ("ProcessCommandLine", "Zz")]
    data = b"\n".join(lines) + b"\n"
    decoder = m365parse.JsonLinesDecoder()
    records = []
    for start in range(0, len(data), 700):
        batch = decoder.feed(data[start : start + 700])
        assert batch.errors == []
        records += batch.records
    records += decoder.close().records
    assert len(records) == len(lines)
    assert records == m365parse.decode(data).records
    assert all(m365parse.timestamp_ns(rec, "Timestamp") == TS_NS for rec in records)


# --- the polled APIs' shapes (alerts, incidents, hunting rows, export rows) -----------------------

S = "\ud800 lone"
TS7 = "2026-07-13T19:41:59.1234567Z"
TS7_NS = 1783971719_123456700
GRAPH_CONTEXT = "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults"

#: One item of every kind, each holding a lone surrogate (at some depth) and an exact timestamp.
API_INPUTS: dict[str, Any] = {
    "GraphAlert": {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2", "value": [{
        "id": "a1", "providerAlertId": "p1", "serviceSource": "microsoftDefenderForEndpoint", "title": S, "createdDateTime": TS7,
        "evidence": [{"@odata.type": "#microsoft.graph.security.processEvidence", "createdDateTime": TS7,
                      "processCommandLine": "cmd " + S, "new" + S: TS7},
                     {"@odata.type": "#microsoft.graph.security.futureEvidence", "x": S, "t" + S: TS7}]}]},
    "GraphIncident": {"id": "4211", "incidentWebUrl": "https://x", "displayName": S, "createdDateTime": TS7},
    "MdeAlert": [{"id": "da1", "alertCreationTime": TS7, "machineId": "m1", "title": S,
                  "evidence": [{"entityType": "Process", "processCommandLine": S, "processId": 5}]}],
    "XdrIncident": {"value": [{"incidentId": 7, "incidentName": S, "createdTime": TS7,
                               "alerts": [{"alertId": "a", "title": S, "entities": [{"entityType": "Process", "processCommandLine": S}]}]}]},
    "XdrAlert": {"alertId": "a", "creationTime": TS7, "title": S},
    "HuntingRow": {"Schema": [{"Name": "Timestamp", "Type": "DateTime"}, {"Name": "Cmd", "Type": "String"}, {"Name": "N", "Type": "Double"}],
                   "Results": [{"Timestamp": TS7, "Cmd": S, "N": math.nan}]},
    "DeviceProcessEvents": {"TenantId": "t", "TimeGenerated": TS7, "Type": "DeviceProcessEvents", "Timestamp": TS7,
                            "DeviceName": "ws", "ProcessCommandLine": S, "_Internal_WorkspaceResourceId": S},
}  # fmt: skip
API_TIMES = {"GraphAlert": "evidence[0].createdDateTime", "GraphIncident": "createdDateTime", "MdeAlert": "alertCreationTime",
             "XdrIncident": "createdTime", "XdrAlert": "creationTime", "HuntingRow": "Timestamp", "DeviceProcessEvents": "Timestamp"}  # fmt: skip


def _strings(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values()), {k for k in value if isinstance(k, str)})
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value))
    return {value} if isinstance(value, str) else set()


@pytest.mark.parametrize("kind", sorted(API_INPUTS))
def test_every_api_kind_decodes_lone_surrogates_with_exact_timestamps(kind: str) -> None:
    batch = m365parse.decode(json.dumps(API_INPUTS[kind]))
    assert batch.errors == [] and len(batch.records) == 1
    (rec,) = batch.records
    assert rec.table == kind
    assert _strings(rec.to_dict()) & {S, "cmd " + S}  # kept as it arrived
    assert m365parse.timestamp_ns(rec, API_TIMES[kind]) == TS7_NS


def test_a_json_path_to_a_member_whose_name_holds_a_lone_surrogate() -> None:
    # extra keys below an item name such members with a JSON string (escaped); reading
    # them back must not crash (it raised msgspec.DecodeError), and a malformed one is
    # an InvalidColumn like any other path that leads nowhere
    rec = m365parse.decode(json.dumps(API_INPUTS["GraphAlert"])).records[0]
    key = '$.evidence[0]["new\\ud800 lone"]'
    assert rec.extra[key] == TS7
    assert m365parse._values.path_steps(key) == ["evidence", 0, "new" + S]
    # inside the evidence of an unknown type (an untyped dict): the timestamp is there
    assert m365parse.timestamp_ns(rec, '$.evidence[1]["t\\ud800 lone"]') == TS7_NS
    for column in (key, '$.evidence[0]["new\\x"]', '$["\\ud800'):
        with pytest.raises(m365parse.InvalidColumn):
            m365parse.timestamp_ns(rec, column)


@pytest.mark.parametrize("graph", [False, True])
def test_a_hunting_schema_with_a_lone_surrogate_still_types_the_rows(graph: bool) -> None:
    # json.loads reads such a schema: the other columns are typed, the row keeps every value
    names, types_ = ("name", "type") if graph else ("Name", "Type")
    schema = [{names: "Timestamp", types_: "DateTime"}, {names: "Odd" + S, types_: "Int64"},
              {names: "N", types_: "Int64\udc00"}, {names: "Flag", types_: "SByte"}]  # fmt: skip
    rows = [{"Timestamp": TS7, "Odd" + S: 5, "N": 7, "Flag": 1}]
    data = json.dumps({"schema": schema, "results": rows} if graph else {"Schema": schema, "Results": rows})
    batch = m365parse.decode(data)
    assert batch.errors == [] and len(batch.records) == 1
    (rec,) = batch.records
    assert not isinstance(rec.properties, dict)  # typed by the schema, not an untyped row
    assert rec.properties.Flag is True  # SByte: a boolean
    assert m365parse.timestamp_ns(rec, "Timestamp") == TS7_NS
    out = rec.to_dict()
    assert out["properties"]["N"] == 7  # an unknown type name keeps the JSON value
    assert out["extra"] == {"Odd" + S: 5}  # a column no struct field can be named after


@pytest.mark.parametrize("rule_set", ["ecs+original", "ecs+severity+original"])
@pytest.mark.parametrize("kind", ["GraphAlert", "GraphIncident", "MdeAlert", "XdrIncident", "XdrAlert"])
def test_event_original_of_api_kinds_escapes_surrogates(kind: str, rule_set: str) -> None:
    # it held the lone surrogates themselves (json.dumps(ensure_ascii=False)): not UTF-8
    rec = m365parse.decode(json.dumps(API_INPUTS[kind])).records[0]
    original = m365parse.normalize(rec, rule_set)["event"]["original"]
    original.encode("utf-8")  # no lone surrogate left in it
    assert "\\ud800 lone" in original
    assert json.loads(original) == rec.to_dict()["properties"]


def test_the_command_line_writes_lone_surrogates_of_every_kind_as_escapes(tmp_path: Any) -> None:
    files = []
    for kind, value in API_INPUTS.items():
        path = tmp_path / f"{kind}.json"
        path.write_text(json.dumps(value))
        files.append(str(path))
    for argv in ([], ["--normalize", "ecs+original"]):
        proc = subprocess.run(
            [sys.executable, "-m", "m365parse", *argv, *files], capture_output=True, check=False, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert len(lines) == len(API_INPUTS)
        for line in lines:
            line.decode("utf-8")  # valid UTF-8: every lone surrogate written as an escape
            assert b"\\ud800 lone" in line
            doc = json.loads(line)
            if argv:
                assert "\\ud800 lone" in doc["event"]["original"]
            else:
                assert S in _strings(doc)


@pytest.mark.parametrize("depth", [300, 700])
def test_plain_json_nested_as_deep_as_json_loads_reads_in_api_records(depth: int) -> None:
    # to_dict() of API records and Graph's dynamic columns went one Python call per
    # level: RecursionError at about 500 levels, which both readers read
    deep = "[" * depth + "0" + "]" * depth
    mde = '{"id": "da1", "alertCreationTime": "' + TS7 + '", "machineId": "m1", "title": "\\ud800", "domains": ' + deep + "}"
    graph_dynamic = {"@odata.type": "#microsoft.graph.security.dynamicColumnValue", "a@odata.type": "#x", "a": 1}
    cell = '{"k": ' + deep + ', "w": ' + json.dumps(graph_dynamic) + "}"
    hunting = '{"schema": [{"name": "D", "type": "Dynamic"}], "results": [{"D": ' + cell + "}]}"
    for data, kind in ((mde, "MdeAlert"), (hunting, "HuntingRow")):
        for form in (data, data.replace("\\ud800", "t")):  # the json.loads path and msgspec's
            (rec,) = m365parse.decode(form).records
            assert rec.table == kind
            out = rec.to_dict()["properties"]
            value = out["domains"] if kind == "MdeAlert" else out["D"]["k"]
            for _ in range(depth):
                (value,) = value
            assert value == 0
            if kind == "HuntingRow":
                assert out["D"]["w"] == {"a": 1}  # unwrapped
            for name in m365parse.registry:
                m365parse.normalize(rec, name)


def test_loads_lines_reads_values_one_after_another() -> None:
    from m365parse._stdjson import loads_lines

    assert loads_lines(b'{"a": 1}\n{"b":\n 2}\n\n[3] "x"') == [{"a": 1}, {"b": 2}, [3], "x"]
    # what msgspec does not read, the standard library does: value by value
    values = loads_lines(b'{"a": NaN}\n{"b": 1e400}\n{"c": "\\ud800"}')
    assert math.isnan(values[0]["a"]) and values[1]["b"] == math.inf and values[2]["c"] == "\ud800"
    with pytest.raises(ValueError):
        loads_lines(b'{"a": 1}\n{"b": ')
