"""python -m benchmarks.columnar: columnar output (m365parse.arrow, .parquet, .spark) against the alternatives.

Each variant runs in its own process on the same generated JSON lines (one
record per line, the Azure Storage shape, which every competitor reads):

- ``decode``: ``m365parse.decode`` of blocks of ``--batch-size`` lines (the reference);
- ``to_arrow``: ``m365parse.arrow.to_arrow`` of the same blocks (exact, all tables);
- ``pyarrow_union``: ``pyarrow.json.read_json`` of the whole file with one union
  schema of every table (what a user would try first);
- ``pyarrow_tables``: ``pyarrow.json.read_json`` per table, each with its own
  schema, on the lines split by table beforehand (the split is not timed);
- ``polars``: ``polars.read_ndjson`` of the whole file (schema inferred);
- ``pandas``: ``json.loads`` per line, ``pandas.json_normalize``, ``pyarrow.Table.from_pandas``.

Times are wall and CPU (all threads: pyarrow and polars use both cores).
``parquet``: JSON lines generated on the fly, ``--parquet-bytes`` of them
through ``m365parse.parquet.write_parquet`` to a temporary directory, with the
peak RSS; then the same through the command line
(``python -m m365parse --to parquet DIR -``, run in the child with the lines as
its standard input).  ``--spark``: Spark ``local[2]``, the helper (all tables, one pass,
then the DataFrame of each table that has records, by ``Decoded.counts()``, written to
Spark's ``noop`` sink: a Spark job each) against
``spark.read.json`` with a union schema written to ``noop``; a few minutes.  With it, the
floor of the helper's one pass (:data:`SPARK_FLOOR`): jobs that bring the same lines
to the Python workers and do nothing, decode them, or do the one decode of
``to_arrow()`` and convert every value to Arrow without building tables, each handing
only a count back to Spark.  Any helper that decodes in Python into exact Arrow
data does at least the last of these.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .data import Generator, encode_units, split_units
from .machine import load_average, machine_info, peak_rss_bytes, reset_peak, rss_bytes

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000

VARIANTS = ("decode", "to_arrow", "pyarrow_union", "pyarrow_tables", "polars", "pandas")
SPARK_VARIANTS = ("spark_helper", "spark_json", "spark_read", "spark_decode", "spark_floor", "spark_persist")

#: The floor of the helper's one pass: what any helper that decodes in Python into
#: exact Arrow data must at least do, each step alone, nothing handed back to Spark.
SPARK_FLOOR = (
    ("spark_read", "the lines brought to the Python workers (mapInArrow, nothing done)"),
    ("spark_decode", "... and decode() of each Arrow batch of lines"),
    ("spark_floor", "... and instead, the one decode of to_arrow() and every value converted to Arrow "
                    "(one conversion per kind of column, no table built)"),
    ("spark_persist", "apart: the lines handed back to Spark as they came and persisted, as the helper "
                      "persists its one pass (what handing back and keeping bytes costs)"),
)

#: (text, variant, baseline, measure, comparison, bound): the target holds when
#: measure(variant) / measure(baseline) compares to bound as stated.
TARGETS = (
    # CPU time: pyarrow works on more threads than one, and this machine is shared.
    ("to_arrow within 2.0x of decode() (CPU)", "to_arrow", "decode", "cpu", "<=", 2.0),
    ("to_arrow faster per CPU than pyarrow.json with a union schema", "to_arrow", "pyarrow_union", "cpu", "<=", 1.0),
    ("to_arrow 10x faster than pandas json_normalize to Arrow", "pandas", "to_arrow", "wall", ">=", 10.0),
    ("Spark: the helper (one pass, then every table with records written) at least as fast as spark.read.json (union schema)",
     "spark_helper", "spark_json", "wall", "<=", 1.0),
    ("Spark: the helper's one pass (all tables decoded, persisted) at least as fast as spark.read.json",
     "spark_helper_pass", "spark_json", "wall", "<=", 1.0),
)
PARQUET_LIMIT = 300 * 2**20


class Unavailable(Exception):
    pass


# --- in the child process -----------------------------------------------------------


def _union_arrow_schema() -> Any:
    """One schema for the records of every table: the envelope and a properties struct
    holding every column of every table (a column with two types becomes a string)."""
    import pyarrow as pa

    from m365parse import TABLES
    from m365parse import arrow as ma

    props: dict[str, Any] = {}
    for table in TABLES:
        if table == "SiemAlert":
            continue
        for f in ma.schema(table):
            if f.metadata and f.metadata.get(b"m365parse.role") == b"column":
                t = pa.string() if isinstance(f.type, pa.BaseExtensionType) else f.type
                props[f.name] = t if props.get(f.name, t) == t else pa.string()
    envelope = [f for f in ma.schema("DeviceInfo") if f.metadata[b"m365parse.role"] == b"envelope"]
    return pa.schema(
        [*(pa.field(f.name, f.type) for f in envelope), pa.field("category", pa.string()),
         pa.field("properties", pa.struct([pa.field(k, v) for k, v in props.items()]))]
    )


def _table_schema(table: str) -> Any:
    import pyarrow as pa

    from m365parse import arrow as ma

    sch = ma.schema(table)
    cols = [
        pa.field(f.name, pa.string() if isinstance(f.type, pa.BaseExtensionType) else f.type)
        for f in sch
        if f.metadata and f.metadata.get(b"m365parse.role") == b"column"
    ]
    env = [pa.field(f.name, f.type) for f in sch if f.metadata[b"m365parse.role"] == b"envelope"]
    return pa.schema([*env, pa.field("category", pa.string()), pa.field("properties", pa.struct(cols))])


#: Columns pyarrow.json could not read, dropped from its schema (lossy), per variant run.
DROPPED: list[str] = []


def _readable(pj: Any, data: bytes, schema: Any, dropped: list[str]) -> Any:
    """Parse options with ``schema`` less every column pyarrow.json fails on (it then ignores
    them: lossy), found by trying; what a user must do to read this data with it at all."""
    import re

    import pyarrow as pa

    while True:
        opts = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
        try:
            pj.read_json(pa.py_buffer(data), parse_options=opts)
            return opts
        except pa.ArrowInvalid as exc:
            m = re.search(r"Column\(/properties/(\w+)\)|/properties/(\w+)", str(exc))
            if m is None:
                raise
            name = m.group(1) or m.group(2)
            props = schema.field("properties").type
            if props.get_field_index(name) < 0:
                raise
            fields = [props.field(i) for i in range(props.num_fields) if props.field(i).name != name]
            schema = schema.set(schema.get_field_index("properties"), pa.field("properties", pa.struct(fields)))
            dropped.append(name)


def _setup(variant: str, data: bytes, batch_size: int) -> tuple[Any, list[Any]]:
    """``run(unit) -> rows`` and the units it runs over."""
    if variant in ("decode", "to_arrow"):
        import m365parse

        units = split_units("lines", data, batch_size)
        if variant == "decode":
            return (lambda u: len(m365parse.decode(u).records)), units
        try:
            from m365parse import arrow as ma
        except ImportError:
            raise Unavailable("pyarrow is not installed (the arrow extra)") from None

        def run_arrow(u: bytes) -> int:
            tables = ma.to_arrow(u)
            if ma.ERRORS in tables:
                raise RuntimeError("to_arrow reported errors")
            return sum(t.num_rows for t in tables.values())

        return run_arrow, units
    if variant in ("pyarrow_union", "pyarrow_tables"):
        try:
            import pyarrow as pa
            import pyarrow.json as pj
        except ImportError:
            raise Unavailable("pyarrow is not installed") from None
        if variant == "pyarrow_union":
            opts = _readable(pj, data, _union_arrow_schema(), DROPPED)
            return (lambda u: pj.read_json(pa.py_buffer(u), parse_options=opts).num_rows), [data]
        by_table: dict[str, list[bytes]] = {}
        for line in data.splitlines(keepends=True):
            cat = json.loads(line)["category"].removeprefix("AdvancedHunting-")
            by_table.setdefault(cat, []).append(line)
        jobs = []
        for t, lines in by_table.items():
            buf = b"".join(lines)
            jobs.append((buf, _readable(pj, buf, _table_schema(t), DROPPED)))

        def run_tables(_: Any) -> int:
            return sum(pj.read_json(pa.py_buffer(buf), parse_options=o).num_rows for buf, o in jobs)

        return run_tables, [None]
    if variant == "polars":
        try:
            import io

            import polars as pl
        except ImportError:
            raise Unavailable("polars is not installed") from None
        return (lambda u: pl.read_ndjson(io.BytesIO(u), infer_schema_length=None).height), [data]
    if variant == "pandas":
        try:
            import pandas as pd
            import pyarrow as pa
        except ImportError:
            raise Unavailable("pandas or pyarrow is not installed") from None

        def run_pandas(u: bytes) -> int:
            frame = pd.json_normalize([json.loads(line) for line in u.splitlines()])
            # mixed columns (ReportId: numbers and strings) make from_pandas fail: as text
            mixed = {c: "string" for c in frame.columns if frame[c].dtype == object}
            return pa.Table.from_pandas(frame.astype(mixed)).num_rows

        return run_pandas, split_units("lines", data, batch_size)
    raise ValueError(variant)


def child_variant(opts: dict[str, Any]) -> dict[str, Any]:
    data = Path(opts["data"]).read_bytes()
    try:
        run, units = _setup(opts["variant"], data, opts["batch_size"])
        produced = sum(run(u) for u in units)  # checks, and warms up
    except Unavailable as exc:
        return {"status": "skipped", "reason": str(exc)}
    except Exception as exc:
        return {"status": "error", "reason": f"{type(exc).__name__}: {str(exc)[:300]}"}
    walls, cpus = [], []
    for _ in range(opts["repeat"]):
        gc.collect()
        w, c = time.perf_counter(), time.process_time()
        for u in units:
            run(u)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return {
        "status": "ok",
        "rows": produced,
        "wall": min(walls),
        "cpu": min(cpus),
        "peak_rss": peak_rss_bytes(),
        "dropped_columns": sorted(set(DROPPED)),
    }


def child_parquet(opts: dict[str, Any]) -> dict[str, Any]:
    try:
        import msgspec

        from m365parse.parquet import write_parquet
    except ImportError as exc:
        return {"status": "skipped", "reason": str(exc)}
    gen = Generator(opts["seed"])
    pool = b"".join(msgspec.json.encode(gen.record()) + b"\n" for _ in range(2000))
    del gen
    total, chunk = opts["bytes"], 4 * 2**20
    ring = pool * (chunk // len(pool) + 2)
    piece = ring[: ring.rindex(b"\n", 0, chunk) + 1]  # whole lines, about 4 MiB
    del ring
    sent = [0]

    def chunks() -> Any:
        while sent[0] < total:
            sent[0] += len(piece)
            yield piece

    with tempfile.TemporaryDirectory(prefix="m365parse-parquet-") as tmp:

        def open_file(table: str, part: int) -> Any:
            path = Path(tmp) / table / f"part-{part:05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            return path.open("wb")

        gc.collect()
        before = rss_bytes()
        reset_peak()
        w, c = time.perf_counter(), time.process_time()
        rows = write_parquet(chunks(), open_file)
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        peak = peak_rss_bytes()
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*.parquet"))
    return {
        "status": "ok",
        "bytes": sent[0],
        "rows": sum(rows.values()),
        "wall": wall,
        "cpu": cpu,
        "rss_before": before,
        "peak_rss": peak,
        "parquet_bytes": size,
    }


def child_spark(opts: dict[str, Any]) -> dict[str, Any]:
    try:
        from pyspark import StorageLevel
        from pyspark.sql import SparkSession
        from pyspark.sql import types as T

        from m365parse import TABLES
        from m365parse import arrow as ma
        from m365parse import spark as ms
    except ImportError as exc:
        return {"status": "skipped", "reason": str(exc)}
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    builder = SparkSession.builder.master("local[2]").appName("m365parse-bench")
    # caseSensitive: the union schema holds both ISP and Isp (IdentityDirectoryEvents, others)
    conf = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2", "spark.driver.memory": "2g",
            **ms.RECOMMENDED_CONF, "spark.sql.execution.arrow.maxRecordsPerBatch": "10000",
            "spark.sql.caseSensitive": "true"}
    for k, v in conf.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    path = opts["data"]

    if opts["variant"] == "spark_persist":

        def echo(batches: Any) -> Any:
            yield from batches

        def run() -> None:
            lines = spark.read.text(path)
            kept = lines.mapInArrow(echo, lines.schema).persist(StorageLevel.MEMORY_AND_DISK)
            kept.write.format("noop").mode("overwrite").save()
            kept.unpersist()

    elif opts["variant"] in ("spark_read", "spark_decode", "spark_floor"):
        counted = T.StructType([T.StructField("n", T.LongType())])
        variant = opts["variant"]

        def work(batches: Any) -> Any:  # in the workers (pickled by value: a closure)
            import pyarrow as pa

            from m365parse import arrow as arr
            from m365parse import decode
            from m365parse._collector import collector_off

            @collector_off  # as decode() and to_arrow() run
            def convert(buf: bytes) -> int:
                """The one decode of to_arrow() and every value converted to Arrow, in its pieces."""
                _body, one, twins = arr._twins()
                n = 0
                for piece in arr._line_pieces(buf, arr._PIECE_BYTES):
                    groups = arr._groups(one.decode_lines(piece))
                    gathered = arr._gather([(arr._layout(twins[t], True), g) for t, (g, _) in groups.items()])
                    assert gathered is not None
                    assert arr._kind_arrays(gathered[0], True) is not None
                    n += sum(len(g) for g, _ in groups.values())
                return n

            for batch in batches:
                n = batch.num_rows
                if variant != "spark_read":
                    buf = "\n".join(batch.column(0).to_pylist()).encode("utf-8", "surrogatepass")
                    n = len(decode(buf).records) if variant == "spark_decode" else convert(buf)
                yield pa.RecordBatch.from_arrays([pa.array([n], pa.int64())], names=["n"])

        def run() -> None:
            spark.read.text(path).mapInArrow(work, counted).write.format("noop").mode("overwrite").save()

    elif opts["variant"] == "spark_helper":

        phases: dict[str, float] = {}

        def run() -> None:
            start = time.perf_counter()
            decoded = ms.decode_dataframe(spark.read.text(path), "value", lines=True)
            decoded.packed.write.format("noop").mode("overwrite").save()  # the one pass, persisted
            middle = time.perf_counter()
            counts = decoded.counts()  # the tables that have records (a small job over the cache)
            for name, frame in decoded.tables.items():  # then each of them from the cache: a job each
                if name in counts:
                    frame.write.format("noop").mode("overwrite").save()
            if ma.ERRORS in counts:
                decoded.errors.write.format("noop").mode("overwrite").save()
            decoded.unpersist()
            phases["pass"], phases["tables"] = middle - start, time.perf_counter() - middle
    else:
        props: dict[str, Any] = {}
        env: list[Any] = []
        for table in TABLES:
            if table == "SiemAlert":
                continue
            for f in ms.spark_schema(table).fields:
                role = f.metadata.get("m365parse.role")
                if role == "column":
                    props[f.name] = f.dataType if props.get(f.name, f.dataType) == f.dataType else T.StringType()
                elif role == "envelope" and table == "DeviceInfo":
                    env.append(T.StructField(f.name, f.dataType))
        union = T.StructType(
            [*env, T.StructField("category", T.StringType()),
             T.StructField("properties", T.StructType([T.StructField(k, v) for k, v in props.items()]))]
        )

        def run() -> None:
            spark.read.schema(union).json(path).write.format("noop").mode("overwrite").save()

    try:
        run()  # warm up the JVM and the workers
        walls, cpus = [], []
        for _ in range(opts["repeat"]):
            w, c = time.perf_counter(), time.process_time()
            run()
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
    except Exception as exc:
        return {"status": "error", "reason": f"{type(exc).__name__}: {str(exc)[:300]}"}
    finally:
        spark.stop()
    out = {"status": "ok", "rows": opts["records"], "wall": min(walls), "cpu": None, "peak_rss": None}
    if opts["variant"] == "spark_helper":
        out["pass_seconds"], out["tables_seconds"] = phases["pass"], phases["tables"]  # of the last run
    return out


class _Lines:
    """Standard input of the command: ``total`` bytes of whole JSON lines, ``piece`` again and again."""

    def __init__(self, piece: bytes, total: int) -> None:
        self.piece, self.total, self.sent, self.at = piece, total, 0, 0

    def read(self, n: int = -1) -> bytes:
        if self.sent >= self.total and self.at == 0:
            return b""
        n = len(self.piece) if n < 0 else n
        out = self.piece[self.at : self.at + n]
        self.at = (self.at + len(out)) % len(self.piece)
        self.sent += len(out)
        return out

    read1 = read


def child_parquet_cli(opts: dict[str, Any]) -> dict[str, Any]:
    """The same JSON lines through the command, ``python -m m365parse --to parquet DIR -``."""
    try:
        import msgspec
        import pyarrow  # noqa: F401

        from m365parse.__main__ import run as command
    except ImportError as exc:
        return {"status": "skipped", "reason": str(exc)}
    gen = Generator(opts["seed"])
    pool = b"".join(msgspec.json.encode(gen.record()) + b"\n" for _ in range(2000))
    del gen
    ring = pool * (4 * 2**20 // len(pool) + 2)
    piece = ring[: ring.rindex(b"\n", 0, 4 * 2**20) + 1]
    del ring
    stdin = _Lines(piece, opts["bytes"])
    with tempfile.TemporaryDirectory(prefix="m365parse-parquet-cli-") as tmp:
        out, err = io.BytesIO(), io.BytesIO()
        gc.collect()
        before = rss_bytes()
        reset_peak()
        w, c = time.perf_counter(), time.process_time()
        status = command(["--to", "parquet", str(Path(tmp) / "out"), "-"], out, err, stdin)  # type: ignore[arg-type]
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        peak = peak_rss_bytes()
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*.parquet"))
    if status != 0:
        return {"status": "error", "reason": f"exit status {status}: {err.getvalue()[-300:]!r}"}
    m = re.search(rb"(\d+) records decoded", err.getvalue())
    return {"status": "ok", "bytes": stdin.sent, "rows": int(m.group(1)) if m else 0, "wall": wall, "cpu": cpu,
            "rss_before": before, "peak_rss": peak, "parquet_bytes": size}


CHILDREN = {"variant": child_variant, "parquet": child_parquet, "parquet_cli": child_parquet_cli, "spark": child_spark}


# --- the parent ------------------------------------------------------------------------


def _child(opts: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(ROOT)]))
    cmd = [sys.executable, "-m", "benchmarks.columnar", "--child", json.dumps(opts)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    try:
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        result = {"status": "error", "reason": f"exit status {proc.returncode}: {tail}"}
    result["process_seconds"] = time.perf_counter() - start
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.columnar", description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=5000, help="records of generated JSON lines (default 5000)")
    p.add_argument("--batch-size", type=int, default=300, help="lines per block for decode/to_arrow (default 300)")
    p.add_argument("--repeat", type=int, default=3, help="timed passes per variant, best counts (default 3)")
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated (default {','.join(VARIANTS)})")
    p.add_argument("--parquet-bytes", type=int, default=32 * 2**20, help="JSON lines to Parquet (default 32 MiB; 0: skip)")
    p.add_argument("--spark", action="store_true", help="also Spark local[2] (a few minutes)")
    p.add_argument("--spark-records", type=int, default=20000, help="records for the Spark variants (default 20000)")
    p.add_argument("--full", action="store_true", help="50000 records, 1 GiB to Parquet, Spark with 200000 records")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", metavar="FILE", help="also write every figure as JSON to FILE")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.full:
        args.records, args.parquet_bytes = max(args.records, 50_000), max(args.parquet_bytes, 2**30)
        args.spark, args.spark_records = True, max(args.spark_records, 200_000)
    return args


def _write_lines(path: Path, records: int, batch_size: int, seed: int) -> int:
    with path.open("wb") as f:
        for unit in encode_units("lines", records, batch_size, seed):
            f.write(unit)
    return path.stat().st_size


def run(args: argparse.Namespace) -> dict[str, Any]:
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    result: dict[str, Any] = {"machine": machine_info(), "load_average": {"start": load_average()}, "variants": {}}
    names = [n for n in args.variants.split(",") if n]
    with tempfile.TemporaryDirectory(prefix="m365parse-columnar-") as tmp:
        data = Path(tmp) / "lines.jsonl"
        result["bytes"] = _write_lines(data, args.records, args.batch_size, args.seed)
        for name in names:
            r = _child({"mode": "variant", "variant": name, "data": str(data), "batch_size": args.batch_size,
                        "repeat": args.repeat})
            result["variants"][name] = r
            say(f"{name:15} " + (f"{r['wall'] / args.records * 1e6:8.2f} us/record wall, "
                                 f"{r['cpu'] / args.records * 1e6:8.2f} cpu" if r["status"] == "ok" else
                                 f"{r['status']}: {r.get('reason')}"))
        if args.spark:
            sdata = Path(tmp) / "spark.jsonl"
            _write_lines(sdata, args.spark_records, args.batch_size, args.seed)
            for name in SPARK_VARIANTS:
                r = _child({"mode": "spark", "variant": name, "data": str(sdata), "records": args.spark_records,
                            "repeat": 2})
                result["variants"][name] = r
                say(f"{name:15} " + (f"{args.spark_records / r['wall']:,.0f} records/s" if r["status"] == "ok"
                                     else f"{r['status']}: {r.get('reason')}"))
            helper, plain = result["variants"]["spark_helper"], result["variants"]["spark_json"]
            if helper["status"] == "ok":
                # the one pass alone (every table decoded and persisted), against the same reader
                result["variants"]["spark_helper_pass"] = {**helper, "wall": helper["pass_seconds"]}
                if plain["status"] == "ok":
                    result["spark_pass_ratio"] = helper["pass_seconds"] / plain["wall"]
    if args.parquet_bytes:
        r = _child({"mode": "parquet", "bytes": args.parquet_bytes, "seed": args.seed})
        result["parquet"] = r
        say("parquet " + (f"{r['bytes'] / 2**20:.0f} MiB: peak RSS {r['peak_rss'] / 2**20:.0f} MiB"
                          if r["status"] == "ok" else f"{r['status']}: {r.get('reason')}"))
        r = _child({"mode": "parquet_cli", "bytes": args.parquet_bytes, "seed": args.seed})
        result["parquet_cli"] = r
        say("parquet (command) " + (f"{r['bytes'] / 2**20:.0f} MiB: peak RSS {r['peak_rss'] / 2**20:.0f} MiB"
                                    if r["status"] == "ok" else f"{r['status']}: {r.get('reason')}"))
    result["load_average"]["end"] = load_average()
    result["targets"] = targets(result)
    return result


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    v = result["variants"]
    for text, name, base, measure, op, bound in TARGETS:
        a, b = v.get(name), v.get(base)
        if a is None or b is None:
            continue
        if a["status"] != "ok" or b["status"] != "ok" or a.get(measure) is None or b.get(measure) is None:
            rows.append({"target": text, "result": "n/a", "note": (a if a["status"] != "ok" else b).get("reason")})
            continue
        ratio = a[measure] / b[measure]
        ok = ratio <= bound if op == "<=" else ratio >= bound
        rows.append({"target": text, "result": "PASS" if ok else "MISS", "measured": ratio,
                     "note": f"{ratio:.2f}x {measure} (needs {op} {bound}x)"})
    for key, how in (("parquet", "write_parquet"), ("parquet_cli", "the command, --to parquet")):
        p = result.get(key)
        if not p:
            continue
        row: dict[str, Any] = {"target": f"1 GB of JSON lines to Parquet in < 300 MB peak RSS ({how})"}
        if p["status"] != "ok":
            row.update(result="n/a", note=p.get("reason"))
        else:
            note = f"peak RSS {p['peak_rss'] / 2**20:.0f} MiB over {p['bytes'] / 2**20:.0f} MiB"
            if p["bytes"] < 2**30:
                note += " (less than 1 GiB: indicative only)"
            row.update(result="PASS" if p["peak_rss"] < PARQUET_LIMIT else "MISS", measured=p["peak_rss"], note=note)
        rows.append(row)
    return rows


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    m = result["machine"]
    out = ["## Columnar output (benchmarks/columnar.py)", ""]
    out.append(f"- machine: {m['cpu']}, {m['cores']} cores; {m['python']}; load average "
               f"{result['load_average']['start']} at start, {result['load_average']['end']} at end")
    out.append(f"- {args.records} generated records as JSON lines, {result['bytes'] / MB:.1f} MB; best of "
               f"{args.repeat}; each variant in its own process")
    out.append("")
    out.append("| variant | µs/record wall | µs/record CPU | vs decode (wall) | vs decode (CPU) | peak RSS MiB | notes |")
    out.append("|---|---:|---:|---:|---:|---:|---|")
    dec = result["variants"].get("decode")
    for name, r in result["variants"].items():
        if r["status"] != "ok":
            out.append(f"| {name} | | | | | | {r['status']}: {r.get('reason')} |")
            continue
        n = args.spark_records if name.startswith("spark") else args.records
        wall = r["wall"] / n * 1e6
        cpu = "" if r.get("cpu") is None or name.startswith("spark") else f"{r['cpu'] / n * 1e6:.2f}"
        rel = rel_cpu = ""
        if dec and dec["status"] == "ok" and not name.startswith("spark"):
            rel = f"{r['wall'] / dec['wall']:.2f}x"
            rel_cpu = f"{r['cpu'] / dec['cpu']:.2f}x"
        rss = f"{r['peak_rss'] / 2**20:.0f}" if r.get("peak_rss") else ""
        note = f"lossy: {len(r['dropped_columns'])} columns dropped" if r.get("dropped_columns") else ""
        out.append(f"| {name} | {wall:.2f} | {cpu} | {rel} | {rel_cpu} | {rss} | {note} |")
    for key, how in (("parquet", "write_parquet"), ("parquet_cli", "python -m m365parse --to parquet")):
        p = result.get(key)
        if p and p["status"] == "ok":
            out += ["", f"JSON lines to Parquet ({how}): {p['bytes'] / 2**20:.0f} MiB, {p['rows']:,} rows in "
                    f"{p['wall']:.1f} s ({p['bytes'] / p['wall'] / MB:.0f} MB/s), Parquet "
                    f"{p['parquet_bytes'] / 2**20:.0f} MiB, peak RSS {p['peak_rss'] / 2**20:.0f} MiB "
                    f"(before: {p['rss_before'] / 2**20:.0f} MiB)."]
    plain = result["variants"].get("spark_json")
    floor = [(name, what, result["variants"].get(name)) for name, what in SPARK_FLOOR]
    if plain and plain["status"] == "ok" and all(r and r["status"] == "ok" for _, _, r in floor):
        out += ["", "Floor of the Spark helper's one pass (Spark local[2], the same lines, each step in a job of its "
                "own, written to `noop`), against `spark.read.json` with a union schema:", "",
                "| step | wall vs spark.read.json |", "|---|---:|"]
        out += [f"| {what} | {r['wall'] / plain['wall']:.2f}x |" for _, what, r in floor if r]
    out += ["", "| target | result | measured |", "|---|---|---|"]
    out += [f"| {t['target']} | {t['result']} | {t.get('note') or ''} |" for t in result["targets"]]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        opts = json.loads(args.child)
        print(json.dumps(CHILDREN[opts["mode"]](opts)))
        return 0
    result = run(args)
    print(report(result, args))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    # A competitor that cannot read the data is a result; m365parse failing is not.
    ours = [result["variants"].get(n) for n in ("decode", "to_arrow", "spark_helper")]
    failed = any(r is not None and r["status"] == "error" for r in ours)
    parquet_failed = any((result.get(k) or {}).get("status") == "error" for k in ("parquet", "parquet_cli"))
    return 1 if failed or parquet_failed else 0


if __name__ == "__main__":
    sys.exit(main())
