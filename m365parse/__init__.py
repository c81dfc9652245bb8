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

from ._decode import decode
from ._lines import JsonLinesDecoder
from ._values import MAX_EXPAND_BYTES, MAX_EXPAND_DEPTH, ExactDatetime, exact_datetime, expand, timestamp_ns
from .errors import InvalidColumn, InvalidInput, InvalidJSONText, InvalidRecord, M365ParseError, MappingError
from .mappings import RuleSet, normalize, normalize_batch, registry
from .record import Batch, Record, SiemRecord, UnknownRecord
from .tables import TABLES

__version__ = "0.1.0"

__all__ = [
    "decode",
    "JsonLinesDecoder",
    "timestamp_ns",
    "exact_datetime",
    "ExactDatetime",
    "expand",
    "normalize",
    "normalize_batch",
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
