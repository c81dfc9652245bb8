"""Records of the polled APIs: one alert, incident or hunting row per record.

``properties`` is the typed struct of the item (for example
:class:`m365parse.api.GraphAlert`), nested structs and all; ``table`` names the
kind (``"GraphAlert"``).  These records have no envelope: the envelope attributes
are ``None``.  Datetimes at any depth are addressed by their JSON path below the
item (``"evidence[0].createdDateTime"`` or ``"$.evidence[0].createdDateTime"``)
in :func:`m365parse.timestamp_ns` and :func:`m365parse.exact_datetime`.
"""

from __future__ import annotations

import operator
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

import msgspec
from msgspec import Struct

from .._codegen import compile_function
from .._values import agrees, exact_iso
from ..record import Record
from ..shapes._deep import child_path
from .graph import GraphAlert, GraphIncident
from .mde import MdeAlert
from .xdr import XdrAlert, XdrIncident

__all__ = [
    "ApiRecord",
    "GraphAlertRecord",
    "GraphIncidentRecord",
    "MdeAlertRecord",
    "XdrIncidentRecord",
    "XdrAlertRecord",
    "HuntingRecord",
    "API_RECORD_TYPES",
]


#: What ``to_dict()`` converts inside a list: typed items, datetimes, and lists that may hold them.
_NESTED = (Struct, datetime, list)

def _as_arrived(text: Any, value: datetime) -> str | None:
    """``text`` (as it arrived) when it is what ``exact_iso`` gives for ``value`` decoded from it; else None."""
    if type(text) is str:
        if agrees(text, value):
            return text
        if text.endswith("0Z") and text[19:20] == ".":
            # "...:04.1230Z": the canonical text of the same instant has no trailing zeros
            trimmed = text[:-1].rstrip("0").removesuffix(".") + "Z"
            if agrees(trimmed, value):
                return trimmed
    return None


def exact_text(record: Record, value: datetime, column: str, text: Any) -> str:
    """:func:`m365parse._values.exact_iso` of ``column`` of ``record``, whose decoded value is ``value``.

    ``text`` is the value as it arrived (from the record's origin), when the caller has it:
    returned as it is when canonical and agreeing with ``value``, as ``exact_iso`` would (and
    without the trailing zeros of its fraction, which exact_iso trims); otherwise ``exact_iso``
    works it out.
    """
    found = _as_arrived(text, value)
    return found if found is not None else exact_iso(record, column)  # type: ignore[return-value]


# --- to_dict(): msgspec converts the item at C speed, datetimes are then made exact --------------

_Plan = tuple[tuple[str, ...], tuple[tuple[str, bool], ...], bool]
#: Struct type -> (the attributes of its members that may hold a datetime, their (JSON name,
#: whether a datetime and nothing else), whether to_builtins gives what _plain gives).
_DT_PLANS: dict[type, _Plan] = {}
#: Struct types whose plans are kept (the generated API structs are about 80; a hunting
#: response's schema makes a row struct of its own).
_MAX_PLANS = 2048


def _may_hold_datetime(tp: Any, seen: frozenset[type]) -> bool:
    if tp is datetime:
        return True
    if isinstance(tp, type) and issubclass(tp, Struct):
        if tp in seen:
            return False  # a cycle: its datetimes are found by the frame that entered it
        inner = seen | {tp}
        return any(_may_hold_datetime(f.type, inner) for f in msgspec.structs.fields(tp))
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _may_hold_datetime(typing.get_args(tp)[0], seen)
    if origin is None or origin is dict:
        return False  # str, int, dict[str, Any], Any: plain JSON
    return any(_may_hold_datetime(a, seen) for a in typing.get_args(tp))  # list[...], unions


def _dt_plan(struct_type: type) -> _Plan:
    plan = _DT_PLANS.get(struct_type)
    if plan is None:
        attrs: list[str] = []
        fields: list[tuple[str, bool]] = []
        for f in msgspec.structs.fields(struct_type):
            if not _may_hold_datetime(f.type, frozenset({struct_type})):
                continue
            tp = f.type
            args = [a for a in typing.get_args(tp) if a is not type(None)] if typing.get_args(tp) else [tp]
            flat = [typing.get_args(a)[0] if typing.get_origin(a) is typing.Annotated else a for a in args]
            attrs.append(f.name)
            fields.append((f.encode_name, flat == [datetime]))
        if len(_DT_PLANS) >= _MAX_PLANS:  # row structs come and go with hunting schemas: a bounded cache
            _DT_PLANS.clear()
        plan = _DT_PLANS[struct_type] = (tuple(attrs), tuple(fields), _simple(struct_type))
    return plan


_SIMPLE: dict[type, bool] = {}


def _simple(struct_type: type) -> bool:
    """Whether msgspec's to_builtins gives what ``_plain`` gives: every default None, omitted."""
    simple = _SIMPLE.get(struct_type)
    if simple is None:
        config = struct_type.__struct_config__  # type: ignore[attr-defined]
        defaults = struct_type.__struct_defaults__  # type: ignore[attr-defined]
        if len(_SIMPLE) >= _MAX_PLANS:
            _SIMPLE.clear()
        simple = _SIMPLE[struct_type] = bool(config.omit_defaults) and all(d is None for d in defaults)
    return simple


# --- to_dict(): one generated function per struct type puts the exact datetime texts -----------
#
# msgspec's to_builtins converts the item at C speed (datetimes as datetime objects); a
# struct type's fill function then replaces each datetime by its exact text, reading the
# text as it arrived from the item's view (the item decoded untyped, fetched once per
# record) and descending only into the members that may hold a datetime.

#: No view of the object (no origin, or not an object where one was expected).
_NO_VIEW: dict[str, Any] = {}
_Fill = Callable[[Any, Any, Any, Any, str], None]
#: Struct type -> its fill function, or _ITERATIVE (to_builtins does not give what _plain gives).
_FILLS: dict[type, Any] = {}


def _no_datetime(record: Any, value: Any, out: Any, view: Any, path: str) -> None:
    """The fill function of a struct type that holds no datetime."""


def _iterative(record: Any, value: Any, out: Any, view: Any, path: str) -> None:
    """The mark of a struct type converted by ``_plain_iterative`` (never called)."""
    raise AssertionError("not a fill function")


_ITERATIVE: Any = _iterative


def _fill_of(struct_type: type) -> Any:
    """The fill function of ``struct_type`` (generated once), or _ITERATIVE."""
    fill = _FILLS.get(struct_type)
    if fill is not None:
        return fill
    attrs, fields, simple = _DT_PLANS.get(struct_type) or _dt_plan(struct_type)
    if not simple:
        fill = _ITERATIVE
    elif not attrs:
        fill = _no_datetime
    else:
        fill = _fill_function(attrs, fields)
    if len(_FILLS) >= _MAX_PLANS:  # row structs come and go with hunting schemas: a bounded cache
        _FILLS.clear()
    _FILLS[struct_type] = fill
    return fill


def _fill_function(attrs: tuple[str, ...], fields: tuple[tuple[str, bool], ...]) -> _Fill:
    """The fill function of a struct type, generated: its members ``attrs`` that may hold a
    datetime, their (JSON name, whether a datetime and nothing else), one statement group each."""
    ns: dict[str, Any] = {
        "_get0": operator.attrgetter(*attrs),
        "_str0": str,
        "_agrees0": agrees,
        "_dt0": _dt_slow,
        "_nested0": _nested,
    }
    items = [f"v{i}" for i in range(len(attrs))]
    lines = ["def fill(record, value, out, view, path):", f"    {', '.join(items)} = _get0(value)"]
    for i, (item, (key, flat)) in enumerate(zip(items, fields, strict=True)):
        ns[f"_k{i}"] = key
        lines += [f"    if {item} is not None:", f"        t = view.get(_k{i})"]
        if flat:
            lines += [
                f"        if t.__class__ is _str0 and _agrees0(t, {item}):",
                f"            out[_k{i}] = t",
                "        else:",
                f"            _dt0(record, {item}, t, out, _k{i}, path)",
            ]
        else:
            lines.append(f"        _nested0(record, {item}, t, out, _k{i}, path)")
    return compile_function("\n".join(lines) + "\n", ns, "fill")  # type: ignore[no-any-return]


#: The names a generated fill function uses besides those it made (``v0``, ``_k1``).
FILL_NAMES = frozenset({"fill", "record", "value", "out", "view", "path", "t", "get", "__class__"})


def _dt_slow(record: Any, value: Any, text: Any, out: Any, key: Any, path: str) -> None:  # noqa: PLR0917 - hot path
    """``out[key]``: the exact text of ``value`` whose text as it arrived (None: unknown) is not canonical."""
    if isinstance(value, datetime):
        found = _as_arrived(text, value)
        out[key] = found if found is not None else exact_iso(record, child_path(path, key) if key.__class__ is str else f"{path}[{key}]")
    else:
        _nested(record, value, text, out, key, path)


def _nested(record: Any, value: Any, view: Any, out: Any, key: Any, path: str) -> None:  # noqa: PLR0917 - hot path
    """Puts the exact datetime texts into ``out[key]``, the to_builtins form of ``value`` (member or item ``key``)."""
    if isinstance(value, datetime):
        _dt_slow(record, value, view, out, key, path)
    elif isinstance(value, Struct):
        fill = _FILLS.get(value.__class__) or _fill_of(value.__class__)
        if fill is _no_datetime:
            return
        where = child_path(path, key) if key.__class__ is str else f"{path}[{key}]"
        if fill is _ITERATIVE:
            out[key] = record._plain_iterative(value, where)
        else:
            fill(record, value, out[key], view if view.__class__ is dict else _NO_VIEW, where)
    elif value.__class__ is list:
        where = child_path(path, key) if key.__class__ is str else f"{path}[{key}]"
        views = view if view.__class__ is list and len(view) == len(value) else None
        items = out[key]
        fills = _FILLS
        for pos, item in enumerate(value):
            fill = fills.get(item.__class__)  # a struct type seen before (evidence items): called here
            if fill is not None and fill is not _ITERATIVE:
                if fill is not _no_datetime:
                    sub = views[pos] if views is not None else None
                    fill(record, item, items[pos], sub if sub.__class__ is dict else _NO_VIEW, f"{where}[{pos}]")
            elif isinstance(item, _NESTED):
                _nested(record, item, views[pos] if views is not None else None, items, pos, where)


#: The exact-timestamp readers whose views are the items decoded untyped (``text`` is ``view.get``).
_DICT_TIMES: list[Any] = []


def _dict_times() -> list[Any]:
    if not _DICT_TIMES:
        from ..shapes import hunting, odata

        _DICT_TIMES.extend((odata.TIMES, hunting.TIMES))
    return _DICT_TIMES


def _views_of(origin: Any) -> list[Any]:
    """The views of every record of ``origin``, loaded on first use with the collector off.

    The untyped views are many small dicts and lists, and no cycle: a collection that
    their allocations set off would walk every live object for nothing (about half
    of the time of the load, on Graph alert pages).
    """
    views = origin._views
    if views is None:
        views = origin._views_list()  # (with the collector off: Origin._views_list)
    return views  # type: ignore[no-any-return]



class ApiRecord(Record):
    """Base of the records of the polled APIs (no envelope, nested typed ``properties``).

    ``extra`` holds what the structs do not declare or what did not fit: a
    top-level key under its name, a deeper one under its JSON path
    (``"$.evidence[2].newProperty"``).
    """

    properties: Any

    @property
    def category(self) -> str | None:
        """``None``: the records of the polled APIs have no envelope ``category``."""
        return None

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-ready data: ``table``, ``envelope``, ``properties``, ``extra``.

        ``properties`` is the item as it arrived, nested objects included (members
        that are ``None`` left out); datetimes at any depth are UTC ISO 8601 strings
        with every fractional digit that arrived.
        """
        return {
            "table": self.table,
            "envelope": dict(self.envelope_extra),
            "properties": self._plain(self.properties, "$"),
            "extra": dict(self.extra),
        }

    def _item_view(self) -> dict[str, Any]:
        """The item as it arrived, decoded untyped (datetimes as their texts); an empty dict when unknown."""
        src = self._source()
        if src is not None:
            origin, pos = src
            if origin._times in (_DICT_TIMES or _dict_times()):
                views = _views_of(origin)
                if 0 <= pos < len(views):
                    view = views[pos]
                    if view.__class__ is dict:
                        return view
        return _NO_VIEW

    def _original(self, column: str) -> Any:
        """The value at ``column`` (a JSON path below the item) as it arrived; None when unknown."""
        src = self._source()
        if src is not None:
            origin, pos = src
            if column.startswith("$.") and "." not in column[2:] and "[" not in column:
                column = column[2:]  # a member of the item: read without parsing a path
            _views_of(origin)  # loaded with the collector off
            return origin.original_text(self, pos, column, False)
        return None

    def _plain(self, value: Any, path: str) -> Any:
        """``value``, found at JSON path ``path`` of the item, as plain JSON-ready data."""
        if isinstance(value, Struct):
            fill = _FILLS.get(value.__class__) or _fill_of(value.__class__)
            if fill is not _ITERATIVE:
                try:
                    out = msgspec.to_builtins(value, builtin_types=(datetime,))
                    if fill is not _no_datetime:
                        view = self._item_view() if path == "$" else self._original(path)
                        fill(self, value, out, view if view.__class__ is dict else _NO_VIEW, path)
                    return out
                except RecursionError:  # plain JSON nested deeper than msgspec converts: the iterative way
                    pass
        return self._plain_iterative(value, path)

    def _plain_iterative(self, value: Any, path: str) -> Any:
        # Iterative: a list of plain JSON (``domains``, a dynamic hunting column) nests
        # as deep as the input, deeper than Python's stack takes one call per level.
        top: list[Any] = [None]
        stack: list[tuple[Any, str, Any, Any]] = [(value, path, top, 0)]
        while stack:
            value, path, parent, key = stack.pop()
            if isinstance(value, Struct):
                out: dict[str, Any] = {}
                config = value.__struct_config__
                if isinstance(config.tag, str) and config.tag_field:
                    out[config.tag_field] = config.tag
                for name, field in zip(value.__struct_fields__, value.__struct_encode_fields__, strict=True):
                    item = getattr(value, name)
                    if isinstance(item, _NESTED):
                        out[field] = None  # keeps the order of the fields
                        stack.append((item, child_path(path, field), out, field))
                    elif item is not None:
                        out[field] = item
                parent[key] = out
            elif isinstance(value, datetime):
                parent[key] = exact_iso(self, path)
            elif isinstance(value, list):
                if not any(isinstance(item, _NESTED) for item in value):
                    parent[key] = list(value)  # plain JSON values (strings, mostly): nothing to convert
                    continue
                items: list[Any] = [None] * len(value)
                stack.extend((item, f"{path}[{pos}]", items, pos) for pos, item in enumerate(value))
                parent[key] = items
            else:
                parent[key] = value
        return top[0]


class GraphAlertRecord(ApiRecord):
    """One Microsoft Graph security alert (``security/alerts_v2``); ``properties`` is a :class:`GraphAlert`."""

    properties: GraphAlert
    _table: ClassVar[str] = "GraphAlert"


class GraphIncidentRecord(ApiRecord):
    """One Microsoft Graph security incident; ``properties`` is a :class:`GraphIncident` (alerts typed when expanded)."""

    properties: GraphIncident
    _table: ClassVar[str] = "GraphIncident"


class MdeAlertRecord(ApiRecord):
    """One Defender for Endpoint alert (``/api/alerts``); ``properties`` is a :class:`m365parse.api.mde.MdeAlert`."""

    properties: MdeAlert
    _table: ClassVar[str] = "MdeAlert"


class XdrIncidentRecord(ApiRecord):
    """One Defender XDR incident (``/api/incidents``) with its alerts, devices and entities."""

    properties: XdrIncident
    _table: ClassVar[str] = "XdrIncident"


class XdrAlertRecord(ApiRecord):
    """One Defender XDR alert element stored on its own (as Splunk's add-on indexes them)."""

    properties: XdrAlert
    _table: ClassVar[str] = "XdrAlert"


class HuntingRecord(ApiRecord):
    """One row of an advanced hunting response whose columns are not exactly a known table's.

    ``properties`` is the row struct built for the response's schema (one per
    distinct schema; attributes named as the columns), or the row as a dict when
    the schema could not be used.  Rows of a known table are records of that
    table instead (``DeviceProcessEventsRecord``).
    """

    properties: Any
    _table: ClassVar[str] = "HuntingRow"


#: Kind (``Record.table``) -> record type, of every API record kind.
API_RECORD_TYPES: dict[str, type[ApiRecord]] = {
    "GraphAlert": GraphAlertRecord,
    "GraphIncident": GraphIncidentRecord,
    "MdeAlert": MdeAlertRecord,
    "XdrIncident": XdrIncidentRecord,
    "XdrAlert": XdrAlertRecord,
    "HuntingRow": HuntingRecord,
}
