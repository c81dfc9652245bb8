"""Records are not tracked by the cyclic garbage collector: no cycle the library makes runs through one."""

from __future__ import annotations

import contextlib
import gc
from pathlib import Path

import pytest

import m365parse
from m365parse._decode import Origin

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
