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
from datetime import datetime
from typing import Any, ClassVar

import msgspec
from msgspec import Struct

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

_DT, _NEST = 1, 2
_Plan = tuple[Any, tuple[tuple[str, int, str], ...], bool]
#: Struct type -> (a getter of the fields that may hold a datetime, their (JSON name, _DT or _NEST,
#: the column their original value is asked for by), whether to_builtins gives what _plain gives).
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
        return False
    return any(_may_hold_datetime(a, seen) for a in typing.get_args(tp))  # list[...], unions
    return False  # str, int, dict[str, Any], Any: plain JSON


def _dt_plan(struct_type: type) -> _Plan:
    plan = _DT_PLANS.get(struct_type)
    if plan is None:
        attrs: list[str] = []
        out: list[tuple[str, int, str]] = []
        for f in msgspec.structs.fields(struct_type):
            if not _may_hold_datetime(f.type, frozenset({struct_type})):
                continue
            tp = f.type
            args = [a for a in typing.get_args(tp) if a is not type(None)] if typing.get_args(tp) else [tp]
            flat = [typing.get_args(a)[0] if typing.get_origin(a) is typing.Annotated else a for a in args]
            attrs.append(f.name)
            kind = _DT if flat == [datetime] else _NEST
            # a member of the item is read by its name (the value as it arrived, text or not)
            plain_name = "." not in f.encode_name and "[" not in f.encode_name
            out.append((f.encode_name, kind, f.encode_name if kind == _DT or plain_name else "$." + f.encode_name))
        if not attrs:
            getter = None
        elif len(attrs) == 1:
            one = operator.attrgetter(attrs[0])
            getter = lambda value: (one(value),)  # noqa: E731
        else:
            getter = operator.attrgetter(*attrs)
        if len(_DT_PLANS) >= _MAX_PLANS:  # row structs come and go with hunting schemas: a bounded cache
            _DT_PLANS.clear()
        plan = _DT_PLANS[struct_type] = (getter, tuple(out), _simple(struct_type))
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


class ApiRecord(Record, kw_only=True):
    """Base of the records of the polled APIs (no envelope, nested typed ``properties``).

    ``extra`` holds what the structs do not declare or what did not fit: a
    top-level key under its name, a deeper one under its JSON path
    (``"$.evidence[2].newProperty"``).
    """

    properties: Any

    @property
    def category(self) -> str | None:
        return None

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-ready data: ``table``, ``envelope``, ``properties``, ``extra``.

        ``properties`` is the item as it arrived, nested objects included (members
        that are ``None`` left out); datetimes at any depth are UTC ISO 8601 strings
        with every fractional digit that arrived.
        """
        props = self.properties
        plain = None
        if isinstance(props, Struct) and (_DT_PLANS.get(type(props)) or _dt_plan(type(props)))[2]:
            try:
                plain = msgspec.to_builtins(props, builtin_types=(datetime,))
                self._exact_struct(props, plain, None, "$")
            except RecursionError:  # plain JSON nested deeper than msgspec converts: the iterative way
                plain = None
        return {
            "table": self.table,
            "envelope": dict(self.envelope_extra),
            "properties": plain if plain is not None else self._plain_iterative(props, "$"),
            "extra": dict(self.extra),
        }

    def _original(self, column: str) -> Any:
        """The value at ``column`` (a JSON path below the item) as it arrived; None when unknown."""
        src = self._src
        if type(src) is tuple:
            origin, pos = src
            if column.startswith("$.") and "." not in column[2:] and "[" not in column:
                column = column[2:]  # a member of the item: read without parsing a path
            return origin.original_text(self, pos, column, False)
        return None

    def _plain(self, value: Any, path: str) -> Any:
        """``value``, found at JSON path ``path`` of the item, as plain JSON-ready data."""
        if isinstance(value, Struct) and _simple(type(value)):
            try:
                out = msgspec.to_builtins(value, builtin_types=(datetime,))
                self._exact_struct(value, out, None if path == "$" else self._original(path), path)
                return out
            except RecursionError:  # plain JSON nested deeper than msgspec converts: the iterative way
                pass
        return self._plain_iterative(value, path)

    def _exact_struct(self, value: Any, out: dict[str, Any], view: Any, path: str) -> None:
        """Replaces the datetimes of ``out`` (``value`` through to_builtins) by their exact text.

        ``view`` is the object as it arrived (None: read each top-level member from the origin).
        """
        plan = _DT_PLANS.get(type(value))
        getter, fields, _ = plan if plan is not None else _dt_plan(type(value))
        if getter is None:
            return
        original = None
        if view is None and path == "$":
            src = self._src
            if type(src) is tuple:
                origin, pos = src
                original = origin.original_text
        elif type(view) is not dict:
            view = None
        for (key, _, column), item in zip(fields, getter(value), strict=True):
            if item is None:
                continue
            if original is not None:
                sub = original(self, pos, column, False)
            else:
                sub = view.get(key) if view is not None else None
            if isinstance(item, datetime):
                text = _as_arrived(sub, item)
                out[key] = text if text is not None else exact_iso(self, child_path(path, key))
            elif isinstance(item, Struct):
                plan = _DT_PLANS.get(type(item)) or _dt_plan(type(item))
                if plan[2]:
                    if plan[0] is not None:
                        self._exact_struct(item, out[key], sub, child_path(path, key))
                else:
                    out[key] = self._plain_iterative(item, child_path(path, key))
            elif type(item) is list:
                self._exact_list(item, out[key], sub, child_path(path, key))

    def _exact_list(self, value: list[Any], out: list[Any], view: Any, path: str) -> None:
        views = view if type(view) is list and len(view) == len(value) else None
        for pos, item in enumerate(value):
            if isinstance(item, _NESTED):
                sub = views[pos] if views is not None else None
                if isinstance(item, datetime):
                    text = _as_arrived(sub, item)
                    out[pos] = text if text is not None else exact_iso(self, f"{path}[{pos}]")
                elif isinstance(item, Struct):
                    plan = _DT_PLANS.get(type(item)) or _dt_plan(type(item))
                    if plan[2]:
                        if plan[0] is not None:
                            self._exact_struct(item, out[pos], sub, f"{path}[{pos}]")
                    else:
                        out[pos] = self._plain_iterative(item, f"{path}[{pos}]")
                else:
                    self._exact_list(item, out[pos], sub, f"{path}[{pos}]")

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


class GraphAlertRecord(ApiRecord, kw_only=True):
    """One Microsoft Graph security alert (``security/alerts_v2``); ``properties`` is a :class:`GraphAlert`."""

    properties: GraphAlert
    _table: ClassVar[str] = "GraphAlert"


class GraphIncidentRecord(ApiRecord, kw_only=True):
    """One Microsoft Graph security incident; ``properties`` is a :class:`GraphIncident` (alerts typed when expanded)."""

    properties: GraphIncident
    _table: ClassVar[str] = "GraphIncident"


class MdeAlertRecord(ApiRecord, kw_only=True):
    """One Defender for Endpoint alert (``/api/alerts``); ``properties`` is a :class:`m365parse.api.mde.MdeAlert`."""

    properties: MdeAlert
    _table: ClassVar[str] = "MdeAlert"


class XdrIncidentRecord(ApiRecord, kw_only=True):
    """One Defender XDR incident (``/api/incidents``) with its alerts, devices and entities."""

    properties: XdrIncident
    _table: ClassVar[str] = "XdrIncident"


class XdrAlertRecord(ApiRecord, kw_only=True):
    """One Defender XDR alert element stored on its own (as Splunk's add-on indexes them)."""

    properties: XdrAlert
    _table: ClassVar[str] = "XdrAlert"


class HuntingRecord(ApiRecord, kw_only=True):
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
