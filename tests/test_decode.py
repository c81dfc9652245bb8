"""decode(): every input shape, every bad-value case, and the record-count invariant."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

import msgspec
import pytest

import m365parse
from m365parse import InvalidInput, InvalidRecord, SiemRecord, UnknownRecord
from m365parse._decode import UNRECOGNISED
from m365parse.tables import DeviceNetworkEvents, DeviceProcessEventsRecord, EmailEvents

from .conftest import body, record

UTC = timezone.utc


def _check_invariant(batch: m365parse.Batch, expected: int) -> None:
    assert len(batch.records) + len(batch.errors) == expected
    indexes = [e.index for e in batch.errors]
    assert indexes == sorted(indexes)


GOOD = record("DeviceProcessEvents", ProcessId=4242, FileName="cmd.exe", Timestamp="2024-05-14T08:41:56.5950497Z")
GOOD2 = record("DeviceNetworkEvents", RemoteIP="198.51.100.7", RemotePort=443, ActionType="ConnectionSuccess")


# --- shapes ----------------------------------------------------------------------


def test_event_hubs_body() -> None:
    batch = m365parse.decode(body(GOOD, GOOD2))
    _check_invariant(batch, 2)
    assert [r.table for r in batch.records] == ["DeviceProcessEvents", "DeviceNetworkEvents"]
    rec = batch.records[0]
    assert isinstance(rec, DeviceProcessEventsRecord)
    assert rec.properties.ProcessId == 4242
    assert rec.properties.Timestamp == datetime(2024, 5, 14, 8, 41, 56, 595050, tzinfo=UTC)
    assert rec.time == datetime(2024, 5, 14, 8, 44, 14, 904746, tzinfo=UTC)
    assert rec.tenantId == GOOD["tenantId"]
    assert rec.operationName == "Publish"
    assert rec.extra == {}
    assert isinstance(batch.records[1].properties, DeviceNetworkEvents)


def test_single_record() -> None:
    batch = m365parse.decode(json.dumps(GOOD).encode())
    assert [r.table for r in batch.records] == ["DeviceProcessEvents"]


def test_single_record_pretty_printed() -> None:
    batch = m365parse.decode(json.dumps(GOOD, indent=2).encode())
    assert [r.properties.ProcessId for r in batch.records] == [4242]
    assert batch.errors == []


def test_pretty_printed_body() -> None:
    batch = m365parse.decode(json.dumps({"records": [GOOD, GOOD2]}, indent=4))
    assert len(batch.records) == 2


def test_body_with_records_not_first() -> None:
    data = json.dumps({"other": 1, "records": [GOOD, GOOD2]}).encode()
    batch = m365parse.decode(data)
    assert [r.table for r in batch.records] == ["DeviceProcessEvents", "DeviceNetworkEvents"]


def test_json_lines_crlf_and_blank_lines() -> None:
    lines = [json.dumps(GOOD), "", json.dumps(GOOD2), "   ", json.dumps(GOOD)]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode()
    batch = m365parse.decode(data)
    _check_invariant(batch, 3)
    assert [r.table for r in batch.records] == ["DeviceProcessEvents", "DeviceNetworkEvents", "DeviceProcessEvents"]


def test_json_array_of_records() -> None:
    batch = m365parse.decode(json.dumps([GOOD, GOOD2]).encode())
    assert len(batch.records) == 2 and batch.errors == []


SIEM = {
    "AlertTime": "2020-09-30T14:09:20.35743Z",
    "ComputerDnsName": "desktop-4a5ngd6.contoso.com",
    "AlertTitle": "Suspicious process",
    "Category": "Malware",
    "Severity": "High",
    "AlertId": "da637370718981685665_16349121",
    "AlertPart": 0,
    "ReportID": 1053729833,
    "RemediationIsSuccess": None,
    "WasExecutingWhileDetected": None,
    "IpAddress": "",
}


def test_json_array_of_siem_alerts() -> None:
    batch = m365parse.decode(json.dumps([SIEM, SIEM]).encode())
    assert len(batch.records) == 2 and batch.errors == []
    rec = batch.records[0]
    assert isinstance(rec, SiemRecord)
    assert rec.table == "SiemAlert"
    assert rec.properties.AlertPart == 0
    assert rec.properties.ReportID == 1053729833
    assert rec.properties.IpAddress == ""
    assert rec.envelope == {}
    assert m365parse.timestamp_ns(rec, "AlertTime") == 1601474960_357430000


def test_single_siem_alert() -> None:
    batch = m365parse.decode(json.dumps(SIEM).encode())
    assert [r.table for r in batch.records] == ["SiemAlert"]


def test_siem_spelling_variants_map_to_the_documented_names() -> None:
    alert = {k: v for k, v in SIEM.items() if k not in ("ReportID", "IpAddress")}
    alert.update(ReportId="77", IPAddress="192.0.2.5", ThreatFamilyName="Mikatz", URL="down.example.com")
    rec = m365parse.decode(json.dumps([alert]).encode()).records[0]
    assert rec.properties.ReportID == 77
    assert rec.properties.IpAddress == "192.0.2.5"
    assert rec.properties.ThreatFamily == "Mikatz"
    assert rec.properties.Url == "down.example.com"
    assert rec.extra == {}
    both = dict(SIEM, IPAddress="192.0.2.9")
    rec = m365parse.decode(json.dumps(both).encode()).records[0]
    assert rec.properties.IpAddress == ""
    assert rec.extra == {"IPAddress": "192.0.2.9"}


@pytest.mark.parametrize(
    "convert",
    [
        lambda b: b,
        bytearray,
        memoryview,
        lambda b: b.decode(),
        lambda b: [b[:7], b[7:50], b[50:]],
        lambda b: iter([b]),
        lambda b: (b[i : i + 3] for i in range(0, len(b), 3)),
    ],
    ids=["bytes", "bytearray", "memoryview", "str", "list-of-chunks", "iterator", "generator"],
)
def test_input_types(convert: Any) -> None:
    data = body(GOOD, GOOD2)
    batch = m365parse.decode(convert(data))
    assert [r.table for r in batch.records] == ["DeviceProcessEvents", "DeviceNetworkEvents"]
    assert m365parse.timestamp_ns(batch.records[0], "Timestamp") == 1715676116_595049700


def test_bytearray_input_is_copied() -> None:
    data = bytearray(body(GOOD))
    rec = m365parse.decode(data).records[0]
    data[:] = b" " * len(data)
    assert m365parse.timestamp_ns(rec, "Timestamp") == 1715676116_595049700


def test_utf8_bom() -> None:
    batch = m365parse.decode(b"\xef\xbb\xbf" + body(GOOD))
    assert len(batch.records) == 1


# --- empty and not-a-shape input --------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \r\n\t", "", b"\xef\xbb\xbf", [], [b"", b""]])
def test_empty_input_is_an_empty_batch(data: Any) -> None:
    batch = m365parse.decode(data)
    assert batch.records == [] and batch.errors == []


def test_empty_records_list() -> None:
    batch = m365parse.decode(b'{"records": []}')
    assert batch.records == [] and batch.errors == []


@pytest.mark.parametrize(
    ("data", "position"),
    [
        (b"hello world", 0),
        (b"  42", 2),
        (b'"a string"', 0),
        (b"null", 0),
        (b"{not json at all", 0),
        (b"{\n  broken\n}", 0),
        (b"\xff\xfe{}", 0),
        (b"<xml/>", 0),
    ],
)
def test_not_json_or_not_a_shape_raises(data: bytes, position: int) -> None:
    with pytest.raises(InvalidInput) as info:
        m365parse.decode(data)
    assert isinstance(info.value, m365parse.M365ParseError)
    assert isinstance(info.value, ValueError)
    assert info.value.position == position
    assert "expected" in str(info.value)


@pytest.mark.parametrize("data", [None, 42, 3.5, object(), [1, 2], [b"ok", 7]])
def test_wrong_python_types_raise_invalid_input(data: Any) -> None:
    with pytest.raises(InvalidInput):
        m365parse.decode(data)


# --- unknown tables and columns ---------------------------------------------------


def test_unknown_table_is_kept_untouched() -> None:
    unknown = record("FutureBehaviorInfo", BehaviorId="b1", Timestamp="2024-01-01T00:00:00.1234567Z", Count="5")
    batch = m365parse.decode(body(GOOD, unknown, GOOD2))
    _check_invariant(batch, 3)
    rec = batch.records[1]
    assert isinstance(rec, UnknownRecord)
    assert rec.table == "FutureBehaviorInfo"
    assert rec.category == "AdvancedHunting-FutureBehaviorInfo"
    assert rec.properties == unknown["properties"]
    assert rec.time == datetime(2024, 5, 14, 8, 44, 14, 904746, tzinfo=UTC)
    assert m365parse.timestamp_ns(rec, "Timestamp") == 1704067200_123456700
    assert m365parse.timestamp_ns(rec, "time") == 1715676254_904746000
    # the neighbours still went through typed decoding
    assert batch.records[0].properties.ProcessId == 4242


def test_category_without_prefix() -> None:
    weird = dict(record(), category="SomethingElse")
    rec = m365parse.decode(body(weird)).records[0]
    assert isinstance(rec, UnknownRecord)
    assert rec.table == "SomethingElse"


def test_unknown_columns_go_to_extra() -> None:
    rec = record("CloudAppEvents", ActionType="FileDownloaded", NewPreviewColumn={"a": [1]})
    out = m365parse.decode(body(rec)).records[0]
    assert out.properties.ActionType == "FileDownloaded"
    assert out.extra == {"NewPreviewColumn": {"a": [1]}}


def test_logon_id_capital_d_is_not_folded_onto_logon_id() -> None:
    rec = m365parse.decode(body(record("DeviceProcessEvents", LogonId=999, LogonID=5))).records[0]
    assert rec.properties.LogonId == 999
    assert rec.extra == {"LogonID": 5}


def test_machine_group_on_every_table() -> None:
    for table in m365parse.TABLES:
        if table == "SiemAlert":
            continue
        rec = m365parse.decode(body(record(table, MachineGroup="Servers"))).records[0]
        assert rec.properties.MachineGroup == "Servers", table
        assert rec.extra == {}


def test_unknown_envelope_keys() -> None:
    rec = dict(GOOD, _TimeReceivedBySvc="2024-05-14T08:44:15.1Z", Tenant="DefaultTenant", Region="EU")
    out = m365parse.decode(body(rec)).records[0]
    assert out.Tenant == "DefaultTenant"
    assert out._TimeReceivedBySvc == datetime(2024, 5, 14, 8, 44, 15, 100000, tzinfo=UTC)
    assert out.envelope_extra == {"Region": "EU"}
    assert out.envelope["Region"] == "EU"
    assert out.envelope["Tenant"] == "DefaultTenant"
    assert out.extra == {}


def test_envelope_key_order_does_not_matter() -> None:
    rec = {"properties": GOOD["properties"], "Tenant": "DefaultTenant", "category": GOOD["category"], "time": GOOD["time"]}
    out = m365parse.decode(body(rec)).records[0]
    assert out.properties.ProcessId == 4242 and out.Tenant == "DefaultTenant"


# --- values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("InitiatingProcessId", "5456", 5456),
        ("InitiatingProcessParentId", "17", 17),
        ("InitiatingProcessSessionId", 3.0, 3),
        ("ProcessId", "", None),
        ("ProcessId", None, None),
        ("IsProcessRemoteSession", 1, True),
        ("IsProcessRemoteSession", 0, False),
        ("IsProcessRemoteSession", "1", True),
        ("IsProcessRemoteSession", "0", False),
        ("IsProcessRemoteSession", "true", True),
        ("IsProcessRemoteSession", "True", True),
        ("IsProcessRemoteSession", "FALSE", False),
        ("IsProcessRemoteSession", "", None),
        ("ReportId", "60533", 60533),
        ("ReportId", 60533, 60533),
        ("ProcessCreationTime", "", None),
        ("ProcessCreationTime", "2024-05-14T08:41:56Z", datetime(2024, 5, 14, 8, 41, 56, tzinfo=UTC)),
        ("ProcessCreationTime", "2024-05-14T08:41:56", datetime(2024, 5, 14, 8, 41, 56, tzinfo=UTC)),
        ("AdditionalFields", '{"a": 1}', '{"a": 1}'),
        ("AdditionalFields", {"a": 1}, {"a": 1}),
        ("AdditionalFields", "", ""),
        ("FileName", "", ""),
        ("FileName", "Microsoft AzureÂ®", "Microsoft AzureÂ®"),
    ],
)
def test_coercions(column: str, value: Any, expected: Any) -> None:
    rec = m365parse.decode(body(record("DeviceProcessEvents", **{column: value}))).records[0]
    assert getattr(rec.properties, column) == expected
    assert rec.extra == {}


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("ProcessId", "abc"),
        ("ProcessId", 1.5),
        ("ProcessId", {"x": 1}),
        ("ProcessId", [1]),
        ("ProcessId", True),
        ("IsProcessRemoteSession", "yes"),
        ("IsProcessRemoteSession", 2),
        ("ProcessCreationTime", "yesterday"),
        ("ProcessCreationTime", "2024-13-45T99:00:00Z"),
        ("FileName", 12),
        ("FileName", {"nested": "object"}),
        ("FileName", True),
        ("AdditionalFields", 12),
    ],
)
def test_values_that_do_not_fit_are_kept_in_extra(column: str, value: Any) -> None:
    batch = m365parse.decode(body(GOOD, record("DeviceProcessEvents", **{column: value}, FileName2="x"), GOOD2))
    _check_invariant(batch, 3)
    assert batch.errors == []
    rec = batch.records[1]
    assert getattr(rec.properties, column) is None
    assert rec.extra == {column: value, "FileName2": "x"}


def test_report_id_in_either_form_in_every_table() -> None:
    for table, types in m365parse.tables.DOCUMENTED_TYPES.items():
        if "ReportId" not in types:
            continue
        for value in (60533, "60533"):
            rec = m365parse.decode(body(record(table, ReportId=value))).records[0]
            want = 60533 if types["ReportId"] == "long" else "60533"
            assert rec.properties.ReportId == want, (table, value)
            assert rec.extra == {}


def test_report_id_string_table_keeps_text() -> None:
    rec = m365parse.decode(body(record("EmailEvents", ReportId="abc-1"))).records[0]
    assert isinstance(rec.properties, EmailEvents)
    assert rec.properties.ReportId == "abc-1"


def test_huge_integers_are_not_lost() -> None:
    big = 2**70
    rec = m365parse.decode(body(record("DeviceProcessEvents", ProcessId=big))).records[0]
    assert rec.properties.ProcessId == big


@pytest.mark.parametrize("digits", range(8))
def test_timestamps_with_0_to_7_fractional_digits(digits: int) -> None:
    frac = "1234567"[:digits]
    text = "2024-05-14T08:41:56" + ("." + frac if digits else "") + "Z"
    rec = m365parse.decode(body(record("DeviceProcessEvents", Timestamp=text))).records[0]
    ts = rec.properties.Timestamp
    assert ts.tzinfo is not None and ts.utcoffset().total_seconds() == 0
    expected_ns = 1715676116 * 10**9 + (int(frac.ljust(9, "0")) if digits else 0)
    assert m365parse.timestamp_ns(rec, "Timestamp") == expected_ns
    assert abs(ts.timestamp() * 1e9 - expected_ns) < 1000


def test_timestamp_with_offset() -> None:
    rec = m365parse.decode(body(record("DeviceProcessEvents", Timestamp="2024-05-14T10:41:56.5950497+02:00"))).records[0]
    assert m365parse.timestamp_ns(rec, "Timestamp") == 1715676116_595049700
    assert rec.to_dict()["properties"]["Timestamp"] == "2024-05-14T08:41:56.5950497Z"


# --- bad records ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "path", "words"),
    [
        ([1, 2], "$.records[1]", "expected a JSON object"),
        ("text", "$.records[1]", "expected a JSON object"),
        (None, "$.records[1]", "expected a JSON object"),
        ({"category": 5, "properties": {}}, "$.records[1].category", "`category` is a number"),
        ({"properties": {}}, "$.records[1].category", "`category` is missing"),
        ({"category": "AdvancedHunting-DeviceEvents", "properties": [1]}, "$.records[1].properties", "not an object"),
        ({"category": "AdvancedHunting-DeviceEvents"}, "$.records[1].properties", "`properties` is missing"),
        ({"hello": "world"}, "$.records[1]", "none of the shapes decode() accepts"),
    ],
)
def test_bad_record_costs_only_itself(bad: Any, path: str, words: str) -> None:
    data = body(GOOD, bad, GOOD2)
    batch = m365parse.decode(data)
    _check_invariant(batch, 3)
    assert [r.table for r in batch.records] == ["DeviceProcessEvents", "DeviceNetworkEvents"]
    (err,) = batch.errors
    assert isinstance(err, InvalidRecord) and isinstance(err, m365parse.M365ParseError)
    assert err.index == 1
    assert err.path == path
    assert words in err.reason
    assert json.loads(err.raw) == bad
    assert path in str(err)


def test_invalid_utf8_in_one_record() -> None:
    good = json.dumps(GOOD).encode()
    bad = json.dumps(record(FileName="XX")).encode().replace(b"XX", b"\xff\xfe")
    data = b'{"records": [' + good + b", " + bad + b", " + good + b"]}"
    batch = m365parse.decode(data)
    _check_invariant(batch, 3)
    assert len(batch.records) == 2
    (err,) = batch.errors
    assert err.index == 1 and "UTF-8" in err.reason and err.raw == bad


def test_invalid_utf8_in_json_lines() -> None:
    good = json.dumps(GOOD).encode()
    bad = json.dumps(record(FileName="XX")).encode().replace(b"XX", b"\xc3(")
    batch = m365parse.decode(b"\n".join([good, bad, good]))
    _check_invariant(batch, 3)
    assert batch.errors[0].index == 1


def test_lone_surrogate_in_str_input() -> None:
    good = json.dumps(GOOD)
    odd = json.dumps(record(FileName="XX")).replace("XX", "\ud800")
    batch = m365parse.decode("\n".join([good, odd, good]))
    _check_invariant(batch, 3)
    assert len(batch.records) == 3  # json.loads reads it: so does decode()
    assert batch.records[1].properties.FileName == "\ud800"


def test_syntax_error_inside_one_record() -> None:
    good = json.dumps(GOOD).encode()
    bad = b'{"category": "AdvancedHunting-DeviceEvents", "properties": {"FileName": "a" "b"}}'
    batch = m365parse.decode(b'{"records":[' + good + b"," + bad + b"," + good + b"]}")
    _check_invariant(batch, 3)
    assert batch.errors[0].index == 1 and batch.errors[0].reason.startswith("not JSON")


@pytest.mark.parametrize("cut", [1, 10, 100, -1, -2, -30])
def test_truncated_body_keeps_complete_records(cut: int) -> None:
    data = body(GOOD, GOOD2, GOOD)
    truncated = data[:cut]
    if cut > 0 and cut < 15:
        with pytest.raises(InvalidInput):
            m365parse.decode(truncated)
        return
    batch = m365parse.decode(truncated)
    assert len(batch.records) >= (0 if cut > 0 else 2)
    for err in batch.errors:
        assert isinstance(err, InvalidRecord)


def test_truncated_last_record() -> None:
    data = body(GOOD, GOOD2, GOOD)
    batch = m365parse.decode(data[: len(data) - 40])
    _check_invariant(batch, 3)
    assert len(batch.records) == 2
    assert batch.errors[0].index == 2


def test_nan_and_infinity_literals_are_read_as_json_loads_reads_them() -> None:
    good = json.dumps(GOOD).encode()
    odd = b'{"category": "AdvancedHunting-DeviceEvents", "properties": {"FileSize": NaN, "Zz": -Infinity}}'
    batch = m365parse.decode(b"[" + good + b"," + odd + b"]")
    _check_invariant(batch, 2)
    assert batch.errors == []
    rec = batch.records[1]
    assert rec.properties.FileSize is None and math.isnan(rec.extra["FileSize"])  # no integer
    assert rec.extra["Zz"] == -math.inf


def test_deep_nesting_fails_only_its_record() -> None:
    deep = "[" * 20000 + "]" * 20000
    good = json.dumps(GOOD).encode()
    bad = b'{"category": "AdvancedHunting-DeviceEvents", "properties": {"AdditionalFields": ' + deep.encode() + b"}}"
    batch = m365parse.decode(b'{"records": [' + good + b"," + bad + b"," + good + b"]}")
    _check_invariant(batch, 3)
    assert batch.errors[0].index == 1 and "deeply" in batch.errors[0].reason


def test_duplicate_keys_last_wins_on_both_paths() -> None:
    raw = b'{"category": "AdvancedHunting-DeviceProcessEvents", "properties": {"ProcessId": 1, "ProcessId": 2}}'
    fast = m365parse.decode(raw).records[0]
    slow = m365parse.decode(raw.replace(b'"ProcessId": 2}', b'"ProcessId": 2, "Zz": 1}')).records[0]
    assert fast.properties.ProcessId == slow.properties.ProcessId == 2


def test_nul_and_control_escapes_are_kept() -> None:
    rec = m365parse.decode(body(record(FileName="a\u0000b\r\nc"))).records[0]
    assert rec.properties.FileName == "a\u0000b\r\nc"


# --- the fast and the per-record path agree ---------------------------------------


def _all_tables_records() -> list[dict[str, Any]]:
    values = {
        "str": "x",
        "_v.Timestamp": "2024-05-14T08:41:56.5950497Z",
        "int": 2**40,
        "float": 1.5,
        "bool": True,
        "int | str": 7,
        "_v.JsonText": '{"k": ["v"]}',
        "Any": {"k": ["v"]},
    }
    out = []
    for table, types in m365parse.tables.ANNOTATIONS.items():
        if table == "SiemAlert":
            continue
        # keyed by the wire names: what real records carry (ISP of CloudAppEvents)
        wire = {f.name: f.encode_name for f in msgspec.structs.fields(m365parse.TABLES[table])}
        props = {wire[col]: values[kind] for col, kind in types.items()}
        out.append(record(table, **props))
    return out


def test_fast_and_slow_paths_give_equal_records() -> None:
    records = _all_tables_records()
    fast = m365parse.decode(body(*records))
    # One undecodable neighbour sends the whole batch down the per-record path,
    # and an unknown column sends every record through the column-by-column build.
    slow = m365parse.decode(body(*records, "not a record"))
    with_extra = [dict(r, properties=dict(r["properties"], Zzz=1)) for r in records]
    built = m365parse.decode(body(*with_extra))
    assert len(fast.records) == len(records) and fast.errors == []
    assert slow.records == fast.records
    for a, b in zip(fast.records, built.records):
        assert b.extra == {"Zzz": 1}
        assert a.properties == b.properties
        assert a.to_dict()["properties"] == b.to_dict()["properties"]


def test_every_streamed_table_decodes() -> None:
    batch = m365parse.decode(body(*_all_tables_records()))
    assert sorted(r.table for r in batch.records) == sorted(t for t in m365parse.TABLES if t != "SiemAlert")
    for rec in batch.records:
        assert isinstance(rec.properties, m365parse.TABLES[rec.table])


def test_large_batch_100k() -> None:
    records = [GOOD, GOOD2] * 50_000
    records[77_777] = {"category": "AdvancedHunting-DeviceEvents", "properties": "oops"}
    records[88_888] = record("DeviceNetworkEvents", RemotePort="")
    data = msgspec.json.encode({"records": records})
    batch = m365parse.decode(data)
    _check_invariant(batch, 100_000)
    assert [e.index for e in batch.errors] == [77_777]
    assert batch.records[88_887].properties.RemotePort is None
    assert batch.records[0].properties.ProcessId == 4242


def test_event_hubs_bodies_one_per_line() -> None:
    lines = [body(GOOD, GOOD2), body(GOOD), json.dumps(GOOD2).encode(), body()]
    batch = m365parse.decode(b"\n".join(lines) + b"\n")
    _check_invariant(batch, 4)
    assert [r.table for r in batch.records] == [
        "DeviceProcessEvents",
        "DeviceNetworkEvents",
        "DeviceProcessEvents",
        "DeviceNetworkEvents",
    ]
    bodies_only = m365parse.decode(b"\r\n".join(lines[:2]))
    assert len(bodies_only.records) == 3
    assert m365parse.timestamp_ns(bodies_only.records[2], "Timestamp") == 1715676116_595049700


def test_event_hubs_bodies_one_per_line_with_a_bad_record() -> None:
    lines = [body(GOOD, "bad"), body(GOOD2, record(ProcessId="x"))]
    batch = m365parse.decode(b"\n".join(lines))
    _check_invariant(batch, 4)
    assert [e.index for e in batch.errors] == [1]
    assert batch.records[2].extra == {"ProcessId": "x"}


def test_an_empty_object_is_not_a_siem_alert() -> None:
    for data in (b"[{}]", b"{}", json.dumps([SIEM, {}]).encode()):
        batch = m365parse.decode(data)
        assert [e.reason for e in batch.errors] == [UNRECOGNISED], data
    assert len(m365parse.decode(json.dumps([SIEM, {}]).encode()).records) == 1


def test_an_unrecognised_object_is_told_what_is_accepted() -> None:
    # The reason names every kind of item decode() takes, not only the streamed ones.
    reason = m365parse.decode(b'[{"hello": "world"}]').errors[0].reason
    for words in (
        "streamed record",
        "SIEM alert",
        "Graph, MDE or XDR alert or incident",
        "advanced hunting response",
        "Log Analytics export row",
    ):
        assert words in reason
    assert m365parse.decode(b"[5]").errors[0].reason == (
        "expected a JSON object (a record, an alert, an incident or a row), got number"
    )


def test_records_not_first_keep_their_own_bytes() -> None:
    bad = b'{"category": "AdvancedHunting-DeviceEvents", "properties": [ 1,  2 ]}'
    data = b'{"other": 1, "records": [' + json.dumps(GOOD).encode() + b", " + bad + b"]}"
    batch = m365parse.decode(data)
    _check_invariant(batch, 2)
    assert batch.errors[0].raw == bad
    assert batch.errors[0].path == "$.records[1].properties"


def test_error_paths_count_within_their_body() -> None:
    lines = [body(GOOD, GOOD2), body(GOOD, "bad")]
    (err,) = m365parse.decode(b"\n".join(lines)).errors
    assert (err.index, err.path) == (3, "$.records[1]")


@pytest.mark.parametrize(
    "make",
    [
        lambda recs: {"records": recs, "partition": {"id": 3}, "note": None},  # fast path fails: the tolerant way
        lambda recs: {"partition": {"id": 3}, "records": recs, "note": None},  # "records" not first
    ],
)
def test_keys_of_an_event_hubs_body_besides_records_are_kept_in_the_envelope(make: Any) -> None:
    recs = [record(FileName="a.exe"), record(FileName="b.exe")]
    batch = m365parse.decode(json.dumps(make(recs)))
    assert [r.properties.FileName for r in batch.records] == ["a.exe", "b.exe"] and batch.errors == []
    assert batch.envelope == {"partition": {"id": 3}, "note": None}
    assert m365parse.decode(body(*recs)).envelope == {}  # Microsoft's bodies: records only
