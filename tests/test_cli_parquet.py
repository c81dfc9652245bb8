"""The command line's Parquet output: ``python -m m365parse --to parquet DIR [FILE ...]`` (mostly the real command)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import m365parse  # noqa: E402
from m365parse import arrow as ma  # noqa: E402
from m365parse.__main__ import ParquetWriter, run  # noqa: E402
from m365parse.record import UnknownRecord  # noqa: E402

from .conftest import ROOT, record  # noqa: E402

SAMPLES = ROOT / "m365parse" / "samples"
#: The demo's inputs, in its order: the table samples, then the polled APIs' shapes.
DEMO_FILES = sorted(SAMPLES.glob("*.json")) + sorted(SAMPLES.glob("api/*.json"))
NS = pa.timestamp("ns", tz="UTC")


def _cli(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "m365parse", *args], input=stdin, capture_output=True, timeout=300, check=False, env=env
    )


def _read_dir(directory: Path) -> dict[str, Any]:
    """Every table directory of ``directory``, its part files read back in order as one table."""
    out = {}
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        parts = sorted(folder.iterdir())
        assert parts and all(p.name.startswith("part-") and p.suffix == ".parquet" for p in parts), parts
        out[folder.name] = pa.concat_tables([pq.read_table(p) for p in parts])
    return out


def _expected(inputs: list[bytes]) -> dict[str, Any]:
    """to_arrow() of each input, concatenated per table in input order."""
    found: dict[str, list[Any]] = {}
    for data in inputs:
        for name, table in ma.to_arrow(data).items():
            found.setdefault(name, []).append(table)
    return {name: pa.concat_tables(tables).combine_chunks() for name, tables in found.items()}


def _decoded_counts(inputs: list[bytes]) -> Counter[str]:
    """Records per table as decode() gives them (records of unknown tables: the ``unknown`` table)."""
    counts: Counter[str] = Counter()
    for data in inputs:
        batch = m365parse.decode(data)
        counts.update(ma.UNKNOWN if isinstance(r, UnknownRecord) else ma._name(r) for r in batch.records)
        if batch.errors:
            counts[ma.ERRORS] += len(batch.errors)
    return counts


def _generated(n: int, seed: int = 5) -> bytes:
    from benchmarks.data import encode_units, join_units

    return join_units("lines", list(encode_units("lines", n, 100, seed)))


def _assert_tables_equal(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(got) == set(expected)
    for name, table in expected.items():
        read = got[name]
        assert read.schema.equals(ma.schema(name), check_metadata=True), name  # JSON type, field metadata kept
        assert read.combine_chunks().equals(table), name


# --- what lands in DIR ------------------------------------------------------------------------


def test_demo_to_parquet_reads_back_equal_to_to_arrow(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _cli("--to", "parquet", str(out), "demo", "--stats")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b""  # the records went to the files
    inputs = [p.read_bytes() for p in DEMO_FILES]
    got = _read_dir(out)
    assert {name: t.num_rows for name, t in got.items()} == dict(_decoded_counts(inputs))
    assert ma.ERRORS not in got
    _assert_tables_equal(got, _expected(inputs))
    # exact timestamps as the arrow module writes them: nanoseconds, the 7th digit kept
    stamps = got["DeviceProcessEvents"].column("Timestamp")
    assert stamps.type == NS
    records = [r for data in inputs for r in m365parse.decode(data).records if r.table == "DeviceProcessEvents"]
    exact = [m365parse.timestamp_ns(r, "Timestamp") for r in records]
    assert stamps.cast(pa.int64()).to_pylist() == exact
    assert any(ns is not None and ns % 1000 for ns in exact)  # the 7th digit is there to keep
    text = proc.stderr.decode()
    assert f"{sum(t.num_rows for t in got.values())} records decoded, 0 failed" in text
    assert "records written per table:" in text


def test_json_lines_from_stdin_stream_into_one_part_per_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Many chunks of JSON lines (many batches of the streaming loop) and a second input."""
    import m365parse.__main__ as cli

    monkeypatch.setattr(cli, "PARQUET_CHUNK_BYTES", 64 * 1024)
    lines = _generated(1500)
    assert len(lines) > 8 * 64 * 1024  # several chunks of the loop
    seen: list[int] = []
    real = cli.read_batches

    def read_batches(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["chunk_bytes"])
        return real(*args, **kwargs)

    monkeypatch.setattr(cli, "read_batches", read_batches)
    second = SAMPLES / "DeviceEvents.json"
    out = tmp_path / "new" / "out"  # parents made too
    err = io.BytesIO()
    status = run(["--to", "parquet", str(out), "-", str(second)], io.BytesIO(), err, io.BytesIO(lines))
    assert status == 0, err.getvalue().decode()
    assert seen == [64 * 1024, 64 * 1024]
    got = _read_dir(out)
    assert all(len(list((out / name).iterdir())) == 1 for name in got)  # one file set: one part each
    _assert_tables_equal(got, _expected([lines, second.read_bytes()]))


def test_broken_lines_go_to_the_errors_file_and_the_others_to_parquet(tmp_path: Path) -> None:
    good = [json.dumps(record(ProcessId=i)).encode() for i in range(4)]
    unknown = json.dumps(record("FutureTableOfTomorrow", Note="new")).encode()
    broken = [b'{"category": "AdvancedHunting-DeviceProcessEvents", "properties": {', b'"not a record"', b"{no"]
    lines = [good[0], broken[0], good[1], unknown, broken[1], good[2], broken[2], good[3]]
    src = tmp_path / "mixed.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    errors, out = tmp_path / "errors.jsonl", tmp_path / "out"
    proc = _cli("--to", "parquet", str(out), "--errors", str(errors), str(src))
    assert proc.returncode == 1
    failed = [json.loads(line) for line in errors.read_bytes().splitlines()]
    assert [(f["index"], f["raw"].encode()) for f in failed] == [(1, broken[0]), (4, broken[1]), (6, broken[2])]
    got = _read_dir(out)
    assert sorted(got) == ["DeviceProcessEvents", ma.UNKNOWN]  # errors in --errors FILE, not in DIR
    assert got["DeviceProcessEvents"].column("ProcessId").to_pylist() == [0, 1, 2, 3]
    assert got[ma.UNKNOWN].column("category").to_pylist() == ["AdvancedHunting-FutureTableOfTomorrow"]
    assert "5 records decoded, 3 failed" in proc.stderr.decode()


def test_table_keeps_only_those_tables(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _cli("--to", "parquet", str(out), "--table", "DeviceEvents", "--table", "SiemAlert", "--stats", "demo")
    assert proc.returncode == 0, proc.stderr.decode()
    got = _read_dir(out)
    assert sorted(got) == ["DeviceEvents", "SiemAlert"]
    expected = _expected([p.read_bytes() for p in DEMO_FILES])
    _assert_tables_equal(got, {name: expected[name] for name in got})
    assert "(other tables, skipped by --table)" in proc.stderr.decode()


def test_explicit_jsonl_is_the_default_output() -> None:
    plain, explicit = _cli("demo", "-q"), _cli("--to", "jsonl", "demo", "-q")
    assert plain.returncode == explicit.returncode == 0
    assert explicit.stdout == plain.stdout and plain.stdout


# --- usage errors: status 2, a message, nothing written -------------------------------------


def test_missing_pyarrow_is_a_usage_error_naming_the_extra(tmp_path: Path) -> None:
    hidden = tmp_path / "hide"
    (hidden / "pyarrow").mkdir(parents=True)
    (hidden / "pyarrow" / "__init__.py").write_text('raise ImportError("No module named \'pyarrow\'")\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hidden), os.environ.get("PYTHONPATH")]))}
    out = tmp_path / "out"
    proc = _cli("--to", "parquet", str(out), "demo", env=env)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "m365parse[arrow]" in err and "pyarrow" in err and "Traceback" not in err
    assert not out.exists()
    assert _cli("demo", "-q", env=env).returncode == 0  # JSON lines need no pyarrow


def test_missing_pyarrow_in_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, name)
    for name in ("m365parse.arrow", "m365parse.parquet"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow: ImportError
    err = io.BytesIO()
    assert run(["--to", "parquet", str(tmp_path / "out"), "demo"], io.BytesIO(), err, io.BytesIO()) == 2
    assert b"pip install 'm365parse[arrow]'" in err.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "parquet"], "needs a directory"),
        (["--to", "parquet", "{out}", "--normalize", "ecs", "demo"], "--normalize cannot be used with --to parquet"),
        (["--overwrite", "demo"], "--overwrite applies to --to parquet"),
        (["demo", "--to", "parquet", "{out}"], "DIR comes first"),
        (["--to", "csv", "demo"], "invalid choice"),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out"
    proc = _cli(*[a.format(out=out) for a in args])
    assert proc.returncode == 2
    assert message in proc.stderr.decode() and proc.stdout == b""
    assert not out.exists()


def test_a_directory_that_is_not_empty_is_refused_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _cli("--to", "parquet", str(out), "demo", "-q").returncode == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (out / "notes.txt").write_text("mine")
    proc = _cli("--to", "parquet", str(out), str(SAMPLES / "DeviceEvents.json"))
    assert proc.returncode == 2 and "is not empty" in proc.stderr.decode() and "--overwrite" in proc.stderr.decode()
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.suffix == ".parquet"} == before
    # --overwrite: the parts of the earlier run go (tables not written again with them), the rest stays
    proc = _cli("--to", "parquet", str(out), "--overwrite", str(SAMPLES / "DeviceEvents.json"))
    assert proc.returncode == 0, proc.stderr.decode()
    assert sorted(p.name for p in out.iterdir()) == ["DeviceEvents", "notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"
    _assert_tables_equal(_read_dir(out), _expected([(SAMPLES / "DeviceEvents.json").read_bytes()]))


def test_a_file_where_dir_should_be_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("a file")
    proc = _cli("--to", "parquet", str(out), "demo")
    assert proc.returncode == 2 and "is not a directory" in proc.stderr.decode()
    assert out.read_text() == "a file"


# --- every record accounted for ---------------------------------------------------------------


def test_a_record_that_cannot_be_converted_is_reported_and_the_others_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = ma.tables_of

    def tables_of(records: Any) -> Any:
        if any(getattr(r.properties, "ProcessId", None) == 2 for r in records):
            raise ValueError("this one cannot be converted")
        return real(records)

    monkeypatch.setattr(ma, "tables_of", tables_of)
    lines = [json.dumps(record(ProcessId=i)).encode() for i in range(4)]
    data = lines[0] + b"\n{broken\n" + b"\n".join(lines[1:]) + b"\n"
    errors, out = tmp_path / "errors.jsonl", tmp_path / "out"
    err = io.BytesIO()
    status = run(["--to", "parquet", str(out), "--errors", str(errors), "--stats"], io.BytesIO(), err, io.BytesIO(data))
    assert status == 1
    failed = [json.loads(line) for line in errors.read_bytes().splitlines()]
    assert [(f["index"], f["raw"]) for f in failed] == [(1, "{broken"), (3, lines[2].decode())]
    assert "cannot be written as Parquet" in failed[1]["reason"]
    got = _read_dir(out)
    assert got["DeviceProcessEvents"].column("ProcessId").to_pylist() == [0, 1, 3]
    text = err.getvalue().decode()
    assert "3 records decoded, 2 failed" in text and "         3  DeviceProcessEvents" in text


def test_writer_makes_row_groups_of_max_rows(tmp_path: Path) -> None:
    """Rows are held per table until they make a row group (not one per small batch of the loop)."""
    records = m365parse.decode(_generated(600)).records
    writer = ParquetWriter(str(tmp_path), max_rows=100)
    for i in range(0, len(records), 7):  # batches far smaller than a row group
        assert writer.write(records[i : i + 7]) == []
    writer.close()
    expected = ma.to_arrow(m365parse.decode(_generated(600)))
    got = _read_dir(tmp_path)
    _assert_tables_equal(got, {name: t.combine_chunks() for name, t in expected.items()})
    for name, table in got.items():
        meta = pq.ParquetFile(tmp_path / name / "part-00000.parquet").metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        assert all(n == 100 for n in sizes[:-1]) and 0 < sizes[-1] <= 100, (name, sizes)
        assert sum(sizes) == table.num_rows
    assert writer.rows == {name: t.num_rows for name, t in got.items()}


def test_ctrl_c_leaves_readable_files_that_hold_what_was_counted(tmp_path: Path) -> None:
    import re
    import signal
    import time

    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "m365parse", "--to", "parquet", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A shell's background job ignores SIGINT, and so would Python started from it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(b"".join(json.dumps(record(ProcessId=i)).encode() + b"\n" for i in range(50)))
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:  # made before the loop starts
        time.sleep(0.05)
    time.sleep(1.0)  # the lines are decoded meanwhile (if not, the counts below still agree)
    proc.send_signal(signal.SIGINT)
    status = proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    proc.stdin.close()
    assert status == 130, err
    assert "Traceback" not in err
    m = re.search(r"(\d+) records decoded, 0 failed \(interrupted\)", err)
    assert m is not None, err
    got = _read_dir(out)  # every file has its footer: pyarrow reads it
    assert sum(t.num_rows for t in got.values()) == int(m.group(1))
    if got:
        assert got["DeviceProcessEvents"].column("ProcessId").to_pylist() == list(range(int(m.group(1))))
