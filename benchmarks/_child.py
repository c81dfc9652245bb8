"""One measurement, in a process of its own; prints one JSON object on standard output.

    python -m benchmarks._child '{"mode": "variant", ...}'

Modes:

- ``variant``: one variant over the units of one data file.  Untimed: the
  variant's set-up, then one pass that checks every record comes out (and warms
  up).  Timed, ``repeat`` times after a ``gc.collect()``: one pass over all units,
  each result dropped when the next unit's result arrives and the last one
  dropped before the timer stops, so every variant pays for freeing what it
  built.  Then, untimed, the resident memory that all results take when kept.
- ``scale``: ``m365parse.decode`` (or the ceiling) of one input of ``size``
  JSON lines generated here, in one call; for decode also with the cyclic GC
  disabled during the call, and the same lines in units of ``batch_size``.
- ``stream``: ``m365parse.JsonLinesDecoder`` fed ``bytes`` of JSON lines generated
  on the fly (never held whole, never written to disk); reports the peak RSS.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from .data import Generator, encode_units, split_units
from .machine import peak_rss_bytes, reset_peak, rss_bytes
from .variants import CHUNK_BYTES, VARIANTS, Unavailable


def prepared(
    variant_name: str, shape: str, data: Path, batch_size: int, chunk_bytes: int = CHUNK_BYTES
) -> tuple[Callable[[bytes], Any], Callable[[Any], int], list[bytes]]:
    """``(run, count, units)``: a variant made for the units of a data file, and the units it runs
    on (``incremental``: the whole input, fed in chunks).  Raises ``Unavailable`` as the
    variant's set-up does."""
    units = split_units(shape, data.read_bytes(), batch_size)
    run, count = VARIANTS[variant_name].setup(shape, {"chunk_bytes": chunk_bytes, "sample": units[0]})
    if variant_name == "incremental":
        units = [b"".join(units)]  # the whole input, fed in chunks
    return run, count, units


def run_variant(opts: dict[str, Any]) -> dict[str, Any]:
    shape = opts["shape"]
    variant = VARIANTS[opts["variant"]]
    try:
        run, count, units = prepared(variant.name, shape, Path(opts["data"]), opts["batch_size"], opts["chunk_bytes"])
    except Unavailable as exc:
        return {"status": exc.status, "reason": str(exc)}
    nbytes = sum(map(len, units))

    produced = 0
    for unit in units:  # check and warm up, untimed
        produced += count(run(unit))
    if produced != opts["records"]:
        return {"status": "error", "reason": f"produced {produced} records, expected {opts['records']}"}

    gc.collect()
    rss_before = rss_bytes()
    exact_peak = reset_peak()
    times = []
    for _ in range(opts["repeat"]):
        gc.collect()
        start = time.perf_counter()
        for unit in units:
            result = run(unit)
        result = None
        times.append(time.perf_counter() - start)
    del result
    peak = peak_rss_bytes()

    held_per_record = None
    if variant.name != "incremental":
        gc.collect()
        before = rss_bytes()
        held = [run(unit) for unit in units]
        after = rss_bytes()
        if before is not None and after is not None:
            held_per_record = (after - before) / produced
        del held
    return {
        "status": "ok",
        "records": produced,
        "bytes": nbytes,
        "units": len(units),
        "times": times,
        "rss_before": rss_before,
        "peak_rss": peak,
        "peak_is_phase": exact_peak,
        "held_bytes_per_record": held_per_record,
    }


def _best_pass(fn: Any, data: bytes, repeat: int, gc_off: bool = False) -> tuple[float, float, int]:
    """Best (decode seconds, free seconds) over ``repeat`` calls of ``fn(data)``, and the record count."""
    best = (float("inf"), 0.0)
    produced = 0
    for _ in range(repeat):
        gc.collect()
        if gc_off:
            gc.disable()
        try:
            start = time.perf_counter()
            result = fn(data)
            decoded = time.perf_counter()
            produced = len(result.records) if hasattr(result, "records") else len(result)
            counted = time.perf_counter()
            result = None
            freed = time.perf_counter()
        finally:
            gc.enable()
        if decoded - start + freed - counted < sum(best):
            best = (decoded - start, freed - counted)
    return best[0], best[1], produced


def run_scale(opts: dict[str, Any]) -> dict[str, Any]:
    """One input of ``size`` JSON lines, decoded in one call (and, for decode, in units too)."""
    import m365parse

    size, repeat = opts["size"], opts["repeat"]
    (data,) = encode_units("lines", size, size, opts["seed"])
    if opts["variant"] == "ceiling":
        run, _ = VARIANTS["ceiling"].setup("lines", {})
    else:
        run = m365parse.decode
    gc.collect()
    rss_before = rss_bytes()
    reset_peak()
    decode_s, free_s, produced = _best_pass(run, data, repeat)
    peak = peak_rss_bytes()
    if produced != size:
        return {"status": "error", "reason": f"{produced} records, expected {size}"}
    result: dict[str, Any] = {
        "status": "ok",
        "records": size,
        "bytes": len(data),
        "seconds": decode_s + free_s,
        "decode_seconds": decode_s,
        "free_seconds": free_s,
        "rss_before": rss_before,
        "peak_rss": peak,
    }
    if opts["variant"] == "decode":
        no_gc = _best_pass(run, data, repeat, gc_off=True)
        result["no_gc_seconds"] = no_gc[0] + no_gc[1]
        units = split_units("lines", data, opts["batch_size"])
        best = float("inf")
        for _ in range(repeat):
            gc.collect()
            start = time.perf_counter()
            for unit in units:
                batch = run(unit)
            batch = None
            best = min(best, time.perf_counter() - start)
        del batch
        result["units_seconds"] = best
    return result


def _stream_chunks(pool: bytes, total: int, chunk: int) -> Iterator[bytes]:
    """``total`` bytes of ``pool`` (JSON lines) repeated, in chunks; the last one ends a line."""
    while len(pool) < chunk:
        pool += pool
    ring = pool + pool
    pos = sent = 0
    while sent < total:
        end = pos + min(chunk, total - sent)
        if sent + end - pos >= total:
            end = ring.index(b"\n", end - 1) + 1
        piece = ring[pos:end]
        sent += len(piece)
        pos = end % len(pool)
        yield piece


def run_stream(opts: dict[str, Any]) -> dict[str, Any]:
    import m365parse

    gen = Generator(opts["seed"])
    encode = msgspec.json.encode
    pool = b"".join(encode(gen.record()) + b"\n" for _ in range(opts["pool"]))
    del gen
    gc.collect()
    rss_before = rss_bytes()
    reset_peak()
    decoder = m365parse.JsonLinesDecoder()
    produced = errors = sent = 0
    start = time.perf_counter()
    for piece in _stream_chunks(pool, opts["bytes"], opts["chunk_bytes"]):
        sent += len(piece)
        batch = decoder.feed(piece)
        produced += len(batch.records)
        errors += len(batch.errors)
        batch = None
    batch = decoder.close()
    produced += len(batch.records)
    errors += len(batch.errors)
    batch = None
    seconds = time.perf_counter() - start
    return {
        "status": "ok" if not errors else "error",
        "reason": f"{errors} errors" if errors else None,
        "records": produced,
        "bytes": sent,
        "times": [seconds],
        "rss_before": rss_before,
        "peak_rss": peak_rss_bytes(),
        "chunk_bytes": opts["chunk_bytes"],
    }


MODES = {"variant": run_variant, "scale": run_scale, "stream": run_stream}


def main(argv: list[str]) -> int:
    opts = json.loads(argv[0])
    result = MODES[opts["mode"]](opts)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
