"""decode(): shape detection, the one-pass fast path, and the per-record fallback.

Contract of this module:

- Input shapes (recognised from the bytes, never configured): an Event Hubs body
  ``{"records": [...]}``; JSON lines of records (one record is the one-line
  case; CRLF and blank lines allowed); a JSON array of records or of SIEM alerts;
  one SIEM alert object; one record pretty-printed over several lines.
- Fast path: one msgspec decode of the whole input into a tagged union of the
  per-table record structs (or a list of ``SiemAlert``).  Any failure (unknown
  table, unknown column, a value that does not fit, bad JSON) sends the input to
- the fallback: the input is split into records (by msgspec when the JSON is
  valid, by a tolerant scanner when it is not), each record is decoded on its own
  by the same union decoder, and a record that still fails is built column by
  column (``_values.build_struct``), keeping every value it cannot type in
  ``extra``.  A record that is not a record at all becomes an ``InvalidRecord``.
- Every input record ends up in exactly one of ``Batch.records`` and
  ``Batch.errors``.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterable
from typing import Any, Union

import msgspec
from msgspec import Raw, Struct

from ._values import build_struct, coercer
from .errors import InvalidInput, InvalidRecord
from .record import ENVELOPE_KEYS, Batch, Record, SiemRecord, UnknownRecord
from .tables import DOCUMENTED_TYPES, RECORD_TYPES, STREAMED, TABLES, SiemAlert

__all__ = ["decode", "decode_lines", "decode_one", "Origin"]

_PREFIX = "AdvancedHunting-"
_DECODE_ERRORS = (ValueError, RecursionError)  # msgspec.DecodeError and UnicodeDecodeError are ValueErrors

# The tables seen streamed decode in one pass; records of the others take the
# per-record path (their family modules are imported only when one is met).
StreamRecord = Union[tuple(RECORD_TYPES[t] for t in STREAMED)]  # type: ignore[valid-type]  # noqa: UP007


class _Body(Struct):
    records: list[StreamRecord]  # type: ignore[valid-type]


class _RawBody(Struct):
    records: list[Raw]


_BODY = msgspec.json.Decoder(_Body, strict=False)
_ARRAY = msgspec.json.Decoder(list[StreamRecord], strict=False)  # type: ignore[valid-type]
_ONE = msgspec.json.Decoder(StreamRecord, strict=False)
_SIEM_ARRAY = msgspec.json.Decoder(list[SiemAlert], strict=False)
_SIEM_ONE = msgspec.json.Decoder(SiemAlert, strict=False)
_RAW_BODY = msgspec.json.Decoder(_RawBody)
_RAW_ARRAY = msgspec.json.Decoder(list[Raw])
_ANY = msgspec.json.Decoder()

_BODY_START = re.compile(rb'[ \t\r\n]*\{[ \t\r\n]*"records"[ \t\r\n]*:[ \t\r\n]*\[')
_WS = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"

#: Names by which SIEM REST API fields appear in the various doc versions.
SIEM_ALIASES = {
    "ReportId": "ReportID",
    "IPAddress": "IpAddress",
    "URL": "Url",
    "InternalIPV4List": "InternalIPv4List",
    "ThreatFamilyName": "ThreatFamily",
    "LastProccesedTimeUtc": "LastProcessedTimeUtc",
}
_SIEM_KEYS = frozenset(SiemAlert.__struct_fields__) | frozenset(SIEM_ALIASES)
_SIEM_SPELLINGS = {name: alias for alias, name in SIEM_ALIASES.items()}
_ENVELOPE_PLAN = coercer(Record)


# --- where records came from (for timestamp_ns) ---------------------------------


def _times_structs() -> tuple[type[Struct], type[Struct]]:
    names = sorted({col for cols in DOCUMENTED_TYPES.values() for col, kind in cols.items() if kind == "datetime"})
    props = msgspec.defstruct("_PropsTimes", [(name, Any, None) for name in names])
    view = msgspec.defstruct(
        "_TimesView",
        [
            ("time", Any, None),
            ("_TimeReceivedBySvc", Any, None),
            ("AlertTime", Any, None),
            ("LastProcessedTimeUtc", Any, None),
            *((alias, Any, None) for alias, name in SIEM_ALIASES.items() if name.endswith(("Time", "TimeUtc"))),
            ("properties", Union[props, None], None),  # noqa: UP007
        ],
    )
    return view, msgspec.defstruct("_TimesBody", [("records", list[view])])  # type: ignore[valid-type]


#: The datetime strings of one record and nothing else: what timestamp_ns reads again.
_TimesView, _TimesBody = _times_structs()
_TIMES: dict[str, msgspec.json.Decoder[Any]] = {
    "body": msgspec.json.Decoder(_TimesBody),
    "array": msgspec.json.Decoder(list[_TimesView]),  # type: ignore[valid-type]
    "one": msgspec.json.Decoder(_TimesView),
}


class Origin:
    """The bytes records were decoded from, read again on demand for exact timestamps.

    msgspec rounds datetimes to the microsecond; Kusto sends 100 ns ticks.  The
    first :func:`m365parse.timestamp_ns` call on a record of this origin decodes
    the datetime strings (and nothing else) of every record of the origin once.
    """

    __slots__ = ("_data", "_shape", "_views")

    def __init__(self, data: bytes, shape: str) -> None:
        self._data = data
        self._shape = shape  # "body", "bodies" (one per line), "array", "lines", "one"
        self._views: list[Any] | None = None

    def __repr__(self) -> str:
        return f"<m365parse origin: {self._shape}, {len(self._data)} bytes>"

    def _load(self, typed: bool) -> Any:
        data, shape = self._data, self._shape
        if shape == "lines":
            return (_TIMES["one"] if typed else _ANY).decode_lines(data)
        if shape == "bodies":
            if typed:
                return [view for body in _TIMES["body"].decode_lines(data) for view in body.records]
            return [v for body in _ANY.decode_lines(data) if isinstance(body, dict) for v in body.get("records") or []]
        value = _TIMES[shape].decode(data) if typed else _ANY.decode(data)
        if shape == "body":
            return value.records if typed else value.get("records") if isinstance(value, dict) else None
        return [value] if shape == "one" else value

    def _views_list(self) -> list[Any]:
        if self._views is None:
            views: Any = None
            for typed in (True, False):
                try:
                    views = self._load(typed)
                    break
                except _DECODE_ERRORS:
                    continue
            self._views = views if isinstance(views, list) else []
        return self._views

    def original_text(self, record: Record, pos: int, column: str, envelope: bool) -> Any:
        """The value of ``column`` of the record at ``pos`` exactly as it arrived, or None."""
        views = self._views if self._views is not None else self._views_list()
        if not 0 <= pos < len(views):
            return None
        view = views[pos]
        if not envelope and record._table != "SiemAlert":
            view = view.get("properties") if isinstance(view, dict) else getattr(view, "properties", None)
        text = view.get(column) if isinstance(view, dict) else getattr(view, column, None)
        if text is None and record._table == "SiemAlert" and column in _SIEM_SPELLINGS:
            alias = _SIEM_SPELLINGS[column]  # the alert used another doc version's name
            text = view.get(alias) if isinstance(view, dict) else getattr(view, alias, None)
        return text


# --- input handling ---------------------------------------------------------------


def _to_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        # Lone surrogates become invalid UTF-8: the record holding them fails alone.
        return data.encode("utf-8", "surrogatepass")
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)  # records refer to the input: take an immutable copy
    if isinstance(data, Iterable):
        chunks = []
        for chunk in data:
            if isinstance(chunk, str):
                chunks.append(chunk.encode("utf-8", "surrogatepass"))
            elif isinstance(chunk, (bytes, bytearray, memoryview)):
                chunks.append(bytes(chunk))
            else:
                raise InvalidInput(f"expected chunks of bytes, got a chunk of type {type(chunk).__name__}")
        return b"".join(chunks)
    raise InvalidInput(
        f"expected bytes, bytearray, memoryview, str or an iterable of bytes, got {type(data).__name__}"
    )


def _first(data: bytes) -> int:
    """Offset of the first byte that is not white space or a UTF-8 BOM; len(data) if none."""
    pos = 3 if data.startswith(_BOM) else 0
    n = len(data)
    while pos < n and data[pos] in _WS:
        pos += 1
    return pos


def decode(data: bytes | bytearray | memoryview | str | Iterable[bytes]) -> Batch:
    """Decode what Defender delivered into typed records.

    ``data`` is an Event Hubs message body ``{"records": [...]}``, a single
    Streaming API record, JSON lines of records (an Azure Storage blob), a JSON
    array of records or of SIEM REST API alerts, or one SIEM alert; as ``bytes``,
    ``bytearray``, ``memoryview``, ``str`` or an iterable of ``bytes`` chunks
    (azure-eventhub's ``EventData.body``).  The shape is recognised on its own.

    Returns a :class:`Batch`: the decoded records in input order, and one
    :class:`InvalidRecord` per input record that could not be decoded.  Empty
    input gives an empty batch.

    Raises :class:`InvalidInput` when the input is not JSON at all or not one of
    these shapes; no other exception escapes.
    """
    buf = _to_bytes(data)
    start = _first(buf)
    if start == len(buf):
        return Batch([], [])
    if start:
        buf = buf[start:]
    lead = buf[0]
    if lead == 0x7B:  # {
        if _BODY_START.match(buf):
            return _decode_body(buf)
        return _decode_objects(buf)
    if lead == 0x5B:  # [
        return _decode_array(buf)
    raise InvalidInput(
        "expected a JSON object ({...}: an Event Hubs body, a record, JSON lines or a SIEM alert) "
        f"or a JSON array ([...]) of records or SIEM alerts; found {buf[:1]!r} at byte {start}",
        start,
    )


def _fast(decode: Callable[[bytes], list[Any]], buf: bytes, shape: str, alerts: bool = False) -> Batch | None:
    """The one-pass decode of ``buf``; None when anything in it needs the fallback.

    ``decode`` gives the records, or with ``alerts`` the SIEM alerts to wrap.
    """
    try:
        items = decode(buf)
    except _DECODE_ERRORS:
        return None
    # (origin, position) rather than a list in the origin: no reference cycle,
    # so a batch is freed as soon as it is dropped.  The loop makes no cycles
    # either, so the collector is off while it runs: the tuples it allocates
    # would otherwise set off collections that walk every live object, again
    # and again, on a large input (msgspec keeps it off while decoding, too).
    origin = Origin(buf, shape)
    enabled = gc.isenabled()
    gc.disable()
    records: list[Record]
    try:
        if alerts:
            records = [SiemRecord(properties=alert, _src=(origin, pos)) for pos, alert in enumerate(items)]
        else:
            records = items
            for pos, record in enumerate(records):
                record._src = (origin, pos)
    finally:
        if enabled:
            gc.enable()
    return Batch(records, [])


def _body_records(buf: bytes) -> list[Record]:
    return _BODY.decode(buf).records


_NO_ALERT = SiemAlert()


def _siem_alerts(buf: bytes) -> list[SiemAlert]:
    alerts = _SIEM_ARRAY.decode(buf)
    for alert in alerts:
        if alert.AlertId is None and alert == _NO_ALERT:
            # {} has none of an alert's fields: it is not an alert (the per-record path says so)
            raise ValueError("an empty object in a SIEM alert array")
    return alerts


def _bodies_records(buf: bytes) -> list[Record]:
    return [record for body in _BODY.decode_lines(buf) for record in body.records]


def _decode_body(buf: bytes, first_index: int = 0) -> Batch:
    fast = _fast(_body_records, buf, "body")
    if fast is not None:
        return fast
    try:
        raws: list[Any] = _RAW_BODY.decode(buf).records
    except _DECODE_ERRORS:
        pass
    else:
        return _decode_each(raws, "$.records", first_index=first_index)
    lines = _nonblank_lines(buf)
    if sum(1 for line in lines if _BODY_START.match(line)) > 1:
        # Event Hubs bodies one per line, as consumers often dump them.
        return decode_lines(buf, first_index)
    raws = _split_array(buf, _BODY_START.match(buf).end() - 1)  # type: ignore[union-attr]
    return _decode_each(raws, "$.records", first_index=first_index)


def _nonblank_lines(buf: bytes) -> list[bytes]:
    # A BOM may open any line: blobs saved with one and concatenated.
    return [line for line in (raw.strip(_WS).removeprefix(_BOM) for raw in buf.split(b"\n")) if line]


def _decode_array(buf: bytes) -> Batch:
    fast = _fast(_ARRAY.decode, buf, "array") or _fast(_siem_alerts, buf, "array", alerts=True)
    if fast is not None:
        return fast
    try:
        raws: list[Any] = _RAW_ARRAY.decode(buf)
    except _DECODE_ERRORS:
        raws = _split_array(buf, 0)
    return _decode_each(raws, "$")


def _decode_objects(buf: bytes) -> Batch:
    fast = _fast(_ONE.decode_lines, buf, "lines")
    if fast is not None:
        return fast
    # One JSON value (a SIEM alert, a pretty-printed record, or a body whose
    # "records" is not the first key)?
    try:
        value = _ANY.decode(buf)
    except _DECODE_ERRORS:
        value = _NOT_ONE
    if value is not _NOT_ONE:
        if isinstance(value, dict) and isinstance(value.get("records"), list) and not _looks_like_record(value):
            del value
            return _decode_each(_RAW_BODY.decode(buf).records, "$.records")  # each record's own bytes
        del value  # decode_one() decodes the record again: never hold two copies of it
        item = decode_one(buf, 0, "$")
        return Batch([item], []) if isinstance(item, Record) else Batch([], [item])
    batch = decode_lines(buf, try_fast=False)
    if not batch.records and all(_is_not_an_object(e) for e in batch.errors):
        raise InvalidInput(
            "expected JSON: an Event Hubs body, records as JSON lines, or a SIEM alert; "
            f"no line of the input is a JSON object ({batch.errors[0].reason})",
            0,
        )
    return batch


_NOT_ONE = object()


def _looks_like_record(value: dict[str, Any]) -> bool:
    return "category" in value or "properties" in value or any(k in _SIEM_KEYS for k in value)


def _is_not_an_object(error: InvalidRecord) -> bool:
    # Lines of a pretty-printed object that was cut short are mostly not JSON, and
    # some are JSON strings or numbers: none of them is a record that failed.
    return error.reason.startswith(("not JSON", "expected a JSON object"))


def decode_lines(buf: bytes, first_index: int = 0, try_fast: bool = True) -> Batch:
    """Decode a block of complete JSON lines: records, SIEM alerts or whole Event Hubs bodies.

    A line that is none of these is an error; record indexes start at ``first_index``.
    """
    fast = (_fast(_ONE.decode_lines, buf, "lines") if try_fast else None) or _fast(_bodies_records, buf, "bodies")
    if fast is not None:
        return fast
    records: list[Record] = []
    errors: list[InvalidRecord] = []
    index = first_index
    for line in _nonblank_lines(buf):
        if _BODY_START.match(line):
            batch = _decode_body(line, index)
            records += batch.records
            errors += batch.errors
            index += len(batch.records) + len(batch.errors)
            continue
        item = decode_one(line, index, "$")
        if isinstance(item, Record):
            records.append(item)
        else:
            errors.append(item)
        index += 1
    return Batch(records, errors)


def _decode_each(raws: list[Any], prefix: str, first_index: int = 0) -> Batch:
    """Decode the elements of one array (``prefix`` is its path) one by one."""
    records: list[Record] = []
    errors: list[InvalidRecord] = []
    for pos, raw in enumerate(raws):
        item = decode_one(raw, first_index + pos, f"{prefix}[{pos}]")
        if isinstance(item, Record):
            records.append(item)
        else:
            errors.append(item)
    return Batch(records, errors)


def decode_one(raw: Any, index: int, path: str) -> Record | InvalidRecord:
    """Decode one record (streamed or SIEM alert) from its own bytes; never raises."""
    try:
        record: Record = _ONE.decode(raw)
    except _DECODE_ERRORS:
        pass
    else:
        record._src = (Origin(bytes(raw), "one"), 0)
        return record
    try:
        value = _ANY.decode(raw)
    except _DECODE_ERRORS as exc:
        return InvalidRecord(index, path, f"not JSON: {_describe(exc)}", bytes(raw))
    try:
        built = _build(value, path, raw)
    except _Reject as rej:
        return InvalidRecord(index, rej.path, rej.reason, bytes(raw))
    built._src = (Origin(bytes(raw), "one"), 0)
    return built


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply to decode"
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {exc.start}"
    return str(exc)


class _Reject(Exception):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _build(value: Any, path: str, raw: Any) -> Record:
    """Build a record from an untyped value, column by column."""
    if not isinstance(value, dict):
        raise _Reject(path, f"expected a JSON object (a record or a SIEM alert), got {_type_name(value)}")
    if "category" not in value and "properties" not in value:
        if any(key in _SIEM_KEYS for key in value):
            return _build_siem(value, raw)
        raise _Reject(
            path,
            "object is neither a Streaming API record (no `category` and `properties`) nor a SIEM alert",
        )
    category = value.get("category")
    if not isinstance(category, str):
        what = "missing" if "category" not in value else f"a {_type_name(category)}, not a string"
        raise _Reject(f"{path}.category", f"`category` is {what}")
    props = value.get("properties")
    if not isinstance(props, dict):
        what = "missing" if "properties" not in value else f"a {_type_name(props)}, not an object"
        raise _Reject(f"{path}.properties", f"`properties` is {what}")
    envelope: dict[str, Any] = {}
    envelope_extra: dict[str, Any] = {}
    for key, item in value.items():
        if key in ("category", "properties"):
            continue
        convert = _ENVELOPE_PLAN.get(key) if key in ENVELOPE_KEYS else None
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
        return UnknownRecord(category=category, properties=props, envelope_extra=envelope_extra, **envelope)
    struct, extra = build_struct(TABLES[table], props)  # type: ignore[index]
    return record_type(properties=struct, extra=extra, envelope_extra=envelope_extra, **envelope)


def _build_siem(value: dict[str, Any], raw: Any) -> Record:
    try:
        alert = _SIEM_ONE.decode(raw)
    except _DECODE_ERRORS:
        pass
    else:
        return SiemRecord(properties=alert)
    renamed: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, item in value.items():
        canonical = SIEM_ALIASES.get(key)
        if canonical is not None and canonical not in value:
            renamed[canonical] = item
        elif canonical is not None:
            extra[key] = item
        else:
            renamed[key] = item
    built, more = build_struct(SiemAlert, renamed)
    extra.update(more)
    return SiemRecord(properties=built, extra=extra)


# --- tolerant splitting of a broken JSON array -------------------------------------

_STRUCTURAL = re.compile(rb'[\[\]{}",]')
_STRING_END = re.compile(rb'["\\]')


def _split_array(buf: bytes, open_pos: int) -> list[bytes]:
    """Split the elements of the JSON array opening at ``open_pos`` without decoding them.

    Works on input msgspec rejects (invalid UTF-8, a syntax error or truncation
    inside one element), so that only the broken element is lost.  Returns the
    elements' bytes; a truncated last element is returned as it is.
    """
    elements: list[bytes] = []
    depth = 0
    seg = pos = open_pos + 1
    while True:
        m = _STRUCTURAL.search(buf, pos)
        if m is None:
            tail = buf[seg:].strip(_WS)
            if tail:
                elements.append(tail)
            return elements
        p = m.start()
        c = buf[p]
        if c == 0x22:  # a string: skip to its closing quote
            q = p + 1
            while True:
                s = _STRING_END.search(buf, q)
                if s is None:
                    tail = buf[seg:].strip(_WS)
                    if tail:
                        elements.append(tail)
                    return elements
                if buf[s.start()] == 0x5C:  # backslash escapes the next byte
                    q = s.start() + 2
                    continue
                pos = s.start() + 1
                break
            continue
        if c in b"[{":
            depth += 1
        elif c in b"]}":
            if depth == 0:
                tail = buf[seg:p].strip(_WS)
                if tail:
                    elements.append(tail)
                return elements
            depth -= 1
        elif depth == 0:  # a comma between elements
            elements.append(buf[seg:p].strip(_WS))
            seg = p + 1
        pos = p + 1
