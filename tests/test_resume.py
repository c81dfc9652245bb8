"""The fast path resumes after a record it rejects: the same records and errors as one by one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

import m365parse
from m365parse import InvalidRecord, Record
from m365parse._decode import decode_one, failed_item

SAMPLES = Path(m365parse.__file__).resolve().parent / "samples"


def _records(n: int) -> list[dict[str, Any]]:
    pool = [
        rec
        for table in ("DeviceProcessEvents", "DeviceNetworkEvents", "DeviceFileEvents", "DeviceLogonEvents")
        for rec in json.loads((SAMPLES / f"{table}.json").read_text("utf-8"))["records"]
    ]
    return [json.loads(json.dumps(pool[i % len(pool)])) for i in range(n)]


def _spoil(rec: dict[str, Any], how: int) -> dict[str, Any]:
    """A record the one-pass decode rejects: each a different reason."""
    if how % 5 == 0:
        rec["time"] = rec["time"].rstrip("Z")  # no zone: accepted, read as UTC (by the one-pass decode too)
    elif how % 5 == 1:
        rec["category"] = "AdvancedHunting-SomeFutureTable"  # an unknown table
    elif how % 5 == 2:
        rec["properties"]["NewColumn"] = "x"  # an undeclared column
    elif how % 5 == 3:
        rec["properties"] = "not an object"  # an error
    else:
        rec["properties"]["Timestamp"] = {"not": "a time"}  # a value that does not fit
    return rec


def _expected(raws: list[bytes], prefix: str | None) -> list[Record | InvalidRecord]:
    return [decode_one(raw, i, "$" if prefix is None else f"{prefix}[{i}]") for i, raw in enumerate(raws)]


def _same(batch: m365parse.Batch, expected: list[Record | InvalidRecord], times: tuple[str, ...]) -> None:
    assert batch.records == [e for e in expected if isinstance(e, Record)]
    got = [(e.index, e.path, e.reason, e.raw) for e in batch.errors]
    assert got == [(e.index, e.path, e.reason, e.raw) for e in expected if isinstance(e, InvalidRecord)]
    for rec, exp in zip(batch.records, [e for e in expected if isinstance(e, Record)]):
        assert rec.extra == exp.extra and type(rec) is type(exp)
        for column in times:  # exact timestamps: read again from where each record came from
            assert m365parse.timestamp_ns(rec, column) == m365parse.timestamp_ns(exp, column)


@pytest.mark.parametrize(
    "bad",
    [[], [0], [199], [57], [3, 4, 5], list(range(0, 200, 100)), list(range(7, 200, 9)), list(range(200))],
    ids=["clean", "first", "last", "one", "three-in-a-row", "1%", "11%", "all"],
)
@pytest.mark.parametrize("shape", ["body", "array", "lines"])
def test_same_records_and_errors_as_one_by_one(shape: str, bad: list[int]) -> None:
    recs = _records(200)
    for n, i in enumerate(bad):
        _spoil(recs[i], n)
    raws = [json.dumps(r).encode() for r in recs]
    if shape == "body":
        data, prefix = b'{"records": [' + b", ".join(raws) + b"]}", "$.records"
    elif shape == "array":
        data, prefix = b"[" + b",\n ".join(raws) + b"]", "$"
    else:
        data, prefix = b"\n".join(raws) + b"\n", None
    batch = m365parse.decode(data)
    assert len(batch.records) + len(batch.errors) == len(raws)
    _same(batch, _expected(raws, prefix), ("time", "Timestamp"))


def test_siem_alerts_resume_too() -> None:
    alerts = json.loads((SAMPLES / "SiemAlert.json").read_text("utf-8"))
    alerts = (alerts * (60 // len(alerts) + 1))[:60]
    alerts = [dict(a) for a in alerts]
    alerts[10] = {**alerts[10], "NewField": 1}
    alerts[40] = {**alerts[40], "Severity": {"not": "text"}}
    raws = [json.dumps(a).encode() for a in alerts]
    batch = m365parse.decode(b"[" + b",".join(raws) + b"]")
    _same(batch, _expected(raws, "$"), ("AlertTime", "LastProcessedTimeUtc"))
    assert batch.records[10].extra == {"NewField": 1}


def test_failed_item_reads_msgspec_paths() -> None:
    dec = msgspec.json.Decoder(list[int])
    with pytest.raises(msgspec.ValidationError) as exc:
        dec.decode(b"[1, 2, 3, \"x\"]")
    assert failed_item(exc.value) == 3
    assert failed_item(ValueError("Expected `str`, got `int` - at `$.records[12].properties.X`")) == 12
    assert failed_item(ValueError("JSON is malformed: trailing characters (byte 7)")) is None


def test_records_around_a_bad_one_are_decoded_in_runs() -> None:
    recs = _records(100)
    _spoil(recs[50], 2)  # an undeclared column
    batch = m365parse.decode(b'{"records": [' + b",".join(json.dumps(r).encode() for r in recs) + b"]}")
    layouts = [rec._source()[0]._shape for rec in batch.records]  # type: ignore[index]
    assert layouts[50] == "one"  # the bad record on its own
    assert layouts[:50] == ["array"] * 50 and layouts[51:] == ["array"] * 49  # the others in runs


@pytest.mark.parametrize("shape", ["body", "bodies", "array", "lines", "one"])
def test_a_zone_less_envelope_time_is_utc_in_the_one_pass_decode(shape: str) -> None:
    recs = _records(20)
    for i in (3, 11):
        recs[i]["time"] = recs[i]["time"].rstrip("Z")
    recs[11]["_TimeReceivedBySvc"] = "2024-05-14T08:44:14.9047460"
    if shape == "one":
        recs = recs[11:12]
    raws = [json.dumps(r).encode() for r in recs]
    if shape == "body":
        data, layout = b'{"records": [' + b", ".join(raws) + b"]}", "body"
    elif shape == "bodies":
        body = b'{"records": [' + b", ".join(raws) + b"]}"
        data, layout, raws = body + b"\n" + body, "bodies", raws + raws
    elif shape == "array":
        data, layout = b"[" + b",".join(raws) + b"]", "array"
    elif shape == "lines":
        data, layout = b"\n".join(raws), "lines"
    else:
        data, layout = raws[0], "lines"  # one record: the JSON-lines fast path
    batch = m365parse.decode(data)
    assert not batch.errors and len(batch.records) == len(raws)
    assert {rec._source()[0]._shape for rec in batch.records} == {layout}  # type: ignore[index]  # no fallback
    for rec, raw in zip(batch.records, raws):
        alone = decode_one(raw, 0, "$")
        assert rec == alone  # as the per-record path reads it
        assert isinstance(alone, Record) and alone.time is not None and alone.time.tzinfo is not None
        assert rec.time is not None and rec.time.utcoffset() is not None
        if rec._TimeReceivedBySvc is not None:
            assert rec._TimeReceivedBySvc.utcoffset() is not None
        assert m365parse.timestamp_ns(rec, "time") == m365parse.timestamp_ns(alone, "time")


def test_a_zone_less_envelope_time_built_column_by_column_is_utc() -> None:
    rec = _records(1)[0]
    rec["time"] = rec["time"].rstrip("Z")
    rec["properties"]["NewColumn"] = 1  # the per-record path builds it
    built = decode_one(json.dumps(rec).encode(), 0, "$")
    assert isinstance(built, Record) and built.extra == {"NewColumn": 1}
    assert built.time is not None and built.time.utcoffset() is not None


def test_json_lines_resume_after_the_line_the_one_pass_decode_names() -> None:
    recs = _records(100)
    _spoil(recs[50], 2)  # an undeclared column
    data = b"\n\n" + b"\n".join(json.dumps(r).encode() for r in recs) + b"\n"
    batch = m365parse.decode(data)
    layouts = [rec._source()[0]._shape for rec in batch.records]  # type: ignore[index]
    assert layouts[:50] == ["lines"] * 50  # the lines before it: kept from the one-pass decode
    assert layouts[50] == "one" and batch.records[50].extra == {"NewColumn": "x"}
    assert layouts[51:] == ["lines"] * 49  # the lines after it: the one-pass decode resumed
    lines = m365parse.JsonLinesDecoder()
    streamed = [*lines.feed(data).records, *lines.close().records]
    assert streamed == batch.records


@pytest.mark.parametrize(
    "halves",
    [
        # a line cut inside a string, and the rest of it on the next line (found by fuzzing:
        # joined by a comma, the two made one value, and the run lost an item)
        ['{"time":"2024-05-14T10:03:40.5512093Z","tenantId":"3f2a8c', 'e-7b4d","category":"AdvancedHunting-AlertInfo","properties":{"Title":"y"}}'],
        # a line cut inside an array, its rest on the next line
        ['{"time":"2024-05-14T10:03:40Z","category":"AdvancedHunting-AlertInfo","properties":{"Title":["a",', '"b"]}}'],
    ],
    ids=["in a string", "in an array"],
)
def test_a_value_split_over_two_lines_is_two_errors(halves: list[str]) -> None:
    good = json.dumps({"time": "2024-05-14T10:03:40Z", "category": "AdvancedHunting-AlertInfo", "properties": {"Title": "x"}})
    batch = m365parse.decode("\n".join([good, *halves, good]).encode())
    assert [r.properties.Title for r in batch.records] == ["x", "x"]
    assert [e.index for e in batch.errors] == [1, 2]
    assert [e.raw for e in batch.errors] == [h.encode() for h in halves]


def _alert(title: Any) -> str:
    return json.dumps({"time": "2024-05-14T10:03:40Z", "category": "AdvancedHunting-AlertInfo", "properties": {"Title": title}})


@pytest.mark.parametrize(
    ("lines", "titles", "errors"),
    [
        # a line that holds a record and another value: msgspec counted two values where there is one line
        ([_alert("a") + '"x"', _alert("b")], ["b"], [0]),
        # a record cut over two lines, then one the one-pass decode rejects (found by fuzzing:
        # the resume took msgspec's value count for a line count and gave "c" twice)
        (['{"time":"2024-05-14T10:03:40Z",', '"category":"AdvancedHunting-AlertInfo","properties":{"Title":"s"}}', _alert("b"), _alert("c"), _alert(5)], ["b", "c", None], [0, 1]),
        # blank lines between: the line before the failed one is the last one that is not blank
        ([_alert("a"), "", _alert("b") + ' "x"', "  ", _alert(5), _alert("c")], ["a", None, "c"], [1]),
    ],
    ids=["two values on a line", "a record over two lines", "blank lines between"],
)
def test_json_lines_whose_values_are_not_one_a_line(lines: list[str], titles: list[Any], errors: list[int]) -> None:
    batch = m365parse.decode("\n".join(lines).encode())
    assert [r.properties.Title for r in batch.records] == titles
    assert [e.index for e in batch.errors] == errors
    assert len(batch.records) + len(batch.errors) == len([line for line in lines if line.strip()])


def test_json_lines_read_one_by_one_where_a_record_is_cut_over_two_lines() -> None:
    # found by fuzzing: a run of the lines joined the halves into one value, failed at a later
    # value, and the values before it were taken for the lines before it ("c" twice)
    def alert(title: str, ts: str = "2024-05-14T10:03:40Z") -> str:
        return json.dumps({"time": ts, "category": "AdvancedHunting-AlertInfo", "properties": {"Timestamp": ts, "Title": title}})

    lines = [
        alert("a"),
        '{"category":"AdvancedHunting-AlertInfo","properties":{"Timestamp":"2024-05-14T10:03:40Z","Title":"x"',
        '"Severity":"Low"}}',
        alert("c"),
        alert("d", ts="2024-05-14T10:03:40"),  # zone-less: the one-pass decode rejects it
    ]
    batch = m365parse.decode("\n".join(lines).encode())
    assert [r.properties.Title for r in batch.records] == ["a", "c", "d"]
    assert [e.index for e in batch.errors] == [1, 2]


@pytest.mark.parametrize("timestamp", ["2024-05-14T10:03:40Z", "2024-05-14T10:03:40"], ids=["fits", "zone-less"])
def test_one_line_with_text_after_its_record_is_not_json_lines(timestamp: str) -> None:
    # the same answer whether the record before the text fits the one-pass decode or not
    line = json.dumps({"category": "AdvancedHunting-AlertInfo", "properties": {"Timestamp": timestamp, "Title": "a"}})
    with pytest.raises(m365parse.InvalidInput, match="no line of the input is a JSON object"):
        m365parse.decode((line + '"junk"').encode())


def _line_at_one_by_one(buf: bytes, start: int, at: int) -> tuple[int, int] | None:
    """Line ``at`` from ``start``, the lines that are not blank counted one by one (the reference)."""
    pos, seen = start, 0
    while pos <= len(buf):
        end = buf.find(b"\n", pos)
        end = len(buf) if end < 0 else end
        if buf[pos:end].strip(b" \t\r"):
            if seen == at:
                return pos, end
            seen += 1
        pos = end + 1
    return None


def test_the_line_a_resumed_decode_failed_at_is_found_as_counted_one_by_one() -> None:
    # _line_at counts lines with shortcuts (a line opening with "{" is not blank); blank lines
    # (spaces, tabs, CR), a BOM, lines at the end: as the reference says.
    import random

    from m365parse._decode import _line_at

    r = random.Random(20261130)
    pieces = [b"{", b"}", b"a", b" ", b"\t", b"\r", b"\n", b"\n", b"\n", b"\xef\xbb\xbf"]
    for _ in range(20_000):
        buf = b"".join(r.choice(pieces) for _ in range(r.randint(0, 30)))
        start, at = r.randint(0, len(buf)), r.randint(0, 6)
        assert _line_at(buf, start, at) == _line_at_one_by_one(buf, start, at), (buf, start, at)
