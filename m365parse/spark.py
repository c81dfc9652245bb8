"""Spark: Defender data in a DataFrame decoded into one DataFrame per table (extra ``spark``).

Install with ``pip install 'm365parse[spark]'`` on the driver and make m365parse
importable by the workers' Python (see "What Spark needs" below).

:func:`decode_dataframe` takes a DataFrame with a binary or string column of
Event Hubs message bodies (``value`` of the Kafka source, ``body`` of the Event
Hubs connector), of whole blobs, or of JSON lines (``spark.read.text``, with
``lines=True``), and gives one DataFrame per table and a dead-letter DataFrame
of the records that could not be decoded, from **one pass** over the input:
a single ``mapInArrow`` decodes every row into per-table Arrow batches
(serialized, one row per table and batch), and that result is persisted; each
table's DataFrame reads its own rows back from it.

Schemas (:func:`spark_schema`): those of :func:`m365parse.arrow.schema` with
Spark's types: ``string``, ``long``, ``double``, ``boolean``; JSON columns are
``string`` (field metadata ``m365parse.json``); every datetime column is a
``timestamp`` (microseconds, rounded as ``decode()`` rounds them) followed by a
``<column>_ns`` ``long`` column with the exact nanoseconds since the epoch
(Spark's timestamps hold microseconds; Kusto sends 100 ns ticks).  Field
metadata keeps ``kusto_type``.  The dead-letter DataFrame has ``index`` (the
record's position within its input row), ``path``, ``reason`` and ``raw``
(the record's bytes).  Columns named in ``keep`` (Kafka's ``partition`` and
``offset``, a blob's ``path``) are copied from each input row to every row
decoded from it, in every output (as ``input_<name>`` in an output that has a
column of that name, such as ``path`` in the dead-letter DataFrame).

What Spark needs:

- the workers' Python must import m365parse: set ``PYSPARK_PYTHON`` (and
  ``PYSPARK_DRIVER_PYTHON``) to the interpreter that has it, or install the
  package on the cluster (a Databricks cluster library);
- ``spark.sql.session.timeZone`` = ``UTC`` is recommended: Spark shows
  timestamps in the session time zone (the values are UTC instants either way);
- ``spark.sql.execution.arrow.maxRecordsPerBatch`` counts *input rows* (bodies),
  not records: 10,000 bodies of 1 MB is 10 GB in one Python worker.  Set it
  from the body size (:data:`RECOMMENDED_CONF` has 64 for Event Hubs bodies of
  up to 1 MB; for JSON lines of ~2 kB, 10,000 is fine).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from . import arrow as ma
from ._decode import decode
from .errors import InvalidRecord, M365ParseError
from .record import Record
from .tables import TABLES

__all__ = ["decode_dataframe", "Decoded", "spark_schema", "to_spark_arrow", "RECOMMENDED_CONF"]

#: Spark settings this helper is meant to run with (set them on the session or cluster).
RECOMMENDED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "64",
}

_SPARK_TS = pa.timestamp("us", tz="UTC")
_PACKED = T.StructType(
    [
        T.StructField("table", T.StringType(), False),
        T.StructField("data", T.BinaryType(), False),
        T.StructField("rows", T.LongType(), False),
    ]
)


def _spark_type(arrow_type: pa.DataType) -> T.DataType:
    if isinstance(arrow_type, pa.BaseExtensionType) or pa.types.is_string(arrow_type):
        return T.StringType()
    if pa.types.is_int64(arrow_type):
        return T.LongType()
    if pa.types.is_float64(arrow_type):
        return T.DoubleType()
    if pa.types.is_boolean(arrow_type):
        return T.BooleanType()
    if pa.types.is_binary(arrow_type):
        return T.BinaryType()
    if pa.types.is_timestamp(arrow_type):
        return T.TimestampType()
    raise M365ParseError(f"no Spark type for Arrow type {arrow_type}")


def _metadata(f: pa.Field[Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
    if isinstance(f.type, pa.BaseExtensionType):
        meta["m365parse.json"] = True
    return meta


@functools.cache
def _spark_fields(table: str) -> tuple[T.StructField, ...]:
    out: list[T.StructField] = []
    for f in ma.schema(table):
        out.append(T.StructField(f.name, _spark_type(f.type), f.nullable, _metadata(f)))
        if pa.types.is_timestamp(f.type):
            meta = {**_metadata(f), "m365parse.role": "exact_ns", "m365parse.of": f.name}
            out.append(T.StructField(f.name + "_ns", T.LongType(), True, meta))
    return tuple(out)


def spark_schema(table: str) -> T.StructType:
    """The Spark schema of ``table`` (a table name, :data:`m365parse.arrow.UNKNOWN` or
    :data:`m365parse.arrow.ERRORS`): see the module's documentation."""
    return T.StructType(list(_spark_fields(table)))


def to_spark_arrow(table: pa.Table) -> pa.Table:
    """A table of :mod:`m365parse.arrow` in the Arrow types Spark takes (its :func:`spark_schema`)."""
    arrays: list[Any] = []
    names: list[str] = []
    for f, column in zip(table.schema, table.columns, strict=True):
        data: Any = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        if isinstance(f.type, pa.BaseExtensionType):
            arrays.append(data.storage)
            names.append(f.name)
        elif pa.types.is_timestamp(f.type):
            ns = data.cast(pa.int64())
            arrays += [ma._round_us(ns).cast(_SPARK_TS), ns]
            names += [f.name, f.name + "_ns"]
        else:
            arrays.append(data)
            names.append(f.name)
    return pa.Table.from_arrays(arrays, names=names)


# --- the one pass, on the workers -------------------------------------------------


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value


def _one_row(value: Any, row: int, out: _Decoded) -> None:
    if value is None:
        out.errors.append(InvalidRecord(0, "$", "the input column is null", b""))
        out.error_rows.append(row)
        return
    try:
        batch = decode(value)
    except M365ParseError as exc:
        out.errors.append(InvalidRecord(0, "$", str(exc), _as_bytes(value)))
        out.error_rows.append(row)
        return
    out.records += batch.records
    out.record_rows += [row] * len(batch.records)
    out.errors += batch.errors
    out.error_rows += [row] * len(batch.errors)


@dataclass
class _Decoded:
    records: list[Record] = field(default_factory=list)
    record_rows: list[int] = field(default_factory=list)
    errors: list[InvalidRecord] = field(default_factory=list)
    error_rows: list[int] = field(default_factory=list)


def _decode_rows(values: list[Any], lines: bool) -> _Decoded:
    """Every row's records and errors, each with the row it came from."""
    if lines and values and all(v is not None for v in values):
        joined = [_as_bytes(v) for v in values]
        if not any(b"\n" in v or b"\r" in v for v in joined):
            found = _decode_lines(joined)
            if found is not None:
                return found
    out = _Decoded()
    for row, value in enumerate(values):
        _one_row(value, row, out)
    return out


def _decode_lines(lines: list[bytes]) -> _Decoded | None:
    """Rows of one JSON record each, decoded in one call; None when they are not that."""
    rows = [i for i, line in enumerate(lines) if line.strip()]
    try:
        batch = decode(b"\n".join(lines))
    except M365ParseError:
        return None
    if len(batch.records) + len(batch.errors) != len(rows):
        return None  # a row held several records (a body): row by row then
    out = _Decoded()
    failed = {e.index for e in batch.errors}
    out.records = batch.records
    out.record_rows = [row for k, row in enumerate(rows) if k not in failed]
    out.errors = [InvalidRecord(0, e.path, e.reason, e.raw) for e in batch.errors]
    out.error_rows = [rows[e.index] for e in batch.errors]
    for i, line in enumerate(lines):
        if not line.strip():
            out.errors.append(InvalidRecord(0, "$", "the input row is blank", line))
            out.error_rows.append(i)
    return out


def _ipc(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _kept_name(name: str, taken: Sequence[str]) -> str:
    """A kept input column's name in an output: ``input_<name>`` where the output has ``name``."""
    while name in taken:
        name = "input_" + name
    return name


def _with_kept(table: pa.Table, source: pa.RecordBatch, keep: Sequence[str], rows: list[int]) -> pa.Table:
    if not keep:
        return table
    index = pa.array(rows, pa.int64())
    for name in keep:
        table = table.append_column(_kept_name(name, table.column_names), source.column(name).take(index))
    return table


def _clean_lines(values: list[Any]) -> dict[str, tuple[pa.Table, list[int]]] | None:
    """Rows of one clean record each (no blank, null or multi-line row), decoded once,
    as tables in the Arrow types Spark takes (those of :func:`to_spark_arrow`)."""
    if not values or any(v is None for v in values):
        return None
    lines = [_as_bytes(v) for v in values]
    if any(not line or line.isspace() or b"\n" in line or b"\r" in line for line in lines):
        return None
    found = ma._one_decode_tables(b"\n".join(lines), True)  # in Spark's types already
    if found is None or sum(len(p) for _, p in found.values()) != len(lines):
        return None
    return found  # the positions of records are their rows


def _pack(
    batches: Iterable[pa.RecordBatch], column: str, keep: Sequence[str], lines: bool, max_rows: int
) -> Iterator[pa.RecordBatch]:
    """mapInArrow function: input rows -> (table, Arrow IPC bytes of Spark-typed rows)."""
    for source in batches:
        values = source.column(column).to_pylist()
        clean = _clean_lines(values) if lines else None
        parts: list[tuple[str, pa.Table]] = []
        if clean is not None:
            for name, (table, rows) in clean.items():
                parts.append((name, _with_kept(table, source, keep, rows)))
        else:
            found = _decode_rows(values, lines)
            for name, (table, positions) in ma.tables_of(found.records).items():
                rows = [found.record_rows[p] for p in positions]
                parts.append((name, _with_kept(to_spark_arrow(table), source, keep, rows)))
            if found.errors:
                errors = ma.errors_to_arrow(found.errors)
                parts.append((ma.ERRORS, _with_kept(errors, source, keep, found.error_rows)))
        names: list[str] = []
        blobs: list[bytes] = []
        counts: list[int] = []
        for name, table in parts:
            for piece in table.to_batches(max_chunksize=max_rows):
                names.append(name)
                blobs.append(_ipc(piece))
                counts.append(piece.num_rows)
        if names:
            yield pa.RecordBatch.from_arrays(
                [pa.array(names, pa.string()), pa.array(blobs, pa.binary()), pa.array(counts, pa.int64())],
                names=["table", "data", "rows"],
            )


def _unpack(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow function: the serialized batches of one table, back as record batches."""
    for batch in batches:
        for blob in batch.column(0).to_pylist():
            with pa.ipc.open_stream(pa.py_buffer(bytes(blob or b""))) as reader:
                yield from reader


# --- the driver side ----------------------------------------------------------------


@dataclass
class Decoded:
    """What :func:`decode_dataframe` gives.

    Attributes:
        tables: table name -> DataFrame (every table of :data:`m365parse.TABLES`
            asked for, and :data:`m365parse.arrow.UNKNOWN`), empty when no record
            of it came.
        errors: the dead-letter DataFrame (``index``, ``path``, ``reason``, ``raw``
            and the kept columns).
        packed: the one pass (``table``, ``data``: Arrow IPC bytes, ``rows``: the
            rows in ``data``), persisted unless ``persist=False``; the other
            DataFrames read it.
    """

    tables: dict[str, DataFrame]
    errors: DataFrame
    packed: DataFrame

    def counts(self) -> dict[str, int]:
        """Rows per table of :attr:`tables` that has any, and of :data:`m365parse.arrow.ERRORS`.

        One small Spark job over the persisted one pass (which it runs if it has
        not run yet; with ``persist=False`` it decodes the input again).  Write
        only the tables it names: each DataFrame written is a Spark job, and most
        tables have no record in a given input.
        """
        rows = self.packed.groupBy("table").agg(F.sum("rows").alias("n")).collect()
        wanted = {*self.tables, ma.ERRORS}
        return {row["table"]: int(row["n"]) for row in rows if row["table"] in wanted and row["n"]}

    def unpersist(self) -> None:
        """Release the persisted one pass (after the tables were written)."""
        self.packed.unpersist()


def decode_dataframe(
    df: DataFrame,
    column: str = "body",
    *,
    lines: bool = False,
    keep: Sequence[str] = (),
    tables: Iterable[str] | None = None,
    persist: bool = True,
    max_rows: int = 10_000,
) -> Decoded:
    """Decode ``df[column]`` into one DataFrame per table, in one pass over ``df``.

    ``column`` is binary or string; each value is what :func:`m365parse.decode`
    takes (an Event Hubs body, a whole blob, one record, a SIEM response).
    ``lines=True`` says each row is one JSON line (``spark.read.text``): the rows
    of an Arrow batch are then decoded in one call.  ``keep`` names input columns
    copied to every output row.  ``tables`` limits the tables given a DataFrame
    (default: all, and :data:`m365parse.arrow.UNKNOWN`); records of the others
    are still decoded once and simply not read.  ``max_rows`` bounds the rows of
    one serialized batch.  Nothing runs until an action on one of the results;
    the first one decodes all the input and persists it (``persist=True``).
    """
    if column not in df.columns:
        raise M365ParseError(f"no column {column!r} in the DataFrame (columns: {', '.join(df.columns)})")
    kind = df.schema[column].dataType
    if not isinstance(kind, (T.BinaryType, T.StringType)):
        raise M365ParseError(f"column {column!r} is {kind.simpleString()}: expected binary or string")
    missing = [k for k in keep if k not in df.columns]
    if missing:
        raise M365ParseError(f"columns to keep not in the DataFrame: {', '.join(missing)}")
    names = [*TABLES, ma.UNKNOWN] if tables is None else list(tables)
    for name in names:
        ma.schema(name)  # an unknown name raises here, not in a worker
    kept = [df.schema[k] for k in keep]
    pack = functools.partial(_pack, column=column, keep=tuple(keep), lines=lines, max_rows=max_rows)
    packed = df.select(column, *keep).mapInArrow(pack, _PACKED)
    if persist:
        packed = packed.persist(StorageLevel.MEMORY_AND_DISK)

    def frame(name: str) -> DataFrame:
        fields = list(spark_schema(name).fields)
        for f in kept:
            taken = [x.name for x in fields]
            fields.append(T.StructField(_kept_name(f.name, taken), f.dataType, f.nullable, f.metadata))
        sch = T.StructType(fields)
        return packed.where(F.col("table") == F.lit(name)).select("data").mapInArrow(_unpack, sch)

    return Decoded({name: frame(name) for name in names}, frame(ma.ERRORS), packed)
