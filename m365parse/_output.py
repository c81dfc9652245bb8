"""JSON output of the command line: records and normalized events as JSON lines, fast.

No I/O here: bytes in memory.  Contract of this module:

- :func:`encode_lines` is the one JSON encoder of the command line: records,
  normalized events and error lines all go through it (one place to change how
  JSON is written).  ``ExactDatetime`` values are written with every digit.
- :func:`record_lines` gives, for records as :func:`m365parse.decode` returned
  them, exactly what ``[r.to_dict() for r in records]`` gives when encoded, at a
  fraction of the cost, and consumes the records: the row struct is encoded by
  msgspec itself (its ``None`` columns left out by ``omit_defaults``), each of
  its datetime columns holding the text it arrived as (read for the whole batch
  in one pass, the origin's views) when that text is already canonical
  (``2021-07-21T00:55:44.2280946Z``: all 7 digits), else
  :func:`m365parse._values.exact_iso`.  Records it cannot take that way (SIEM
  alerts, unknown tables, records without an origin) get ``to_dict()``.
- :func:`record_bytes` finds the input bytes of a decoded record again, for the
  error file of a record that could not be written.
"""

from __future__ import annotations

import functools
import operator
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Union

import msgspec
from msgspec import Raw, Struct

from ._collector import collector_off
from ._json import encode
from ._values import ExactDatetime, Timestamp, exact_iso
from .record import Record, SiemRecord, UnknownRecord
from .shapes import DECODE_ERRORS, SHAPES, stream
from .tables import RECORD_TYPES, STREAMED

__all__ = ["encode_lines", "encode_line", "record_lines", "stream_lines", "TextLines", "record_bytes"]


def _enc_hook(value: Any) -> Any:
    if isinstance(value, ExactDatetime):
        return value.isoformat_exact()
    raise TypeError(f"cannot write a value of type {type(value).__name__} as JSON")


_ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook)


def encode_lines(items: Sequence[Any]) -> bytes:
    """``items`` as JSON lines (each followed by a newline), in one call.

    Raises ``TypeError`` or ``ValueError`` (``UnicodeEncodeError`` for a string
    holding a lone surrogate, for one) when an item cannot be written; callers
    then encode the items one by one to find it.
    """
    return _ENCODER.encode_lines(items)


def encode_line(item: Any) -> bytes:
    """One item as a JSON line; lone surrogates in its strings written as ``\\udXXX`` escapes.

    The per-item path after :func:`encode_lines` failed: raises ``TypeError`` or
    ``ValueError`` only for an item that no JSON can hold.
    """
    return encode(item, enc_hook=_enc_hook) + b"\n"


# --- records -------------------------------------------------------------------------

_DATETIME_COLUMNS: dict[type, tuple[str, ...]] = {}


def _holds_datetime(annotation: Any) -> bool:
    if annotation is datetime or getattr(annotation, "__origin__", None) is datetime:  # Annotated[datetime, ...]
        return True
    return any(_holds_datetime(arg) for arg in getattr(annotation, "__args__", ()))


def _datetime_columns(struct_type: type) -> tuple[str, ...]:
    columns = _DATETIME_COLUMNS.get(struct_type)
    if columns is None:
        columns = tuple(f.name for f in msgspec.structs.fields(struct_type) if _holds_datetime(f.type))
        _DATETIME_COLUMNS[struct_type] = columns
    return columns


def _is_canonical(text: Any) -> bool:
    """Whether a datetime text that msgspec accepted is already in canonical form.

    ``_values._CANONICAL`` for a text known to be a valid RFC 3339 timestamp,
    checked by position (4 times cheaper than the regular expression): seconds,
    ``T``, ``Z``, and a fraction of 1-9 digits that does not end in 0.
    """
    if text.__class__ is not str:
        return False
    n = len(text)
    if n == 20:
        return text[10] == "T" and text[19] == "Z" and text[16] == ":"
    return (
        22 <= n <= 30
        and text[19] == "."
        and text[10] == "T"
        and text[-1] == "Z"
        and text[16] == ":"
        and text[-2] != "0"
    )


@collector_off
def record_lines(records: Sequence[Record]) -> list[Any]:
    """The JSON-ready form of each record, encoded the same JSON as :meth:`Record.to_dict`; consumes them.

    The records must be as decoded (not modified since), and are not to be used
    afterwards but for their table, origin (:func:`record_bytes`) and type: the
    datetime columns of their rows hold text once this returns (written in
    place: a copy of every row would cost more).  A record of a streamed table
    whose origin has views of its datetime texts becomes a :class:`_Line`; any
    other record, its ``to_dict()``.

    Every datetime text put in a line goes to one list, checked for canonical
    form at once (:func:`_all_canonical`); when that fails, the texts are
    checked one by one (:func:`_fix`) and those not canonical replaced by
    :func:`m365parse._values.exact_iso`.  The cyclic garbage collector is paused
    meanwhile (the lines make no cycles; collections would walk the batch again
    and again: :func:`m365parse._collector.collector_off`).
    """
    return _lines(records)


def _getter(columns: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """``operator.attrgetter(*columns)`` that always gives a tuple."""
    if len(columns) > 1:
        return operator.attrgetter(*columns)
    if columns:
        one = operator.attrgetter(columns[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


#: The datetime columns of a row struct type and their getter, per type of the views of their texts.
_Plan = tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]
_PLANS: dict[type, dict[type, _Plan | None] | None] = {}
_VIEW_FIELDS = ("time", "_TimeReceivedBySvc", "properties")


def _plan(props_type: type, view_type: type) -> _Plan | None:
    """The datetime columns of a row struct type, and their getter (on the row and on its view).

    None when a view of ``view_type`` lacks one of them, or the row is not a
    struct: such records take ``to_dict()``.
    """
    if not issubclass(props_type, Struct):
        return None
    columns = _datetime_columns(props_type)
    hints = getattr(view_type, "__annotations__", {}).get("properties")
    found: set[str] = set()
    for arg in getattr(hints, "__args__", (hints,)):
        found.update(getattr(arg, "__struct_fields__", ()))
    if not set(columns) <= found:
        return None
    return columns, _getter(columns)


_Changed = list[tuple[Any, tuple[str, ...], tuple[Any, ...]]]


def _lines(records: Sequence[Record]) -> list[Any]:
    out: list[Any] = []
    append = out.append
    texts: list[Any] = []  # every datetime text put in a line
    add_text = texts.append
    add_texts = texts.extend
    changed: _Changed = []  # rows whose datetimes became text
    change = changed.append
    extended: list[int] = []  # lines of records with envelope keys of their own (rare)
    origin: Any = None
    views: Any = ()
    for record in records:
        src: Any = record._src
        if src.__class__ is not tuple:
            src = record._source()
        rtype = record.__class__
        if src is None or rtype is SiemRecord or rtype is UnknownRecord:
            append(record.to_dict())
            continue
        if src[0] is not origin:
            origin = src[0]
            load = getattr(origin, "_views_list", None)  # the decoder's datetime texts of this origin
            views = load() if load is not None else ()
        pos = src[1]
        view: Any = views[pos] if 0 <= pos < len(views) else None
        view_type = view.__class__  # one per table, or one for all (see shapes.stream._Times)
        try:
            plans = _PLANS[view_type]
        except KeyError:
            # views of streamed records have these fields; any other view: to_dict()
            ok = set(_VIEW_FIELDS) <= set(getattr(view_type, "__struct_fields__", ()))
            plans = _PLANS[view_type] = {} if ok else None
        if plans is None or view.properties is None:
            append(record.to_dict())
            continue
        pview = view.properties
        time, tenant_id, operation, received, tenant, envelope_extra, extra, props = _RECORD_FIELDS(record)
        try:
            plan = plans[props.__class__]
        except KeyError:
            plan = plans[props.__class__] = _plan(props.__class__, view_type)
        if plan is None:
            append(record.to_dict())
            continue
        if time is not None:
            time = view.time
            add_text(time)
        if received is not None:
            received = view._TimeReceivedBySvc
            add_text(received)
        columns, getter = plan
        values = getter(props)
        found = getter(pview)
        if None in values:  # some columns are empty: only the others get their text
            for column, value, text in zip(columns, values, found):  # noqa: B905 - same length
                if value is not None:
                    setattr(props, column, text)
                    add_text(text)
        else:
            for column, text in zip(columns, found):  # noqa: B905 - same length
                setattr(props, column, text)
            add_texts(found)
        change((props, columns, values))
        if envelope_extra:
            extended.append(len(out))
        table = rtype._table
        append(_Line(table, _Envelope(time, tenant_id, operation, _CATEGORY + table, received, tenant), props, extra))
    if texts and not _all_canonical(texts):
        _fix(records, out, changed)
    for i in extended:  # keys of its own, after the known ones (as Record.envelope has them)
        line = out[i]
        envelope: dict[str, Any] = {k: v for k, v in msgspec.structs.asdict(line.envelope).items() if v is not None}
        envelope.update(records[i].envelope_extra)
        line.envelope = envelope
    return out


_CATEGORY = "AdvancedHunting-"


def _all_canonical(texts: list[Any]) -> bool:
    """Whether every one of ``texts`` is canonical (:func:`_is_canonical`), checked a length at a time.

    The texts of one length, joined, are checked by position with slices: a few
    operations per length rather than a few per text.
    """
    try:
        sizes = Counter(map(len, texts))
        joined = "".join(sorted(texts, key=len))
    except TypeError:  # a text that is not a string
        return False
    pos = 0
    for size in sorted(sizes):
        n = sizes[size]
        end = pos + n * size
        if size == 20:  # no fraction: 2021-07-21T00:55:44Z
            ok = joined[pos + 19 : end : size] == "Z" * n
        elif 22 <= size <= 30:  # 1-9 digits, not ending in 0
            ok = (
                joined[pos + 19 : end : size] == "." * n
                and joined[pos + size - 1 : end : size] == "Z" * n
                and "0" not in joined[pos + size - 2 : end : size]
            )
        else:
            return False
        if not (ok and joined[pos + 10 : end : size] == "T" * n and joined[pos + 16 : end : size] == ":" * n):
            return False
        pos = end
    return True


def _fix(
    records: Sequence[Record], out: list[Any], changed: list[tuple[Any, tuple[str, ...], tuple[Any, ...]]]
) -> None:
    """Check each datetime text of ``out`` on its own: one not canonical becomes :func:`m365parse._values.exact_iso`.

    A text canonical but for trailing zeros is trimmed (:func:`_trimmed`), which is what exact_iso gives.

    ``changed`` holds the rows whose datetimes became text, with their columns
    and datetimes: exact_iso reads the datetime (put back while it runs).
    """
    rows = {id(props): (columns, values) for props, columns, values in changed}
    for record, line in zip(records, out, strict=True):
        if line.__class__ is not _Line:
            continue  # to_dict() wrote it
        envelope = line.envelope
        for column in ("time", "_TimeReceivedBySvc"):
            text = getattr(envelope, column)
            if getattr(record, column) is not None and not _is_canonical(text):
                setattr(envelope, column, _trimmed(text) or exact_iso(record, column))
        props = line.properties
        columns, values = rows[id(props)]
        for column, value in zip(columns, values, strict=True):
            text = getattr(props, column)
            if value is not None and not _is_canonical(text):
                text = _trimmed(text)  # Kusto's trailing zeros: what exact_iso gives, without reading again
                if text is None:
                    setattr(props, column, value)
                    text = exact_iso(record, column)
                setattr(props, column, text)


class _Envelope(Struct, omit_defaults=True, gc=False):
    """The envelope of a streamed record, in the order of :attr:`Record.envelope`; None left out."""

    time: Any = None
    tenantId: Any = None
    operationName: Any = None
    category: Any = None
    _TimeReceivedBySvc: Any = None
    Tenant: Any = None


class _Line(Struct, gc=False):
    """One output line: what ``Record.to_dict()`` gives, as a struct (cheaper to make and to encode)."""

    table: str
    envelope: Any
    properties: Any
    extra: Any


_RECORD_FIELDS = operator.attrgetter(
    "time", "tenantId", "operationName", "_TimeReceivedBySvc", "Tenant", "envelope_extra", "extra", "properties"
)


# --- JSON lines straight to lines ----------------------------------------------------


class TextLines(NamedTuple):
    """A block of JSON lines written without records: see :func:`stream_lines`."""

    lines: list[Any]  # _Line structs, in input order
    tables: list[str]  # the table of each line


#: Per twin struct of a record: its table, its category, and the getter of the datetime columns of its row.
_TwinPlan = tuple[str, str, Callable[[Any], tuple[Any, ...]]]
_TWIN_FIELDS = operator.attrgetter(
    "time", "tenantId", "operationName", "_TimeReceivedBySvc", "Tenant", "extra", "properties"
)


@functools.cache
def _twins() -> tuple[msgspec.json.Decoder[Any], dict[type, _TwinPlan], dict[type, tuple[str, ...]]]:
    """The decoder of the one-pass decode of streamed records, with datetimes as text.

    One "twin" struct per record struct of the tables seen streamed (the union
    the stream shape decodes JSON lines with): the same fields, names, defaults
    and options, but each datetime field a string.
    """
    twins = []
    plans: dict[type, _TwinPlan] = {}
    row_columns: dict[type, tuple[str, ...]] = {}  # the datetime columns of each twin row
    for table in STREAMED:
        record_type = RECORD_TYPES[table]
        infos = msgspec.structs.fields(record_type)  # type hints resolved once per struct: the slow part
        kinds: list[Any] = []
        columns: tuple[str, ...] = ()
        for info in infos:
            kind: Any = info.type
            if info.name == "properties":
                row_infos = msgspec.structs.fields(kind)
                columns = tuple(f.name for f in row_infos if _holds_datetime(f.type))
                kind = _twin(kind, f"_{table}Row", row_infos, [_text_or(f.type) for f in row_infos])
                row_columns[kind] = columns
            else:
                kind = _text_or(kind)
            kinds.append(kind)
        twin = _twin(record_type, f"_{table}Line", infos, kinds)
        twins.append(twin)
        plans[twin] = (record_type._table, _CATEGORY + record_type._table, _getter(columns))
    decoder = msgspec.json.Decoder(Union[tuple(twins)], strict=False)  # noqa: UP007
    return decoder, plans, row_columns


_TIMESTAMPS = msgspec.json.Decoder(list[Timestamp], strict=False)


def stream_lines(block: bytes) -> TextLines | None:
    """The lines of a block of JSON lines of streamed records, without decoding records.

    Exactly what :func:`m365parse.decode` and :func:`record_lines` would give for
    ``block`` (complete lines) when the one-pass decode of streamed records takes
    it whole: its twin structs are decoded instead, whose datetimes are the text
    that arrived.  None when the block is anything else (then decode it): a line
    that is not such a record or does not fit its struct, a datetime that is not
    canonical (``exact_iso`` would rewrite it) or not a valid timestamp.
    """
    for shape in SHAPES:  # the shapes decode_lines() asks first must not take the block
        if shape is stream.SHAPE:
            break
        if shape.lines is not None and shape.lines(block) is not None:
            return None
    decoder, plans, row_columns = _twins()
    try:
        items = decoder.decode_lines(block)
    except DECODE_ERRORS:
        return None
    lines: list[Any] = []
    append = lines.append
    tables: list[str] = []
    add_table = tables.append
    texts: list[Any] = []  # the datetimes of every line, None for those absent
    add_text = texts.append
    add_texts = texts.extend
    for item in items:
        table, category, getter = plans[item.__class__]
        time, tenant_id, operation, received, tenant, extra, props = _TWIN_FIELDS(item)
        add_text(time)
        add_text(received)
        add_texts(getter(props))
        append(_Line(table, _Envelope(time, tenant_id, operation, category, received, tenant), props, extra))
        add_table(table)
    texts = [text for text in texts if text is not None]
    if texts and not _all_canonical(texts) and not _trim_zeros(lines, row_columns):
        return None
    if texts:
        try:
            _TIMESTAMPS.decode(('["' + '","'.join(texts) + '"]').encode())  # checked: nothing to escape
        except DECODE_ERRORS:
            return None
    return TextLines(lines, tables)


def _trim_zeros(lines: list[Any], columns: dict[type, tuple[str, ...]]) -> bool:
    """Give each datetime text of ``lines`` that is not canonical its canonical form, or return False.

    Only texts that are canonical but for trailing zeros in the fraction (Kusto
    writes 7 digits: ``2021-07-21T00:55:44.2280940Z``) are rewritten, as
    :func:`m365parse._values.exact_iso` writes them (``...44.228094Z``); any
    other form (an offset, a lowercase letter, no zone) returns False: decode the
    block.
    """
    for line in lines:
        props = line.properties
        if not (_trim(line.envelope, _ENVELOPE_TIMES) and _trim(props, columns[props.__class__])):
            return False
    return True


_ENVELOPE_TIMES = ("time", "_TimeReceivedBySvc")


def _trim(obj: Any, columns: tuple[str, ...]) -> bool:
    """:func:`_trim_zeros` for the datetime ``columns`` of one struct."""
    for column in columns:
        text = getattr(obj, column)
        if text is not None and not _is_canonical(text):
            text = _trimmed(text)
            if text is None:
                return False
            setattr(obj, column, text)
    return True


def _trimmed(text: Any) -> str | None:
    """``text`` without the trailing zeros of its fraction when that makes it canonical, else None."""
    if text.__class__ is not str or len(text) < 22 or text[19] != "." or text[-1] != "Z":
        return None
    head, fraction = text[:19], text[20:-1].rstrip("0")
    trimmed = f"{head}.{fraction}Z" if fraction else head + "Z"
    return trimmed if _is_canonical(trimmed) else None


def _text_or(kind: Any) -> Any:
    """``str | None`` for the type of a datetime field, else ``kind``."""
    return str | None if _holds_datetime(kind) else kind


def _twin(struct_type: Any, name: str, infos: tuple[Any, ...], kinds: list[Any]) -> Any:
    """``struct_type`` (whose fields are ``infos``) with the field types ``kinds``; all else the same."""
    fields: list[Any] = []
    for info, kind in zip(infos, kinds, strict=True):
        if info.default is not msgspec.NODEFAULT:
            fields.append((info.name, kind, info.default))
        elif info.default_factory is not msgspec.NODEFAULT:
            fields.append((info.name, kind, msgspec.field(default_factory=info.default_factory)))
        else:
            fields.append((info.name, kind))
    config = struct_type.__struct_config__
    return msgspec.defstruct(
        name,
        fields,
        rename={info.name: info.encode_name for info in infos},
        kw_only=True,
        omit_defaults=config.omit_defaults,
        forbid_unknown_fields=config.forbid_unknown_fields,
        tag_field=config.tag_field,
        tag=config.tag,
    )


# --- the bytes of a record -------------------------------------------------------------


class _RawBody(Struct):
    records: list[Raw]


_RAW_BODY = msgspec.json.Decoder(_RawBody)
_RAW_ARRAY = msgspec.json.Decoder(list[Raw])
_RAW = msgspec.json.Decoder(Raw)
_WS = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"


def record_bytes(record: Record) -> bytes | None:
    """The input bytes ``record`` was decoded from; ``None`` when they cannot be found."""
    src = record._source()
    if src is None:
        return None
    origin, pos = src
    data, shape = getattr(origin, "_data", None), getattr(origin, "_shape", None)
    if not isinstance(data, bytes):
        return None
    try:
        raws: list[Any]
        if shape == "one":
            return data.strip(_WS).removeprefix(_BOM).strip(_WS)
        if shape == "lines":
            raws = _RAW.decode_lines(data)  # as the decoder read them: values one after the other
        elif shape == "body":
            raws = _RAW_BODY.decode(data).records
        elif shape == "array":
            raws = _RAW_ARRAY.decode(data)
        elif shape == "bodies":
            raws = [raw for one in _RAW_BODY.decode_lines(data) for raw in one.records]
        else:
            return None
    except (ValueError, RecursionError):
        return None
    return bytes(raws[pos]) if 0 <= pos < len(raws) else None
