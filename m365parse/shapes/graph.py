"""Microsoft Graph security API: alerts (``security/alerts_v2``) and incidents (``security/incidents``).

One alert or incident, an OData page of them (see :mod:`m365parse.shapes.odata`),
a JSON array or JSON lines of them.  The fast path is one msgspec decode into
:class:`m365parse.api.GraphAlert` (evidence typed by ``@odata.type``); an item
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

__all__ = ["ALERT"]


class _Kind(NamedTuple):
    struct: Any
    record: Callable[..., Record]
    page: msgspec.json.Decoder[Any]
    array: msgspec.json.Decoder[Any]
    one: msgspec.json.Decoder[Any]
    check: Callable[[Any], bool]


def _is_alert(alert: Any) -> bool:
    return alert.providerAlertId is not None or alert.serviceSource is not None


@functools.cache
def _alert() -> _Kind:
    from ..api.graph import GraphAlert
    from ..api.records import GraphAlertRecord

    return _Kind(
        GraphAlert,
        GraphAlertRecord,
        msgspec.json.Decoder(odata.page_type(GraphAlert, "_GraphAlertPage")),
        msgspec.json.Decoder(list[GraphAlert]),
        msgspec.json.Decoder(GraphAlert),
        _is_alert,
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
    return "providerAlertId" in value or ("serviceSource" in value and "alertWebUrl" in value)


ALERT: Shape = Shape(
    name="graph-alert",
    kinds=("GraphAlert",),
    recognise=_recognise_alert,
    build=_build_hook(_alert),
    array=_array_hook(_alert),
    lines=_lines_hook(_alert),
    one=_one_hook(_alert),
    times=odata.TIMES,
    page=odata.page_hook(_page_kit(_alert)),
    contexts=("security/alerts_v2",),
)
