"""The incremental JSON-lines decoder."""

from __future__ import annotations

import json

import pytest

import m365parse

from .conftest import record

LINES = [
    json.dumps(record(ProcessId=1, Timestamp="2024-05-14T08:41:56.5950497Z")),
    json.dumps(record("DeviceNetworkEvents", RemotePort="")),
    "{broken",
    json.dumps(record("FutureBehaviorInfo", X=1)),
    json.dumps({"AlertTime": "2020-09-30T14:09:20.35743Z", "AlertId": "a1"}),
]
BLOB = ("\r\n".join(LINES[:2]) + "\r\n\r\n" + "\n".join(LINES[2:])).encode()


def _run(chunks: list[bytes], **kwargs: int) -> m365parse.Batch:
    decoder = m365parse.JsonLinesDecoder(**kwargs)
    records, errors = [], []
    for chunk in chunks:
        batch = decoder.feed(chunk)
        records += batch.records
        errors += batch.errors
    batch = decoder.close()
    return m365parse.Batch(records + batch.records, errors + batch.errors)


def _summary(batch: m365parse.Batch) -> tuple[list[str], list[int]]:
    return [r.table for r in batch.records], [e.index for e in batch.errors]


EXPECTED = (["DeviceProcessEvents", "DeviceNetworkEvents", "FutureBehaviorInfo", "SiemAlert"], [2])


def test_same_result_as_decode() -> None:
    assert _summary(m365parse.decode(BLOB)) == EXPECTED
    assert _summary(_run([BLOB])) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000])
def test_any_chunking(size: int) -> None:
    chunks = [BLOB[i : i + size] for i in range(0, len(BLOB), size)]
    batch = _run(chunks)
    assert _summary(batch) == EXPECTED
    assert m365parse.timestamp_ns(batch.records[0], "Timestamp") == 1715676116_595049700


def test_every_split_point() -> None:
    for cut in range(len(BLOB) + 1):
        assert _summary(_run([BLOB[:cut], BLOB[cut:]])) == EXPECTED, cut


def test_bom_split_across_chunks() -> None:
    data = b"\xef\xbb\xbf" + BLOB
    for cut in range(5):
        assert _summary(_run([data[:cut], data[cut:]])) == EXPECTED


def test_overlong_line_is_reported_and_skipped() -> None:
    long_line = json.dumps(record(FileName="x" * 5000))
    data = (LINES[0] + "\n" + long_line + "\n" + LINES[1] + "\n").encode()
    chunks = [data[i : i + 100] for i in range(0, len(data), 100)]
    batch = _run(chunks, max_record_bytes=1000)
    assert [r.table for r in batch.records] == ["DeviceProcessEvents", "DeviceNetworkEvents"]
    (err,) = batch.errors
    assert err.index == 1 and "max_record_bytes" in err.reason and len(err.raw) == 1000


def test_last_line_without_newline_and_records_seen() -> None:
    decoder = m365parse.JsonLinesDecoder()
    assert decoder.feed(LINES[0].encode()).records == []
    assert len(decoder.close().records) == 1
    assert decoder.records_seen == 1
    with pytest.raises(ValueError, match="after close"):
        decoder.feed(b"{}")


def test_bounded_memory_on_a_long_stream() -> None:
    decoder = m365parse.JsonLinesDecoder(max_record_bytes=4096)
    line = (json.dumps(record(ProcessId=1)) + "\n").encode()
    chunk = line * 50
    total = 0
    for _ in range(200):
        batch = decoder.feed(chunk[:-5])
        batch2 = decoder.feed(chunk[-5:])
        total += len(batch.records) + len(batch2.records)
        assert len(decoder._pending) <= 4096
    total += len(decoder.close().records)
    assert total == 200 * 50
