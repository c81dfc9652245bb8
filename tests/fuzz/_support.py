"""What the hostile-input tests share: the run profile, the corpus, the checks.

The default run is sized to finish in seconds; ``M365PARSE_FUZZ_LONG=1`` turns
every count up for long runs (and ``M365PARSE_FUZZ_SEED`` picks the random seed of
the mutation fuzzers, fixed by default so that a failure reproduces).
``M365PARSE_FUZZ_STATS=1`` prints how many inputs each kind of test tried.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, settings

import m365parse
from m365parse._json import encode as encode_json
from m365parse.tables import DOCUMENTED_TYPES

from ..conftest import vendor_samples

LONG = os.environ.get("M365PARSE_FUZZ_LONG") == "1"
SEED = int(os.environ.get("M365PARSE_FUZZ_SEED") or (random.randrange(2**32) if LONG else 0))

#: Inputs tried per kind in this run, printed by conftest.py when asked.
TRIED: Counter[str] = Counter()

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
SAMPLES = ROOT / "m365parse" / "samples"


def scaled(default: int, long: int) -> int:
    return long if LONG else default


def examples(default: int, long: int | None = None) -> settings:
    """Hypothesis settings: few examples by default, many in the long profile.

    No deadline (a loaded 2-core CI machine is slow now and then); derandomized
    on CI so that a red run reproduces, random elsewhere so that runs explore.
    """
    return settings(
        max_examples=scaled(default, long if long is not None else default * 50),
        deadline=None,
        derandomize=bool(os.environ.get("CI")) and not LONG,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def rng(name: str) -> random.Random:
    """A random generator per test, from the run's seed."""
    return random.Random(f"{SEED}:{name}")


# --- time limit ------------------------------------------------------------------


class Hang(AssertionError):
    pass


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Fail (rather than hang the suite) when the body runs longer than ``seconds``."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum: int, frame: Any) -> None:
        raise Hang(f"{what} took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- the corpus ----------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    name: str
    data: bytes


def corpus() -> list[Source]:
    """Every golden input, every built-in sample, and the vendor guide's samples."""
    out = [Source(f"golden/{p.parent.name}/{p.name}", p.read_bytes()) for p in sorted(GOLDEN.glob("*/*.input.*"))]
    out += [Source(f"samples/{p.relative_to(SAMPLES)}", p.read_bytes()) for p in sorted(SAMPLES.glob("**/*.json"))]
    out += [Source(f"vendor/{i}", data) for i, data in enumerate(vendor_samples())]
    return out


_RAW_BODY = msgspec.json.Decoder(dict[str, list[msgspec.Raw]])
_RAW_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])
_RAW_VALUE = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ANY = msgspec.json.Decoder()


def units_of(data: bytes) -> list[bytes]:
    """The records of a corpus input, each as its own bytes, when they are valid JSON."""
    data = data.removeprefix(b"\xef\xbb\xbf").strip()
    raws: list[Any]
    try:
        if data.startswith(b"["):
            raws = _RAW_ARRAY.decode(data)
        elif data.startswith(b'{"records"') or data.startswith(b'{\n  "records"'):
            raws = _RAW_BODY.decode(data)["records"]
        else:
            whole = _ANY.decode(data)
            raws = [data]
            if isinstance(whole, dict) and ("Results" in whole or "results" in whole or "Schema" in whole):
                raws = []  # an advanced hunting response: its rows are no records without its schema
            elif isinstance(whole, dict) and isinstance(whole.get("value"), list):
                raws = _RAW_ARRAY.decode(_RAW_VALUE.decode(data)["value"])  # an OData page: its items are the records
    except (msgspec.DecodeError, KeyError):
        raws = [line for line in data.splitlines() if line.strip()]
    out = []
    for raw in raws:
        unit = bytes(raw).strip()
        try:
            _ANY.decode(unit)
        except (msgspec.DecodeError, RecursionError):
            continue  # a deliberately broken golden line: boundaries unknown
        out.append(re.sub(rb"[\r\n]+", b" ", unit))  # one line, whatever the shape
    return out


def all_units() -> list[bytes]:
    seen: dict[bytes, None] = {}
    for source in corpus():
        for unit in units_of(source.data):
            seen.setdefault(unit, None)
    return list(seen)


SHAPES = ("body", "array", "lines", "crlf-lines", "pretty-body")


def assemble(units: list[bytes], shape: str) -> tuple[bytes, list[tuple[int, int]]]:
    """A batch of ``units`` in ``shape``, and the byte span of every unit in it."""
    if shape == "body":
        head, sep, tail = b'{"records": [', b", ", b"]}"
    elif shape == "pretty-body":
        head, sep, tail = b'{\r\n  "records": [\r\n    ', b",\r\n    ", b"\r\n  ]\r\n}\r\n"
    elif shape == "array":
        head, sep, tail = b"[", b",", b"]"
    elif shape == "page":  # an OData page of the polled APIs (its items may be of any kind)
        head, sep, tail = b'{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2", "value": [', b", ", b'], "@odata.nextLink": "https://next"}'
    elif shape == "lines":
        head, sep, tail = b"", b"\n", b"\n"
    elif shape == "crlf-lines":
        head, sep, tail = b"", b"\r\n\r\n", b"\r\n"
    else:
        raise ValueError(shape)
    spans = []
    parts = [head]
    pos = len(head)
    for i, unit in enumerate(units):
        if i:
            parts.append(sep)
            pos += len(sep)
        parts.append(unit)
        spans.append((pos, pos + len(unit)))
        pos += len(unit)
    parts.append(tail)
    return b"".join(parts), spans


# --- checks --------------------------------------------------------------------------

JSON_COLUMNS = ("AdditionalFields", "AttackTechniques", "LoggedOnUsers", "IPAddresses", "RawEventData")


_PAIR = re.compile(rb"\\ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}")


def exercise(record: m365parse.Record) -> None:
    """Use a decoded record the ways a user does; only M365ParseError may come out."""
    assert isinstance(record, m365parse.Record)
    repr(record)
    out = record.to_dict()
    text = encode_json(out, enc_hook=str)  # lone surrogates included: never a crash
    # valid UTF-8 JSON that reads back (a high surrogate escape before a low one
    # reads back as the character the pair makes: JSON cannot tell them apart)
    assert encode_json(json.loads(text.decode("utf-8"))) == text or _PAIR.search(text)
    assert record == record
    props = record.properties
    columns = DOCUMENTED_TYPES.get(record.table, {})
    for column in ("time", "_TimeReceivedBySvc", *(c for c, kind in columns.items() if kind == "datetime")):
        try:
            ns = m365parse.timestamp_ns(record, column)
        except m365parse.M365ParseError:
            continue
        value = getattr(record, column) if column in ("time", "_TimeReceivedBySvc") else getattr(props, column, None)
        if isinstance(value, datetime) and ns is not None:
            # exact, and the same instant as the decoded datetime
            assert abs(ns - (value - EPOCH) // timedelta(microseconds=1) * 1000) <= 500, (column, ns, value)
    for column in JSON_COLUMNS:
        with contextlib.suppress(m365parse.M365ParseError):
            m365parse.expand(record, column)
    if hasattr(m365parse, "normalize"):
        for name in m365parse.registry:
            with contextlib.suppress(m365parse.M365ParseError):
                m365parse.normalize(record, name)


def decode_checked(data: Any, what: str, seconds: float = 20.0) -> m365parse.Batch | None:
    """decode() under a time limit; None when it raised InvalidInput (the only exception allowed)."""
    TRIED[what] += 1
    with time_limit(seconds, f"decode() of {what}"):
        try:
            batch = m365parse.decode(data)
        except m365parse.InvalidInput as exc:
            assert isinstance(exc, m365parse.M365ParseError)
            return None
    assert isinstance(batch, m365parse.Batch)
    for error in batch.errors:
        assert isinstance(error, m365parse.InvalidRecord)
        assert isinstance(error.raw, bytes) and error.reason
    indexes = [e.index for e in batch.errors]
    assert indexes == sorted(indexes), indexes
    with time_limit(seconds, f"using the records of {what}"):
        for record in batch.records:
            exercise(record)
    return batch
