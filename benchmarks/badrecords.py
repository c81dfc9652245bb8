"""A batch with records the one-pass decode rejects, against the same batch clean.

Section "Bad records" of ``python -m benchmarks`` (issue 11): the suite's
generated Event Hubs bodies (``body``, one body of ``--batch-size`` records per
unit) and JSON lines (``lines``), clean, with one record per unit whose ``time``
has no zone (read as UTC; the one-pass decode accepts it since issue 11, before
it sent the batch to the fallback), and with 1% of such records; and, without a
target, the same with a record that has a column its table does not declare
(which the one-pass decode rejects: the fallback resumes the fast path after it).
Each variant runs in its own process (``python -m benchmarks.badrecords <file>
<repeat>``), the rounds interleaved; the best of each counts.

Targets: one zone-less record costs at most 1.2x the clean batch, 1% at most 1.5x.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .data import encode_units

#: variant -> (bad records: one per unit, or every n-th; the bound of its ratio to "clean")
VARIANTS: dict[str, tuple[int, float | None]] = {
    "clean": (0, None),
    "one bad": (-1, 1.2),
    "1% bad": (100, 1.5),
    "one new column": (-1, None),
    "1% new column": (100, None),
}
SHAPES = ("body", "lines")


def _spoil(record: dict[str, Any], variant: str) -> None:
    if variant.endswith("new column"):
        record["properties"]["SomeNewColumn"] = "x"  # kept in extra, by the per-record path
    else:
        record["time"] = record["time"].rstrip("Z")


def make_units(shape: str, variant: str, records: int, batch_size: int, seed: int = 1) -> list[bytes]:
    """The units of ``shape``, with the bad records of ``variant``."""
    every = VARIANTS[variant][0]
    units = []
    for unit in encode_units("body", records, batch_size, seed):
        recs = json.loads(unit)["records"]
        if every < 0:
            _spoil(recs[len(recs) // 2], variant)
        elif every > 0:
            for i in range(every // 2, len(recs), every):
                _spoil(recs[i], variant)
        if shape == "body":
            units.append(json.dumps({"records": recs}).encode())
        else:
            units.append(b"".join(json.dumps(r).encode() + b"\n" for r in recs))
    return units


def child(path: str, repeat: int) -> dict[str, Any]:
    """Time ``m365parse.decode`` over the units in ``path`` (one per line, JSON-encoded): µs per record."""
    import m365parse

    units = [json.loads(line).encode() for line in Path(path).read_text("utf-8").splitlines()]
    count = 0
    for unit in units:  # checks every record comes out, and warms up
        batch = m365parse.decode(unit)
        if batch.errors:
            raise RuntimeError(f"errors: {batch.errors[0]}")
        count += len(batch.records)
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        for unit in units:
            m365parse.decode(unit)
        best = min(best, time.perf_counter() - start)
    return {"records": count, "us_per_record": best / count * 1e6}


def measure(
    records: int, batch_size: int, repeat: int, workdir: Path, env: dict[str, str], rounds: int = 3
) -> dict[str, Any]:
    """Every variant of every shape, in its own processes; the ratios to the clean batch."""
    result: dict[str, Any] = {"records": records, "batch_size": batch_size, "rounds": rounds, "shapes": {}}
    for shape in SHAPES:
        paths = {}
        for variant in VARIANTS:
            paths[variant] = workdir / f"bad-{shape}-{variant.replace(' ', '').replace('%', 'pct')}.jsonl"
            units = make_units(shape, variant, records, batch_size)
            paths[variant].write_text("".join(json.dumps(u.decode()) + "\n" for u in units), "utf-8")
        best: dict[str, dict[str, Any]] = {}
        for _ in range(rounds):  # interleaved: load on the machine hits every variant alike
            for variant, path in paths.items():
                proc = subprocess.run(
                    [sys.executable, "-m", "benchmarks.badrecords", str(path), str(repeat)],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=False,
                )
                if proc.returncode != 0:
                    return {"status": "error", "reason": f"{shape}/{variant}: {proc.stderr.strip().splitlines()[-1:]}"}
                got = json.loads(proc.stdout)
                if variant not in best or got["us_per_record"] < best[variant]["us_per_record"]:
                    best[variant] = got
        clean = best["clean"]["us_per_record"]
        for variant, (_, bound) in VARIANTS.items():
            ratio = best[variant]["us_per_record"] / clean
            best[variant]["ratio"] = ratio
            if bound is not None:
                best[variant].update(bound=bound, result="PASS" if ratio <= bound else "MISS")
        result["shapes"][shape] = best
    result["status"] = "ok"
    return result


def report(section: dict[str, Any] | None) -> list[str]:
    """Markdown lines of the section."""
    if not section:
        return []
    out = ["## Bad records: a batch with records the one-pass decode rejects", ""]
    if section["status"] != "ok":
        return [*out, f"{section['status']}: {section.get('reason')}", ""]
    out.append(
        f"{section['records']:,} records per variant in units of {section['batch_size']} (best of "
        f"{section['rounds']} interleaved processes each); a bad record: `time` without a zone "
        "(the one-pass decode accepts it); a new column: one the table does not declare (the one-pass "
        "decode rejects it, the fast path resumes after it)."
    )
    out += ["", "| shape | variant | µs/record | vs clean | target |", "|---|---|---|---|---|"]
    for shape, variants in section["shapes"].items():
        for variant, r in variants.items():
            target = f"<= {r['bound']}x: {r['result']}" if "bound" in r else ""
            out.append(f"| {shape} | {variant} | {r['us_per_record']:.2f} | {r['ratio']:.2f}x | {target} |")
    return [*out, ""]


def targets(section: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The section's rows of the suite's targets table."""
    rows: list[dict[str, Any]] = []
    if not section or section.get("status") != "ok":
        return rows
    for shape, variants in section["shapes"].items():
        for variant, r in variants.items():
            if "bound" in r:
                rows.append(
                    {
                        "target": f"a batch with {variant.replace(' bad', '')} bad record(s) within {r['bound']}x of clean",
                        "shape": shape,
                        "result": r["result"],
                        "measured": r["ratio"],
                        "note": f"{r['ratio']:.2f}x (needs <= {r['bound']}x)",
                    }
                )
    return rows


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], int(sys.argv[2]))))
