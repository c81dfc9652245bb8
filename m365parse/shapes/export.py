"""Rows of the Defender tables exported from Log Analytics / Microsoft Sentinel (data export rules).

A row is flat: the table's columns plus the workspace columns (``TenantId``, the
workspace id; ``TimeGenerated``; ``Type``, the table's name; ``SourceSystem``;
``_Internal_WorkspaceResourceId`` and other ``_``-prefixed columns), one per
line in the exported blobs.  A row becomes a record of the table ``Type``
names, typed by the same table struct as a streamed record
(``DeviceEventsRecord``): the table's columns in ``properties``, the workspace
columns the table does not declare in ``envelope_extra``, anything else in
``extra``.  Rows of a table the library does not know are ``UnknownRecord``.

The fast path takes JSON lines whose rows are all of one table (an export
container holds one table): one msgspec pass reads their ``Type``, a second
decodes them into the table's export struct (the table struct plus the
workspace columns it does not declare, moved to ``envelope_extra`` after).
Anything else is decoded row by row, recognised by its keys.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import msgspec
from msgspec import Struct

from .. import _decode as core
from .._built import pickled_as
from .._values import build_struct
from ..record import Batch, Record, UnknownRecord
from ..tables import RECORD_TYPES, TABLES
from . import DECODE_ERRORS, Reject, Shape, hunting

__all__ = ["SHAPE", "WORKSPACE_COLUMNS"]

#: Columns Log Analytics adds to every row (API-NOTES section 8).
WORKSPACE_COLUMNS = frozenset(
    {
        "TenantId",
        "TimeGenerated",
        "Type",
        "SourceSystem",
        "MG",
        "ManagementGroupName",
        "_Internal_WorkspaceResourceId",
        "_ResourceId",
        "_SubscriptionId",
        "_ItemId",
        "_BilledSize",
        "_IsBillable",
        "_TimeReceived",
    }
)


class _Probe(Struct):
    Type: Any = None
    # present (of any value) in every row the fast path takes, as _recognise asks
    TimeGenerated: Any = msgspec.UNSET
    TenantId: Any = msgspec.UNSET


class _Kit(NamedTuple):
    struct: type[Struct]  # the table struct plus its undeclared workspace columns
    lines: msgspec.json.Decoder[Any]
    workspace: tuple[tuple[str, str], ...]  # (attribute, column) of the added workspace columns


@functools.cache
def _probe() -> msgspec.json.Decoder[_Probe]:
    return msgspec.json.Decoder(_Probe)


@functools.lru_cache(maxsize=128)
def _kit(table: str) -> _Kit:
    base = TABLES[table]
    added = sorted(WORKSPACE_COLUMNS - frozenset(base.__struct_fields__))
    fields = [(f"_m365parse_w{i}", Any, msgspec.field(default=None, name=name)) for i, name in enumerate(added)]
    # (no module's attribute: a row pickles as its table and values, see m365parse._built)
    struct = msgspec.defstruct(
        f"_{table}Export", fields, bases=(base,), kw_only=True, namespace=pickled_as(_export_struct, table)
    )
    workspace = tuple((f"_m365parse_w{i}", name) for i, name in enumerate(added))
    return _Kit(struct, msgspec.json.Decoder(struct, strict=False), workspace)


def _export_struct(table: str) -> type[Struct]:
    """The struct of ``table``'s export rows (what a pickled row unpickles as)."""
    return _kit(table).struct


def _record(kit: _Kit, record_type: Any, row: Any, extra: dict[str, Any] | None = None) -> Record:
    workspace: dict[str, Any] = {}
    for attr, name in kit.workspace:
        value = getattr(row, attr)
        if value is not None:
            workspace[name] = value
            setattr(row, attr, None)
    if extra:
        return record_type(properties=row, extra=extra, envelope_extra=workspace)  # type: ignore[no-any-return]
    return record_type(properties=row, envelope_extra=workspace)  # type: ignore[no-any-return]


def _lines(buf: bytes) -> Batch | None:
    """JSON lines of rows of one table, in one pass (after a cheaper one that reads their ``Type``)."""
    try:
        # The first row first: JSON lines of another shape (streamed records) cost one line, not a pass.
        head = buf.lstrip(b" \t\r\n")
        end = head.find(b"\n")
        first = _probe().decode(head if end < 0 else head[:end])
        if not isinstance(first.Type, str) or first.Type not in RECORD_TYPES:
            return None
        probes = _probe().decode_lines(buf)
    except DECODE_ERRORS:
        return None
    table = first.Type
    # Every row of the one table the first names (a Type of any other value, even one that
    # is not text, sends the lines to the per-line path, which keeps it as one error), and a
    # row as _recognise knows one (a row without them is recognised row by row, maybe as another shape's).
    unset = msgspec.UNSET
    if any(probe.Type != table or probe.TimeGenerated is unset or probe.TenantId is unset for probe in probes):
        return None
    kit, record_type = _kit(table), RECORD_TYPES[table]

    def records(data: bytes) -> list[Record]:
        rows = kit.lines.decode_lines(data)
        return [_record(kit, record_type, row) for row in rows]

    return core.fast(records, buf, "lines", hunting.TIMES)


def _recognise(value: dict[str, Any]) -> bool:
    return "TimeGenerated" in value and "Type" in value and "TenantId" in value


def _build(value: dict[str, Any], raw: Any, path: str) -> Record:
    table = value.get("Type")
    if not isinstance(table, str):
        raise Reject(f"{path}.Type", "`Type` (the table's name) is not a string")
    record_type = RECORD_TYPES.get(table)
    if record_type is None:
        return UnknownRecord(category=table, properties=value)
    kit = _kit(table)
    columns = TABLES[table].__struct_fields__
    props: dict[str, Any] = {}
    workspace: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, item in value.items():
        if key in columns:
            props[key] = item
        elif key in WORKSPACE_COLUMNS or key.startswith("_"):
            workspace[key] = item
        else:
            rest[key] = item
    row, extra = build_struct(kit.struct, props)
    extra.update(rest)
    return record_type(properties=row, extra=extra, envelope_extra=workspace)


SHAPE: Shape = Shape(
    name="export",
    kinds=("<table>", "UnknownRecord"),
    recognise=_recognise,
    build=_build,
    lines=_lines,
    times=hunting.TIMES,
)
