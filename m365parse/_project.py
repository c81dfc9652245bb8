"""Decoding only what a consumer reads: projections and the narrowed struct types they give.

A :class:`Projection` names, per table, the columns a consumer of the records
reads (a rule set: :meth:`m365parse.RuleSet.projection`).  While one is
current (:data:`CURRENT`, set by :func:`m365parse.decode_normalized` around its
call of :func:`m365parse.decode`), the one-pass decode of streamed records and
of advanced hunting rows decodes each record into *narrowed* types: the table's
struct (or the hunting schema's row struct) with those columns only, msgspec
skipping the others at C speed.  Everything else of the decode is unchanged:
the records it cannot take whole go the per-record way and get the full types,
and every record keeps its origin (exact timestamps).

Only those two shapes narrow: their records are told apart by a tag
(``category``) or by the response's schema.  SIEM alerts and the items of the
alert and incident APIs are told apart by which struct takes them whole (an
unknown key sends an item on to the next shape, or item by item to the
recognisers): a struct that skipped keys would take items the full decode
gives to another kind.

A narrowed record is what the consumer needs and no more; it never leaves the
library (the rule set's events are what the caller gets).  What it would read
differently from a full record makes its decode fail, so that the record takes
the full way:

- another spelling of a column it reads (``ISP`` for ``Isp``): a field no JSON
  value fits stands under that name;
- a value of a column it reads that does not fit the column's type: the column
  keeps its type.

Columns it does not read are skipped as JSON, not read: a value a full decode
cannot read at all (bytes that are not UTF-8, an integer of more than 4,300
digits) in one of them does not make the record fail, as it does in a full
decode (which cannot give that column).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Annotated, Any

import msgspec

from .record import _NOT_FROM_INPUT, Record

__all__ = ["CURRENT", "Projection", "narrowed_struct", "narrowed_record"]

#: A field type no JSON value fits (not even ``null``): a key under its name makes the decode fail.
_NO_VALUE = Annotated[dict[str, Any], _NOT_FROM_INPUT]


class Projection:
    """The columns a consumer reads, per table (``None``: every column, the full struct).

    ``columns(table)`` is asked once per table, when a decoder that needs the
    table is built; decoders are cached per projection, so a projection lives as
    long as what it projects for (one per rule set).
    """

    __slots__ = ("_columns", "_known", "name")

    def __init__(self, name: str, columns: Callable[[str], frozenset[str] | None]) -> None:
        self.name = name
        self._columns = columns
        self._known: dict[str, frozenset[str] | None] = {}

    def __repr__(self) -> str:
        return f"<m365parse projection of {self.name!r}>"

    def columns(self, table: str) -> frozenset[str] | None:
        """The columns of ``table`` read, or None for all of them."""
        try:
            return self._known[table]
        except KeyError:
            found = self._known[table] = self._columns(table)
            return found


#: The projection of the decode running in this context, or None (full records).
CURRENT: ContextVar[Projection | None] = ContextVar("m365parse_projection", default=None)


@functools.lru_cache(maxsize=512)
def narrowed_struct(struct_type: type[msgspec.Struct], columns: frozenset[str]) -> type[msgspec.Struct]:
    """``struct_type`` with only the fields named in ``columns`` (by attribute or wire name; same
    types and defaults), the keys of the others skipped; another spelling of a kept field (the
    struct's ``_variants``) fails the decode."""
    fields: list[tuple[str, Any, Any]] = []
    kept: set[str] = set()
    for f in msgspec.structs.fields(struct_type):
        if f.name in columns or f.encode_name in columns:
            kept.add(f.name)
            default = (
                msgspec.field(default_factory=f.default_factory, name=f.encode_name)
                if f.default_factory is not msgspec.NODEFAULT
                else msgspec.field(default=f.default, name=f.encode_name)
            )
            fields.append((f.name, f.type, default))
    for pos, (key, attribute) in enumerate(sorted(getattr(struct_type, "_variants", {}).items())):
        if attribute in kept:
            fields.append((f"_m365parse_spelling{pos}", _NO_VALUE, msgspec.field(default=None, name=key)))
    config = struct_type.__struct_config__
    return msgspec.defstruct(
        struct_type.__name__,
        fields,
        kw_only=True,
        omit_defaults=config.omit_defaults,
        module=struct_type.__module__,
    )


def narrowed_record(record_type: type[Record], projection: Projection | None) -> type[Record]:
    """The record type whose ``properties`` is the table's struct narrowed to what
    ``projection`` reads; ``record_type`` itself when it reads every column."""
    if projection is None:
        return record_type
    columns = projection.columns(record_type._table)
    if columns is None:
        return record_type
    return _narrowed_record(record_type, columns)


@functools.lru_cache(maxsize=512)
def _narrowed_record(record_type: type[Record], columns: frozenset[str]) -> type[Record]:
    from .tables import TABLES

    props = narrowed_struct(TABLES[record_type._table], columns)
    return msgspec.defstruct(  # type: ignore[return-value]
        record_type.__name__,
        [("properties", props)],
        bases=(record_type,),
        tag=record_type.__struct_config__.tag,
        kw_only=True,
        module=record_type.__module__,
    )


