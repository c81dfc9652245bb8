"""decode_normalized() against normalize_batch(decode()) on mutated input: the same events and errors.

decode_normalized() decodes streamed records and hunting rows with only the columns the
rule set reads ("jsa" here: the one rule set that narrows).  Whatever the input, it gives
what decode() and normalize_batch() give, but for the documented differences: a value that
decode() cannot read at all (bytes that are not UTF-8, an integer of more than 4,300 digits)
in a column the rule set does not read (decode() reports that record, or the input, the
narrowed decode skips the column), and JSON values that are not one a line (a value over two
lines: read value by value when the one-pass decode takes the input, line by line when it
fails, which it does for fewer inputs here).  Inputs of those kinds are checked to lose no
more than decode() does.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest

import m365parse
from m365parse._decode import nonblank_lines
from m365parse._stdjson import loads_lines

from ..test_decode_normalized import _plain
from ._support import SHAPES, all_units, assemble, corpus, rng, scaled, time_limit
from .test_mutations import BOUNDARY_SAFE, EXPENSIVE, broken_batches, mutate, pick_units

CORPUS = corpus()
UNITS = all_units()


def _outcome(call: Any) -> tuple[str, Any, Any]:
    """("events", events as JSON text, errors) or ("raised", the exception type, its message)."""
    try:
        events, errors = call()
    except m365parse.InvalidInput as exc:
        return "raised", type(exc), str(exc)
    return "events", json.dumps(events, default=_plain), [(e.index, e.path, e.reason, e.raw) for e in errors]


def _both(data: bytes, what: str) -> None:
    def full() -> tuple[list[Any], list[Any]]:
        batch = m365parse.decode(data)
        return m365parse.normalize_batch(batch, "jsa"), batch.errors

    def narrowed() -> tuple[list[Any], list[Any]]:
        out = m365parse.decode_normalized(data, "jsa")
        return out.events, out.errors

    with time_limit(60, f"decode_normalized of {what}"):
        want, got = _outcome(full), _outcome(narrowed)
    if _unreadable(data):
        # the documented difference: what decode() reports for a value in a column jsa does not read
        if want[0] == got[0] == "events":
            assert len(got[2]) <= len(want[2]), what
        return
    assert got == want, what


_HUGE = re.compile(rb"\d{4301}")


def _unreadable(data: bytes) -> bool:
    """Whether ``data`` holds a value decode() cannot read at all (bytes that are not UTF-8, a huge
    integer), or is JSON values that are not one a line (read value by value here, line by line by
    decode() when its one-pass decode fails)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    if _HUGE.search(data) is not None:
        return True
    lines = nonblank_lines(data)
    if len(lines) < 2:
        return False
    try:
        return len(loads_lines(data)) != len(lines)
    except (ValueError, RecursionError):
        # some line is not JSON: is another one a value cut over two lines?
        return any(_split(line, after) for line, after in itertools.pairwise(lines))


def _split(line: bytes, after: bytes) -> bool:
    """Whether ``line`` is not a JSON value but ``line`` and the line ``after`` it are one."""
    for text in (line, line + b"\n" + after):
        try:
            loads_lines(text)
        except (ValueError, RecursionError):
            continue
        return text is not line
    return False


def test_random_mutations_of_the_corpus() -> None:
    r = rng("normalized-mutations")
    for _ in range(scaled(400, 50_000)):
        _both(mutate(r, r.choice(CORPUS).data), "byte mutation")


@pytest.mark.parametrize("mutation", sorted(BOUNDARY_SAFE))
def test_a_mutation_inside_a_record(mutation: str) -> None:
    r = rng(f"normalized-inside:{mutation}")
    tries = scaled(2, 20) if mutation in EXPENSIVE else scaled(25, 2000)
    for data, shape, _units, _target in broken_batches(r, mutation, tries):
        _both(data, f"{mutation} ({shape})")


@pytest.mark.parametrize("shape", SHAPES)
def test_assembled_batches(shape: str) -> None:
    r = rng(f"normalized-assembled:{shape}")
    for _ in range(scaled(40, 3000)):
        data, _spans = assemble(pick_units(r, shape, r.randint(1, 6)), shape)
        _both(data, f"assembled {shape}")


def test_the_corpus_files() -> None:
    for source in CORPUS:
        _both(source.data, source.name)
    assert len(UNITS) > 0


def test_a_value_cut_over_two_lines_beside_a_line_that_is_not_json() -> None:
    # Found by seed 880021: the model took such input for lines of one value each, since
    # the standard library's reader failed on the broken line before it could count values;
    # decode() read the cut value line by line (two errors), decode_normalized() as one value
    # (its one-pass decode resumed there): the documented difference, which the model now sees.
    first = json.dumps(_record_line(FileType=7)).encode()  # a column "jsa" does not read
    cut = json.dumps(_record_line()).encode().replace(b', "FileType"', b',\n"FileType"')
    data = first + b"\n{not json\n" + cut + b"\n"
    assert _unreadable(data)
    assert not _unreadable(first + b"\n{not json\n" + cut.replace(b"\n", b" ") + b"\n")
    full = m365parse.decode(data)
    assert (len(full.records), len(full.errors)) == (1, 3)  # each line accounted for
    assert len(m365parse.decode_normalized(data, "jsa").errors) <= len(full.errors)


def _record_line(**props: Any) -> dict[str, Any]:
    return {
        "time": "2024-05-14T09:15:30.4Z",
        "category": "AdvancedHunting-EmailAttachmentInfo",
        "properties": {"FileName": "logo.png", "FileType": "png", **props},
    }
