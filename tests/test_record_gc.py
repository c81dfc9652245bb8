"""Records are not tracked by the cyclic garbage collector: no cycle the library makes runs through one."""

from __future__ import annotations

import contextlib
import gc
import json
import traceback
from pathlib import Path

import pytest

import m365parse
from m365parse._decode import Origin, collector_off

from .conftest import body, record

SAMPLES = Path(m365parse.__file__).resolve().parent / "samples"
INPUTS = sorted(SAMPLES.glob("*.json"))[:6] + sorted((SAMPLES / "api").glob("*.json"))


def _origins() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is Origin)


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_a_dropped_batch_is_freed_without_the_collector(path: Path) -> None:
    # With the collector off, everything of a batch is freed by reference counting alone
    # once the batch is dropped, after every use that reads a record's origin or values:
    # no reference cycle runs through a record (nor through its origin).
    data = path.read_bytes()
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        before = _origins()
        batch = m365parse.decode(data)
        assert batch.records
        broken = m365parse.decode(b"[" + data + b", 5, " + data + b"]")  # the per-item path too
        for record in batch.records + broken.records:
            assert not gc.is_tracked(record)
            record.to_dict()
            m365parse.normalize(record, "ecs")
            for name in ("time", "Timestamp", "createdDateTime", "TimeGenerated"):
                with contextlib.suppress(KeyError, ValueError, TypeError, m365parse.M365ParseError):
                    m365parse.timestamp_ns(record, name)
        assert _origins() > before
        del batch, broken, record
        assert _origins() == before
    finally:
        if enabled:
            gc.enable()



@pytest.mark.parametrize("enabled", [True, False])
def test_normalize_batch_restores_the_collector(enabled: bool) -> None:
    # normalize_batch() runs with the collector off and gives it back as it found it,
    # also when a rule raises.
    batch = m365parse.decode(INPUTS[0].read_bytes())

    def fail(record: m365parse.Record) -> str:
        assert not gc.isenabled()  # off while the records are normalized
        raise RuntimeError("a rule that fails")

    failing = m365parse.RuleSet("failing-rule", {"*": {"x": fail}})
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        assert m365parse.normalize_batch(batch, "jsa")
        assert gc.isenabled() is enabled
        with pytest.raises(RuntimeError, match="a rule that fails"):
            m365parse.normalize_batch(batch, failing)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.parametrize("enabled", [True, False])
def test_decoding_runs_without_collections_and_restores_the_collector(enabled: bool) -> None:
    # decode(), JsonLinesDecoder and decode_normalized() keep the collector off while they run (no collection
    # walks the records kept so far when a record takes the per-record path), and give it
    # back as they found it, also when they raise.
    line = (
        b'{"time": "2024-01-01T00:00:00Z", "category": "AdvancedHunting-DeviceProcessEvents", '
        b'"properties": {"DeviceName": "a", "ProcessId": 1}}\n'
    )
    bad = line * 2 + line.replace(b'"properties": {', b'"properties": {"SomeNewColumn": 1, ') + line * 2
    stream = m365parse.JsonLinesDecoder()  # (imports its module: not what is counted)
    package = str(Path(m365parse.__file__).resolve().parent)
    # what runs before the collector is turned off: decode() itself, the wrapper that turns it off
    entry = {m365parse.decode.__code__, collector_off(len).__code__}
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        # a collection set off while the library's code runs (a frame of it on the stack)
        if phase == "start" and any(
            frame.f_code.co_filename.startswith(package) and frame.f_code not in entry
            for frame, _ in traceback.walk_stack(None)
        ):
            collections.append(info["generation"])

    was, threshold = gc.isenabled(), gc.get_threshold()
    (gc.enable if enabled else gc.disable)()
    gc.set_threshold(1)  # a collection at every allocation, where the collector is on
    gc.callbacks.append(count)
    try:
        batch = m365parse.decode(bad)
        assert len(batch.records) == 5 and batch.records[2].extra == {"SomeNewColumn": 1}
        streamed = stream.feed(bad)
        assert streamed.records == batch.records and not streamed.errors
        normalized = m365parse.decode_normalized(bad, "ecs")  # its decode, its events and its batch
        assert len(normalized.events) == 5 and not normalized.errors
        assert collections == []
        assert gc.isenabled() is enabled
        with pytest.raises(m365parse.InvalidInput):
            m365parse.decode(b"not JSON")
        assert gc.isenabled() is enabled
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*threshold)
        (gc.enable if was else gc.disable)()


def _bad_inputs() -> list[tuple[str, bytes, int]]:
    """(name, input, errors) of inputs with records the one-pass decode rejects."""
    good = [record(DeviceName=f"host-{i}") for i in range(6)]
    new_column = record(DeviceName="odd", SomeNewColumn="x")  # rejected by the one-pass decode
    bad_port = record("DeviceNetworkEvents", RemotePort="")
    rows = [*good[:3], new_column, *good[3:], bad_port, *good[:2]]
    items = [json.dumps(r).encode() for r in rows]
    return [
        ("JSON lines", b"".join(item + b"\n" for item in items), 0),
        ("JSON array", b"[" + b",".join(items) + b"]", 0),
        ("Event Hubs body", body(*rows), 0),
        ("JSON array with a non-record", b"[" + items[0] + b", 5, " + items[1] + b"]", 1),
        # not JSON: msgspec's error stands after the standard library's reader failed too
        ("JSON lines with a line that is not JSON", items[0] + b"\n{not json}\n" + items[1] + b"\n", 1),
    ]


@pytest.mark.parametrize("name, data, errors", _bad_inputs(), ids=[name for name, _, _ in _bad_inputs()])
def test_resuming_after_a_bad_record_leaves_no_cycle(name: str, data: bytes, errors: int) -> None:
    # The one-pass decode fails at the bad record and resumes after it (a Resume caught and
    # kept as a value), or the record is an error: nothing of that is left in a reference
    # cycle (an exception's traceback holding the frame that holds the exception), which
    # would keep the input alive until the collector ran, and make it run over every young
    # object once a few such cycles piled up.
    m365parse.decode(data)  # (what is built once per process: decoders, caches)
    gc.collect()
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        batch = m365parse.decode(data)
        assert batch.records and len(batch.errors) == errors
        del batch
        gc.collect()
        left = [type(obj).__name__ for obj in gc.garbage]
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()
    assert left == []
