"""An input cut short, or with bytes after its end, never passes for a whole one.

A blob still being written, an HTTP response cut off, a dump with a stray byte:
the items before the cut are kept, and the cut itself is an ``InvalidRecord`` at
the index after the last item (no bytes), so that ``len(records) + len(errors)``
tells the caller something is missing.  A cut inside an item is that item's own
error, as before; nothing is reported twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import m365parse

from .conftest import body, record

API = Path(m365parse.__file__).parent / "samples" / "api"

RECORDS = [record(ProcessId=i, FileName=f"f{i}.exe") for i in range(3)]

#: name -> (whole input, the JSON path of its items, how many items it has)
WHOLE = {
    "Event Hubs body": (body(*RECORDS), "$.records", 3),
    "JSON array": (json.dumps(RECORDS).encode(), "$", 3),
    "Graph alert page": ((API / "GraphAlertPage.json").read_bytes(), "$.value", None),
    "Graph incident page": ((API / "GraphIncidentPage.json").read_bytes(), "$.value", None),
    "Defender for Endpoint alert page": ((API / "MdeAlertPage.json").read_bytes(), "$.value", None),
    "Defender XDR incident page": ((API / "XdrIncidentPage.json").read_bytes(), "$.value", None),
    "hunting response": ((API / "HuntingMde.json").read_bytes(), "$.Results", None),
    "Defender XDR hunting response": ((API / "HuntingXdr.json").read_bytes(), "$.Results", None),
    "Graph hunting response": ((API / "HuntingGraph.json").read_bytes(), "$.results", None),
}


def _items(name: str) -> int:
    data, _, count = WHOLE[name]
    if count is not None:
        return count
    doc = json.loads(data)
    return len(doc["value"] if "value" in doc else doc["Results"] if "Results" in doc else doc["results"])


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_the_whole_input_has_no_error(name: str) -> None:
    data, _, _ = WHOLE[name]
    batch = m365parse.decode(data)
    assert not batch.errors and len(batch.records) == _items(name)


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_a_cut_after_an_item_keeps_the_items_and_says_where_it_was_cut(name: str) -> None:
    data, prefix, _ = WHOLE[name]
    doc = json.loads(data)
    key = prefix[2:] if prefix != "$" else None
    items = doc[key] if key else doc
    assert items
    others = {k: v for k, v in doc.items() if k != key} if key else {}
    head = (json.dumps(others)[:-1] + ", " if others else "{") + f'"{key}": [' if key else "["
    first = json.dumps(items[0])
    for cut in (head, head + first, head + first + ", "):
        batch = m365parse.decode(cut.encode())
        kept = 1 if first in cut else 0
        assert len(batch.records) == kept, cut[-40:]
        assert [(e.index, e.path, e.raw) for e in batch.errors] == [(kept, f"{prefix}[{kept}]", b"")]
        assert "cut short" in batch.errors[0].reason


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_bytes_after_the_end_are_an_error(name: str) -> None:
    data, _, _ = WHOLE[name]
    batch = m365parse.decode(data.rstrip() + b" x")
    assert len(batch.records) == _items(name)
    assert [(e.index, e.path) for e in batch.errors] == [(_items(name), "$")]
    assert batch.errors[0].raw.strip().endswith(b"x" if name == "JSON array" else b"} x")


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_no_cut_passes_for_a_whole_input(name: str) -> None:
    """At every byte where an input can be cut (its trailing white space aside): an error, or InvalidInput."""
    data, _, _ = WHOLE[name]
    end = len(data.rstrip())
    step = max(1, end // 300)
    for cut in range(1, end, step):
        try:
            batch = m365parse.decode(data[:cut])
        except m365parse.InvalidInput:
            continue
        assert batch.errors, (cut, data[cut - 30 : cut])
        assert len(batch.records) <= _items(name)


def test_a_cut_inside_an_item_is_that_item_s_error_alone() -> None:
    data = body(*RECORDS)
    cut = data[: data.index(b'"f2.exe"') + 4]
    batch = m365parse.decode(cut)
    assert len(batch.records) == 2
    assert [(e.index, e.path) for e in batch.errors] == [(2, "$.records[2]")]
    assert "truncated" in batch.errors[0].reason


def test_a_body_cut_short_among_json_lines_is_its_own_error() -> None:
    whole = body(RECORDS[0])
    lines = whole + b"\n" + b'{"records": [\n' + whole + b"\n"
    batch = m365parse.decode(lines)
    assert len(batch.records) == 2
    assert [(e.index, e.path) for e in batch.errors] == [(1, "$.records[0]")]
    decoder = m365parse.JsonLinesDecoder()
    fed = decoder.feed(lines)
    assert len(fed.records) == 2 and [(e.index, e.path) for e in fed.errors] == [(1, "$.records[0]")]


def test_a_cut_after_an_item_that_failed_whole_is_still_said() -> None:
    """The last item is complete but no record (no shape's): its error, and the cut after it."""
    data = b'{"records": [' + json.dumps(RECORDS[0]).encode() + b', {"neither": 1}'
    batch = m365parse.decode(data)
    assert len(batch.records) == 1
    assert [(e.index, e.path) for e in batch.errors] == [(1, "$.records[1]"), (2, "$.records[2]")]
    assert "cut short" in batch.errors[1].reason


def test_json_only_the_standard_library_reads_after_the_array_is_no_error() -> None:
    """A lone surrogate escape after the items (msgspec rejects it, json.loads reads it): the page
    takes the tolerant split, and what follows its array is still the rest of a JSON object
    (found by seed 880023)."""
    data, _, _ = WHOLE["Graph alert page"]
    doc = json.loads(data)
    doc["@odata.nextLink"] = "\ud800" + doc["@odata.nextLink"]
    page = json.dumps(doc).encode()  # the surrogate as its escape, \\ud800
    batch = m365parse.decode(page)
    assert not batch.errors and len(batch.records) == _items("Graph alert page")
