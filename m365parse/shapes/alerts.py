"""The alert and incident APIs: Graph security alerts and incidents, MDE alerts, XDR incidents and alerts.

One alert or incident, an OData page of them (see :mod:`m365parse.shapes.odata`),
a JSON array or JSON lines of them.  The fast path is one msgspec decode into
the item's struct of :mod:`m365parse.api` (Graph evidence typed by ``@odata.type``); an item
that does not fit is built column by column (``_deep.build``), an evidence item
of an unknown ``@odata.type`` staying in its alert as an untyped dict.  The
structs are imported and the decoders built on first use, not at import.

An item's kind is told by one rule on its keys per kind, the same on both paths;
an item of a page whose ``@odata.context`` names the entity set, and whose keys name
no kind (a ``$select`` page), is of that set (``page_item``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec

from .. import _decode as core
from .._project import CURRENT, narrowed_tree
from ..record import Batch, Record
from . import DECODE_ERRORS, Shape, _deep, odata

__all__ = ["ALERT", "MANUAL_ALERT", "INCIDENT", "MDE_ALERT", "XDR_INCIDENT", "XDR_ALERT"]


#: ``get(key)``: the value of a key of an item, None when absent or null.
_Get = Callable[[str], Any]


class _Kind(NamedTuple):
    struct: Any
    record: Callable[..., Record]
    page: msgspec.json.Decoder[Any]
    array: msgspec.json.Decoder[Any]
    one: msgspec.json.Decoder[Any]
    check: Callable[[Any], bool]  # a decoded item is this kind's, by its keys
    fits: Callable[[Any], bool]  # ... an item of a page whose context names this kind (decoded)
    fits_value: Callable[[dict[str, Any]], bool]  # ... the same, untyped
    keys: Callable[[_Get], bool]  # the key rule (see below)
    in_context: Callable[[_Get], bool]  # the rule in a page whose context names the kind


#: The ``@odata.type`` Graph writes on an alert or an incident entity of its own.
ALERT_TYPE = "#microsoft.graph.security.alert"
INCIDENT_TYPE = "#microsoft.graph.security.incident"
#: The ``@odata.type`` of a beta manual alert (derived from alert: it must carry it).
MANUAL_ALERT_TYPE = "#microsoft.graph.security.manualAlert"


# Each kind is told apart by one predicate on an item's keys (``get(key)``: its value, None
# when absent or null), asked of the decoded struct by the one-pass decode (``check``) and of
# the untyped object by the per-item path (``recognise``), so that an item is the same kind
# whichever path it takes (tests/test_api_kinds.py).  A Graph ``@odata.type`` of a kind
# decides before the other keys (a manual alert may carry the type of the alert it derives from).

_GRAPH_TYPES = (ALERT_TYPE, MANUAL_ALERT_TYPE, INCIDENT_TYPE)

#: Keys whose attribute in the structs has another name.
_ATTRIBUTES = {"@odata.type": "odata_type"}


def _on_struct(predicate: Callable[[_Get], bool]) -> Callable[[Any], bool]:
    def check(item: Any) -> bool:
        return predicate(lambda key: getattr(item, _ATTRIBUTES.get(key, key), None))

    return check


def _on_value(predicate: Callable[[_Get], bool]) -> Callable[[dict[str, Any]], bool]:
    def recognise(value: dict[str, Any]) -> bool:
        return predicate(value.get)

    return recognise


def _alert_keys(get: _Get) -> bool:
    if _manual_alert_keys(get):
        return False
    odata_type = get("@odata.type")
    if odata_type in _GRAPH_TYPES:
        return odata_type == ALERT_TYPE  # type: ignore[no-any-return]
    return get("providerAlertId") is not None or (get("serviceSource") is not None and get("alertWebUrl") is not None)


def _manual_alert_keys(get: _Get) -> bool:
    # a manual alert is an alert (its keys, or the type of one) with isExcludedFromCorrelation
    # (non-nullable: every manual alert sends it), or with its own type
    odata_type = get("@odata.type")
    if odata_type == MANUAL_ALERT_TYPE:
        return True
    if odata_type == INCIDENT_TYPE:
        return False
    return get("isExcludedFromCorrelation") is not None and (
        get("providerAlertId") is not None or get("serviceSource") is not None or odata_type == ALERT_TYPE
    )


def _incident_keys(get: _Get) -> bool:
    odata_type = get("@odata.type")
    if odata_type in _GRAPH_TYPES:
        return odata_type == INCIDENT_TYPE  # type: ignore[no-any-return]
    return get("providerAlertId") is None and get("incidentWebUrl") is not None and get("displayName") is not None


# The keys below are each of one kind only (no other shape has them at the top level).


def _mde_alert_keys(get: _Get) -> bool:
    return get("alertCreationTime") is not None


def _xdr_incident_keys(get: _Get) -> bool:
    return get("incidentName") is not None


def _xdr_alert_keys(get: _Get) -> bool:
    return get("alertId") is not None


@functools.cache
def _alert() -> _Kind:
    from ..api.graph import GraphAlert
    from ..api.records import GraphAlertRecord

    return _kind(GraphAlert, GraphAlertRecord, _alert_keys, _plain_in_context)


@functools.cache
def _manual_alert() -> _Kind:
    from ..api.graph import GraphManualAlert
    from ..api.records import GraphAlertRecord

    return _kind(GraphManualAlert, GraphAlertRecord, _manual_alert_keys, _manual_in_context)


# In a page of security/alerts_v2 (plain and manual alerts) whose keys name no kind, a manual
# alert is one with its own @odata.type or isExcludedFromCorrelation (non-nullable: every
# manual alert sends it).


def _manual_in_context(get: _Get) -> bool:
    return get("@odata.type") == MANUAL_ALERT_TYPE or get("isExcludedFromCorrelation") is not None


def _plain_in_context(get: _Get) -> bool:
    return not _manual_in_context(get)


@functools.cache
def _incident() -> _Kind:
    from ..api.graph import GraphIncident
    from ..api.records import GraphIncidentRecord

    return _kind(GraphIncident, GraphIncidentRecord, _incident_keys)


@functools.cache
def _mde_alert() -> _Kind:
    from ..api.mde import MdeAlert
    from ..api.records import MdeAlertRecord

    return _kind(MdeAlert, MdeAlertRecord, _mde_alert_keys)


@functools.cache
def _xdr_incident() -> _Kind:
    from ..api.records import XdrIncidentRecord
    from ..api.xdr import XdrIncident

    return _kind(XdrIncident, XdrIncidentRecord, _xdr_incident_keys)


@functools.cache
def _xdr_alert() -> _Kind:
    from ..api.records import XdrAlertRecord
    from ..api.xdr import XdrAlert

    return _kind(XdrAlert, XdrAlertRecord, _xdr_alert_keys)


def _any_kind(get: _Get) -> bool:
    return True


def _kind(
    struct: Any,
    record: Callable[..., Record],
    keys: Callable[[_Get], bool],
    in_context: Callable[[_Get], bool] = _any_kind,
    *,
    narrowed: bool = False,
) -> _Kind:
    """A kind: its struct and record type, its decoders, its key rule (``keys``) and the rule
    of an item of a page whose context names it and whose keys name no kind (``in_context``).

    An item the full struct decodes is this kind's when its keys say so: no earlier kind's
    key can then be among them (none is a field of a later kind's struct that could make
    that kind's rule hold; tests/test_api_kinds.py).  A narrowed struct (``narrowed``)
    decodes items with any keys (it skips those it does not read, and reads every key of
    the rules): its item is this kind's when this is the first kind whose rule holds, as
    the per-item path's recognisers find it.
    """
    return _Kind(
        struct,
        record,
        msgspec.json.Decoder(odata.page_type(struct, f"_{struct.__name__}Page")),
        msgspec.json.Decoder(list[struct]),
        msgspec.json.Decoder(struct),
        _on_struct(_first_claim(keys) if narrowed else keys),
        _on_struct(in_context),
        _on_value(in_context),
        keys,
        in_context,
    )


#: The keys the kind rules read, as (attribute, key): every narrowed struct reads them.
_PROBES = tuple(
    (_ATTRIBUTES.get(key, key), key)
    for key in (
        "@odata.type",
        "providerAlertId",
        "serviceSource",
        "alertWebUrl",
        "isExcludedFromCorrelation",
        "incidentWebUrl",
        "displayName",
        "alertCreationTime",
        "incidentName",
        "alertId",
    )
)


def _current(kind: Callable[[], _Kind]) -> _Kind:
    """``kind``, narrowed to what the current projection reads of its records (see
    :mod:`m365parse._project`): under :func:`m365parse.decode_normalized` only."""
    k = kind()
    projection = CURRENT.get()
    if projection is None:
        return k
    paths = projection.columns(k.record._table)  # type: ignore[attr-defined]
    return k if paths is None else _narrowed(kind, paths)


@functools.lru_cache(maxsize=64)
def _narrowed(kind: Callable[[], _Kind], paths: frozenset[str]) -> _Kind:
    k = kind()
    return _kind(narrowed_tree(k.struct, paths, _PROBES), k.record, k.keys, k.in_context, narrowed=True)


@functools.cache
def _first_claim(keys: Callable[[_Get], bool]) -> Callable[[_Get], bool]:
    """Whether the first kind (in the order of the shapes) whose key rule an item satisfies is
    the kind of ``keys``: what the per-item path's recognisers find, asked in that order."""

    def first(get: _Get) -> bool:
        for rule in _KEYS:
            if rule(get):
                return rule is keys
        return False

    return first


def _checked(kind: _Kind, items: list[Any]) -> list[Any]:
    if not all(kind.check(item) for item in items):
        raise ValueError(f"not a {kind.record.__name__}")
    return items


def _array_hook(kind: Callable[[], _Kind]) -> Callable[[bytes], Batch | None]:
    def array(buf: bytes) -> Batch | None:
        k = _current(kind)
        return core.fast(lambda b: _checked(k, k.array.decode(b)), buf, "array", odata.TIMES, wrap=k.record)

    return array


def _lines_hook(kind: Callable[[], _Kind]) -> Callable[[bytes], Batch | None]:
    def lines(buf: bytes) -> Batch | None:
        k = _current(kind)
        return core.fast(lambda b: _checked(k, k.one.decode_lines(b)), buf, "lines", odata.TIMES, wrap=k.record)

    return lines


def _one_hook(kind: Callable[[], _Kind]) -> Callable[[Any], Record]:
    def one(raw: Any) -> Record:
        k = _current(kind)
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


#: The key predicates of every kind, in the order of the shapes.
_KEYS = (_incident_keys, _xdr_incident_keys, _xdr_alert_keys, _mde_alert_keys, _alert_keys, _manual_alert_keys)


def _claimed(item: Any) -> bool:
    """Whether the keys of a decoded item say it is of some kind."""
    return any(_on_struct(keys)(item) for keys in _KEYS)


def _page_kit(kind: Callable[[], _Kind]) -> Callable[[], odata.PageKit]:
    def kit() -> odata.PageKit:
        k = _current(kind)

        def in_context(item: Any) -> bool:
            # an item of a page whose context names this kind: this kind's by its keys, or of no
            # kind by its keys and fitting this one of the kinds of the context
            return k.check(item) or (not _claimed(item) and k.fits(item))

        return k.page, k.check, in_context, k.record

    return kit


def _page_item_hook(kind: Callable[[], _Kind]) -> Callable[[Any, str], Record | None]:
    # (asked of an item that no shape recognises by its keys)
    def page_item(raw: Any, path: str) -> Record | None:
        k = kind()
        try:
            item = k.one.decode(raw)
        except DECODE_ERRORS:
            pass
        else:
            return k.record(properties=item) if k.fits(item) else None
        try:
            value = core.untyped(raw)
        except DECODE_ERRORS:
            return None  # not JSON: said as for any item
        if not isinstance(value, dict) or not k.fits_value(value):
            return None
        extra: dict[str, Any] = {}
        built = _deep.build(k.struct, value, "$", extra)
        return k.record(properties=built, extra=extra)

    return page_item


def _shape(
    name: str,
    kind: Callable[[], _Kind],
    keys: Callable[[_Get], bool],
    contexts: tuple[str, ...],
    kinds: tuple[str, ...] = (),
) -> Shape:
    return Shape(
        name=name,
        kinds=kinds or (name,),
        recognise=_on_value(_first_claim(keys)),
        build=_build_hook(kind),
        array=_array_hook(kind),
        lines=_lines_hook(kind),
        one=_one_hook(kind),
        times=odata.TIMES,
        page=odata.page_hook(_page_kit(kind)),
        page_item=_page_item_hook(kind),
        contexts=contexts,
    )


#: A Graph incident: ``incidentWebUrl`` and ``displayName`` (or its own ``@odata.type``), no
#: ``providerAlertId``; alerts when expanded.
INCIDENT: Shape = _shape("GraphIncident", _incident, _incident_keys, ("security/incidents",))
#: A Defender for Endpoint alert: ``alertCreationTime``.
MDE_ALERT: Shape = _shape("MdeAlert", _mde_alert, _mde_alert_keys, ("Alerts",))
#: A Defender XDR incident: ``incidentName``.
XDR_INCIDENT: Shape = _shape("XdrIncident", _xdr_incident, _xdr_incident_keys, ("Incidents",))
#: A Defender XDR alert element on its own: ``alertId``.
XDR_ALERT: Shape = _shape("XdrAlert", _xdr_alert, _xdr_alert_keys, ())

#: A Graph alert (alerts_v2): ``providerAlertId``, or ``serviceSource`` with ``alertWebUrl``, or
#: its own ``@odata.type`` (``#microsoft.graph.security.alert``); not a manual alert.
ALERT: Shape = _shape("GraphAlert", _alert, _alert_keys, ("security/alerts_v2",))
#: A Graph beta manual alert: its ``@odata.type`` (``#microsoft.graph.security.manualAlert``), or
#: ``isExcludedFromCorrelation`` beside an alert's keys.  A record of kind ``GraphAlert`` (it is one,
#: normalized as one) whose ``properties`` is a :class:`m365parse.api.graph.GraphManualAlert`.
MANUAL_ALERT: Shape = _shape(
    "GraphManualAlert", _manual_alert, _manual_alert_keys, ("security/alerts_v2",), kinds=("GraphAlert",)
)
