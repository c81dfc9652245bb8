"""Bugs the hostile-input tests found, each pinned by the smallest input that showed it."""

from __future__ import annotations

import json
import time

import pytest

import m365parse
from m365parse._values import expand_value, parse_ns

from ..conftest import body, record
from ._support import time_limit


def test_parse_ns_is_linear_on_long_runs_of_spaces() -> None:
    # was quadratic: "\s*" on both sides of the optional zone
    text = "2021-07-21T00:55:44" + " " * 200_000 + "x"
    start = time.perf_counter()
    with time_limit(5, "parse_ns"):
        assert parse_ns(text) is None
    assert time.perf_counter() - start < 1
    assert parse_ns("  2021-07-21T00:55:44.1234567 Z  ") == 1626828944_123456700


def test_timestamp_ns_of_an_unknown_table_with_a_hostile_timestamp() -> None:
    hostile = "2024-05-14T08:41:56" + " " * 200_000 + "!"
    rec = m365parse.decode(body(record("FutureBehaviorInfo", Timestamp=hostile))).records[0]
    with time_limit(5, "timestamp_ns"):
        assert m365parse.timestamp_ns(rec, "Timestamp") is None


@pytest.mark.parametrize("depth", [499, m365parse.MAX_EXPAND_DEPTH])
def test_expand_up_to_the_depth_limit_does_not_hit_the_recursion_limit(depth: int) -> None:
    # was RecursionError (not an M365ParseError): one or two Python frames per level
    text = "[" * depth + "]" * depth
    out = expand_value(text)
    for _ in range(depth - 1):
        (out,) = out
    assert out == []
    text = '{"a":' * (depth - 2) + '{"$id": "1", "self": {"$ref": "1"}}' + "}" * (depth - 2)
    out = expand_value(text)
    for _ in range(depth - 2):
        out = out["a"]
    assert out["self"] is out
    with pytest.raises(m365parse.InvalidJSONText, match="deeper"):
        expand_value("[" * (m365parse.MAX_EXPAND_DEPTH + 1) + "]" * (m365parse.MAX_EXPAND_DEPTH + 1))


def test_expand_keeps_document_order_of_ids() -> None:
    fields = {"a": {"$id": "1", "n": "first"}, "b": {"$id": "1", "n": "second"}, "c": {"$ref": "1"}}
    out = expand_value(json.dumps(fields))
    assert out["c"] is out["a"]
    assert list(out) == ["a", "b", "c"] and out["b"] == {"n": "second"}


@pytest.mark.parametrize("key", ["@m365parse.extra", "@m365parse.envelope_extra", "@m365parse.src"])
@pytest.mark.parametrize("value", [{"forged": 1}, {}, [1, 2], None, "text"])
def test_input_keys_named_like_the_decoders_own_fields_are_kept(key: str, value: object) -> None:
    # was: the one-pass decode filled Record.extra (or envelope_extra, _src) from them
    raw = dict(record(ProcessId=1), **{key: value})
    for data in (json.dumps(raw), body(raw), json.dumps([raw])):
        (rec,) = m365parse.decode(data).records
        assert rec.extra == {}
        assert rec.envelope_extra == {key: value}
        assert rec.properties.ProcessId == 1
        assert isinstance(rec._src, tuple)


def test_a_long_line_fed_in_small_chunks_is_linear() -> None:
    # was quadratic: the unfinished line was copied on every feed()
    decoder = m365parse.JsonLinesDecoder()
    chunk = b"x" * 1024
    with time_limit(10, "feeding 16 MB"):
        for _ in range(16 * 1024):
            assert decoder.feed(chunk).records == []
    assert len(decoder._pending) == 16 * 1024 * 1024


def test_max_record_bytes_does_not_depend_on_the_chunking() -> None:
    # was: an overlong line was decoded when it arrived whole within one chunk
    short = json.dumps(record(FileName="y")).encode()
    long = json.dumps(record(FileName="x" * 5000)).encode()
    data = b"\n".join([short, long, short, long, long, short]) + b"\n"
    results = set()
    for size in (1, 7, 100, 999, 1000, 1001, 5000, len(data)):
        decoder = m365parse.JsonLinesDecoder(max_record_bytes=1000)
        records, errors = [], []
        for i in range(0, len(data), size):
            batch = decoder.feed(data[i : i + size])
            records += batch.records
            errors += batch.errors
        batch = decoder.close()
        records += batch.records
        errors += batch.errors
        results.add((len(records), tuple((e.index, len(e.raw), e.raw == long[:1000]) for e in errors)))
    assert results == {(3, ((1, 1000, True), (3, 1000, True), (4, 1000, True)))}


@pytest.mark.parametrize("extra", [{}, {"Zz": 1}])
def test_exact_timestamp_under_a_siem_spelling(extra: dict[str, int]) -> None:
    # was: timestamp_ns read only the documented name and lost the 7th digit
    alert = {"AlertId": "a1", "LastProccesedTimeUtc": "2020-09-30T14:09:20.3574301Z", **extra}
    for data in (json.dumps([alert]), json.dumps(alert)):
        rec = m365parse.decode(data).records[0]
        assert m365parse.timestamp_ns(rec, "LastProcessedTimeUtc") == 1601474960_357430100


@pytest.mark.parametrize("indent", [None, 2])
def test_a_record_cut_short_is_invalid_input_pretty_printed_or_not(indent: int | None) -> None:
    # was: the pretty-printed form gave one error per line (a line such as
    # `"records"` is JSON, only not an object)
    text = json.dumps({"records": [record(FileName="a")]}, indent=indent).encode()
    for cut in range(1, text.index(b"[")):
        with pytest.raises(m365parse.InvalidInput):
            m365parse.decode(text[:cut])


def test_one_record_on_the_per_record_path_is_decoded_once_at_a_time() -> None:
    import tracemalloc

    # was: the whole value was held while decode_one() decoded it again (twice the memory)
    data = json.dumps(record(AdditionalFields=[{}] * 30_000, Zz=1)).encode()
    tracemalloc.start()
    try:
        m365parse.decode(data)
        slow = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        m365parse.decode(data.replace(b', "Zz": 1', b""))
        fast = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert slow < 1.5 * fast


def test_a_bom_at_the_start_of_any_line() -> None:
    # was: the record after a BOM in the middle of JSON lines (blobs saved with a
    # BOM, then concatenated) failed as "not JSON"
    line = json.dumps(record(FileName="a")).encode()
    data = b"\xef\xbb\xbf" + line + b"\r\n\xef\xbb\xbf" + line + b"\n\xef\xbb\xbf\n" + line
    assert len(m365parse.decode(data).records) == 3
    decoder = m365parse.JsonLinesDecoder()
    records = decoder.feed(data).records + decoder.close().records
    assert len(records) == 3


_CUT_RESPONSES = [
    (b'{ "schema": [', "$", b'{ "schema": ['),  # no row to split out: the line is the error
    # rows split out by the tolerant scanner: the row cut short is the error
    (b'{"Stats": {}, "Schema": [{"Name": "A", "Type": "String"}], "Results": [{"A": "x"', "$.Results[0]", b'{"A": "x"'),
]


@pytest.mark.parametrize("cut, path, raw", _CUT_RESPONSES)
@pytest.mark.parametrize("resumed", [False, True])
def test_a_line_of_json_lines_that_is_a_hunting_response_cut_short_is_one_error(
    cut: bytes, path: str, raw: bytes, resumed: bool
) -> None:
    # Found by seed 880022: the line, claimed as a whole hunting response, raised InvalidInput
    # (meant for a whole input), and the other lines were lost with it, in decode() and in
    # JsonLinesDecoder.  ``resumed``: after a record the one-pass decode rejects (other path).
    first = record("DeviceProcessEvents", DeviceName="a", **({"NewColumn": 1} if resumed else {}))
    lines = [json.dumps(first).encode(), cut, json.dumps(record("DeviceProcessEvents", DeviceName="b")).encode()]
    data = b"\n".join(lines) + b"\n"
    batch = m365parse.decode(data)
    assert [r.properties.DeviceName for r in batch.records] == ["a", "b"]
    assert [(e.index, e.path, e.raw) for e in batch.errors] == [(1, path, raw)]
    decoder = m365parse.JsonLinesDecoder()
    fed = [decoder.feed(data), decoder.close()]
    assert [len(b.records) for b in fed] == [2, 0] and [e.index for b in fed for e in b.errors] == [1]
    if path == "$":  # alone, the line with no row is the whole input: still InvalidInput
        with pytest.raises(m365parse.InvalidInput):
            m365parse.decode(cut)
