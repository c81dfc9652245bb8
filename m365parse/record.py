"""Decoded records and batches.

A streamed record is an instance of one ``<Table>Record`` class per table (for
example :class:`m365parse.tables.DeviceProcessEventsRecord`), all subclasses of
:class:`Record`.  Its envelope keys are attributes (``time``, ``tenantId``,
``operationName``, ``_TimeReceivedBySvc``, ``Tenant``), its row is the typed
struct in ``properties``.  Records of tables the library does not know are
:class:`UnknownRecord`, SIEM REST API alerts are :class:`SiemRecord`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from msgspec import Meta, Struct, field

from ._values import exact_iso

if TYPE_CHECKING:
    from .errors import InvalidRecord

__all__ = ["Record", "UnknownRecord", "SiemRecord", "Batch", "ENVELOPE_KEYS", "DECODED", "collected", "collected_as"]

#: Envelope keys of a streamed record that are attributes of :class:`Record`
#: (besides ``category`` and ``properties``).
ENVELOPE_KEYS = ("time", "tenantId", "operationName", "_TimeReceivedBySvc", "Tenant")

#: Length bounds that no value satisfies: a field of this type is never decoded from input.
_NOT_FROM_INPUT = Meta(min_length=1, max_length=0)


class _NoExtra(dict):  # type: ignore[type-arg]
    """The default of :attr:`Record.extra` and :attr:`Record.envelope_extra`: empty, shared, read-only.

    Never handed out by the attributes (they give a record its own dict when first
    read); seen only by what reads a record's fields without them
    (``msgspec.structs.asdict``, ``msgspec.json.encode``): an empty dict.
    """

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("the shared empty default of Record.extra is read-only: set the record's attribute")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = __ior__ = _read_only

    def __reduce__(self) -> str:
        return "_NO_EXTRA"  # pickles (and copies) as the one shared instance


_NO_EXTRA: dict[str, Any] = _NoExtra()


class _Made(Struct, gc=False):
    """The two fields a record is made with, first and positional: ``properties`` and
    where it was decoded from (see :attr:`Record._src`).

    A decoder that wraps decoded items in records makes them with
    ``map(record_type, items, repeat(origin))``: positional construction costs about
    20 ns a record less than by keywords.  Every record class redeclares
    ``properties`` with its type, in a class that is not ``kw_only``, which keeps
    the field first.
    """

    properties: Any
    # Where the record was decoded from, for the exact timestamps of
    # timestamp_ns(); set by the decoder, never part of equality or repr: read it
    # with Record._source().  Either (origin, position), or, for a record made around
    # an item the decode gave (an API alert, a hunting row, a SIEM alert), the origin
    # alone, which finds the position from the item (no tuple made per record).
    # No JSON value fits its type (_NOT_FROM_INPUT): an input key spelled like its
    # wire name cannot fill it.
    _src: Annotated[tuple[Any, ...], _NOT_FROM_INPUT] = field(default=None, name="@m365parse.src")  # type: ignore[arg-type]


class Record(_Made, kw_only=True, forbid_unknown_fields=True, repr_omit_defaults=True, gc=False):
    """One decoded record: envelope values, typed ``properties``, and ``extra``.

    Records are not tracked by Python's cyclic garbage collector (msgspec's
    ``gc=False``, inherited by every record class): a decode makes hundreds of
    thousands of them, and the collector walking them cost more than building
    them.  Nothing the library makes refers back to a record (its values are JSON
    data and typed structs, its origin the input bytes), so no reference cycle runs
    through one; a cycle a caller makes through a record (a record stored in its
    own ``extra``, or in an object its ``extra`` holds) is never freed.

    A record keeps what it was decoded from alive, for :func:`m365parse.timestamp_ns`:
    the input bytes of its batch, and for records made around decoded items (API
    alerts and incidents, hunting rows, SIEM alerts) the list of its batch's items.
    Keeping a few records of a large batch for long keeps all of that: keep their
    :meth:`to_dict` (or the values needed) instead.

    Attributes:
        time: when Defender received the event (envelope ``time``).
        tenantId: the tenant's id.
        operationName: ``"Publish"`` when present (undocumented key).
        _TimeReceivedBySvc: undocumented envelope timestamp, present in some records.
        Tenant: undocumented envelope key, ``"DefaultTenant"`` when present.
        extra: every column of ``properties`` that the table's struct does not
            declare, and the original value of every column that could not be kept
            in its typed attribute (which is then ``None``).  Empty when none.
        envelope_extra: envelope keys other than the ones above, and original
            envelope values that did not fit their attribute.  Empty when none.

    ``extra`` and ``envelope_extra`` are dicts of the record's own, made when first
    read (a decode makes none for records that need none); what reads the struct's
    fields directly (``msgspec.structs.asdict``, ``msgspec.json.encode``) sees an
    empty, read-only dict for one never read.

    ``table`` names the table; ``properties`` is the table's struct (see
    :data:`m365parse.TABLES`).  Records compare equal when all of these are equal.
    """

    # The envelope times take a zone-less timestamp too (no Meta(tz=True)), so that the
    # one-pass decode accepts such a record; the decoder then reads it as UTC
    # (m365parse.shapes.stream.zoned).  The columns of properties stay Timestamp.
    time: datetime | None = None
    tenantId: str | None = None
    operationName: str | None = None
    _TimeReceivedBySvc: datetime | None = None
    Tenant: str | None = None
    # The fields below are the decoder's own: no JSON value fits their type
    # (_NOT_FROM_INPUT), so an input key spelled like their wire names cannot fill
    # them; such a record takes the per-record path and keeps the key in
    # envelope_extra.
    # Their default is one shared, read-only empty dict (no dict made and freed per
    # record); the properties installed below the class give each record a dict of
    # its own the first time it is read (see _own_dict).
    extra: Annotated[dict[str, Any], _NOT_FROM_INPUT] = field(default=_NO_EXTRA, name="@m365parse.extra")
    envelope_extra: Annotated[dict[str, Any], _NOT_FROM_INPUT] = field(
        default=_NO_EXTRA, name="@m365parse.envelope_extra"
    )
    _table: ClassVar[str] = ""

    def _source(self) -> tuple[Any, int] | None:
        """``(origin, position)``: the :class:`m365parse._decode.Origin` the record was
        decoded from and its place there; None when unknown (a record made by hand)."""
        src: Any = self._src
        if src.__class__ is tuple:
            return src
        if src is not None:
            pos = src.position(self)
            if pos is not None:
                return src, pos
        return None

    @property
    def table(self) -> str:
        """The table name: ``"DeviceProcessEvents"``, ``"SiemAlert"``, or the unknown one's."""
        return self._table

    @property
    def category(self) -> str | None:
        """The envelope ``category`` (``"AdvancedHunting-<table>"``); ``None`` for SIEM alerts."""
        return "AdvancedHunting-" + self._table

    @property
    def envelope(self) -> dict[str, Any]:
        """Every envelope value of the record as a dict (``{}`` for SIEM alerts).

        Known keys hold their typed values; keys from :attr:`envelope_extra` follow.
        """
        out: dict[str, Any] = {}
        for key in ENVELOPE_KEYS:
            value = getattr(self, key)
            if value is not None:
                out[key] = value
            if key == "operationName" and self.category is not None:
                out["category"] = self.category
        out.update(self.envelope_extra)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-ready data: ``table``, ``envelope``, ``properties``, ``extra``.

        Columns that are ``None`` are left out; a column is written under the
        spelling real records carry, as ``msgspec.json.encode`` writes the struct
        (``ISP`` of CloudAppEvents, whose attribute is the documented ``Isp``);
        datetimes become UTC ISO 8601
        strings with every fractional digit that arrived (trailing zeros trimmed),
        so nothing of a 100 ns Kusto timestamp is lost.
        """
        envelope = self.envelope
        for key, value in envelope.items():
            if isinstance(value, datetime):
                envelope[key] = exact_iso(self, key)
        props = self.properties
        properties: dict[str, Any]
        if isinstance(props, Struct):
            properties = {}
            # keys as msgspec encodes the struct: the spelling real records carry (ISP, not Isp)
            for name, key in zip(props.__struct_fields__, props.__struct_encode_fields__, strict=True):
                value = getattr(props, name)
                if value is None:
                    continue
                if isinstance(value, datetime):
                    value = exact_iso(self, name)
                properties[key] = value
        else:
            properties = dict(props)
        return {"table": self.table, "envelope": envelope, "properties": properties, "extra": dict(self.extra)}

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        assert isinstance(other, Record)
        return all(
            getattr(self, name) == getattr(other, name) for name in self.__struct_fields__ if name != "_src"
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if name == "_src" or value is None or (name in ("extra", "envelope_extra") and not value):
                continue
            parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _own_dict(name: str, doc: str) -> property:
    """``Record.<name>`` as a property over the struct's slot: a record whose slot holds the
    shared default gets a dict of its own, stored, when the attribute is first read, so
    ``record.extra[key] = value`` changes that record only.  ``doc``: the attribute's."""
    slot = Record.__dict__[name]  # msgspec's member descriptor of the field
    get, put = slot.__get__, slot.__set__

    def read(self: Record) -> dict[str, Any]:
        value: dict[str, Any] = get(self, None)
        if value is _NO_EXTRA:
            value = {}
            put(self, value)
        return value

    def write(self: Record, value: dict[str, Any]) -> None:
        put(self, value)

    return property(read, write, doc=doc)


Record.extra = _own_dict(  # type: ignore[assignment]
    "extra",
    "Every column of ``properties`` that the table's struct does not declare (a deeper key of "
    "an API item under its JSON path), and the original value of every column that could not "
    "be kept in its typed attribute (which is then ``None``); a dict of the record's own.",
)
Record.envelope_extra = _own_dict(  # type: ignore[assignment]
    "envelope_extra",
    "Envelope keys other than the record's envelope attributes, and original envelope values "
    "that did not fit their attribute; a dict of the record's own.",
)


#: The list a one-pass decode running in this context collects its records in, as
#: msgspec completes them (None: no such decode).  See :func:`collected`.
DECODED: ContextVar[list[Record] | None] = ContextVar("m365parse_decoded", default=None)


def collected(record: Record) -> None:
    """``__post_init__`` of the types the one-pass decoders of streamed records decode into
    (see :func:`m365parse._project.with_properties`; :func:`collected_as` for the twins of
    the tables' record types).

    msgspec calls it on each record it completes, in input order.  While a one-pass
    decode collects (:data:`DECODED` holds a list), the record goes in that list, so
    that when the decode fails at item *k* the records of items 0 to *k*-1 are not
    lost with it: the decoder keeps them and resumes after item *k* rather than
    decoding them again.  Otherwise it does nothing.
    """
    sink = DECODED.get()
    if sink is not None:
        sink.append(record)


def collected_as(record_type: type[Record]) -> Callable[[Record], None]:
    """A ``__post_init__`` that makes each record msgspec completes one of ``record_type`` (a
    change of class, while the record is fresh in the caches) and then does what
    :func:`collected` does: that of a twin of ``record_type`` (the same fields) that the
    one-pass decoders decode into (``m365parse.shapes.stream._twin``)."""
    get = DECODED.get

    def collect(record: Record) -> None:
        record.__class__ = record_type
        sink = get()
        if sink is not None:
            sink.append(record)

    return collect


class _DictRecord(Record):
    """A record whose ``properties`` is a plain dict (declared in a class that is
    not ``kw_only``, so that the field stays first: see :class:`_Made`)."""

    properties: dict[str, Any]


class UnknownRecord(_DictRecord, kw_only=True):
    """A streamed record of a table this version does not know.

    ``category`` is the envelope value as it arrived; ``table`` is the name after
    ``AdvancedHunting-``; ``properties`` is the row as a plain dict, untouched.
    """

    category: str

    @property
    def table(self) -> str:
        """The table name: ``category`` after ``AdvancedHunting-`` (the whole ``category`` without it)."""
        prefix = "AdvancedHunting-"
        return self.category[len(prefix) :] if self.category.startswith(prefix) else self.category


class SiemRecord(Record):
    """One alert of the legacy SIEM REST API; ``properties`` is a :class:`m365parse.tables.SiemAlert`.

    SIEM alerts have no envelope: the envelope attributes are ``None``.
    """

    properties: Any
    _table: ClassVar[str] = "SiemAlert"

    @property
    def category(self) -> str | None:
        """``None``: a SIEM alert has no envelope ``category``."""
        return None


class Batch(Struct):
    """What :func:`m365parse.decode` returns.

    Attributes:
        records: the decoded records, in input order.
        errors: one :class:`m365parse.InvalidRecord` per input record that could
            not be decoded, in input order.

        next_link: the page's ``@odata.nextLink`` (the URL of the next page of
            a paged API response), when it sent one; callers drive the paging.
        count: the page's ``@odata.count`` (sent with ``$count=true``), when sent.
        envelope: every key of the API response the items came in other than
            the items themselves, as plain JSON values (dicts, lists, strings,
            numbers, booleans, ``None``) under the key's own name: a Defender XDR
            hunting response's ``Stats``, a hunting response's schema (``Schema``
            or Graph's ``schema``) and Graph's ``@odata.context``; an OData page's
            ``@odata.context``, ``@odata.nextLink``, ``@odata.count`` and any other
            key it sent; an Event Hubs body's keys besides ``records`` (Microsoft's
            bodies have none).  Empty for inputs that have no such envelope (records,
            arrays, JSON lines), for several responses or bodies in one input, and
            for a response that is not valid JSON.

    ``len(records) + len(errors)`` is the number of records in the input.
    """

    records: list[Record]
    errors: list[InvalidRecord]
    next_link: str | None = None
    count: int | None = None
    envelope: dict[str, Any] = field(default_factory=dict)
