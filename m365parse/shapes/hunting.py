"""Advanced hunting results of the three APIs: one record per row, typed by the response's own schema.

- Defender for Endpoint ``/api/advancedqueries/run``: ``{"Schema": [{"Name", "Type"}], "Results": [...]}``
- Defender XDR ``/api/advancedhunting/run``: the same with ``"Stats"``
- Graph ``security/runHuntingQuery``: ``{"@odata.context": "...huntingQueryResults", "schema": [{"name",
  "type"}], "results": [...]}``, with ``"<Column>@odata.type"`` annotation keys beside the cells (metadata,
  not columns: dropped) and dynamic columns wrapped as ``dynamicColumnValue`` objects (unwrapped).

A row struct is built once per distinct schema and cached.  Rows whose columns
are exactly a known table's (:data:`m365parse.tables.TABLES`) are that table's
struct in that table's record type (``DeviceProcessEventsRecord``), so they
normalize as records of their table; other rows are :class:`m365parse.api.records.HuntingRecord`
(``table`` ``"HuntingRow"``).  Schema type names map as ``hunting_results.tsv``
documents: ``DateTime`` exact timestamps, ``SByte`` 0/1 booleans, integers,
doubles, strings; an unknown type name keeps the JSON value.  A row that does
not fit its schema keeps every value, in ``extra`` where it does not fit.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec
from msgspec import Raw, Struct

from .. import _decode as core
from .._built import pickled_as
from .._project import CURRENT, Projection, narrowed_struct
from .._stdjson import loads, loads_lines
from .._values import JsonText, Timestamp, resolve_path
from ..errors import InvalidInput, InvalidRecord
from ..record import Batch, Record
from ..tables import RECORD_TYPES, TABLES, UNDOCUMENTED
from . import DECODE_ERRORS, ModuleTimes, Shape, _deep

__all__ = ["SHAPE", "row_type"]

_WS = rb"[ \t\r\n]*"
_START = re.compile(
    _WS + rb"\{" + _WS + rb'(?:"(?:Schema|Stats|Results|schema|results)"'
    rb'|"@odata\.context"' + _WS + rb":" + _WS + rb'"[^"]*#microsoft\.graph\.security\.huntingQueryResults")'
)

#: Schema type name -> the type its cells decode to (an unknown name keeps the JSON value).
TYPES: dict[str, Any] = {
    "DateTime": Timestamp,
    "String": str,
    "Guid": str,
    "TimeSpan": str,
    "SByte": bool,  # Kusto booleans arrive as 0/1
    "Boolean": bool,
    "Byte": int,
    "Int16": int,
    "Int32": int,
    "Int64": int,
    "Double": float,
    "Single": float,
    "Decimal": float,
    "Object": JsonText,
    "Dynamic": JsonText,
}

_DYNAMIC = "#microsoft.graph.security.dynamicColumnValue"


class _Column(Struct):
    Name: str | None = None
    Type: str | None = None
    name: str | None = None
    type: str | None = None


_NULL = Raw(b"null")


class _Raw(Struct):
    Schema: list[_Column] | None = None
    Results: Raw = _NULL
    schema: list[_Column] | None = None
    results: Raw = _NULL
    # the other keys (Stats, @odata.context) are read by core.envelope: any JSON they hold


class _RawRows(Struct):
    Results: list[Raw] | None = None
    results: list[Raw] | None = None


@functools.cache
def _decoders() -> tuple[msgspec.json.Decoder[_Raw], msgspec.json.Decoder[_RawRows]]:
    return msgspec.json.Decoder(_Raw), msgspec.json.Decoder(_RawRows)


_Schema = tuple[tuple[str, str], ...]


def _schema_of(columns: list[_Column]) -> _Schema:
    out = []
    for col in columns:
        name = col.Name if col.Name is not None else col.name
        kind = col.Type if col.Type is not None else col.type
        if not isinstance(name, str):
            raise ValueError("a schema column without a name")
        out.append((name, kind or ""))
    return tuple(out)


#: Columns a table struct declares that advanced hunting does not return (streamed rows carry them).
_STREAM_ONLY = frozenset({"MachineGroup"})


def _known_table(names: frozenset[str]) -> str | None:
    """The table whose columns are exactly ``names`` (its streamed-only columns may be missing)."""
    for table, struct in TABLES.items():
        # columns real records carry and no doc lists are not in a hunting schema
        fields = frozenset(struct.__struct_fields__) - frozenset(UNDOCUMENTED.get(table, ()))
        if table in RECORD_TYPES and (names == fields or names == fields - _STREAM_ONLY):
            return table
    return None


def _attr(pos: int, name: str) -> str:
    usable = name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_m365parse")
    return name if usable else f"_m365parse_c{pos}"


class RowKind(NamedTuple):
    """What rows of one schema decode to."""

    struct: type[Struct]
    table: str | None  # the known table the columns are exactly those of
    decoder: msgspec.json.Decoder[Any]  # of the list of rows
    one: msgspec.json.Decoder[Any]  # of one row
    dynamic: tuple[str, ...]  # attributes of the columns that can hold Graph's dynamicColumnValue objects
    annotations: tuple[str, ...]  # attributes that take Graph's "<Column>@odata.type" keys (cleared after decoding)


def row_type(schema: _Schema, graph: bool, projection: Projection | None = None) -> RowKind:
    """The row struct of a schema, built once per distinct schema (and API: Graph rows carry
    annotations) and projection (see :mod:`m365parse._project`: the columns it reads only).

    Raises ``ValueError`` or ``TypeError`` for a schema msgspec cannot make a struct of (a
    column name with a control character, ...), narrowed or not: its rows are then untyped.
    """
    return _row_type(schema, graph, projection)  # one cache key however it is called


@functools.lru_cache(maxsize=256)
def _row_type(schema: _Schema, graph: bool, projection: Projection | None) -> RowKind:
    if projection is not None:
        row_type(schema, graph)  # what the full struct cannot take, the narrowed one does not either
    # The structs made here are no module's attributes: a row of one pickles as its
    # schema and values (m365parse._built).  (Narrowed structs stay inside
    # decode_normalized(): their rows are never handed out.)
    namespace = {} if projection is not None else pickled_as(_row_struct, schema, graph)
    # A column name that holds a lone surrogate (read by the standard library) cannot
    # name a struct field: such a column is not declared, its cells go to extra.
    schema = tuple((name, kind) for name, kind in schema if _utf8(name))
    names = [name for name, _ in schema]
    unique = len(set(names)) == len(names)
    table = _known_table(frozenset(names)) if unique else None
    # (a schema that names a column twice has no struct: its rows are untyped, narrowed or not)
    read = projection.columns(table or "HuntingRow") if projection is not None and unique else None
    annotations: list[tuple[str, Any, Any]] = []
    if graph and read is None:  # (a narrowed struct skips the keys it does not declare)
        annotations = [
            (f"_m365parse_a{i}", str | None, msgspec.field(default=None, name=f"{name}@odata.type"))
            for i, (name, _) in enumerate(schema)
        ]
    struct: type[Struct]
    if table is not None:
        base = TABLES[table]
        if read is not None:
            struct = narrowed_struct(base, read)
        elif annotations:
            struct = msgspec.defstruct(f"_{table}Row", annotations, bases=(base,), kw_only=True, namespace=namespace)
        else:
            struct = base
        attrs = {name: name for name in names if name in struct.__struct_fields__}
    else:
        attrs = {name: _attr(i, name) for i, (name, _) in enumerate(schema) if read is None or name in read}
        fields: list[tuple[str, Any, Any]] = []
        for name, kind in schema:
            if name in attrs:
                typ = TYPES.get(kind)
                fields.append((attrs[name], Any if typ is None else typ | None, msgspec.field(default=None, name=name)))
        struct = msgspec.defstruct(
            "HuntingRow",
            fields + annotations,
            kw_only=True,
            forbid_unknown_fields=read is None,
            omit_defaults=True,
            repr_omit_defaults=True,
            namespace=namespace,
        )
    dynamic = tuple(
        attrs[name] for name, kind in schema if name in attrs and (TYPES.get(kind) is JsonText or kind not in TYPES)
    )
    return RowKind(
        struct,
        table,
        msgspec.json.Decoder(list[struct], strict=False),  # type: ignore[valid-type]
        msgspec.json.Decoder(struct, strict=False),
        dynamic,
        tuple(name for name, _, _ in annotations),
    )


def _row_struct(schema: _Schema, graph: bool) -> type[Struct]:
    """The row struct of ``schema`` (what a pickled row unpickles as: see :mod:`m365parse._built`)."""
    return row_type(schema, graph).struct


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def unwrap_dynamic(value: Any) -> Any:
    """A Graph ``dynamicColumnValue`` as plain JSON: its ``@odata.type`` tag and ``*@odata.type`` sidecars dropped.

    Iterative: a dynamic value nests as deep as the input.
    """
    top: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, top, 0)]
    while stack:
        item, parent, key = stack.pop()
        if isinstance(item, dict):
            out: dict[str, Any] = {}
            for name, member in item.items():
                if not name.endswith("@odata.type"):
                    out[name] = None  # keeps the order of the members
                    stack.append((member, out, name))
            parent[key] = out
        elif isinstance(item, list):
            items: list[Any] = [None] * len(item)
            stack.extend((member, items, pos) for pos, member in enumerate(item))
            parent[key] = items
        else:
            parent[key] = item
    return top[0]


def _graph_rows(rows: list[Any], kind: RowKind) -> None:
    """Graph's cell annotations are metadata, not columns: cleared; dynamic values unwrapped."""
    for row in rows:
        for attr in kind.annotations:
            if getattr(row, attr) is not None:
                setattr(row, attr, None)
        for attr in kind.dynamic:
            value = getattr(row, attr)
            if isinstance(value, (dict, list)):
                setattr(row, attr, unwrap_dynamic(value))


def _record_type(kind: RowKind) -> Any:
    if kind.table is not None:
        return RECORD_TYPES[kind.table]
    from ..api.records import HuntingRecord

    return HuntingRecord


def _sniff(buf: bytes) -> bool:
    return _START.match(buf) is not None


def _schema_text(buf: bytes) -> tuple[bytes, bool] | None:
    """The bytes of the schema array (``[{"Name": ..., "Type": ...}, ...]``), found without decoding,
    and whether it is Graph's (``"schema"``); None if not found.

    The array ends at its first ``]`` (column objects hold none); a schema that
    does not (a ``]`` in a name) gives text that is not JSON or is not what the
    one-pass decode reads: that response takes the path that decodes the schema.
    """
    m = _SCHEMA_AT.search(buf)
    if m is None:
        return None
    start = m.end() - 1
    end = buf.find(b"]", start)
    if end < 0:
        return None
    return buf[start : end + 1], buf[m.start() + 1] == 0x73  # "schema": Graph


class _Plan(NamedTuple):
    """How whole responses of one schema text decode in one pass (cached per schema text)."""

    kind: RowKind
    decoder: msgspec.json.Decoder[Any]  # of the whole response
    record_type: Any  # what each row is wrapped in
    schema: list[Any]  # the schema decoded untyped, for Batch.envelope (copied per batch)
    flat: bool  # whether each column of ``schema`` is an object of plain scalars (a copy of each is a deep copy)

    def envelope_schema(self, schema_text: bytes) -> Any:
        """The schema as a fresh plain value, for one batch's envelope."""
        if self.flat:
            return list(map(dict.copy, self.schema))
        return core.UNTYPED.decode(schema_text)


_SCALARS = (str, int, float, bool, type(None))


@functools.lru_cache(maxsize=256)
def _one_pass(schema_text: bytes, graph: bool, projection: Projection | None) -> _Plan | None:
    """How whole responses whose schema is ``schema_text`` decode in one pass."""
    try:
        columns = msgspec.json.decode(schema_text, type=list[_Column])
        kind = row_type(_schema_of(columns), graph, projection)
        # (read whole: the typed decode above skipped what no column field names, unchecked)
        schema: list[Any] = core.UNTYPED.decode(schema_text)
    except (ValueError, TypeError):
        return None
    flat = all(isinstance(c, dict) and all(isinstance(v, _SCALARS) for v in c.values()) for c in schema)
    names = ("schema", "results") if graph else ("Schema", "Results")
    response = msgspec.defstruct(
        "_Response",
        [
            ("Stats", Any, msgspec.UNSET),
            ("context", Any, msgspec.field(default=msgspec.UNSET, name="@odata.context")),
            (names[0], Raw, _NULL),
            (names[1], list[kind.struct], []),  # type: ignore[name-defined]
        ],
        kw_only=True,
        forbid_unknown_fields=True,
    )
    return _Plan(kind, msgspec.json.Decoder(response, strict=False), _record_type(kind), schema, flat)


def _fast_whole(buf: bytes) -> Batch | None:
    """One msgspec pass over the whole response, its row struct found by the schema's bytes (cached)."""
    found = _schema_text(buf)
    if found is None:
        return None
    schema_text, graph = found
    plan = _one_pass(schema_text, graph, CURRENT.get())
    if plan is None:
        return None
    kind, decoder = plan.kind, plan.decoder
    envelope: dict[str, Any] = {}

    def rows(data: bytes) -> list[Any]:
        response = decoder.decode(data)
        if bytes(getattr(response, "schema" if graph else "Schema")) != schema_text:
            raise ValueError("the schema is not the one the rows were typed by")
        decoded: list[Any] = getattr(response, "results" if graph else "Results")
        if graph:
            _graph_rows(decoded, kind)
        # the envelope: the struct forbids any other key, so these are all of them
        if response.context is not msgspec.UNSET:
            envelope["@odata.context"] = response.context
        if response.Stats is not msgspec.UNSET:
            envelope["Stats"] = response.Stats
        envelope["schema" if graph else "Schema"] = plan.envelope_schema(schema_text)
        return decoded

    batch = core.fast(rows, buf, "rows", TIMES, wrap=plan.record_type)
    if batch is not None:
        batch.envelope = envelope
    return batch


#: The keys of a response that hold its rows (every other key is its envelope).
_ROW_KEYS = ("Results", "results")


def _whole(buf: bytes, first_index: int = 0) -> Batch:
    batch = _fast_whole(buf)
    if batch is not None:
        return batch
    batch = _rows(buf, first_index)
    batch.envelope = core.envelope(buf, _ROW_KEYS)  # {} for several responses, or one that is not JSON
    return batch


def _rows(buf: bytes, first_index: int) -> Batch:
    """The rows of a response the one-pass decode did not take."""
    try:
        raw = _decoders()[0].decode(buf)
    except DECODE_ERRORS as exc:
        if core.several_values(buf):
            return core.decode_lines(buf, first_index, try_fast=False)  # responses one per line
        return _broken(buf, first_index, exc)
    graph = raw.schema is not None or raw.results is not _NULL
    columns = raw.schema if graph else raw.Schema
    rows = raw.results if graph else raw.Results
    try:
        kind = row_type(_schema_of(columns or []), graph, CURRENT.get())
    except (ValueError, TypeError) as exc:
        # A schema msgspec cannot build a struct of (two columns of one name, ...): rows untyped.
        return _untyped_rows(buf, first_index, f"schema: {exc}")
    if rows is _NULL or bytes(rows).strip() == b"null":
        return Batch([], [])
    record_type = _record_type(kind)
    origin_rows: list[Any] = []

    def decode_rows(data: bytes) -> list[Any]:
        decoded: list[Any] = kind.decoder.decode(rows)
        if graph:
            _graph_rows(decoded, kind)
        origin_rows.append(decoded)
        return decoded

    batch = core.fast(decode_rows, buf, "rows", TIMES, wrap=record_type)
    if batch is not None:
        return batch
    raws_all = _decoders()[1].decode(buf)
    raws = (raws_all.results if graph else raws_all.Results) or []
    del raws_all
    return _each_row(raws, kind, record_type, graph, first_index)


def _each_row(raws: list[Any], kind: RowKind, record_type: Any, graph: bool, first_index: int) -> Batch:
    """Rows one by one: a row that does not fit its schema keeps every value, in extra where it does not fit."""

    def typed(raw: Any) -> Record | None:
        try:
            row = kind.one.decode(raw)
        except DECODE_ERRORS:
            return None
        return made(row, {})

    def built(value: dict[str, Any]) -> Record:
        cells = {k: v for k, v in value.items() if not (k.endswith("@odata.type") and k[:-11] in value)}
        extra: dict[str, Any] = {}
        return made(_deep.build(kind.struct, cells, "$", extra), extra)

    def made(row: Any, extra: dict[str, Any]) -> Record:
        if graph:
            _graph_rows([row], kind)
        return record_type(properties=row, extra=extra)  # type: ignore[no-any-return]

    return _rows_each(raws, "$.results" if graph else "$.Results", first_index, built, typed)


def _rows_each(
    raws: list[Any],
    prefix: str,
    first_index: int,
    built: Callable[[dict[str, Any]], Record],
    typed: Callable[[Any], Record | None] | None = None,
) -> Batch:
    """One record per row of ``raws``: ``typed(raw)`` when it gives one, else ``built`` from the
    row's plain values; a row that is not a JSON object is an error."""
    records: list[Record] = []
    errors: list[InvalidRecord] = []
    for pos, raw in enumerate(raws):
        record = typed(raw) if typed is not None else None
        if record is None:
            index, path = first_index + pos, f"{prefix}[{pos}]"
            try:
                value = core.untyped(raw)
            except DECODE_ERRORS as exc:
                errors.append(InvalidRecord(index, path, f"not JSON: {core.describe(exc)}", bytes(raw)))
                continue
            if not isinstance(value, dict):
                errors.append(_not_a_row(index, path, value, raw))
                continue
            record = built(value)
        record._src = (core.Origin(bytes(raw), "one", TIMES), 0)
        records.append(record)
    return Batch(records, errors)


def _not_a_row(index: int, path: str, value: Any, raw: Any) -> InvalidRecord:
    return InvalidRecord(index, path, f"expected a JSON object (a row), got {core.type_name(value)}", bytes(raw))


_ROWS_AT = re.compile(rb'"(Results|results)"' + _WS + rb":" + _WS + rb"\[")
_SCHEMA_AT = re.compile(rb'"(?:Schema|schema)"' + _WS + rb":" + _WS + rb"\[")


def _broken(buf: bytes, first_index: int, exc: BaseException) -> Batch:
    """A response that is not valid JSON: its rows split by the tolerant scanner, typed when its schema is intact."""
    m = _ROWS_AT.search(buf)
    if m is None:
        raise InvalidInput(f"an advanced hunting response that is not JSON: {core.describe(exc)}", 0)
    graph = m.group(1) == b"results"
    rows, checked = core.split_items(buf, m.end() - 1, "$.results" if graph else "$.Results", first_index, member=True)
    schema = _SCHEMA_AT.search(buf)
    if schema is not None:
        try:
            # msgspec, else json.loads (lone surrogates): the schema as json.loads reads it
            columns = [msgspec.convert(loads(raw), _Column) for raw in core.split_array(buf, schema.end() - 1)]
            kind = row_type(_schema_of(columns), graph, CURRENT.get())
        except (ValueError, TypeError, RecursionError):
            pass
        else:
            return checked(_each_row(rows, kind, _record_type(kind), graph, first_index))
    return checked(_untyped_rows(buf, first_index, None, rows))


def _untyped_rows(buf: bytes, first_index: int, why: str | None, raws: list[bytes] | None = None) -> Batch:
    from ..api.records import HuntingRecord

    prefix = "$.results" if b'"results"' in buf else "$.Results"
    if raws is None:
        raws_all = _decoders()[1].decode(buf)
        raws = [bytes(r) for r in (raws_all.results or raws_all.Results or [])]
    return _rows_each(raws, prefix, first_index, lambda value: HuntingRecord(properties=unwrap_dynamic(value)))


def _unwrap(value: dict[str, Any], buf: bytes, first_index: int) -> Batch | None:
    if ("Schema" in value and "Results" in value) or ("schema" in value and "results" in value):
        del value
        return _whole(buf, first_index)
    return None


@functools.lru_cache(maxsize=256)
def _texts_decoder(schema_text: bytes, graph: bool) -> msgspec.json.Decoder[Any] | None:
    """The decoder of the datetime texts of a response whose schema is ``schema_text`` when its
    rows are a known table's: for each row, a struct of the table's datetime attributes as the
    JSON values that arrived (msgspec skips every other cell).  None for other rows: the
    records of ``HuntingRow`` read their rows untyped (``ApiRecord.to_dict``)."""
    from ..api.records import _may_hold_datetime  # the test to_dict() finds datetimes by

    plan = _one_pass(schema_text, graph, None)
    if plan is None or plan.kind.table is None:
        return None
    view = msgspec.defstruct(
        "_RowTexts",
        [
            (field.name, Any, msgspec.field(default=None, name=field.encode_name))
            for field in msgspec.structs.fields(plan.kind.struct)
            if _may_hold_datetime(field.type, frozenset())
        ],
    )
    rows: Any = msgspec.field(default=[], name="results" if graph else "Results")
    return msgspec.json.Decoder(msgspec.defstruct("_RowTextsResponse", [("rows", list[view], rows)]))  # type: ignore[valid-type]


class _RowTimes(ModuleTimes):
    """The datetime strings of flat rows (hunting results, exported rows).

    A hunting response of a known table's rows has typed views: per row, a struct
    of the table's datetime attributes (:func:`_texts_decoder`), which the compiled
    rule sets read through :meth:`texts` without a call per column.  Other rows are
    read untyped.
    """

    def load(self, data: bytes, layout: str, typed: bool) -> Any:
        if typed and layout == "rows":
            found = _schema_text(data)
            decoder = None if found is None else _texts_decoder(*found)
            if decoder is not None:
                return decoder.decode(data).rows
        if layout == "lines":  # flat rows one per line (Log Analytics export)
            return loads_lines(data)
        value = loads(data)  # msgspec, else json.loads (lone surrogates, NaN)
        if layout == "one":
            return [value]
        if isinstance(value, dict):
            return value.get("Results") if "Results" in value else value.get("results")
        return None

    def text(self, view: Any, record: Record, column: str, envelope: bool) -> Any:
        if not isinstance(view, dict):  # a typed view: the row struct's datetime attributes
            return getattr(view, column, None) if column in view.__struct_fields__ else None
        if "." in column or "[" in column:
            return resolve_path(view, column)
        return view.get(column)

    def texts(self, view: Any, record: Record) -> tuple[Any, Any]:
        """``(None, view)`` for a typed view (rows have no envelope); an untyped one gives none."""
        return (None, None) if isinstance(view, dict) else (None, view)


TIMES = _RowTimes()

SHAPE: Shape = Shape(
    name="hunting",
    kinds=("HuntingRow", "<table>"),
    sniff=_sniff,
    whole=_whole,
    unwrap=_unwrap,
    times=TIMES,
)
