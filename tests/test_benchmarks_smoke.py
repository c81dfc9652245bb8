"""The benchmark suite runs end to end on tiny sizes, so that it cannot rot.

Not a benchmark: the figures of so small a run mean nothing.  CI installs only
the ``test`` extra, so orjson and pydantic may be missing: their variants must
then be reported as skipped, not crash the suite.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

import m365parse
from benchmarks import api_shapes
from benchmarks.data import encode_units, join_units
from benchmarks.variants import VARIANTS, Unavailable

ROOT = Path(__file__).resolve().parent.parent
REPORTABLE = {"ok", "skipped", "not available", "n/a"}


def test_suite_runs_on_tiny_sizes(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "benchmarks", "--records", "40", "--batch-size", "20", "--repeat", "1"]
    cmd += ["--scale-max", "100", "--stream-bytes", "1M", "--chunk-bytes", "256K", "--import-runs", "1"]
    cmd += ["--shapes", "body,lines", "--json", str(out), "--quiet"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text(encoding="utf-8"))

    assert set(result["shapes"]) == {"body", "lines"}
    for shape, info in result["shapes"].items():
        variants = info["variants"]
        assert set(variants) == set(VARIANTS)
        for name, r in variants.items():
            assert r["status"] in REPORTABLE, (shape, name, r)
        for name in ("decode", "ceiling", "json", "untyped"):
            assert variants[name]["status"] == "ok", (shape, name)
            assert variants[name]["records"] == 40
            assert variants[name]["us_per_record"] > 0
        for name, module in (("orjson", "orjson"), ("pydantic", "pydantic")):
            installed = importlib.util.find_spec(module) is not None
            assert variants[name]["status"] == ("ok" if installed else "skipped"), (shape, name)
        assert variants["incremental"]["status"] == ("ok" if shape == "lines" else "n/a")
        assert variants["decode"]["ratio_to_decode"] == 1.0

    assert [(r["size"], r["decode"]["status"], r["ceiling"]["status"]) for r in result["scaling"]] == [(100, "ok", "ok")]
    assert result["stream"]["status"] == "ok"
    assert result["stream"]["bytes"] >= 2**20
    assert result["import"]["status"] == "ok"
    assert result["tables30"]["status"] == "ok", result["tables30"]
    assert result["tables30"]["decode"]["records"] == result["tables30"]["ceiling"]["records"] == 40
    assert "## All streamed tables (30) in one batch" in proc.stdout
    assert {t["result"] for t in result["targets"]} <= {"PASS", "MISS", "n/a"}
    cli = result["cli"]  # the command line end to end, and streamed (benchmarks/cli.py)
    assert {m: r["status"] for m, r in cli["modes"].items()} == dict.fromkeys(("decode", "decode-whole", "cli", "cli-jsa"), "ok")
    assert cli["modes"]["decode"]["ratio_to_decode"] == 1.0 and cli["modes"]["cli"]["records"] == 40
    assert cli["stream"]["status"] == "ok" and cli["stream"]["peak_rss"] > 0 and cli["stream"]["records"] > 0
    assert "## Command line" in proc.stdout
    for heading in ("# m365parse benchmarks", "## Targets", "## Scaling", "## Streaming", "## Import time"):
        assert heading in proc.stdout


@pytest.mark.parametrize("shape", ["body", "lines", "siem"])
def test_every_variant_reads_its_shapes(shape: str) -> None:
    units = list(encode_units(shape, 20, 10))
    for name, variant in VARIANTS.items():
        try:
            run, count = variant.setup(shape, {"sample": units[0]})
        except Unavailable as exc:
            assert exc.status in REPORTABLE - {"ok"}, (name, exc)
            continue
        if name == "incremental":
            assert count(run(b"".join(units))) == 20
        else:
            assert sum(count(run(unit)) for unit in units) == 20, name


def test_data_is_deterministic_and_decodes_cleanly() -> None:
    for shape in ("body", "lines", "siem"):
        first = list(encode_units(shape, 30, 12, seed=7))
        assert first == list(encode_units(shape, 30, 12, seed=7))
        assert first != list(encode_units(shape, 30, 12, seed=8))
        assert len(first) == 3
        batches = [m365parse.decode(unit) for unit in first]
        assert sum(len(b.records) for b in batches) == 30
        assert not any(b.errors for b in batches)
        assert not any(r.extra or r.envelope_extra for b in batches for r in b.records)


@pytest.mark.parametrize("name", ["orjson", "pydantic"])
def test_missing_optional_dependency_is_skipped(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, name, None)  # makes `import name` raise ImportError
    with pytest.raises(Unavailable) as info:
        VARIANTS[name].setup("body", {})
    assert info.value.status == "skipped"


def test_columnar_section_runs_on_tiny_sizes(tmp_path: Path) -> None:
    """benchmarks/columnar.py end to end, without Spark (its own tests cover it)."""
    out = tmp_path / "columnar.json"
    cmd = [sys.executable, "-m", "benchmarks.columnar", "--records", "60", "--batch-size", "20", "--repeat", "1"]
    cmd += ["--parquet-bytes", "1048576", "--json", str(out), "--quiet"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    variants = result["variants"]
    assert variants["decode"]["status"] == "ok" and variants["decode"]["rows"] == 60
    arrow_installed = importlib.util.find_spec("pyarrow") is not None
    assert variants["to_arrow"]["status"] == ("ok" if arrow_installed else "skipped")
    for name, r in variants.items():
        assert r["status"] in {"ok", "skipped", "error"}, (name, r)
    if arrow_installed:
        assert variants["to_arrow"]["rows"] == 60
        assert result["parquet"]["status"] == "ok" and result["parquet"]["rows"] > 0
        cli = result["parquet_cli"]  # the same bytes through python -m m365parse --to parquet
        assert cli["status"] == "ok" and cli["rows"] == result["parquet"]["rows"], cli
    assert "## Columnar output" in proc.stdout
    assert {t["result"] for t in result["targets"]} <= {"PASS", "MISS", "n/a"}


@pytest.mark.parametrize("shape", sorted(api_shapes.SHAPES))
def test_api_shapes_decode_as_their_ceiling_reads_them(shape: str) -> None:
    units = list(api_shapes.encode(shape, 25, 10))
    assert units == list(api_shapes.encode(shape, 25, 10))  # deterministic
    ceiling, count = api_shapes.ceiling(shape)
    batches = [m365parse.decode(unit) for unit in units]
    assert not any(b.errors for b in batches)
    assert [len(b.records) for b in batches] == [count(ceiling(unit)) for unit in units] == [10, 10, 5]
    # each row as the ceiling decodes it: the records' properties are of the ceiling's struct
    rows = ceiling(units[0])
    items = rows.value if shape == "graph" else rows.Results
    assert [type(r.properties) for r in batches[0].records] == [type(i) for i in items]
    if shape == "hunting-table":  # the shape is about rows of a known table: its columns must stay the table's
        assert {r.table for b in batches for r in b.records} == {"AlertInfo"}


def _containers(value: object) -> list[int]:
    """The ids of every dict, list and datetime in ``value`` (what each event has its own of)."""
    found: list[int] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, datetime):
            found.append(id(item))
        elif isinstance(item, dict):
            found.append(id(item))
            stack.extend(item.values())
        elif isinstance(item, list):
            found.append(id(item))
            stack.extend(item)
    return found


@pytest.mark.parametrize("rule_set", ["jsa", "ecs", "ocsf"])
def test_the_floor_rebuilds_each_event_with_containers_of_its_own(rule_set: str) -> None:
    """``benchmarks.floor``'s two ways give events equal to the rule set's, none of whose dicts,
    lists and timestamps is shared with the event or with another build (what the floor times is
    what a rule set must do)."""
    from benchmarks.floor import builder, copier

    for shape in ("siem", "hunting-table", "graph"):
        unit = next(iter(encode_units(shape, 3, 3)))
        for event in m365parse.decode_normalized(unit, rule_set).events:
            for make in (builder, copier):
                build = make(event)
                first, second = build(), build()
                assert first == second == event
                ids = _containers(first)
                assert not set(ids) & set(_containers(event)) and not set(ids) & set(_containers(second))


def test_the_floor_section_runs_on_tiny_sizes() -> None:
    cmd = [sys.executable, "-m", "benchmarks.floor", "--records", "20", "--batch-size", "10", "--rounds", "1"]
    cmd += ["--shapes", "siem,hunting", "--rule-sets", "jsa"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("| siem", "| hunting"))]
    assert len(rows) == 2 and all(line.count("x") >= 2 for line in rows)


def test_instructions_parse_cachegrind_output(tmp_path: Path) -> None:
    """``benchmarks.instructions`` reads cachegrind's own file: per function, instructions and
    D1 misses that add up to the file's totals."""
    from benchmarks.instructions import parse

    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed")
    out = tmp_path / "cg.out"
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", f"--cachegrind-out-file={out}", sys.executable]
    cmd += ["-S", "-c", "sum(range(20000))"]
    subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    counts = parse(out.read_text(encoding="utf-8", errors="replace"))
    assert counts.ir > 20000 and counts.d1 > 0
    assert sum(ir for ir, _ in counts.functions.values()) == counts.ir
    assert sum(d1 for _, d1 in counts.functions.values()) == counts.d1
    with pytest.raises(ValueError, match="cachegrind"):
        parse("events: Ir\nfl=a\nfn=b\n1 5\nsummary: 5\n")  # counted without the cache simulation


def test_instructions_child_and_report(tmp_path: Path) -> None:
    """What a counted process runs gives every record; the report gives ratios to the ceiling
    and the functions that differ most, largest first."""
    from benchmarks.instructions import child, report

    data = tmp_path / "hunting.data"
    data.write_bytes(join_units("hunting", list(encode_units("hunting", 25, 10))))
    for variant in ("decode", "ceiling"):
        assert child(variant, "hunting", data, 10, 2) == 25
    fns = {"a:Struct_vectorcall": (300.0, 1.0), "b:x": (5.0, 0.0)}
    ref = {"a:Struct_vectorcall": (100.0, 1.0), "b:x": (10.0, 0.0)}
    result = {
        "shape": "hunting",
        "records": 25,
        "variants": {
            "decode": {"ir": 1100.0, "d1": 12.0, "functions": fns},
            "ceiling": {"ir": 1000.0, "d1": 10.0, "functions": {}},
            "ceiling-gc-off": {"ir": 1000.0, "d1": 8.0, "functions": ref},
        },
    }
    text = report([result], ["decode", "ceiling", "ceiling-gc-off"], functions=2)
    assert "| hunting | decode | 1100 | 12.0 | 1.100x | 1.20x | 1.100x | 1.50x |" in text
    assert "| hunting | ceiling | 1000 | 10.0 | 1.000x | 1.00x | 1.000x | 1.25x |" in text
    assert "### hunting: decode minus ceiling-gc-off, per record" in text  # like for like: decode() runs so
    rows = [line for line in text.splitlines() if line.startswith(("| +", "| -"))]
    assert rows == ["| +200.0 | +0.00 | `a:Struct_vectorcall` |", "| -5.0 | +0.00 | `b:x` |"]


def test_instructions_without_valgrind_says_so(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import instructions

    monkeypatch.setattr(instructions.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit) as info:
        instructions.main(["--shapes", "body"])
    assert info.value.code == 2
    assert "valgrind is not installed" in capsys.readouterr().err
