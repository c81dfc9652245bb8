"""m365parse.spark on a local Spark session (local[2]); one session for the module.

Needs pyspark and Java 17 (CI installs both); skipped where pyspark is missing.
The tests are few and each collects several outputs of one decode, because
every Spark action costs seconds here.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java", allow_module_level=True)

import m365parse  # noqa: E402
from m365parse import arrow as ma  # noqa: E402
from m365parse import spark as ms  # noqa: E402

from .conftest import record  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "m365parse" / "samples").glob("*.json"))


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    # The workers must run this interpreter (it has this checkout's m365parse).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    builder = SparkSession.builder.master("local[2]").appName("m365parse-tests")
    for key, value in {
        **ms.RECOMMENDED_CONF,
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.driver.memory": "1g",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "7",  # several Arrow batches per partition
    }.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _rows(table: Any) -> list[dict[str, Any]]:
    """Rows with timestamps as integers (microseconds), comparable across Spark and pyarrow."""
    columns = {}
    for name, column in zip(table.column_names, table.columns):
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("us", "UTC")).cast(pa.int64())
        columns[name] = column.to_pylist()
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def test_spark_schema() -> None:
    sch = ms.spark_schema("DeviceProcessEvents")
    names = sch.fieldNames()
    assert names[:3] == ["time", "time_ns", "tenantId"]
    assert sch["Timestamp"].dataType.simpleString() == "timestamp"
    assert sch["Timestamp_ns"].dataType.simpleString() == "bigint"
    assert sch["ProcessId"].dataType.simpleString() == "bigint"
    assert sch["ProcessId"].metadata["kusto_type"] == "long"
    assert sch["AdditionalFields"].dataType.simpleString() == "string"
    assert sch["extra"].metadata["m365parse.json"] is True
    assert ms.spark_schema(ma.ERRORS).fieldNames() == ["index", "path", "reason", "raw"]
    for table in m365parse.TABLES:  # every table has one
        assert len(ms.spark_schema(table).fields) > len(ma.schema(table))


def test_clean_lines_come_in_spark_types_equal_to_spark_arrow() -> None:
    # the one pass builds clean JSON lines in Spark's Arrow types at once: the same
    # tables as to_spark_arrow() of to_arrow()'s, microseconds rounded as decode() does
    import msgspec

    lines = b"".join(
        msgspec.json.encode(r) + b"\n"
        for p in SAMPLES
        if p.name != "SiemAlert.json"
        for r in msgspec.json.decode(p.read_bytes())["records"]
    )
    lines += msgspec.json.encode(record("DeviceInfo", Timestamp="1969-12-31T23:59:59.9999995Z")) + b"\n"  # before 1970
    direct = ms._clean_lines(lines.splitlines())
    via = ma.one_decode_tables(lines)
    assert direct is not None and via is not None and set(direct) == set(via)
    for name, (table, rows) in via.items():
        assert direct[name][1] == rows
        assert direct[name][0].equals(ms.to_spark_arrow(table)), name
        assert direct[name][0].schema.names == ms.spark_schema(name).fieldNames()
    info = direct["DeviceInfo"][0].slice(direct["DeviceInfo"][0].num_rows - 1)
    assert info.column("Timestamp_ns").to_pylist() == [-500]
    assert info.column("Timestamp").cast(pa.int64()).to_pylist() == [0]  # half up, as decode() rounds


def test_event_hubs_bodies_one_dataframe_per_table(spark: Any) -> None:
    bodies: list[bytes | None] = [p.read_bytes() for p in SAMPLES]
    bodies += [b"not json at all {", None, b'{"records": [{"category": 1}]}']
    df = spark.createDataFrame([(b, i) for i, b in enumerate(bodies)], "body binary, offset long")
    decoded = ms.decode_dataframe(df, "body", keep=["offset"])
    try:
        assert set(decoded.tables) == set(m365parse.TABLES) | {ma.UNKNOWN}
        # every table at once, from the one pass (one Spark action) ...
        packed: dict[str, list[Any]] = {}
        for row in decoded.packed.toArrow().to_pylist():
            with pa.ipc.open_stream(row["data"]) as reader:
                packed.setdefault(row["table"], []).append(reader.read_all())
        expected: dict[str, list[dict[str, Any]]] = {}
        for i, raw in enumerate(bodies[: len(SAMPLES)]):
            assert raw is not None
            for name, table in ma.to_arrow(raw).items():
                expected.setdefault(name, []).extend({**row, "offset": i} for row in _rows(ms.to_spark_arrow(table)))
        assert set(packed) == set(expected) | {ma.ERRORS}
        # the rows per table, from the persisted pass, without reading the tables
        counts = decoded.counts()
        assert counts == {**{name: len(rows) for name, rows in expected.items()}, ma.ERRORS: 3}
        for name, rows in expected.items():
            got = pa.concat_tables(packed[name])
            assert got.schema.names == [*ms.spark_schema(name).fieldNames(), "offset"]
            assert sorted(_rows(got), key=repr) == sorted(rows, key=repr), name
        # ... and through a table's own DataFrame: microseconds equal to decode()'s
        # datetimes, nanoseconds to timestamp_ns
        batch = m365parse.decode(SAMPLES[[p.stem for p in SAMPLES].index("DeviceProcessEvents")].read_bytes())
        got = decoded.tables["DeviceProcessEvents"].select("Timestamp", "Timestamp_ns", "offset").collect()
        want = [(r.properties.Timestamp, m365parse.timestamp_ns(r, "Timestamp")) for r in batch.records]
        assert [(row.Timestamp.replace(tzinfo=timezone.utc), row.Timestamp_ns) for row in got] == want
        errors = sorted(decoded.errors.collect(), key=lambda row: row.offset)
        assert [(e["offset"], e["index"], bytes(e["raw"])) for e in errors] == [
            (len(SAMPLES), 0, b"not json at all {"),
            (len(SAMPLES) + 1, 0, b""),
            (len(SAMPLES) + 2, 0, b'{"category": 1}'),
        ]
        assert "null" in errors[1].reason and "category" in errors[2].reason
    finally:
        decoded.unpersist()


def test_json_lines_of_a_blob(spark: Any) -> None:
    golden = sorted((ROOT / "tests" / "golden").glob("*/*.input.jsonl"))
    lines = [line for p in golden for line in p.read_bytes().decode("utf-8", "replace").splitlines()]
    lines = [line.rstrip("\r") for line in lines]
    lines.append(json.dumps(record("FutureTableOfTomorrow", Timestamp="2026-11-29T09:59:58Z")))  # an unknown table
    df = spark.createDataFrame([(line, "blob-1") for line in lines], "value string, path string")
    decoded = ms.decode_dataframe(df, "value", lines=True, keep=["path"], tables=["DeviceInfo", ma.UNKNOWN])
    try:
        assert set(decoded.tables) == {"DeviceInfo", ma.UNKNOWN}
        expected = ma.to_arrow("\n".join(lines))
        blank = sum(1 for line in lines if not line.strip())
        assert decoded.counts() == {  # only the tables asked for (and errors)
            "DeviceInfo": expected["DeviceInfo"].num_rows,
            ma.UNKNOWN: expected[ma.UNKNOWN].num_rows,
            ma.ERRORS: expected[ma.ERRORS].num_rows + blank,
        }
        got = decoded.tables["DeviceInfo"].toArrow()
        assert set(got.column("path").to_pylist()) == {"blob-1"}
        assert sorted(_rows(got.drop_columns(["path"])), key=repr) == sorted(
            _rows(ms.to_spark_arrow(expected["DeviceInfo"])), key=repr
        )
        assert decoded.tables[ma.UNKNOWN].count() == expected[ma.UNKNOWN].num_rows
        errors = decoded.errors.toArrow()
        assert errors.schema.names == ["index", "path", "reason", "raw", "input_path"]  # kept, renamed
        assert errors.num_rows == expected[ma.ERRORS].num_rows + blank
        assert sorted(r for r in errors.column("raw").to_pylist() if r) == sorted(
            expected[ma.ERRORS].column("raw").to_pylist()
        )
    finally:
        decoded.unpersist()


def test_bad_arguments_fail_on_the_driver(spark: Any) -> None:
    df = spark.createDataFrame([(1, "x")], "n long, s string")
    with pytest.raises(m365parse.M365ParseError, match="no column"):
        ms.decode_dataframe(df, "body")
    with pytest.raises(m365parse.M365ParseError, match="expected binary or string"):
        ms.decode_dataframe(df, "n")
    with pytest.raises(m365parse.M365ParseError, match="keep"):
        ms.decode_dataframe(df, "s", keep=["nope"])
    with pytest.raises(m365parse.M365ParseError, match="NoSuchTable"):
        ms.decode_dataframe(df, "s", tables=["NoSuchTable"])
