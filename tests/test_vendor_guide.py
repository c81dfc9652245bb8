"""The vendor guide's sample events decode to exactly the values it highlights."""

from __future__ import annotations

from datetime import datetime, timezone

import m365parse
from m365parse.tables import AlertInfo, DeviceEvents, SiemAlert

from .conftest import vendor_samples

UTC = timezone.utc


def _one(data: bytes) -> m365parse.Record:
    batch = m365parse.decode(data)
    assert batch.errors == []
    assert len(batch.records) == 1
    return batch.records[0]


def test_there_are_four_samples() -> None:
    assert len(vendor_samples()) == 4


def test_streaming_sample_1_scheduled_task_update() -> None:
    rec = _one(vendor_samples()[0])
    assert rec.table == "DeviceEvents"
    assert rec.category == "AdvancedHunting-DeviceEvents"  # Event Category
    assert isinstance(rec.properties, DeviceEvents)
    assert rec.properties.ActionType == "ScheduledTaskUpdated"  # Event ID
    assert rec.properties.Timestamp == datetime(2021, 7, 21, 0, 55, 44, 228095, tzinfo=UTC)  # Device Time
    assert m365parse.timestamp_ns(rec, "Timestamp") == 1626828944_228094600
    assert rec.time == datetime(2021, 7, 21, 0, 57, 23, 18612, tzinfo=UTC)
    assert rec.tenantId == "abc12345-123a-123a-456babcdefg12345"
    assert rec.operationName == "Publish"
    assert rec.properties.InitiatingProcessLogonId == 999
    assert rec.properties.InitiatingProcessAccountSid == "S-1-5-18"
    assert rec.properties.ReportId == 60533
    assert rec.properties.DeviceName == "clientpc.example.net"
    assert rec.properties.AppGuardContainerId == ""
    assert rec.properties.MachineGroup is None
    assert rec.extra == {}
    assert m365parse.expand(rec, "AdditionalFields") == {
        "TaskName": "\\Microsoft\\Windows\\UpdateOrchestrator\\ScheduleMaintenanceWork"
    }


def test_streaming_sample_2_alert() -> None:
    rec = _one(vendor_samples()[1])
    assert rec.table == "AlertInfo"
    assert rec.category == "AdvancedHunting-AlertInfo"  # Event Category
    assert isinstance(rec.properties, AlertInfo)
    assert rec.properties.Title == "Possible keylogging activity"  # Event ID
    assert rec.properties.Timestamp == datetime(2021, 9, 9, 0, 39, 17, 165094, tzinfo=UTC)  # Device Time
    assert m365parse.timestamp_ns(rec, "Timestamp") == 1631147957_165094400
    assert rec.properties.AlertId == "da637667448174310467_1631502683"
    assert rec.properties.Category == "Collection"
    assert rec.properties.Severity == "High"
    assert rec.properties.DetectionSource == "EDR"
    assert m365parse.expand(rec, "AttackTechniques") == ["Input Capture (T1056)"]
    assert rec.extra == {}


def test_siem_samples() -> None:
    expected = [
        ("2017-12-27T03:54:41.1914393Z", "CommandAndControl", datetime(2017, 12, 27, 3, 54, 41, 191439, tzinfo=UTC)),
        ("2017-11-22T18:01:32.1887775Z", "Backdoor", datetime(2017, 11, 22, 18, 1, 32, 188778, tzinfo=UTC)),
    ]
    for data, (alert_time, category, dt) in zip(vendor_samples()[2:], expected):
        rec = _one(data)
        assert rec.table == "SiemAlert"
        assert rec.category is None
        alert = rec.properties
        assert isinstance(alert, SiemAlert)
        assert alert.AlertTime == dt  # Device Time
        assert rec.to_dict()["properties"]["AlertTime"] == alert_time
        assert alert.Category == category  # Event ID
        assert alert.IpAddress == "192.0.2.0"  # Source IP
        assert alert.InternalIPv6List == "2001:0DB8:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF"  # Source IPv6
        assert alert.UserName == "qradar1"  # Username
        assert alert.Source == "WindowsDefenderAtp"
        assert alert.InternalIPv4List == "192.0.2.0;127.0.0.1"
        # Placeholders in typed fields: the field is None, the text is kept.
        assert alert.AlertPart is None
        assert alert.RemediationIsSuccess is None
        assert alert.WasExecutingWhileDetected is None
        assert rec.extra == {
            "AlertPart": "<AlertPart>",
            "RemediationIsSuccess": "<RemediationIsSuccess>",
            "WasExecutingWhileDetected": "<WasExecutingWhileDetected>",
        }


def test_all_samples_in_one_array_of_mixed_kinds() -> None:
    data = b"[" + b",".join(vendor_samples()) + b"]"
    batch = m365parse.decode(data)
    assert batch.errors == []
    assert [r.table for r in batch.records] == ["DeviceEvents", "AlertInfo", "SiemAlert", "SiemAlert"]
