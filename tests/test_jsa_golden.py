"""Golden normalized output of the "jsa" rule set, written by hand (tests/golden_jsa).

``<Table>.expected.json`` holds, for each record of ``m365parse/samples/<Table>.json``
in order, exactly the keys the rule set must produce, derived by hand from the
sample and ``m365parse/mappings/JSA.md``; ``<Table>.extra.json`` holds hand-made
variants of record 0 (``{"cases": [{"input": ..., "expected": ...}]}``) with the
direction, identity and placeholder oddities of real feeds.
``DeviceTime`` is
written as the canonical UTC string with every fractional digit that arrived.
"""

from __future__ import annotations

import calendar
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import m365parse
import m365parse.tables
from m365parse.mappings.jsa import FIELDS

from .conftest import vendor_samples

GOLDEN = Path(__file__).resolve().parent / "golden_jsa"
SAMPLES = Path(m365parse.__file__).resolve().parent / "samples"
#: Tables with hand-written golden files: the 21 streamed ones, IdentityInfo and SIEM alerts at least.
TABLES = [t for t in m365parse.TABLES if (GOLDEN / f"{t}.expected.json").exists()]


def _plain(out: dict[str, Any]) -> dict[str, Any]:
    """The normalized event with its ExactDatetime values as canonical strings."""
    plain = {}
    for key, value in out.items():
        if isinstance(value, datetime):
            assert isinstance(value, m365parse.ExactDatetime), f"{key} is a plain datetime"
            value = value.isoformat_exact()
        plain[key] = value
    return plain


def _decode(data: bytes) -> list[m365parse.Record]:
    batch = m365parse.decode(data)
    assert batch.errors == []
    return batch.records


def _normalized(data: bytes) -> list[dict[str, Any]]:
    return [_plain(m365parse.normalize(r, "jsa")) for r in _decode(data)]


def _load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def _extra_cases() -> list[tuple[str, int, dict[str, Any], dict[str, Any]]]:
    cases = []
    for table in TABLES:
        for i, case in enumerate(_load(GOLDEN / f"{table}.extra.json")["cases"]):
            cases.append((table, i, case["input"], case["expected"]))
    return cases


EXTRA = _extra_cases()


def _wrap(table: str, record: dict[str, Any]) -> bytes:
    """One record as the body it arrives in: an Event Hubs body, or a SIEM API array."""
    return json.dumps([record] if table == "SiemAlert" else {"records": [record]}).encode()


# --- golden files -------------------------------------------------------------------


def test_every_table_has_golden_files() -> None:
    names = {p.name for p in GOLDEN.iterdir()}
    assert set(m365parse.tables.STREAMED) | {"SiemAlert"} <= set(TABLES)  # every table seen streamed
    for table in m365parse.TABLES:
        assert (SAMPLES / f"{table}.json").exists(), table
    for table in TABLES:
        assert f"{table}.expected.json" in names
        assert f"{table}.extra.json" in names
        assert (SAMPLES / f"{table}.json").exists()


@pytest.mark.parametrize("table", TABLES)
def test_samples(table: str) -> None:
    expected = _load(GOLDEN / f"{table}.expected.json")
    records = _decode((SAMPLES / f"{table}.json").read_bytes())
    assert len(records) == len(expected) == 3
    assert all(r.table == table for r in records)
    got = [_plain(m365parse.normalize(r, "jsa")) for r in records]
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"{table} record {i}"


@pytest.mark.parametrize(("table", "index", "record", "expected"), EXTRA, ids=[f"{t}-{i}" for t, i, _, _ in EXTRA])
def test_extra_cases(table: str, index: int, record: dict[str, Any], expected: dict[str, Any]) -> None:
    (got,) = _normalized(_wrap(table, record))
    assert got == expected


def test_every_table_has_a_variant_of_record_0() -> None:
    for table in TABLES:
        cases = _load(GOLDEN / f"{table}.extra.json")["cases"]
        assert cases, table
        for case in cases:
            (rec,) = _decode(_wrap(table, case["input"]))
            assert rec.table == table


def test_normalize_batch_agrees_with_the_golden_files() -> None:
    for table in TABLES:
        batch = m365parse.decode((SAMPLES / f"{table}.json").read_bytes())
        got = [_plain(out) for out in m365parse.normalize_batch(batch, "jsa")]
        assert got == _load(GOLDEN / f"{table}.expected.json"), table


# --- the vendor guide's sample events --------------------------------------------------


def _ns(text: str) -> int:
    """Nanoseconds since the epoch of ``YYYY-MM-DDTHH:MM:SS.fffffffZ``, worked out by hand."""
    whole, _, frac = text.rstrip("Z").partition(".")
    seconds = calendar.timegm(datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").timetuple())
    return seconds * 1_000_000_000 + int(frac.ljust(9, "0"))


def _check_time(value: Any, text: str) -> None:
    assert isinstance(value, datetime)
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)
    assert isinstance(value, m365parse.ExactDatetime)
    assert value.ns == _ns(text)
    assert value.isoformat_exact() == text


GUIDE_TENANT = "abc12345-123a-123a-456babcdefg12345"


def test_guide_streaming_sample_1_device_event() -> None:
    (rec,) = _decode(vendor_samples()[0])
    out = m365parse.normalize(rec, "jsa")
    # the guide's highlighted fields
    assert out["EventCategory"] == "AdvancedHunting-DeviceEvents"  # category
    assert out["EventID"] == "ScheduledTaskUpdated"  # ActionType
    _check_time(out["DeviceTime"], "2021-07-21T00:55:44.2280946Z")  # properties.Timestamp
    assert out["DeviceTime"].ns == 1626828944_228094600
    # and the rest, by hand: the initiating process's account is the actor
    assert _plain(out) == {
        "EventCategory": "AdvancedHunting-DeviceEvents",
        "EventID": "ScheduledTaskUpdated",
        "DeviceTime": "2021-07-21T00:55:44.2280946Z",
        "LogSourceIdentifier": GUIDE_TENANT,
        "Username": "clientpc$",
        "DeviceName": "clientpc.example.net",
        "IdentityUsername": "clientpc$",
        "IdentityDomain": "m365defender",
        "IdentitySid": "S-1-5-18",
        "IdentityHostName": "clientpc.example.net",
    }


def test_guide_streaming_sample_2_alert() -> None:
    (rec,) = _decode(vendor_samples()[1])
    out = m365parse.normalize(rec, "jsa")
    assert out["EventCategory"] == "AdvancedHunting-AlertInfo"  # category
    assert out["EventID"] == "Possible keylogging activity"  # Title
    _check_time(out["DeviceTime"], "2021-09-09T00:39:17.1650944Z")  # properties.Timestamp
    assert out["DeviceTime"].ns == 1631147957_165094400
    assert _plain(out) == {
        "EventCategory": "AdvancedHunting-AlertInfo",
        "EventID": "Possible keylogging activity",
        "DeviceTime": "2021-09-09T00:39:17.1650944Z",
        "LogSourceIdentifier": GUIDE_TENANT,
        "Severity": "High",
    }


@pytest.mark.parametrize(
    ("index", "category", "alert_time"),
    [(2, "CommandAndControl", "2017-12-27T03:54:41.1914393Z"), (3, "Backdoor", "2017-11-22T18:01:32.1887775Z")],
)
def test_guide_siem_samples(index: int, category: str, alert_time: str) -> None:
    (rec,) = _decode(vendor_samples()[index])
    out = m365parse.normalize(rec, "jsa")
    # the guide's highlighted fields
    assert out["EventID"] == category  # Category
    _check_time(out["DeviceTime"], alert_time)  # AlertTime
    assert out["SourceIP"] == "192.0.2.0"  # IpAddress
    assert out["SourceIPv6"] == "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"  # InternalIPv6List, RFC 5952 form
    assert out["Username"] == "qradar1"  # UserName
    # and the rest, by hand (the guide's placeholders are text like any other)
    assert _plain(out) == {
        "EventCategory": "WindowsDefenderAtp",
        "EventID": category,
        "DeviceTime": alert_time,
        "SourceIP": "192.0.2.0",
        "SourceIPv6": "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
        "Username": "qradar1",
        "DeviceName": "<ComputerDnsName>",
        "Severity": "<Severity>",
        "IdentityUsername": "qradar1",
        "IdentityDomain": "<UserDomain>",
        "IdentityHostName": "<MachineName>",
        "IdentityIP": "192.0.2.0",
    }


# --- completeness -----------------------------------------------------------------------


def test_every_table_has_rules() -> None:
    jsa = m365parse.registry.get("jsa")
    for table in m365parse.TABLES:  # the "*" rules at least, for every table
        rules = jsa.rules_for(table)
        for key in ("EventCategory", "EventID", "DeviceTime"):
            assert key in rules, (table, key)
        assert set(rules) <= set(FIELDS), table


def test_every_produced_key_is_a_jsa_field() -> None:
    outputs = []
    for table in TABLES:
        outputs += _normalized((SAMPLES / f"{table}.json").read_bytes())
    for table, _, record, _ in EXTRA:
        outputs += _normalized(_wrap(table, record))
    for data in vendor_samples():
        outputs += _normalized(data)
    for out in outputs:
        assert set(out) <= set(FIELDS), set(out) - set(FIELDS)
        assert {"EventCategory", "EventID", "DeviceTime"} <= set(out)
        assert all(v is not None and v != "" and v != [] for v in out.values())
    # the golden files name no other keys either
    for table in TABLES:
        for expected in _load(GOLDEN / f"{table}.expected.json"):
            assert set(expected) <= set(FIELDS)


T1 = "3f2a8c1e-7b4d-4e9a-9c61-5d0b2e7f8a14"


def _unknown(category: str, **props: Any) -> dict[str, Any]:
    return {
        "time": "2024-05-14T08:51:02.1180443Z",
        "tenantId": T1,
        "operationName": "Publish",
        "category": category,
        "properties": props,
    }


def test_unknown_tables_get_the_generic_rules() -> None:
    behavior = _unknown(
        "AdvancedHunting-FutureBehaviorInfo",
        Timestamp="2024-05-14T08:50:00.1234567Z",
        BehaviorId="ta8b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3",
        ActionType="SuspiciousPowerShellDownload",
        Description="A PowerShell process downloaded a script",
        Categories='["Execution"]',
        AttackTechniques='["PowerShell (T1059.001)"]',
        ServiceSource="Microsoft Defender for Endpoint",
        DetectionSource="EDR",
        DeviceId="7c1f3e9a2b4d6f8e0a1c3b5d7e9f1a2b3c4d5e6f",
        AccountUpn="avery.lin@contoso.com",
        IPAddress="203.0.113.14",
        RemoteIP="203.0.113.45",
        StartTime="2024-05-14T08:41:56.5950497Z",
        AdditionalFields="{}",
    )
    entities = _unknown(
        "AdvancedHunting-FutureBehaviorEntities",
        Timestamp="2024-05-14T08:50:00Z",
        ActionType="",
        EntityType="User",
        AccountName="avery.lin",
        AccountUpn="avery.lin@contoso.com",
        AccountDomain="contoso",
        DeviceName="ws-fin-0142.corp.contoso.com",
        LocalIP="10.20.14.37",
    )
    records = _decode(json.dumps({"records": [behavior, entities]}).encode())
    assert [type(r) for r in records] == [m365parse.UnknownRecord, m365parse.UnknownRecord]
    outs = [m365parse.normalize(r, "jsa") for r in records]
    for out, text in zip(outs, ["2024-05-14T08:50:00.1234567Z", "2024-05-14T08:50:00Z"]):
        _check_time(out["DeviceTime"], text)
    assert [_plain(o) for o in outs] == [
        {
            "EventCategory": "AdvancedHunting-FutureBehaviorInfo",
            "EventID": "SuspiciousPowerShellDownload",
            "DeviceTime": "2024-05-14T08:50:00.1234567Z",
            "LogSourceIdentifier": T1,
            "Username": "avery.lin@contoso.com",
        },
        {
            "EventCategory": "AdvancedHunting-FutureBehaviorEntities",
            "EventID": "FutureBehaviorEntities",
            "DeviceTime": "2024-05-14T08:50:00Z",
            "LogSourceIdentifier": T1,
            "Username": "avery.lin",
            "DeviceName": "ws-fin-0142.corp.contoso.com",
        },
    ]
