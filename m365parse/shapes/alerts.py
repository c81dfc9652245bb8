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
from .._codegen import compile_function
from .._project import _NO_VALUE, CURRENT, narrowed_tree
from ..record import Batch, Record
from . import DECODE_ERRORS, Shape, _deep, odata

__all__ = ["ALERT", "MANUAL_ALERT", "INCIDENT", "MDE_ALERT", "XDR_INCIDENT", "XDR_ALERT"]


class _Kind(NamedTuple):
    struct: Any
    record: Callable[..., Record]
    page: msgspec.json.Decoder[Any]
    array: msgspec.json.Decoder[Any]
    one: msgspec.json.Decoder[Any]
    check: Callable[[Any], bool]  # a decoded item is this kind's, by its keys
    fits: Callable[[Any], bool]  # ... an item of a page whose context names this kind (decoded)
    fits_value: Callable[[dict[str, Any]], bool]  # ... the same, untyped
    number: int  # the kind's number in the order of the shapes (see _claim)
    in_context: Callable[[tuple[Any, ...]], bool]  # the rule in a page whose context names the kind


#: The ``@odata.type`` Graph writes on an alert or an incident entity of its own.
ALERT_TYPE = "#microsoft.graph.security.alert"
INCIDENT_TYPE = "#microsoft.graph.security.incident"
#: The ``@odata.type`` of a beta manual alert (derived from alert: it must carry it).
MANUAL_ALERT_TYPE = "#microsoft.graph.security.manualAlert"


# Each kind is told apart by one rule on an item's keys, :func:`_claim`, asked of the values
# of the keys it reads (:data:`KIND_KEYS`; None when absent or null): of the decoded struct
# by the one-pass decode (``check``), of the untyped object by the per-item path
# (``recognise``), so that an item is the same kind whichever path it takes
# (tests/test_api_kinds.py).

_GRAPH_TYPES = (ALERT_TYPE, MANUAL_ALERT_TYPE, INCIDENT_TYPE)

#: The keys the rule reads, in the order of the values it is given.
KIND_KEYS = (
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
#: Keys whose attribute in the structs has another name.
_ATTRIBUTES = {"@odata.type": "odata_type"}
#: (attribute, key) of each of :data:`KIND_KEYS`.
PROBES = tuple((_ATTRIBUTES.get(key, key), key) for key in KIND_KEYS)

#: The kinds, numbered in the order of the shapes (the order the recognisers are asked in).
GRAPH_INCIDENT, XDR_INCIDENT_KIND, XDR_ALERT_KIND, MDE_ALERT_KIND, GRAPH_ALERT, GRAPH_MANUAL_ALERT = range(6)
#: No kind: the keys say none.
NO_KIND = -1


def _claim(values: tuple[Any, ...]) -> int:
    """The kind the keys of an item say it is (the values of :data:`KIND_KEYS`), or NO_KIND.

    The first in the order of the shapes whose keys the item has: a Graph incident
    (its ``@odata.type``, or ``incidentWebUrl`` with ``displayName`` and no
    ``providerAlertId``), an XDR incident (``incidentName``), an XDR alert (``alertId``), an MDE
    alert (``alertCreationTime``), a Graph alert (its type, or ``providerAlertId``, or
    ``serviceSource`` with ``alertWebUrl``), a manual alert (its type, or
    ``isExcludedFromCorrelation``, non-nullable, beside an alert's keys or type).  A Graph
    ``@odata.type`` decides among the Graph kinds before their other keys.
    """
    odata_type, provider, source, web, excluded, incident_web, display, created, incident_name, alert_id = values
    graph_type = odata_type in _GRAPH_TYPES
    if odata_type == INCIDENT_TYPE or (
        not graph_type and provider is None and incident_web is not None and display is not None
    ):
        return GRAPH_INCIDENT
    if incident_name is not None:
        return XDR_INCIDENT_KIND
    if alert_id is not None:
        return XDR_ALERT_KIND
    if created is not None:
        return MDE_ALERT_KIND
    if odata_type == MANUAL_ALERT_TYPE or (
        excluded is not None and (provider is not None or source is not None or odata_type == ALERT_TYPE)
    ):
        return GRAPH_MANUAL_ALERT
    if odata_type == ALERT_TYPE or (
        not graph_type and (provider is not None or (source is not None and web is not None))
    ):
        return GRAPH_ALERT
    return NO_KIND


def _manual_in_context(values: tuple[Any, ...]) -> bool:
    # in a page of security/alerts_v2 (plain and manual alerts) whose keys name no kind, a manual
    # alert is one with its own @odata.type or isExcludedFromCorrelation
    return values[0] == MANUAL_ALERT_TYPE or values[4] is not None


def _plain_in_context(values: tuple[Any, ...]) -> bool:
    return not _manual_in_context(values)


def _any_in_context(values: tuple[Any, ...]) -> bool:
    return True


def values_of_value(value: dict[str, Any]) -> tuple[Any, ...]:
    """The values of :data:`KIND_KEYS` of an untyped item."""
    return tuple(map(value.get, KIND_KEYS))


@functools.lru_cache(maxsize=256)
def values_reader(struct_type: type) -> Callable[[Any], tuple[Any, ...]]:
    """The values of :data:`KIND_KEYS` of a decoded item of ``struct_type`` (None for a key it
    does not declare), read by a function generated for the type."""
    fields = set(struct_type.__struct_fields__)  # type: ignore[attr-defined]
    parts = ", ".join(f"item.{attribute}" if attribute in fields else "None" for attribute, _ in PROBES)
    return compile_function(f"def read(item):\n    return ({parts},)\n", {}, "read")  # type: ignore[no-any-return]


def _on_struct(rule: Callable[[tuple[Any, ...]], bool]) -> Callable[[Any], bool]:
    def check(item: Any) -> bool:
        return rule(values_reader(item.__class__)(item))

    return check


def _on_value(rule: Callable[[tuple[Any, ...]], bool]) -> Callable[[dict[str, Any]], bool]:
    def recognise(value: dict[str, Any]) -> bool:
        return rule(values_of_value(value))

    return recognise


@functools.cache
def _is(number: int) -> Callable[[tuple[Any, ...]], bool]:
    """The rule of kind ``number``: its keys say the item is of that kind."""

    def rule(values: tuple[Any, ...]) -> bool:
        return _claim(values) == number

    return rule


def _some_kind(values: tuple[Any, ...]) -> bool:
    return _claim(values) != NO_KIND


#: Whether a decoded item is some kind's by its keys.
_claimed = _on_struct(_some_kind)


@functools.cache
def _alert() -> _Kind:
    from ..api.graph import GraphAlert
    from ..api.records import GraphAlertRecord

    return _kind(GraphAlert, GraphAlertRecord, GRAPH_ALERT, _plain_in_context)


@functools.cache
def _manual_alert() -> _Kind:
    from ..api.graph import GraphManualAlert
    from ..api.records import GraphAlertRecord

    return _kind(GraphManualAlert, GraphAlertRecord, GRAPH_MANUAL_ALERT, _manual_in_context)


@functools.cache
def _incident() -> _Kind:
    from ..api.graph import GraphIncident
    from ..api.records import GraphIncidentRecord

    return _kind(GraphIncident, GraphIncidentRecord, GRAPH_INCIDENT)


@functools.cache
def _mde_alert() -> _Kind:
    from ..api.mde import MdeAlert
    from ..api.records import MdeAlertRecord

    return _kind(MdeAlert, MdeAlertRecord, MDE_ALERT_KIND)


@functools.cache
def _xdr_incident() -> _Kind:
    from ..api.records import XdrIncidentRecord
    from ..api.xdr import XdrIncident

    return _kind(XdrIncident, XdrIncidentRecord, XDR_INCIDENT_KIND)


@functools.cache
def _xdr_alert() -> _Kind:
    from ..api.records import XdrAlertRecord
    from ..api.xdr import XdrAlert

    return _kind(XdrAlert, XdrAlertRecord, XDR_ALERT_KIND)


def _kind(
    struct: Any,
    record: Callable[..., Record],
    number: int,
    in_context: Callable[[tuple[Any, ...]], bool] = _any_in_context,
) -> _Kind:
    """A kind: its struct and record type, its decoders, its number (its keys: :func:`_claim`)
    and the rule of an item of a page whose context names it and whose keys name no kind
    (``in_context``)."""
    return _Kind(
        struct,
        record,
        msgspec.json.Decoder(odata.page_type(struct, f"_{struct.__name__}Page")),
        msgspec.json.Decoder(list[struct]),
        msgspec.json.Decoder(struct),
        _on_struct(_is(number)),
        _on_struct(in_context),
        _on_value(in_context),
        number,
        in_context,
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
    tree = narrowed_tree(k.struct, paths, PROBES)
    # A narrowed struct takes any object: the keys of the items of other shapes that the
    # kind does not declare make its decode fail at once (else JSON lines of streamed
    # records would be read whole once per kind before the kind rules turn them down); an
    # item of this kind with one takes the full way (which keeps it in extra).
    declared = {f.encode_name for f in msgspec.structs.fields(k.struct)}
    others = [key for key in _OTHERS if key not in declared]
    struct = msgspec.defstruct(
        tree.__name__,
        [(f"_m365parse_other{n}", _NO_VALUE, msgspec.field(default=None, name=key)) for n, key in enumerate(others)],
        bases=(tree,),
        kw_only=True,
        module=tree.__module__,
    )
    return _kind(struct, k.record, k.number, k.in_context)


#: Keys of the items of the other shapes (streamed records, SIEM alerts, export rows); a kind
#: that declares one of them is not failed by it.
_OTHERS = ("category", "properties", "AlertTime", "ComputerDnsName", "TimeGenerated", "TenantId")


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
    number: int,
    contexts: tuple[str, ...],
    kinds: tuple[str, ...] = (),
) -> Shape:
    return Shape(
        name=name,
        kinds=kinds or (name,),
        recognise=_on_value(_is(number)),
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
INCIDENT: Shape = _shape("GraphIncident", _incident, GRAPH_INCIDENT, ("security/incidents",))
#: A Defender for Endpoint alert: ``alertCreationTime``.
MDE_ALERT: Shape = _shape("MdeAlert", _mde_alert, MDE_ALERT_KIND, ("Alerts",))
#: A Defender XDR incident: ``incidentName``.
XDR_INCIDENT: Shape = _shape("XdrIncident", _xdr_incident, XDR_INCIDENT_KIND, ("Incidents",))
#: A Defender XDR alert element on its own: ``alertId``.
XDR_ALERT: Shape = _shape("XdrAlert", _xdr_alert, XDR_ALERT_KIND, ())

#: A Graph alert (alerts_v2): ``providerAlertId``, or ``serviceSource`` with ``alertWebUrl``, or
#: its own ``@odata.type`` (``#microsoft.graph.security.alert``); not a manual alert.
ALERT: Shape = _shape("GraphAlert", _alert, GRAPH_ALERT, ("security/alerts_v2",))
#: A Graph beta manual alert: its ``@odata.type`` (``#microsoft.graph.security.manualAlert``), or
#: ``isExcludedFromCorrelation`` beside an alert's keys.  A record of kind ``GraphAlert`` (it is one,
#: normalized as one) whose ``properties`` is a :class:`m365parse.api.graph.GraphManualAlert`.
MANUAL_ALERT: Shape = _shape(
    "GraphManualAlert", _manual_alert, GRAPH_MANUAL_ALERT, ("security/alerts_v2",), kinds=("GraphAlert",)
)
