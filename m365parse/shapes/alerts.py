"""The alert and incident APIs: Graph security alerts and incidents, MDE alerts, XDR incidents and alerts.

One alert or incident, an OData page of them (see :mod:`m365parse.shapes.odata`),
a JSON array or JSON lines of them.  The fast path is one msgspec decode into
the item's struct of :mod:`m365parse.api` (Graph evidence typed by ``@odata.type``); an item
that does not fit is built column by column (``_deep.build``), an evidence item
of an unknown ``@odata.type`` staying in its alert as an untyped dict.  The
structs are imported and the decoders built on first use, not at import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec

from .. import _decode as core
from ..record import Batch, Record
from . import Shape, _deep, odata

__all__ = ["ALERT", "MANUAL_ALERT", "INCIDENT", "MDE_ALERT", "XDR_INCIDENT", "XDR_ALERT"]


class _Kind(NamedTuple):
    struct: Any
    record: Callable[..., Record]
    page: msgspec.json.Decoder[Any]
    array: msgspec.json.Decoder[Any]
    one: msgspec.json.Decoder[Any]
    check: Callable[[Any], bool]


#: The ``@odata.type`` Graph writes on an alert or an incident entity of its own.
ALERT_TYPE = "#microsoft.graph.security.alert"
INCIDENT_TYPE = "#microsoft.graph.security.incident"
#: The ``@odata.type`` of a beta manual alert (derived from alert: it must carry it).
MANUAL_ALERT_TYPE = "#microsoft.graph.security.manualAlert"


def _is_alert(alert: Any) -> bool:
    return alert.odata_type != MANUAL_ALERT_TYPE and (
        alert.providerAlertId is not None or alert.serviceSource is not None or alert.odata_type == ALERT_TYPE
    )


@functools.cache
def _alert() -> _Kind:
    from ..api.graph import GraphAlert
    from ..api.records import GraphAlertRecord

    return _kind(GraphAlert, GraphAlertRecord, _is_alert)


def _is_manual_alert(alert: Any) -> bool:
    return alert.odata_type == MANUAL_ALERT_TYPE or alert.isExcludedFromCorrelation is not None


@functools.cache
def _manual_alert() -> _Kind:
    from ..api.graph import GraphManualAlert
    from ..api.records import GraphAlertRecord

    return _kind(GraphManualAlert, GraphAlertRecord, _is_manual_alert)


def _is_incident(incident: Any) -> bool:
    return (
        incident.displayName is not None
        or incident.incidentWebUrl is not None
        or incident.odata_type == INCIDENT_TYPE
    )


@functools.cache
def _incident() -> _Kind:
    from ..api.graph import GraphIncident
    from ..api.records import GraphIncidentRecord

    return _kind(GraphIncident, GraphIncidentRecord, _is_incident)


def _is_mde_alert(alert: Any) -> bool:
    return alert.alertCreationTime is not None or alert.machineId is not None


@functools.cache
def _mde_alert() -> _Kind:
    from ..api.mde import MdeAlert
    from ..api.records import MdeAlertRecord

    return _kind(MdeAlert, MdeAlertRecord, _is_mde_alert)


def _is_xdr_incident(incident: Any) -> bool:
    return incident.incidentName is not None or incident.incidentId is not None


@functools.cache
def _xdr_incident() -> _Kind:
    from ..api.records import XdrIncidentRecord
    from ..api.xdr import XdrIncident

    return _kind(XdrIncident, XdrIncidentRecord, _is_xdr_incident)


def _is_xdr_alert(alert: Any) -> bool:
    return alert.alertId is not None


@functools.cache
def _xdr_alert() -> _Kind:
    from ..api.records import XdrAlertRecord
    from ..api.xdr import XdrAlert

    return _kind(XdrAlert, XdrAlertRecord, _is_xdr_alert)


def _kind(struct: Any, record: Callable[..., Record], check: Callable[[Any], bool]) -> _Kind:
    return _Kind(
        struct,
        record,
        msgspec.json.Decoder(odata.page_type(struct, f"_{struct.__name__}Page")),
        msgspec.json.Decoder(list[struct]),
        msgspec.json.Decoder(struct),
        check,
    )


def _checked(kind: _Kind, items: list[Any]) -> list[Any]:
    if not all(kind.check(item) for item in items):
        raise ValueError(f"not a {kind.record.__name__}")
    return items


def _array_hook(kind: Callable[[], _Kind]) -> Callable[[bytes], Batch | None]:
    def array(buf: bytes) -> Batch | None:
        k = kind()
        return core.fast(lambda b: _checked(k, k.array.decode(b)), buf, "array", odata.TIMES, wrap=k.record)

    return array


def _lines_hook(kind: Callable[[], _Kind]) -> Callable[[bytes], Batch | None]:
    def lines(buf: bytes) -> Batch | None:
        k = kind()
        return core.fast(lambda b: _checked(k, k.one.decode_lines(b)), buf, "lines", odata.TIMES, wrap=k.record)

    return lines


def _one_hook(kind: Callable[[], _Kind]) -> Callable[[Any], Record]:
    def one(raw: Any) -> Record:
        k = kind()
        item = k.one.decode(raw)
        if not k.check(item):
            raise ValueError(f"not a {k.record.__name__}")
        return k.record(properties=item)

    return one


def _build_hook(kind: Callable[[], _Kind]) -> Callable[[dict[str, Any], Any, str], Record]:
    def build(value: dict[str, Any], raw: Any, path: str) -> Record:
        k = kind()
        extra: dict[str, Any] = {}
        item = _deep.build(k.struct, value, "$", extra)
        return k.record(properties=item, extra=extra)

    return build


def _page_kit(kind: Callable[[], _Kind]) -> Callable[[], odata.PageKit]:
    def kit() -> odata.PageKit:
        k = kind()
        return k.page, k.check, k.record

    return kit


def _recognise_alert(value: dict[str, Any]) -> bool:
    return not _recognise_manual_alert(value) and (
        "providerAlertId" in value
        or ("serviceSource" in value and "alertWebUrl" in value)
        or value.get("@odata.type") == ALERT_TYPE
    )


def _recognise_manual_alert(value: dict[str, Any]) -> bool:
    # isExcludedFromCorrelation is non-nullable: every manual alert sends it
    return value.get("@odata.type") == MANUAL_ALERT_TYPE or (
        "isExcludedFromCorrelation" in value and ("providerAlertId" in value or "serviceSource" in value)
    )


def _recognise_incident(value: dict[str, Any]) -> bool:
    if "providerAlertId" in value:
        return False
    return ("incidentWebUrl" in value and "displayName" in value) or value.get("@odata.type") == INCIDENT_TYPE


def _shape(
    name: str,
    kind: Callable[[], _Kind],
    recognise: Callable[[dict[str, Any]], bool],
    contexts: tuple[str, ...],
    kinds: tuple[str, ...] = (),
) -> Shape:
    return Shape(
        name=name,
        kinds=kinds or (name,),
        recognise=recognise,
        build=_build_hook(kind),
        array=_array_hook(kind),
        lines=_lines_hook(kind),
        one=_one_hook(kind),
        times=odata.TIMES,
        page=odata.page_hook(_page_kit(kind)),
        contexts=contexts,
    )


#: A Graph incident: ``incidentWebUrl`` and ``displayName`` (or its own ``@odata.type``), no
#: ``providerAlertId``; alerts when expanded.
INCIDENT: Shape = _shape("GraphIncident", _incident, _recognise_incident, ("security/incidents",))
#: A Defender for Endpoint alert: ``alertCreationTime`` with ``machineId`` or ``computerDnsName``.
MDE_ALERT: Shape = _shape(
    "MdeAlert",
    _mde_alert,
    lambda v: "alertCreationTime" in v and ("machineId" in v or "computerDnsName" in v),
    ("Alerts",),
)
#: A Defender XDR incident: ``incidentName`` and ``alerts``.
XDR_INCIDENT: Shape = _shape(
    "XdrIncident", _xdr_incident, lambda v: "incidentName" in v and "alerts" in v, ("Incidents",)
)
#: A Defender XDR alert element on its own: ``alertId`` and ``creationTime``.
XDR_ALERT: Shape = _shape("XdrAlert", _xdr_alert, lambda v: "alertId" in v and "creationTime" in v, ())

#: A Graph alert (alerts_v2): ``providerAlertId``, or ``serviceSource`` with ``alertWebUrl``, or
#: its own ``@odata.type`` (``#microsoft.graph.security.alert``); not a manual alert.
ALERT: Shape = _shape("GraphAlert", _alert, _recognise_alert, ("security/alerts_v2",))
#: A Graph beta manual alert: its ``@odata.type`` (``#microsoft.graph.security.manualAlert``), or
#: ``isExcludedFromCorrelation`` beside an alert's keys.  A record of kind ``GraphAlert`` (it is one,
#: normalized as one) whose ``properties`` is a :class:`m365parse.api.graph.GraphManualAlert`.
MANUAL_ALERT: Shape = _shape(
    "GraphManualAlert", _manual_alert, _recognise_manual_alert, ("security/alerts_v2",), kinds=("GraphAlert",)
)
