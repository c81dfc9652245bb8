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
        if isinstance(value, Struct):
            out: dict[str, Any] = {}
            config = value.__struct_config__
            if isinstance(config.tag, str) and config.tag_field:
                out[config.tag_field] = config.tag
            for name, key in zip(value.__struct_fields__, value.__struct_encode_fields__, strict=True):
                item = getattr(value, name)
                if item is not None:
                    out[key] = self._plain(item, f"{path}.{key}")
            return out
        if isinstance(value, datetime):
            return exact_iso(self, path)
        if isinstance(value, list):
            return [self._plain(item, f"{path}[{pos}]") for pos, item in enumerate(value)]
        return value


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
