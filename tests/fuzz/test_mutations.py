"""Mutation fuzzing of decode() and JsonLinesDecoder over the golden files, the samples and the vendor guide.

Two kinds of batch are mutated:

- the corpus files as they are (tests/golden, m365parse/samples, the vendor
  guide's samples): byte flips, insertions, deletions, splices, truncation; the
  only promise there is that nothing but M365ParseError comes out, nothing hangs,
  and every decoded record can be used;
- batches assembled from the corpus's records in every shape, whose record
  boundaries are known: a mutation inside one record (invalid UTF-8, NaN, NUL,
  CR/LF, duplicate keys, 10 MB strings, 10,000 levels of nesting) costs that
  record at most, and ``len(records) + len(errors)`` is the number of records.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

import m365parse

from ._support import (
    SHAPES,
    TRIED,
    all_units,
    assemble,
    corpus,
    decode_checked,
    exercise,
    rng,
    scaled,
    time_limit,
)

CORPUS = corpus()
UNITS = all_units()
OBJECT_UNITS = [u for u in UNITS if u.startswith(b"{")]
LINE_SHAPES = ("lines", "crlf-lines")


@functools.cache
def alone(unit: bytes) -> tuple[tuple[m365parse.Record, ...], int]:
    """What one unit decodes to by itself: its records (0 or 1) and its error count."""
    batch = m365parse.decode(assemble([unit], "array")[0])
    return tuple(batch.records), len(batch.errors)


def expected(units: list[bytes]) -> tuple[list[m365parse.Record], list[int]]:
    records: list[m365parse.Record] = []
    errors: list[int] = []
    for i, unit in enumerate(units):
        recs, n_errors = alone(unit)
        records += recs
        errors += [i] * n_errors
    return records, errors


def pick_units(r: Any, shape: str, k: int) -> list[bytes]:
    pool = OBJECT_UNITS if shape in LINE_SHAPES else UNITS
    return [r.choice(pool) for _ in range(k)]


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) >= 30
    assert len(UNITS) >= 60
    names = " ".join(s.name for s in CORPUS)
    assert "samples/" in names and "vendor/" in names


# --- batches of known records ---------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_a_batch_is_the_sum_of_its_records(shape: str) -> None:
    r = rng(f"sum:{shape}")
    for _ in range(scaled(60, 3000)):
        units = pick_units(r, shape, r.randint(1, 6))
        data, _spans = assemble(units, shape)
        batch = decode_checked(data, "assembled batch")
        want_records, want_errors = expected(units)
        if batch is None:  # a lone record line that is not JSON: the input as a whole is not JSON
            assert want_records == []
            continue
        assert batch.records == want_records
        assert [e.index for e in batch.errors] == want_errors


def _still_a_value(data: bytes, spans: list[tuple[int, int]], cut: int) -> bool:
    """Whether the unit that ``cut`` falls inside of is, cut there, a JSON value of its own."""
    for start, end in spans:
        if start < cut < end:
            try:
                json.loads(data[start:cut])
            except ValueError:
                return False
            return True
    return False


@pytest.mark.parametrize("shape", SHAPES)
def test_truncation_at_every_byte_offset(shape: str) -> None:
    r = rng(f"truncate:{shape}")
    small = [u for u in (OBJECT_UNITS if shape in LINE_SHAPES else UNITS) if len(u) < 1200]
    for round_ in range(scaled(2, 40)):
        units = [r.choice(small) for _ in range(3)]
        data, spans = assemble(units, shape)
        for cut in range(len(data) + 1):
            complete = [i for i, (_start, end) in enumerate(spans) if end <= cut]
            want_records, want_errors = expected([units[i] for i in complete])
            truncated = data[:cut]
            TRIED["truncation"] += 1
            with time_limit(10, f"decode of {shape} cut at {cut}"):
                try:
                    batch = m365parse.decode(truncated)
                except m365parse.InvalidInput:
                    assert want_records == [], (round_, cut)
                    continue
            assert batch.records == want_records, (round_, cut)
            assert [e.index for e in batch.errors][: len(want_errors)] == want_errors, (round_, cut)
            # the cut is one error more; a unit cut inside that is still a JSON value of its
            # own (a number cut between its digits: "12" as "1") is an item, hence one more
            assert len(batch.errors) <= len(want_errors) + 1 + _still_a_value(data, spans, cut), (round_, cut)
            if cut % 97 == 0:
                for record in batch.records:
                    exercise(record)


@pytest.mark.parametrize("source", CORPUS[:: scaled(6, 1)], ids=lambda s: s.name)
def test_truncation_of_corpus_files(source: Any) -> None:
    whole = decode_checked(source.data, "corpus file")
    step = max(1, len(source.data) // scaled(150, 100_000))
    for cut in range(0, len(source.data) + 1, step):
        batch = decode_checked(source.data[:cut], "truncation (corpus file)")
        if batch is None or whole is None or not batch.records:
            continue
        # every record of the prefix but the last one is a record of the whole
        assert batch.records[:-1] == whole.records[: len(batch.records) - 1], cut


# --- byte-level mutations of the corpus files --------------------------------------------

INTERESTING = [
    b"\x00", b"\xff", b"\xfe", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\r\n", b"\n", b"\r", b'"', b"\\",
    b"{", b"}", b"[", b"]", b",", b":", b"NaN", b"Infinity", b"-Infinity", b"1e400", b"9" * 30, b"\\u0000",
    b"\\ud800", b'"$ref"', b"null", b" ", b"\t",
]  # fmt: skip


def mutate(r: Any, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(r.choice([1, 1, 1, 2, 3, 8])):
        if not buf:
            buf += r.choice(INTERESTING)
            continue
        pos = r.randrange(len(buf))
        op = r.randrange(7)
        if op == 0:
            buf[pos] = r.randrange(256)  # byte flip
        elif op == 1:
            buf[pos] ^= 1 << r.randrange(8)  # bit flip
        elif op == 2:
            buf[pos:pos] = r.choice(INTERESTING)
        elif op == 3:
            del buf[pos : pos + r.randint(1, 64)]
        elif op == 4:
            end = min(len(buf), pos + r.randint(1, 200))
            buf[pos:pos] = buf[pos:end]  # repeat a stretch
        elif op == 5:
            other = r.choice(CORPUS).data
            start = r.randrange(len(other))
            buf[pos:] = other[start:]  # splice another file in
        else:
            buf[pos : pos + 1] = r.choice(INTERESTING)
    return bytes(buf)


def test_random_mutations_of_the_corpus() -> None:
    r = rng("mutations")
    for _ in range(scaled(1500, 200_000)):
        source = r.choice(CORPUS)
        data = mutate(r, source.data)
        decode_checked(data, "byte mutation")
        if r.random() < 0.1:
            decode_checked(data.decode("utf-8", "surrogateescape"), "byte mutation (as str)")


# --- mutations inside one record: boundaries stay intact ------------------------------

_STRING_VALUE = re.compile(rb':\s*"')
_VALUE = re.compile(rb':\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|"(?:[^"\\]|\\.)*")')
_PROPS = re.compile(rb'"properties"\s*:\s*\{')


def _into_string(r: Any, unit: bytes, insert: bytes) -> bytes | None:
    spots = [m.end() for m in _STRING_VALUE.finditer(unit)]
    if not spots:
        return None
    pos = r.choice(spots)
    return unit[:pos] + insert + unit[pos:]


def _replace_value(r: Any, unit: bytes, new: bytes) -> bytes | None:
    spots = list(_VALUE.finditer(unit))
    if not spots:
        return None
    m = r.choice(spots)
    return unit[: m.start(1)] + new + unit[m.end(1) :]


def _set_column(unit: bytes, column: str, raw_value: bytes) -> bytes | None:
    """``unit`` with ``column`` of its row set to the JSON text ``raw_value`` (inserted first)."""
    m = _PROPS.search(unit)
    if m is not None:
        pos = m.end()
    elif unit.startswith(b"{") and b'"category"' not in unit:
        pos = 1  # a SIEM alert: the row is the object itself
    else:
        return None
    rest = unit[pos:].lstrip()
    sep = b"" if rest.startswith(b"}") else b","
    return unit[:pos] + json.dumps(column).encode() + b":" + raw_value + sep + unit[pos:]


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


BOUNDARY_SAFE = {
    "invalid UTF-8 in a string": lambda r, u: _into_string(r, u, r.choice([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"])),
    "NaN or Infinity literal": lambda r, u: _replace_value(r, u, r.choice([b"NaN", b"Infinity", b"-Infinity", b"nan", b"1e400", b"-1e999"])),
    "\\u0000 in a string": lambda r, u: _into_string(r, u, b"\\u0000"),
    "NUL byte in a string": lambda r, u: _into_string(r, u, b"\x00"),
    "raw CR/LF in a string": lambda r, u: _into_string(r, u, r.choice([b"\r\n", b"\n", b"\r"])),
    "a huge integer": lambda r, u: _replace_value(r, u, r.choice([b"9223372036854775808", b"18446744073709551617", b"-1180591620717411303424", b"1" + b"0" * 400, b"9" * 4300, b"9" * 4301])),
    "a control character": lambda r, u: _into_string(r, u, bytes([r.choice([c for c in range(32) if c not in b"\r\n"])])),
    "10,000 levels in AdditionalFields": lambda r, u: _set_column(u, "AdditionalFields", _deep(10_000)),
    "10,000 levels as JSON text": lambda r, u: _set_column(u, "AdditionalFields", json.dumps(_deep(10_000).decode()).encode()),
    "10 MB string": lambda r, u: _set_column(u, r.choice(["FileName", "AdditionalFields", "Zz_New", "ProcessCommandLine"]), b'"' + b"A" * 10_000_000 + b'"'),
    "10 MB of escapes": lambda r, u: _set_column(u, "FileName", b'"' + b"\\u00e9\\n" * 1_000_000 + b'"'),
}  # fmt: skip
EXPENSIVE = {"10 MB string", "10 MB of escapes", "10,000 levels in AdditionalFields", "10,000 levels as JSON text"}


def broken_batches(r: Any, mutation: str, tries: int) -> Iterator[tuple[bytes, str, list[bytes], int]]:
    """``tries`` batches of 1 to 4 units in a random shape, one of them (``target``) broken by
    ``mutation``: ``(data, shape, units, target)``."""
    done = 0
    while done < tries:
        shape = r.choice([s for s in SHAPES if mutation != "raw CR/LF in a string" or s not in LINE_SHAPES])
        units = pick_units(r, shape, r.randint(1, 4))
        target = r.randrange(len(units))
        mutated = BOUNDARY_SAFE[mutation](r, units[target])
        if mutated is None:
            continue
        done += 1
        data, _spans = assemble([*units[:target], mutated, *units[target + 1 :]], shape)
        yield data, shape, units, target


@pytest.mark.parametrize("mutation", sorted(BOUNDARY_SAFE))
def test_a_broken_record_costs_only_itself(mutation: str) -> None:
    r = rng(f"inside:{mutation}")
    tries = scaled(3, 40) if mutation in EXPENSIVE else scaled(40, 3000)
    for data, _shape, units, target in broken_batches(r, mutation, tries):
        batch = decode_checked(data, f"inside a record: {mutation}", seconds=60)
        others = [u for i, u in enumerate(units) if i != target]
        if batch is None:  # lines that are all not JSON
            assert expected(others)[0] == []
            continue
        assert len(batch.records) + len(batch.errors) == len(units), mutation
        # the records around it are the ones they were
        records_before = expected(units[:target])[0]
        records_after = expected(units[target + 1 :])[0]
        assert batch.records[: len(records_before)] == records_before
        if records_after:
            assert batch.records[-len(records_after) :] == records_after


def _last_wins(data: bytes) -> Any:
    def reject(name: str) -> Any:
        raise ValueError(name)

    return json.loads(data, parse_constant=reject)


def _with_duplicate(r: Any, unit: bytes) -> bytes | None:
    """``unit`` with one column of its row sent twice, the other value first or (SIEM alerts) last."""
    try:
        value = _last_wins(unit)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    row = value.get("properties") if "category" in value else value
    if not isinstance(row, dict) or not row:
        return None
    column = r.choice(sorted(row))
    junk = r.choice([b'{"x": 1}', b"12", b'""', b"null", b"true", b'"not a value"', b"[1, 2]", b'"2024-05-14T08:41:56Z"'])
    if "category" not in value and r.random() < 0.5:
        return unit[:-1] + b", " + json.dumps(column).encode() + b": " + junk + b"}"  # the later one wins
    return _set_column(unit, column, junk)  # the earlier one loses


@pytest.mark.parametrize("shape", SHAPES)
def test_duplicate_keys_the_last_one_wins(shape: str) -> None:
    r = rng(f"duplicates:{shape}")
    done = 0
    while done < scaled(40, 3000):
        units = pick_units(r, shape, r.randint(1, 3))
        mutated = [_with_duplicate(r, u) if r.random() < 0.7 else u for u in units]
        if any(m is None for m in mutated):
            continue
        done += 1
        data = assemble(mutated, shape)[0]  # type: ignore[arg-type]
        batch = decode_checked(data, "duplicate keys")
        # the same record as its last-wins value, written without duplicates
        reference = [msgspec.json.encode(_last_wins(m)) for m in mutated]  # type: ignore[arg-type]
        want = m365parse.decode(assemble(reference, shape)[0])
        assert batch is not None
        assert batch.records == want.records
        assert [e.index for e in batch.errors] == [e.index for e in want.errors]


_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[,:\[{]')


def _spaced(m: re.Match[bytes]) -> bytes:
    token = m.group()
    return token if token.startswith(b'"') else token + b"\r\n\t "


@pytest.mark.parametrize("shape", [s for s in SHAPES if s not in LINE_SHAPES])
def test_white_space_anywhere_between_tokens(shape: str) -> None:
    r = rng(f"space:{shape}")
    for _ in range(scaled(40, 3000)):
        units = pick_units(r, shape, r.randint(1, 3))
        spaced = [_TOKENS.sub(_spaced, u) for u in units]
        batch = decode_checked(assemble(spaced, shape)[0], "white space between tokens")
        want_records, want_errors = expected(units)
        assert batch is not None
        assert batch.records == want_records
        assert [e.index for e in batch.errors] == want_errors


@pytest.mark.parametrize("shape", SHAPES)
def test_byte_order_marks(shape: str) -> None:
    r = rng(f"bom:{shape}")
    for _ in range(scaled(20, 1000)):
        units = pick_units(r, shape, r.randint(1, 4))
        data = assemble(units, shape)[0]
        want_records, want_errors = expected(units)
        batch = decode_checked(b"\xef\xbb\xbf" + data, "BOM")
        assert batch is not None and batch.records == want_records
        assert [e.index for e in batch.errors] == want_errors
        if shape in LINE_SHAPES:
            # a BOM in front of every line (blobs concatenated): still one entry per line
            lines = b"\n".join(b"\xef\xbb\xbf" + u for u in units)
            batch = decode_checked(lines, "BOM per line")
            assert batch is not None and batch.records == want_records
            assert [e.index for e in batch.errors] == want_errors
            streamed = _feed(lines, sorted(r.randrange(len(lines)) for _ in range(3)))
            assert streamed.records == want_records


# --- the incremental decoder -------------------------------------------------------------


def _feed(data: bytes, cuts: list[int], **kwargs: Any) -> m365parse.Batch:
    decoder = m365parse.JsonLinesDecoder(**kwargs)
    records: list[m365parse.Record] = []
    errors: list[m365parse.InvalidRecord] = []
    bounds = [0, *cuts, len(data)]
    for start, end in itertools.pairwise(bounds):
        batch = decoder.feed(memoryview(data)[start:end])
        records += batch.records
        errors += batch.errors
    batch = decoder.close()
    return m365parse.Batch(records + batch.records, errors + batch.errors)


@pytest.mark.parametrize("shape", LINE_SHAPES)
def test_json_lines_decoder_any_chunking_any_mutation(shape: str) -> None:
    r = rng(f"lines:{shape}")
    mutations = [m for m in sorted(BOUNDARY_SAFE) if m not in EXPENSIVE and m != "raw CR/LF in a string"]
    for _ in range(scaled(150, 10_000)):
        units = pick_units(r, shape, r.randint(1, 6))
        if r.random() < 0.5:
            target = r.randrange(len(units))
            units[target] = BOUNDARY_SAFE[r.choice(mutations)](r, units[target]) or units[target]
        data = assemble(units, shape)[0]
        if r.random() < 0.2:
            data = b"\xef\xbb\xbf" + data
        if r.random() < 0.2:
            data = data.rstrip(b"\r\n")  # no newline after the last line
        cuts = sorted(r.randrange(len(data) + 1) for _ in range(r.randint(0, 12)))
        TRIED["JsonLinesDecoder chunking"] += 1
        with time_limit(10, "JsonLinesDecoder"):
            streamed = _feed(data, cuts)
        assert len(streamed.records) + len(streamed.errors) == len(units)
        whole = decode_checked(data, "JsonLinesDecoder reference")
        if whole is not None:
            assert streamed.records == whole.records
            assert [e.index for e in streamed.errors] == [e.index for e in whole.errors]
        for record in streamed.records[:2]:
            exercise(record)


def test_json_lines_decoder_random_bytes_and_limits() -> None:
    r = rng("lines:random")
    for _ in range(scaled(300, 30_000)):
        data = mutate(r, r.choice(CORPUS).data)
        cuts = sorted(r.randrange(len(data) + 1) for _ in range(r.randint(0, 8)))
        limit = r.choice([1, 10, 100, 1000, 64 * 1024 * 1024])
        TRIED["JsonLinesDecoder mutation"] += 1
        with time_limit(10, "JsonLinesDecoder"):
            batch = _feed(data, cuts, max_record_bytes=limit)
        for error in batch.errors:
            assert isinstance(error, m365parse.InvalidRecord)
            if "max_record_bytes" in error.reason:
                assert len(error.raw) == limit
        for record in batch.records:
            exercise(record)
        # the same fed whole: the outcome does not depend on the chunking, as long as
        # the input is JSON lines (a value spread over lines decodes only when it
        # arrives within one chunk, the way decode() reads a pretty-printed record)
        lines = [line.strip() for line in data.removeprefix(b"\xef\xbb\xbf").split(b"\n") if line.strip()]
        if all(line.startswith(b"{") and line.endswith(b"}") for line in lines):
            whole = _feed(data, [], max_record_bytes=limit)
            assert len(whole.errors) == len(batch.errors)
            assert whole.records == batch.records
