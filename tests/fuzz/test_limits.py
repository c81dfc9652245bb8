"""The documented limits, the errors past them, and memory in proportion to the input."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import m365parse
from m365parse import MAX_EXPAND_BYTES, MAX_EXPAND_DEPTH, InvalidJSONText
from m365parse._values import expand_value

from ..conftest import body, record
from ._support import SAMPLES, assemble, time_limit, units_of

# --- expand(): depth --------------------------------------------------------------------


def _nested_text(levels: int) -> str:
    return "[" * levels + "]" * levels


def _nested_list(levels: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(levels - 1):
        child: list[Any] = []
        node.append(child)
        node = child
    return root


def _rec(**props: Any) -> m365parse.Record:
    batch = m365parse.decode(body(record("DeviceEvents", **props)))
    assert batch.errors == []
    return batch.records[0]


def test_expand_depth_limit_as_json_text() -> None:
    assert expand_value(_nested_text(MAX_EXPAND_DEPTH)) is not None
    with pytest.raises(InvalidJSONText) as info:
        m365parse.expand(_rec(AdditionalFields=_nested_text(MAX_EXPAND_DEPTH + 1)), "AdditionalFields")
    assert str(info.value) == f"AdditionalFields: JSON nested deeper than {MAX_EXPAND_DEPTH} levels"
    assert info.value.column == "AdditionalFields"


def test_expand_depth_limit_as_objects() -> None:
    assert expand_value(_nested_list(MAX_EXPAND_DEPTH)) is not None
    for levels in (MAX_EXPAND_DEPTH + 1, 10_000, 200_000):
        with time_limit(5, f"expand of {levels} levels"), pytest.raises(InvalidJSONText, match="deeper"):
            expand_value(_nested_list(levels))


def test_expand_depth_counts_the_levels_of_json_inside_strings() -> None:
    # each level of JSON text inside a string adds to the depth of the whole
    inner = _nested_text(MAX_EXPAND_DEPTH - 10)
    assert expand_value(json.dumps([[[inner]]])) is not None
    with pytest.raises(InvalidJSONText, match="deeper"):
        expand_value(json.dumps([[[[[[[[[[[[inner]]]]]]]]]]]]))
    # encoded again and again: the budget is shared, the work stays small
    text = "[]"
    for _ in range(12):
        text = json.dumps([text])
    assert expand_value(text) is not None


def test_expand_of_10000_levels_fails_fast() -> None:
    for value in (_nested_text(10_000), json.dumps({"a": _nested_text(10_000)}), "{" * 10_000):
        with time_limit(5, "expand"), pytest.raises(InvalidJSONText):
            expand_value(value, "AdditionalFields")


# --- expand(): size ------------------------------------------------------------------------


def test_expand_size_limit() -> None:
    fits = '"' + "a" * (MAX_EXPAND_BYTES - 2) + '"'
    assert len(expand_value(fits)) == MAX_EXPAND_BYTES - 2
    with pytest.raises(InvalidJSONText) as info:
        expand_value(fits + " ", "RawEventData")
    assert str(info.value) == f"RawEventData: JSON text longer than {MAX_EXPAND_BYTES} bytes"
    # the limit is in bytes of UTF-8, not in characters
    with pytest.raises(InvalidJSONText, match="longer"):
        expand_value('"' + "é" * (MAX_EXPAND_BYTES // 2) + '"')


# --- decode(): nesting and size --------------------------------------------------------------


@pytest.mark.parametrize("levels", [1_000, 10_000, 100_000])
def test_decode_nesting_past_msgspec_depth_fails_only_its_record(levels: int) -> None:
    good = json.dumps(record(FileName="a")).encode()
    deep = b'{"category": "AdvancedHunting-DeviceEvents", "properties": {"AdditionalFields": ' + _nested_text(levels).encode() + b"}}"
    for data in (b'{"records": [' + good + b"," + deep + b"," + good + b"]}", b"\n".join([good, deep, good])):
        with time_limit(10, "decode"):
            batch = m365parse.decode(data)
        assert len(batch.records) == 2
        (error,) = batch.errors
        assert error.index == 1 and error.reason == "not JSON: nested too deeply to decode" and error.raw == deep


def test_decode_of_a_10mb_string_keeps_it() -> None:
    big = "A" * 10_000_000
    with time_limit(10, "decode"):
        rec = m365parse.decode(body(record(FileName=big, AdditionalFields=json.dumps({"x": big})))).records[0]
    assert rec.properties.FileName == big
    assert m365parse.expand(rec, "AdditionalFields") == {"x": big}


def test_json_lines_decoder_record_limit() -> None:
    decoder = m365parse.JsonLinesDecoder(max_record_bytes=300)
    batch = decoder.feed(b'{"a": "' + b"x" * 500 + b'"}\n' + json.dumps(record(FileName="b")).encode() + b"\n")
    (error,) = batch.errors
    assert error.index == 0 and error.raw == b'{"a": "' + b"x" * 293
    assert error.reason == "line longer than max_record_bytes (300); skipped to its end"
    assert [r.properties.FileName for r in batch.records] == ["b"]
    assert isinstance(error, m365parse.M365ParseError)
    assert decoder.close().records == [] and decoder.records_seen == 2
    with pytest.raises(ValueError, match="positive"):
        m365parse.JsonLinesDecoder(max_record_bytes=0)


# --- memory ------------------------------------------------------------------------------------


def _peak(fn: Callable[[], Any]) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def _sample_records() -> list[bytes]:
    units: list[bytes] = []
    for path in sorted(Path(SAMPLES).glob("*.json")):
        units += units_of(path.read_bytes())
    return units


def _batch_of(n: int, shape: str) -> bytes:
    units = _sample_records()
    return assemble((units * (n // len(units) + 1))[:n], shape)[0]


def _clean_body() -> bytes:
    return _batch_of(300, "body")


MEMORY_CASES: dict[str, Callable[[], bytes]] = {
    "clean body": _clean_body,
    "clean JSON lines": lambda: _batch_of(300, "lines"),
    "body with a broken record": lambda: _clean_body().replace(b'"category"', b'"category" x', 1),
    "body cut short": lambda: _clean_body()[:-3000],
    "JSON lines with a broken line": lambda: _batch_of(300, "lines").replace(b'"category"', b'"category" x', 1),
    "pretty-printed body": lambda: json.dumps(json.loads(_clean_body()), indent=2).encode(),
    "one record with a 4 MB string": lambda: json.dumps(record(FileName="A" * 4_000_000)).encode(),
    "the same with an unknown column": lambda: json.dumps(record(FileName="A" * 4_000_000, Zz=1)).encode(),
}


@pytest.mark.parametrize("case", sorted(MEMORY_CASES))
def test_decode_memory_is_a_small_multiple_of_the_input(case: str) -> None:
    data = MEMORY_CASES[case]()
    peak, batch = _peak(lambda: m365parse.decode(data))
    assert batch.records
    # the input is kept (records refer to it), plus the decoded Python objects
    assert peak < 4 * len(data) + 100_000, (peak, len(data))


def test_memory_of_pathological_values_is_bounded_by_python_object_sizes() -> None:
    # "[{},{},...]": 3 bytes of JSON are a 64-byte dict and a list slot in Python
    data = json.dumps(record(AdditionalFields=[{}] * 30_000, Zz=1)).encode()
    peak, batch = _peak(lambda: m365parse.decode(data))
    assert len(batch.records) == 1
    assert peak < 30 * len(data)


def test_expand_memory() -> None:
    text = json.dumps({f"k{i}": ["value " * 8, {"n": i}] for i in range(5_000)})
    rec = _rec(AdditionalFields=text)
    peak, _ = _peak(lambda: m365parse.expand(rec, "AdditionalFields"))
    assert peak < 12 * len(text)


def test_json_lines_decoder_memory_is_bounded_by_chunk_and_record_size() -> None:
    line = json.dumps(record(FileName="f" * 200)).encode() + b"\n"
    chunk = line * 100  # about 40 kB

    def stream() -> int:
        decoder = m365parse.JsonLinesDecoder(max_record_bytes=64 * 1024)
        count = 0
        for _ in range(250):  # 10 MB in all
            count += len(decoder.feed(chunk[:-7]).records)
            count += len(decoder.feed(chunk[-7:]).records)
        count += len(decoder.close().records)
        return count

    peak, count = _peak(stream)
    assert count == 250 * 100
    assert peak < 20 * len(chunk)

    def long_line() -> int:
        decoder = m365parse.JsonLinesDecoder(max_record_bytes=64 * 1024)
        errors = 0
        for _ in range(1000):  # 10 MB without a newline
            errors += len(decoder.feed(b"x" * 10_000).errors)
        return errors

    peak, errors = _peak(long_line)
    assert errors == 1
    assert peak < 4 * 64 * 1024 + 100_000
