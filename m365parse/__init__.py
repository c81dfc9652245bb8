"""m365parse: typed, lossless, fast decoding of Microsoft Defender XDR data.

Bytes in, typed records out, no I/O::

    import m365parse

    batch = m365parse.decode(event_hubs_body)
    for record in batch.records:
        record.table          # "DeviceProcessEvents"
        record.properties     # m365parse.tables.DeviceProcessEvents
        record.extra          # columns the struct does not declare, values that did not fit
    for error in batch.errors:
        error.index, error.path, error.reason, error.raw
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._values import MAX_EXPAND_BYTES, MAX_EXPAND_DEPTH, ExactDatetime, exact_datetime, expand, timestamp_ns
from .errors import InvalidColumn, InvalidInput, InvalidJSONText, InvalidRecord, M365ParseError, MappingError
from .record import Batch, Record, SiemRecord, UnknownRecord

if TYPE_CHECKING:
    from ._decode import decode
    from ._lines import JsonLinesDecoder
    from .mappings import NormalizedBatch, RuleSet, decode_normalized, normalize, normalize_batch
    from .mappings.registry import registry
    from .tables import TABLES

__version__ = "0.1.0"

#: Public names whose modules load on first use (``import m365parse`` then costs
#: little more than msgspec): name -> the module that defines it.  The decoder
#: core and every shape load together, on the first use of ``decode`` (or of
#: ``JsonLinesDecoder``), so each shape works on the first call.
_LAZY = {
    "decode": "._decode",
    "JsonLinesDecoder": "._lines",
    "normalize": ".mappings",
    "normalize_batch": ".mappings",
    "decode_normalized": ".mappings",
    "NormalizedBatch": ".mappings",
    "registry": ".mappings",
    "RuleSet": ".mappings",
    "TABLES": ".tables",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # looked up once: the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "decode",
    "JsonLinesDecoder",
    "timestamp_ns",
    "exact_datetime",
    "ExactDatetime",
    "expand",
    "normalize",
    "normalize_batch",
    "decode_normalized",
    "NormalizedBatch",
    "registry",
    "RuleSet",
    "TABLES",
    "Batch",
    "Record",
    "UnknownRecord",
    "SiemRecord",
    "M365ParseError",
    "InvalidInput",
    "InvalidRecord",
    "InvalidColumn",
    "InvalidJSONText",
    "MappingError",
    "MAX_EXPAND_DEPTH",
    "MAX_EXPAND_BYTES",
    "__version__",
]
