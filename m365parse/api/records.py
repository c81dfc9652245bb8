"""Records of the polled APIs: one alert, incident or hunting row per record.

``properties`` is the typed struct of the item (for example
:class:`m365parse.api.GraphAlert`), nested structs and all; ``table`` names the
kind (``"GraphAlert"``).  These records have no envelope: the envelope attributes
are ``None``.  Datetimes at any depth are addressed by their JSON path below the
item (``"evidence[0].createdDateTime"`` or ``"$.evidence[0].createdDateTime"``)
in :func:`m365parse.timestamp_ns` and :func:`m365parse.exact_datetime`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from msgspec import Struct

from .._values import exact_iso
from ..record import Record
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
        return {
            "table": self.table,
            "envelope": dict(self.envelope_extra),
            "properties": self._plain(self.properties, "$"),
            "extra": dict(self.extra),
        }

    def _plain(self, value: Any, path: str) -> Any:
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
                        stack.append((item, f"{path}.{field}", out, field))
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
