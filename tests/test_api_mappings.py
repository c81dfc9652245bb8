"""The "jsa" and "ecs" rule sets over the alert, incident and hunting-row records of the polled APIs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import m365parse
from m365parse.api.records import API_RECORD_TYPES

from .test_ecs import RULE_SETS, check_document

SAMPLES = sorted((Path(m365parse.__file__).resolve().parent / "samples" / "api").glob("*.json"))


def _records() -> list[m365parse.Record]:
    return [r for path in SAMPLES for r in m365parse.decode(path.read_bytes()).records]


def test_every_kind_has_a_sample() -> None:
    assert {r.table for r in _records()} >= set(API_RECORD_TYPES)


@pytest.mark.parametrize("rule_set", RULE_SETS)
def test_ecs_documents_are_valid(rule_set: str) -> None:
    for record in _records():
        doc = m365parse.normalize(record, rule_set)
        check_document(doc)
        if record.table in ("GraphAlert", "GraphIncident", "MdeAlert", "XdrIncident", "XdrAlert"):
            assert doc["event"]["kind"] == "alert", record.table
            assert doc["m365_defender"], record.table
        if record.table in ("GraphAlert", "MdeAlert", "XdrAlert") or getattr(record.properties, "alerts", None):
            assert doc["rule"]["name"], record.table
        if "severity" in rule_set and record.table in ("GraphAlert", "MdeAlert", "XdrAlert"):
            assert doc["event"]["severity"] in (1, 2, 3, 4)
        if "original" in rule_set and record.table in API_RECORD_TYPES:
            assert json.loads(doc["event"]["original"]) == record.to_dict()["properties"]


def test_threat_rule_and_related_of_a_graph_alert() -> None:
    page = next(p for p in SAMPLES if p.name == "GraphAlertPage.json")
    first = m365parse.decode(page.read_bytes()).records[0]
    doc = m365parse.normalize(first, "ecs")
    assert doc["threat"]["technique"]["id"] == ["T1059", "T1105"]
    assert doc["threat"]["technique"]["subtechnique"]["id"] == ["T1059.001"]
    assert doc["threat"]["tactic"]["id"] == ["TA0002"] and doc["threat"]["framework"] == "MITRE ATT&CK"
    assert doc["rule"] == {
        "id": "7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        "name": "Suspicious PowerShell command line",
        "description": first.properties.description,
        "category": "Execution",
    }
    assert doc["related"]["ip"] == ["198.51.100.7", "10.1.4.22", "203.0.113.40", "fe80::1c2d:3e4f:5a6b:7c8d"]
    assert set(doc["related"]["user"]) == {"jdoe", "jdoe@contoso.com"}
    assert doc["related"]["hosts"] == ["ws-0142.contoso.com", "ws-0142"]
    assert "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0" in doc["related"]["hash"]
    assert doc["event"]["start"] == "2026-07-13T19:38:11.0457121Z"
    assert doc["m365_defender"]["graph_alert"] == first.to_dict()["properties"]


def test_jsa_fields() -> None:
    xdr = next(p for p in SAMPLES if p.name == "XdrIncidentPage.json")
    (record,) = m365parse.decode(xdr.read_bytes()).records
    out = m365parse.normalize(record, "jsa")
    assert out["EventCategory"] == "XdrIncident" and out["Username"] == "svc-backup"
    assert out["DeviceName"] == "fs-07.contoso.com"
    assert out["DeviceTime"].isoformat_exact() == "2026-06-26T22:05:23.5166667Z"


def test_a_hunting_row_of_a_known_table_normalizes_as_that_table() -> None:
    mde = next(p for p in SAMPLES if p.name == "HuntingMde.json")
    record = m365parse.decode(mde.read_bytes()).records[0]
    assert m365parse.normalize(record, "ecs")["event"]["dataset"] == "m365_defender.alert_info"


def test_a_rule_set_without_rules_for_a_kind_says_so() -> None:
    page = next(p for p in SAMPLES if p.name == "GraphAlertPage.json")
    record = m365parse.decode(page.read_bytes()).records[0]
    custom = m365parse.RuleSet("mine", {"*": {"x": {"const": 1}}})
    with pytest.raises(m365parse.MappingError):
        m365parse.normalize(record, custom)
    assert len(m365parse.normalize_batch(m365parse.decode(page.read_bytes()), "ecs")) == 2
