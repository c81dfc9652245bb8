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
from collections.abc import Callable
from datetime import timezone
from operator import attrgetter
from typing import Any, NamedTuple, Union

import msgspec
from msgspec import Raw

from .. import _decode as core
from .._project import CURRENT, Projection, narrowed_record
from .._stdjson import loads, loads_lines, records_member
from .._values import build_struct, coercer
from ..record import ENVELOPE_KEYS, Batch, Record, UnknownRecord
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
    """The msgspec decoders of the stream shapes, of the current projection (see :mod:`m365parse._project`)."""
    return _decoders_of(CURRENT.get())


@functools.lru_cache(maxsize=16)
def _decoders_of(projection: Projection | None) -> _Decoders:
    """The decoders, built on first use (not at import), once per projection."""
    # The tables seen streamed decode in one pass; records of the others take the
    # per-record path (their family modules are imported only when one is met).
    union = Union[tuple(narrowed_record(RECORD_TYPES[t], projection) for t in STREAMED)]  # type: ignore[valid-type]  # noqa: UP007
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
    return zoned([record for body in _decoders().body.decode_lines(buf) for record in body.records])


def _lines_records(buf: bytes) -> list[Record]:
    return _decoders().one.decode_lines(buf)


def _array_run(buf: bytes) -> list[Record]:
    return _decoders().array.decode(buf)  # type: ignore[no-any-return]


def _whole(buf: bytes, first_index: int = 0) -> Batch:
    """An Event Hubs body (or several, one per line)."""
    try:
        return core.run(_body_records, buf, "body", TIMES, finish=zoned)
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
    raws = core.split_array(buf, BODY_START.match(buf).end() - 1)  # type: ignore[union-attr]
    return core.decode_each(raws, "$.records", first_index=first_index)


def _resumable(decode: Callable[[bytes], list[Record]], buf: bytes, layout: str) -> Batch | None:
    """The one-pass decode of ``buf``; when it fails at an item after the first, :class:`Resume`
    there with the records it kept (streamed records, one the fast path rejects); None: not
    streamed records."""
    try:
        return core.run(decode, buf, layout, TIMES, finish=zoned)
    except DECODE_ERRORS as exc:
        at = core.failed_item(exc)
        done = core.kept(exc)
    if at:
        raise Resume(SHAPE, at, done)
    return None


def _array(buf: bytes) -> Batch | None:
    return _resumable(_array_run, buf, "array")


def _run(buf: bytes) -> Batch:
    return core.run(_array_run, buf, "array", TIMES, finish=zoned)


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
    return zoned([_decoders().one.decode(raw)])[0]


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
        struct, extra = build_struct(TABLES[table], props)  # type: ignore[index]
        record = record_type(properties=struct, extra=extra, envelope_extra=envelope_extra, **envelope)
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
