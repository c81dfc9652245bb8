"""Rules of the ``"jsa"``, ``"ecs"`` and ``"ocsf"`` rule sets for the records of the polled APIs.

Alert, incident and hunting-row records (:mod:`m365parse.api.records`) have
nested ``properties``, so their rules are written over JSON paths below the item
rather than columns.  A spec is one of:

==========================================  =============================================
spec                                        value
==========================================  =============================================
``"title"``                                 the value at that path (``"evidence[*].ipAddress"``:
                                            every value the ``[*]`` reach, as a list)
``Const("alert")``                          a constant
``First("a", "b")``                         the first of several specs that is not empty
``Collect("a", "b")``                       every value of several specs, flattened, without
                                            repeats (``related.*``)
``Apply(spec, "ip")``                       a spec's value through transforms of
                                            :mod:`m365parse.mappings.transforms` (applied to
                                            each item of a list)
``Text(spec)``                              a spec's value as a string (numeric ids)
``Call(fn)``                                ``fn(record)``; its docstring documents it
``Func.of(fn, spec, ...)``                  ``fn(value, ...)`` of the values of the specs; its
                                            docstring documents it
``Item()``                                  the item as plain data (``to_dict()["properties"]``;
                                            ``Item(whole=True)``: all of ``to_dict()``)
==========================================  =============================================

Datetimes are :class:`m365parse.ExactDatetime` values (``"jsa"``, as for tables) or UTC
ISO 8601 text with every fractional digit that arrived (``"ecs"``).
Fields whose value is ``None``, ``""`` or ``[]`` are left out.

The rules of a kind are compiled once (:func:`normalizer_for`): every path of them
goes into one tree walked once per record, with one reader per (struct type, node)
that takes the attributes it needs in one ``attrgetter`` call (an evidence item is
visited once for all the fields read from it, and a type that has none of them costs
a dictionary lookup); specs used more than once are evaluated once per record, and
``to_dict()`` is made at most once per record, only for the specs that need plain data.
A member declared as one struct type (or a list of one) is read inline by its parent's
reader; a value's JSON path is made into text only when a datetime or a struct is stored
(exact timestamps, plain data); a ``[*]`` path that only Firsts read keeps its first value
that is not empty rather than the list of all of them.  A kind whose paths are all members
of the item (hunting rows) has no walk: one normalizer is generated per struct type of the
item (each hunting schema has its own row struct), reading the members it declares as
local variables.  The rules of a
kind are looked up by the rule set's base name (``"ecs"`` for ``"ecs+severity"``);
the ``+severity`` and ``+original`` variants add ``event.severity`` and
``event.original`` as they do for tables.
"""

from __future__ import annotations

import json
import operator
import types
import typing
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, NamedTuple

import msgspec
from msgspec import Struct

from .._codegen import Names, compile_function
from .._values import ExactDatetime, exact_datetime, exact_iso, exact_of_column, parse_ns, path_steps
from ..api.records import ApiRecord, exact_text
from ..errors import MappingError
from ..record import Record
from .transforms import transform

__all__ = [
    "Const",
    "First",
    "Collect",
    "Apply",
    "Text",
    "Call",
    "Func",
    "Item",
    "normalizer_for",
    "kind_rules",
    "describe_spec",
    "KindRules",
    "exact_ns",
    "exact_text_of",
]


class Const(NamedTuple):
    value: Any


class First(NamedTuple):
    specs: tuple[Any, ...]

    @classmethod
    def of(cls, *specs: Any) -> First:
        return cls(specs)


class Collect(NamedTuple):
    specs: tuple[Any, ...]

    @classmethod
    def of(cls, *specs: Any) -> Collect:
        return cls(specs)


class Apply(NamedTuple):
    spec: Any
    transforms: tuple[str, ...]


class Text(NamedTuple):
    spec: Any


class Call(NamedTuple):
    fn: Callable[[Record], Any]


class Func(NamedTuple):
    fn: Callable[..., Any]
    specs: tuple[Any, ...]

    @classmethod
    def of(cls, fn: Callable[..., Any], *specs: Any) -> Func:
        return cls(fn, specs)


class Item(NamedTuple):
    whole: bool = False


#: Kind -> {target field: spec}.
KindRules = dict[str, dict[str, Any]]


#: The values that are empty besides None (``x in _BLANK``: compared by ``==``).
_BLANK: tuple[Any, ...] = ("", [], {})


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, (list, dict)) and not value)


def _values(node: Any, steps: list[str | int], pos: int, path: str, record: Record) -> Iterator[Any]:
    """The values at ``steps[pos:]`` below ``node`` (``"*"`` steps fan out over lists)."""
    if node is None:
        return
    if pos == len(steps):
        if isinstance(node, datetime):
            yield exact_datetime(record, path)
        elif isinstance(node, Struct):
            yield record._plain(node, path) if hasattr(record, "_plain") else node
        else:
            yield node
        return
    step = steps[pos]
    if step == "*":
        if isinstance(node, list):
            for i, item in enumerate(node):
                yield from _values(item, steps, pos + 1, f"{path}[{i}]", record)
        return
    if isinstance(step, int):  # "alerts[0].title": one item of a list
        if isinstance(node, list) and -len(node) <= step < len(node):
            index = step % len(node)
            yield from _values(node[index], steps, pos + 1, f"{path}[{index}]", record)
        return
    if isinstance(node, dict):
        yield from _values(node.get(step), steps, pos + 1, f"{path}.{step}", record)
    elif isinstance(node, Struct) and isinstance(step, str):
        names = dict(zip(node.__struct_encode_fields__, node.__struct_fields__, strict=True))
        if step in names:
            yield from _values(getattr(node, names[step]), steps, pos + 1, f"{path}.{step}", record)


_STEPS: dict[str, list[str | int]] = {}


def _steps(path: str) -> list[str | int]:
    steps = _STEPS.get(path)
    if steps is None:
        parsed = path_steps(path.replace("[*]", ".*"))
        if parsed is None:
            raise MappingError(f"bad path {path!r} in an API rule")
        steps = _STEPS[path] = parsed
    return steps


def evaluate(spec: Any, record: Record) -> Any:
    """The value of ``spec`` for ``record``."""
    if isinstance(spec, str):
        found = list(_values(record.properties, _steps(spec), 0, "$", record))
        if "[*]" in spec:
            return [v for v in found if not _empty(v)]
        return found[0] if found else None
    if isinstance(spec, Const):
        return list(spec.value) if isinstance(spec.value, list) else spec.value
    if isinstance(spec, First):
        for item in spec.specs:
            value = evaluate(item, record)
            if isinstance(value, list) and isinstance(item, str) and "[*]" in item:
                value = value[0] if value else None  # the first of the values a [*] path reaches
            if not _empty(value):
                return value
        return None
    if isinstance(spec, Collect):
        out: list[Any] = []
        for item in spec.specs:
            value = evaluate(item, record)
            for v in value if isinstance(value, list) else [value]:
                if not _empty(v) and v not in out:
                    out.append(v)
        return out
    if isinstance(spec, Apply):
        value = evaluate(spec.spec, record)
        for name in spec.transforms:
            fn = transform(name)
            if isinstance(value, list):
                results: list[Any] = []
                for item in value:
                    result = fn(item)
                    for r in result if isinstance(result, list) else [result]:
                        if not _empty(r) and r not in results:
                            results.append(r)
                value = results
            elif value is not None:
                value = fn(value)
        return value
    if isinstance(spec, Text):
        value = evaluate(spec.spec, record)
        return None if value is None else str(value)
    if isinstance(spec, Call):
        return spec.fn(record)
    if isinstance(spec, Func):
        return spec.fn(*(evaluate(item, record) for item in spec.specs))
    if isinstance(spec, Item):
        whole = record.to_dict()
        return whole if spec.whole else whole["properties"]
    raise MappingError(f"unknown API rule spec {spec!r}")


def describe_spec(spec: Any) -> str:
    """One line of documentation of a spec."""
    if isinstance(spec, str):
        return f"`{spec}`"
    if isinstance(spec, Const):
        return f"`{json.dumps(spec.value)}`"
    if isinstance(spec, First):
        return " or ".join(describe_spec(s) for s in spec.specs)
    if isinstance(spec, Collect):
        return "all of " + ", ".join(describe_spec(s) for s in spec.specs)
    if isinstance(spec, Apply):
        return describe_spec(spec.spec) + "".join(f" \\| {t}" for t in spec.transforms)
    if isinstance(spec, Text):
        return describe_spec(spec.spec) + " as text"
    if isinstance(spec, (Call, Func)):
        doc = (spec.fn.__doc__ or spec.fn.__name__).strip().splitlines()[0]
        return doc.replace("|", "\\|")
    if isinstance(spec, Item):
        return "the item as `to_dict()` gives it"
    return repr(spec)


def api_sections(base: str, order: Callable[[str], Any]) -> str:
    """Markdown sections documenting the API kinds' rules of rule set ``base`` (for JSA.md / ECS.md)."""
    if base == "jsa":
        from .api_jsa import RULES
    elif base == "ocsf":
        from .api_ocsf import RULES
    else:
        from .api_ecs import RULES
    code = base in ("ecs", "ocsf")
    lines = [
        "# Alerts, incidents and hunting rows of the polled APIs",
        "",
        "Rules over JSON paths below the item (`[*]`: every item of a list); see `m365parse/mappings/api_rules.py`.",
        "Hunting rows whose columns are a known table's are records of that table (above).",
        "",
    ]
    for kind, fields in RULES.items():
        lines += [f"## {kind}", "", "| field | from |", "|---|---|"]
        for target in sorted(fields, key=order):
            name = f"`{target}`" if code else target
            lines.append(f"| {name} | {describe_spec(fields[target])} |")
        lines.append("")
    return "\n".join(lines)


# --- compiled rules ----------------------------------------------------------------------
#
# Every path of a kind's rules goes into one tree (_Node): a record's item is walked
# once, each value stored in the slot of every path that ends there (R[k]: the value of
# a path without [*], the list of values of one with [*]).  A struct is read by a
# reader made once per (struct type, node): one attrgetter call takes every attribute
# the node's children need, so an evidence item of a type that has none of them costs
# nothing but a lookup.

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)


def exact_ns(value: Any) -> int | None:
    """Nanoseconds since the epoch of a datetime value of the API rules (None when not one)."""
    if isinstance(value, _Exact):
        return value.ns
    if isinstance(value, ExactDatetime):
        return value.ns
    return None


class _Exact:
    """A datetime of the item for the nested rule sets: its exact text and time, worked out when used.

    The same text and nanoseconds as :class:`ExactDatetime` gives (``isoformat_exact()``,
    ``ns``), read from the original text without walking the path again when it can be, or
    taken from the record's ``to_dict()`` when the record's rules made it already.
    """

    __slots__ = ("_text", "column", "ctx", "value")

    def __init__(self, value: datetime, ctx: _Ctx, column: str) -> None:
        self.value = value
        self.ctx = ctx
        self.column = column
        self._text: str | None = None

    def text(self) -> str:
        text = self._text
        if text is None:
            ctx = self.ctx
            record = ctx.record
            column = self.column
            whole = ctx._whole
            if whole is not None and column.startswith("$.") and "." not in column[2:] and "[" not in column:
                # a member of the item: to_dict() wrote its exact text
                found = whole["properties"].get(column[2:])
                if type(found) is str:
                    self._text = found
                    return found
            if isinstance(record, ApiRecord):
                text = exact_text(record, self.value, self.column, record._original(self.column))
            else:
                text = exact_iso(record, self.column) or ""
            self._text = text
        return text

    @property
    def ns(self) -> int:
        text = self.text()
        value = self.value
        if value.tzinfo is _UTC and len(text) >= 20 and text[-1] == "Z":
            # The text is the value's, canonical, with the digits msgspec rounded (half up at the
            # 7th): when its fraction rounds to the value's microsecond, the second is the
            # value's too (a fraction that rounded up into the next second does not), and the
            # fraction is all that is left to read.
            frac = text[20:-1]
            fraction = int(frac.ljust(9, "0")) if frac else 0
            if (fraction + 500) // 1000 == value.microsecond:
                delta = value - _EPOCH
                return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + fraction
        ns = parse_ns(text)
        assert ns is not None
        return ns


#: The JSON path of a value the walk found: its text (``"$.evidence[2].userAccount"``), or, below
#: the item, (the path above it, ``".member"`` or a list position): made into text only when
#: a value that needs it (a datetime, a struct) is stored, not for every item and member walked.
_Path = Any


def _path_text(path: _Path) -> str:
    """The text of a path of the walk."""
    steps: list[str] = []
    while path.__class__ is tuple:
        path, step = path
        steps.append(step if step.__class__ is str else f"[{step}]")
    steps.append(path)
    steps.reverse()
    return "".join(steps)


def _leaf_flat(value: Any, ctx: _Ctx, path: _Path) -> Any:
    record = ctx.record
    if path.__class__ is not str:
        path = _path_text(path)
    if isinstance(value, datetime):
        return ExactDatetime.of_column(value, record, path)
    return record._plain(value, path) if isinstance(record, ApiRecord) else value


def _leaf_record(value: Any, record: Record, path: str) -> Any:
    """``_leaf_flat`` of a record normalized without a context (the flat normalizers of ``"jsa"``)."""
    if isinstance(value, datetime):
        return ExactDatetime.of_column(value, record, path)
    return record._plain(value, path) if isinstance(record, ApiRecord) else value


def _leaf_nested(value: Any, ctx: _Ctx, path: _Path) -> Any:
    if path.__class__ is not str:
        path = _path_text(path)
    if isinstance(value, datetime):
        return _Exact(value, ctx, path)
    record = ctx.record
    return record._plain(value, path) if isinstance(record, ApiRecord) else value


_CONVERT = (datetime, Struct)
#: Types of values stored as they are (neither a datetime nor a struct).
_PLAIN = frozenset({str, int, float, bool, list, dict, type(None)})
#: Struct types a node keeps a reader of (a bounded cache: each hunting schema has a row struct).
_MAX_READERS = 1024


def _skip(value: Any, R: list[Any], ctx: _Ctx, path: _Path) -> None:
    """The reader of a struct type that has none of the members a node reads."""

_Reader = Callable[[Any, list[Any], "_Ctx", Any], None]  # (value, slots, context, path of the walk)


class _Node:
    """One step of the paths of a kind's rules."""

    __slots__ = ("firsts", "is_root", "leaf", "members", "multi", "readers", "single", "star")

    def __init__(self, leaf: Callable[[Any, _Ctx, str], Any]) -> None:
        self.members: dict[str, _Node] = {}
        self.star: _Node | None = None
        self.single: tuple[int, ...] = ()  # paths without [*] that end here
        self.multi: tuple[int, ...] = ()  # paths with [*] that end here
        self.firsts: frozenset[int] = frozenset()  # those of multi read only as a First's: the first value kept
        self.readers: dict[type, _Reader] = {}
        self.leaf = leaf
        self.is_root = False  # the item's node: always walked at path "$"

    def store(self, value: Any, R: list[Any], record: _Ctx, path: _Path) -> None:
        if isinstance(value, _CONVERT):
            value = self.leaf(value, record, path)
        for k in self.single:
            R[k] = value
        for k in self.multi:
            found = R[k]
            if k in self.firsts:  # the first value that is not empty, the only one read
                if found is None and value not in _BLANK:
                    R[k] = value
            elif found is None:
                R[k] = [value]
            else:
                found.append(value)

    def visit(self, value: Any, R: list[Any], record: _Ctx, path: _Path) -> None:
        """Stores ``value`` (not None), found at ``path``, and walks on below it."""
        if self.single or self.multi:
            self.store(value, R, record, path)
        if self.members:
            if isinstance(value, Struct):
                reader = self.readers.get(type(value))
                if reader is None:
                    reader = self._reader(type(value))
                reader(value, R, record, path)
            elif isinstance(value, dict):
                for name, child in self.members.items():
                    item = value.get(name)
                    if item is not None:
                        child.visit(item, R, record, (path, "." + name))
        star = self.star
        if star is not None and isinstance(value, list):
            if star.single or star.multi or star.star is not None:
                for pos, item in enumerate(value):
                    if item is not None:
                        star.visit(item, R, record, (path, pos))
                return
            # items walked below only (evidence[*].ipAddress): a typed item goes straight to its reader
            readers = star.readers
            for pos, item in enumerate(value):
                if item is not None:
                    reader = readers.get(type(item))
                    if reader is None:
                        star.visit(item, R, record, (path, pos))
                    elif reader is not _skip:  # a type with none of the members read
                        reader(item, R, record, (path, pos))

    def _reader(self, struct_type: type) -> _Reader:
        fields: Any = struct_type
        declared = set(fields.__struct_encode_fields__)
        reader = _generate_reader(struct_type, self) if any(name in declared for name in self.members) else _skip
        if len(self.readers) >= _MAX_READERS:  # row structs come and go with hunting schemas
            self.readers.clear()
        self.readers[struct_type] = reader
        return reader


def _declared(tp: Any) -> Any:
    """``tp`` without ``Annotated`` and an ``Optional``'s None (``T | None`` is ``T``); a union of
    several types stays a union."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            return tp
        tp = args[0]
        while typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
    return tp


def _declared_struct(tp: Any) -> type | None:
    """The struct type a member declared as ``tp`` holds when it is one (``T | None``), else None."""
    tp = _declared(tp)
    return tp if isinstance(tp, type) and issubclass(tp, Struct) else None


def _declared_list_of(tp: Any) -> type | None:
    """The struct type of the items of a member declared as ``list[T] | None``, else None."""
    tp = _declared(tp)
    if typing.get_origin(tp) is not list:
        return None
    (item,) = typing.get_args(tp) or (None,)
    return _declared_struct(item)


def _members(struct_type: type) -> dict[str, tuple[str, Any]]:
    """JSON name -> (attribute, declared type) of the members of a struct type (the type
    None when its annotations cannot be resolved: its values are then read as any value)."""
    fields: Any = struct_type
    names = dict(zip(fields.__struct_encode_fields__, fields.__struct_fields__, strict=True))
    try:
        types_of = {f.encode_name: f.type for f in msgspec.structs.fields(fields)}
    except Exception:  # a struct of a caller's own whose annotations do not resolve
        types_of = {}
    return {member: (attr, types_of.get(member)) for member, attr in names.items()}


def _generate_reader(struct_type: type, node: _Node) -> _Reader:
    """The reader of a struct type by a node: one ``attrgetter`` call takes the members the
    node's children read, then straight-line code stores or walks each one that is not None.

    A member declared as one struct type (``userAccount: UserAccount | None``) or a list of
    one (``loggedOnUsers: list[LoggedOnUser] | None``) is read in the same function when
    its value is of that type (its members' code inlined); a value of another type (an
    item of a union, a dict) goes to its type's reader, as :meth:`_Node.visit` finds it.
    """
    ns: dict[str, Any] = {
        "_isinst0": isinstance,
        "_conv0": _CONVERT,
        "_dt0": datetime,
        "_exact0": _Exact,
        "_exactof0": exact_of_column,
        "_plain0": _PLAIN,
        "_list0": list,
        "_blank0": _BLANK,
        "_enum0": enumerate,
        "_skip0": _skip,
    }
    name = Names(ns)
    count = iter(range(1 << 30))
    lines = ["def reader(value, R, ctx, path):"]

    def dispatch(node: _Node, value: str, path: str, indent: str) -> list[str]:
        """The reader of the value's type at ``node`` (made when first seen), as Node.visit calls it."""
        n = next(count)
        return [
            f"{indent}r{n} = {name(node.readers.get, '_f')}({value}.__class__)",
            f"{indent}if r{n} is None:",
            f"{indent}    {name(node.visit, '_f')}({value}, R, ctx, {path})",
            f"{indent}elif r{n} is not _skip0:",
            f"{indent}    r{n}({value}, R, ctx, {path})",
        ]

    def list_loop(n: int, item: str, below: str, at: str) -> list[str]:
        """The head of Node.visit's loop over the items of the list ``item`` (at path ``below``): the
        item ``e<n>`` at position ``x<n>`` of the list's path ``c<n>``, None items left out."""
        return [
            f"{at}if _isinst0({item}, _list0):",
            f"{at}    c{n} = {below}",
            f"{at}    for x{n}, e{n} in _enum0({item}):",
            f"{at}        if e{n} is not None:",
        ]

    def stored(child: _Node, item: str, below: str, at: str, where: str | None) -> list[str]:
        """The code that converts ``item`` (a datetime, a struct) and stores it in ``child``'s slots
        (``where``: the name of its path's text, for a member of the item)."""
        out: list[str] = []
        leaf = name(child.leaf, "_f")
        slots = {k: name(k, "_s") for k in (*child.single, *child.multi)}
        guarded = bool(child.multi) and not child.single and set(child.multi) <= child.firsts
        if guarded:  # read only as the first value that is not empty: nothing to do once one is kept
            out.append(f"{at}if {' and '.join(f'R[{slots[k]}] is None' for k in child.multi)}:")
            at += "    "
        if where is not None:  # the item's members: their paths made once, a datetime made without the leaf's call
            out += [
                f"{at}c = {item}.__class__",
                f"{at}if c is _dt0:",
                f"{at}    {item} = _exact0({item}, ctx, {where})" if child.leaf is _leaf_nested else
                f"{at}    {item} = _exactof0({item}, ctx.record, {where})",
                f"{at}elif c not in _plain0 and _isinst0({item}, _conv0):",
                f"{at}    {item} = {leaf}({item}, ctx, {where})",
            ]
        else:
            out += [
                f"{at}if {item}.__class__ not in _plain0 and _isinst0({item}, _conv0):",
                f"{at}    {item} = {leaf}({item}, ctx, {below})",
            ]
        for k in child.single:
            out.append(f"{at}R[{slots[k]}] = {item}")
        for k in child.multi:
            slot = slots[k]
            if k in child.firsts:  # only its first value that is not empty is read
                unset = "" if guarded else f"R[{slot}] is None and "  # (the slots of a node fill together)
                out += [
                    f"{at}if {unset}({item} or {item} not in _blank0):",
                    f"{at}    R[{slot}] = {item}",
                ]
                continue
            out += [
                f"{at}x = R[{slot}]",
                f"{at}if x is None:",
                f"{at}    R[{slot}] = [{item}]",
                f"{at}else:",
                f"{at}    x.append({item})",
            ]
        return out

    def emit(struct_type: type, node: _Node, value: str, path: str, indent: str, *, root: bool = False) -> list[str]:
        """The code that reads ``value`` (of ``struct_type``, at ``path``) for ``node``'s children."""
        declared = _members(struct_type)
        steps = [(declared[m], m, child) for m, child in node.members.items() if m in declared]
        if not steps:
            return [f"{indent}pass"]
        items = [f"v{next(count)}" for _ in steps]
        getter = name(operator.attrgetter(*(attr for (attr, _), _, _ in steps)), "_g")
        out = [f"{indent}{', '.join(items)} = {getter}({value})"]
        for item, (field, member, child) in zip(items, steps, strict=True):
            out.append(f"{indent}if {item} is not None:")
            at = indent + "    "
            key = name("." + member, "_k")
            below = f"({path}, {key})"  # the member's JSON path, made into text only when needed
            star = child.star
            walked = child.members or star is not None
            if walked and (child.single or child.multi or (child.members and star is not None)):
                out.append(f"{at}{name(child.visit, '_f')}({item}, R, ctx, {below})")
                continue
            if star is not None and (star.single or star.multi):
                if star.members or star.star is not None:
                    out.append(f"{at}{name(child.visit, '_f')}({item}, R, ctx, {below})")
                    continue
                # a list whose items are stored (systemTags[*], ipInterfaces[*]): Node.visit's loop
                n = next(count)
                out += list_loop(n, item, below, at)
                out += stored(star, f"e{n}", f"(c{n}, x{n})", at + "            ", None)
                continue
            if star is not None:  # a list whose items are walked below (evidence[*]): Node.visit's loop
                if star.star is not None:
                    out.append(f"{at}{name(child.visit, '_f')}({item}, R, ctx, {below})")
                    continue
                n = next(count)
                out += list_loop(n, item, below, at)
                inner = at + "            "
                of = _declared_list_of(field[1])
                if of is not None:
                    out.append(f"{inner}if e{n}.__class__ is {name(of, '_t')}:")
                    out += emit(of, star, f"e{n}", f"(c{n}, x{n})", inner + "    ")
                    out.append(f"{inner}else:")
                    out += dispatch(star, f"e{n}", f"(c{n}, x{n})", inner + "    ")
                else:
                    out += dispatch(star, f"e{n}", f"(c{n}, x{n})", inner)
                continue
            if walked:  # an object walked below (userAccount)
                of = _declared_struct(field[1])
                if of is not None:
                    out.append(f"{at}if {item}.__class__ is {name(of, '_t')}:")
                    out += emit(of, child, item, below, at + "    ")
                    out.append(f"{at}else:")
                    out += dispatch(child, item, below, at + "    ")
                else:
                    out += dispatch(child, item, below, at)
                continue
            out += stored(child, item, below, at, name("$." + member, "_p") if root else None)
        return out

    lines += emit(struct_type, node, "value", "path", "    ", root=node.is_root)
    return compile_function("\n".join(lines) + "\n", ns, "reader")  # type: ignore[no-any-return]


class _Ctx(list[Any]):
    """One record being normalized: the values of its paths (the list: ``ctx[k]`` is path k's),
    specs used twice, its ``to_dict()``.

    Made as ``_Ctx(slots)`` and its three attributes set by the caller: no Python ``__init__``
    runs per record.
    """

    __slots__ = ("_whole", "memo", "record")
    record: Record
    memo: dict[int, Any] | None  # made when a spec used twice is first evaluated
    _whole: dict[str, Any] | None

    def whole(self) -> dict[str, Any]:
        whole = self._whole
        if whole is None:
            whole = self._whole = self.record.to_dict()
        return whole


_Fn = Callable[[_Ctx], Any]


class _Compiler:
    def __init__(self, nested: bool) -> None:
        self.leaf = _leaf_nested if nested else _leaf_flat
        self.root = _Node(self.leaf)
        self.root.is_root = True
        self.ids: dict[str, int] = {}
        self.shared: set[int] = set()
        self.calls: dict[int, int] = {}  # slot -> the specs compiled that read it

    def _first_slots(self, spec: First) -> tuple[tuple[int, bool], ...] | None:
        """(slot, whether a [*] path) of each path of a First of paths only; None for another First."""
        slots = []
        for item in spec.specs:
            if not isinstance(item, str) or ("*" in _steps(item) and "[*]" not in item):
                return None
            k = self.path(item)
            if k is None:
                return None
            slots.append((k, "[*]" in item))
        return tuple(slots)

    def count(self, spec: Any, seen: dict[int, int]) -> None:
        """Marks the specs (objects) used more than once: evaluated once per record."""
        if isinstance(spec, (str, Const)):
            return
        if isinstance(spec, First) and all(isinstance(item, str) for item in spec.specs):
            return  # a First of paths reads slots: cheaper again than looked up in a memo
        seen[id(spec)] = seen.get(id(spec), 0) + 1
        if seen[id(spec)] > 1:
            self.shared.add(id(spec))
            return
        for item in _children(spec):
            self.count(item, seen)

    def path(self, path: str) -> int | None:
        """The slot of ``path`` (added to the tree); None for a path with list indexes."""
        k = self.ids.get(path)
        if k is not None:
            self.calls[k] += 1
            return k
        steps = _steps(path)
        if any(isinstance(step, int) for step in steps):
            return None
        k = self.ids[path] = len(self.ids)
        self.calls[k] = 1
        node = self.root
        starred = False
        for step in steps:
            assert isinstance(step, str)
            if step == "*":
                if node.star is None:
                    node.star = _Node(self.leaf)
                node = node.star
                starred = True
            else:
                child = node.members.get(step)
                if child is None:
                    child = node.members[step] = _Node(self.leaf)
                node = child
        if starred:
            node.multi += (k,)
        else:
            node.single += (k,)
        return k

    def mark_firsts(self, slots: frozenset[int]) -> None:
        """Marks the [*] paths of ``slots`` as read only by Firsts (their first value that is not empty kept)."""
        nodes = [self.root]
        while nodes:
            node = nodes.pop()
            node.firsts = frozenset(k for k in node.multi if k in slots)
            nodes += [*node.members.values(), *([node.star] if node.star is not None else [])]

    def spec_fn(self, spec: Any) -> _Fn:
        fn = self._compile(spec)
        if id(spec) not in self.shared:
            return fn
        key = id(spec)

        def shared(ctx: _Ctx) -> Any:
            memo = ctx.memo
            if memo is None:
                memo = ctx.memo = {}
            elif key in memo:
                return memo[key]
            value = memo[key] = fn(ctx)
            return value

        return shared

    def _compile(self, spec: Any) -> _Fn:
        if isinstance(spec, str):
            return self._path(spec)
        if isinstance(spec, Const):
            value = spec.value
            if isinstance(value, list):
                return lambda ctx: list(value)
            return lambda ctx: value
        if isinstance(spec, First):
            return self._first(spec)
        if isinstance(spec, Collect):
            return self._collect(spec)
        if isinstance(spec, Apply):
            return self._apply(spec)
        if isinstance(spec, Text):
            inner = self.spec_fn(spec.spec)

            def text(ctx: _Ctx) -> Any:
                value = inner(ctx)
                return None if value is None else str(value)

            return text
        if isinstance(spec, Call):
            call = spec.fn
            return lambda ctx: call(ctx.record)
        if isinstance(spec, Func):
            fn = spec.fn
            args = [self.spec_fn(item) for item in spec.specs]
            if len(args) == 1:
                (arg,) = args
                return lambda ctx: fn(arg(ctx))
            return lambda ctx: fn(*[arg(ctx) for arg in args])
        if isinstance(spec, Item):
            if spec.whole:
                return _Ctx.whole
            return lambda ctx: ctx.whole()["properties"]
        raise MappingError(f"unknown API rule spec {spec!r}")

    def _path(self, path: str) -> _Fn:
        k = self.path(path)
        if k is None:  # "alerts[0].title": evaluated as it is written
            return lambda ctx: evaluate(path, ctx.record)
        if "[*]" in path:

            def values(ctx: _Ctx) -> list[Any]:
                found = ctx[k]
                # not _empty(v), inline
                return [v for v in found if v is not None and v not in _BLANK] if found else []

            return values
        if "*" in _steps(path):

            def first(ctx: _Ctx) -> Any:
                found = ctx[k]
                return found[0] if found else None

            return first
        return lambda ctx: ctx[k]

    def _first(self, spec: First) -> _Fn:
        slots = self._first_slots(spec)
        if slots is not None:  # values of paths: read from their slots, the first not empty

            def first_of(ctx: _Ctx) -> Any:
                R = ctx
                for k, starred in slots:
                    value = R[k]
                    if value is None:
                        continue
                    if starred:  # the first of the values a [*] path reaches that is not empty
                        for v in value:
                            if v is not None and v not in _BLANK:
                                return v
                    elif value not in _BLANK:
                        return value
                return None

            return first_of
        items = tuple((self.spec_fn(item), isinstance(item, str) and "[*]" in item) for item in spec.specs)

        def first(ctx: _Ctx) -> Any:
            for fn, starred in items:
                value = fn(ctx)
                if starred and isinstance(value, list):
                    value = value[0] if value else None  # the first of the values a [*] path reaches
                if value is not None and value not in _BLANK:  # not _empty(value)
                    return value
            return None

        return first

    def _collect(self, spec: Collect) -> _Fn:
        items = tuple(self.spec_fn(item) for item in spec.specs)

        def collect(ctx: _Ctx) -> list[Any]:
            out: list[Any] = []
            for fn in items:
                value = fn(ctx)
                for v in value if isinstance(value, list) else [value]:
                    if v is not None and v not in _BLANK and v not in out:
                        out.append(v)
            return out

        return collect

    def _apply(self, spec: Apply) -> _Fn:
        inner = self.spec_fn(spec.spec)
        fns = tuple(transform(name) for name in spec.transforms)

        def apply(ctx: _Ctx) -> Any:
            value = inner(ctx)
            for fn in fns:
                if isinstance(value, list):
                    results: list[Any] = []
                    for item in value:
                        result = fn(item)
                        for r in result if isinstance(result, list) else [result]:
                            if r is not None and r not in _BLANK and r not in results:
                                results.append(r)
                    value = results
                elif value is not None:
                    value = fn(value)
            return value

        return apply


def _children(spec: Any) -> tuple[Any, ...]:
    if isinstance(spec, (First, Collect)):
        return spec.specs
    if isinstance(spec, Func):
        return spec.specs
    if isinstance(spec, (Apply, Text)):
        return (spec.spec,)
    return ()


def exact_text_of(value: Any) -> Any:
    """The exact UTC ISO 8601 text of a datetime value of the API rules; other values as they are."""
    if isinstance(value, _Exact):
        return value.text()
    if isinstance(value, ExactDatetime):
        return value.isoformat_exact()
    return value


def _plain_path(spec: Any) -> bool:
    """Whether ``spec`` is a path that reaches one value (no ``[*]``)."""
    return isinstance(spec, str) and "*" not in _steps(spec)


def _star_path(spec: Any) -> bool:
    """Whether ``spec`` is a path with ``[*]``: the compiled walk gathers its values into a list."""
    return isinstance(spec, str) and "[*]" in spec


def _apply_each(values: list[Any], fns: tuple[Callable[[Any], Any], ...]) -> list[Any]:
    """``values`` through each transform of ``fns`` (as ``Apply`` does to a list): flattened, without repeats."""
    for fn in fns:
        results: list[Any] = []
        for item in values:
            result = fn(item)
            if isinstance(result, list):
                for r in result:
                    if r is not None and r not in _BLANK and r not in results:
                        results.append(r)
            elif result is not None and result not in results and (result or result not in _BLANK):
                results.append(result)
        values = results
    return values


def _apply_value(value: Any, fns: tuple[Callable[[Any], Any], ...]) -> Any:
    """``value`` through each transform of ``fns``, as ``Apply`` does (a list item by item)."""
    for fn in fns:
        if isinstance(value, list):
            value = _apply_each(value, (fn,))
        elif value is not None:
            value = fn(value)
    return value


def _uses_item(spec: Any) -> bool:
    return isinstance(spec, Item) or any(_uses_item(item) for item in _children(spec))


_CONST, _SLOT, _FN, _CONSTS, _FIRST, _CALL, _COLLECT = 0, 1, 2, 3, 4, 5, 6


def compile_rules(rules: dict[str, Any], nested: bool) -> Callable[[Record], dict[str, Any]]:
    """The normalizer of ``rules`` (dotted targets nested when ``nested``), compiled once."""
    compiler = _Compiler(nested)
    seen: dict[int, int] = {}
    for spec in rules.values():
        compiler.count(spec, seen)
    # the objects of the nested targets: node 0 is the document, node i (> 0) is member
    # chain[i][1] of node chain[i][0], made when its first field is set
    node_of: dict[tuple[str, ...], int] = {(): 0}
    chain: list[tuple[int, str]] = [(0, "")]

    def node(parents: tuple[str, ...]) -> int:
        index = node_of.get(parents)
        if index is None:
            above = node(parents[:-1])
            index = node_of[parents] = len(chain)
            chain.append((above, parents[-1]))
        return index

    fields: list[tuple[int, Any, int, str]] = []
    for target, spec in rules.items():
        *parents, leaf = target.split(".") if nested else (target,)
        where = node(tuple(parents))
        if isinstance(spec, Const) and not isinstance(spec.value, (list, dict)):
            if not _empty(spec.value):
                fields.append((_CONST, spec.value, where, leaf))
            continue
        if isinstance(spec, str) and "*" not in _steps(spec):
            k = compiler.path(spec)
            if k is not None:
                fields.append((_SLOT, k, where, leaf))
                continue
        first, transforms = (spec.spec, spec.transforms) if isinstance(spec, Apply) else (spec, ())
        if isinstance(first, First) and id(spec) not in compiler.shared:
            slots = compiler._first_slots(first)
            if slots is not None:  # the first of values of paths: read from their slots
                fields.append((_FIRST, (slots, tuple(transform(t) for t in transforms), id(first)), where, leaf))
                continue
        collect, transforms = (spec.spec, spec.transforms) if isinstance(spec, Apply) else (spec, ())
        if isinstance(collect, Collect) and id(spec) not in compiler.shared and id(collect) not in compiler.shared:
            # every value of its specs: a [*] path's values read from its slot, another spec's by its function
            parts = tuple(
                (_SLOT, k) if _star_path(item) and (k := compiler.path(item)) is not None
                else (_FN, compiler.spec_fn(item))
                for item in collect.specs
            )
            fields.append((_COLLECT, (parts, tuple(transform(t) for t in transforms)), where, leaf))
            continue
        if isinstance(spec, Func) and id(spec) not in compiler.shared:
            # fn(...) of its arguments: a path without [*] read from its slot, another spec by its function
            args = tuple(
                (_SLOT, k) if _plain_path(item) and (k := compiler.path(item)) is not None
                else (_FN, compiler.spec_fn(item))
                for item in spec.specs
            )
            fields.append((_CALL, (spec.fn, args), where, leaf))
            continue
        fields.append((_FN, compiler.spec_fn(spec), where, leaf))
    # a run of constants of one object is set by one dict.update (same keys, same order)
    merged: list[tuple[int, Any, int, str]] = []
    for field in fields:
        last = merged[-1] if merged else None
        if field[0] == _CONST and last is not None and last[0] in (_CONST, _CONSTS) and last[2] == field[2]:
            run = dict(last[1]) if last[0] == _CONSTS else {last[3]: last[1]}
            run[field[3]] = field[1]
            merged[-1] = (_CONSTS, run, field[2], "")
        else:
            merged.append(field)
    # [*] paths read by Firsts of the plan and nothing else: the walk keeps their first value
    # that is not empty, not the list of all of them, and the Firsts read it as a plain value
    in_firsts: dict[int, int] = {}
    for kind, how, _, _ in merged:
        if kind == _FIRST:
            for k, starred in how[0]:
                if starred:
                    in_firsts[k] = in_firsts.get(k, 0) + 1
    kept_first = frozenset(k for k, n in in_firsts.items() if compiler.calls[k] == n)
    if kept_first:
        compiler.mark_firsts(kept_first)
        merged = [
            (kind, (tuple((k, starred and k not in kept_first) for k, starred in how[0]), *how[1:]), where, leaf)
            if kind == _FIRST else (kind, how, where, leaf)
            for kind, how, where, leaf in merged
        ]
    plan = tuple(merged)
    root = compiler.root
    walk = bool(root.members)
    # to_dict() first when a rule needs it: the item's datetimes are then read from it
    whole_first = nested and any(_uses_item(spec) for spec in rules.values())
    nones = (None,) * len(compiler.ids)
    links = tuple(chain)
    general: _Normalizer = _generate_normalizer(plan, links, nested, whole_first, walk, root, nones)
    if not walk or not _is_flat(root):
        return general
    # Every path is a member of the item (hunting rows): one normalizer per struct type of
    # the item, generated when the type is first seen, reads the members it needs as locals.
    return _flat_normalizer(general, root, lambda steps: _generate_normalizer(
        plan, links, nested, whole_first, walk, root, nones, steps))


def _is_flat(root: _Node) -> bool:
    """Whether every path of a tree is one member of the item (no ``[*]``, nothing deeper)."""
    return not (root.single or root.multi or root.star) and all(
        not (child.members or child.star or child.multi) for child in root.members.values()
    )


_Steps = list[tuple[str, str, "_Node"]]
_Normalizer = Callable[[Record], dict[str, Any]]


def _flat_normalizer(
    general: Callable[[Record], dict[str, Any]],
    root: _Node,
    generate: Callable[[_Steps], Callable[[Record, Any], dict[str, Any]]],
) -> Callable[[Record], dict[str, Any]]:
    """The normalizer of a kind whose paths are members of the item: a generated function per
    struct type of ``record.properties`` (cached; dicts and other values go to ``general``)."""
    root_members = root.members
    by_type: dict[type, Callable[[Record, Any], dict[str, Any]]] = {}

    def other(record: Record, props: Any) -> dict[str, Any]:
        return general(record)

    def build(props_type: type) -> Callable[[Record, Any], dict[str, Any]]:
        fn: Callable[[Record, Any], dict[str, Any]] = other
        if isinstance(props_type, type) and issubclass(props_type, Struct):
            fields: Any = props_type
            names = dict(zip(fields.__struct_encode_fields__, fields.__struct_fields__, strict=True))
            fn = generate([(names[name], name, child) for name, child in root_members.items() if name in names])
        if len(by_type) >= _MAX_READERS:  # row structs come and go with hunting schemas
            by_type.clear()
        by_type[props_type] = fn
        return fn

    ns: dict[str, Any] = {"_tget0": by_type.get, "_build0": build, "_general0": general}  # _general0: for tests
    source = (
        "def normalize(record):\n"
        "    props = record.properties\n"
        "    reader = _tget0(props.__class__)\n"
        "    if reader is None:\n"
        "        reader = _build0(props.__class__)\n"
        "    return reader(record, props)\n"
    )
    return compile_function(source, ns, "normalize")  # type: ignore[no-any-return]


#: Not ``_empty(v)`` in generated code: a true value is not empty (None, "", [] and {} are
#: false), a false one is when it is one of them (0 and False are values).
_FILLED = "v or (v is not None and v not in _blank0)"

#: The names the generated normalizers and readers use besides those their generators made
#: (``_k3``, ``n2``: a letter or two and a number); no literal appears in their source.
GENERATED_NAMES = frozenset({
    "normalize", "record", "ctx", "R", "out", "props", "reader", "v", "c", "x", "value", "path",  # variables
    "memo", "_whole", "properties", "__class__", "to_dict", "text", "clear", "get", "update", "append",  # attributes
})


def _generate_normalizer(  # noqa: PLR0917 - the parts of one compiled kind
    plan: tuple[tuple[int, Any, int, str], ...],
    links: tuple[tuple[int, str], ...],
    nested: bool,
    whole_first: bool,
    walk: bool,
    root: _Node,
    nones: tuple[None, ...],
    flat: _Steps | None = None,
) -> Any:
    """The normalizer of a compiled kind as one generated function (its source in ``__doc__``).

    Straight-line code, one statement group per target field, in the order of the rules:
    what the interpreted loop over the plan did per field and record (a dispatch on the
    kind of spec, a lookup of the target's object) is settled once, here.  Only names made
    here appear in the source; every constant, key and function is a variable of its
    namespace, so no rule data (and nothing of any record) is ever compiled.

    With ``flat`` (the members of one struct type of the item that the rules read, as
    (attribute, JSON name, node), when every path is a member of the item), the function
    is ``normalize(record, props)`` of items of that type: the members are read into
    locals and the fields read them there (a member the type does not declare is None,
    its fields left out when generated); the context is made only when a function of
    the rules, a datetime of the nested rule sets or ``to_dict()`` needs it.
    """
    ns: dict[str, Any] = {
        "_ctx0": _Ctx,
        "_nones0": nones,
        "_blank0": _BLANK,
        "_exact0": _Exact,
        "_times0": (_Exact, ExactDatetime),
        "_textof0": exact_text_of,
        "_rget0": root.readers.get,  # the dict stays the same object when the bounded cache clears it
        "_visit0": root.visit,
        "_path0": "$",
        "_str0": str,
        "_int0": int,
        "_list0": list,
        "_isinst0": isinstance,
        "_none0": (),
        "_each0": _apply_each,
        "_apply0": _apply_value,
        "_plain0": _PLAIN,
    }
    name = Names(ns)

    node_var = ["out", *(f"n{i}" for i in range(1, len(links)))]

    def ensure(index: int, indent: str) -> list[str]:
        """The code that makes object ``index`` of the output (and those above it) when not made yet."""
        if index == 0:
            return []
        above, member = links[index]
        key = name(member, "_k")
        var, parent = node_var[index], node_var[above]
        return [
            f"{indent}if {var} is None:",
            *ensure(above, indent + "    "),
            f"{indent}    {var} = {parent}.get({key})",
            f"{indent}    if {var} is None:",
            f"{indent}        {var} = {parent}[{key}] = {{}}",
        ]

    ns["_leaf0"] = _leaf_nested if nested else _leaf_record
    ns["_conv0"] = _CONVERT
    ns["_dt0"] = datetime
    ns["_exactof0"] = exact_of_column
    # flat (a struct type of an item whose paths are all members of it, given as steps): the
    # members are read into locals, path k's value is local s<k> (None: a member not declared)
    locals_of: dict[int, str] = {}
    uses_fns = any(  # functions of the context: they may read its memo and to_dict()
        kind == _FN
        or (kind == _CALL and any(arg_kind == _FN for arg_kind, _ in how[1]))
        or (kind == _COLLECT and any(part_kind == _FN for part_kind, _ in how[0]))
        for kind, how, _, _ in plan
    )
    uses_ctx = flat is None or nested or whole_first or uses_fns
    slot_names = {k: name(k, "_s") for k in range(len(nones))}

    def slot(k: int) -> str:
        if flat is None:
            return f"R[{slot_names[k]}]"
        return locals_of.get(k, "None")

    # a First used by more than one field: kept in a local (f<n>) by the first of them
    firsts: dict[int, str] = {}
    uses: dict[int, int] = {}
    for kind, how, _, _ in plan:
        if kind == _FIRST:
            uses[how[2]] = uses.get(how[2], 0) + 1

    lines = ["def normalize(record):" if flat is None else "def normalize(record, props):"]
    if uses_ctx:
        lines += [
            "    ctx = R = _ctx0(_nones0)",
            "    ctx.record = record",
        ]
        if nested or uses_fns:  # (the walk of "jsa" reads the record alone)
            lines.append("    ctx.memo = None")
            lines.append("    ctx._whole = record.to_dict()" if whole_first else "    ctx._whole = None")
    if flat is not None:
        if flat:
            items = [f"s{i}" for i in range(len(flat))]
            ns["_get1"] = operator.attrgetter(*(attr for attr, _, _ in flat))
            lines.append(f"    {', '.join(items)} = _get1(props)")  # one name: attrgetter of one gives the value
            for item, (_, member, child) in zip(items, flat, strict=True):
                path = name("$." + member, "_p")
                lines += [  # a datetime as the leaf makes it, without the call; other values as the walk stores them
                    f"    c = {item}.__class__",
                    "    if c is _dt0:",
                    f"        {item} = _exact0({item}, ctx, {path})" if nested else
                    f"        {item} = _exactof0({item}, record, {path})",
                    f"    elif c not in _plain0 and _isinst0({item}, _conv0):",
                    f"        {item} = _leaf0({item}, {'ctx' if nested else 'record'}, {path})",
                ]
                for k in child.single:
                    locals_of[k] = item
                    if uses_ctx:
                        lines.append(f"    R[{slot_names[k]}] = {item}")
    elif walk:
        lines += [
            "    props = record.properties",
            "    if props is not None:",
            "        reader = _rget0(props.__class__)",
            "        if reader is not None:",  # the item's struct: read at once
            "            reader(props, R, ctx, _path0)",
            "        else:",
            "            _visit0(props, R, ctx, _path0)",
        ]
    lines.append("    out = {}")
    if nested and len(links) > 1:
        lines.append("    " + " = ".join(node_var[1:]) + " = None")
    for kind, how, where, leaf in plan:
        var = node_var[where] if nested else "out"
        made = ensure(where, "    ") if nested else []
        if kind == _CONST:
            lines += [*made, f"    {var}[{name(leaf, '_k')}] = {name(how, '_c')}"]
            continue
        if kind == _CONSTS:
            lines += [*made, f"    {var}.update({name(how, '_c')})"]
            continue
        if kind == _SLOT:
            if slot(how) == "None":  # a member the item's type does not declare
                continue
            lines.append(f"    v = {slot(how)}")
        elif kind == _FIRST:  # the first that is not empty (through the transforms of an Apply)
            slots, fns, key = how
            known = [(k, starred) for k, starred in slots if slot(k) != "None"]
            if not known:
                continue
            if key in firsts:  # a First of another field too (or of another Apply): its value, worked out once
                lines.append(f"    v = {firsts[key]}")
            else:
                indent = "    "
                for i, (k, starred) in enumerate(known):
                    if i:
                        lines.append(f"{indent}if not v and (v is None or v in _blank0):")
                        indent += "    "
                    if not starred:
                        lines.append(f"{indent}v = {slot(k)}")
                        continue
                    # the first of the values a [*] path reached that is not empty
                    lines += [
                        f"{indent}v = None",
                        f"{indent}for x in {slot(k)} or _none0:",
                        f"{indent}    if x or (x is not None and x not in _blank0):",
                        f"{indent}        v = x",
                        f"{indent}        break",
                    ]
                if uses[key] > 1:
                    firsts[key] = f"f{len(firsts)}"
                    lines.append(f"    {firsts[key]} = v")
            if fns:  # an empty first is no value: not given to the transforms
                lines.append(f"    if {_FILLED}:")
                for fn in fns:  # _apply_value, inline: a list item by item, another value as it is
                    lines += [
                        "        if _isinst0(v, _list0):",
                        f"            v = _each0(v, {name((fn,), '_c')})",
                        "        elif v is not None:",
                        f"            v = {name(fn, '_f')}(v)",
                    ]
        elif kind == _CALL:
            fn, args = how
            values = ", ".join(
                slot(arg) if arg_kind == _SLOT else f"{name(arg, '_f')}(ctx)" for arg_kind, arg in args
            )
            lines.append(f"    v = {name(fn, '_f')}({values})")
        elif kind == _COLLECT:  # every value not empty, without repeats (Collect), through the transforms (Apply)
            parts, fns = how
            lines.append("    v = []")
            for part_kind, part in parts:
                if part_kind == _SLOT:  # the values of a [*] path (its slot: a list, or None)
                    lines.append(f"    for x in {slot(part)} or _none0:")
                else:
                    lines += [f"    c = {name(part, '_f')}(ctx)", "    for x in c if _isinst0(c, _list0) else (c,):"]
                lines += ["        if x is not None and x not in _blank0 and x not in v:", "            v.append(x)"]
            if fns:
                lines.append(f"    v = _each0(v, {name(fns, '_c')})")
        else:
            lines.append(f"    v = {name(how, '_f')}(ctx)")
        lines.append(f"    if {_FILLED}:")  # not _empty(v), inline
        if nested:  # ECS, OCSF: datetimes as exact ISO 8601 text
            lines += [
                "        c = v.__class__",
                "        if c is _exact0:",
                "            v = v.text()",
                "        elif c is _list0:",  # a new list only when an item is a datetime
                "            for x in v:",
                "                if x.__class__ not in _plain0 and _isinst0(x, _times0):",
                "                    v = [_textof0(x) if _isinst0(x, _times0) else x for x in v]",
                "                    break",
                "        elif c is not _str0 and c is not _int0 and _isinst0(v, _times0):",
                "            v = _textof0(v)",
            ]
            lines += ["    " + line for line in made]
        lines.append(f"        {var}[{name(leaf, '_k')}] = v")
    if nested and uses_ctx:
        # The context's _Exact values refer to it: a cycle, which reference counting alone
        # would not free (and records, untracked by the collector, would stay with it).
        lines += ["    ctx.clear()", "    ctx.memo = None"]
    lines.append("    return out")
    return compile_function("\n".join(lines) + "\n", ns, "normalize")


def kind_rules(rule_set_name: str, kind: str) -> dict[str, Any] | None:
    """The rules of API records of ``kind`` under the built-in rule set ``rule_set_name`` (looked
    up by its base name, ``"ecs"`` for ``"ecs+severity"``, the variants' fields added); None if it
    has none."""
    base, *variants = rule_set_name.split("+")
    if base == "jsa":
        from .api_jsa import RULES
    elif base == "ecs":
        from .api_ecs import RULES, original_spec, severity_spec
    elif base == "ocsf" and not variants:
        from .api_ocsf import RULES
    else:
        return None
    rules = RULES.get(kind)
    if rules is None:
        return None
    rules = dict(rules)
    if base == "ecs":
        if "severity" in variants:
            rules["event.severity"] = severity_spec
        if "original" in variants:
            rules["event.original"] = original_spec
    return rules


def normalizer_for(rule_set_name: str, kind: str, nested: bool) -> Callable[[Record], dict[str, Any]] | None:
    """The normalizer of API records of ``kind`` under the rule set ``rule_set_name``; None if it has none."""
    rules = kind_rules(rule_set_name, kind)
    return None if rules is None else compile_rules(rules, nested)
