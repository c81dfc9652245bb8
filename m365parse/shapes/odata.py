"""OData envelopes of the polled APIs: a page ``{"@odata.context", "value": [...], "@odata.nextLink", "@odata.count"}``
or one entity with its ``@odata.context`` inline.

This shape owns the envelope only: its items are decoded by the item shapes
(Graph alerts and incidents, MDE alerts, XDR incidents), through their ``page``
fast path (:func:`page_hook`) and, when that fails, item by item.  The batch
carries ``next_link`` and ``count`` when the page sent them.  Also the helpers
the item shapes share: the page struct of an item type, the exact-timestamp
reader of nested API records (:data:`TIMES`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import msgspec
from msgspec import Raw, Struct

from .. import _decode as core
from .._stdjson import loads, loads_lines
from .._values import resolve_path
from ..errors import InvalidRecord
from ..record import Batch, Record
from . import DECODE_ERRORS, ModuleTimes, Reject, Shape

__all__ = ["SHAPE", "TIMES", "page_type", "page_hook", "context_of"]

_WS = rb"[ \t\r\n]*"
_START = re.compile(_WS + rb"\{" + _WS + rb'"(?:value|@odata\.(?:context|count|nextLink))"' + _WS + rb":")
_CONTEXT = re.compile(_WS + rb"\{" + _WS + rb'"@odata\.context"' + _WS + rb":" + _WS + rb'"([^"\\]*)"')
_NEXT_LINK = re.compile(rb'"@odata\.nextLink"' + _WS + rb":" + _WS + rb'"([^"\\]*)"')
_VALUE = re.compile(rb'"value"' + _WS + rb":" + _WS + rb"\[")

_Unset = msgspec.UnsetType


def page_type(item: Any, name: str) -> type[Struct]:
    """The struct of an OData page of ``item``s: any other key sends the page to the item-by-item
    path, which keeps it in :attr:`Batch.envelope`; an absent key stays ``UNSET``."""
    return msgspec.defstruct(
        name,
        [
            ("context", str | None | _Unset, msgspec.field(default=msgspec.UNSET, name="@odata.context")),
            ("value", list[item]),
            ("next_link", str | None | _Unset, msgspec.field(default=msgspec.UNSET, name="@odata.nextLink")),
            ("count", int | None | _Unset, msgspec.field(default=msgspec.UNSET, name="@odata.count")),
        ],
        kw_only=True,
        forbid_unknown_fields=True,
    )


#: The envelope keys of a page struct: attribute -> key.
_PAGE_KEYS = (("context", "@odata.context"), ("next_link", "@odata.nextLink"), ("count", "@odata.count"))


def _page_envelope(page: Any) -> dict[str, Any]:
    return {key: value for attr, key in _PAGE_KEYS if (value := getattr(page, attr)) is not msgspec.UNSET}


class _RawPage(Struct):
    context: Any = msgspec.field(default=None, name="@odata.context")
    value: list[Raw] | None = None
    next_link: Any = msgspec.field(default=None, name="@odata.nextLink")
    count: Any = msgspec.field(default=None, name="@odata.count")


@functools.cache
def _raw_page() -> msgspec.json.Decoder[_RawPage]:
    return msgspec.json.Decoder(_RawPage)


def context_of(buf: bytes) -> str | None:
    """The fragment of the ``@odata.context`` that opens ``buf`` (``security/alerts_v2``), if it does."""
    m = _CONTEXT.match(buf)
    return m.group(1).decode("utf-8", "replace").rpartition("#")[2] if m else None


#: What a page hook needs, built on first use: the page decoder, the check that a
#: decoded item is really the shape's by its keys (not an empty object), the check of
#: an item of a page whose context names the shape (only what tells apart the shapes
#: of one context), the record type.
PageKit = tuple[msgspec.json.Decoder[Any], Callable[[Any], bool], Callable[[Any], bool], Callable[..., Record]]


def page_hook(kit: Callable[[], PageKit]) -> Callable[[bytes], Batch | None]:
    """The ``page`` fast path of an item shape: one decode of the page into its page struct.

    The hook is offered a page whose ``@odata.context`` names the shape, or that has
    none: then the items' keys must say they are the shape's."""

    def page(buf: bytes) -> Batch | None:
        meta: list[Any] = []
        decoder, by_keys, in_context, wrap = kit()
        check = by_keys if context_of(buf) is None else in_context

        def items(data: bytes) -> list[Any]:
            decoded = decoder.decode(data)
            if not all(check(item) for item in decoded.value):
                raise ValueError("an item of the page is not of this shape")
            meta.append(decoded)
            return decoded.value  # type: ignore[no-any-return]

        batch = core.fast(items, buf, "page", TIMES, wrap=wrap)
        if batch is not None:
            batch.envelope = _page_envelope(meta[0])
            batch.next_link = batch.envelope.get("@odata.nextLink")
            batch.count = batch.envelope.get("@odata.count")
        return batch

    return page


def _sniff(buf: bytes) -> bool:
    return _START.match(buf) is not None


def _whole(buf: bytes, first_index: int = 0) -> Batch:
    from . import SHAPES  # this module is one of them

    fragment = context_of(buf)
    for shape in SHAPES:
        if shape.page is not None and (fragment is None or fragment.startswith(shape.contexts)):
            batch = shape.page(buf)
            if batch is not None:
                return batch
    return _each(buf, first_index)


def _each(buf: bytes, first_index: int) -> Batch:
    """The page item by item (or the one entity): what the fast path could not take."""
    try:
        page = _raw_page().decode(buf)
    except DECODE_ERRORS:
        if core.several_values(buf):
            return core.decode_lines(buf, first_index, try_fast=False)  # pages or entities one per line
        m = _VALUE.search(buf)
        if m is None:
            return _single(buf, first_index)
        items, checked = core.split_items(buf, m.end() - 1, "$.value", first_index, member=True)
        batch = checked(_items(items, _named_by(context_of(buf)), first_index))
        link = _NEXT_LINK.search(buf)
        if link is not None:
            batch.next_link = link.group(1).decode("utf-8", "replace")
        return batch
    if page.value is None:
        return _single(buf, first_index)
    raws, next_link, count = page.value, page.next_link, page.count
    del page
    batch = _items(raws, _named_by(context_of(buf)), first_index)
    batch.next_link = next_link if isinstance(next_link, str) else None
    batch.count = count if isinstance(count, int) and not isinstance(count, bool) else None
    batch.envelope = core.envelope(buf, ("value",))
    return batch


def _named_by(fragment: str | None) -> tuple[Shape, ...]:
    """The item shapes an ``@odata.context`` fragment names (none when there is no context)."""
    from . import SHAPES  # this module is one of them

    if fragment is None:
        return ()
    return tuple(s for s in SHAPES if s.page_item is not None and s.contexts and fragment.startswith(s.contexts))


def _items(raws: list[Any], shapes: tuple[Shape, ...], first_index: int) -> Batch:
    """The items of a page, one by one: each as the shape its keys say (any shape), and an item
    whose keys say none as one of the ``shapes`` its context names (``page_item``)."""
    batch = core.decode_each(raws, "$.value", first_index=first_index)
    if not shapes or not batch.errors:
        return batch
    failed = {error.index - first_index: error for error in batch.errors}
    decoded = iter(batch.records)
    records: list[Record] = []
    errors: list[InvalidRecord] = []
    for at, raw in enumerate(raws):
        error = failed.get(at)
        if error is None:
            records.append(next(decoded))  # (every item is a record or an error, in input order)
            continue
        item = _named(raw, error, shapes) if error.reason == core.UNRECOGNISED else error
        if isinstance(item, Record):
            records.append(item)
        else:
            errors.append(item)
    return Batch(records, errors)


def _named(raw: Any, error: InvalidRecord, shapes: tuple[Shape, ...]) -> Record | InvalidRecord:
    """An item no shape recognises, as the first of ``shapes`` (named by its page's context)
    that takes it; ``error`` when none does."""
    for shape in shapes:
        try:
            record = shape.page_item(raw, error.path)  # type: ignore[misc]
        except Reject as rej:
            return InvalidRecord(error.index, rej.path, rej.reason, bytes(raw))
        if record is not None:
            record._src = (core.Origin(bytes(raw), "one", shape.times), 0)
            return record
    return error


def _single(buf: bytes, first_index: int) -> Batch:
    item = core.decode_one(buf, first_index, "$")
    return Batch([item], []) if isinstance(item, Record) else Batch([], [item])


def _unwrap(value: dict[str, Any], buf: bytes, first_index: int) -> Batch | None:
    # A page whose "value" is not the first key.
    if isinstance(value.get("value"), list) and not core.recognised(value):
        del value
        return _each(buf, first_index)
    return None


class _ApiTimes(ModuleTimes):
    """The datetime strings of API records: the item decoded untyped, looked up by JSON path."""

    def load(self, data: bytes, layout: str, typed: bool) -> Any:
        if layout == "lines":
            return loads_lines(data)
        value = loads(data)  # msgspec, else json.loads (lone surrogates, NaN)
        if layout == "page":
            return value.get("value") if isinstance(value, dict) else None
        return [value] if layout == "one" else value

    def text(self, view: Any, record: Record, column: str, envelope: bool) -> Any:
        if "." in column or "[" in column:
            return resolve_path(view, column)
        return view.get(column) if isinstance(view, dict) else None


#: The exact-timestamp reader of every API record kind.
TIMES = _ApiTimes()

SHAPE: Shape = Shape(
    name="odata",
    kinds=(),
    sniff=_sniff,
    whole=_whole,
    unwrap=_unwrap,
    times=TIMES,
)
