"""Decoding only what a consumer reads: projections and the narrowed struct types they give.

A :class:`Projection` names, per table, the columns a consumer of the records
reads (a rule set: :meth:`m365parse.RuleSet.projection`).  While one is
current (:data:`CURRENT`, set by :func:`m365parse.decode_normalized` around its
call of :func:`m365parse.decode`), the one-pass decode of streamed records, of
advanced hunting rows and of alerts and incidents decodes each record into
*narrowed* types: the table's struct (or the hunting schema's row struct) with
those columns only, msgspec skipping the others at C speed.  Everything else of
the decode is unchanged: a record it cannot take whole is decoded on its own
(narrowed too) or built column by column (full types), and every record keeps
its origin (exact timestamps).

The items of the alert and incident APIs narrow too (:func:`narrowed_tree`:
JSON paths at any depth, ``evidence[*].ipAddress``): their kind is told by the
keys of one rule per kind (:mod:`m365parse.shapes.alerts`), which every
narrowed struct reads whatever the consumer reads, and a narrowed item is of the
first kind whose rule holds, as the recognisers of the per-item path find it.
SIEM alerts do not narrow: they are told from the other shapes by which struct
takes them whole (an unknown key sends an item on to the next shape), and a
struct that skipped keys would take items the full decode gives to another shape.

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
import operator
import types
import typing
from collections.abc import Callable
from contextvars import ContextVar
from typing import Annotated, Any

import msgspec

from .record import _NOT_FROM_INPUT, Record, collected

__all__ = ["CURRENT", "Projection", "narrowed_struct", "narrowed_record", "narrowed_tree", "with_properties"]

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


def _field(f: msgspec.structs.FieldInfo, annotation: Any) -> tuple[str, Any, Any]:
    """``f`` of a struct as a field of a narrowed one (``defstruct``): its name, wire name and
    default kept, its type ``annotation``."""
    if f.default_factory is not msgspec.NODEFAULT:
        return f.name, annotation, msgspec.field(default_factory=f.default_factory, name=f.encode_name)
    return f.name, annotation, msgspec.field(default=f.default, name=f.encode_name)


def _like(struct_type: type[msgspec.Struct], fields: list[tuple[str, Any, Any]]) -> type[msgspec.Struct]:
    """A struct of ``fields`` named, tagged and configured as ``struct_type`` (a narrowed copy of it)."""
    config = struct_type.__struct_config__
    return msgspec.defstruct(
        struct_type.__name__,
        fields,
        kw_only=True,
        omit_defaults=config.omit_defaults,
        tag_field=config.tag_field,
        tag=config.tag,
        module=struct_type.__module__,
    )


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
            fields.append(_field(f, f.type))
    for pos, (key, attribute) in enumerate(sorted(getattr(struct_type, "_variants", {}).items())):
        if attribute in kept:
            fields.append((f"_m365parse_spelling{pos}", _NO_VALUE, msgspec.field(default=None, name=key)))
    return _like(struct_type, fields)


def _split(paths: frozenset[str]) -> dict[str, frozenset[str]]:
    """JSON paths below an object (``evidence[*].userAccount.accountName``): its key -> the paths below it."""
    below: dict[str, set[str]] = {}
    for path in paths:
        head, _, rest = path.partition(".")
        key = head.removesuffix("[*]")
        below.setdefault(key, set())
        if rest:
            below[key].add(rest)
    return {key: frozenset(rest) for key, rest in below.items()}


def _narrowed_type(annotation: Any, paths: frozenset[str]) -> Any:
    """``annotation`` with each struct in it (in a list, a union, an optional) narrowed to ``paths``."""
    if not paths:
        return annotation  # the value itself is read: whole
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return functools.reduce(operator.or_, [_narrowed_type(a, paths) for a in args])
    if typing.get_origin(annotation) is list and len(args) == 1:
        return list[_narrowed_type(args[0], paths)]  # type: ignore[misc]
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return narrowed_tree(annotation, paths)
    return annotation


@functools.lru_cache(maxsize=512)
def narrowed_tree(
    struct_type: type[msgspec.Struct], paths: frozenset[str], probes: tuple[tuple[str, str], ...] = ()
) -> type[msgspec.Struct]:
    """``struct_type`` with only what the JSON ``paths`` below it read, at any depth: a key
    read whole keeps its type, one read below (``evidence[*].ipAddress``) has its structs
    narrowed the same way (each member of a tagged union, its tag kept); the keys of the
    others are skipped.  ``probes`` (attribute, key): keys kept (with their type) or added
    (any JSON value) at the top, whatever the paths, for what tells the item's kind."""
    below = _split(paths)
    fields: list[tuple[str, Any, Any]] = []
    have: set[str] = set()
    wanted = {key for _, key in probes}
    for f in msgspec.structs.fields(struct_type):
        have.add(f.encode_name)
        if f.encode_name not in below and f.name not in below and f.encode_name not in wanted:
            continue
        sub = below.get(f.encode_name, below.get(f.name, frozenset()))
        fields.append(_field(f, _narrowed_type(f.type, sub)))
    for attribute, key in probes:
        if key not in have:
            fields.append((attribute, Any, msgspec.field(default=None, name=key)))
    return _like(struct_type, fields)


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

    return with_properties(record_type, narrowed_struct(TABLES[record_type._table], columns))


def with_properties(
    record_type: type[Record],
    props: type[msgspec.Struct],
    post_init: Callable[[Record], None] = collected,
) -> type[Record]:
    """A subclass of ``record_type`` whose ``properties`` are ``props``: the same tag and fields, in
    the same order and layout (no field of its own), so that a record of it becomes one of
    ``record_type`` by setting its class.

    It is a type the one-pass decoders of streamed records decode into: msgspec hands
    each record it completes to ``post_init`` (by default :func:`m365parse.record.collected`).
    """
    return msgspec.defstruct(  # type: ignore[return-value]
        record_type.__name__,
        [("properties", props)],
        bases=(record_type,),
        tag=record_type.__struct_config__.tag,
        module=record_type.__module__,
        namespace={"__post_init__": post_init},
    )


