"""Generate the table modules of :mod:`m365parse.tables` from the schema data.

The schema data in ``m365parse/tables/schema/`` is a copy of Microsoft's Advanced
Hunting schema (columns and documented types per table, the observed wire order of
columns, the legacy SIEM REST API alert fields).  Run::

    python m365parse/tables/_generate.py

to rewrite the generated modules; ``tests/test_tables.py`` fails when they are out
of date with the schema data.  Nothing here runs when the library is imported.

Data read, besides Microsoft's schema (``tables.tsv``, ``stream_order.tsv``,
``tables-meta.tsv``, the SIEM alert fields):

- ``undocumented_columns.tsv``: columns real records carry and no doc lists; each
  becomes an attribute with its inferred type, unless it is a spelling of a
  documented column;
- ``spellings.tsv``: per (table, documented column), the spelling real records
  carry (the msgspec wire name, decoded in one pass) and the other spelling (read
  on the per-record path through the struct's ``_variants``);
- ``type_overrides.tsv``: columns whose real JSON type is not the documented one,
  with the type chosen and its evidence (the one place of these decisions);
- ``seen_streamed.tsv``: tables seen streamed although the doc does not list them.

Documented type names map to annotations as :data:`SCALAR_TYPES` says.
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

#: Every table of ``tables.tsv`` in exactly one family module.  The families that
#: hold the tables seen streamed (:data:`STREAMED`) are imported when a decoder
#: is built; the others only when one of their types is first used.
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
    "behavior": ("BehaviorInfo", "BehaviorEntities"),
    "cloud": (
        "CloudAuditEvents",
        "CloudProcessEvents",
        "CloudStorageAggregatedEvents",
        "CloudDnsEvents",
        "CloudPolicyEnforcementEvents",
    ),
    "message": (
        "MessageEvents",
        "MessagePostDeliveryEvents",
        "MessageUrlInfo",
        "MessageContents",
        "CallActivityEvents",
    ),
    "signin": (
        "EntraIdSignInEvents",
        "EntraIdSpnSignInEvents",
        "AADSignInEventsBeta",
        "AADSpnSignInEventsBeta",
    ),
    "directory": (
        "IdentityEvents",
        "IdentityAccountInfo",
        "GraphAPIAuditEvents",
        "OAuthAppInfo",
    ),
    "tvm": (
        "DeviceTvmSoftwareInventory",
        "DeviceTvmSoftwareVulnerabilities",
        "DeviceTvmSoftwareVulnerabilitiesKB",
        "DeviceTvmSoftwareEvidenceBeta",
        "DeviceTvmSecureConfigurationAssessment",
        "DeviceTvmSecureConfigurationAssessmentKB",
        "DeviceTvmBrowserExtensions",
        "DeviceTvmBrowserExtensionsKB",
        "DeviceTvmCertificateInfo",
        "DeviceTvmHardwareFirmware",
        "DeviceTvmInfoGathering",
        "DeviceTvmInfoGatheringKB",
        "DeviceBaselineComplianceAssessment",
        "DeviceBaselineComplianceAssessmentKB",
        "DeviceBaselineComplianceProfiles",
    ),
    "exposure": ("ExposureGraphNodes", "ExposureGraphEdges"),
    "datasecurity": ("DataSecurityEvents", "DataSecurityBehaviors"),
    "threats": ("CampaignInfo", "FileMaliciousContentInfo", "DisruptionAndResponseEvents"),
    "agents": ("AgentsInfo", "AIAgentsInfo"),
}

FAMILY_DOCS = {
    "alerts": "Alert tables: AlertInfo and AlertEvidence.",
    "device": "Device tables of Microsoft Defender for Endpoint.",
    "email": "Email and URL tables of Microsoft Defender for Office 365.",
    "identity": "Identity tables of Microsoft Defender for Identity.",
    "apps": "CloudAppEvents of Microsoft Defender for Cloud Apps.",
    "behavior": "Behavior tables: BehaviorInfo and BehaviorEntities.",
    "cloud": "Cloud workload tables of Microsoft Defender for Cloud.",
    "message": "Teams message and call tables of Microsoft Defender for Office 365.",
    "signin": "Microsoft Entra ID sign-in tables (user and service principal, and their Beta predecessors).",
    "directory": "Identity and directory tables that are not streamed: IdentityEvents, IdentityAccountInfo, "
    "GraphAPIAuditEvents, OAuthAppInfo.",
    "tvm": "Vulnerability management (DeviceTvm*) and baseline compliance tables.",
    "exposure": "Exposure graph tables of Microsoft Security Exposure Management.",
    "datasecurity": "Data security tables of Microsoft Purview Insider Risk Management.",
    "threats": "Threat campaign, malicious content and disruption tables.",
    "agents": "AI agent inventory tables.",
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

#: Documented type name -> annotation of the attribute.  The docs use fourteen
#: names (SCHEMA-NOTES.md, "Type names"); the ones that are not Kusto type names
#: are read for what they hold:
#:
#: ============================  ==============================================
#: documented type               annotation
#: ============================  ==============================================
#: string, guid                  ``str`` (``_v.JsonText`` for JSON_TEXT_COLUMNS)
#: int, integer, long            ``int``
#: real                          ``float`` (a JSON integer is accepted too)
#: bool, boolean, nullable bool  ``bool`` (``0``/``1``, ``"true"`` ... accepted)
#: datetime                      ``_v.Timestamp``
#: dynamic, object, array        ``Any`` (any JSON value, kept as it arrived)
#: enum                          ``Any`` (a code, number or text; values not documented)
#: json (type_overrides.tsv)     ``_v.JsonText`` (JSON text or the value itself)
#: ============================  ==============================================
SCALAR_TYPES = {
    "string": "str",
    "guid": "str",
    "datetime": "_v.Timestamp",
    "int": "int",
    "integer": "int",
    "long": "int",
    "real": "float",
    "bool": "bool",
    "boolean": "bool",
    "nullable bool": "bool",
    "dynamic": "Any",
    "object": "Any",
    "array": "Any",
    "enum": "Any",
    "json": "_v.JsonText",
}

#: One-letter codes of the annotations in the registry's compact column data.
ANNOTATION_CODES = {
    "s": "str",
    "i": "int",
    "f": "float",
    "b": "bool",
    "t": "_v.Timestamp",
    "j": "_v.JsonText",
    "a": "Any",
}

#: SIEM alert field types: JSON types of the documented response sample,
#: datetimes recognised by the documented format.
SIEM_DATETIME_FIELDS = frozenset({"AlertTime", "LastProcessedTimeUtc"})


@dataclass(frozen=True)
class Column:
    """One attribute of a generated struct.

    ``name`` is the attribute (Microsoft's documented column name), ``wire`` the
    key msgspec decodes it from on the one-pass path (the spelling real records
    carry, ``spellings.tsv``), ``variants`` the other spellings that fill it on the
    per-record path.  ``doc_type`` is the documented type (or the inferred type of
    an undocumented column), ``annotation`` the chosen one.
    """

    name: str
    doc_type: str
    annotation: str
    wire: str = ""
    variants: tuple[str, ...] = ()
    origin: str = "documented"  # "documented", "undocumented" or "decoration" (MachineGroup)

    def __post_init__(self) -> None:
        if not self.wire:
            object.__setattr__(self, "wire", self.name)


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
    if not column.isidentifier() or keyword.iskeyword(column) or column.startswith("_"):
        raise ValueError(f"{table}.{column} is not usable as an attribute name")


def type_overrides() -> dict[tuple[str, str], dict[str, str]]:
    """``(table, column)`` -> row of ``type_overrides.tsv``: where real data sends another JSON type."""
    return {(r["table"], r["column"]): r for r in _rows("type_overrides.tsv")}


def spellings() -> dict[tuple[str, str], dict[str, str]]:
    """``(table, attribute)`` -> row of ``spellings.tsv``: wire name and variant spelling of a column."""
    return {(r["table"], r["attribute"]): r for r in _rows("spellings.tsv")}


def streamed_tables() -> list[str]:
    """Tables whose records are streamed: the documented 21, then those seen streamed in the wild."""
    documented = [r["table"] for r in _rows("tables-meta.tsv") if r["streamable"] == "yes"]
    seen = [r["table"] for r in _rows("seen_streamed.tsv")]
    return documented + [t for t in seen if t not in documented]


def table_columns() -> dict[str, list[Column]]:
    """Columns of every generated table, in the order the fields are declared.

    Declared order follows the observed wire order (``stream_order.tsv``) so that
    msgspec finds each key at the next field it looks at; documented columns not
    seen on the wire follow in documented order, then the columns real records
    carry that no doc lists (``undocumented_columns.tsv``); ``MachineGroup`` is on
    every table.  A spelling variant of a documented column (``spellings.tsv``) is
    not a column of its own: it is the wire name or a variant of the documented
    attribute.  ``type_overrides.tsv`` sets the type of columns whose real JSON
    type is not the documented one.
    """
    documented: dict[str, list[tuple[str, str]]] = {}
    for row in _rows("tables.tsv"):
        documented.setdefault(row["table"], []).append((row["column"], row["type"]))
    observed: dict[str, list[str]] = {}
    for row in _rows("stream_order.tsv"):
        observed.setdefault(row["table"], []).append(row["column"])
    undocumented: dict[str, list[tuple[str, str]]] = {}
    for row in _rows("undocumented_columns.tsv"):
        undocumented.setdefault(row["table"], []).append((row["column"], row["inferred_type"]))
    overrides = type_overrides()
    spelled = spellings()

    families = [t for tables in FAMILIES.values() for t in tables]
    if sorted(families) != sorted(documented) or len(set(families)) != len(families):
        missing = sorted(set(documented) - set(families))
        unknown = sorted(set(families) - set(documented))
        raise ValueError(f"FAMILIES must hold every table of tables.tsv once; missing {missing}, unknown {unknown}")
    for table, _column in [*overrides, *spelled]:
        if table not in documented:
            raise ValueError(f"{table} is not a table of tables.tsv")

    result: dict[str, list[Column]] = {}
    for table in families:
        types = {c: t for c, t in documented[table] if c not in NOT_COLUMNS}
        origins = dict.fromkeys(types, "documented")
        # wire name -> attribute, for the spellings of this table
        wire_of = {a: r["wire_name"] for (t, a), r in spelled.items() if t == table}
        variants_of = {a: r["variant"] for (t, a), r in spelled.items() if t == table}
        for attribute, wire in wire_of.items():
            if attribute not in types:
                raise ValueError(f"spellings.tsv: {table}.{attribute} is not a documented column")
            if attribute not in (wire, variants_of[attribute]) or wire == variants_of[attribute]:
                raise ValueError(f"spellings.tsv: {table}.{attribute}: one of wire_name and variant is the attribute")
        spelling_keys = {k for a in wire_of for k in (wire_of[a], variants_of[a])}
        for column, kind in undocumented.get(table, []):
            if column in spelling_keys:
                continue  # a spelling of a documented column, not a column of its own
            if column in types:
                raise ValueError(f"undocumented_columns.tsv: {table}.{column} is documented")
            types[column] = kind
            origins[column] = "undocumented"
        types.setdefault("MachineGroup", "string")
        origins.setdefault("MachineGroup", "decoration")
        wire_to_attr = {wire_of.get(c, c): c for c in types}
        order = [wire_to_attr[c] for c in observed.get(table, []) if c in wire_to_attr]
        order += [c for c, _ in documented[table] if c in types and c not in order]
        order += [c for c in types if c not in order and c != "MachineGroup"]
        if "MachineGroup" not in order:
            order.append("MachineGroup")
        cols = []
        for name in order:
            _check_name(table, name)
            override = overrides.get((table, name))
            if override is not None:
                if override["documented_type"] != types[name]:
                    raise ValueError(
                        f"type_overrides.tsv: {table}.{name} is documented {types[name]!r}, "
                        f"not {override['documented_type']!r}"
                    )
                annotation = SCALAR_TYPES[override["chosen_type"]]
            else:
                annotation = _annotation(name, types[name])
            wire = wire_of.get(name, name)
            variants = tuple(v for v in (name, variants_of.get(name, name)) if v != wire)
            cols.append(Column(name, types[name], annotation, wire, tuple(dict.fromkeys(variants)), origins[name]))
        result[table] = cols
    for table, column in overrides:
        if not any(c.name == column for c in result[table]):
            raise ValueError(f"type_overrides.tsv: {table}.{column} is not a column")
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


def _notes(table: str, cols: list[Column]) -> list[str]:
    """Docstring lines on the columns of ``table`` that are not as documented."""
    overrides = type_overrides()
    notes = []
    for col in cols:
        if col.wire != col.name:
            notes.append(
                f"``{col.name}`` arrives as ``{col.wire}`` in real records (decoded in one pass); "
                f"the documented ``{col.name}`` fills it too."
            )
        elif col.variants:
            notes.append(f"``{col.name}`` is also accepted spelled {', '.join(f'``{v}``' for v in col.variants)}.")
        if col.origin == "undocumented":
            notes.append(f"``{col.name}`` ({col.doc_type}) is carried by real records, not documented.")
        override = overrides.get((table, col.name))
        if override is not None:
            notes.append(
                f"``{col.name}`` is documented {override['documented_type']}; typed "
                f"``{col.annotation}`` as real data sends it."
            )
    return notes


def _struct(name: str, cols: list[Column], doc: str, notes: list[str] | None = None) -> list[str]:
    lines = [
        f"class {name}(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):",
        f'    """{doc}',
        "",
        "    Every column is optional (``None`` when absent, null or empty).",
    ]
    if notes:
        lines.append("")
        lines += [f"    - {note}" for note in notes]
    lines += ['    """', ""]
    variants = {v: c.name for c in cols for v in c.variants}
    if variants:
        lines.append(f"    _variants: ClassVar[dict[str, str]] = {json.dumps(variants)}")
        lines.append('    """Other spellings of columns -> attribute (the per-record path reads them)."""')
        lines.append("")
    for col in cols:
        if col.wire != col.name:
            lines.append(f'    {col.name}: {col.annotation} | None = field(default=None, name="{col.wire}")')
        else:
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


def _json_line(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def render() -> dict[str, str]:
    """Return ``{relative path: source}`` of every generated module."""
    tables = table_columns()
    sources = _sources()
    out: dict[str, str] = {}
    for family, names in FAMILIES.items():
        cols_of = [c for t in names for c in tables[t]]
        typing_names = ["ClassVar"] + (["Any"] if any("Any" in c.annotation for c in cols_of) else [])
        msgspec_names = ["Struct"] + (["field"] if any(c.wire != c.name for c in cols_of) else [])
        body = [
            HEADER.format(doc=FAMILY_DOCS[family]),
            "from __future__ import annotations",
            "",
            f"from typing import {', '.join(sorted(typing_names))}",
            "",
            f"from msgspec import {', '.join(msgspec_names)}",
            "",
            *(["from .. import _values as _v"] if any("_v." in c.annotation for c in cols_of) else []),
            "from ..record import Record",
            "",
            f"__all__ = {json.dumps(sorted([*names, *(n + 'Record' for n in names)]))}",
            "",
            "",
        ]
        for table in names:
            doc = f"Advanced Hunting table ``{table}`` ({len(tables[table])} columns). Source: {sources[table]}."
            body += _struct(table, tables[table], doc, _notes(table, tables[table]))
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

    streamed = streamed_tables()
    reg = [
        HEADER.format(doc="Registry data of the generated tables: names, families, types (no struct is built here)."),
        "from __future__ import annotations",
        "",
        "#: Table name -> the module of this package that defines its struct and record type.",
        "FAMILY_OF: dict[str, str] = {",
    ]
    for family, names in FAMILIES.items():
        for table in names:
            reg.append(f'    "{table}": "{family}",')
    reg += ['    "SiemAlert": "siem",', "}", ""]
    reg += [
        "#: Tables whose records are streamed: the 21 the Streaming API documents, then the ones seen",
        "#: streamed in the wild (``schema/seen_streamed.tsv``).",
        f"STREAMED: tuple[str, ...] = {tuple(streamed)!r}".replace("'", '"'),
        "",
        "#: Table name -> column -> documented Kusto type (the inferred type for columns that real",
        "#: records carry and no doc lists; ``SiemAlert`` included).  Keys are attribute names.",
        "DOCUMENTED_TYPES: dict[str, dict[str, str]] = {}",
        "#: Table name -> attribute -> its annotation as written in the struct (``str``, ``int``,",
        "#: ``float``, ``bool``, ``_v.Timestamp``, ``_v.JsonText``, ``Any``).",
        "ANNOTATIONS: dict[str, dict[str, str]] = {}",
        "",
        f"_CODES = {json.dumps(ANNOTATION_CODES)}",
        "",
        "# One line per table: the table, then column:documented type:annotation code, in declared",
        "# order (plain text: it compiles much faster than dict literals of 1,700 entries).",
        '_COLUMNS = """\\',
    ]
    codes = {v: k for k, v in ANNOTATION_CODES.items()}
    for table, cols in [*tables.items(), ("SiemAlert", siem_columns())]:
        reg.append(table + "\t" + ",".join(f"{c.name}:{c.doc_type}:{codes[c.annotation]}" for c in cols))
    reg += [
        '"""',
        "",
        "for _line in _COLUMNS.splitlines():",
        '    _table, _, _rest = _line.partition("\\t")',
        "    _types: dict[str, str] = {}",
        "    _notes: dict[str, str] = {}",
        '    for _item in _rest.split(","):',
        '        _name, _kind, _code = _item.split(":")',
        "        _types[_name] = _kind",
        "        _notes[_name] = _CODES[_code]",
        "    DOCUMENTED_TYPES[_table] = _types",
        "    ANNOTATIONS[_table] = _notes",
        "",
    ]
    reg += [
        "#: Table name -> attributes of columns that real records carry and no doc lists",
        "#: (``schema/undocumented_columns.tsv``): not part of an Advanced Hunting query's schema.",
        "UNDOCUMENTED: dict[str, tuple[str, ...]] = {",
    ]
    for table, cols in tables.items():
        names = tuple(c.name for c in cols if c.origin == "undocumented")
        if names:
            reg.append(f"    {_json_line(table)}: {_json_line(list(names)).replace('[', '(').replace(']', ',)' if len(names) == 1 else ')')},")
    reg += ["}", ""]
    reg += [
        "#: Table name -> other spelling -> attribute it fills (``schema/spellings.tsv``).",
        "SPELLINGS: dict[str, dict[str, str]] = {",
    ]
    for table, cols in tables.items():
        pairs = {k: c.name for c in cols for k in (c.wire, *c.variants) if k != c.name}
        if pairs:
            reg.append(f"    {_json_line(table)}: {_json_line(pairs)},")
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
