"""Hand-written golden OCSF events: what the "ocsf" rule set must give, written by a person.

The golden files of ``tests/golden_ocsf/`` were made by running the rule set and reading its
output: they catch changes, not mistakes. The documents of ``tests/golden_ocsf_hand/`` were
made the other way round. For each table or API kind (and, in a table that mixes kinds of
events, for each ActionType plan covered: ``DeviceEvents/<action>``), one realistic input record
(``<Table>/<case>.input.json``, most of them taken from ``tests/golden_ocsf/<Table>/samples.input.json``)
was read, and the OCSF 1.8.0 event it must become (``<Table>/<case>.expected.json``) was written by
hand, attribute by attribute, WITHOUT running the rule set on it, from:

- what each column means (Microsoft's schema and API references, ``/work/shared/reference/schema/``
  and ``.../api/`` when the documents were written; the tables' docs online);
- the class ``OCSF.md`` names for the table and ActionType;
- the OCSF 1.8.0 class and object attributes, types and enums (``tests/data/ocsf/`` and the
  compiled schema): ``time`` in milliseconds, the ``*_dt`` of the ``datetime`` profile with all
  seven digits, captions matching their ids, ``type_uid = class_uid * 100 + activity_id``.

Then the test below compared the two. Each difference was decided from the references: either
the rule set was wrong (fixed in ``m365parse/mappings/ocsf/``, with its CHANGELOG line; the
document is its regression test) or the document was (corrected). The documents compare as
whole events: an attribute too many or too few fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import m365parse

from .ocsf_schema import check_event

HAND = Path(__file__).resolve().parent / "golden_ocsf_hand"
CASES = sorted(HAND.glob("*/*.input.json"))


def _differences(expected: Any, got: Any, path: str = "") -> list[str]:
    """Every place where two JSON values differ, as ``path: expected != got`` lines."""
    if isinstance(expected, dict) and isinstance(got, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(got)):
            where = f"{path}.{key}" if path else key
            if key not in got:
                out.append(f"{where}: missing (expected {expected[key]!r})")
            elif key not in expected:
                out.append(f"{where}: not expected (got {got[key]!r})")
            else:
                out += _differences(expected[key], got[key], where)
        return out
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        return [d for i, (e, g) in enumerate(zip(expected, got)) for d in _differences(e, g, f"{path}[{i}]")]
    if type(expected) is not type(got) or expected != got:
        return [f"{path}: expected {expected!r}, got {got!r}"]
    return []


def test_the_comparison_sees_every_kind_of_difference() -> None:
    assert _differences({"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 2]}) == []
    assert _differences({"a": 1}, {"a": 1.0}) == ["a: expected 1, got 1.0"]
    assert _differences({"a": {"b": 1}}, {"a": {}}) == ["a.b: missing (expected 1)"]
    assert _differences({}, {"c": 2}) == ["c: not expected (got 2)"]
    assert _differences({"l": [1]}, {"l": [1, 2]}) == ["l: expected [1], got [1, 2]"]
    assert _differences([{"x": True}], [{"x": 1}]) == ["[0].x: expected True, got 1"]


def test_there_are_documents() -> None:
    assert len(CASES) >= 1
    for path in CASES:
        assert path.with_name(path.name.replace(".input.", ".expected.")).exists(), path


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name.split('.')[0]}" for p in CASES])
def test_hand_written_event(path: Path) -> None:
    expected = json.loads(path.with_name(path.name.replace(".input.", ".expected.")).read_text("utf-8"))
    batch = m365parse.decode(path.read_bytes())
    assert batch.errors == []
    assert len(batch.records) == 1, "one record a document"
    check_event(expected)  # the document itself is a valid OCSF 1.8.0 event
    got = json.loads(json.dumps(m365parse.normalize(batch.records[0], "ocsf")))
    differences = _differences(expected, got)
    assert differences == [], "\n".join(differences)


def test_logon_session_zero_is_no_session() -> None:
    """The transform behind DeviceLogonEvents/failed's missing ``session``: LogonId 0 is no logon session."""
    from m365parse.mappings.transforms import transform

    step = transform("logon_session")
    assert [step(v) for v in (4462931, "4462931", 0, "0", "", None, True, -1, "x")] == [
        "4462931",
        "4462931",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ]


def test_task_command_reads_the_first_exec_action() -> None:
    """The transform behind DeviceEvents/scheduled_task_created's ``job.cmd_line``."""
    from m365parse.mappings.transforms import transform

    step = transform("task_command")
    task = (
        "<Task><Actions><Exec><Command>C:\\Program Files\\X\\x.exe</Command>"
        "<Arguments>/a &quot;b&amp;c&quot;</Arguments></Exec>"
        "<Exec><Command>second.exe</Command></Exec></Actions></Task>"
    )
    assert step(task) == '"C:\\Program Files\\X\\x.exe" /a "b&c"'
    assert step("<Task><Actions><Exec>\r\n <Command>cmd.exe</Command>\r\n</Exec></Actions></Task>") == "cmd.exe"
    assert step('<Task><Actions><Exec><Command>"C:\\a b\\c.exe"</Command></Exec></Actions></Task>') == '"C:\\a b\\c.exe"'
    assert [step(v) for v in ("<Task/>", "<Exec><Command> </Command></Exec>", "", None, 3)] == [None] * 5


def test_a_member_removed_from_a_group_is_remove_user() -> None:
    """The other side of IdentityDirectoryEvents/added_to_group: FROM.GROUP names the group left."""
    from .conftest import body, record

    fields = '{"FROM.GROUP":"Domain Admins","TARGET_OBJECT.USER":"SQL Agent Service"}'
    props = {"ActionType": "Group Membership changed", "TargetAccountUpn": "svc-sqlagent@contoso.com", "AdditionalFields": fields}
    (rec,) = m365parse.decode(body(record("IdentityDirectoryEvents", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert (event["class_uid"], event["activity_id"], event["activity_name"], event["type_uid"]) == (
        3006,
        4,
        "Remove User",
        300604,
    )
    assert event["group"] == {"name": "Domain Admins"}


def test_a_siem_alert_file_path_that_has_the_name_already_stays() -> None:
    """SiemAlert/edr's FilePath is a folder; Microsoft's field list shows it with the name too (Robocopy.exe)."""
    alert = {"AlertId": "da1", "AlertTime": "2024-05-14T08:42:07Z", "FileName": "Robocopy.exe"}
    for path in ("C:\\Windows\\System32\\Robocopy.exe", "C:\\Windows\\System32"):
        (rec,) = m365parse.decode(json.dumps([{**alert, "FilePath": path}]).encode()).records
        event = m365parse.normalize(rec, "ocsf")
        check_event(event)
        assert event["evidences"][0]["file"]["path"] == "C:\\Windows\\System32\\Robocopy.exe"
        assert event["evidences"][0]["file"]["parent_folder"] == "C:\\Windows\\System32"
        assert event["unmapped"]["FilePath"] == path


@pytest.mark.parametrize(("action", "activity"), [("CloudAuditEventDelete", 4), ("Update", 3), ("CloudAuditEventOther", 99)])
def test_cloud_audit_actions_are_api_activities(action: str, activity: int) -> None:
    """CloudAuditEvents/list_keys is an Other; the documented Create/Read/Update/Delete (and prefixed) are theirs."""
    from .conftest import body, record

    props = {"ActionType": action, "Account": "avery.lin@contoso.com", "IPAddress": "203.0.113.14", "ReportId": "r1"}
    (rec,) = m365parse.decode(body(record("CloudAuditEvents", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert (event["class_uid"], event["activity_id"], event["type_uid"]) == (6003, activity, 600300 + activity)


@pytest.mark.parametrize(("code", "status"), [("200", 1), ("304", 1), ("403", 2), ("503", 2), ("", 0), ("Active", 0)])
def test_a_graph_api_call_s_outcome_is_its_http_status(code: str, status: int) -> None:
    """GraphAPIAuditEvents/list_users succeeded (200); a refused call is a Failure."""
    from .conftest import body, record

    props = {"RequestMethod": "GET", "ServicePrincipalId": "sp1", "IpAddress": "198.51.100.23", "ResponseStatusCode": code}
    (rec,) = m365parse.decode(body(record("GraphAPIAuditEvents", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert (event["status_id"], event["status"]) == (status, ["Unknown", "Success", "Failure"][status])


@pytest.mark.parametrize(("sub_type", "activity"), [("request", 1), ("response", 2), ("", 6), ("other", 6)])
def test_a_cloud_dns_event_is_a_query_or_a_response(sub_type: str, activity: int) -> None:
    """CloudDnsEvents/nxdomain is a response; DnsEventSubType (documented: request, response) says which."""
    from .conftest import body, record

    props = {"ActionType": "DnsQueryResponse", "DnsQuery": "x.example.net", "DnsEventSubType": sub_type}
    (rec,) = m365parse.decode(body(record("CloudDnsEvents", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert (event["class_uid"], event["activity_id"], event["type_uid"]) == (4003, activity, 400300 + activity)


@pytest.mark.parametrize(
    ("direction", "activity", "direction_id"),
    [("Inbound", 2, 1), ("Outbound", 1, 2), ("Intra-org", 2, 3), ("", 2, 0)],
)
def test_mail_sent_out_is_send_and_mail_delivered_is_receive(direction: str, activity: int, direction_id: int) -> None:
    """EmailEvents: outbound mail is Email Activity Send; inbound and intra-org mail, delivered to a
    mailbox of the organization, is Receive (was Receive for all)."""
    from .conftest import body, record

    props = {"NetworkMessageId": "5e1c0d3a-0000-4000-8000-00000000000a", "EmailDirection": direction}
    (rec,) = m365parse.decode(body(record("EmailEvents", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert (event["class_uid"], event["activity_id"], event["type_uid"]) == (4009, activity, 400900 + activity)
    assert event["activity_name"] == {1: "Send", 2: "Receive"}[activity]
    assert event.get("direction_id", 0) == direction_id


def _api_sample(kind: str) -> tuple[Any, list[dict[str, Any]]]:
    """The golden OCSF input of an API kind, and its items (a page's ``value``, an array, or the one item)."""
    doc = json.loads((HAND.parent / "golden_ocsf" / kind / "samples.input.json").read_text("utf-8"))
    items = doc["value"] if isinstance(doc, dict) and "value" in doc else doc if isinstance(doc, list) else [doc]
    return doc, items


@pytest.mark.parametrize("kind", ["XdrIncident", "XdrAlert", "GraphAlert", "MdeAlert", "GraphIncident"])
def test_the_assignee_of_alerts_and_incidents(kind: str) -> None:
    """assignedTo (a UPN, or Automation) is the finding's assignee, not an unmapped key."""
    doc, items = _api_sample(kind)
    items[0]["assignedTo"] = "Automation"
    for item in items[1:]:
        item["assignedTo"] = None
    events = m365parse.normalize_batch(m365parse.decode(json.dumps(doc)), "ocsf")
    for event in events:
        check_event(event)
    assert events[0]["assignee"] == {"name": "Automation"}
    assert "assignedTo" not in events[0].get("unmapped", {})
    assert all("assignee" not in event for event in events[1:])


def test_an_mde_alert_is_about_its_machine() -> None:
    """MDE alerts name the machine they are about (machineId, computerDnsName): the finding's device."""
    _, items = _api_sample("MdeAlert")
    item = items[0]
    item["machineId"], item["computerDnsName"] = "0" * 40, None
    event = m365parse.normalize_batch(m365parse.decode(json.dumps(item)), "ocsf")[0]
    check_event(event)
    assert event["device"] == {"type_id": 0, "type": "Unknown", "uid": "0" * 40}
    item["machineId"] = None
    event = m365parse.normalize_batch(m365parse.decode(json.dumps(item)), "ocsf")[0]
    assert "device" not in event


@pytest.mark.parametrize("kind", ["GraphIncident", "GraphAlert", "MdeAlert", "XdrAlert", "XdrIncident"])
def test_a_finding_without_a_severity_is_unknown_with_its_caption(kind: str) -> None:
    """severity_id 0 comes with its caption, Unknown (a Graph incident without a severity had none)."""
    _, items = _api_sample(kind)
    items[0]["severity"] = None
    event = m365parse.normalize_batch(m365parse.decode(json.dumps(items[0])), "ocsf")[0]
    check_event(event)
    assert (event["severity_id"], event["severity"]) == (0, "Unknown")


@pytest.mark.parametrize(
    ("props", "device"),
    [
        ({"AadDeviceId": "552d5794-57ed-404d-8076-69f0588343a8"}, {"uid_alt": "552d5794-57ed-404d-8076-69f0588343a8"}),
        ({"IsManagedDevice": False}, {"is_managed": False}),
        ({"AadDeviceId": "", "IsManagedDevice": None}, None),
    ],
)
def test_a_data_security_event_s_device_without_its_defender_id(props: dict[str, Any], device: Any) -> None:
    """DataSecurityEvents/usb_copy_blocked has every device column; a record with only some is still a valid event."""
    from .conftest import body, record

    (rec,) = m365parse.decode(body(record("DataSecurityEvents", ActionType="FileRead", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert event.get("device") == (None if device is None else {**device, "type_id": 0, "type": "Unknown"})


@pytest.mark.parametrize(
    ("decision", "control"),
    [("Allow", (1, "Allowed", 1, "Allowed")), ("Audit", (3, "Observed", 17, "Logged")), ("Mutate", None), ("", None)],
)
def test_a_kubernetes_admission_decision_is_the_security_control_s(decision: str, control: Any) -> None:
    """CloudPolicyEnforcementEvents/privileged_pod_denied is a Deny; the other documented decisions are theirs."""
    from .conftest import body, record

    props = {"ActionType": decision, "ReportId": "r1", "ResourceName": "web", "KubernetesNamespace": "shop"}
    (rec,) = m365parse.decode(body(record("CloudPolicyEnforcementEvents", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert event["class_uid"] == 0
    got = tuple(event[k] for k in ("action_id", "action", "disposition_id", "disposition") if k in event)
    assert got == (control or ())


@pytest.mark.parametrize(
    ("start", "kind", "expected"),
    [
        (2, 0x20, {"service_start_type_id": 3, "service_start_type": "Auto", "service_type_id": 4, "service_type": "Share Process"}),
        (0, 0x1, {"service_start_type_id": 1, "service_start_type": "Boot", "service_type_id": 1, "service_type": "Kernel Driver"}),
        (4, 0x110, {"service_start_type_id": 5, "service_start_type": "Disabled", "service_type_id": 3, "service_type": "Own Process"}),
        (7, 0x40, {}),
        ("3", None, {}),
    ],
)
def test_a_service_s_start_and_kind_are_windows_values_in_ocsf_ids(start: Any, kind: Any, expected: dict[str, Any]) -> None:
    """DeviceEvents/service_installed is a demand-start own-process service; the other Windows values, and ones
    OCSF has no id for (which stay in unmapped only)."""
    from .conftest import body, record

    fields = json.dumps({"ServiceName": "Svc", "ServiceStartType": start, "ServiceType": kind})
    props = {"ActionType": "ServiceInstalled", "InitiatingProcessFileName": "services.exe", "AdditionalFields": fields}
    (rec,) = m365parse.decode(body(record("DeviceEvents", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    got = {k: v for k, v in event["win_service"].items() if k.startswith(("service_start_type", "service_type"))}
    assert got == expected
    assert event["unmapped"]["AdditionalFields"]["ServiceStartType"] == start


@pytest.mark.parametrize(("access", "expected"), [(4112, 4112), ("1040", 1040), ("PROCESS_ALL_ACCESS", None), (None, None)])
def test_the_access_an_opened_process_was_asked_for(access: Any, expected: Any) -> None:
    """DeviceEvents/open_process_lsass asks for PROCESS_ALL_ACCESS; other forms of DesiredAccess."""
    from .conftest import body, record

    props = {
        "ActionType": "OpenProcessApiCall",
        "FileName": "lsass.exe",
        "InitiatingProcessFileName": "rundll32.exe",
        "AdditionalFields": json.dumps({"DesiredAccess": access}),
    }
    (rec,) = m365parse.decode(body(record("DeviceEvents", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert (event["activity_id"], event.get("requested_permissions")) == (3, expected)


@pytest.mark.parametrize(
    ("action", "direction", "src"),
    [
        ("FirewallInboundConnectionToAppBlocked", (1, "Inbound"), "198.51.100.66"),
        ("FirewallOutboundConnectionBlocked", (2, "Outbound"), "10.20.4.17"),
    ],
)
def test_a_refused_connection_is_denied_and_blocked_in_its_direction(action: str, direction: Any, src: str) -> None:
    """DeviceEvents/firewall_inbound_blocked; the firewall's other refusals."""
    from .conftest import body, record

    props = {"ActionType": action, "RemoteIP": "198.51.100.66", "RemotePort": 443, "LocalIP": "10.20.4.17", "LocalPort": 50211}
    (rec,) = m365parse.decode(body(record("DeviceEvents", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert (event["type_uid"], event["action_id"], event["disposition_id"]) == (400105, 2, 2)
    assert (event["connection_info"]["direction_id"], event["connection_info"]["direction"]) == direction
    assert event["src_endpoint"]["ip"] == src
    assert "security_control" in event["metadata"]["profiles"]


def test_a_remote_desktop_connection_is_no_security_control() -> None:
    """The other network ActionTypes of DeviceEvents stay without action, disposition and that profile."""
    from .conftest import body, record

    props = {"ActionType": "RemoteDesktopConnection", "RemoteIP": "10.20.9.4", "LocalIP": "10.20.4.17", "LocalPort": 3389}
    (rec,) = m365parse.decode(body(record("DeviceEvents", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert (event["class_uid"], "action_id" in event, event["metadata"]["profiles"]) == (4001, False, ["datetime", "host"])


@pytest.mark.parametrize(
    ("action", "props", "expected"),
    [
        ("AsrPsexecWmiChildProcessAudited", {"FileName": "cmd.exe"}, (1007, 1, 3, 17, None)),
        ("AsrOfficeCommAppChildProcessWarnBypassed", {"ProcessCommandLine": "cmd /c x"}, (1007, 1, 1, 1, None)),
        ("ExploitGuardChildProcessBlocked", {"FileName": "cmd.exe"}, (1007, 1, 2, 2, 2)),
        ("AsrOfficeChildProcessBlocked", {}, (0, 99, 2, 2, None)),
        ("AsrLsassCredentialTheftAudited", {"FileName": "lsass.exe"}, (1007, 3, 3, 17, None)),
        ("AsrObfuscatedScriptBlocked", {"FileName": "a.js"}, (0, 99, 2, 2, None)),
    ],
)
def test_a_blocked_or_audited_child_process_is_a_launch(action: str, props: dict[str, Any], expected: Any) -> None:
    """DeviceEvents/asr_office_child_process_blocked (and asr_lsass_credential_theft_blocked, an Open); the other
    child-process rules, a record that does not name the child and another rule (Base Events)."""
    from .conftest import body, record

    row = {"ActionType": action, "InitiatingProcessFileName": "WINWORD.EXE", **props}
    (rec,) = m365parse.decode(body(record("DeviceEvents", **row))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    got = (event["class_uid"], event["activity_id"], event["action_id"], event["disposition_id"], event.get("status_id"))
    assert got == expected


@pytest.mark.parametrize(
    ("action", "class_uid", "activity", "name"),
    [
        ("NtAllocateVirtualMemoryRemoteApiCall", 1004, 1, "Allocate Page"),
        ("MemoryRemoteProtect", 1004, 2, "Modify Page"),
        ("WriteProcessMemoryApiCall", 1004, 8, "Write"),
        ("WriteToLsassProcessMemory", 1004, 8, "Write"),
        ("NtMapViewOfSectionRemoteApiCall", 1004, 9, "Map View"),
        ("SetThreadContextRemoteApiCall", 1007, 4, "Inject"),
    ],
)
def test_what_a_process_did_to_another_s_memory_is_memory_activity(
    action: str, class_uid: int, activity: int, name: str
) -> None:
    """DeviceEvents/read_process_memory_lsass is a Read; the other memory ActionTypes (thread hijacks stay Inject)."""
    from .conftest import body, record

    props = {"ActionType": action, "FileName": "lsass.exe", "ProcessId": 640, "InitiatingProcessFileName": "rundll32.exe"}
    (rec,) = m365parse.decode(body(record("DeviceEvents", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    assert (event["class_uid"], event["activity_id"], event["activity_name"]) == (class_uid, activity, name)
    assert (event["type_uid"], event["process"]["pid"], event["actor"]["process"]["name"]) == (
        class_uid * 100 + activity,
        640,
        "rundll32.exe",
    )


@pytest.mark.parametrize(
    ("action", "fields", "expected"),
    [
        ("UsbDriveMounted", {"ProductName": "Cruzer Blade", "Manufacturer": "SanDisk"}, (1, "External Storage", None, None)),
        ("PnpDeviceConnected", {"DeviceDescription": "HID Keyboard Device", "ClassName": "Keyboard"}, (2, "Keyboard", "Keyboard", None)),
        ("PnpDeviceBlocked", {"DeviceDescription": "Integrated Webcam", "ClassName": "Camera"}, (7, "Webcam", "Camera", None)),
        ("PnpDeviceAllowed", {"DeviceDescription": "USB Composite Device", "ClassName": "USB", "VendorIds": "[\"USB\\\\VID_0781\"]"},
         (None, None, "USB", ["USB\\VID_0781"])),
    ],
)
def test_a_peripheral_s_type_class_and_vendor_ids(action: str, fields: dict[str, Any], expected: Any) -> None:
    """DeviceEvents/pnp_device_connected is a USB disk; a USB drive mount, other setup classes, one OCSF has no type for."""
    from .conftest import body, record

    props = {"ActionType": action, "InitiatingProcessFileName": "services.exe", "AdditionalFields": json.dumps(fields)}
    (rec,) = m365parse.decode(body(record("DeviceEvents", **props))).records
    event = m365parse.normalize(rec, "ocsf")
    check_event(event)
    device = event["peripheral_device"]
    assert (device.get("type_id"), device.get("type"), device.get("class"), device.get("vendor_id_list")) == expected


def test_the_rule_that_acted_is_the_policy() -> None:
    """An attack surface reduction event's AdditionalFields.RuleId (the rule's GUID) is ``policy.uid``, in every class."""
    from .conftest import body, record

    fields = json.dumps({"IsAudit": False, "RuleId": "5beb7efe-fd9a-4556-801d-275e5ffc04cc"})
    for action, class_uid in (("AsrObfuscatedScriptBlocked", 0), ("AsrOfficeChildProcessBlocked", 1007)):
        props = {"ActionType": action, "FileName": "x.js", "InitiatingProcessFileName": "wscript.exe", "AdditionalFields": fields}
        (rec,) = m365parse.decode(body(record("DeviceEvents", **props))).records
        event = m365parse.normalize(rec, "ocsf")
        check_event(event)
        assert (event["class_uid"], event["policy"]) == (class_uid, {"uid": "5beb7efe-fd9a-4556-801d-275e5ffc04cc"})
