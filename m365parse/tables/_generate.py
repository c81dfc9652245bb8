"""Generate the table modules of :mod:`m365parse.tables` from the schema data.

The schema data in ``m365parse/tables/schema/`` is a copy of Microsoft's Advanced
Hunting schema (columns and documented types per table, the observed wire order of
columns, the legacy SIEM REST API alert fields).  Run::

    python m365parse/tables/_generate.py

to rewrite the generated modules; ``tests/test_tables.py`` fails when they are out
of date with the schema data.  Nothing here runs when the library is imported.
"""

from __future__ import annotations

import csv
import json
import keyword
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "schema"

#: Tables the Streaming API streams, and IdentityInfo (seen streamed in the wild).
FAMILIES: dict[str, tuple[str, ...]] = {
    "alerts": ("AlertInfo", "AlertEvidence"),
    "device": (
        "DeviceInfo",
        "DeviceNetworkInfo",
        "DeviceProcessEvents",
        "DeviceNetworkEvents",
        "DeviceFileEvents",
        "DeviceRegistryEvents",
        "DeviceLogonEvents",
        "DeviceImageLoadEvents",
        "DeviceEvents",
        "DeviceFileCertificateInfo",
    ),
    "email": (
        "EmailEvents",
        "EmailAttachmentInfo",
        "EmailPostDeliveryEvents",
        "EmailUrlInfo",
        "UrlClickEvents",
    ),
    "identity": (
        "IdentityLogonEvents",
        "IdentityQueryEvents",
        "IdentityDirectoryEvents",
        "IdentityInfo",
    ),
    "apps": ("CloudAppEvents",),
}

FAMILY_DOCS = {
    "alerts": "Alert tables: AlertInfo and AlertEvidence.",
    "device": "Device tables of Microsoft Defender for Endpoint.",
    "email": "Email and URL tables of Microsoft Defender for Office 365.",
    "identity": "Identity tables of Microsoft Defender for Identity.",
    "apps": "CloudAppEvents of Microsoft Defender for Cloud Apps.",
}

#: Columns documented as ``string`` that carry JSON inside the string in some
#: records and a real object or array in others (FIELD-NOTES.md).
JSON_TEXT_COLUMNS = frozenset(
    {
        "AdditionalFields",
        "AttackTechniques",
        "Categories",
        "LoggedOnUsers",
        "IPAddresses",
        "ConnectedNetworks",
        "DefaultGateways",
        "DnsAddresses",
        "NetworkAdapterName",
        "CrlDistributionPointUrls",
        "AuthenticationDetails",
        "UrlChain",
        "DetectionMethods",
        "ConfidenceLevel",
        "RawEventData",
    }
)

#: Documented rows that are not top-level columns (doc_quirks.tsv): the
#: ``LogonID`` rows live inside ``AdditionalFields``.
NOT_COLUMNS = frozenset({"LogonID"})

SCALAR_TYPES = {
    "string": "str",
    "datetime": "_v.Timestamp",
    "int": "int",
    "long": "int",
    "bool": "bool",
    "boolean": "bool",
    "dynamic": "Any",
}

#: SIEM alert field types: JSON types of the documented response sample,
#: datetimes recognised by the documented format.
SIEM_DATETIME_FIELDS = frozenset({"AlertTime", "LastProcessedTimeUtc"})


@dataclass(frozen=True)
class Column:
    name: str
    doc_type: str
    annotation: str


def _rows(name: str) -> list[dict[str, str]]:
    with open(SCHEMA / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _annotation(column: str, doc_type: str) -> str:
    if doc_type not in SCALAR_TYPES:
        raise ValueError(f"unknown documented type {doc_type!r} of column {column!r}")
    if column in JSON_TEXT_COLUMNS and doc_type == "string":
        return "_v.JsonText"
    return SCALAR_TYPES[doc_type]


def _check_name(table: str, column: str) -> None:
    if not column.isidentifier() or keyword.iskeyword(column) or column.startswith("__"):
        raise ValueError(f"{table}.{column} is not usable as an attribute name")


def table_columns() -> dict[str, list[Column]]:
    """Columns of every generated table, in the order the fields are declared.

    Declared order follows the observed wire order (``stream_order.tsv``) so that
    msgspec finds each key at the next field it looks at; documented columns not
    seen on the wire follow in documented order; ``MachineGroup`` is on every table.
    """
    documented: dict[str, list[tuple[str, str]]] = {}
    for row in _rows("tables.tsv"):
        documented.setdefault(row["table"], []).append((row["column"], row["type"]))
    observed: dict[str, list[str]] = {}
    for row in _rows("stream_order.tsv"):
        observed.setdefault(row["table"], []).append(row["column"])

    result: dict[str, list[Column]] = {}
    for tables in FAMILIES.values():
        for table in tables:
            types = {c: t for c, t in documented[table] if c not in NOT_COLUMNS}
            order = [c for c in observed.get(table, []) if c in types or c == "MachineGroup"]
            order += [c for c, _ in documented[table] if c in types and c not in order]
            if "MachineGroup" not in order:
                order.append("MachineGroup")
            types.setdefault("MachineGroup", "string")
            cols = []
            for name in order:
                _check_name(table, name)
                cols.append(Column(name, types[name], _annotation(name, types[name])))
            result[table] = cols
    return result


def siem_columns() -> list[Column]:
    """Fields of the legacy SIEM REST API alert, in the documented sample's order."""
    json_types = {r["field"]: r["json_type_in_doc_sample"] for r in _rows("siem_alert_fields_extra.tsv")}
    cols = []
    for row in sorted(_rows("siem_alert_fields.tsv"), key=lambda r: int(r["position"])):
        name = row["field"]
        _check_name("SiemAlert", name)
        jtype = json_types[name]
        if name in SIEM_DATETIME_FIELDS:
            cols.append(Column(name, "datetime", "_v.Timestamp"))
        elif jtype == "number":
            cols.append(Column(name, "long", "int"))
        elif jtype.startswith("null (bool)"):
            cols.append(Column(name, "bool", "bool"))
        elif jtype == "string":
            cols.append(Column(name, "string", "str"))
        else:
            raise ValueError(f"SIEM alert field {name}: unknown JSON type {jtype!r}")
    return cols


def _sources() -> dict[str, str]:
    return {r["table"]: f"{r['source_doc_path']} @ {r['commit']}" for r in _rows("tables-meta.tsv")}


HEADER = '''"""{doc}

GENERATED by ``python m365parse/tables/_generate.py`` from the schema data in
``m365parse/tables/schema/``. Do not edit by hand.
"""

'''


def _struct(name: str, cols: list[Column], doc: str) -> list[str]:
    lines = [
        f"class {name}(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):",
        f'    """{doc}',
        "",
        "    Every column is optional (``None`` when absent, null or empty).",
        '    """',
        "",
    ]
    for col in cols:
        lines.append(f"    {col.name}: {col.annotation} | None = None")
    lines.append("")
    lines.append("")
    return lines


def _record(table: str) -> list[str]:
    return [
        f'class {table}Record(Record, tag_field="category", tag="AdvancedHunting-{table}"):',
        f'    """A streamed record of {table}: the envelope and its typed ``properties``."""',
        "",
        f'    _table: ClassVar[str] = "{table}"',
        f"    properties: {table}",
        "",
        "",
    ]


def render() -> dict[str, str]:
    """Return ``{relative path: source}`` of every generated module."""
    tables = table_columns()
    sources = _sources()
    out: dict[str, str] = {}
    for family, names in FAMILIES.items():
        body = [
            HEADER.format(doc=FAMILY_DOCS[family]),
            "from __future__ import annotations",
            "",
            "from typing import Any, ClassVar"
            if any(c.annotation == "Any" for t in names for c in tables[t])
            else "from typing import ClassVar",
            "",
            "from msgspec import Struct",
            "",
            "from .. import _values as _v",
            "from ..record import Record",
            "",
            f"__all__ = {json.dumps(sorted([*names, *(n + 'Record' for n in names)]))}",
            "",
            "",
        ]
        for table in names:
            doc = f"Advanced Hunting table ``{table}`` ({len(tables[table])} columns). Source: {sources.get(table, 'tables.tsv')}."
            body += _struct(table, tables[table], doc)
            body += _record(table)
        out[f"{family}.py"] = "\n".join(body).rstrip() + "\n"

    siem = [
        HEADER.format(doc="The alert of the legacy Microsoft Defender for Endpoint SIEM REST API."),
        "from __future__ import annotations",
        "",
        "from msgspec import Struct",
        "",
        "from .. import _values as _v",
        "",
        '__all__ = ["SiemAlert"]',
        "",
        "",
    ]
    siem += _struct(
        "SiemAlert",
        siem_columns(),
        "One alert object of the SIEM REST API response (50 documented fields).",
    )
    out["siem.py"] = "\n".join(siem).rstrip() + "\n"

    reg = [
        HEADER.format(doc="Registry of the generated tables."),
        "from __future__ import annotations",
        "",
        "from msgspec import Struct",
        "",
        "from ..record import Record",
    ]
    reg.append(f"from . import {', '.join(sorted([*FAMILIES, 'siem']))}")
    reg += [
        "",
        "#: Table name -> typed struct of its ``properties`` (``SiemAlert`` for SIEM alerts).",
        "TABLES: dict[str, type[Struct]] = {",
    ]
    for family, names in FAMILIES.items():
        for table in names:
            reg.append(f'    "{table}": {family}.{table},')
    reg += ['    "SiemAlert": siem.SiemAlert,', "}", ""]
    reg += [
        "#: Table name -> record type decoded for ``AdvancedHunting-<table>``.",
        "RECORD_TYPES: dict[str, type[Record]] = {",
    ]
    for family, names in FAMILIES.items():
        for table in names:
            reg.append(f'    "{table}": {family}.{table}Record,')
    reg += ["}", ""]
    reg += [
        "#: Table name -> documented Kusto type of every column (``SiemAlert`` included).",
        "DOCUMENTED_TYPES: dict[str, dict[str, str]] = {",
    ]
    for table, cols in [*tables.items(), ("SiemAlert", siem_columns())]:
        inner = ", ".join(f'"{c.name}": "{c.doc_type}"' for c in cols)
        reg.append(f'    "{table}": {{{inner}}},')
    reg += ["}", ""]
    out["_registry.py"] = "\n".join(reg).rstrip() + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    stale = []
    for rel, text in render().items():
        path = HERE / rel
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(rel)
            if not check:
                path.write_text(text, encoding="utf-8")
    if check and stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    for rel in stale:
        print(f"wrote m365parse/tables/{rel}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
