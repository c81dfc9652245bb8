"""Rows of the Defender tables exported from Log Analytics / Microsoft Sentinel (data export rules).

A row is flat: the table's columns plus the workspace columns (``TenantId``, the
workspace id; ``TimeGenerated``; ``Type``, the table's name; ``SourceSystem``;
``_Internal_WorkspaceResourceId`` and other ``_``-prefixed columns), one per
line in the exported blobs.  A row becomes a record of the table ``Type``
names, typed by the same table struct as a streamed record
(``DeviceEventsRecord``): the table's columns in ``properties``, the workspace
columns the table does not declare in ``envelope_extra``, anything else in
``extra``.  Rows of a table the library does not know are ``UnknownRecord``.

Rows are decoded item by item (recognised by their keys); there is no one-pass
fast path for this shape yet.
"""

from __future__ import annotations

from typing import Any

from .._values import build_struct
from ..record import Record, UnknownRecord
from ..tables import RECORD_TYPES, TABLES
from . import Reject, Shape, hunting

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


def _recognise(value: dict[str, Any]) -> bool:
    return "TimeGenerated" in value and "Type" in value and "TenantId" in value


def _build(value: dict[str, Any], raw: Any, path: str) -> Record:
    table = value.get("Type")
    if not isinstance(table, str):
        raise Reject(f"{path}.Type", "`Type` (the table's name) is not a string")
    record_type = RECORD_TYPES.get(table)
    if record_type is None:
        return UnknownRecord(category=table, properties=value)
    struct = TABLES[table]
    columns = struct.__struct_fields__
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
    row, extra = build_struct(struct, props)
    extra.update(rest)
    return record_type(properties=row, extra=extra, envelope_extra=workspace)


SHAPE: Shape = Shape(
    name="export",
    kinds=("<table>", "UnknownRecord"),
    recognise=_recognise,
    build=_build,
    times=hunting.TIMES,
)
