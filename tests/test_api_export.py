"""Rows exported from Log Analytics / Microsoft Sentinel: records of the named table."""

from __future__ import annotations

import json
from pathlib import Path

import m365parse
from m365parse.tables import DeviceEventsRecord, DeviceNetworkEventsRecord, UrlClickEventsRecord

SAMPLE = Path(m365parse.__file__).resolve().parent / "samples" / "api" / "LogAnalyticsExport.json"


def _rows() -> list[dict[str, object]]:
    return [json.loads(line) for line in SAMPLE.read_text("utf-8").splitlines() if line.strip()]


def test_rows_are_records_of_their_table() -> None:
    batch = m365parse.decode(SAMPLE.read_bytes())
    assert batch.errors == []
    first, second = batch.records
    assert isinstance(first, DeviceEventsRecord) and isinstance(second, DeviceNetworkEventsRecord)
    assert first.properties.AdditionalFields == {"ThreatName": "Trojan:PowerShell/Downloader.A", "WasRemediated": True}
    assert first.envelope_extra["TimeGenerated"] == "2026-06-20T00:43:35.7370000Z"
    assert first.envelope_extra["TenantId"] == "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
    assert first.extra == {}
    assert m365parse.timestamp_ns(first, "Timestamp") == 1781916062_123456700
    assert second.properties.RemotePort == 443


def test_tables_that_declare_workspace_columns_keep_them_as_columns() -> None:
    row = {"TenantId": "w", "TimeGenerated": "2026-06-20T00:44:10.1234567Z", "Type": "UrlClickEvents", "Url": "http://x", "NewColumn": 1}
    (record,) = m365parse.decode(json.dumps(row)).records
    assert isinstance(record, UrlClickEventsRecord)
    assert record.properties.TenantId == "w" and record.properties.Type == "UrlClickEvents"
    assert m365parse.timestamp_ns(record, "TimeGenerated") == 1781916250_123456700
    assert record.extra == {"NewColumn": 1}


def test_unknown_tables_and_bad_rows() -> None:
    rows = [
        {"TenantId": "w", "TimeGenerated": "2026-06-20T00:44:10Z", "Type": "SecurityEvent", "EventID": 4624},
        {"TenantId": "w", "TimeGenerated": "2026-06-20T00:44:10Z", "Type": 7},
        _rows()[0],
    ]
    batch = m365parse.decode("\n".join(json.dumps(r) for r in rows))
    assert [r.table for r in batch.records] == ["SecurityEvent", "DeviceEvents"]
    assert batch.records[0].properties["EventID"] == 4624
    assert [(e.index, e.path) for e in batch.errors] == [(1, "$.Type")]


def test_lines_of_one_table_take_the_one_pass_path() -> None:
    rows = [r for r in _rows() if r["Type"] == "DeviceEvents"] * 3
    batch = m365parse.decode("\n".join(json.dumps(r) for r in rows))
    assert batch.errors == [] and len(batch.records) == 3
    record = batch.records[0]
    assert record._source()[0]._shape == "lines"
    assert record.envelope_extra["TimeGenerated"] == "2026-06-20T00:43:35.7370000Z"
    assert "TenantId" not in record.to_dict()["properties"]
    assert m365parse.timestamp_ns(record, "Timestamp") == 1781916062_123456700
    one = m365parse.decode(json.dumps(rows[0]) + "\n" + json.dumps({**rows[0], "NewCol": 1})).records
    assert one[0] == batch.records[0] and one[1].extra == {"NewCol": 1}


def test_the_one_pass_path_reads_the_first_row_first_blank_lines_before_it() -> None:
    rows = [r for r in _rows() if r["Type"] == "DeviceEvents"] * 3
    lines = m365parse.JsonLinesDecoder()
    block = b"\n \r\n" + "\n".join(json.dumps(r) for r in rows).encode() + b"\n"
    got = [*lines.feed(block).records, *lines.close().records]
    assert [r._source()[0]._shape for r in got] == ["lines"] * 3  # type: ignore[index]
    assert got == m365parse.decode(block).records


def test_a_row_whose_type_is_not_text_after_the_first_costs_only_itself() -> None:
    # Found by the property suite: a later row's "Type" of [] or {} (unhashable) made
    # decode() raise TypeError from the one-pass probe instead of recording one error.
    good = _rows()[0]
    for odd in ([], {}, None, 7):
        data = json.dumps(good) + "\n" + json.dumps({**good, "Type": odd}) + "\n" + json.dumps(good)
        batch = m365parse.decode(data)
        assert [r.table for r in batch.records] == ["DeviceEvents", "DeviceEvents"]
        assert [e.index for e in batch.errors] == [1]
        lines = m365parse.JsonLinesDecoder()
        streamed = [lines.feed(data.encode()), lines.close()]
        assert sum(len(b.records) for b in streamed) == 2 and sum(len(b.errors) for b in streamed) == 1


def test_a_row_without_time_generated_is_the_same_alone_or_beside_another_table() -> None:
    # found by fuzzing: the one-pass decode took such a row alone as an export row (it read only
    # Type), beside another table's row it was recognised as another shape's: now the one-pass
    # decode asks what the recognition asks (TimeGenerated, Type, TenantId)
    row, other = _rows()
    del row["TimeGenerated"]
    alone = m365parse.decode(json.dumps(row).encode())
    beside = m365parse.decode((json.dumps(row) + "\n" + json.dumps(other)).encode())
    assert [type(r) for r in alone.records] == [type(beside.records[0])]
