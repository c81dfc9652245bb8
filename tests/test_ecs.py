"""The "ecs" rule set: golden documents, ECS validity, categorization, peer mistakes, docs.

ECS field definitions and allowed values are test data in ``tests/data/ecs/`` (a copy
of the ECS project's generated field list); the library does not read them.
"""

from __future__ import annotations

import csv
import ipaddress
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import m365parse
from m365parse import RuleSet, registry
from m365parse._values import format_ns
from m365parse.errors import MappingError
from m365parse.mappings import ecs
from m365parse.mappings.ecs import ECS, VENDOR, kept_columns, mapping_table, vendor_prefix
from m365parse.mappings.registry import ALL
from m365parse.mappings.transforms import CONDITIONS, transform
from m365parse.tables import DOCUMENTED_TYPES

from .conftest import body, record

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden_ecs"
ECS_DATA = HERE / "data" / "ecs"
SAMPLES = Path(m365parse.__file__).resolve().parent / "samples"
DOC = Path(ecs.__file__).resolve().parent / "ECS.md"
#: Tables with hand-written golden documents (the 21 streamed ones, IdentityInfo and SIEM alerts at least).
TABLES = [t for t in m365parse.TABLES if (GOLDEN / t).is_dir()]
ALL_TABLES = list(m365parse.TABLES)
RULE_SETS = ["ecs", "ecs+original", "ecs+severity", "ecs+severity+original"]


def _tsv(name: str) -> list[dict[str, str]]:
    with (ECS_DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


#: ECS field -> (type, is an array)
FIELDS = {row["field"]: (row["type"], row["normalization"] == "array") for row in _tsv("ecs_fields.tsv")}
#: categorization field -> allowed value -> event.type values expected with it (event.category only)
ALLOWED: dict[str, dict[str, set[str]]] = {}
for _row in _tsv("ecs_allowed_values.tsv"):
    _types = {t for t in _row["expected_event_types"].split(",") if t}
    ALLOWED.setdefault(_row["field"], {})[_row["value"]] = _types

TEXT = {"keyword", "wildcard", "match_only_text", "constant_keyword"}
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d*[1-9])?Z\Z")


def _decode(data: bytes) -> list[m365parse.Record]:
    batch = m365parse.decode(data)
    assert batch.errors == []
    return batch.records


def _doc(table: str, rule_set: str = "ecs", **props: Any) -> dict[str, Any]:
    (rec,) = _decode(body(record(table, **props)))
    return m365parse.normalize(rec, rule_set)


def _get(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _sample(table: str) -> list[m365parse.Record]:
    return _decode((SAMPLES / f"{table}.json").read_bytes())


# --- golden documents -------------------------------------------------------------------

CASES = sorted(GOLDEN.glob("*/*.input.json"))


def test_every_table_has_golden_documents() -> None:
    assert {p.parent.name for p in CASES} >= set(TABLES) | {"_unknown"}


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name.split('.')[0]}" for p in CASES])
def test_golden(path: Path) -> None:
    expected = json.loads(path.with_name(path.name.replace(".input.", ".expected.")).read_text("utf-8"))
    docs = [m365parse.normalize(r, "ecs") for r in _decode(path.read_bytes())]
    assert json.loads(json.dumps(docs)) == expected
    for doc in docs:
        check_document(doc)


# --- validity of documents ------------------------------------------------------------


def _leaves(doc: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(ECS field, value) of a document; the vendor namespace is skipped."""
    for key, value in doc.items():
        path = prefix + key
        if path == VENDOR:
            continue
        if path in FIELDS:
            yield path, value
        elif isinstance(value, dict):
            yield from _leaves(value, path + ".")
        else:
            raise AssertionError(f"{path} is not an ECS field")


def _check_scalar(path: str, kind: str, value: Any) -> None:
    where = f"{path}={value!r}"
    if kind in TEXT:
        assert isinstance(value, str) and value, where
    elif kind in ("long", "integer"):
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif kind in ("float", "double", "scaled_float"):
        assert isinstance(value, (int, float)) and not isinstance(value, bool), where
    elif kind == "boolean":
        assert isinstance(value, bool), where
    elif kind == "date":
        assert isinstance(value, str) and ISO.match(value), where
    elif kind == "ip":
        assert isinstance(value, str), where
        ipaddress.ip_address(value)  # raises when it is not an address
    elif kind in ("object", "flattened"):
        assert isinstance(value, dict) and value, where
    elif kind == "nested":
        assert isinstance(value, dict) and value, where
        for sub, leaf in _leaves(value, path + "."):
            check_field(sub, leaf)
    else:
        raise AssertionError(f"{where}: no check for ECS type {kind}")


def check_field(path: str, value: Any) -> None:
    kind, array = FIELDS[path]
    if array:
        assert isinstance(value, list) and value, f"{path} must be a non-empty list: {value!r}"
        for item in value:
            _check_scalar(path, kind, item)
    else:
        assert not isinstance(value, list), f"{path} must not be a list: {value!r}"
        _check_scalar(path, kind, value)


def check_document(doc: dict[str, Any]) -> None:
    """Every field is ECS or vendor, with a value of its ECS type; the document is JSON."""
    for path, value in _leaves(doc):
        check_field(path, value)
    for field in ("event.kind", "event.outcome"):
        value = _get(doc, field)
        assert value is None or value in ALLOWED[field], f"{field}={value}"
    categories = _get(doc, "event.category") or []
    for category in categories:
        assert category in ALLOWED["event.category"], category
    for kind in _get(doc, "event.type") or []:
        assert kind in ALLOWED["event.type"], kind
        if categories:
            assert any(kind in ALLOWED["event.category"][c] for c in categories), (kind, categories)
    msgspec.json.encode(doc)
    assert "@timestamp" not in doc or ISO.match(doc["@timestamp"])


@pytest.mark.parametrize("rule_set", RULE_SETS)
@pytest.mark.parametrize("table", TABLES)
def test_samples_are_valid_documents(table: str, rule_set: str) -> None:
    for rec in _sample(table):
        doc = m365parse.normalize(rec, rule_set)
        check_document(doc)
        assert ISO.match(doc["@timestamp"])
        assert doc["event"]["dataset"] == vendor_prefix(table)
        assert doc["ecs"]["version"] == ecs.ECS_VERSION


# --- every field the rules can emit ------------------------------------------------------

# (ECS type family, list?) of what a transform gives; "same" keeps its input's.
_TRANSFORM_OUT: dict[str, tuple[str, bool | None]] = {
    "ip": ("ip", False),
    "ipv4": ("ip", False),
    "ipv6": ("ip", False),
    "first_ip": ("ip", False),
    "ip_list": ("ip", True),
    "iso": ("date", False),
    "int": ("long", False),
    "str": ("text", False),
    "lower": ("same", None),
    "upper": ("same", None),
    "mac": ("text", False),
    "domain": ("text", False),
    "extension": ("text", False),
    "os_type": ("text", False),
    "registry_hive": ("text", False),
    "registry_key": ("text", False),
    "snake_case": ("text", False),
    "args": ("text", True),
    "list": ("text", True),
    "split": ("text", True),
    "first": ("same", False),
    "mitre_tactic_ids": ("text", True),
    "mitre_tactic_names": ("text", True),
    "mitre_technique_ids": ("text", True),
    "mitre_technique_names": ("text", True),
    "mitre_subtechnique_ids": ("text", True),
    "mitre_subtechnique_names": ("text", True),
    "dns_answers": ("object", True),
    "severity_level": ("long", False),
    "json_value": ("any", None),
    "pluck": ("any", True),
    "get": ("any", False),
    "join": ("text", False),
    "const": ("text", False),
    "prefix": ("text", False),
}
_COLUMN_KINDS = {"string": "text", "int": "long", "long": "long", "bool": "boolean", "boolean": "boolean"}
# what the callables of the rule set give
_CALLS = {"email.attachments": ("nested", True), "event.original": ("text", False)}


def _py_kind(value: Any) -> tuple[str, bool]:
    if isinstance(value, list):
        kinds = {_py_kind(v)[0] for v in value}
        assert len(kinds) == 1, value
        return kinds.pop(), True
    if isinstance(value, bool):
        return "boolean", False
    if isinstance(value, int):
        return "long", False
    if isinstance(value, str):
        return "text", False
    raise AssertionError(f"no kind for {value!r}")


def _kinds(spec: Any, table: str, target: str) -> set[tuple[str, bool]]:
    """Every (kind, is a list) the spec can give."""
    if isinstance(spec, str):
        spec = {"column": spec}
    if callable(spec) or "call" in spec:
        assert target in _CALLS or target.startswith(VENDOR + "."), f"{table} {target}: an unknown callable"
        return {_CALLS.get(target, ("any", False))}
    if "map" in spec:
        values = [*spec["map"].values(), *([spec["default"]] if "default" in spec else [])]
        return {_py_kind(v) for v in values}
    if "column" in spec:
        documented = DOCUMENTED_TYPES.get(table, {}).get(spec["column"], "string")
        base: set[tuple[str, bool]] = {
            ("date" if documented == "datetime" else _COLUMN_KINDS.get(documented, "any"), False)
        }
    elif "const" in spec:
        base = {_py_kind(spec["const"])} if spec["const"] is not None else set()
    elif "envelope" in spec:
        base = {("date" if spec["envelope"] in ("time", "_TimeReceivedBySvc") else "text", False)}
    elif "first" in spec:
        base = set().union(*(_kinds(item, table, target) for item in spec["first"]))
    elif "collect" in spec:
        base = {(kind, True) for item in spec["collect"] for kind, _ in _kinds(item, table, target)}
    elif "if" in spec:
        base = _kinds(spec["then"], table, target) | (
            _kinds(spec["else"], table, target) if spec.get("else") is not None else set()
        )
    else:
        raise AssertionError(spec)
    names = spec.get("transform", [])
    for name in [names] if isinstance(names, str) else names:
        out_kind, out_list = _TRANSFORM_OUT[name.split(":")[0]]
        base = {
            (kind if out_kind == "same" else out_kind, is_list if out_list is None else out_list)
            for kind, is_list in base
        }
    return base


def _compatible(ecs_type: str, kind: str) -> bool:
    if ecs_type in TEXT:
        return kind == "text"
    if ecs_type in ("long", "integer"):
        return kind == "long"
    if ecs_type == "nested":
        return kind in ("nested", "object")
    return ecs_type == kind


def _all_rules() -> Iterator[tuple[str, str, str, Any]]:
    for name in RULE_SETS:
        rs = registry.get(name)
        for table in [*ALL_TABLES, ALL]:
            rules = rs.rules_for(table) if table != ALL else {k: v for k, v in rs.rules[ALL].items() if v}
            for target, spec in rules.items():
                yield name, table, target, spec


def test_every_field_is_ecs_with_a_compatible_type_or_vendor() -> None:
    seen = 0
    for name, table, target, spec in _all_rules():
        if target.startswith(VENDOR + "."):
            continue
        assert target in FIELDS, f"{name} {table}: {target} is not an ECS field"
        ecs_type, array = FIELDS[target]
        for kind, is_list in _kinds(spec, table, target):
            where = f"{name} {table} {target}: {kind}{'[]' if is_list else ''} for ECS {ecs_type}"
            assert _compatible(ecs_type, kind), where
            if ecs_type != "nested":
                assert is_list == array, where
        seen += 1
    assert seen > 1000


def test_vendor_fields_name_their_table_and_column() -> None:
    for _, table, target, spec in _all_rules():
        if not target.startswith(VENDOR + ".") or table == ALL:
            continue
        if target in (f"{VENDOR}.extra", f"{VENDOR}.envelope_extra") or target.startswith(f"{VENDOR}.envelope."):
            continue
        prefix, _, column = target.rpartition(".")
        assert prefix == vendor_prefix(table), target
        column_of_spec = spec if isinstance(spec, str) else spec["column"]
        assert column == column_of_spec and column in DOCUMENTED_TYPES[table], target


@pytest.mark.parametrize("table", ALL_TABLES)
def test_nothing_is_lost(table: str) -> None:
    """Every documented column is kept by an ECS field, or under m365_defender.<table>."""
    rules = ECS.rules_for(table)
    kept = kept_columns({t: spec for t, spec in rules.items() if not t.startswith(VENDOR + ".")})
    for column in DOCUMENTED_TYPES[table]:
        assert column in kept or f"{vendor_prefix(table)}.{column}" in rules, column
        assert not (column in kept and f"{vendor_prefix(table)}.{column}" in rules), column
    assert rules[f"{VENDOR}.extra"]


def test_unknown_columns_and_odd_values_are_kept() -> None:
    (rec,) = _decode((GOLDEN / "DeviceProcessEvents" / "extra_columns.input.json").read_bytes())
    doc = m365parse.normalize(rec, "ecs")
    assert doc[VENDOR]["extra"] == {"ISP": "Example Telekom", "LogonId": "not a number"}
    assert doc[VENDOR]["envelope_extra"] == {"SomethingNew": "x"}
    assert doc[VENDOR]["envelope"] == {
        "operationName": "Publish",
        "Tenant": "DefaultTenant",
        "_TimeReceivedBySvc": "2024-05-14T08:42:37.1234567Z",
    }
    doc["m365_defender"]["extra"]["ISP"] = "changed"
    assert rec.extra["ISP"] == "Example Telekom"  # a copy


def test_unknown_tables() -> None:
    (rec,) = _decode((GOLDEN / "_unknown" / "behavior_info.input.json").read_bytes())
    assert isinstance(rec, m365parse.UnknownRecord)
    doc = m365parse.normalize(rec, "ecs")
    check_document(doc)
    assert doc["@timestamp"] == "2024-05-14T09:30:00.1234567Z"
    assert doc["event"]["dataset"] == "m365_defender.future_behavior_info"
    assert doc[VENDOR]["properties"] == rec.properties and doc[VENDOR]["properties"] is not rec.properties
    assert doc["host"]["name"] == "ws-fin-0142"


# --- categorization ---------------------------------------------------------------------------


def _values(spec: Any) -> list[tuple[Any, Any]]:
    """(key, value): what a const or map spec gives for each key (None: any other key)."""
    if spec is None:
        return [(None, None)]
    if "const" in spec:
        return [(None, spec["const"])]
    assert "map" in spec, spec
    return [*spec["map"].items(), (None, spec.get("default"))]


@pytest.mark.parametrize("rule_set", RULE_SETS)
@pytest.mark.parametrize("table", [*TABLES, ALL])
def test_categorization_values_are_allowed(table: str, rule_set: str) -> None:
    rs = registry.get(rule_set)
    rules = rs.rules_for(table) if table != ALL else rs.rules[ALL]
    for field in ("event.kind", "event.outcome"):
        for _, value in _values(rules.get(field)):
            assert value is None or value in ALLOWED[field], (table, field, value)
    category, kind = rules.get("event.category"), rules.get("event.type")
    if table != ALL:
        assert rules.get("event.kind") and category and kind, table
    cats, types = dict(_values(category)), dict(_values(kind))
    for key in {*cats, *types}:
        found_categories = cats.get(key, cats.get(None)) or []
        found_types = types.get(key, types.get(None)) or []
        for value in found_categories:
            assert value in ALLOWED["event.category"], (table, key, value)
        for value in found_types:
            assert value in ALLOWED["event.type"], (table, key, value)
            assert any(value in ALLOWED["event.category"][c] for c in found_categories), (table, key, value)


def test_event_kinds() -> None:
    kinds = {table: ECS.rules_for(table)["event.kind"]["const"] for table in ALL_TABLES}
    assert kinds["AlertInfo"] == kinds["AlertEvidence"] == kinds["SiemAlert"] == "alert"
    assert kinds["DeviceInfo"] == kinds["IdentityInfo"] == kinds["DeviceNetworkInfo"] == "asset"
    assert kinds["DeviceFileCertificateInfo"] == "enrichment"
    assert kinds["DeviceProcessEvents"] == kinds["EmailEvents"] == "event"


@pytest.mark.parametrize(
    ("action", "category", "kind", "outcome"),
    [
        ("ConnectionSuccess", ["network"], ["connection", "start"], "success"),
        ("ConnectionFailed", ["network"], ["connection", "start"], "failure"),
        ("InboundConnectionAccepted", ["network"], ["connection", "start"], "success"),
        ("DnsConnectionInspected", ["network"], ["protocol", "info"], None),
        ("NetworkSignatureInspected", ["network", "intrusion_detection"], ["info"], None),
        ("SomethingNew", ["network"], ["info"], None),
    ],
)
def test_network_categorization(action: str, category: list[str], kind: list[str], outcome: str | None) -> None:
    doc = _doc("DeviceNetworkEvents", ActionType=action)
    assert doc["event"]["category"] == category
    assert doc["event"]["type"] == kind
    assert doc["event"].get("outcome") == outcome


def test_device_event_categorization() -> None:
    cases = {
        "AsrOfficeChildProcessBlocked": (["intrusion_detection"], ["denied"]),
        "AsrOfficeChildProcessAudited": (["intrusion_detection"], ["allowed"]),
        "AntivirusDetection": (["malware"], ["info"]),
        "UserAccountCreated": (["iam"], ["user", "creation"]),
        "ScheduledTaskCreated": (["configuration"], ["creation"]),
        "DriverLoad": (["driver"], ["start"]),
        "ExploitGuardNetworkProtectionBlocked": (["intrusion_detection", "network"], ["denied"]),
        "NotYetKnown": (["host"], ["info"]),
    }
    for action, (category, kind) in cases.items():
        event = _doc("DeviceEvents", ActionType=action)["event"]
        assert (event["category"], event["type"]) == (category, kind), action


def test_lists_are_fresh_for_every_document() -> None:
    first = _doc("DeviceNetworkEvents", ActionType="ConnectionSuccess")
    first["event"]["type"].append("mutated")
    first["event"]["category"].append("mutated")
    again = _doc("DeviceNetworkEvents", ActionType="ConnectionSuccess")
    assert again["event"]["type"] == ["connection", "start"] and again["event"]["category"] == ["network"]
    assert _doc("DeviceFileEvents")["event"]["category"] == ["file"]


# --- the mistakes of peers (FIELD-NOTES "Where peers went wrong") --------------------------


def test_process_is_the_actor_and_its_parent_the_actors_parent() -> None:
    for table in ("DeviceNetworkEvents", "DeviceFileEvents", "DeviceRegistryEvents", "DeviceImageLoadEvents"):
        for rec in _sample(table):
            p, doc = rec.properties, m365parse.normalize(rec, "ecs")
            assert _get(doc, "process.name") == (p.InitiatingProcessFileName or None)
            assert _get(doc, "process.pid") == p.InitiatingProcessId
            assert _get(doc, "process.command_line") == (p.InitiatingProcessCommandLine or None)
            assert _get(doc, "process.parent.name") == (p.InitiatingProcessParentFileName or None)
            assert _get(doc, "process.parent.pid") == p.InitiatingProcessParentId


def test_process_events_report_the_created_process_with_the_initiating_one_as_parent() -> None:
    for rec in _sample("DeviceProcessEvents"):
        p, doc = rec.properties, m365parse.normalize(rec, "ecs")
        process = doc["process"]
        assert (process["name"], process["pid"], process["command_line"]) == (
            p.FileName,
            p.ProcessId,
            p.ProcessCommandLine,
        )
        assert process["executable"] == p.FolderPath and process["hash"]["sha256"] == p.SHA256
        parent = process["parent"]
        assert (parent["name"], parent["pid"], parent["command_line"]) == (
            p.InitiatingProcessFileName,
            p.InitiatingProcessId,
            p.InitiatingProcessCommandLine,
        )
        assert parent["hash"]["sha256"] == p.InitiatingProcessSHA256
        # the grandparent has no ECS place: it stays under its own column names
        vendor = doc[VENDOR]["device_process_events"]
        assert vendor["InitiatingProcessParentFileName"] == p.InitiatingProcessParentFileName
        assert p.InitiatingProcessParentFileName not in json.dumps(doc["process"])


def test_message_ids_are_not_mixed_up() -> None:
    for table in ("EmailEvents", "EmailPostDeliveryEvents"):
        for rec in _sample(table):
            email = m365parse.normalize(rec, "ecs")["email"]
            assert email["message_id"] == rec.properties.InternetMessageId
            assert email["local_id"] == rec.properties.NetworkMessageId
            assert email["message_id"].startswith("<")
    for table in ("EmailAttachmentInfo", "EmailUrlInfo", "UrlClickEvents"):
        for rec in _sample(table):
            email = m365parse.normalize(rec, "ecs").get("email", {})
            assert "message_id" not in email
            assert email.get("local_id") == (rec.properties.NetworkMessageId or None)


@pytest.mark.parametrize("placeholder", ["-", "", "--", " - "])
def test_placeholder_addresses_are_never_addresses(placeholder: str) -> None:
    doc = _doc("DeviceNetworkEvents", ActionType="ConnectionSuccess", RemoteIP=placeholder, LocalIP=placeholder)
    assert "ip" not in doc.get("source", {}) and "ip" not in doc.get("destination", {})
    assert "related" not in doc or "ip" not in doc["related"]
    text = json.dumps(doc)
    assert '"-"' not in text and '"--"' not in text
    doc = _doc("DeviceInfo", PublicIP=placeholder)
    assert "ip" not in doc.get("host", {})


def test_ipv4_mapped_ipv6_is_ipv4() -> None:
    doc = _doc("DeviceNetworkEvents", ActionType="ConnectionSuccess", RemoteIP="::ffff:203.0.113.9", LocalIP="10.0.0.5")
    assert doc["destination"]["ip"] == "203.0.113.9" and doc["source"]["ip"] == "10.0.0.5"


@pytest.mark.parametrize(
    "props",
    [
        {"ActionType": "InboundConnectionAccepted"},
        {"ActionType": "HttpConnectionInspected", "AdditionalFields": '{"direction":"In"}'},
        {"ActionType": "HttpConnectionInspected", "AdditionalFields": {"direction": "In", "uri": "/"}},
        {"ActionType": "SshConnectionInspected", "AdditionalFields": '{"Direction": "inbound"}'},
    ],
)
def test_inbound_connections_have_the_remote_side_as_source(props: dict[str, Any]) -> None:
    doc = _doc(
        "DeviceNetworkEvents", RemoteIP="198.51.100.7", RemotePort=50112, LocalIP="10.20.2.15", LocalPort=1433, **props
    )
    assert doc["source"] == {"ip": "198.51.100.7", "port": 50112}
    assert doc["destination"] == {"ip": "10.20.2.15", "port": 1433}
    assert doc["network"]["direction"] == "ingress"


@pytest.mark.parametrize(
    "props",
    [
        {"ActionType": "ConnectionSuccess"},
        {"ActionType": "DnsConnectionInspected", "AdditionalFields": '{"direction":"Out","query":"x.example.com"}'},
    ],
)
def test_outbound_connections_have_the_local_side_as_source(props: dict[str, Any]) -> None:
    doc = _doc(
        "DeviceNetworkEvents", RemoteIP="198.51.100.7", RemotePort=443, LocalIP="10.20.2.15", LocalPort=50000, **props
    )
    assert doc["source"] == {"ip": "10.20.2.15", "port": 50000}
    assert doc["destination"] == {"ip": "198.51.100.7", "port": 443}
    assert doc["network"]["direction"] == "egress"


def test_firewall_blocked_inbound_connection_has_the_remote_side_as_source() -> None:
    doc = _doc(
        "DeviceEvents", ActionType="FirewallInboundConnectionBlocked", RemoteIP="198.51.100.66", LocalIP="10.0.0.5"
    )
    assert doc["source"]["ip"] == "198.51.100.66" and doc["destination"]["ip"] == "10.0.0.5"


def test_severity_is_kept_raw_and_not_rescaled_by_default() -> None:
    for table, prefix in (
        ("AlertInfo", "alert_info"),
        ("AlertEvidence", "alert_evidence"),
        ("SiemAlert", "siem_alert"),
    ):
        for rec in _sample(table):
            doc = m365parse.normalize(rec, "ecs")
            assert "severity" not in doc["event"]
            assert doc[VENDOR][prefix]["Severity"] == rec.properties.Severity
            scaled = m365parse.normalize(rec, "ecs+severity")
            assert scaled[VENDOR][prefix]["Severity"] == rec.properties.Severity
            level = {"Informational": 1, "Low": 2, "Medium": 3, "High": 4}[rec.properties.Severity]
            assert scaled["event"]["severity"] == level
    assert "severity" not in _doc("AlertInfo", "ecs+severity", Severity="UnSpecified")["event"]


def test_timestamps_keep_every_digit() -> None:
    for rec in _sample("DeviceProcessEvents"):
        doc = m365parse.normalize(rec, "ecs")
        assert doc["@timestamp"] == format_ns(m365parse.timestamp_ns(rec, "Timestamp"))
        assert doc["process"]["start"] == format_ns(m365parse.timestamp_ns(rec, "ProcessCreationTime"))
        assert doc["event"]["created"] == format_ns(m365parse.timestamp_ns(rec, "time"))
    doc = _doc(
        "DeviceProcessEvents", Timestamp="2024-05-14T08:41:56.5950497Z", ProcessCreationTime="2024-05-14T08:41:56.1Z"
    )
    assert doc["@timestamp"] == "2024-05-14T08:41:56.5950497Z"
    assert doc["process"]["start"] == "2024-05-14T08:41:56.1Z"
    (alert,) = _decode(json.dumps([{"AlertTime": "2024-05-14T08:42:07.2201354Z", "AlertId": "a"}]).encode())
    assert m365parse.normalize(alert, "ecs")["@timestamp"] == "2024-05-14T08:42:07.2201354Z"


def test_timestamp_falls_back_to_the_envelope_time() -> None:
    doc = _doc("DeviceEvents", ActionType="X")
    assert doc["@timestamp"] == "2024-05-14T08:44:14.904746Z" == doc["event"]["created"]


# --- other fields -----------------------------------------------------------------------------


def test_host_name_is_lower_case_and_ids_are_kept() -> None:
    doc = _doc("DeviceEvents", DeviceName="WS-FIN-0142.Corp.Contoso.com", DeviceId="abc")
    assert doc["host"] == {"name": "ws-fin-0142.corp.contoso.com", "id": "abc"}
    assert doc["device"] == {"id": "abc"}


def test_dns_fields_from_double_encoded_additional_fields() -> None:
    (rec,) = [r for r in _sample("DeviceNetworkEvents") if r.properties.ActionType == "DnsConnectionInspected"]
    dns = m365parse.normalize(rec, "ecs")["dns"]
    assert dns["question"] == {"name": "cdn.example.com", "type": "A"}
    assert dns["response_code"] == "NOERROR"
    assert dns["answers"] == [{"data": "cdn-edge.example.net", "ttl": 300}, {"data": "203.0.113.45", "ttl": 60}]
    assert dns["resolved_ip"] == ["203.0.113.45"]


def test_mitre_techniques_and_tactics() -> None:
    rec = _sample("AlertInfo")[0]
    threat = m365parse.normalize(rec, "ecs")["threat"]
    assert threat["framework"] == "MITRE ATT&CK"
    assert threat["tactic"] == {"id": ["TA0002"], "name": ["Execution"]}
    assert threat["technique"]["id"] == ["T1059", "T1027", "T1105"]
    assert threat["technique"]["name"] == ["Obfuscated Files or Information", "Ingress Tool Transfer"]
    assert threat["technique"]["subtechnique"] == {"id": ["T1059.001"], "name": ["PowerShell"]}
    doc = _doc("AlertInfo", Category="SuspiciousActivity", AttackTechniques="")
    assert "threat" not in doc and doc["rule"]["category"] == "SuspiciousActivity"


def test_email_fields() -> None:
    rec = _sample("EmailEvents")[1]
    email = m365parse.normalize(rec, "ecs")["email"]
    assert email["to"] == {"address": ["payroll@contoso.com"]}
    assert email["cc"] == {"address": ["finance-team@contoso.com"]}
    assert email["from"] == {"address": ["noreply@example.net"]}
    assert email["direction"] == "inbound"
    doc = m365parse.normalize(_sample("EmailAttachmentInfo")[0], "ecs")
    assert doc["email"]["attachments"] == [
        {
            "file": {
                "name": "Rechnung_Mai_2024.docm",
                "extension": "docm",
                "size": 48213,
                "hash": {"sha256": "039d68759ef209f6ec03de0cd0cce87e495d93fbcd1d2194c54474a53013f449"},
            }
        }
    ]


def test_file_over_smb_has_the_requester_as_source() -> None:
    rec = _sample("DeviceFileEvents")[1]
    doc = m365parse.normalize(rec, "ecs")
    assert doc["source"]["ip"] == "10.20.14.37"
    assert doc["source"]["user"] == {
        "name": "avery.lin",
        "domain": "CONTOSO",
        "id": "S-1-5-21-1004336348-1177238915-682003330-1512",
    }
    assert doc["network"]["protocol"] == "smb"


def test_registry_fields() -> None:
    doc = _doc(
        "DeviceRegistryEvents",
        ActionType="RegistryValueSet",
        RegistryKey="HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso",
        RegistryValueName="Run",
        RegistryValueType="Dword",
        RegistryValueData="1",
    )
    assert doc["registry"] == {
        "hive": "HKLM",
        "key": "SOFTWARE\\Contoso",
        "value": "Run",
        "path": "HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso\\Run",
        "data": {"strings": ["1"], "type": "REG_DWORD"},
    }
    assert doc["event"]["type"] == ["change"]


def test_event_original_on_request() -> None:
    assert "original" not in m365parse.normalize(_sample("DeviceEvents")[0], "ecs")["event"]
    for table in ALL_TABLES:
        for rec in _sample(table):
            original = json.loads(m365parse.normalize(rec, "ecs+original")["event"]["original"])
            data = rec.to_dict()
            if table == "SiemAlert":
                assert original == {**data["properties"], **data["extra"]}
            else:
                assert original == {**data["envelope"], "properties": {**data["properties"], **data["extra"]}}
                assert original["category"] == f"AdvancedHunting-{table}"
    assert "severity" not in m365parse.normalize(_sample("AlertInfo")[0], "ecs+original")["event"]
    both = m365parse.normalize(_sample("AlertInfo")[0], "ecs+severity+original")["event"]
    assert both["severity"] == 3 and both["original"]


def test_rule_sets_are_registered() -> None:
    assert set(RULE_SETS) <= set(registry.names())
    assert all(registry.get(name).nested for name in RULE_SETS)


# --- hostile and odd values still give valid documents -------------------------------------

_ODD_TEXT = st.sampled_from(["", "-", " ", "0.0.0.0", "::ffff:10.0.0.1", "[", "{", "[1,2", '{"a":', "null", "[]", "{}"])
_TEXT = st.one_of(_ODD_TEXT, st.text(max_size=40))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _value(kind: str) -> st.SearchStrategy[Any]:
    if kind in ("int", "long"):
        return st.integers(-(2**63), 2**63 - 1)
    if kind in ("bool", "boolean"):
        return st.booleans()
    if kind == "datetime":
        return st.datetimes(timezones=st.just(__import__("datetime").timezone.utc)).map(
            lambda d: d.isoformat().replace("+00:00", "Z")
        )
    if kind == "dynamic":
        return _JSON
    return st.one_of(_TEXT, _JSON.map(json.dumps))


@st.composite
def _record(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    table = draw(st.sampled_from([*ALL_TABLES, "FutureTableEvents"]))
    columns = DOCUMENTED_TYPES.get(table, DOCUMENTED_TYPES["DeviceEvents"])  # an unknown table: any of these
    chosen = draw(st.lists(st.sampled_from(sorted(columns)), max_size=25, unique=True))
    props = {c: draw(_value(columns[c])) for c in chosen}
    if "ActionType" in columns and draw(st.booleans()):
        props["ActionType"] = draw(st.sampled_from(["InboundConnectionAccepted", "DnsConnectionInspected", "X"]))
    return table, props


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_record())
def test_any_record_gives_a_valid_document(case: tuple[str, dict[str, Any]]) -> None:
    table, props = case
    data = json.dumps([props]).encode() if table == "SiemAlert" else body(record(table, **props))
    batch = m365parse.decode(data)
    assert len(batch.records) + len(batch.errors) == 1
    for rec in batch.records:
        for name in RULE_SETS:
            doc = m365parse.normalize(rec, name)
            check_document(doc)
            json.dumps(doc)


_ANY = st.one_of(st.none(), _TEXT, _JSON, st.integers(), st.floats(allow_nan=True), st.binary(max_size=8))


@settings(max_examples=200, deadline=None)
@given(_ANY)
def test_new_transforms_never_raise(value: Any) -> None:
    names = [
        "json_value",
        "list",
        "os_type",
        "extension",
        "domain",
        "args",
        "registry_hive",
        "registry_key",
        "snake_case",
        "mitre_tactic_ids",
        "mitre_tactic_names",
        "mitre_technique_ids",
        "mitre_technique_names",
        "mitre_subtechnique_ids",
        "mitre_subtechnique_names",
        "dns_answers",
        "severity_level",
        "pluck:a",
        "join:;",
        "const:x",
        "prefix:p.",
    ]
    for name in names:
        transform(name)(value)


# --- the new transforms, conditions and rule language --------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("json_value", '{"a": "[1]"}', {"a": "[1]"}),
        ("json_value", "plain text", "plain text"),
        ("json_value", "  ", None),
        ("json_value", "[1,", "[1,"),
        ("list", '["a", 1, "", null, "b"]', ["a", "b"]),
        ("list", "a; b, c", ["a", "b", "c"]),
        ("list", ["x", {"y": 1}], ["x"]),
        ("list", 5, None),
        ("os_type", "WindowsServer2022", "windows"),
        ("os_type", "macOS", "macos"),
        ("os_type", "Ubuntu 22.04", "linux"),
        ("os_type", "Plan 9", None),
        ("extension", "C:\\a\\b.tar.GZ", "gz"),
        ("extension", ".bashrc", None),
        ("extension", "noext", None),
        ("domain", "https://user:pw@Cdn.Example.com:8443/a?b#c", "cdn.example.com"),
        ("domain", "cdn.example.com", "cdn.example.com"),
        ("domain", "203.0.113.5", None),
        ("domain", "http://[2001:db8::1]/", None),
        ("domain", "not a host", None),
        ("args", 'a.exe -x "b c" d\\"e', ["a.exe", "-x", "b c", 'd"e']),
        ("args", '"C:\\Program Files\\x.exe" /y', ["C:\\Program Files\\x.exe", "/y"]),
        ("args", 'x "a\\\\" b', ["x", "a\\", "b"]),
        ("args", "   ", None),
        ("registry_hive", "HKEY_USERS\\S-1-5-18\\x", "HKU"),
        ("registry_hive", "SOFTWARE\\x", None),
        ("registry_key", "HKEY_CLASSES_ROOT\\.txt", ".txt"),
        ("registry_key", "SOFTWARE\\x", "SOFTWARE\\x"),
        ("snake_case", "DeviceFileCertificateInfo", "device_file_certificate_info"),
        ("snake_case", "URLClickEvents", "url_click_events"),
        ("mitre_tactic_ids", "CommandAndControl", ["TA0011"]),
        ("mitre_tactic_names", '["Defense Evasion", "Malware"]', ["Defense Evasion"]),
        ("mitre_technique_ids", ["A (T1059.001)", "B (T1059)", "C"], ["T1059"]),
        ("mitre_subtechnique_names", ["A (T1059.001)", "B (T1059)"], ["A"]),
        ("dns_answers", {"answers": ["a"], "TTLs": "[5]"}, [{"data": "a", "ttl": 5}]),
        ("dns_answers", {"answers": '[1, "x"]'}, [{"data": "x"}]),
        ("severity_level", " high ", 4),
        ("severity_level", "UnSpecified", None),
        ("pluck:IPAddress", '[{"IPAddress": "10.0.0.1"}, {"x": 1}, 3]', ["10.0.0.1"]),
        ("join:\\", ["HKLM\\X", "Run"], "HKLM\\X\\Run"),
        ("const:MITRE ATT&CK", ["T1"], "MITRE ATT&CK"),
        ("prefix:m365_defender.", "x", "m365_defender.x"),
    ],
)
def test_transform(name: str, value: Any, expected: Any) -> None:
    assert transform(name)(value) == expected


def test_conditions() -> None:
    def rec(table: str = "DeviceEvents", **props: Any) -> m365parse.Record:
        (one,) = _decode(body(record(table, **props)))
        return one

    assert CONDITIONS["inbound"](rec(ActionType="FirewallInboundConnectionToAppBlocked"))
    assert CONDITIONS["inbound"](rec("DeviceNetworkEvents", AdditionalFields='{"direction": "In"}'))
    assert not CONDITIONS["inbound"](rec("DeviceNetworkEvents", AdditionalFields='{"x": "direction In"}'))
    assert CONDITIONS["egress"](rec(ActionType="FirewallOutboundConnectionBlocked"))
    assert CONDITIONS["egress"](rec("DeviceNetworkEvents", AdditionalFields={"direction": "Out"}))
    assert not CONDITIONS["egress"](rec("DeviceNetworkEvents", ActionType="ListeningConnectionCreated"))
    assert CONDITIONS["evidence_source"](rec("AlertEvidence", EvidenceDirection="Source"))
    assert not CONDITIONS["evidence_source"](rec("AlertEvidence", EvidenceDirection="Destination"))


def test_evidence_direction() -> None:
    props = {"RemoteIP": "203.0.113.45", "LocalIP": "10.0.0.5"}
    doc = _doc("AlertEvidence", EvidenceDirection="Destination", **props)
    assert (doc["source"]["ip"], doc["destination"]["ip"]) == ("10.0.0.5", "203.0.113.45")
    doc = _doc("AlertEvidence", EvidenceDirection="Source", **props)
    assert (doc["source"]["ip"], doc["destination"]["ip"]) == ("203.0.113.45", "10.0.0.5")


def test_format_ns_pads_years_before_1000() -> None:
    assert format_ns(0) == "1970-01-01T00:00:00Z"
    assert format_ns(1715676116595049700) == "2024-05-14T08:41:56.5950497Z"
    assert format_ns(253402300799 * 10**9) == "9999-12-31T23:59:59Z"
    # four digits before the year 1000, as ISO 8601 (and Elasticsearch) want
    assert format_ns(-30610224000 * 10**9 - 1) == "0999-12-31T23:59:59.999999999Z"


def test_map_and_default() -> None:
    rs = RuleSet(
        "maps",
        {
            "*": {
                "a": {"column": "ActionType", "map": {"X": ["x"], "Y": "y"}, "default": ["other"]},
                "b": {"column": "ActionType", "transform": "lower", "map": {"x": 1}},
                "c": {"column": "AdditionalFields", "map": {"k": 1}, "default": 0},
            }
        },
    )
    (rec,) = _decode(body(record("DeviceEvents", ActionType="X", AdditionalFields={"k": 1})))
    assert m365parse.normalize(rec, rs) == {"a": ["x"], "b": 1, "c": 0}
    (rec,) = _decode(body(record("DeviceEvents")))
    assert m365parse.normalize(rec, rs) == {"a": ["other"], "c": 0}
    with pytest.raises(MappingError, match="'default' needs 'map'"):
        RuleSet("bad", {"*": {"a": {"column": "ActionType", "default": 1}}})
    with pytest.raises(MappingError, match="'map' takes a dict"):
        RuleSet("bad", {"*": {"a": {"column": "ActionType", "map": [1]}}})


def test_nested_targets_are_checked() -> None:
    with pytest.raises(MappingError, match=r"'host' is a field and also holds 'host\.name'"):
        RuleSet("bad", {"*": {"host": "DeviceName", "host.name": "DeviceName"}}, nested=True)
    with pytest.raises(MappingError, match="empty part"):
        RuleSet("bad", {"*": {"host..name": "DeviceName"}}, nested=True)
    RuleSet("flat", {"*": {"host": "DeviceName", "host.name": "DeviceName"}})  # fine when not nested


def test_nested_output_leaves_out_empty_groups() -> None:
    rs = RuleSet(
        "groups",
        {"*": {"a.b.c": "DeviceName", "a.d": "DeviceId", "e": {"const": []}, "f.g": {"const": ["x"]}}},
        nested=True,
    )
    (rec,) = _decode(body(record("DeviceEvents", DeviceId="i")))
    assert m365parse.normalize(rec, rs) == {"a": {"d": "i"}, "f": {"g": ["x"]}}


# --- documentation ------------------------------------------------------------------------------


def test_mapping_doc_is_current() -> None:
    assert DOC.read_text("utf-8") == mapping_table(), (
        "run: python -c 'from m365parse.mappings.ecs import "
        'mapping_table; open("m365parse/mappings/ECS.md", "w").write(mapping_table())\''
    )


def test_every_kept_column_analysis_covers_conditions() -> None:
    # a column that only one branch of a condition keeps is not kept
    rules = {"x": {"if": "inbound", "then": "RemoteIP"}, "y": "LocalIP"}
    assert kept_columns(rules) == {"LocalIP"}
    rules = {
        "x": {"if": "inbound", "then": "RemoteIP", "else": "LocalIP"},
        "y": {"if": "inbound", "then": "LocalIP", "else": "RemoteIP"},
    }
    assert kept_columns(rules) == {"LocalIP", "RemoteIP"}
    assert kept_columns({"x": {"first": ["A", "B"]}, "related.ip": {"collect": ["C"]}}) == {"A"}
    assert kept_columns({"x": {"column": "A", "transform": "domain"}}) == set()
    assert list(itertools.chain(kept_columns({}))) == []
