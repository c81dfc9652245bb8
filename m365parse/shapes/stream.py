"""Streaming API records: Event Hubs bodies, JSON lines, arrays, one record.

An Event Hubs message body is ``{"records": [...]}`` (several may come one per
line); a record is ``{"time", "tenantId", "category": "AdvancedHunting-<table>",
"properties": {...}}``.  The fast path is one msgspec decode into the tagged
union (on ``category``) of the record structs of the tables seen streamed
(:data:`m365parse.tables.STREAMED`); the decoders are built on first use.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timezone
from operator import attrgetter
from typing import Any, NamedTuple, Union

import msgspec
from msgspec import Raw

from .. import _decode as core
from .._project import CURRENT, Projection, narrowed_record, with_properties
from .._stdjson import loads, loads_lines, records_member
from .._values import build_struct, coercer, filled_keys
from ..record import ENVELOPE_KEYS, Batch, Record, UnknownRecord, collected_as
from ..tables import DOCUMENTED_TYPES, RECORD_TYPES, STREAMED, TABLES
from . import DECODE_ERRORS, ModuleTimes, Reject, Resume, Shape

__all__ = ["SHAPE", "TIMES", "BODY_START"]

_PREFIX = "AdvancedHunting-"

#: An input that opens as an Event Hubs body.
BODY_START = re.compile(rb'[ \t\r\n]*\{[ \t\r\n]*"records"[ \t\r\n]*:[ \t\r\n]*\[')


class _Decoders(NamedTuple):
    body: msgspec.json.Decoder[Any]
    array: msgspec.json.Decoder[Any]
    one: msgspec.json.Decoder[Any]
    raw_body: msgspec.json.Decoder[Any]
    raw_records: msgspec.json.Decoder[Any]
    envelope_plan: dict[str, Any]


def _decoders() -> _Decoders:
    """The msgspec decoders of the stream shapes, of the current projection (see :mod:`m365parse._project`)
    and of the columns learned so far (see :class:`_Learned`)."""
    projection = CURRENT.get()
    return _decoders_of(projection, _LEARNED.key if projection is None else ())


@functools.lru_cache(maxsize=16)
def _decoders_of(projection: Projection | None, learned: tuple[tuple[str, tuple[str, ...]], ...]) -> _Decoders:
    """The decoders, built on first use (not at import), once per projection and set of learned columns."""
    # The tables seen streamed decode in one pass; records of the others take the
    # per-record path (their family modules are imported only when one is met).
    # A table with learned columns decodes into a record type that declares them
    # (records of the table again once decoded: see _variant and finished).
    variants: dict[str, type[Record]] = {}
    for table, columns in learned:
        try:
            variants[table] = _variant(table, columns)
        except (ValueError, TypeError):  # a name msgspec takes for no field: the table stays as it is
            continue
    members = [variants.get(t) or _member(RECORD_TYPES[t], projection) for t in STREAMED]
    union = Union[tuple(members)]  # type: ignore[valid-type]  # noqa: UP007
    # A body key besides "records" fails the one pass: the fallback keeps it (Batch.envelope).
    body = msgspec.defstruct("_Body", [("records", list[union])], forbid_unknown_fields=True)  # type: ignore[valid-type]
    raw_body = msgspec.defstruct("_RawBody", [("records", list[Raw])])
    return _Decoders(
        body=msgspec.json.Decoder(body, strict=False),
        array=msgspec.json.Decoder(list[union], strict=False),  # type: ignore[valid-type]
        one=msgspec.json.Decoder(union, strict=False),
        raw_body=msgspec.json.Decoder(raw_body),
        # the records of a body that has no other key (its envelope is then {})
        raw_records=msgspec.json.Decoder(
            msgspec.defstruct("_RawRecords", [("records", list[Raw])], forbid_unknown_fields=True)
        ),
        envelope_plan=coercer(Record),
    )


def _member(record_type: type[Record], projection: Projection | None) -> type[Record]:
    """The type the one-pass decoders decode records of ``record_type`` into: narrowed to
    ``projection``, or else its twin (:func:`_twin`)."""
    narrowed = narrowed_record(record_type, projection)
    return _twin(record_type) if narrowed is record_type else narrowed


@functools.cache
def _twin(record_type: type[Record]) -> type[Record]:
    """The twin of a table's record type that the one-pass decoders decode into.

    Its fields are the record type's.  As msgspec completes each of its records, the
    twin's ``__post_init__`` makes it a record of ``record_type`` (a change of class,
    while the record is fresh in the caches) and collects it as
    :func:`m365parse.record.collected` does, so that a one-pass decode that fails at
    one record keeps those before it.  Records made any other way (rows of a hunting
    response or a data export, the per-record path, a caller's own) are of the table's
    record type from the start and pay nothing for collecting.
    """
    return with_properties(record_type, TABLES[record_type._table], collected_as(record_type))


class _Learned:
    """Undeclared columns met in records of the streamed tables, which the one-pass decode then takes.

    When Defender adds a column to a table, every record of that table fails the
    one-pass decode (its struct forbids undeclared keys, so that none is lost) and
    takes the per-record path, about ten times the cost of the one pass.  The
    per-record path reports the column here (:meth:`met`); once :attr:`SAMPLE`
    records of the table were seen, the column is learned if at least one in
    :attr:`SHARE` of them had it, else its count starts again (a column Defender
    rolls out gradually is learned once common enough).  The decoders built after
    that declare it, in a record type of their own (:func:`_variant`), and
    :func:`finished` makes each record decoded so a record of its table again, the
    column's value in ``extra``, as the per-record path would have made it: about
    2 µs for every record of that table, which pays when the column is common and
    would not when it is rare (a record now and then with a column of its own keeps
    taking the per-record path).  At most :attr:`PER_TABLE` columns of a table and
    :attr:`TOTAL` in all are learned, in the order the records that reported them
    had them.  Outputs are the same with or without what was learned, except that
    ``extra`` holds learned columns in that order rather than in the record's own.
    """

    PER_TABLE = 8
    TOTAL = 64
    SAMPLE = 256  # records of a table seen before its reported columns are decided
    SHARE = 8  # a column is learned when at least 1 in SHARE of them had it

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.forget()

    def forget(self) -> None:
        """Forget every column learned or reported (the decoders built from now on declare none)."""
        with self.lock:
            self.columns: dict[str, tuple[str, ...]] = {}
            self.key: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (table, columns) pairs: a key of _decoders_of
            self.reported: dict[str, dict[str, int]] = {}  # table -> column -> records that had it
            self.seen: dict[str, int] = {}  # table -> its records seen since a column of it was reported

    def met(self, table: str, columns: list[str]) -> None:
        """A record of ``table`` took the per-record path; ``columns``: the undeclared ones it had."""
        with self.lock:
            reported = self.reported.get(table)
            for column in columns:
                if column in self.columns.get(table, ()) or not _nameable(column):
                    continue
                if reported is None:
                    reported = self.reported[table] = {}
                    self.seen[table] = 0
                reported[column] = reported.get(column, 0) + 1
            if reported is not None:
                self._count(table, 1)

    def decoded(self, records: list[Record]) -> None:
        """``records`` came out of the one-pass decode: those of tables with reported columns are counted."""
        counts = Counter(map(_TABLE_OF, records))
        with self.lock:
            for table in list(self.reported):
                if table in counts:
                    self._count(table, counts[table])

    def _count(self, table: str, records: int) -> None:
        """``records`` more records of ``table`` seen; its reported columns decided after :attr:`SAMPLE`
        (with the lock held)."""
        seen = self.seen[table] = self.seen[table] + records
        if seen < self.SAMPLE:
            return
        reported = self.reported.pop(table)
        del self.seen[table]
        have = self.columns.get(table, ())
        room = min(self.PER_TABLE - len(have), self.TOTAL - sum(map(len, self.columns.values())))
        new = tuple(column for column, hits in reported.items() if hits * self.SHARE >= seen)[: max(room, 0)]
        if new:
            self.columns[table] = have + new
            self.key = tuple(sorted(self.columns.items()))


_TABLE_OF = attrgetter("_table")


#: Record type of learned columns -> the function that makes one of its records a record of its table.
_RESTORE: dict[type[Record], Callable[[Record], None]] = {}


@functools.cache
def _variant(table: str, columns: tuple[str, ...]) -> type[Record]:
    """The record type that declares ``columns`` besides ``table``'s; its function in :data:`_RESTORE`."""
    struct, record_type = TABLES[table], RECORD_TYPES[table]
    attrs = [f"_m365parse_l{i}" for i in range(len(columns))]
    props = msgspec.defstruct(
        struct.__name__,
        [
            (attr, Any, msgspec.field(default=msgspec.UNSET, name=column))
            for attr, column in zip(attrs, columns, strict=True)
        ],
        bases=(struct,),
        kw_only=True,
    )
    variant = with_properties(record_type, props)  # (a record of it becomes one of record_type: restore)
    learned = tuple(zip(attrs, columns, strict=True))
    unset = msgspec.UNSET
    convert = msgspec.convert

    def restore(record: Record) -> None:
        props = record.properties
        extra = {column: value for attr, column in learned if (value := getattr(props, attr)) is not unset}
        record.__class__ = record_type
        record.properties = convert(props, struct, strict=False, from_attributes=True)
        if extra:
            record.extra = extra

    _RESTORE[variant] = restore
    return variant


_LEARNED = _Learned()


def met(table: str, columns: list[str]) -> None:
    """A record of ``table`` took the per-record path with the undeclared ``columns`` (see
    :class:`_Learned`); a table not streamed has no one-pass decode to learn them."""
    if table in _STREAMED and (columns or table in _LEARNED.reported):
        _LEARNED.met(table, columns)


_STREAMED = frozenset(STREAMED)


#: What msgspec takes for no field name: a backslash, a quote, a control character.
_UNNAMEABLE = re.compile(r'[\\"\x00-\x1f]')


def _nameable(column: str) -> bool:
    """Whether ``column`` can name a field of a msgspec struct (UTF-8, none of :data:`_UNNAMEABLE`)."""
    try:
        column.encode()
    except UnicodeEncodeError:
        return False
    return bool(column) and _UNNAMEABLE.search(column) is None


# --- where records came from (for timestamp_ns) ---------------------------------


class _Times(ModuleTimes):
    """The datetime strings of streamed records and SIEM alerts, and nothing else."""

    @functools.cached_property
    def spellings(self) -> dict[str, str]:
        from .siem import SPELLINGS  # siem imports this module

        return SPELLINGS

    @functools.cached_property
    def decoders(self) -> dict[str, msgspec.json.Decoder[Any]]:
        from .siem import ALIASES  # siem imports this module

        names = sorted({col for cols in DOCUMENTED_TYPES.values() for col, kind in cols.items() if kind == "datetime"})
        props = msgspec.defstruct("_PropsTimes", [(name, Any, None) for name in names])
        view = msgspec.defstruct(
            "_TimesView",
            [
                ("time", Any, None),
                ("_TimeReceivedBySvc", Any, None),
                ("AlertTime", Any, None),
                ("LastProcessedTimeUtc", Any, None),
                *((alias, Any, None) for alias, name in ALIASES.items() if name.endswith(("Time", "TimeUtc"))),
                ("properties", Union[props, None], None),  # noqa: UP007
            ],
        )
        body = msgspec.defstruct("_TimesBody", [("records", list[view])])  # type: ignore[valid-type]
        return {
            "body": msgspec.json.Decoder(body),
            "array": msgspec.json.Decoder(list[view]),  # type: ignore[valid-type]
            "one": msgspec.json.Decoder(view),
        }

    @functools.cached_property
    def by_table(self) -> dict[str, msgspec.json.Decoder[Any]]:
        """:attr:`decoders` for streamed records of the streamed tables only: one view per table.

        A union tagged by ``category``, each view with its own table's datetime columns:
        msgspec matches a key against a handful of names rather than all of them
        (about 0.6x the time on a body).  Records of other tables, and SIEM alerts, fail
        it: :attr:`decoders` reads them.
        """
        views = []
        for table in STREAMED:
            names = [col for col, kind in DOCUMENTED_TYPES[table].items() if kind == "datetime"]
            props = msgspec.defstruct(f"_{table}Times", [(name, Any, None) for name in names])
            views.append(
                msgspec.defstruct(
                    f"_{table}TimesView",
                    [("time", Any, None), ("_TimeReceivedBySvc", Any, None), ("properties", Union[props, None], None)],  # noqa: UP007
                    tag_field="category",
                    tag="AdvancedHunting-" + table,
                )
            )
        view: Any = Union[tuple(views)]  # noqa: UP007
        body = msgspec.defstruct("_TablesTimesBody", [("records", list[view])])
        return {
            "body": msgspec.json.Decoder(body),
            "array": msgspec.json.Decoder(list[view]),
            "one": msgspec.json.Decoder(view),
        }

    def load(self, data: bytes, layout: str, typed: bool) -> Any:
        """The views of every record of ``data`` (laid out as ``layout``), typed or untyped."""
        if typed:
            try:
                return self._typed(self.by_table, data, layout)
            except DECODE_ERRORS:
                return self._typed(self.decoders, data, layout)
        if layout == "lines":
            return loads_lines(data)
        if layout == "bodies":
            return [v for body in loads_lines(data) if isinstance(body, dict) for v in body.get("records") or []]
        value = loads(data)  # msgspec, else json.loads (lone surrogates, NaN)
        if layout == "body":
            return value.get("records") if isinstance(value, dict) else None
        return [value] if layout == "one" else value

    @staticmethod
    def _typed(decoders: dict[str, msgspec.json.Decoder[Any]], data: bytes, layout: str) -> Any:
        if layout == "lines":
            return decoders["one"].decode_lines(data)
        if layout == "bodies":
            return [view for body in decoders["body"].decode_lines(data) for view in body.records]
        value = decoders[layout].decode(data)
        if layout == "body":
            return value.records
        return [value] if layout == "one" else value

    def text(self, view: Any, record: Record, column: str, envelope: bool) -> Any:
        """The text of ``column`` in the view of ``record``, or None."""
        is_siem = record._table == "SiemAlert"
        if not envelope and not is_siem:
            view = view.get("properties") if isinstance(view, dict) else getattr(view, "properties", None)
        text = view.get(column) if isinstance(view, dict) else getattr(view, column, None)
        if text is None and is_siem and column in self.spellings:
            alias = self.spellings[column]  # the alert used another doc version's name
            text = view.get(alias) if isinstance(view, dict) else getattr(view, alias, None)
        return text

    def texts(self, view: Any, record: Record) -> tuple[Any, Any]:
        """The envelope and properties views of a typed view (see ``core.Times``); an untyped one gives none."""
        if isinstance(view, dict):
            return None, None
        if record._table == "SiemAlert":
            return view, view  # an alert's own names; another doc version's spelling reads as None
        return view, view.properties


#: The exact-timestamp reader of streamed records and SIEM alerts.
TIMES = _Times()


# --- zone-less envelope times -------------------------------------------------------

_TIME = attrgetter("time")
_RECEIVED = attrgetter("_TimeReceivedBySvc")
_TZINFO = attrgetter("tzinfo")


def finished(records: list[Record]) -> list[Record]:
    """``records`` as the one-pass decode gave them, made records of their tables (those of
    learned columns: :class:`_Learned`) and :func:`zoned`."""
    if _RESTORE:  # (once a column was learned: a lookup per record)
        restores = _RESTORE
        for record in records:
            restore = restores.get(record.__class__)
            if restore is not None:
                restore(record)
    if _LEARNED.reported and CURRENT.get() is None:  # (a narrowed decode skips undeclared columns)
        _LEARNED.decoded(records)
    return zoned(records)


def zoned(records: list[Record]) -> list[Record]:
    """``records``, their zone-less envelope times read as UTC (Defender's clock).

    The envelope times of :class:`m365parse.Record` take a timestamp without zone,
    so that the one-pass decode accepts such a record (it would otherwise send the
    batch to the per-record path); the check is a C-speed scan of the times.
    """
    if None not in map(_TZINFO, filter(None, map(_TIME, records))) and None not in map(
        _TZINFO, filter(None, map(_RECEIVED, records))
    ):
        return records
    for record in records:
        for name in ENVELOPE_TIMES:
            value = getattr(record, name)
            if value is not None and value.tzinfo is None:
                setattr(record, name, value.replace(tzinfo=timezone.utc))
    return records


#: The envelope attributes that hold a datetime.
ENVELOPE_TIMES = ("time", "_TimeReceivedBySvc")


# --- the hooks ----------------------------------------------------------------------


def _sniff(buf: bytes) -> bool:
    return BODY_START.match(buf) is not None


def _body_records(buf: bytes) -> list[Record]:
    return _decoders().body.decode(buf).records  # type: ignore[no-any-return]


def _bodies_records(buf: bytes) -> list[Record]:
    return finished([record for body in _decoders().body.decode_lines(buf) for record in body.records])


def _lines_records(buf: bytes) -> list[Record]:
    return _decoders().one.decode_lines(buf)


def _array_run(buf: bytes) -> list[Record]:
    return _decoders().array.decode(buf)  # type: ignore[no-any-return]


def _whole(buf: bytes, first_index: int = 0) -> Batch:
    """An Event Hubs body (or several, one per line)."""
    try:
        return core.run(_body_records, buf, "body", TIMES, finish=finished)
    except DECODE_ERRORS as exc:
        failed_at = core.failed_item(exc)
        done = core.kept(exc)
    raws: list[Any] | None = None
    others = False  # whether the body has keys besides "records"
    try:
        raws = _decoders().raw_records.decode(buf).records
    except DECODE_ERRORS:
        try:
            raws = _decoders().raw_body.decode(buf).records
            others = True
        except DECODE_ERRORS:
            pass
    if raws is not None:
        # The fast path resumes after the record that failed (runs of the array decoder),
        # the records before it kept from the failed pass.
        batch = core.decode_each(
            raws, "$.records", first_index=first_index, shape=SHAPE, failed_at=failed_at, done=done
        )
        if others:
            batch.envelope = core.envelope(buf, ("records",))  # the body's other keys
        return batch
    lines = core.nonblank_lines(buf)
    if sum(1 for line in lines if BODY_START.match(line)) > 1:
        # Event Hubs bodies one per line, as consumers often dump them.
        return core.decode_lines(buf, first_index)
    open_pos = BODY_START.match(buf).end() - 1  # type: ignore[union-attr]
    raws, checked = core.split_items(buf, open_pos, "$.records", first_index, member=True)
    return checked(core.decode_each(raws, "$.records", first_index=first_index))


def _resumable(decode: Callable[[bytes], list[Record]], buf: bytes, layout: str) -> Batch | None:
    """The one-pass decode of ``buf``; when it fails at an item after the first, :class:`Resume`
    there with the records it kept (streamed records, one the fast path rejects); None: not
    streamed records."""
    try:
        return core.run(decode, buf, layout, TIMES, finish=finished)
    except DECODE_ERRORS as exc:
        at = core.failed_item(exc)
        done = core.kept(exc)
    if at:
        raise Resume(SHAPE, at, done)
    return None


def _array(buf: bytes) -> Batch | None:
    return _resumable(_array_run, buf, "array")


def _run(buf: bytes) -> Batch:
    return core.run(_array_run, buf, "array", TIMES, finish=finished)


def _lines(buf: bytes) -> Batch | None:
    return _resumable(_lines_records, buf, "lines")


def _bodies(buf: bytes) -> Batch | None:
    return core.fast(_bodies_records, buf, "bodies", TIMES)


def _unwrap(value: dict[str, Any], buf: bytes, first_index: int) -> Batch | None:
    # A body whose "records" is not the first key.
    if isinstance(value.get("records"), list) and not core.recognised(value):
        others = {key: item for key, item in value.items() if key != "records"}
        del value
        raws = records_member(buf, core.split_array)  # each record's own bytes, whichever reader read it
        batch = core.decode_each(raws, "$.records", first_index=first_index)
        batch.envelope = others
        return batch
    return None


def _one(raw: Any) -> Record:
    return finished([_decoders().one.decode(raw)])[0]


def _recognise(value: dict[str, Any]) -> bool:
    return "category" in value or "properties" in value


def _build(value: dict[str, Any], raw: Any, path: str) -> Record:
    """Build a streamed record from an untyped value, column by column."""
    category = value.get("category")
    if not isinstance(category, str):
        what = "missing" if "category" not in value else f"a {core.type_name(category)}, not a string"
        raise Reject(f"{path}.category", f"`category` is {what}")
    props = value.get("properties")
    if not isinstance(props, dict):
        what = "missing" if "properties" not in value else f"a {core.type_name(props)}, not an object"
        raise Reject(f"{path}.properties", f"`properties` is {what}")
    plan = _decoders().envelope_plan
    envelope: dict[str, Any] = {}
    envelope_extra: dict[str, Any] = {}
    for key, item in value.items():
        if key in ("category", "properties"):
            continue
        convert = plan.get(key) if key in ENVELOPE_KEYS else None
        if convert is None:
            envelope_extra[key] = item
            continue
        ok, converted = convert(item) if item is not None else (True, None)
        if ok:
            envelope[key] = converted
        else:
            envelope_extra[key] = item
    table = category[len(_PREFIX) :] if category.startswith(_PREFIX) else None
    record_type = RECORD_TYPES.get(table) if table is not None else None
    if record_type is None:
        record: Record = UnknownRecord(category=category, properties=props, envelope_extra=envelope_extra, **envelope)
    else:
        struct_type = TABLES[table]  # type: ignore[index]
        struct, extra = build_struct(struct_type, props)
        record = record_type(properties=struct, extra=extra, envelope_extra=envelope_extra, **envelope)
        filled = filled_keys(struct_type)
        met(table, [key for key in extra if key not in filled])  # type: ignore[arg-type]  # (see _Learned)
    return zoned([record])[0]


SHAPE: Shape = Shape(
    name="stream",
    kinds=("<table>", "UnknownRecord"),
    recognise=_recognise,
    build=_build,
    sniff=_sniff,
    whole=_whole,
    array=_array,
    lines=_lines,
    bodies=_bodies,
    unwrap=_unwrap,
    one=_one,
    times=TIMES,
    run=_run,
)
