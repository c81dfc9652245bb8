"""decode_normalized(): the events and errors of normalize_batch(decode(data)), from a decode of what the rule set reads."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import m365parse
from m365parse import ExactDatetime, InvalidInput
from m365parse._project import CURRENT
from m365parse.mappings import NormalizedBatch, RuleSet, decode_normalized, normalize_batch
from m365parse.mappings.registry import _resolve
from m365parse.tables import RECORD_TYPES

ROOT = Path(__file__).resolve().parent.parent
INPUTS = sorted(
    [
        *(ROOT / "tests" / "golden").glob("*/*.input.*"),
        *(ROOT / "m365parse" / "samples").glob("*.json"),
        *(ROOT / "m365parse" / "samples" / "api").glob("*.json"),
    ]
)
RULE_SETS = ("jsa", "ecs", "ocsf")


def _plain(value: Any) -> Any:
    """Events as JSON text with every datetime exact: what two event lists are compared by."""
    if isinstance(value, ExactDatetime):
        return f"exact {value.isoformat_exact()}"
    if isinstance(value, datetime):
        return f"datetime {value.isoformat()}"
    raise TypeError(type(value))


def _same(data: bytes, rule_set: str | RuleSet) -> NormalizedBatch:
    expected_batch = m365parse.decode(data)
    expected = normalize_batch(expected_batch, rule_set)
    got = decode_normalized(data, rule_set)
    assert json.dumps(got.events, default=_plain) == json.dumps(expected, default=_plain)
    assert [(e.index, e.path, e.reason, e.raw) for e in got.errors] == [
        (e.index, e.path, e.reason, e.raw) for e in expected_batch.errors
    ]
    assert (got.next_link, got.count, got.envelope) == (
        expected_batch.next_link,
        expected_batch.count,
        expected_batch.envelope,
    )
    assert len(got.events) + len(got.errors) == len(expected_batch.records) + len(expected_batch.errors)
    return got


@pytest.mark.parametrize("rule_set", RULE_SETS)
@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_same_events_and_errors_as_decode_then_normalize(path: Path, rule_set: str) -> None:
    _same(path.read_bytes(), rule_set)


def _record(table: str, props: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return {
        "time": "2026-07-01T10:00:00.1234567Z",
        "tenantId": "t1",
        "category": f"AdvancedHunting-{table}",
        **envelope,
        "properties": props,
    }


PROCESS = {
    "Timestamp": "2026-07-01T09:59:59.9876543Z",
    "DeviceName": "ws-1.contoso.com",
    "ActionType": "ProcessCreated",
    "InitiatingProcessAccountName": "jdoe",
    "InitiatingProcessRemoteSessionIP": "::ffff:10.0.0.7",
    "FileName": "cmd.exe",
    "ProcessId": 4242,
}


def _body(*records: dict[str, Any]) -> bytes:
    return json.dumps({"records": list(records)}).encode()


def _lines(*records: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


EDGES = {
    "clean": [_record("DeviceProcessEvents", PROCESS)],
    "undeclared column": [_record("DeviceProcessEvents", {**PROCESS, "NewColumn": "x"})],
    "unread column that does not fit": [_record("DeviceProcessEvents", {**PROCESS, "ProcessId": "not a number"})],
    "read column that does not fit": [_record("DeviceProcessEvents", {**PROCESS, "DeviceName": 12})],
    "read datetime that does not fit": [_record("DeviceProcessEvents", {**PROCESS, "Timestamp": "yesterday"})],
    "zone-less envelope time": [_record("DeviceProcessEvents", PROCESS, time="2026-07-01T10:00:00.5")],
    "envelope key of its own": [_record("DeviceProcessEvents", PROCESS, Extra=1)],
    "unknown table": [_record("NoSuchTable", PROCESS)],
    "properties null": [{"category": "AdvancedHunting-DeviceProcessEvents", "properties": None}],
    "other spelling of a column (ISP)": [
        _record("IdentityLogonEvents", {"Timestamp": "2026-07-01T10:00:00Z", "ISP": "Contoso", "AccountName": "a"})
    ],
    "lone surrogate in an unread column": [_record("DeviceProcessEvents", {**PROCESS, "FileName": "\udc00"})],
    "mixed": [
        _record("DeviceProcessEvents", PROCESS),
        _record("DeviceNetworkEvents", {"RemoteIP": "10.0.0.1", "ActionType": "InboundConnectionAccepted"}),
        _record("DeviceProcessEvents", {**PROCESS, "DeviceName": ["list"]}),
        _record("NoSuchTable", {}),
        _record("DeviceFileEvents", {"FileName": "a.txt", "RequestSourceIP": "10.1.1.1"}),
    ],
}


@pytest.mark.parametrize("rule_set", RULE_SETS)
@pytest.mark.parametrize("layout", ["body", "lines"])
@pytest.mark.parametrize("case", list(EDGES))
def test_edges_give_the_same_events_and_errors(case: str, layout: str, rule_set: str) -> None:
    records = EDGES[case]
    data = _body(*records) if layout == "body" else _lines(*records)
    _same(data, rule_set)


SIEM = {
    "AlertTime": "2026-07-01T10:00:00.1234567Z",
    "AlertId": "da1",
    "Severity": "High",
    "Category": "Malware",
    "ComputerDnsName": "ws-1",
    "IpAddress": "10.0.0.2",
    "UserName": "jdoe",
    "Title": "x",
    "ReportId": 7,
}


@pytest.mark.parametrize("rule_set", RULE_SETS)
@pytest.mark.parametrize(
    "alerts",
    [
        [SIEM],
        [SIEM, {**SIEM, "ReportId": "seven"}],  # an unread field that does not fit
        [{k: v for k, v in SIEM.items() if k != "IpAddress"} | {"IPAddress": "10.9.9.9"}],  # an old spelling, read
        [{"Title": "only unread fields"}],
        [SIEM, {}],
    ],
    ids=["clean", "unread misfit", "old spelling", "only unread", "empty object"],
)
def test_siem_alerts(alerts: list[dict[str, Any]], rule_set: str) -> None:
    _same(json.dumps(alerts).encode(), rule_set)


def test_an_old_spelling_of_a_read_field_is_read() -> None:
    alert = {k: v for k, v in SIEM.items() if k != "IpAddress"} | {"IPAddress": "10.9.9.9"}
    got = decode_normalized(json.dumps([alert]).encode(), "jsa")
    assert got.events[0]["SourceIP"] == "10.9.9.9"


def test_jsa_reads_fewer_columns_and_device_time_stays_exact() -> None:
    columns = _resolve("jsa").projection().columns("DeviceProcessEvents")
    assert columns is not None and "FileName" not in columns and "Timestamp" in columns
    got = decode_normalized(_body(_record("DeviceProcessEvents", PROCESS)), "jsa")
    assert got.events[0]["DeviceTime"].isoformat_exact() == "2026-07-01T09:59:59.9876543Z"
    assert got.events[0]["SourceIP"] == "10.0.0.7"


def test_a_rule_set_that_calls_a_function_reads_every_column() -> None:
    calls = RuleSet("calls", {"DeviceProcessEvents": {"name": lambda record: record.properties.FileName}})
    assert calls.projection().columns("DeviceProcessEvents") is None
    data = _body(_record("DeviceProcessEvents", PROCESS))
    assert decode_normalized(data, calls).events == [{"name": "cmd.exe"}]


def test_a_condition_reads_its_declared_columns() -> None:
    rules = RuleSet("cond", {"DeviceFileEvents": {"remote": {"if": "network_request", "then": {"const": True}}}})
    assert rules.projection().columns("DeviceFileEvents") == frozenset({"RequestAccountName", "RequestSourceIP"})
    data = _body(_record("DeviceFileEvents", {"FileName": "a", "RequestSourceIP": "10.1.1.1"}))
    assert decode_normalized(data, rules).events == [{"remote": True}]


def test_invalid_utf8_in_an_unread_column_gives_the_event() -> None:
    # the documented difference: decode() cannot give the column, so it reports the record
    good = json.dumps(_record("DeviceProcessEvents", PROCESS)).encode()
    bad = good.replace(b'"cmd.exe"', b'"cmd\xff.exe"')
    data = bad + b"\n" + good + b"\n"
    assert len(m365parse.decode(data).errors) == 1
    got = decode_normalized(data, "jsa")
    assert got.errors == [] and len(got.events) == 2 and got.events[0] == got.events[1]
    # read by the rule set: an error in both
    bad_read = good.replace(b'"ws-1.contoso.com"', b'"ws\xff"')
    got = decode_normalized(bad_read + b"\n" + good + b"\n", "jsa")
    assert [e.index for e in got.errors] == [0] and len(got.events) == 1


def test_the_projection_ends_with_the_call() -> None:
    with pytest.raises(InvalidInput):
        decode_normalized(b"not json", "jsa")
    assert CURRENT.get() is None
    decode_normalized(_body(_record("DeviceProcessEvents", PROCESS)), "jsa")
    record = m365parse.decode(_body(_record("DeviceProcessEvents", PROCESS))).records[0]
    assert record.properties.FileName == "cmd.exe" and record.properties.ProcessId == 4242
    assert type(record) is RECORD_TYPES["DeviceProcessEvents"]
    assert type(record.properties) is m365parse.TABLES["DeviceProcessEvents"]


def _hunting(schema: list[tuple[str, str]], rows: list[dict[str, Any]], graph: bool = False) -> bytes:
    if graph:
        return json.dumps(
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
                "schema": [{"name": n, "type": t} for n, t in schema],
                "results": rows,
            }
        ).encode()
    return json.dumps({"Stats": {"ExecutionTime": 1}, "Schema": [{"Name": n, "Type": t} for n, t in schema], "Results": rows}).encode()


HUNT_SCHEMA = [
    ("Timestamp", "DateTime"),
    ("DeviceName", "String"),
    ("AccountName", "String"),
    ("RemoteIP", "String"),
    ("ProcessId", "Int64"),
    ("IsRemote", "SByte"),
    ("Details", "Dynamic"),
]
HUNT_ROW = {
    "Timestamp": "2026-07-01T10:00:00.1234567Z",
    "DeviceName": "ws-1",
    "AccountName": "jdoe",
    "RemoteIP": "10.0.0.9",
    "ProcessId": 77,
    "IsRemote": 1,
    "Details": {"a": [1, 2]},
}
HUNT_EDGES = {
    "clean": [HUNT_ROW, {**HUNT_ROW, "Timestamp": "2026-07-01T10:00:01Z"}],
    "unread cell that does not fit": [{**HUNT_ROW, "ProcessId": "many"}],
    "read cell that does not fit": [{**HUNT_ROW, "DeviceName": 5}],
    "cell not in the schema": [{**HUNT_ROW, "Other": 1}],
    "row that is not an object": [HUNT_ROW, 5],
    "read timestamp that does not fit": [{**HUNT_ROW, "Timestamp": "soon"}],
}


@pytest.mark.parametrize("rule_set", RULE_SETS)
@pytest.mark.parametrize("graph", [False, True], ids=["xdr", "graph"])
@pytest.mark.parametrize("case", list(HUNT_EDGES))
def test_hunting_rows(case: str, graph: bool, rule_set: str) -> None:
    rows = HUNT_EDGES[case]
    if graph:
        rows = [
            {**row, "IsRemote@odata.type": "#SByte", "Details": {"@odata.type": "#microsoft.graph.security.dynamicColumnValue", **row["Details"]}}
            if isinstance(row, dict)
            else row
            for row in rows
        ]
    _same(_hunting(HUNT_SCHEMA, rows, graph), rule_set)


@pytest.mark.parametrize("rule_set", RULE_SETS)
def test_hunting_schema_that_names_a_column_twice(rule_set: str) -> None:
    schema = [*HUNT_SCHEMA, ("ProcessId", "Int64")]  # ProcessId twice, and not read by jsa
    _same(_hunting(schema, [HUNT_ROW]), rule_set)


def test_hunting_rows_of_a_known_table_read_that_tables_columns() -> None:
    columns = list(m365parse.TABLES["DeviceProcessEvents"].__struct_fields__)
    schema = [(c, "DateTime" if c == "Timestamp" else "String") for c in columns if c != "NetworkAdapterName"]
    row = {c: None for c, _ in schema} | {"Timestamp": "2026-07-01T10:00:00.5Z", "DeviceName": "ws-2", "ActionType": "ProcessCreated"}
    for rule_set in RULE_SETS:
        got = _same(_hunting(schema, [row, row]), rule_set)
        assert len(got.events) == 2
    assert decode_normalized(_hunting(schema, [row]), "jsa").events[0]["DeviceName"] == "ws-2"


def test_a_derived_rule_set_reads_its_own_columns() -> None:
    mine = _resolve("jsa").derive("jsa-mine", {"DeviceProcessEvents": {"EventID": {"first": ["FileName", "ActionType"]}}})
    columns = mine.projection().columns("DeviceProcessEvents")
    assert columns is not None and "FileName" in columns
    got = _same(_body(_record("DeviceProcessEvents", PROCESS)), mine)
    assert got.events[0]["EventID"] == "cmd.exe"


def test_the_command_line_normalizes_from_the_columns_read(tmp_path: Path) -> None:
    import subprocess
    import sys

    good = json.dumps(_record("DeviceProcessEvents", PROCESS)).encode()
    path = tmp_path / "in.jsonl"
    path.write_bytes(good.replace(b'"cmd.exe"', b'"cmd\xff.exe"') + b"\n" + good + b"\n")
    proc = subprocess.run(
        [sys.executable, "-m", "m365parse", "--normalize", "jsa", str(path)], capture_output=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and lines[0] == lines[1]
    assert json.loads(lines[0])["DeviceTime"] == "2026-07-01T09:59:59.9876543Z"


def test_a_value_no_reader_takes_in_an_unread_datetime_column_keeps_the_others_exact() -> None:
    # found by fuzzing: 1e400 in a column jsa does not read passed the narrowed decode, and the
    # exact timestamps of the whole input were lost (their texts are read again, and 1e400 stopped
    # msgspec there): the texts are now read by the standard library when msgspec cannot
    good = _record("DeviceProcessEvents", PROCESS)
    odd = _record("DeviceProcessEvents", {**PROCESS, "ProcessCreationTime": 0})
    data = _lines(good, odd).replace(b'"ProcessCreationTime": 0', b'"ProcessCreationTime": 1e400')
    got = decode_normalized(data, "jsa")
    assert [e["DeviceTime"].isoformat_exact() for e in got.events] == ["2026-07-01T09:59:59.9876543Z"] * 2
    _same(data, "jsa")


def test_a_hunting_schema_msgspec_cannot_type_is_untyped_narrowed_or_not() -> None:
    # found by fuzzing: a column name with a control character makes no struct; the narrowed
    # decode, not declaring that column, made one, where decode() reads the rows untyped
    schema = [("Timestam\x00p", "DateTime"), ("DeviceName", "String")]
    rows = [{"Timestamp": "2026-07-13T19:41:59.8566667Z", "DeviceName": "ws-1"}]
    for graph in (False, True):
        _same(_hunting(schema, rows, graph), "jsa")
