"""The 30 streamed tables in one batch: decode() against a bare msgspec union decode.

Section "All streamed tables" of ``python -m benchmarks`` (issue 9): a batch of
Event Hubs bodies whose records rotate over every table of
:data:`m365parse.tables.STREAMED` (the 21 the Streaming API documents and the 9
seen streamed in the wild), built from ``m365parse/samples/`` with the
timestamps, report ids and device names of each record changed.  Each variant
runs in its own process (``python -m benchmarks.tables30 <variant> <file>
<repeat>``) on the same bytes:

- ``decode``: :func:`m365parse.decode` of each body;
- ``ceiling``: one ``msgspec.json.Decoder`` of ``{"records": [union]}`` over
  the same 30 record structs, nothing else (no fallback, no origins).

The target: decode within 1.2x of the ceiling.  The import time of the package
is the suite's "Import time" section.
"""

from __future__ import annotations

import gc
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Union

import msgspec

SAMPLES = Path(__file__).resolve().parent.parent / "m365parse" / "samples"
BOUND = 1.2


def make_bodies(records: int, batch_size: int, seed: int = 1) -> bytes:
    """``records`` records rotating over the 30 streamed tables, as JSON lines of bodies."""
    from m365parse.tables import STREAMED

    rng = random.Random(seed)
    templates = {t: json.loads((SAMPLES / f"{t}.json").read_text("utf-8"))["records"] for t in STREAMED}
    out: list[dict[str, Any]] = []
    for n in range(records):
        table = STREAMED[n % len(STREAMED)]
        rec = json.loads(json.dumps(rng.choice(templates[table])))
        props = rec["properties"]
        stamp = f"2026-06-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{rng.randrange(60):02d}.{rng.randrange(10**7):07d}Z"
        rec["time"] = stamp
        if "Timestamp" in props:
            props["Timestamp"] = stamp
        if isinstance(props.get("ReportId"), int):
            props["ReportId"] = 40_000 + n
        if isinstance(props.get("DeviceName"), str):
            props["DeviceName"] = f"host-{rng.randrange(5000):04d}.corp.contoso.com"
        out.append(rec)
    lines = [json.dumps({"records": out[i : i + batch_size]}) for i in range(0, len(out), batch_size)]
    return ("\n".join(lines) + "\n").encode()


def _setup(variant: str) -> Any:
    if variant == "decode":
        import m365parse

        return lambda body: len(m365parse.decode(body).records)
    from m365parse.tables import RECORD_TYPES, STREAMED

    union = Union[tuple(RECORD_TYPES[t] for t in STREAMED)]  # noqa: UP007
    body_type = msgspec.defstruct("Body30", [("records", list[union])])  # type: ignore[valid-type]
    decoder = msgspec.json.Decoder(body_type, strict=False)
    return lambda body: len(decoder.decode(body).records)


def child(variant: str, path: str, repeat: int) -> dict[str, Any]:
    """Time ``variant`` over the bodies in ``path``: best of ``repeat`` passes, µs per record."""
    bodies = Path(path).read_bytes().splitlines()
    run = _setup(variant)
    count = sum(run(b) for b in bodies)  # checks every record comes out, and warms up
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for b in bodies:
            run(b)
        best = min(best, time.perf_counter() - start)
    return {"variant": variant, "records": count, "us_per_record": best / count * 1e6}


def measure(
    records: int, batch_size: int, repeat: int, workdir: Path, env: dict[str, str], rounds: int = 3
) -> dict[str, Any]:
    """Both variants, each in its own processes; the ratio and whether the 1.2x target holds."""
    path = workdir / "tables30.jsonl"
    path.write_bytes(make_bodies(records, batch_size))
    result: dict[str, Any] = {"records": records, "tables": 30, "bound": BOUND, "rounds": rounds}
    for _ in range(rounds):  # interleaved, the best of each counts: load on the machine hits both alike
        for variant in ("decode", "ceiling"):
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.tables30", variant, str(path), str(repeat)],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if proc.returncode != 0:
                return {"status": "error", "reason": f"{variant}: {proc.stderr.strip().splitlines()[-1:]}"}
            got = json.loads(proc.stdout)
            if variant not in result or got["us_per_record"] < result[variant]["us_per_record"]:
                result[variant] = got
    if result["decode"]["records"] != records or result["ceiling"]["records"] != records:
        return {"status": "error", "reason": "a variant lost records"}
    ratio = result["decode"]["us_per_record"] / result["ceiling"]["us_per_record"]
    result.update(status="ok", ratio=ratio, result="PASS" if ratio <= BOUND else "MISS")
    return result


def report(section: dict[str, Any] | None) -> list[str]:
    """Markdown lines of the section."""
    if not section:
        return []
    out = ["## All streamed tables (30) in one batch", ""]
    if section["status"] != "ok":
        return [*out, f"{section['status']}: {section.get('reason')}", ""]
    d, c = section["decode"], section["ceiling"]
    out.append(
        f"{section['records']:,} records rotating over the 30 streamed tables (best of {section['rounds']} "
        f"interleaved processes each): decode {d['us_per_record']:.2f} µs/record, "
        f"bare msgspec union decode of the same structs {c['us_per_record']:.2f} µs/record: "
        f"**{section['ratio']:.2f}x** (target <= {BOUND}x: {section['result']})."
    )
    return [*out, ""]


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
