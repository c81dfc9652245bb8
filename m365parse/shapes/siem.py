"""Alerts of the legacy Defender for Endpoint SIEM REST API: a JSON array of them, or one.

A SIEM alert is a flat PascalCase object (``AlertTime``, ``ComputerDnsName``,
...), decoded into :class:`m365parse.tables.SiemAlert` and wrapped in a
:class:`m365parse.SiemRecord`.  Field names of older doc versions are accepted
(:data:`ALIASES`).
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from .. import _decode as core
from .._values import build_struct
from ..record import Batch, Record, SiemRecord
from ..tables import SiemAlert
from . import DECODE_ERRORS, Shape
from .stream import TIMES

__all__ = ["SHAPE", "ALIASES", "SPELLINGS"]

#: Names by which SIEM REST API fields appear in the various doc versions.
ALIASES = {
    "ReportId": "ReportID",
    "IPAddress": "IpAddress",
    "URL": "Url",
    "InternalIPV4List": "InternalIPv4List",
    "ThreatFamilyName": "ThreatFamily",
    "LastProccesedTimeUtc": "LastProcessedTimeUtc",
}
#: Canonical name -> the other doc version's spelling.
SPELLINGS = {name: alias for alias, name in ALIASES.items()}
_KEYS = frozenset(SiemAlert.__struct_fields__) | frozenset(ALIASES)
_NO_ALERT = SiemAlert()


@functools.cache
def _decoders() -> tuple[msgspec.json.Decoder[Any], msgspec.json.Decoder[Any]]:
    """(array, one) decoders, built on first use."""
    return msgspec.json.Decoder(list[SiemAlert], strict=False), msgspec.json.Decoder(SiemAlert, strict=False)


def _alerts(buf: bytes) -> list[SiemAlert]:
    alerts: list[SiemAlert] = _decoders()[0].decode(buf)
    for alert in alerts:
        if alert.AlertId is None and alert == _NO_ALERT:
            # {} has none of an alert's fields: it is not an alert (the per-record path says so)
            raise ValueError("an empty object in a SIEM alert array")
    return alerts


def _array(buf: bytes) -> Batch | None:
    return core.fast(_alerts, buf, "array", TIMES, wrap=SiemRecord)


def _run(buf: bytes) -> Batch:
    return core.run(_alerts, buf, "array", TIMES, wrap=SiemRecord)


def _recognise(value: dict[str, Any]) -> bool:
    return any(key in _KEYS for key in value)


def _build(value: dict[str, Any], raw: Any, path: str) -> Record:
    try:
        alert = _decoders()[1].decode(raw)
    except DECODE_ERRORS:
        pass
    else:
        return SiemRecord(properties=alert)
    renamed: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, item in value.items():
        canonical = ALIASES.get(key)
        if canonical is not None and canonical not in value:
            renamed[canonical] = item
        elif canonical is not None:
            extra[key] = item
        else:
            renamed[key] = item
    built, more = build_struct(SiemAlert, renamed)
    extra.update(more)
    return SiemRecord(properties=built, extra=extra)


SHAPE: Shape = Shape(
    name="siem",
    kinds=("SiemAlert",),
    recognise=_recognise,
    build=_build,
    array=_array,
    times=TIMES,
    run=_run,
)
