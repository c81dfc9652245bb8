"""Columnar output: decoded records as Apache Arrow tables, one per table (extra ``arrow``).

Install with ``pip install 'm365parse[arrow]'`` (pyarrow 19 or newer); the rest of
m365parse never imports pyarrow.

- :func:`schema` gives the Arrow schema of a table, derived from its struct's
  field annotations (so every generated table, and any ``msgspec.Struct``, has one).
- :func:`to_arrow` turns an input (what :func:`m365parse.decode` takes) or a
  decoded :class:`m365parse.Batch` into ``{table: pyarrow.Table}``.
- :func:`ocsf_schema` and :func:`ocsf_tables`: OCSF events (``normalize(..., "ocsf")``)
  as one Arrow table per OCSF class, for Amazon Security Lake (see ``_ocsf_arrow``).
- :func:`iter_arrow` streams JSON lines fed in chunks through
  :class:`m365parse.JsonLinesDecoder` and yields ``(table, pyarrow.RecordBatch)``
  pairs of bounded size.

Schema rules (every column nullable):

========================================  ===========================================
annotation of the struct field            Arrow type
========================================  ===========================================
``str``                                   ``string``
``int``                                   ``int64``
``float``                                 ``float64``
``bool``                                  ``bool``
``Timestamp`` (``datetime``)              ``timestamp("ns", "UTC")``, exact to the
                                          digit that arrived (:func:`timestamp_ns`)
``str`` with containers (``JsonText``,    ``string``: a string as it arrived, an
``str | list``, ...)                      object/array (or other value) as its JSON text
``Any``, containers, nested ``Struct``,   ``pyarrow.json_()`` (Arrow's JSON extension
lists of structs, other unions            type, a string of valid JSON): the value's
                                          JSON encoding
========================================  ===========================================

A streamed table has the envelope columns first (``time``, ``tenantId``,
``operationName``, ``_TimeReceivedBySvc``, ``Tenant``), then the table's columns in
declared order, then ``extra`` and ``envelope_extra`` (JSON objects of
:attr:`Record.extra` / :attr:`Record.envelope_extra`, null when empty), so nothing
is lost.  Kinds without an envelope (``SiemAlert``: record types that define their
own ``category``) have no envelope columns; a kind whose ``properties`` has no
struct type of its own keeps them as JSON in a ``properties`` column.  Records of
tables this version does not know go to the table :data:`UNKNOWN` (envelope,
``category``, ``properties`` as JSON); records that could not be decoded go to :data:`ERRORS`
(``index``, ``path``, ``reason``, ``raw``).  A value that a column cannot hold
(an integer beyond int64, a datetime outside the years 1677-2262 that
nanoseconds reach) is null in its column and kept in ``extra`` (the integer, or
the timestamp's exact UTC text), as decode keeps values that do not fit.

Field metadata: ``kusto_type`` names the documented type (``DOCUMENTED_TYPES``)
and ``m365parse.role`` is ``envelope``, ``column`` or ``extra``.  A column
name that an envelope column also has (none today) gives the envelope one an
``envelope_`` prefix.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Union

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from . import _json
from ._collector import collector_off
from ._decode import decode
from ._lines import JsonLinesDecoder
from ._values import format_ns, timestamp_ns
from .errors import InvalidRecord, M365ParseError
from .record import Batch, Record, SiemRecord, UnknownRecord
from .tables import DOCUMENTED_TYPES, RECORD_TYPES, TABLES

__all__ = [
    "schema",
    "to_arrow",
    "iter_arrow",
    "TableBuffers",
    "records_to_arrow",
    "tables_of",
    "one_decode_tables",
    "errors_to_arrow",
    "UNKNOWN",
    "ERRORS",
    "ocsf_schema",
    "ocsf_tables",
    "OCSF_DEPTH",
    "TimeType",
]

#: Name of the table of records of tables this version does not know.
UNKNOWN = "unknown"
#: Name of the table of records that could not be decoded.
ERRORS = "errors"

NS = pa.timestamp("ns", tz="UTC")
_SPARK_TS = pa.timestamp("us", tz="UTC")
_JSON = pa.json_()
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_ENC = msgspec.json.Encoder()
_STRINGS = msgspec.json.Decoder(list[Union[str, None]])  # noqa: UP007
_OWN = ("@m365parse.",)  # encode names of the decoder's own Record fields

# --- the schema, derived from annotations --------------------------------------------

def _kind(t: msgspec.inspect.Type) -> str:
    """The column kind of one msgspec type (Optional already allowed: None is null)."""
    mi = msgspec.inspect
    if isinstance(t, mi.UnionType):
        inner = [x for x in t.types if not isinstance(x, mi.NoneType)]
        if len(inner) == 1:
            return _kind(inner[0])
        kinds = {_kind(x) for x in inner}
        if "str" in kinds:
            return "text"
        return "json"
    if isinstance(t, mi.StrType):
        return "str"
    if isinstance(t, mi.BoolType):
        return "bool"
    if isinstance(t, mi.IntType):
        return "int"
    if isinstance(t, mi.FloatType):
        return "float"
    if isinstance(t, mi.DateTimeType):
        return "timestamp"
    if isinstance(t, mi.LiteralType) and all(isinstance(v, str) for v in t.values):
        return "str"
    return "json"


_ARROW_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": NS,
    "text": pa.string(),
    "json": _JSON,
}


@dataclass(frozen=True)
class _Column:
    name: str  # the Arrow column name
    attr: str  # the attribute on the struct (or record, for envelope columns)
    kind: str
    role: str  # "envelope", "column" or "extra"
    documented: str | None


@dataclass(frozen=True)
class _Plan:
    table: str
    envelope: tuple[_Column, ...]
    columns: tuple[_Column, ...]  # in struct field order (astuple order)
    trailer: tuple[_Column, ...]  # extra, envelope_extra (and category/properties for unknown)
    schema: pa.Schema


def _field(col: _Column) -> pa.Field[Any]:
    meta = {"m365parse.role": col.role}
    if col.documented:
        meta["kusto_type"] = col.documented
    return pa.field(col.name, _ARROW_TYPES[col.kind], nullable=True, metadata=meta)


def _has_envelope(record_type: type[Record]) -> bool:
    """Streamed records have an envelope; kinds that define their own ``category``
    (SIEM alerts, and the like) have none: their envelope attributes are always None."""
    return issubclass(record_type, UnknownRecord) or getattr(record_type, "category", None) is Record.category


def _envelope_columns(record_type: type[Record], taken: set[str]) -> list[_Column]:
    if not _has_envelope(record_type):
        return []
    out = []
    for f in msgspec.structs.fields(record_type):
        if f.name in ("properties", "category") or f.encode_name.startswith(_OWN):
            continue
        name = f.encode_name if f.encode_name not in taken else "envelope_" + f.encode_name
        out.append(_Column(name, f.name, _kind(msgspec.inspect.type_info(f.type)), "envelope", None))
    return out


@functools.cache
def _plan(record_type: type[Record], struct_type: type[msgspec.Struct] | None, table: str) -> _Plan:
    documented = DOCUMENTED_TYPES.get(table, {})
    columns: list[_Column] = []
    if struct_type is not None:
        for f in msgspec.structs.fields(struct_type):
            kind = _kind(msgspec.inspect.type_info(f.type))
            columns.append(_Column(f.encode_name, f.name, kind, "column", documented.get(f.encode_name)))
    taken = {c.name for c in columns} | {"extra", "envelope_extra"}
    envelope = _envelope_columns(record_type, taken)
    trailer = [_Column("extra", "extra", "json", "extra", None)]
    if struct_type is None:  # rows without a struct of their own: the row as JSON
        trailer = [_Column("properties", "properties", "json", "column", None), *trailer]
        if issubclass(record_type, UnknownRecord):
            trailer.insert(0, _Column("category", "category", "str", "envelope", None))
    trailer.append(_Column("envelope_extra", "envelope_extra", "json", "extra", None))
    names = [c.name for c in (*envelope, *columns, *trailer)]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise M365ParseError(f"table {table!r}: column names {dupes} clash with m365parse's own columns")
    sch = pa.schema([_field(c) for c in (*envelope, *columns, *trailer)], metadata={"m365parse.table": table})
    return _Plan(table, tuple(envelope), tuple(columns), tuple(trailer), sch)


@functools.cache
def _properties_type(record_type: type[Record]) -> type[msgspec.Struct] | None:
    for f in msgspec.structs.fields(record_type):
        if f.name == "properties":
            return f.type if isinstance(f.type, type) and issubclass(f.type, msgspec.Struct) else None
    return None


_ERRORS_FIELDS: list[pa.Field[Any]] = [
    pa.field("index", pa.int64(), nullable=False),
    pa.field("path", pa.string(), nullable=False),
    pa.field("reason", pa.string(), nullable=False),
    pa.field("raw", pa.binary(), nullable=False),
]
_ERRORS_SCHEMA = pa.schema(_ERRORS_FIELDS, metadata={"m365parse.table": ERRORS})


def _record_kind(name: str) -> type[Record] | None:
    """The record type, among every subclass of Record, whose ``table`` is ``name``."""
    stack = list(Record.__subclasses__())
    while stack:
        kind = stack.pop()
        if kind.__dict__.get("_table") == name:
            return kind
        stack.extend(kind.__subclasses__())
    return None


def _table_plan(table: str | type[msgspec.Struct], envelope: bool = True) -> _Plan:
    if isinstance(table, type):
        if issubclass(table, Record):
            name = next((k for k, v in RECORD_TYPES.items() if v is table), table.__name__)
            return _plan(table, _properties_type(table), name)
        if issubclass(table, msgspec.Struct):
            name = next((k for k, v in TABLES.items() if v is table), table.__name__)
            return _plan(Record if envelope else SiemRecord, table, name)
        raise TypeError(f"expected a table name or a msgspec.Struct type, got {table!r}")
    if table in RECORD_TYPES:
        record_type = RECORD_TYPES[table]
        return _plan(record_type, _properties_type(record_type), table)
    if table == "SiemAlert":
        return _plan(SiemRecord, TABLES["SiemAlert"], table)
    if table == UNKNOWN:
        return _plan(UnknownRecord, None, UNKNOWN)
    if table in TABLES:
        return _plan(Record, TABLES[table], table)
    kind = _record_kind(table)
    if kind is not None:  # another kind of record (alerts or incidents of an API, ...)
        return _plan(kind, _properties_type(kind) or TABLES.get(table), table)
    raise M365ParseError(f"unknown table {table!r}; known: the keys of m365parse.TABLES, {UNKNOWN!r}, {ERRORS!r}")


def schema(table: str | type[msgspec.Struct], *, envelope: bool = True) -> pa.Schema:
    """The Arrow schema of ``table``.

    ``table`` is a name of :data:`m365parse.TABLES`, :data:`UNKNOWN`, :data:`ERRORS`
    or of another record kind (the ``table`` of a ``Record`` subclass), or a struct
    type (a table's struct, a ``Record`` subclass, any ``msgspec.Struct``;
    ``envelope=False`` leaves the envelope columns out for a bare struct).  See the
    module's documentation for the rules.

    Raises :class:`m365parse.M365ParseError` for an unknown table name.
    """
    if table == ERRORS:
        return _ERRORS_SCHEMA
    return _table_plan(table, envelope).schema


# --- building columns ----------------------------------------------------------------


def _json_text(value: Any) -> str | None:
    # the library's encoder: a lone surrogate is written as its \udXXX escape (valid UTF-8, lossless)
    return None if value is None else _json.encode(value).decode()


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _json_text(value)


def _text_array(values: Sequence[Any], column: str, misfits: _Misfits) -> pa.Array[Any]:
    """A string column value by value: a text Arrow cannot hold (a lone surrogate: Arrow
    strings are UTF-8) is null there and kept in the row's ``extra``, as decode() keeps
    a value that does not fit its column."""
    fixed = []
    for row, v in enumerate(values):
        v = _text(v)
        if v is not None:
            try:
                v.encode()
            except UnicodeEncodeError:
                misfits.add(row, column, v)
                v = None
        fixed.append(v)
    return pa.array(fixed, pa.string())


def _json_or_null(value: Any) -> str | None:
    return _json_text(value) if value else None


class _Misfits:
    """Values a column cannot hold, per row: they go to that row's ``extra``."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}

    def add(self, row: int, column: str, value: Any) -> None:
        self.rows.setdefault(row, {})[column] = value


def _int_array(values: Sequence[Any], column: str, misfits: _Misfits) -> pa.Array[Any]:
    try:
        return pa.array(values, pa.int64())
    except (OverflowError, pa.ArrowInvalid):
        fixed = []
        for row, v in enumerate(values):
            if v is not None and not _INT64_MIN <= v <= _INT64_MAX:
                misfits.add(row, column, v)
                v = None
            fixed.append(v)
        return pa.array(fixed, pa.int64())


# The one form of datetime text Arrow parses exactly as msgspec does (msgspec, and
# so decode(), accepts more; Arrow then checks the day of the month).
_CANONICAL = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?Z$"


def _picked(records: Sequence[Record]) -> list[Any] | None:
    """Each record's view in its origin (the datetime texts read again, once per origin),
    or None when a record has no such origin (then: :func:`timestamp_ns` per value)."""
    loaded: dict[int, list[Any]] = {}
    out: list[Any] = []
    for r in records:
        src = r._source()
        if src is None:
            return None
        origin, pos = src
        views = loaded.get(id(origin))
        if views is None:
            load = getattr(origin, "_views_list", None)
            views = load() if load is not None else None
            if not isinstance(views, list):
                return None
            loaded[id(origin)] = views
        if not 0 <= pos < len(views):
            return None
        out.append(views[pos])
    return out


def _texts(picked: list[Any], columns: list[_Column]) -> dict[str, Sequence[Any]]:
    """Column -> the datetime texts of the records as they arrived (from their views)."""
    out: dict[str, Sequence[Any]] = {}
    for envelope in (True, False):
        attrs = [c.attr for c in columns if (c.role == "envelope") == envelope]
        if not attrs:
            continue
        try:
            source = picked if envelope else [v.properties for v in picked]
            rows = list(map(operator.attrgetter(*attrs), source))
        except AttributeError:  # untyped views, or a column the views do not hold: one by one
            for attr in attrs:
                out[attr] = _view_texts(picked, attr, envelope)
            continue
        if len(attrs) == 1:
            out[attrs[0]] = rows
        else:
            out.update(zip(attrs, zip(*rows, strict=True), strict=True))
    return out


def _view_texts(picked: list[Any], attr: str, envelope: bool) -> list[Any]:
    out: list[Any] = []
    for view in picked:
        if not envelope:
            view = view.get("properties") if isinstance(view, dict) else getattr(view, "properties", None)
        text = view.get(attr) if isinstance(view, dict) else getattr(view, attr, None)
        out.append(text if isinstance(text, str) else None)
    return out


class _Build:
    """One table being built: its columns' values, converted for all tables of a batch at once."""

    __slots__ = ("arrays", "jobs", "misfits", "plan", "records")

    def __init__(self, plan: _Plan, records: Sequence[Record]) -> None:
        self.plan = plan
        self.records = records
        self.arrays: list[pa.Array[Any] | None] = []
        self.misfits = _Misfits()
        self.jobs: list[tuple[int, _Column, Sequence[Any]]] = []

    def add(self, column: _Column, values: Sequence[Any]) -> None:
        """A column to convert: its array goes to the next slot."""
        self.jobs.append((len(self.arrays), column, values))
        self.arrays.append(None)


def _start(records: Sequence[Record]) -> _Build:
    if not records:
        raise ValueError("records_to_arrow() needs at least one record")
    record_type = type(records[0])
    if any(type(r) is not record_type for r in records):
        raise ValueError("records_to_arrow(): records of several tables")
    kinds = {type(r.properties) for r in records}
    struct_type: type[msgspec.Struct] | None = None
    if issubclass(record_type, UnknownRecord):
        plan = _plan(record_type, None, UNKNOWN)
    else:
        # a kind declaring ``properties: Any`` uses its table's struct (SIEM alerts),
        # or, without one, keeps the properties as JSON
        name = _name(records[0])
        struct_type = _properties_type(record_type) or TABLES.get(name)
        if struct_type is not None and not all(issubclass(k, struct_type) for k in kinds):
            struct_type = None
        plan = _plan(record_type, struct_type, name)
    b = _Build(plan, records)
    for col in plan.envelope:
        b.add(col, [getattr(r, col.attr) for r in records])
    if plan.columns:
        if kinds == {struct_type}:
            rows = [msgspec.structs.astuple(r.properties) for r in records]
        else:  # subclasses of the table's struct (more fields): the table's columns only
            pick = operator.attrgetter(*(c.attr for c in plan.columns))
            rows = [pick(r.properties) for r in records] if len(plan.columns) > 1 else [
                (pick(r.properties),) for r in records
            ]
        for col, values in zip(plan.columns, zip(*rows)):  # noqa: B905 - as many as the struct's fields
            b.add(col, values)
    return b


#: Column kind -> what to do with each value before Arrow takes it (None: nothing).
_PREPARE = {"text": _text, "json": _json_text}


def _resolve(builds: Sequence[_Build]) -> None:
    """Every column of ``builds``, kind by kind: one Arrow conversion per kind for the
    whole batch, then a zero-copy slice per column (Arrow calls have a fixed cost that
    would otherwise be paid per table and column of a batch of mixed tables)."""
    by_kind: dict[str, list[tuple[_Build, int, _Column, Sequence[Any]]]] = {}
    for b in builds:
        for slot, col, vals in b.jobs:
            by_kind.setdefault(col.kind, []).append((b, slot, col, vals))
        b.jobs = []
    for kind, jobs in by_kind.items():
        if kind == "timestamp":
            _resolve_timestamps(jobs)
            continue
        flat = list(itertools.chain.from_iterable(job[3] for job in jobs))
        enc = _ENC.encode
        try:
            if kind == "text":
                flat = [v if v is None or v.__class__ is str else enc(v) for v in flat]
            elif kind == "json":
                flat = [None if v is None else enc(v) for v in flat]
            whole = pa.array(flat, pa.string() if kind in _PREPARE else _ARROW_TYPES[kind])
        except (OverflowError, pa.ArrowInvalid, UnicodeEncodeError):
            # an integer beyond int64, a lone surrogate: column by column
            if kind not in ("int", "str", "text", "json"):
                raise
            whole = None
        if kind == "json" and whole is not None:
            whole = pa.ExtensionArray.from_storage(_JSON, whole)
        start = 0
        for b, slot, col, vals in jobs:
            n = len(vals)
            if whole is not None:
                b.arrays[slot] = whole.slice(start, n)
            elif kind == "int":
                b.arrays[slot] = _int_array(vals, col.name, b.misfits)
            elif kind in ("str", "text"):
                b.arrays[slot] = _text_array(vals, col.name, b.misfits)
            else:  # JSON values holding lone surrogates: escaped, as _json_text writes them
                b.arrays[slot] = _json_column([_json_text(v) for v in vals])
            start += n


def _resolve_timestamps(jobs: list[tuple[_Build, int, _Column, Sequence[Any]]]) -> None:
    """Exact nanoseconds of every datetime column of a batch, in one vectorised pass.

    The datetime texts are read again from the records' origin (as
    :func:`timestamp_ns` does), parsed by Arrow where they have the canonical form
    (``2024-05-14T08:41:56.5950497Z``), and kept where they agree with the decoded
    value to the microsecond; anything else gets :func:`timestamp_ns` itself.
    """
    values: list[Any] = []
    texts: list[Any] = []
    spans: list[tuple[_Build, int, _Column, int, int]] = []  # build, slot, column, start, length
    texts_of: dict[int, dict[str, Sequence[Any]]] = {}
    for b, slot, col, vals in jobs:
        key = id(b)
        if key not in texts_of:
            picked = None if isinstance(b.records[0], SiemRecord) else _picked(b.records)
            cols = [c for _b, _s, c, _v in jobs if _b is b]
            texts_of[key] = {} if picked is None else _texts(picked, cols)
        found = texts_of[key].get(col.attr)
        if found is None:
            b.arrays[slot] = _timestamp_slow(vals, b.records, col, b.misfits)
            continue
        spans.append((b, slot, col, len(values), len(vals)))
        values.extend(vals)
        texts.extend(found)
    if not spans:
        return
    try:
        exact_ns, redo = _exact(values, texts)
    except (OverflowError, TypeError, pa.ArrowException):  # beyond nanoseconds, or a text not a string
        for b, slot, col, start, length in spans:
            b.arrays[slot] = _timestamp_slow(values[start : start + length], b.records, col, b.misfits)
        return
    if redo:
        fixed = exact_ns.to_pylist()
        starts = [span[3] for span in spans]
        for i in redo:
            b, _slot, col, start, _length = spans[bisect.bisect_right(starts, i) - 1]
            fixed[i] = timestamp_ns(b.records[i - start], col.attr)
        exact_ns = pa.array(fixed, pa.int64())
    stamps = exact_ns.cast(NS)
    for b, slot, _col, start, length in spans:
        b.arrays[slot] = stamps.slice(start, length)


def _exact(values: list[Any], texts: list[Any]) -> tuple[pa.Array[Any], list[int]]:
    """Nanoseconds from the texts where they check out, the decoded microseconds elsewhere,
    and the positions that need :func:`timestamp_ns` (a value with a text that is not canonical)."""
    # The decoded datetimes through msgspec's ISO text: 10x faster than Arrow's
    # conversion of timezone-aware datetime objects.
    approx: Any = pa.array(_STRINGS.decode(_ENC.encode(values)), pa.string()).cast(NS).cast(pa.int64())
    text_arr: Any = pa.array(texts, pa.string())
    canonical: Any = pc.fill_null(pc.and_(pc.match_substring_regex(text_arr, _CANONICAL), pc.is_valid(approx)), False)
    parsed: Any = pc.if_else(canonical, text_arr, pa.scalar("1970-01-01T00:00:00Z")).cast(NS).cast(pa.int64())
    diff: Any = pc.abs(pc.subtract(parsed, approx))
    good: Any = pc.fill_null(pc.and_(canonical, pc.less_equal(diff, pa.scalar(500, pa.int64()))), False)
    redo = pc.indices_nonzero(pc.and_(pc.invert(good), pc.is_valid(approx))).to_pylist()
    return pc.if_else(good, parsed, approx), redo


def _timestamp_slow(
    values: Sequence[datetime | None], records: Sequence[Record], column: _Column, misfits: _Misfits
) -> pa.Array[Any]:
    out: list[int | None] = []
    for row, (value, record) in enumerate(zip(values, records, strict=True)):
        if value is None:
            out.append(None)
            continue
        ns = timestamp_ns(record, column.attr)
        if ns is not None and not _INT64_MIN <= ns <= _INT64_MAX:
            misfits.add(row, column.name, format_ns(ns))
            ns = None
        out.append(ns)
    return pa.array(out, pa.int64()).cast(NS)


def _json_column(values: Iterable[Any]) -> pa.Array[Any]:
    return pa.ExtensionArray.from_storage(_JSON, pa.array(values, pa.string()))


def _finish(b: _Build) -> pa.Table:
    """The table of a build whose columns are all converted."""
    records = b.records
    arrays: list[Any] = b.arrays
    for col in b.plan.trailer:
        if col.name == "category":
            arrays.append(pa.array([r.category for r in records], pa.string()))
        elif col.name == "properties":
            arrays.append(_json_column(_json_text(r.properties) for r in records))
        elif col.name == "extra":
            extras = [r.extra for r in records]
            for row, more in b.misfits.rows.items():
                extras[row] = {**extras[row], **more}
            arrays.append(_json_column([_json_or_null(e) for e in extras]))
        else:
            arrays.append(_json_column([_json_or_null(r.envelope_extra) for r in records]))
    return pa.Table.from_arrays(arrays, schema=b.plan.schema)


def records_to_arrow(records: Sequence[Record]) -> pa.Table:
    """One table from records that all share one record type (one table).

    :func:`to_arrow` groups a batch's records by table and does this for each.
    Raises ``ValueError`` when ``records`` is empty or of several types.
    """
    b = _start(records)
    _resolve([b])
    return _finish(b)


def _name(record: Record) -> str:
    """The record's table; for a record type without one, the name its tag gives."""
    if record.table:
        return record.table
    tag = type(record).__struct_config__.tag
    if isinstance(tag, str) and tag.startswith("AdvancedHunting-"):
        return tag[len("AdvancedHunting-") :]
    return type(record).__name__


def errors_to_arrow(errors: Sequence[InvalidRecord]) -> pa.Table:
    """The :data:`ERRORS` table of ``errors``: ``index``, ``path``, ``reason``, ``raw`` bytes."""
    return pa.Table.from_arrays(
        [
            pa.array([e.index for e in errors], pa.int64()),
            pa.array([e.path for e in errors], pa.string()),
            pa.array([e.reason for e in errors], pa.string()),
            pa.array([e.raw for e in errors], pa.binary()),
        ],
        schema=_ERRORS_SCHEMA,
    )


def _groups(records: Iterable[Record], first: int = 0) -> dict[type, tuple[list[Record], list[int]]]:
    """Records by type, with their positions in ``records`` (counted from ``first``)."""
    groups: dict[type, tuple[list[Record], list[int]]] = {}
    for pos, r in enumerate(records, first):
        t = type(r)
        group = groups.get(t)
        if group is None:
            groups[t] = ([r], [pos])
        else:
            group[0].append(r)
            group[1].append(pos)
    return groups


@collector_off  # the lists built here make no reference cycles, as in decode()
def _builds(groups: list[list[Record]]) -> list[_Build]:
    """The column builds of each group of records of one type, their timestamps resolved."""
    builds = [_start(group) for group in groups]
    _resolve(builds)
    return builds


def tables_of(records: Sequence[Record]) -> dict[str, tuple[pa.Table, list[int]]]:
    """``records`` as one table per table, each with the positions in ``records`` of its rows.

    What :func:`to_arrow` does with a batch's records, for callers that carry
    other columns along (the Spark helper keeps its input rows' columns).
    """
    groups = _groups(records).values()
    builds = _builds([group for group, _ in groups])
    out: dict[str, tuple[pa.Table, list[int]]] = {}
    for b, (_, positions) in zip(builds, groups, strict=True):
        table = _finish(b)
        name = table.schema.metadata[b"m365parse.table"].decode()
        if name in out:  # two record types of one table
            before, earlier = out[name]
            table, positions = pa.concat_tables([before, table]), earlier + positions
        out[name] = (table, positions)
    return out


def _batch_tables(batch: Batch) -> dict[str, pa.Table]:
    out = {name: table for name, (table, _) in tables_of(batch.records).items()}
    if batch.errors:
        out[ERRORS] = errors_to_arrow(batch.errors)
    return out


# --- the one-decode path of to_arrow() ----------------------------------------------------
#
# decode() keeps datetimes as datetime objects (microseconds) and reads their text
# again for the 100 ns: two parses of the input.  For a clean Event Hubs body or
# block of JSON lines, to_arrow() decodes once into twins of the table structs
# whose datetime fields are strings, derived from the structs here, and hands the
# texts to Arrow.  It takes this path only when every datetime text has the
# canonical form (_CANONICAL) that msgspec and Arrow both read, to the same
# instant, and Arrow accepts it; anything else goes through decode().


def _textual(annotation: Any) -> Any:
    return Union[str, None] if _kind(msgspec.inspect.type_info(annotation)) == "timestamp" else annotation  # noqa: UP007


@functools.cache
def _twins() -> tuple[msgspec.json.Decoder[Any], msgspec.json.Decoder[Any], dict[type, type[Record]]]:
    """Decoders of a body and of one record into the twins, and twin record type -> record type."""
    twins: dict[type, type[Record]] = {}
    for record_type in RECORD_TYPES.values():
        props = _properties_type(record_type)
        if props is None:
            continue
        cfg = props.__struct_config__
        props_twin = msgspec.defstruct(
            props.__name__,
            [(f.encode_name, _textual(f.type), None) for f in msgspec.structs.fields(props)],
            kw_only=True,
            forbid_unknown_fields=cfg.forbid_unknown_fields,
            gc=False,
        )
        envelope = [
            (f.encode_name, _textual(f.type), None)
            for f in msgspec.structs.fields(record_type)
            if f.name != "properties" and not f.encode_name.startswith(_OWN)
        ]
        rcfg = record_type.__struct_config__
        twin = msgspec.defstruct(
            record_type.__name__,
            [("properties", props_twin), *envelope],
            kw_only=True,
            forbid_unknown_fields=True,
            tag_field=rcfg.tag_field,
            tag=rcfg.tag,
            gc=False,
        )
        twins[twin] = record_type
    union = Union[tuple(twins)]  # type: ignore[valid-type]  # noqa: UP007
    body = msgspec.defstruct("_TwinBody", [("records", list[union])])  # type: ignore[valid-type]
    return msgspec.json.Decoder(body, strict=False), msgspec.json.Decoder(union, strict=False), twins


_BODY_START = re.compile(rb'[ \t\r\n]*\{[ \t\r\n]*"records"[ \t\r\n]*:[ \t\r\n]*\[')
_LINES_START = re.compile(rb"\s*\{")


def _one_decode(buf: bytes) -> dict[str, pa.Table] | None:
    """to_arrow() of a clean body or block of JSON lines in one decode; None: take decode()."""
    found = one_decode_tables(buf)
    return None if found is None else {name: table for name, (table, _) in found.items()}


def one_decode_tables(buf: bytes) -> dict[str, tuple[pa.Table, list[int]]] | None:
    """:func:`tables_of` for a clean Event Hubs body or block of JSON lines, decoded once.

    Positions count the records of ``buf``.  Returns None when ``buf`` needs
    :func:`m365parse.decode` (any record with a problem, a datetime text not in
    the canonical form, a value a column cannot hold, another shape): then decode
    it and use :func:`tables_of`.
    """
    return _one_decode_tables(buf, False)


#: Bytes of JSON lines converted together.  Blocks of 1,000 to 2,000 records (2.6 kB
#: each) convert fastest: each column costs a few pyarrow calls, paid less often per
#: record in larger blocks, but a block of 10,000 records no longer fits the caches
#: (about 1.5x the time per record).  Larger inputs are converted in pieces of about
#: this size, cut at line ends, and each table's pieces joined (zero-copy chunks).
_PIECE_BYTES = 2 * 2**20


@collector_off  # as decode() runs: the decode and the columns make no cycles
def _one_decode_tables(buf: bytes, spark: bool) -> dict[str, tuple[pa.Table, list[int]]] | None:
    """:func:`one_decode_tables`; ``spark``: in the Arrow types of the Spark helper
    (``timestamp[us]`` and ``<column>_ns``, JSON as plain strings)."""
    body, one, twins = _twins()
    data = buf[3:] if buf.startswith(b"\xef\xbb\xbf") else buf
    pieces: list[tuple[str, tuple[pa.Table, list[int]]]] = []
    try:
        if _BODY_START.match(data):
            found = _tables_of_twins(body.decode(data).records, twins, spark, 0)
            if found is None:
                return None
            pieces += found
        elif _LINES_START.match(data):
            done = 0  # records of the pieces before
            for piece in _line_pieces(data, _PIECE_BYTES):
                items = one.decode_lines(piece)
                found = _tables_of_twins(items, twins, spark, done)
                if found is None:
                    return None
                pieces += found
                done += len(items)
        else:
            return None
    except (ValueError, RecursionError):
        return None
    if not pieces:
        return None
    parts: dict[str, list[tuple[pa.Table, list[int]]]] = {}
    for name, part in pieces:  # two record types of one table, or one table in several pieces
        parts.setdefault(name, []).append(part)
    return {
        name: found[0]
        if len(found) == 1
        else (pa.concat_tables([t for t, _ in found]), [p for _, positions in found for p in positions])
        for name, found in parts.items()
    }


def _line_pieces(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` (JSON lines) in pieces of about ``size`` bytes or more, each whole lines."""
    start, n = 0, len(data)
    while n - start > 2 * size:
        end = data.find(b"\n", start + size)
        if end < 0:
            break
        yield data[start : end + 1]
        start = end + 1
    yield data[start:] if start else data


def _tables_of_twins(
    items: list[Any], twins: dict[type, type[Record]], spark: bool, first: int
) -> list[tuple[str, tuple[pa.Table, list[int]]]] | None:
    """The tables of the twin records ``items`` (positions from ``first``); None when a value
    needs decode()."""
    if not items:
        return []
    groups = _groups(items, first)
    built = _columnar([(_layout(twins[twin], spark), group) for twin, (group, _) in groups.items()], spark)
    if built is None:
        return None
    return [(name, (table, positions)) for (name, table), (_, positions) in zip(built, groups.values(), strict=True)]


# The tables of a block are built kind by kind: every value of one kind of column
# (strings, integers, datetime texts, ...) of every table of the block goes into one
# Python list and one Arrow conversion, and each column is a zero-copy slice of it.
# Arrow calls have a fixed cost (a few µs) that would otherwise be paid per column
# and table; what is left per column is one slice.


@dataclass(frozen=True)
class _Layout:
    """How to build a twin's table: its envelope getter, the kind of every gathered
    column (envelope, then properties), and where each output column comes from."""

    table: str
    envelope: Any  # operator.attrgetter of the envelope attributes, or None
    single: bool  # one envelope attribute (the getter gives a value, not a tuple)
    kinds: tuple[str, ...]  # of the gathered columns
    by_kind: tuple[tuple[str, tuple[int, ...]], ...]  # kind -> gathered columns of that kind
    sources: tuple[tuple[str, int], ...]  # output column -> (array, column number within its kind)
    schema: pa.Schema


@functools.cache
def _layout(record_type: type[Record], spark: bool) -> _Layout:
    plan = _plan(record_type, _properties_type(record_type), record_type._table)
    gathered = (*plan.envelope, *plan.columns)
    kinds = tuple(c.kind for c in gathered)
    by_kind: dict[str, list[int]] = {}
    within: list[int] = []
    for i, kind in enumerate(kinds):
        within.append(len(by_kind.setdefault(kind, [])))
        by_kind[kind].append(i)
    sources: list[tuple[str, int]] = []
    fields: list[pa.Field[Any]] = []
    for i, col in enumerate(gathered):
        if spark and col.kind == "timestamp":
            sources += [("timestamp_us", within[i]), ("timestamp", within[i])]
            fields += [pa.field(col.name, _SPARK_TS), pa.field(col.name + "_ns", pa.int64())]
        else:
            sources.append((col.kind, within[i]))
            fields.append(pa.field(col.name, pa.string() if col.kind == "json" else _ARROW_TYPES[col.kind]))
    for col in plan.trailer:  # extra, envelope_extra: empty for the twins, null
        sources.append(("null", 0))
        fields.append(pa.field(col.name, pa.string()))
    attrs = [c.attr for c in plan.envelope]
    return _Layout(
        plan.table,
        operator.attrgetter(*attrs) if attrs else None,
        len(attrs) == 1,
        kinds,
        tuple((k, tuple(v)) for k, v in by_kind.items()),
        tuple(sources),
        pa.schema(fields) if spark else plan.schema,
    )


def _columnar(parts: list[tuple[_Layout, list[Any]]], spark: bool) -> list[tuple[str, pa.Table]] | None:
    """The table of each (layout, twin records) of a block; None when a value needs decode()."""
    gathered = _gather(parts)
    if gathered is None:
        return None
    pieces, starts = gathered
    try:
        arrays = _kind_arrays(pieces, spark)
    except (ValueError, TypeError, OverflowError, UnicodeError, pa.ArrowException):
        return None  # an integer beyond int64, a datetime text Arrow does not take, ...
    if arrays is None:
        return None
    arrays["null"] = pa.nulls(max(len(group) for _, group in parts), pa.string() if spark else _JSON)
    out = []
    for (layout, group), start in zip(parts, starts, strict=True):
        n = len(group)
        cols = [arrays[kind].slice(start[kind] + j * n, n) for kind, j in layout.sources]
        out.append((layout.table, pa.Table.from_arrays(cols, schema=layout.schema)))
    return out


def _gather(
    parts: list[tuple[_Layout, list[Any]]],
) -> tuple[dict[str, list[Sequence[Any]]], list[dict[str, int]]] | None:
    """The values of every column of a block, kind by kind (columns end to end), and where
    each part's columns start in its kinds; None when a struct has no fields."""
    pieces: dict[str, list[Sequence[Any]]] = {}
    held: dict[str, int] = {}  # values of each kind so far
    starts: list[dict[str, int]] = []
    astuple = msgspec.structs.astuple
    for layout, group in parts:
        n = len(group)
        if layout.envelope is None:
            columns: list[Sequence[Any]] = []
        elif layout.single:
            columns = [list(map(layout.envelope, group))]
        else:
            columns = list(zip(*map(layout.envelope, group), strict=True))
        columns += zip(*[astuple(r.properties) for r in group], strict=True)
        if len(columns) != len(layout.kinds):  # a struct without fields
            return None
        start = {"null": 0}
        for kind, numbers in layout.by_kind:
            start[kind] = held.get(kind, 0)
            held[kind] = start[kind] + n * len(numbers)
            pieces.setdefault(kind, []).extend([columns[i] for i in numbers])
        start["timestamp_us"] = start.get("timestamp", 0)
        starts.append(start)
    return pieces, starts


def _kind_arrays(pieces: dict[str, list[Sequence[Any]]], spark: bool) -> dict[str, pa.Array[Any]] | None:
    """One Arrow array per kind of the columns' values, end to end; None when a
    datetime text is not in the canonical form or a text holds a lone surrogate
    (it needs decode())."""
    try:
        return _kind_arrays_of(pieces, spark)
    except UnicodeEncodeError:  # Arrow strings are UTF-8: decode() keeps such a text in extra
        return None


def _kind_arrays_of(pieces: dict[str, list[Sequence[Any]]], spark: bool) -> dict[str, pa.Array[Any]] | None:
    enc = _ENC.encode
    out: dict[str, pa.Array[Any]] = {}
    for kind, columns in pieces.items():
        flat = list(itertools.chain.from_iterable(columns))
        if kind == "text":
            flat = [v if v is None or v.__class__ is str else enc(v) for v in flat]
        elif kind == "json":
            flat = [None if v is None else enc(v) for v in flat]
        elif kind == "timestamp":
            texts: Any = pa.array(flat, pa.string())
            if not pc.all(pc.fill_null(pc.match_substring_regex(texts, _CANONICAL), True)).as_py():
                return None
            stamps = texts.cast(NS)
            if spark:
                ns = stamps.cast(pa.int64())
                out["timestamp"], out["timestamp_us"] = ns, _round_us(ns).cast(_SPARK_TS)
            else:
                out["timestamp"] = stamps
            continue
        array = pa.array(flat, pa.string() if kind in ("text", "json") else _ARROW_TYPES[kind])
        out[kind] = pa.ExtensionArray.from_storage(_JSON, array) if kind == "json" and not spark else array
    return out


def _round_us(ns: pa.Array[Any]) -> pa.Array[Any]:
    """Nanoseconds to microseconds rounded half up, as msgspec rounds the decoded datetimes."""
    values: Any = ns
    low = pc.min(values).as_py()
    if low is None or low >= 0:
        shifted: Any = pc.add(values, pa.scalar(500, pa.int64()))
        return pc.divide(shifted, pa.scalar(1000, pa.int64()))  # type: ignore[no-any-return]
    return pa.array([None if v is None else (v + 500) // 1000 for v in values.to_pylist()], pa.int64())


def to_arrow(
    data: Batch | bytes | bytearray | memoryview | str | Iterable[bytes],
) -> dict[str, pa.Table]:
    """Decode ``data`` (anything :func:`m365parse.decode` takes) or take a decoded
    :class:`m365parse.Batch`, and give one Arrow table per table that has records.

    Keys are table names (``"DeviceProcessEvents"``, ``"SiemAlert"``), :data:`UNKNOWN`
    for records of tables this version does not know, and :data:`ERRORS` when
    records could not be decoded.  Rows keep input order within each table.
    Every value equals what ``decode()`` gives (timestamps as :func:`timestamp_ns`).
    Raises :class:`m365parse.InvalidInput` as ``decode()`` does.
    """
    if isinstance(data, (bytes, bytearray, memoryview, str)):
        buf = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
        tables = _one_decode(buf)
        if tables is not None:
            return tables
        data = buf
    batch = data if isinstance(data, Batch) else decode(data)
    return _batch_tables(batch)


class _Buffer:
    __slots__ = ("batches", "nbytes", "rows")

    def __init__(self) -> None:
        self.batches: list[pa.RecordBatch] = []
        self.rows = 0
        self.nbytes = 0


class TableBuffers:
    """Rows of several tables held until they make batches of a good size: a row group each.

    :meth:`add` takes tables (``{table: pyarrow.Table}``, as :func:`to_arrow` gives)
    and yields ``(table, batch)`` pairs: a table's rows once they reach ``max_rows``,
    and, while all buffers together hold more than ``max_buffer_bytes`` of Arrow
    memory, the largest buffer whole.  :meth:`drain` yields what is left, at the end.
    :func:`iter_arrow` streams through one; so does the command line's Parquet output.
    """

    def __init__(self, *, max_rows: int = 65_536, max_buffer_bytes: int = 64 * 1024 * 1024) -> None:
        if max_rows < 1 or max_buffer_bytes < 1:
            raise ValueError("max_rows and max_buffer_bytes must be positive")
        self.max_rows = max_rows
        self.max_buffer_bytes = max_buffer_bytes
        self._buffers: dict[str, _Buffer] = {}
        self._total = 0

    def add(self, tables: dict[str, pa.Table]) -> Iterator[tuple[str, pa.RecordBatch]]:
        """Buffer ``tables``; yield the batches that are due."""
        buffers = self._buffers
        for name, table in tables.items():
            self._keep(name, table)
            if buffers[name].rows >= self.max_rows:
                yield from self._take(name, False)
        while self._total > self.max_buffer_bytes and buffers:
            largest = max(buffers, key=lambda n: buffers[n].nbytes)
            yield from self._take(largest, True)

    def drain(self) -> Iterator[tuple[str, pa.RecordBatch]]:
        """Yield every row still held, table by table."""
        for name in list(self._buffers):
            yield from self._take(name, True)

    def _take(self, name: str, whole: bool) -> Iterator[tuple[str, pa.RecordBatch]]:
        buf = self._buffers.pop(name)
        table = pa.Table.from_batches(buf.batches)
        self._total -= buf.nbytes
        max_rows = self.max_rows
        while table.num_rows >= max_rows or (whole and table.num_rows):
            head, table = table.slice(0, max_rows), table.slice(max_rows)
            yield name, head.combine_chunks().to_batches()[0]
        if table.num_rows:  # less than max_rows left: back to the buffer
            self._keep(name, table)

    def _keep(self, name: str, table: pa.Table) -> None:
        # The columns of a batch's tables are slices of arrays shared by all its
        # tables: a copy of the rows keeps the rest of the batch from staying alive
        # while a rare table's rows wait in the buffer.
        table = table.take(pa.array(range(table.num_rows), pa.int64()))
        buf = self._buffers.setdefault(name, _Buffer())
        for b in table.to_batches():
            buf.batches.append(b)
        buf.rows += table.num_rows
        buf.nbytes += table.nbytes
        self._total += table.nbytes


def iter_arrow(
    chunks: Iterable[bytes | bytearray | memoryview],
    *,
    max_rows: int = 65_536,
    max_buffer_bytes: int = 64 * 1024 * 1024,
    max_record_bytes: int = 64 * 1024 * 1024,
) -> Iterator[tuple[str, pa.RecordBatch]]:
    """Stream JSON lines (Azure Storage blobs) fed in chunks of any size as Arrow record batches.

    Yields ``(table, batch)`` pairs: batches of one table hold at most ``max_rows``
    rows and share that table's :func:`schema`; errors come as batches of the
    :data:`ERRORS` table.  Rows are buffered per table and a table's rows are
    yielded when they reach ``max_rows``, when all buffers together pass
    ``max_buffer_bytes`` of Arrow memory (the largest buffer goes first), and at
    the end.  Memory stays bounded by the largest chunk, ``max_record_bytes``
    (see :class:`m365parse.JsonLinesDecoder`) and ``max_buffer_bytes``.
    """
    buffers = TableBuffers(max_rows=max_rows, max_buffer_bytes=max_buffer_bytes)
    decoder = JsonLinesDecoder(max_record_bytes=max_record_bytes)
    for chunk in chunks:
        yield from buffers.add(_batch_tables(decoder.feed(chunk)))
    yield from buffers.add(_batch_tables(decoder.close()))
    yield from buffers.drain()


# --- OCSF events (issue 12 point 6): the work is in _ocsf_arrow, imported on first use ----

#: Default number of object levels :func:`ocsf_schema` keeps as Arrow structs; deeper objects are JSON text.
OCSF_DEPTH = 3

#: How :func:`ocsf_schema` types ``timestamp_t``: ``int64`` ms (OCSF's own) or ``timestamp("ms", "UTC")``.
TimeType = Literal["int64", "timestamp"]


def ocsf_schema(class_uid: int, *, depth: int = OCSF_DEPTH, time_type: TimeType = "int64") -> pa.Schema:
    """The Arrow schema of OCSF 1.8.0 events of class ``class_uid`` (``1007``, Process Activity).

    One column per attribute of the class, whatever profile brings it in, in name
    order, all nullable.  OCSF types map to Arrow types: strings and the types built
    on them (``datetime_t`` included: the exact RFC 3339 text) to ``string``,
    ``integer_t`` (and ``port_t``) to ``int32``, ``long_t`` to ``int64``, ``float_t``
    to ``float64``, ``boolean_t`` to ``bool``, ``timestamp_t`` (ms since the epoch) to
    ``int64`` or, with ``time_type="timestamp"``, to ``timestamp("ms", "UTC")``; arrays
    to lists; objects to structs down to ``depth`` levels (``actor`` is level 1,
    ``actor.process`` level 2, ...), deeper objects, ``json_t`` values and free-form
    objects (``unmapped``) to their JSON text, marked by the field metadata
    ``m365parse.encoding`` = ``json`` (no other field metadata: Parquet files repeat
    it for every one of thousands of fields).  Lists name their items ``element``, as
    Parquet does, so a table read back from Parquet has the same schema.  Schema
    metadata: ``ocsf.version``, ``ocsf.class_uid``, ``ocsf.class_name``.

    The width is OCSF's: a class has 2,100-5,000 leaf columns at the default depth 3
    (depth 4 keeps ``actor.process.file.hashes`` as structs and doubles that; depth 0
    makes every object JSON text).

    Raises :class:`m365parse.M365ParseError` for a class the "ocsf" rule set does not emit,
    ``ValueError`` for a negative ``depth`` or another ``time_type``.
    """
    from ._ocsf_arrow import schema as ocsf_schema_of

    return ocsf_schema_of(class_uid, depth, time_type)


def ocsf_tables(
    events: Iterable[Mapping[str, Any]], *, depth: int = OCSF_DEPTH, time_type: TimeType = "int64"
) -> dict[int, pa.Table]:
    """OCSF events (dicts from ``m365parse.normalize(..., "ocsf")``) as one Arrow table per class.

    Keys are ``class_uid`` values, in order of first appearance; each table has
    :func:`ocsf_schema` of its class (the name is in its schema metadata,
    ``ocsf.class_name``) and its events' rows in input order.  Attributes an event
    does not have are null.  Write each table as Parquet with
    ``pyarrow.parquet.write_table`` (Security Lake: one class per table).

    Raises ``ValueError`` naming the event's position and the attribute's path when
    an event is not a dict with a known ``class_uid``, has an attribute its class
    does not define, a value of another type than the attribute's, or a text with a
    lone surrogate in a string attribute (Arrow strings are UTF-8; in ``unmapped`` and
    other JSON attributes it is written as its ``\\udXXX`` escape); nothing is
    dropped silently.
    """
    from ._ocsf_arrow import tables as ocsf_tables_of

    return ocsf_tables_of(events, depth, time_type)
