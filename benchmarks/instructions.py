"""Instructions and first-level data-cache misses per record, counted by valgrind's cachegrind.

``python -m benchmarks.instructions``: for each shape, the instructions the CPU
runs (``Ir``) and the first-level data-cache misses of cachegrind's simulated
cache (``D1``, reads and writes) per record of ``decode()`` and of the ceiling,
with the collector on and off (or any variants of the suite), and their ratios
to both ceilings.  Unlike the
suite's times, these counts are the same from one run to the next, whatever
else the machine runs: a target at its bound, where a few percent of timing
noise decides, can be judged by them.  They are not times: a miss costs many
instructions' time, and the CPU runs several instructions at once, so the time
ratio lies near the instruction ratio, above it when the misses grow more.

Each count runs in a process of its own under ``valgrind --tool=cachegrind``,
with ``PYTHONHASHSEED=0`` (string hashes, hence the probing of dicts, fixed).
Each process makes the variant (as the suite's processes do) and runs one
untimed pass over the units; what that costs is subtracted by running it twice,
once with no more passes and once with ``--passes`` passes, each result dropped
when the next unit's arrives.  ``--functions N`` lists the N functions whose
instructions per record differ most between the first variant that is no
ceiling and the ceiling with the collector off (else the ceiling): the C
functions of Python and msgspec (Python code is all in the interpreter's
``_PyEval_EvalFrameDefault``).

Needs valgrind (``apt install valgrind``); about 20 s a process at the default sizes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from .data import encode_units, join_units

SHAPES = ("body", "lines", "siem", "graph", "hunting", "hunting-table", "hunting-narrow")
VARIANTS = ("decode", "ceiling", "ceiling-gc-off")
#: What the ratios are to: the ceiling, and the ceiling with the collector off (as decode() runs).
REFERENCES = ("ceiling", "ceiling-gc-off")
ROOT = Path(__file__).resolve().parent.parent


def child(variant: str, shape: str, data: Path, batch_size: int, passes: int) -> int:
    """One untimed pass of ``variant`` over the units in ``data``, then ``passes`` more: what
    a process under cachegrind runs.  Returns the records of one pass."""
    from ._child import prepared

    run, count, units = prepared(variant, shape, data, batch_size)
    records = sum(count(run(unit)) for unit in units)
    gc.collect()
    for _ in range(passes):
        for unit in units:
            result = run(unit)
        del result  # the last unit's result freed in the pass too
    return records


class Counts(NamedTuple):
    """What cachegrind counted in one process: totals, and instructions and D1 misses per function."""

    ir: int
    d1: int
    functions: dict[str, tuple[int, int]]


def parse(text: str) -> Counts:
    """A cachegrind output file (``--cache-sim=yes``: events ``Ir ... D1mr ... D1mw ...``)."""
    events: list[str] = []
    per: Counter[str] = Counter()
    misses: Counter[str] = Counter()
    where = fn = ""
    summary: list[int] | None = None
    ir = mr = mw = 0
    for line in text.splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
            if not {"Ir", "D1mr", "D1mw"} <= set(events):
                raise ValueError(f"not a cachegrind output of --cache-sim=yes: events {' '.join(events)}")
            ir, mr, mw = events.index("Ir"), events.index("D1mr"), events.index("D1mw")
        elif line.startswith("fl="):
            where = line[3:]
        elif line.startswith("fn="):
            fn = f"{where}:{line[3:]}"
        elif line.startswith("summary:"):
            summary = [int(v) for v in line.split()[1:]]
        elif line[:1].isdigit():
            values = [int(v) for v in line.split()[1:]]  # (trailing zeros may be left out)
            values += [0] * (len(events) - len(values))
            per[fn] += values[ir]
            misses[fn] += values[mr] + values[mw]
    if summary is None or not events:
        raise ValueError("not a cachegrind output: no events or no summary")
    totals = dict(zip(events, summary, strict=True))
    return Counts(totals["Ir"], totals["D1mr"] + totals["D1mw"], {k: (per[k], misses[k]) for k in per})


def count(variant: str, shape: str, data: Path, batch_size: int, passes: int, out: Path) -> tuple[Counts, int]:
    """Counts of a process of ``variant`` under cachegrind, and the records of one pass."""
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", f"--cachegrind-out-file={out}", sys.executable]
    cmd += ["-m", "benchmarks.instructions", "--child", variant, shape, str(data), str(batch_size), str(passes)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} on {shape} under cachegrind failed:\n{proc.stderr[-2000:]}")
    return parse(out.read_text(encoding="utf-8", errors="replace")), int(proc.stdout.split()[-1])


def measure(
    shape: str, variants: Sequence[str], records: int, batch_size: int, passes: int, tmp: Path
) -> dict[str, Any]:
    """Per variant: instructions and D1 misses per record, and per function (for ``--functions``)."""
    data = tmp / f"{shape}.data"
    data.write_bytes(join_units(shape, list(encode_units(shape, records, batch_size))))
    out: dict[str, Any] = {"shape": shape, "records": records, "variants": {}}
    for variant in variants:
        base, n0 = count(variant, shape, data, batch_size, 0, tmp / "cg0")
        full, n1 = count(variant, shape, data, batch_size, passes, tmp / "cg1")
        if n0 != records or n1 != records:
            raise RuntimeError(f"{variant} on {shape} gave {n0} and {n1} records, expected {records}")
        per = passes * records
        functions = {
            name: ((ir - base.functions.get(name, (0, 0))[0]) / per, (d1 - base.functions.get(name, (0, 0))[1]) / per)
            for name, (ir, d1) in full.functions.items()
        }
        out["variants"][variant] = {
            "ir": (full.ir - base.ir) / per,
            "d1": (full.d1 - base.d1) / per,
            "functions": functions,
        }
    return out


def report(results: list[dict[str, Any]], variants: Sequence[str], functions: int) -> str:
    refs = [name for name in REFERENCES if name in variants]
    head = "| shape | variant | instructions / record | D1 misses / record |"
    head += "".join(f" instructions vs {ref} | D1 misses vs {ref} |" for ref in refs)
    lines = [head, "|---|---|---:|---:|" + "---:|---:|" * len(refs)]
    for res in results:
        for variant in variants:
            v = res["variants"][variant]
            cells = [res["shape"], variant, f"{v['ir']:.0f}", f"{v['d1']:.1f}"]
            for ref in refs:
                r = res["variants"][ref]
                cells += [f"{v['ir'] / r['ir']:.3f}x", f"{v['d1'] / r['d1']:.2f}x"]
            lines.append("| " + " | ".join(cells) + " |")
    mine = [name for name in variants if name not in REFERENCES]
    if functions and refs and mine:
        first, ref = mine[0], refs[-1]  # the ceiling with the collector off, as decode() runs, when counted
        for res in results:
            a, b = res["variants"][first]["functions"], res["variants"][ref]["functions"]
            zero = (0.0, 0.0)
            diff = {
                name: (a.get(name, zero)[0] - b.get(name, zero)[0], a.get(name, zero)[1] - b.get(name, zero)[1])
                for name in set(a) | set(b)
            }
            top = sorted(diff.items(), key=lambda item: -abs(item[1][0]))[:functions]
            lines += ["", f"### {res['shape']}: {first} minus {ref}, per record", ""]
            lines += ["| instructions | D1 misses | function |", "|---:|---:|---|"]
            lines += [f"| {ir:+.1f} | {d1:+.2f} | `{_short(name)}` |" for name, (ir, d1) in top]
    return "\n".join(lines)


def _short(name: str) -> str:
    where, _, fn = name.rpartition(":")
    return f"{Path(where).name}:{fn}" if where not in ("", "???") else fn


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=3000, help="records per shape (default 3000)")
    p.add_argument("--batch-size", type=int, default=300, help="records per unit (default 300)")
    p.add_argument("--passes", type=int, default=3, help="counted passes over the units (default 3)")
    p.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated (default {','.join(SHAPES)})")
    p.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated variants of the suite (default {','.join(VARIANTS)}); ratios are to {' and '.join(REFERENCES)}",
    )
    p.add_argument("--functions", type=int, default=0, help="list the N functions that differ most from the ceiling")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--child", nargs=5, metavar=("VARIANT", "SHAPE", "DATA", "BATCH", "PASSES"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        variant, shape, data, batch, passes = args.child
        print(child(variant, shape, Path(data), int(batch), int(passes)))
        return 0
    if shutil.which("valgrind") is None:
        p.error("valgrind is not installed: these counts are valgrind's (apt install valgrind)")
    if args.records < 1 or args.batch_size < 1 or args.passes < 1:
        p.error("--records, --batch-size and --passes must be positive")
    from .variants import VARIANTS as ALL

    variants = [name for name in args.variants.split(",") if name]
    unknown = [name for name in variants if name not in ALL]
    if unknown:
        p.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(ALL)}")
    results = []
    with tempfile.TemporaryDirectory(prefix="m365parse-instructions-") as tmp:
        for shape in (name for name in args.shapes.split(",") if name):
            results.append(measure(shape, variants, args.records, args.batch_size, args.passes, Path(tmp)))
            print(f"{shape}: done", file=sys.stderr)
    print(f"Counted by cachegrind: {args.records} records a shape in units of {args.batch_size}, {args.passes} passes.")
    print(report(results, variants, args.functions))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
