"""The input shapes ``decode()`` recognises: one module per shape, one line per shape in :data:`SHAPES`.

The contract of a shape (a :class:`Shape`, every hook optional) is what the decoder
core in ``m365parse/_decode.py`` calls:

``sniff(buf) -> bool``
    The whole input (``buf`` starts at its first ``{`` or ``[``) is an envelope
    of this shape, judged from its first bytes only (``{"records": [``).
``whole(buf, first_index) -> Batch``
    Decode an input ``sniff`` claimed: a fast one-pass decode, else each item on
    its own (through :func:`m365parse._decode.decode_each`).
``array(buf) -> Batch | None``
    Fast one-pass decode of a JSON array of this shape's items; ``None`` when
    anything in it needs the per-item fallback (or it is not this shape).  It
    may raise :class:`Resume` instead, as ``lines`` does.
``lines(buf) -> Batch | None``
    The same for JSON lines, one item per line.  Instead of returning None it
    may raise :class:`Resume`: the one-pass decode failed at item ``at`` after
    the items before it decoded as this shape's; the core then tries no other
    shape and resumes this shape's ``run`` after that item.
``bodies(buf) -> Batch | None``
    The same for JSON lines, one whole envelope per line (what ``sniff`` claims).
``page(buf) -> Batch | None``
    Fast one-pass decode of an OData page (``{"value": [...]}``) of this shape's
    items, offered by the ``odata`` envelope shape when the page's
    ``@odata.context`` fragment starts with one of ``contexts`` (or has none).
``page_item(raw, path) -> Record | None``
    Decode one item of an OData page whose ``@odata.context`` names this shape
    (one of ``contexts``) and whose keys no shape recognises, when the page did
    not decode in one pass: the context says the item is this shape's (a
    ``$select`` page sends only the keys asked for), so only what tells apart the
    shapes sharing the context is checked.  None: another shape's item (or not
    JSON, not an object: it stays the error the core found); raises
    :class:`Reject` when it is this shape's but cannot be built.
``run(buf) -> Batch``
    One-pass decode of a JSON array of this shape's items (a run of the items
    of an input that the one-pass decode rejected, joined): every item a record,
    else the decoder's ``ValueError``, whose message names the first item that
    failed (msgspec's path ``$[i]...``) when it can.  The core then decodes the
    items before it in one run, that item on its own, and resumes after it.
    When the error is a :class:`Partial` (raised by :func:`m365parse._decode.run`
    for record types that report the records msgspec completes, see
    :func:`m365parse.record.collected`), the items before the one that failed
    are its records: they are kept, not decoded again.
``unwrap(value, buf, first_index) -> Batch | None``
    ``value`` (the whole input decoded untyped, a dict) is an envelope of this
    shape that ``sniff`` did not see (keys in another order): its batch.
``one(raw) -> Record``
    Typed decode of one item from its own bytes; raises ``ValueError`` when it
    does not fit (the core then decodes it untyped and calls ``build``).
``recognise(value) -> bool``
    One untyped item (a dict) is this shape's, judged from its top-level keys.
    An envelope shape whose items are other shapes' (an OData page, a hunting
    response) has none.
``build(value, raw, path) -> Record``
    Build the record of one recognised item column by column, losing nothing;
    raises :class:`Reject` when it cannot.  Given with ``recognise``.
``times``
    The reader :class:`m365parse._decode.Origin` uses to find the text of a
    datetime of this shape's records again (exact timestamps).
``kinds``
    The record kinds (``Record.table`` values) the shape produces.

The core tries ``sniff`` / ``array`` / ``lines`` / ``bodies`` / ``unwrap`` of the
shapes in the order of :data:`SHAPES`, and for one item recognises the shape in
that order too: a shape whose keys are a subset of a later shape's comes first.
Adding a shape is a new module defining ``SHAPE`` and one line below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ..record import Batch, Record

__all__ = ["Shape", "Reject", "Resume", "Partial", "SHAPES", "DECODE_ERRORS", "ModuleTimes"]

#: What a failed msgspec decode raises (DecodeError and UnicodeDecodeError are ValueErrors).
DECODE_ERRORS = (ValueError, RecursionError)


class Reject(Exception):
    """One item cannot be a record: ``path`` is where, ``reason`` why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason


class Resume(Exception):
    """Raised by a ``lines`` hook: its one-pass decode failed at item ``at`` (the items before it are ``shape``'s).

    ``done``: the records of the items before ``at``, when the failed decode kept them
    (a :class:`Partial`'s); None when they are to be decoded again.
    """

    def __init__(self, shape: Shape, at: int, done: list[Record] | None = None) -> None:
        super().__init__(shape.name, at)
        self.shape = shape
        self.at = at
        self.done = done


class Partial(ValueError):
    """A one-pass decode that failed, with the records it completed before it failed.

    Its message is the decoder's (it names the item that failed, as msgspec's path
    does); ``records`` are the records of the items before that one, in order, as
    msgspec completed them (their origin not set yet: :func:`m365parse._decode.kept`).
    """

    def __init__(self, error: ValueError, records: list[Record]) -> None:
        super().__init__(str(error))
        self.records = records


class ModuleTimes:
    """Base of a shape's times reader (``m365parse._decode.Times``), the one instance of its module, named ``TIMES``:
    it pickles as that instance (the decoders it caches do not pickle), so an origin does."""

    def __reduce__(self) -> str:
        return "TIMES"


class Shape(NamedTuple):
    """One input shape: the hooks the decoder core calls (see the module docstring)."""

    name: str
    kinds: tuple[str, ...]
    recognise: Callable[[dict[str, Any]], bool] | None = None
    build: Callable[[dict[str, Any], Any, str], Record] | None = None
    sniff: Callable[[bytes], bool] | None = None
    whole: Callable[[bytes, int], Batch] | None = None
    array: Callable[[bytes], Batch | None] | None = None
    lines: Callable[[bytes], Batch | None] | None = None
    bodies: Callable[[bytes], Batch | None] | None = None
    unwrap: Callable[[dict[str, Any], bytes, int], Batch | None] | None = None
    one: Callable[[Any], Record] | None = None
    times: Any = None
    page: Callable[[bytes], Batch | None] | None = None
    contexts: tuple[str, ...] = ()
    page_item: Callable[[Any, str], Record | None] | None = None
    run: Callable[[bytes], Batch] | None = None


from . import alerts, export, hunting, odata, rejects, siem, stream  # noqa: E402  (the shapes use the names above)

#: The shapes, in the order they are tried.
SHAPES: tuple[Shape, ...] = (
    alerts.INCIDENT,
    alerts.XDR_INCIDENT,
    alerts.XDR_ALERT,
    alerts.MDE_ALERT,
    alerts.ALERT,
    alerts.MANUAL_ALERT,  # after ALERT: a page of plain alerts tries the plain struct first
    stream.SHAPE,
    export.SHAPE,
    siem.SHAPE,
    hunting.SHAPE,
    odata.SHAPE,
    rejects.ERROR_BODY,
    rejects.LEGACY_ALERT,
)
