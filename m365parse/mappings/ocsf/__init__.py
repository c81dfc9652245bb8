"""The ``"ocsf"`` rule set: one OCSF 1.8.0 event per record, of every table and the SIEM alert.

``m365parse.normalize(record, "ocsf")`` gives a nested dict that is an event of
the Open Cybersecurity Schema Framework 1.8.0.  The whole mapping is in
``OCSF.md`` next to this package (:func:`mapping_table`); the choices that matter:

- **Class.** The table decides, and in tables that mix kinds of events the
  ``ActionType`` (DeviceEvents: Process, Memory, File System, Script, Scheduled Job,
  Windows Service, Kernel Extension, Peripheral, Event Log, Account Change, Network
  Activity, Detection Finding, and Base Events with ``action_id``/``disposition_id``
  for protection events; DeviceRegistryEvents: Registry Key or Value Activity;
  DeviceNetworkEvents: DNS Activity for DNS inspections; IdentityDirectoryEvents:
  Group Management or Account Change).  Entra ID sign-ins (``EntraIdSignInEvents``,
  ``EntraIdSpnSignInEvents`` and their ``AAD*Beta`` forerunners) are Authentication
  (a Logon, its outcome from ``ErrorCode`` in ``status_id``; a service principal is
  a user of type Service), ``BehaviorInfo`` and ``BehaviorEntities`` Detection Findings that are no alert,
  ``FileMaliciousContentInfo`` and ``CampaignInfo`` Detection Findings, ``IdentityAccountInfo``
  User Inventory Info,
  ``CloudProcessEvents`` Process Activity, ``CloudDnsEvents`` DNS Activity,
  ``CloudAuditEvents`` and ``GraphAPIAuditEvents`` API Activity (a Graph call's
  activity from its HTTP method); the vulnerability management tables: software
  inventory, software evidence and browser extensions as Software Inventory Info, vulnerable software as Vulnerability
  Findings, configuration assessments as Compliance Findings.  A record without
  what its class requires (a File System Activity needs the file's name and an
  actor), an ActionType of no class, a table without
  rules and a table this version does not know give a **Base Event** (class 0,
  activity Other, or Unknown without an ActionType): valid OCSF whatever the
  record holds, everything in ``unmapped``.
- ``type_uid`` is always ``class_uid * 100 + activity_id``; every ``*_id`` has its
  caption (``class_name``, ``activity_name``, ``type_name``, ``severity``, ...), except
  that an activity Other (99) is named by the record's own value (its ``ActionType``),
  as OCSF asks of 99, and ``type_name`` stays ``<class>: Other``.
  Outcomes are ``status_id`` (a failed logon is a Logon with status Failure).
- **Time.** ``time`` is ms since the epoch (OCSF's ``timestamp_t``, rounded down);
  the exact instant with all 7 digits is in ``time_dt`` (the ``datetime`` profile,
  always declared) and ``metadata.original_time``.  ``metadata.logged_time`` is the
  envelope ``time``.  Without ``Timestamp`` (``AlertTime``) ``time`` is the envelope
  ``time`` (``LastProcessedTimeUtc``), and 0 when there is none at all (OCSF requires
  a time); ``time_dt`` and ``original_time`` are then absent.
- **Severity.** Alerts: Informational 1, Low 2, Medium 3, High 4 (OCSF's own
  scale), other text 99 (Other) with the text in ``severity``.  Activity and
  inventory events carry no severity: 1 (Informational); a finding of a table
  without a severity column (a behavior, an antivirus detection, a configuration
  assessment) is 0 (Unknown): nothing in the record says how severe it is.
- **Actor.** The initiating process is ``actor.process`` (its parent
  ``actor.process.parent_process``, its account ``actor.user`` and
  ``actor.process.user``); DeviceProcessEvents' created process is ``process``,
  with the initiating process as its ``parent_process``.  Users have ``name``,
  ``domain``, ``uid`` (the SID) and ``uid_alt`` (the Entra object id).  All hashes
  are ``fingerprints`` (``file.hashes[]``: MD5, SHA-1, SHA-256).
- **Direction.** The remote side is ``src_endpoint`` when it opened the connection
  (condition ``inbound``: every inbound ActionType, ``AdditionalFields.direction``
  ``"In"``).
- **Findings.** AlertInfo, AlertEvidence and SIEM alerts are Detection Findings
  (``finding_info``, ``evidences[]``, ``attacks[]`` from AttackTechniques and the
  tactics that categories name).
- **Nothing is lost.** A documented column that no attribute keeps whole is in
  ``unmapped.<Column>`` (Microsoft's name; datetimes as exact ISO text, JSON
  columns decoded once); undeclared columns and values that did not fit their
  type in ``unmapped.extra``; envelope keys without a place in
  ``unmapped.envelope``; the row of a table without rules in
  ``unmapped.properties``.
"""

from __future__ import annotations

from ...tables import DOCUMENTED_TYPES
from .. import ocsf_transforms  # noqa: F401 - registers the transforms this rule set uses
from ..registry import ALL, RuleSet, describe
from ..specs import Rules, col, const, first, lookup
from . import alerts, cloud, device, email, identity, inventory, response, tvm
from ._base_tables import BASE_EVENT_TABLES
from ._build import BASE_EVENT, VERSION, TableMapping, build
from ._common import _row, base
from ._common import device as device_rules
from ._dispatch import OcsfRuleSet
from ._schema import CLASSES

__all__ = ["OCSF", "OCSF_VERSION", "MAPPINGS", "TableMapping", "mapping_table"]

#: The OCSF version of the events (``metadata.version``).
OCSF_VERSION = VERSION

#: Table -> its mapping; the families' modules hold them.
MAPPINGS: dict[str, TableMapping] = {
    **device.MAPPINGS,
    **alerts.MAPPINGS,
    **email.MAPPINGS,
    **identity.MAPPINGS,
    **cloud.MAPPINGS,
    **tvm.MAPPINGS,
    **response.MAPPINGS,
    **inventory.MAPPINGS,
}


#: ``ActionResult`` (lower case) -> OCSF ``status_id`` and its caption; other values stay in unmapped only.
_OUTCOMES = {
    "success": (1, "Success"),
    "succeeded": (1, "Success"),
    "failure": (2, "Failure"),
    "failed": (2, "Failure"),
    "error": (2, "Failure"),
}


def _generic(table: str) -> TableMapping:
    """A table without a mapping: Base Events, with the device when the row names one."""
    cols = DOCUMENTED_TYPES[table]
    # the event's own time; CallActivityEvents has no Timestamp, its activity's time is ActivityTimestamp
    time = "ActivityTimestamp" if "Timestamp" not in cols and "ActivityTimestamp" in cols else "Timestamp"
    common = base(table, time=time)
    profiles: tuple[str, ...] = ("datetime",)
    if "ActionResult" in cols:
        # the outcome of the action is the event's status (MessagePostDeliveryEvents' Success, an IdP's FAILURE)
        result = col("ActionResult", "lower")
        common["status_id"] = lookup(result, {k: v for k, (v, _) in _OUTCOMES.items()})
        common["status"] = lookup(result, {k: c for k, (_, c) in _OUTCOMES.items()})
    if "DeviceId" in cols or "DeviceName" in cols:
        common |= device_rules()
        # the Entra device id and whether the device is managed, as in DeviceInfo (DataSecurityEvents)
        common |= {"device.uid_alt": "AadDeviceId", "device.is_managed": "IsManagedDevice"}
        # a device only when the record says something of it (the builder drops what reads absent columns)
        said = [c for c in ("DeviceId", "DeviceName", "AadDeviceId", "IsManagedDevice") if c in cols]
        common["device.type_id"] = first(*(col(c, "present:0") for c in said))
        common["device.type"] = first(*(col(c, "present_text:Unknown") for c in said))
        profiles = ("datetime", "host")
    return TableMapping(table, plans=(), common=common, base_profiles=profiles)


#: The rules of a record of a table this version does not know: a Base Event, the row in unmapped.properties.
UNKNOWN_TABLE_RULES: Rules = {
    **build(TableMapping("DeviceEvents", plans=(), common=base(None), base_profiles=("datetime",))),
    "device.hostname": "DeviceName",
    "device.uid": "DeviceId",
    "unmapped.properties": {"call": _row},
}
for _key in [k for k in UNKNOWN_TABLE_RULES if k.startswith("unmapped.") and k[9:] in DOCUMENTED_TYPES["DeviceEvents"]]:
    del UNKNOWN_TABLE_RULES[_key]  # the whole row is in unmapped.properties
_HOST = {"x": ["datetime", "host"]}
# a device (and the host profile) when the row names one
UNKNOWN_TABLE_RULES["device.type_id"] = first(col("DeviceId", "present:0"), col("DeviceName", "present:0"))
UNKNOWN_TABLE_RULES["device.type"] = first(*(col(c, "present_text:Unknown") for c in ("DeviceId", "DeviceName")))
UNKNOWN_TABLE_RULES["metadata.profiles"] = first(
    lookup(col("DeviceId", "present_text:x"), _HOST),
    lookup(col("DeviceName", "present_text:x"), _HOST),
    const(["datetime"]),
)


def _rules() -> dict[str, Rules]:
    out: dict[str, Rules] = {ALL: dict(UNKNOWN_TABLE_RULES)}
    for table in DOCUMENTED_TYPES:
        rules = build(MAPPINGS.get(table) or _generic(table))
        for target in UNKNOWN_TABLE_RULES:
            rules.setdefault(target, None)  # the "*" rules are for unknown tables only
        out[table] = rules
    return out


_DESCRIPTION = "OCSF 1.8.0 events: the class of each table and ActionType, the rest in unmapped"

#: The rule set, registered as ``"ocsf"``.
OCSF: RuleSet = OcsfRuleSet("ocsf", _rules(), description=_DESCRIPTION, nested=True)

_ORDER = (
    "class_uid",
    "class_name",
    "category_uid",
    "category_name",
    "activity_id",
    "activity_name",
    "type_uid",
    "type_name",
    "severity_id",
    "severity",
    "status_id",
    "time",
    "time_dt",
    "metadata",
)


def _rank(target: str) -> tuple[int, str]:
    head = target.split(".", 1)[0]
    if head == "unmapped":
        return (len(_ORDER) + 2, target)
    return (_ORDER.index(head) if head in _ORDER else len(_ORDER), target if head not in _ORDER else "")


def _need(item: str | tuple[str, ...]) -> str:
    return f"`{item}`" if isinstance(item, str) else f"`{item[0]}` \\| {', '.join(item[1:])}"


def mapping_table(rule_set: RuleSet | None = None) -> str:
    """The whole mapping as Markdown: per table, each attribute and where its value comes from."""
    rs = rule_set or OCSF
    lines = [f"# The {rs.name!r} rule set", "", rs.description + ".", ""]
    lines += ["Generated by `m365parse.mappings.ocsf.mapping_table()`; a test keeps it current.", ""]
    lines += [
        "Conditions (`if ...`) are documented in `m365parse/mappings/transforms.py`; `if ocsf <Table> <class>#<n>`",
        "holds when a record takes the n-th plan of its table (its ActionType and what the class needs, see",
        "`m365parse/mappings/ocsf/`), `if has <Column>` when the column has a value. Transforms (`| ...`) are",
        "in `transforms.py` and `ocsf_transforms.py`; `mapped (...)` looks the value up.",
        "",
    ]
    lines += [
        "## Classes",
        "",
        "Each table's plans, in order: the class, the ActionTypes that take it, what it needs (one of each",
        "group). A record that fits none is a Base Event (0).",
        "",
        "| table | plan | class | ActionType | needs |",
        "|---|---|---|---|---|",
    ]
    for table in [t for t in DOCUMENTED_TYPES if t != "SiemAlert"] + ["SiemAlert"]:
        mapping = MAPPINGS.get(table)
        for i, plan in enumerate(mapping.plans if mapping else ()):
            caption = CLASSES[plan.class_uid][1]
            actions = ", ".join(f"`{a}`" for a in sorted(plan.actions)) if plan.actions is not None else "any other"
            needs = "; ".join(" or ".join(_need(item) for item in group) for group in plan.needs) or "-"
            lines.append(f"| {table} | {i} | {caption} ({plan.class_uid}) | {actions} | {needs} |")
        if not mapping or not mapping.plans:
            lines.append(f"| {table} | - | Base Event ({BASE_EVENT}) | any | - |")
    lines += [
        "",
        "## Tables that stay Base Events",
        "",
        "No OCSF 1.8.0 class fits their records, for this reason:",
        "",
        "| table | why |",
        "|---|---|",
    ]
    lines += [f"| {table} | {why} |" for table, why in BASE_EVENT_TABLES.items()]
    lines.append("")
    lines += [
        "## Testing",
        "",
        "- Every event the tests make (samples, every plan's ActionTypes, random records) is checked against",
        "  the OCSF 1.8.0 schema (`tests/ocsf_schema.py`): required attributes, no attribute outside the class",
        "  and its declared profiles, types, enums and captions.",
        "- `tests/golden_ocsf/`: events made by running the rule set and checked by eye; they catch changes.",
        "- `tests/golden_ocsf_hand/` (`tests/test_ocsf_hand.py`): for each table and API kind covered, one",
        "  input record and the event it must become, written by hand, attribute by attribute, from what the",
        "  columns mean (Microsoft's schema and API documentation), the class this page names, and the OCSF",
        "  1.8.0 class and object attributes, without running the rule set; compared as whole events. Where",
        "  the rule set and a document differed, the references decided which was wrong, and it was fixed.",
        "",
    ]
    for table in [t for t in DOCUMENTED_TYPES if t != "SiemAlert"] + ["SiemAlert", ALL]:
        title = "Records of unknown tables" if table == ALL else table
        lines += [f"## {title}", "", "| attribute | from |", "|---|---|"]
        rules = rs.rules_for(table) if table != ALL else {k: v for k, v in rs.rules[ALL].items() if v is not None}
        for target in sorted(rules, key=_rank):
            text = describe(rules[target]).replace("|", "\\|")
            lines.append(f"| `{target}` | {text} |")
        lines.append("")
    from ..api_rules import api_sections  # the API kinds' sections (imported here: not needed at import)

    return "\n".join(lines) + "\n" + api_sections("ocsf", _rank)
