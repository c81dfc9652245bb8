"""decode(): the decoder core: shape dispatch, the one-pass fast path, the per-item fallback.

The shapes themselves (how each is recognised and decoded) are modules of
``m365parse/shapes/``, listed in :data:`m365parse.shapes.SHAPES`; their contract
is documented there.  This module holds what every shape shares:

- Dispatch: an input opening with ``{`` is offered to each shape's ``sniff``
  (its first bytes), then decoded as JSON lines of items, then as one JSON
  value (an envelope a shape ``unwrap``s, or one item); an input opening with
  ``[`` is offered to each shape's ``array`` fast path.
- Fast path (:func:`fast`): one msgspec decode of the whole input into a
  shape's structs.  Any failure (unknown table, unknown column, a value that does
  not fit, bad JSON) sends the input to
- the fallback: the input is split into items (by msgspec when the JSON is
  valid, by the tolerant :func:`split_array` when it is not) and decoded in
  runs (:func:`decode_each`): the fast path resumes, a run of items at a time
  through a shape's ``run``, after each item it rejects; that item, and every
  item of a shape without ``run``, is decoded on its own (:func:`decode_one`): typed by a shape's ``one``, else
  decoded untyped (:func:`untyped`, the one place that turns an item's bytes
  into plain values) and built column by column by the shape that
  ``recognise``s it, keeping every value it cannot type in ``extra``.  An item
  that is no shape's becomes an ``InvalidRecord``.
- Every input item ends up in exactly one of ``Batch.records`` and ``Batch.errors``.
- :class:`Origin`: the bytes records were decoded from, for exact timestamps.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import Any, Protocol

import msgspec

from . import shapes as _shapes  # its SHAPES read at call time: either module may be imported first
from ._collector import collector_off
from ._stdjson import loads, loads_one, utf8
from .errors import InvalidInput, InvalidRecord
from .record import DECODED, Batch, Record
from .shapes import DECODE_ERRORS, Partial, Reject, Resume, Shape
from .shapes.siem import ALIASES as SIEM_ALIASES

__all__ = [
    "decode",
    "decode_lines",
    "decode_one",
    "decode_each",
    "untyped",
    "envelope",
    "fast",
    "run",
    "failed_item",
    "Origin",
    "SIEM_ALIASES",
]

_DECODE_ERRORS = DECODE_ERRORS
_RAW_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])
#: The untyped decoder (plain dicts, lists, strings, numbers).
UNTYPED = msgspec.json.Decoder()

_WS = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"


# --- where records came from (for timestamp_ns) ---------------------------------


class Times(Protocol):
    """How a shape finds the text of a datetime of its records again (see :class:`Origin`)."""

    def load(self, data: bytes, layout: str, typed: bool) -> Any:
        """The per-record views of ``data`` laid out as ``layout``, typed (datetime strings only) or untyped."""

    def text(self, view: Any, record: Record, column: str, envelope: bool) -> Any:
        """The text of ``column`` in ``view``, the view of ``record``; None when absent."""

    # Optional, for speed: ``texts(view, record)``, ``(envelope, properties)``: two objects
    # whose attributes (absent ones None) are the texts ``text`` would give, or ``(None, None)``.


class Origin:
    """The bytes records were decoded from, read again on demand for exact timestamps.

    msgspec rounds datetimes to the microsecond; Kusto sends 100 ns ticks.  The
    first :func:`m365parse.timestamp_ns` call on a record of this origin decodes
    the datetime strings (and nothing else) of every record of the origin once,
    with the ``times`` reader of the shape the records are of.
    """

    __slots__ = ("_data", "_items", "_positions", "_shape", "_texts", "_times", "_views")

    def __init__(self, data: bytes, shape: str, times: Times, items: list[Any] | None = None) -> None:
        self._data = data
        self._shape = shape  # the layout: "body", "bodies" (one per line), "array", "lines", "one", ...
        self._times = times
        # The items the decode gave, when its records are made around them (record.properties
        # is items[position]): such a record's _src is this origin alone (see position()).
        self._items = items
        self._positions: dict[int, int] | None = None
        self._views: list[Any] | None = None
        self._texts: Callable[[Any, Record], tuple[Any, Any]] | None = None

    def __repr__(self) -> str:
        return f"<m365parse origin: {self._shape}, {len(self._data)} bytes>"

    # Pickled (with a record, or a batch) without what it read again: the views are read
    # again on first use after unpickling, so a record pickles the same before and after
    # timestamp_ns() read its origin.  The items go with it: pickle keeps one copy of
    # each, shared with the records' properties, so position() finds them again.
    def __getstate__(self) -> tuple[bytes, str, Times, list[Any] | None]:
        return self._data, self._shape, self._times, self._items

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._data, self._shape, self._times = state[:3]
        self._items = state[3] if len(state) > 3 else None
        self._positions = None
        self._views = None
        self._texts = None

    def position(self, record: Record) -> int | None:
        """The position of the item ``record`` was made around (its ``properties``) among
        this origin's items; None when it is not one of them.

        Found by identity, from a table built on first use: the origin holds the items,
        so their ids stay theirs while it lives.
        """
        positions = self._positions
        if positions is None:
            positions = self._positions = {id(item): pos for pos, item in enumerate(self._items or ())}
        return positions.get(id(record.properties))

    @collector_off  # many small dicts and lists, no cycle
    def _views_list(self) -> list[Any]:
        if self._views is None:
            views: Any = None
            for typed in (True, False):
                try:
                    views = self._times.load(self._data, self._shape, typed)
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
        return self._times.text(views[pos], record, column, envelope)

    def texts(self, record: Record, pos: int | None = None) -> tuple[Any, Any]:
        """``(envelope, properties)`` of the record at ``pos``: the texts of its datetime columns as attributes.

        ``pos`` None: the record's :meth:`position` (a record whose ``_src`` is this
        origin alone).  An attribute that is absent (or not what :meth:`original_text`
        would give) reads as None; ``(None, None)`` when the shape's reader has no
        such objects (without reading the origin again).  One call per record, then
        one attribute read per column: what the compiled rule sets read exact
        timestamps with.
        """
        texts = self._texts
        if texts is None:
            texts = self._texts = getattr(self._times, "texts", None) or _no_texts
        if texts is _no_texts:
            return _NO_TEXTS
        if pos is None:
            pos = self.position(record)
            if pos is None:
                return _NO_TEXTS
        views = self._views if self._views is not None else self._views_list()
        if not 0 <= pos < len(views):
            return _NO_TEXTS
        return texts(views[pos], record)


_NO_TEXTS: tuple[Any, Any] = (None, None)


def _no_texts(view: Any, record: Record) -> tuple[Any, Any]:
    return _NO_TEXTS


# --- input handling ---------------------------------------------------------------


def _to_bytes(data: object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        # Lone surrogates become UTF-8-encoded surrogates: read by the standard library.
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
    raise InvalidInput(f"expected bytes, bytearray, memoryview, str or an iterable of bytes, got {type(data).__name__}")


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
    array of records or of SIEM REST API alerts, or one SIEM alert; a Graph,
    Defender for Endpoint or Defender XDR alert or incident (one, an OData page,
    an array or JSON lines of them), an advanced hunting response of any of the
    three APIs, or Log Analytics export rows; as ``bytes``,
    ``bytearray``, ``memoryview``, ``str`` or an iterable of ``bytes`` chunks
    (azure-eventhub's ``EventData.body``).  The shape is recognised on its own.

    Returns a :class:`Batch`: the decoded records in input order, and one
    :class:`InvalidRecord` per input record that could not be decoded.  Empty
    input gives an empty batch.

    Raises :class:`InvalidInput` when the input is not JSON at all or not one of
    these shapes; no other exception escapes.

    Python's cyclic garbage collector is off while the input decodes (it makes no
    reference cycle) and is set back as it was found, also on error; the collector
    state is the whole process's, so another thread that turns it off meanwhile sees
    it on again when the decode ends.
    """
    buf = utf8(_to_bytes(data))  # UTF-16 and UTF-32 as json.loads recognises them
    start = _first(buf)
    if start == len(buf):
        return Batch([], [])
    if start:
        buf = buf[start:]
    return _decode_buffer(buf, start)


@collector_off
def _decode_buffer(buf: bytes, start: int) -> Batch:
    """:func:`decode` of ``buf``, its first byte not white space (``start`` in the input)."""
    lead = buf[0]
    if lead == 0x7B:  # {
        whole = _sniffed(buf)
        if whole is not None:
            return whole(buf, 0)
        return _decode_objects(buf)
    if lead == 0x5B:  # [
        return _decode_array(buf)
    raise InvalidInput(
        "expected a JSON object ({...}: an Event Hubs body, a record, JSON lines, an alert, an incident, "
        "an OData page or a hunting response) or a JSON array ([...]) of records, alerts or incidents; "
        f"found {buf[:1]!r} at byte {start}",
        start,
    )


def fast(
    decode: Callable[[bytes], list[Any]],
    buf: bytes,
    layout: str,
    times: Times,
    wrap: Callable[..., Record] | None = None,
) -> Batch | None:
    """The one-pass decode of ``buf``; None when anything in it needs the fallback.

    ``decode`` gives the records, or with ``wrap`` the items that ``wrap(item, origin)``
    makes records of.  Each record gets its :class:`Origin` (``buf`` laid out as
    ``layout``, read with ``times``) and position.
    """
    try:
        items = decode(buf)
    except _DECODE_ERRORS:
        return None
    return _batch(items, buf, layout, times, wrap)


def run(
    decode: Callable[[bytes], list[Any]],
    buf: bytes,
    layout: str,
    times: Times,
    wrap: Callable[..., Record] | None = None,
    *,
    finish: Callable[[list[Record]], list[Record]] | None = None,
) -> Batch:
    """:func:`fast`, raising the decoder's error (whose message names the item that failed).

    ``finish`` is applied to the records before they get their origin.  The decode
    collects the records msgspec completes (:data:`m365parse.record.DECODED`): when it
    fails after completing some, the error is a :class:`Partial` holding them (with
    ``finish`` applied, without origin: see :func:`kept`), so that they need not be
    decoded again.
    """
    sink: list[Record] = []
    token = DECODED.set(sink)
    try:
        items = decode(buf)
    except ValueError as exc:
        if not sink:
            raise
        raise Partial(exc, finish(sink) if finish is not None else sink) from exc
    finally:
        DECODED.reset(token)
    if finish is not None:
        items = finish(items)
    return _batch(items, buf, layout, times, wrap)


def kept(exc: BaseException) -> list[Record] | None:
    """The records a failed :func:`run` completed before the item it failed at (a
    :class:`Partial`'s, without origin); None when the error kept none."""
    return exc.records if isinstance(exc, Partial) else None


def _with_origin(records: list[Record], raws: list[Any], times: Times) -> list[Record]:
    """``records``, decoded from the items ``raws``, their origin a copy of those items' own
    bytes as an array: what a run of just those items would have given them (the bytes they
    were decoded from may hold an item that is not JSON, or hold more than they need)."""
    return _batch(records, b"[" + b",".join(raws) + b"]", "array", times, None).records


def _batch(items: list[Any], buf: bytes, layout: str, times: Times, wrap: Callable[..., Record] | None) -> Batch:
    # The origin holds no record: no reference cycle, so a batch is freed as soon as
    # it is dropped.  The loop makes no cycles either (decode() runs with the
    # collector off: collector_off).
    records: list[Record]
    if wrap is not None:
        # records made around the items: the origin holds the items, and finds a
        # record's position from its properties (no (origin, position) tuple per record)
        origin = Origin(buf, layout, times, items)
        records = list(map(wrap, items, repeat(origin)))  # (properties, _src), positional: see record._Made
    else:
        origin = Origin(buf, layout, times)
        records = items
        for pos, record in enumerate(records):
            record._src = (origin, pos)
    return Batch(records, [])


_FAILED_ITEM = re.compile(r" - at `\$(?:\.records)?\[(\d+)\]")


def failed_item(exc: BaseException) -> int | None:
    """The position of the item a one-pass decode failed at (msgspec's path ``$[i]...`` or
    ``$.records[i]...``); None when the error does not say (bad JSON, a check of the shape)."""
    m = _FAILED_ITEM.search(str(exc)) if isinstance(exc, ValueError) else None
    return int(m.group(1)) if m is not None else None


def nonblank_lines(buf: bytes) -> list[bytes]:
    """The non-blank lines of ``buf``, stripped (a BOM may open any line: blobs saved with one and concatenated)."""
    return [line for line in (raw.strip(_WS).removeprefix(_BOM) for raw in buf.split(b"\n")) if line]


def several_values(buf: bytes) -> bool:
    """Whether ``buf`` is JSON lines of several values: more than one line, the first one JSON by itself."""
    lines = nonblank_lines(buf)
    if len(lines) < 2:
        return False
    try:
        UNTYPED.decode(lines[0])
    except _DECODE_ERRORS:
        return False
    return True


def _decode_array(buf: bytes) -> Batch:
    resume: Resume | None = None
    for shape in _shapes.SHAPES:
        if shape.array is not None:
            try:
                batch = shape.array(buf)
            except Resume as failed:  # the items before it are that shape's: resume after it
                resume = _kept_resume(failed)
                break
            if batch is not None:
                return batch
    try:
        raws: list[Any] = _RAW_ARRAY.decode(buf)
    except _DECODE_ERRORS:
        raws, checked = split_items(buf, 0, "$", 0, member=False)
        # (no resume: the split of a broken array need not agree with msgspec's count)
        return checked(decode_each(raws, "$"))
    if resume is None:
        return decode_each(raws, "$")
    return decode_each(raws, "$", shape=resume.shape, failed_at=resume.at, done=resume.done)


def _whole_line(whole: Callable[[bytes, int], Batch], line: bytes, index: int) -> Batch:
    """A line of JSON lines that a shape claims as a whole input (an Event Hubs body, a
    hunting response, ...), decoded by its ``whole`` hook; a line that is not one after all
    (cut short, not JSON), which as a whole input would be :class:`InvalidInput`, is one
    error, at ``index``: the other lines are not lost with it."""
    try:
        return whole(line, index)
    except InvalidInput as exc:
        return Batch([], [InvalidRecord(index, "$", str(exc), bytes(line))])


def _kept_resume(resume: Resume) -> Resume:
    """A caught :class:`Resume`, kept as a value: without its traceback, whose frames (and
    the frames that called them) would otherwise hold it in a reference cycle, keeping the
    input alive until the cyclic collector ran, and that collector running over every young
    object each time a few such cycles piled up."""
    return resume.with_traceback(None)


def _fast_lines(buf: bytes) -> Batch | Resume | None:
    """The first shape's one-pass decode of JSON lines; a :class:`Resume` when one names where it failed."""
    for shape in _shapes.SHAPES:
        if shape.lines is not None:
            try:
                batch = shape.lines(buf)
            except Resume as resume:
                return _kept_resume(resume)
            if batch is not None:
                return batch
    return None


def _decode_objects(buf: bytes) -> Batch:
    fast_lines = _fast_lines(buf)
    if isinstance(fast_lines, Batch):
        return fast_lines
    if fast_lines is not None:  # JSON lines of one shape's items, one of which the fast path rejected
        batch = decode_lines(buf, try_fast=False, resume=fast_lines)
    else:
        # One JSON value (one item pretty-printed, or an envelope whose keys come in another order)?
        try:
            value = loads_one(buf)  # msgspec, else json.loads when it may be one value
        except _DECODE_ERRORS:
            value = _NOT_ONE
        if value is not _NOT_ONE:
            if isinstance(value, dict):
                for shape in _shapes.SHAPES:
                    if shape.unwrap is not None:
                        unwrapped = shape.unwrap(value, buf, 0)
                        if unwrapped is not None:
                            return unwrapped
            del value  # decode_one() decodes the record again: never hold two copies of it
            item = decode_one(buf, 0, "$")
            return Batch([item], []) if isinstance(item, Record) else Batch([], [item])
        batch = decode_lines(buf, try_fast=False)
    if not batch.records and all(_is_not_an_object(e) for e in batch.errors):
        raise InvalidInput(
            "expected JSON: an Event Hubs body, an API page or hunting response, or records, "
            "alerts, incidents or rows as JSON lines; "
            f"no line of the input is a JSON object ({batch.errors[0].reason})",
            0,
        )
    return batch


_NOT_ONE = object()


def recognised(value: dict[str, Any]) -> bool:
    """Whether some shape recognises the untyped object ``value`` as one of its items."""
    return any(shape.recognise is not None and shape.recognise(value) for shape in _shapes.SHAPES)


def _is_not_an_object(error: InvalidRecord) -> bool:
    # Lines of a pretty-printed object that was cut short are mostly not JSON, and
    # some are JSON strings or numbers: none of them is a record that failed.
    return error.reason.startswith(("not JSON", "expected a JSON object"))


@collector_off
def decode_lines(buf: bytes, first_index: int = 0, try_fast: bool = True, resume: Resume | None = None) -> Batch:
    """Decode a block of complete JSON lines: items of any shape, or whole envelopes (Event Hubs bodies).

    A line that is none of these is an error; record indexes start at ``first_index``.
    ``resume``: where a shape's one-pass decode of the lines failed (the fast path
    resumes after that item).
    """
    if try_fast:
        fast_lines = _fast_lines(buf)
        if isinstance(fast_lines, Batch):
            return fast_lines
        resume = fast_lines
    if resume is not None and resume.done is not None and resume.shape.lines is not None:
        return _resume_lines(buf, first_index, resume)
    if resume is None:
        for shape in _shapes.SHAPES:
            if shape.bodies is not None:
                batch = shape.bodies(buf)
                if batch is not None:
                    return batch
    records: list[Record] = []
    errors: list[InvalidRecord] = []
    index = first_index
    items: list[bytes] = []  # lines of one item each, decoded in runs (decode_each)

    def flush() -> None:
        nonlocal index, resume
        if items:
            if resume is not None and index == first_index and resume.at < len(items):
                # the first lines: those before the item the one-pass decode failed at are
                # its records (resume.done), else they decode in one run
                batch = decode_each(items, None, index, shape=resume.shape, failed_at=resume.at, done=resume.done)
            else:
                batch = decode_each(items, None, index)
            resume = None
            records.extend(batch.records)
            errors.extend(batch.errors)
            index += len(items)
            items.clear()

    for line in nonblank_lines(buf):
        whole = _sniffed(line)
        if whole is not None:
            flush()
            batch = _whole_line(whole, line, index)
            records += batch.records
            errors += batch.errors
            index += len(batch.records) + len(batch.errors)
            continue
        items.append(line)
    flush()
    return Batch(records, errors)


_NOT_WS = re.compile(rb"[^ \t\r\n]")


def _line_at(buf: bytes, start: int, at: int) -> tuple[int, int] | None:
    """The bytes ``[begin, end)`` of line ``at`` of ``buf`` from byte ``start``, counting
    the lines that are not blank, as msgspec's ``decode_lines`` counts them (``$[at]``)."""
    n = len(buf)
    seen = 0
    pos = start
    find = buf.find
    while pos <= n:
        end = find(b"\n", pos)
        if end < 0:
            end = n
        # a line opening with "{" (most) is not blank; any other is searched
        if (pos < end and buf[pos] == 0x7B) or _NOT_WS.search(buf, pos, end) is not None:
            if seen == at:
                return pos, end
            seen += 1
        pos = end + 1
    return None


def _one_value_a_line(buf: bytes, base: int, span: tuple[int, int], shape: Shape) -> bool:
    """Whether the one-pass decode's item at ``span`` (the line it failed at, counted as lines) is
    that line: the line before it is one JSON value (not one and the start of the next, not the
    end of one), and the line itself fails that shape's decode on its own, as it failed in the pass."""
    begin, end = span
    before = buf.rfind(b"\n", base, max(begin - 1, base))
    while begin > base:
        line = buf[before + 1 if before >= base else base : begin].strip(_WS).removeprefix(_BOM)
        if line:
            try:
                UNTYPED.decode(line)
            except _DECODE_ERRORS:
                return False
            break
        if before < base:
            break
        begin, before = before, buf.rfind(b"\n", base, max(before - 1, base))  # a blank line: the one before
    if shape.one is not None:
        try:
            shape.one(buf[span[0] : end].strip(_WS).removeprefix(_BOM))
        except _DECODE_ERRORS:
            return True
        return False
    return True


def _resume_lines(buf: bytes, first_index: int, resume: Resume) -> Batch:
    """JSON lines whose one-pass decode failed at line ``resume.at``, keeping the records it
    completed (``resume.done``): that line is decoded on its own and the shape's one-pass
    decode resumes on the lines after it, found by their offset (the input is not split
    into lines: a bad line costs about itself).  Lines that do not resume so (not JSON,
    another shape's) are decoded as :func:`decode_lines` decodes any lines."""
    shape = resume.shape
    lines = shape.lines
    assert lines is not None
    records: list[Record] = []
    errors: list[InvalidRecord] = []
    index = first_index
    base = 0  # where the lines not decoded yet start
    view = memoryview(buf)
    alone = False  # whether the line at ``base`` is being decoded on its own after a one-pass decode failed on it
    while True:
        span = _line_at(buf, base, resume.at)
        done = resume.done or []
        if span is None or len(done) != resume.at or not _one_value_a_line(buf, base, span, shape):
            break  # msgspec counts values, not lines: where a line holds two, or half of one, they differ
        begin, end = span
        if done:
            # the records of the lines before it: their origin a copy of those lines
            records += _batch(done, buf[base:begin], "lines", shape.times, None).records
            index += len(done)
        line = buf[begin:end].strip(_WS).removeprefix(_BOM)
        whole = _sniffed(line) if line else None
        if not line:
            pass  # a line of a BOM alone: blank (nonblank_lines)
        elif whole is not None:
            claimed = _whole_line(whole, line, index)
            records += claimed.records
            errors += claimed.errors
            index += len(claimed.records) + len(claimed.errors)
        else:
            item, _ = _decode_one(line, index, "$")
            if isinstance(item, Record):
                records.append(item)
            else:
                errors.append(item)
            index += 1
        base = end + 1
        if _NOT_WS.search(buf, base) is None:
            return Batch(records, errors)  # nothing but blank lines left
        try:
            batch = lines(view[base:])  # type: ignore[arg-type]
        except Resume as again:
            resume = _kept_resume(again)
            alone = False
            if again.done is None:
                break
            continue
        if batch is None:
            if alone:
                break  # the line after that one fails too: the lines left as any lines
            resume = Resume(shape, 0, [])  # the first line left is a bad one: on its own
            alone = True
            continue
        rest = buf[base:]  # the records' origin: bytes of their own, not a view of the input
        records += _batch(batch.records, rest, "lines", shape.times, None).records
        return Batch(records, errors)
    rest_batch = decode_lines(buf[base:], index, try_fast=False)
    return Batch(records + rest_batch.records, errors + rest_batch.errors)


def _sniffed(buf: bytes) -> Callable[[bytes, int], Batch] | None:
    """The ``whole`` hook of the first shape whose ``sniff`` claims ``buf`` by its first bytes; None if none does."""
    for sniff, whole in _whole_hooks():
        if sniff(buf):
            return whole
    return None


@functools.cache
def _whole_hooks() -> tuple[tuple[Callable[[bytes], bool], Callable[[bytes, int], Batch]], ...]:
    """``(sniff, whole)`` of the shapes that claim a whole input by its first bytes (asked once
    per line of JSON lines), in the order of the shapes."""
    return tuple(
        (shape.sniff, shape.whole) for shape in _shapes.SHAPES if shape.sniff is not None and shape.whole is not None
    )


#: Items a run starts with after a failure; a run that decodes doubles the next one.
_RUN = 32


def decode_each(
    raws: list[Any],
    prefix: str | None,
    first_index: int = 0,
    *,
    shape: Shape | None = None,
    failed_at: int | None = None,
    done: list[Record] | None = None,
) -> Batch:
    """Decode the elements of one array (``prefix`` is its path), resuming the fast path.

    The items are decoded in runs by the ``run`` hook of ``shape`` (else of the shape
    of the item decoded last): each run is one msgspec decode of the items joined
    into an array.  A run that fails at an item decodes the items before it in one
    run, that item on its own (:func:`decode_one`), and goes on after it; so a bad
    item costs about itself and one run, not the whole array.  ``failed_at`` is
    where a one-pass decode of the whole array failed, when known; ``done``, the
    records that decode completed (of the items before ``failed_at``), when it
    kept them (:class:`Partial`): they are taken as they are.  Every item
    ends up a record or an error, as if each were decoded on its own.  A
    ``prefix`` of None: the items are JSON lines, each a document (path ``$``).
    """
    records: list[Record] = []
    errors: list[InvalidRecord] = []
    n = len(raws)
    size = _RUN
    start = 0
    if failed_at is not None and 0 <= failed_at < n and shape is not None and shape.run is not None:
        size = failed_at  # the items before the one that failed decode in one run
        if done is not None and len(done) == failed_at:
            records += _with_origin(done, raws[:failed_at], shape.times)  # decoded already
            start = failed_at
    else:
        failed_at = None

    def one(at: int) -> Shape | None:
        path = "$" if prefix is None else f"{prefix}[{at}]"
        item, found = _decode_one(raws[at], first_index + at, path)
        if isinstance(item, Record):
            records.append(item)
        else:
            errors.append(item)
        return found

    # (decode() runs with the collector off: collector_off)
    _runs(
        raws,
        start=start,
        size=size,
        shape=shape,
        failed_at=failed_at,
        one=one,
        records=records,
        values=prefix is not None,
    )
    return Batch(records, errors)


def _runs(
    raws: list[Any],
    *,
    start: int,
    size: int,
    shape: Shape | None,
    failed_at: int | None,
    one: Callable[[int], Shape | None],
    records: list[Record],
    values: bool = True,
) -> None:
    """The loop of :func:`decode_each` from item ``start``: runs of ``shape``, and ``one(i)`` for an item on its own.

    ``values``: the items are JSON values (array elements), so that where msgspec says a run
    failed (``$[i]``, a value) is an item; lines (JSON lines) need not be one value each (a value
    cut over two lines, two on one line), so a run of lines that fails is halved instead.
    """
    n = len(raws)
    pos = start
    while pos < n:
        if shape is None or shape.run is None or size < 1 or pos == failed_at:
            found = one(pos)
            pos += 1
            if found is not None and found.run is not None:
                shape = found
            size = max(size, _RUN)
            continue
        chunk = raws[pos : pos + size]
        try:
            # Items joined by ",\n", a newline in each separator: an item that ends inside a
            # string (a line cut short) cannot run on into the next one (JSON strings hold no
            # raw newline); one that ends inside an object or array can, and is seen below.
            batch = shape.run(b"[" + b",\n".join(chunk) + b"]")
            if len(batch.records) != len(chunk):
                # items that are not one JSON value each (a line that is half of one): decoded apart
                raise ValueError("the items of a run are not one JSON value each")
        except _DECODE_ERRORS as exc:
            bad = failed_item(exc) if values else None
            if bad is not None and 0 < bad < len(chunk) and isinstance(exc, Partial) and len(exc.records) == bad:
                # the items before the one that failed: decoded already
                records += _with_origin(exc.records, chunk[:bad], shape.times)
                pos += bad
                shape = one(pos) or shape
                pos += 1
                size = max(len(chunk) - bad - 1, _RUN)  # the rest of the run, at least
                continue
            if bad is None or bad >= len(chunk):
                # Not said where: halve the run; a run of one is that item on its own.
                if len(chunk) == 1:
                    shape = one(pos) or shape
                    pos += 1
                    size = _RUN
                else:
                    size = len(chunk) // 2
                continue
            if bad:
                size = bad  # decodes: the items before the first that failed
                continue
            shape = one(pos) or shape
            pos += 1
            size = _RUN
            continue
        records += batch.records
        pos += len(chunk)
        size = 2 * len(chunk)


def untyped(raw: Any) -> Any:
    """One item's bytes as plain JSON values; raises ``ValueError`` when they are not JSON.

    The one place where the per-item path decodes without types.
    """
    return loads(raw)  # msgspec, else json.loads: lone surrogates, NaN, 1e400


_TOP_KEYS = msgspec.json.Decoder(dict[str, msgspec.Raw])


def envelope(buf: bytes, items: tuple[str, ...]) -> dict[str, Any]:
    """Every top-level key of the JSON object ``buf`` but ``items`` (the keys holding the
    items), as plain JSON values (:attr:`Batch.envelope`); ``{}`` when ``buf`` is not one
    JSON object.  The items are skipped over, not decoded."""
    try:
        top: dict[str, Any] = _TOP_KEYS.decode(buf)
    except _DECODE_ERRORS:
        try:
            top = loads_one(buf)  # json.loads reads what msgspec does not (lone surrogates, NaN)
        except _DECODE_ERRORS:
            return {}
        if not isinstance(top, dict):
            return {}
        return {key: value for key, value in top.items() if key not in items}
    out: dict[str, Any] = {}
    try:
        for key, raw in top.items():
            if key not in items:
                out[key] = loads(raw)  # msgspec, else json.loads
    except _DECODE_ERRORS:
        return {}  # skipping over a value does not check it all (its UTF-8): not JSON after all
    return out


def decode_one(raw: Any, index: int, path: str) -> Record | InvalidRecord:
    """Decode one item (of any shape) from its own bytes; never raises."""
    return _decode_one(raw, index, path)[0]


def _decode_one(raw: Any, index: int, path: str) -> tuple[Record | InvalidRecord, Shape | None]:
    """:func:`decode_one`, and the shape whose item it was (None for an error)."""
    for shape in _shapes.SHAPES:
        if shape.one is not None:
            try:
                record = shape.one(raw)
            except _DECODE_ERRORS:
                continue
            record._src = (Origin(bytes(raw), "one", shape.times), 0)
            return record, shape
    try:
        value = untyped(raw)
    except _DECODE_ERRORS as exc:
        return InvalidRecord(index, path, f"not JSON: {describe(exc)}", bytes(raw)), None
    try:
        built, shape = _build(value, path, raw)
    except Reject as rej:
        return InvalidRecord(index, rej.path, rej.reason, bytes(raw)), None
    built._src = (Origin(bytes(raw), "one", shape.times), 0)
    return built, shape


def describe(exc: BaseException) -> str:
    """A decode error, said for an ``InvalidRecord`` reason."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to decode"
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {exc.start}"
    return str(exc)


def type_name(value: Any) -> str:
    """The JSON type name of a decoded value, for error messages."""
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _build(value: Any, path: str, raw: Any) -> tuple[Record, Shape]:
    """Build a record from an untyped value by the first shape that recognises it."""
    if not isinstance(value, dict):
        raise Reject(path, f"expected a JSON object (a record, an alert, an incident or a row), got {type_name(value)}")
    for shape in _shapes.SHAPES:
        if shape.recognise is not None and shape.build is not None and shape.recognise(value):
            return shape.build(value, raw, path), shape
    raise Reject(path, UNRECOGNISED)


#: Why an object no shape recognises is an :class:`InvalidRecord`: what is accepted.
UNRECOGNISED = (
    "object is none of the shapes decode() accepts: a streamed record (`category` and `properties`), "
    "a SIEM alert, a Graph, MDE or XDR alert or incident, an advanced hunting response, "
    "a Log Analytics export row (`TimeGenerated`, `Type`, `TenantId`)"
)


# --- tolerant splitting of a broken JSON array -------------------------------------

_STRUCTURAL = re.compile(rb'[\[\]{}",]')
_STRING_END = re.compile(rb'["\\]')


def split_array(buf: bytes, open_pos: int) -> list[bytes]:
    """Split the elements of the JSON array opening at ``open_pos`` without decoding them.

    Works on input msgspec rejects (invalid UTF-8, a syntax error or truncation
    inside one element), so that only the broken element is lost.  Returns the
    elements' bytes; a truncated last element is returned as it is.
    """
    return split_array_end(buf, open_pos)[0]


def split_array_end(buf: bytes, open_pos: int) -> tuple[list[bytes], int | None]:
    """:func:`split_array`, and where the array ends: the offset after its closing ``]``,
    None when the input ends before it (cut short)."""
    elements: list[bytes] = []
    depth = 0
    seg = pos = open_pos + 1
    while True:
        m = _STRUCTURAL.search(buf, pos)
        if m is None:
            tail = buf[seg:].strip(_WS)
            if tail:
                elements.append(tail)
            return elements, None
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
                    return elements, None
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
                return elements, p + 1
            depth -= 1
        elif depth == 0:  # a comma between elements
            elements.append(buf[seg:p].strip(_WS))
            seg = p + 1
        pos = p + 1


def _cut(raw: bytes) -> bool:
    """Whether an item that failed is not JSON (cut short, most often), rather than a whole value
    (as the standard library reads JSON too: lone surrogates, ``NaN``)."""
    try:
        untyped(raw)
    except _DECODE_ERRORS:
        return True
    return False


def split_items(
    buf: bytes, open_pos: int, prefix: str, first_index: int, member: bool
) -> tuple[list[bytes], Callable[[Batch], Batch]]:
    """:func:`split_array` of a broken input, and what to apply to the batch of its items: it adds
    an :class:`InvalidRecord` for what the split found wrong around them, so that a cut or broken
    input does not pass for a whole one.

    - The input ends before the array closes (a blob still being written, a response cut
      short): an error at the index after the last item (``{prefix}[n]``, no bytes), unless
      the last item is itself cut (an error that is not JSON: its own error says so).
    - What follows the array is not JSON: the rest of the object the array is the member
      ``prefix`` of (``member``), or anything at all after a top-level array.  An error at
      the index after the last item, at ``$``, with those bytes.
    """
    items, end = split_array_end(buf, open_pos)
    count = len(items)
    index = first_index + count

    def checked(batch: Batch) -> Batch:
        if end is None:
            if not (count and batch.errors and batch.errors[-1].index == index - 1 and _cut(items[-1])):
                reason = (
                    "the input ends before the array's closing `]`: it was cut short here, what followed is missing"
                )
                batch.errors.append(InvalidRecord(index, f"{prefix}[{count}]", reason, b""))
            return batch
        rest = buf[end:]
        if member:
            try:  # the members after the array, and the closing brace, as any JSON decode() reads
                loads(b'{"":0' + rest)
            except _DECODE_ERRORS:
                reason = (
                    f"what follows the array `{prefix}` is not the rest of a JSON object (broken or trailing bytes)"
                )
                batch.errors.append(InvalidRecord(index, "$", reason, rest))
        elif rest.strip(_WS):
            reason = "bytes after the array's closing `]`: not JSON"
            batch.errors.append(InvalidRecord(index, "$", reason, rest))
        return batch

    return items, checked
