"""python -m benchmarks: m365parse against the ceiling and the baselines, on this machine.

Generates deterministic data (see :mod:`benchmarks.data`), writes it once to a
temporary directory, and runs every variant (see :mod:`benchmarks.variants`) in
its own subprocess on those same bytes; then the scaling table, the streaming
memory test and the import time.  Prints Markdown tables and the targets with
PASS or MISS; ``--json FILE`` writes every figure.  ``--help`` lists the options.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import badrecords, cli, tables30
from .data import MIX, SHAPES, encode_units, join_units
from .machine import load_average, machine_info
from .variants import CHUNK_BYTES, VARIANTS

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000

#: name -> (description, variant, baseline, comparison, bound).  The target holds
#: when time(variant) / time(baseline) compares to ``bound`` as stated.
TARGETS = (
    ("decode within 1.2x of the ceiling", "decode", "ceiling", "<=", 1.2),
    # the same with the collector off in the ceiling too (decode() runs so; msgspec leaves it on)
    ("decode within 1.2x of the ceiling with the collector off", "decode", "ceiling-gc-off", "<=", 1.2),
    ("decode at least 2x faster than pydantic", "pydantic", "decode", ">=", 2.0),
    ("decode at least 2x faster than json.loads + mapping", "json", "decode", ">=", 2.0),
    ("decode + jsa within 1.3x of decode", "decode+jsa", "decode", "<=", 1.3),
    ("decode + ecs within 3x of decode", "decode+ecs", "decode", "<=", 3.0),
    ("decode + ocsf within 3x of decode", "decode+ocsf", "decode", "<=", 3.0),
    # the same, in one call that decodes for the rule set
    ("decode_normalized jsa within 1.3x of decode", "normalized+jsa", "decode", "<=", 1.3),
    ("decode_normalized ecs within 3x of decode", "normalized+ecs", "decode", "<=", 3.0),
    ("decode_normalized ocsf within 3x of decode", "normalized+ocsf", "decode", "<=", 3.0),
)
#: ``import m365parse`` in a fresh interpreter, best run (milliseconds).
IMPORT_TARGET_MS = 30.0
STREAM_LIMIT = 200 * 2**20
STREAM_TARGET_BYTES = 2**30


def size(text: str) -> int:
    """``1G``, ``512M``, ``64K`` or a number of bytes (powers of 1024)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)i?B?\s*", text, re.I)
    if m is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 1G, 200M, 4096)")
    return int(float(m.group(1)) * 1024 ** " KMG".index(m.group(2).upper() or " "))


def csv(known: list[str]) -> Any:
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown: {', '.join(unknown)}; known: {', '.join(known)}")
        return names

    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks of m365parse against a plain msgspec decode (the ceiling) and the baselines "
        "a user would write instead, each variant in its own process on the same bytes.",
    )
    p.add_argument("--records", type=int, default=20_000, help="records per shape (default 20000)")
    p.add_argument(
        "--batch-size", type=int, default=300, help="records per Event Hubs body / JSON-lines block (default 300)"
    )
    p.add_argument(
        "--shapes",
        type=csv(list(SHAPES)),
        default=list(SHAPES),
        help=f"comma-separated input shapes (default all: {','.join(SHAPES)})",
    )
    p.add_argument(
        "--variants",
        type=csv(list(VARIANTS)),
        default=list(VARIANTS),
        help=f"comma-separated variants (default all: {','.join(VARIANTS)})",
    )
    p.add_argument("--repeat", type=int, default=5, help="timed passes per variant; the best counts (default 5)")
    p.add_argument(
        "--rounds", type=int, default=1, help="run all variants this many times, interleaved, against noise (default 1)"
    )
    p.add_argument(
        "--scale-max", type=int, default=100_000, help="largest input of the scaling table (default 100000; 0: none)"
    )
    p.add_argument(
        "--stream-bytes",
        type=size,
        default=STREAM_TARGET_BYTES,
        help="JSON lines streamed through JsonLinesDecoder for the memory target (default 1G; 0: skip)",
    )
    p.add_argument("--chunk-bytes", type=size, default=CHUNK_BYTES, help="chunk size fed to JsonLinesDecoder (4M)")
    p.add_argument(
        "--import-runs", type=int, default=5, help="fresh interpreters timing the import (default 5; 0: skip)"
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    p.add_argument(
        "--full",
        action="store_true",
        help="the long run (15-25 minutes): 50000 records per shape, 3 rounds, scaling up to 1000000 records",
    )
    p.add_argument(
        "--json",
        metavar="FILE",
        help="also write every figure as JSON to FILE ('-': standard output, report to stderr)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress on standard error")
    cli.add_arguments(p)
    p.add_argument(
        "--columnar",
        action="store_true",
        help="also the columnar section (python -m benchmarks.columnar; with --full: Spark and 1 GiB to Parquet)",
    )
    args = p.parse_args(argv)
    if args.full:
        args.records = max(args.records, 50_000)
        args.rounds = max(args.rounds, 3)
        args.scale_max = max(args.scale_max, 1_000_000)
    if args.records < 1 or args.batch_size < 1 or args.repeat < 1 or args.rounds < 1:
        p.error("--records, --batch-size, --repeat and --rounds must be positive")
    return args


class Runner:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        # The children import what this process imports: same working directory,
        # same PYTHONPATH, and this checkout's benchmarks package found last.
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(ROOT)]))
        self.env = env

    def say(self, text: str) -> None:
        if not self.args.quiet:
            print(text, file=sys.stderr, flush=True)

    def child(self, opts: dict[str, Any]) -> dict[str, Any]:
        cmd = [sys.executable, "-m", "benchmarks._child", json.dumps(opts)]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, check=False)
        wall = time.perf_counter() - start
        try:
            result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            result = {"status": "error", "reason": f"exit status {proc.returncode}: {tail}"}
        result["wall_seconds"] = wall
        return result

    # --- the comparison ---------------------------------------------------------

    def compare(self, workdir: Path) -> dict[str, Any]:
        args = self.args
        shapes: dict[str, Any] = {}
        for shape in args.shapes:
            start = time.perf_counter()
            units = list(encode_units(shape, args.records, args.batch_size, args.seed))
            path = workdir / f"{shape}.data"
            path.write_bytes(join_units(shape, units))
            nbytes = sum(map(len, units))
            self.say(
                f"data {shape}: {args.records} records in {len(units)} units, {nbytes / MB:.1f} MB "
                f"({time.perf_counter() - start:.1f} s to generate)"
            )
            shapes[shape] = {"path": str(path), "units": len(units), "bytes": nbytes, "variants": {}}
            del units
        for rnd in range(args.rounds):
            for shape, info in shapes.items():
                for name in args.variants:
                    opts = {
                        "mode": "variant",
                        "variant": name,
                        "shape": shape,
                        "data": info["path"],
                        "batch_size": args.batch_size,
                        "records": args.records,
                        "repeat": args.repeat,
                        "chunk_bytes": args.chunk_bytes,
                    }
                    result = self.child(opts)
                    merged = info["variants"].setdefault(name, result)
                    if merged is not result and result["status"] == "ok" and merged["status"] == "ok":
                        merged["times"] += result["times"]
                        merged["peak_rss"] = max(merged["peak_rss"], result["peak_rss"])
                    best = min(result["times"]) / args.records * 1e6 if result["status"] == "ok" else None
                    self.say(
                        f"round {rnd + 1}/{args.rounds} {shape:5} {name:12} "
                        + (f"{best:8.2f} us/record" if best is not None else result["status"] + ": " + result["reason"])
                        + f"  ({result['wall_seconds']:.1f} s)"
                    )
        for info in shapes.values():
            del info["path"]
            summarize(info, args.records)
        return shapes

    def scaling(self) -> list[dict[str, Any]]:
        """Per input size: decode and the ceiling, each in its own process, on the same lines."""
        args = self.args
        rows = []
        n = 100
        while n <= args.scale_max:
            repeat = max(1, min(200, 200_000 // n)) if n <= 10_000 else (3 if n <= 100_000 else 2)
            row: dict[str, Any] = {"size": n, "repeat": repeat}
            for variant in ("decode", "ceiling"):
                opts = {
                    "mode": "scale",
                    "variant": variant,
                    "size": n,
                    "seed": args.seed,
                    "repeat": repeat,
                    "batch_size": args.batch_size,
                }
                result = self.child(opts)
                if result["status"] == "ok":
                    for key in ("seconds", "decode_seconds", "free_seconds", "no_gc_seconds", "units_seconds"):
                        if key in result:
                            result[key.replace("seconds", "us_per_record")] = result[key] / n * 1e6
                    self.say(
                        f"scale {n:>9} records, {variant:8}: {result['us_per_record']:.2f} us/record "
                        f"({result['wall_seconds']:.1f} s)"
                    )
                else:
                    self.say(f"scale {n:>9} records, {variant:8}: {result['status']}: {result['reason']}")
                row[variant] = result
            rows.append(row)
            n *= 10
        return rows

    def stream(self) -> dict[str, Any]:
        args = self.args
        opts = {
            "mode": "stream",
            "bytes": args.stream_bytes,
            "chunk_bytes": args.chunk_bytes,
            "pool": 2000,
            "seed": args.seed,
        }
        result = self.child(opts)
        if result["status"] == "ok":
            seconds = result["times"][0]
            result["mb_per_second"] = result["bytes"] / seconds / MB
            result["us_per_record"] = seconds / result["records"] * 1e6
            self.say(
                f"stream {result['bytes'] / 2**20:.0f} MiB: peak RSS {result['peak_rss'] / 2**20:.0f} MiB "
                f"({result['wall_seconds']:.1f} s)"
            )
        return result

    def import_time(self) -> dict[str, Any]:
        runs: list[dict[str, int]] = []
        # As users import it: from cached bytecode (one warm-up run writes it), not
        # compiling every module again, as PYTHONDONTWRITEBYTECODE=1 would make it.
        env = {k: v for k, v in self.env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run([sys.executable, "-c", "import m365parse"], env=env, check=False, capture_output=True)
        for _ in range(self.args.import_runs):
            proc = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", "import m365parse"],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            found: dict[str, int] = {}
            for line in proc.stderr.splitlines():
                m = re.match(r"import time:\s*(\d+)\s*\|\s*(\d+)\s*\|(\s*)(\S+)", line)
                if m and m.group(4) in ("m365parse", "msgspec", "dateutil", "datetime", "json"):
                    found.setdefault(m.group(4), int(m.group(2)))
            if "m365parse" in found:
                runs.append(found)
        if not runs:
            return {"status": "error", "reason": "python -X importtime printed no m365parse line"}
        totals = [r["m365parse"] for r in runs]
        best = runs[totals.index(min(totals))]
        return {
            "status": "ok",
            "runs": len(runs),
            "best_ms": min(totals) / 1000,
            "median_ms": statistics.median(totals) / 1000,
            "of_which_ms": {k: v / 1000 for k, v in best.items() if k != "m365parse"},
        }


def summarize(info: dict[str, Any], records: int) -> None:
    """Per-variant figures from the raw times, ratios to m365parse.decode."""
    variants = info["variants"]
    for result in variants.values():
        if result["status"] != "ok":
            continue
        best = min(result["times"])
        result["best_seconds"] = best
        result["median_seconds"] = statistics.median(result["times"])
        result["us_per_record"] = best / records * 1e6
        result["median_us_per_record"] = result["median_seconds"] / records * 1e6
        result["records_per_second"] = records / best
        result["mb_per_second"] = result["bytes"] / best / MB
    decode = variants.get("decode")
    if decode is not None and decode["status"] == "ok":
        for result in variants.values():
            if result["status"] == "ok":
                result["ratio_to_decode"] = result["best_seconds"] / decode["best_seconds"]


def evaluate_targets(shapes: dict[str, Any], stream: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = []
    for shape, info in shapes.items():
        v = info["variants"]
        for text, name, base, op, bound in TARGETS:
            a, b = v.get(name), v.get(base)
            row: dict[str, Any] = {"target": text, "shape": shape}
            if a is None or b is None:
                continue
            if a["status"] != "ok" or b["status"] != "ok":
                missing = a if a["status"] != "ok" else b
                row.update(result="n/a", measured=None, note=missing.get("reason", missing["status"]))
            else:
                ratio = a["best_seconds"] / b["best_seconds"]
                ok = ratio <= bound if op == "<=" else ratio >= bound
                row.update(result="PASS" if ok else "MISS", measured=ratio, note=f"{ratio:.2f}x (needs {op} {bound}x)")
            rows.append(row)
    if stream is not None:
        row = {"target": "JsonLinesDecoder streams 1 GB of JSON lines in < 200 MB RSS", "shape": "lines"}
        if stream["status"] != "ok":
            row.update(result="n/a", measured=None, note=stream.get("reason"))
        else:
            peak = stream["peak_rss"]
            ok = peak < STREAM_LIMIT
            note = f"peak RSS {peak / 2**20:.0f} MiB over {stream['bytes'] / 2**20:.0f} MiB"
            if stream["bytes"] < STREAM_TARGET_BYTES:
                note += " (less than 1 GiB: indicative only)"
            row.update(result="PASS" if ok else "MISS", measured=peak, note=note)
        rows.append(row)
    return rows


def import_target(imp: dict[str, Any] | None) -> list[dict[str, Any]]:
    if imp is None:
        return []
    row: dict[str, Any] = {"target": f"import m365parse under {IMPORT_TARGET_MS:g} ms", "shape": "-"}
    if imp["status"] != "ok":
        return [{**row, "result": "n/a", "measured": None, "note": imp.get("reason")}]
    best = imp["best_ms"]
    ok = best < IMPORT_TARGET_MS
    msgspec_ms = imp["of_which_ms"].get("msgspec")
    note = f"best {best:.1f} ms" + (f" (msgspec alone {msgspec_ms:.1f} ms)" if msgspec_ms else "")
    return [{**row, "result": "PASS" if ok else "MISS", "measured": best, "note": note}]


# --- the report -------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> str:
    right = [i > 0 for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _n(value: float | None, fmt: str) -> str:
    return "" if value is None else format(value, fmt)


def report(result: dict[str, Any]) -> str:
    m = result["machine"]
    args = result["options"]
    v = m["versions"]
    out = ["# m365parse benchmarks", ""]
    mem = f", {m['memory_bytes'] / 2**30:.0f} GiB RAM" if m.get("memory_bytes") else ""
    out.append(f"- machine: {m['cpu']}, {m['cores']} cores{mem}; {m['os']}")
    libs = ", ".join(f"{k} {val}" for k, val in v.items() if val) + (
        f" (checkout {m['commit']})" if m["commit"] else ""
    )
    out.append(f"- {m['python']}; {libs}")
    la = result["load_average"]
    out.append(
        f"- load average {_n(la['start'], '.2f')} at start, {_n(la['end'], '.2f')} at end; "
        f"{args['repeat']} timed passes x {args['rounds']} round(s) per variant, best pass shown "
        f"(median in the JSON output); each variant in its own process"
    )
    mix = ", ".join(f"{t} {p:g}%" for t, p in MIX.items())
    out.append(f"- data: {args['records']} generated records per shape (seed {args['seed']}); mix: {mix}")
    out.append("")
    names = {name: var.label for name, var in VARIANTS.items()}
    for shape, info in result["shapes"].items():
        n_units = info["units"]
        out.append(
            f"## {shape}: {SHAPES[shape]}; {args['records']} records in {n_units} unit(s) of up to {args['batch_size']}, "
            f"{info['bytes'] / MB:.1f} MB ({info['bytes'] / args['records']:.0f} bytes/record)"
        )
        out.append("")
        rows = []
        for name, r in info["variants"].items():
            if r["status"] != "ok":
                rows.append([names[name], "", "", "", "", "", "", r["status"] + ": " + (r.get("reason") or "")])
                continue
            held = r.get("held_bytes_per_record")
            rows.append(
                [
                    names[name],
                    f"{r['us_per_record']:.2f}",
                    f"{r['records_per_second']:,.0f}",
                    f"{r['mb_per_second']:.0f}",
                    _n(r.get("ratio_to_decode"), ".2f") + "x" if r.get("ratio_to_decode") else "",
                    f"{r['peak_rss'] / 2**20:.0f}",
                    _n(held / 1024 if held is not None else None, ".1f"),
                    f"median {r['median_us_per_record']:.2f}",
                ]
            )
        out.append(
            _table(
                [
                    "variant",
                    "µs/record",
                    "records/s",
                    "MB/s",
                    "time vs decode",
                    "peak RSS MiB",
                    "KiB/record held",
                    "notes",
                ],
                rows,
            )
        )
        out.append("")
    if result.get("targets"):
        out.append("## Targets")
        out.append("")
        out.append(
            _table(
                ["target", "shape", "result", "measured"],
                [[t["target"], t["shape"], t["result"], t.get("note") or ""] for t in result["targets"]],
            )
        )
        out.append("")
    if result.get("scaling"):
        out.append("## Scaling: one input of N JSON lines decoded in one call")
        out.append("")
        rows = []
        for row in result["scaling"]:
            d, c = row["decode"], row["ceiling"]
            if d["status"] != "ok":
                rows.append(
                    [f"{row['size']:,}", "", "", "", "", "", "", "", d["status"] + ": " + (d.get("reason") or "")]
                )
                continue
            ceiling_ok = c["status"] == "ok"
            rows.append(
                [
                    f"{row['size']:,}",
                    f"{d['bytes'] / MB:.1f}",
                    f"{d['us_per_record']:.2f}",
                    f"{d['free_us_per_record']:.2f}",
                    f"{c['us_per_record']:.2f}" if ceiling_ok else c["status"],
                    f"{d['seconds'] / c['seconds']:.2f}x" if ceiling_ok else "",
                    f"{d['no_gc_us_per_record']:.2f}",
                    f"{d['units_us_per_record']:.2f}",
                    f"{(d['peak_rss'] - d['rss_before']) / 2**20:.0f}",
                ]
            )
        out.append(
            _table(
                [
                    "records",
                    "input MB",
                    "decode µs/record",
                    "of which freeing",
                    "ceiling µs/record",
                    "decode vs ceiling",
                    "decode, GC off",
                    f"decode in units of {args['batch_size']}",
                    "RSS growth MiB",
                ],
                rows,
            )
        )
        out.append("")
        out.append(
            "Best of 200 calls for small inputs, 3 for 100,000 records, 2 above; times include freeing the result. "
            "`GC off`: `gc.disable()` around the same call. `units`: the same lines decoded in blocks, each "
            "result freed before the next."
        )
        out.append("")
    s = result.get("stream")
    if s:
        out.append("## Streaming: m365parse.JsonLinesDecoder")
        out.append("")
        if s["status"] == "ok":
            out.append(
                f"{s['bytes'] / 2**20:,.0f} MiB of JSON lines ({s['records']:,} records, generated on the fly) fed in "
                f"{s['chunk_bytes'] / 2**20:g} MiB chunks: {s['us_per_record']:.2f} µs/record, {s['mb_per_second']:.0f} MB/s, "
                f"peak RSS of the process {s['peak_rss'] / 2**20:.0f} MiB (RSS before streaming {s['rss_before'] / 2**20:.0f} MiB)."
            )
        else:
            out.append(f"{s['status']}: {s.get('reason')}")
        out.append("")
    imp = result.get("import")
    if imp:
        out.append("## Import time")
        out.append("")
        if imp["status"] == "ok":
            parts = ", ".join(f"{k} {val:.1f} ms" for k, val in sorted(imp["of_which_ms"].items()))
            out.append(
                f"`import m365parse` in a fresh interpreter (`python -X importtime`, {imp['runs']} runs): "
                f"best {imp['best_ms']:.1f} ms, median {imp['median_ms']:.1f} ms; of which {parts or 'nothing measured'}."
            )
        else:
            out.append(f"{imp['status']}: {imp.get('reason')}")
        out.append("")
    out += tables30.report(result.get("tables30"))
    out += badrecords.report(result.get("badrecords"))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runner = Runner(args)
    result: dict[str, Any] = {
        "machine": machine_info(),
        "options": {k: val for k, val in vars(args).items() if k not in ("json", "quiet")},
        "load_average": {"start": load_average(), "end": None},
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="m365parse-bench-") as tmp:
        result["shapes"] = runner.compare(Path(tmp))
        result["tables30"] = tables30.measure(args.records, args.batch_size, args.repeat, Path(tmp), runner.env)
        result["badrecords"] = badrecords.measure(args.records, args.batch_size, args.repeat, Path(tmp), runner.env)
    result["scaling"] = runner.scaling() if args.scale_max >= 100 else []
    result["stream"] = runner.stream() if args.stream_bytes > 0 else None
    result["cli"] = None if args.skip_cli else cli.run_section(args, runner.env, runner.say)
    result["targets"] = evaluate_targets(result["shapes"], result["stream"]) + cli.targets(result["cli"])
    result["import"] = runner.import_time() if args.import_runs > 0 else None
    result["targets"] += import_target(result["import"]) + badrecords.targets(result["badrecords"])
    result["load_average"]["end"] = load_average()
    result["seconds"] = time.perf_counter() - started
    text = report(result) + "\n" + cli.report(result["cli"])
    print(text, file=sys.stderr if args.json == "-" else sys.stdout)
    if args.json:
        payload = json.dumps(result, indent=1)
        if args.json == "-":
            print(payload)
        else:
            Path(args.json).write_text(payload + "\n", encoding="utf-8")
    runner.say(f"done in {result['seconds']:.0f} s")
    failed = [
        f"{shape}/{name}"
        for shape, info in result["shapes"].items()
        for name, r in info["variants"].items()
        if r["status"] == "error"
    ]
    if failed:
        runner.say(f"variants that failed: {', '.join(failed)}")
    if args.columnar:
        from . import columnar

        opts = ["--records", str(args.records), "--batch-size", str(args.batch_size)]
        failed += ["columnar"] if columnar.main(opts + ["--full"] * args.full + ["--quiet"] * args.quiet) else []
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
