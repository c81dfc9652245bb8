"""JSON output of the command line: records and normalized events as JSON lines, fast.

No I/O here: bytes in memory.  Contract of this module:

- :func:`encode_lines` is the one JSON encoder of the command line: records,
  normalized events and error lines all go through it (one place to change how
  JSON is written).  ``ExactDatetime`` values are written with every digit.
- :func:`record_items` gives, for records as :func:`m365parse.decode` returned
  them, exactly what ``[r.to_dict() for r in records]`` gives when encoded, at a
  fraction of the cost: the row struct is encoded by msgspec itself (its
  ``None`` columns left out by ``omit_defaults``), and each datetime column is
  replaced by the text it arrived as when that text is already canonical
  (``2021-07-21T00:55:44.2280946Z``: all 7 digits), else by
  :func:`m365parse._values.exact_iso`.  Records it cannot take that way (SIEM
  alerts, unknown tables, records without an origin) get ``to_dict()``.
- :func:`record_bytes` finds the input bytes of a decoded record again, for the
  error file of a record that could not be written.
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import msgspec
from msgspec import Raw, Struct

from ._json import encode
from ._values import ExactDatetime, exact_iso
from .record import Record, SiemRecord, UnknownRecord

__all__ = ["encode_lines", "encode_line", "record_items", "record_bytes"]


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


def _canonical(text: Any) -> bool:
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


@contextmanager
def record_items(records: Sequence[Record]) -> Iterator[list[Any]]:
    """The JSON-ready form of each record: encoded, the same JSON as :meth:`Record.to_dict`.

    A context manager: while it is open, the datetime columns of the records'
    row structs hold their canonical text (written in place, which costs less
    than a copy of the struct); they get their datetimes back when it closes.
    Records must be as decoded (not modified since); use the items inside the
    ``with`` block only.  The cyclic garbage collector is paused meanwhile (the
    items make no cycles; collections would walk the batch again and again).
    """
    undo: list[tuple[Any, str, Any]] = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield _items(records, undo)
    finally:
        for struct, column, value in undo:
            setattr(struct, column, value)
        if enabled:
            gc.enable()


def _items(records: Sequence[Record], undo: list[tuple[Any, str, Any]]) -> list[Any]:
    out: list[Any] = []
    origin: Any = None
    views: Any = None
    for record in records:
        src = record._src
        rtype = type(record)
        if src is None or rtype is SiemRecord or rtype is UnknownRecord:
            out.append(record.to_dict())
            continue
        if src[0] is not origin:
            origin = src[0]
            load = getattr(origin, "_views_list", None)  # the decoder's datetime texts of this origin
            views = load() if load is not None else None
        view: Any = views[src[1]] if views is not None and 0 <= src[1] < len(views) else None
        pview = getattr(view, "properties", None)
        if pview is None:
            out.append(record.to_dict())
            continue
        time, tenant_id, operation, received, tenant, envelope_extra, extra, props = _RECORD_FIELDS(record)
        text: Any
        if time is not None:
            text = view.time
            time = text if _canonical(text) else exact_iso(record, "time")
        if received is not None:
            text = view._TimeReceivedBySvc
            received = text if _canonical(text) else exact_iso(record, "_TimeReceivedBySvc")
        envelope: Any = _Envelope(time, tenant_id, operation, "AdvancedHunting-" + record._table, received, tenant)
        if envelope_extra:  # rare: keys of its own, after the known ones (as Record.envelope has them)
            envelope = {k: v for k, v in msgspec.structs.asdict(envelope).items() if v is not None}
            envelope.update(envelope_extra)
        for column in _datetime_columns(type(props)):
            value = getattr(props, column)
            if value is not None:
                text = getattr(pview, column, None)
                # _canonical(text), inlined: this runs for 3-5 columns of every record
                if not (
                    text.__class__ is str
                    and text[-1:] == "Z"
                    and text[10:11] == "T"
                    and (len(text) == 20 or (21 < len(text) < 31 and text[19] == "." and text[-2] != "0"))
                    and text[16] == ":"
                ):
                    text = exact_iso(record, column)
                undo.append((props, column, value))
                setattr(props, column, text)
        out.append(_Line(record._table, envelope, props, extra))
    return out


class _Envelope(Struct, omit_defaults=True):
    """The envelope of a streamed record, in the order of :attr:`Record.envelope`; None left out."""

    time: Any = None
    tenantId: Any = None
    operationName: Any = None
    category: Any = None
    _TimeReceivedBySvc: Any = None
    Tenant: Any = None


class _Line(Struct):
    """One output line: what ``Record.to_dict()`` gives, as a struct (cheaper to make and to encode)."""

    table: str
    envelope: Any
    properties: Any
    extra: Any


_RECORD_FIELDS = operator.attrgetter(
    "time", "tenantId", "operationName", "_TimeReceivedBySvc", "Tenant", "envelope_extra", "extra", "properties"
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
    src = record._src
    if not isinstance(src, tuple):
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
