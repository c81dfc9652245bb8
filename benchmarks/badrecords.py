"""A batch with records the one-pass decode rejects, against the same batch clean.

Section "Bad records" of ``python -m benchmarks`` (issue 11): the suite's
generated Event Hubs bodies (``body``, one body of ``--batch-size`` records per
unit) and JSON lines (``lines``), clean, and with one record per unit (or 1% of
the records) of each kind real data sends (FIELD-NOTES): an envelope ``time``
without a zone (read as UTC; the one-pass decode accepts it), a column its table
does not declare (new columns appear in production all the time; kept in
``extra``), and ``""`` in an integer column (ports seen so; read as None).  The
one-pass decode rejects the last two: it keeps the records it completed before
the one it failed at, that record is decoded on its own, and the one pass
resumes after it.  One more variant, without target, is a column Defender added
to a table: every DeviceNetworkEvents record (a quarter of the records) has it.
The decoder learns such a column (``m365parse.shapes.stream._Learned``) once it
saw a table's records have it often enough, and then takes it in the one pass;
the timed passes follow an untimed one, so they measure what it costs once
learned.  Each variant runs in its own process (``python -m
benchmarks.badrecords <file> <repeat>``), the rounds interleaved; the best of
each counts.

Targets: one such record costs at most 1.2x the clean batch, 1% at most 1.5x.
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

#: variant -> (the kind of bad record, bad records: one per unit (-1) or every n-th; the bound of its ratio to "clean")
VARIANTS: dict[str, tuple[str, int, float | None]] = {
    "clean": ("", 0, None),
    "one zone-less time": ("zone-less time", -1, 1.2),
    "1% zone-less time": ("zone-less time", 100, 1.5),
    "one new column": ("new column", -1, 1.2),
    "1% new column": ("new column", 100, 1.5),
    'one "" port': ('"" port', -1, 1.2),
    '1% "" port': ('"" port', 100, 1.5),
    # Defender adding a column to a table: all its records have it (the decoder learns it, no target)
    "new column in every DeviceNetworkEvents record": ("table column", 1, None),
}
SHAPES = ("body", "lines")

#: The integer columns a `""` goes in (ports first), the first one a record has.
_INT_COLUMNS = ("RemotePort", "LocalPort", "DestinationPort", "Port", "ProcessId", "InitiatingProcessId")


def _spoil(record: dict[str, Any], kind: str) -> bool:
    """Make ``record`` a bad one of ``kind``; False when it cannot be (no integer column)."""
    props = record["properties"]
    if kind == "new column":
        props["SomeNewColumn"] = "x"  # kept in extra
    elif kind == "table column":
        if record["category"] != "AdvancedHunting-DeviceNetworkEvents":
            return False
        props["SomeNewColumn"] = "x"
    elif kind == '"" port':
        column = next((c for c in _INT_COLUMNS if c in props), None)
        if column is None:
            return False
        props[column] = ""
    else:
        record["time"] = record["time"].rstrip("Z")
    return True


def _spoil_from(recs: list[dict[str, Any]], at: int, kind: str) -> None:
    """Spoil the first record from ``at`` on that can be."""
    for i in range(at, len(recs)):
        if _spoil(recs[i], kind):
            return


def make_units(shape: str, variant: str, records: int, batch_size: int, seed: int = 1) -> list[bytes]:
    """The units of ``shape``, with the bad records of ``variant``."""
    kind, every, _ = VARIANTS[variant]
    units = []
    for unit in encode_units("body", records, batch_size, seed):
        recs = json.loads(unit)["records"]
        if every < 0:
            _spoil_from(recs, len(recs) // 2, kind)
        elif every > 0:
            for i in range(every // 2, len(recs), every):
                _spoil_from(recs, i, kind)
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
        for variant, (_, _, bound) in VARIANTS.items():
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
        f"{section['rounds']} interleaved processes each); bad records: an envelope `time` without a zone "
        "(the one-pass decode accepts it), a column the table does not declare, `\"\"` in an integer column "
        "(the one-pass decode rejects these two: it keeps the records before the one it failed at and "
        "resumes after it)."
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
                        "target": f"a batch with {variant} record(s) within {r['bound']}x of clean",
                        "shape": shape,
                        "result": r["result"],
                        "measured": r["ratio"],
                        "note": f"{r['ratio']:.2f}x (needs <= {r['bound']}x)",
                    }
                )
    return rows


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], int(sys.argv[2]))))
