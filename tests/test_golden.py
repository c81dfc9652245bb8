"""Golden files: hand-written input and expected output for every table (tests/golden/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import m365parse
import m365parse.tables

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = sorted(p for p in GOLDEN.glob("*/*.input.*") if p.suffix in (".json", ".jsonl"))


def _expected(path: Path) -> dict[str, list[dict[str, object]]]:
    stem = path.name.split(".input.")[0]
    result: dict[str, list[dict[str, object]]] = json.loads((path.parent / f"{stem}.expected.json").read_text("utf-8"))
    return result


def test_every_table_has_golden_cases() -> None:
    covered = {p.parent.name for p in CASES}
    # every table seen streamed and SIEM alerts (the other tables: tests/test_all_tables.py, over their samples)
    assert set(m365parse.tables.STREAMED) | {"SiemAlert"} <= covered


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_golden(path: Path) -> None:
    expected = _expected(path)
    batch = m365parse.decode(path.read_bytes())
    assert [r.to_dict() for r in batch.records] == expected["records"]
    assert [{"index": e.index} for e in batch.errors] == expected["errors"]
    # the same bytes through the incremental decoder, where they are JSON lines
    if path.suffix == ".jsonl":
        decoder = m365parse.JsonLinesDecoder()
        data = path.read_bytes()
        records = []
        for i in range(0, len(data), 97):
            records += decoder.feed(data[i : i + 97]).records
        records += decoder.close().records
        assert [r.to_dict() for r in records] == expected["records"]
