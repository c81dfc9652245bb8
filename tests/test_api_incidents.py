"""Graph incidents, Defender for Endpoint alerts, Defender XDR incidents and lone XDR alerts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import m365parse
from m365parse.api import GraphAlert, MdeAlert, XdrAlert, XdrIncident

SAMPLES = Path(m365parse.__file__).resolve().parent / "samples" / "api"
KINDS = {
    "GraphIncidentPage.json": "GraphIncident",
    "MdeAlertPage.json": "MdeAlert",
    "XdrIncidentPage.json": "XdrIncident",
    "GraphAlertPage.json": "GraphAlert",
}


def _load(name: str) -> Any:
    return json.loads((SAMPLES / name).read_bytes())


def _no_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value]
    return value


@pytest.mark.parametrize("name", sorted(KINDS))
def test_pages_decode_typed_and_give_back_every_value(name: str) -> None:
    data = (SAMPLES / name).read_bytes()
    batch = m365parse.decode(data)
    assert batch.errors == []
    items = _load(name)["value"]
    assert [r.table for r in batch.records] == [KINDS[name]] * len(items)
    for record, item in zip(batch.records, items, strict=True):
        assert record.extra == {}
        assert record.to_dict()["properties"] == _no_nulls(item)
    assert batch.records[0]._source()[0]._shape == "page"  # the one-pass fast path


@pytest.mark.parametrize("name", sorted(KINDS))
@pytest.mark.parametrize("form", ["one", "array", "lines", "no context", "entity"])
def test_every_kind_in_every_form(name: str, form: str) -> None:
    items = _load(name)["value"]
    if form == "one":
        data = json.dumps(items[0], indent=1)
        n = 1
    elif form == "array":
        data, n = json.dumps(items), len(items)
    elif form == "lines":
        data, n = "\n".join(json.dumps(i) for i in items), len(items)
    elif form == "no context":
        data, n = json.dumps({"value": items}), len(items)
    else:
        data, n = json.dumps({"@odata.context": "https://x/$metadata#Things/$entity", **items[0]}), 1
    batch = m365parse.decode(data)
    assert batch.errors == []
    assert [r.table for r in batch.records] == [KINDS[name]] * n


def test_graph_incident_with_and_without_expanded_alerts() -> None:
    page = _load("GraphIncidentPage.json")
    batch = m365parse.decode(json.dumps(page))
    first = batch.records[0]
    assert isinstance(first.properties.alerts[0], GraphAlert)
    assert type(first.properties.alerts[0].evidence[0]).__name__ == "FileEvidence"
    assert m365parse.timestamp_ns(first, "alerts[0].evidence[0].createdDateTime") == 1783971719_856666700
    assert m365parse.timestamp_ns(first, "createdDateTime") == 1783971721_416666700
    for incident in page["value"]:
        del incident["alerts"]
    plain = m365parse.decode(json.dumps(page))
    assert [r.properties.alerts for r in plain.records] == [None, None]
    assert plain.records[1].properties.redirectIncidentId == "4211"


def test_graph_incident_alert_with_unknown_evidence_and_new_keys() -> None:
    page = _load("GraphIncidentPage.json")
    alert = page["value"][0]["alerts"][0]
    alert["evidence"].append({"@odata.type": "#microsoft.graph.security.holographicEvidence", "x": 1})
    alert["evidence"][0]["fileDetails"]["entropy"] = 7.9
    page["value"][0]["newIncidentKey"] = True
    batch = m365parse.decode(json.dumps(page))
    record = batch.records[0]
    assert record.extra == {"newIncidentKey": True, "$.alerts[0].evidence[0].fileDetails.entropy": 7.9}
    assert record.properties.alerts[0].evidence[1] == {"@odata.type": "#microsoft.graph.security.holographicEvidence", "x": 1}
    assert batch.records[1].extra == {}


def test_mde_alert() -> None:
    (record,) = m365parse.decode((SAMPLES / "MdeAlertPage.json").read_bytes()).records
    alert = record.properties
    assert isinstance(alert, MdeAlert)
    assert alert.incidentId == 1126 and alert.relatedUser.userName == "temp123"
    assert alert.evidence[1].processId == 3276
    assert m365parse.timestamp_ns(record, "lastUpdateTime") == 1777292367_721130500
    assert m365parse.timestamp_ns(record, "evidence[1].processCreationTime") == 1777189419_804511100
    single = {"@odata.context": "https://api.securitycenter.microsoft.com/api/$metadata#Alerts/$entity", **_load("MdeAlertPage.json")["value"][0]}
    (one,) = m365parse.decode(json.dumps(single)).records
    assert one.properties.odata_context.endswith("$entity") and one.extra == {}


def test_xdr_incident_and_paging() -> None:
    batch = m365parse.decode((SAMPLES / "XdrIncidentPage.json").read_bytes())
    assert batch.next_link == "https://api.security.microsoft.com/api/incidents/?$skip=100"
    (record,) = batch.records
    incident = record.properties
    assert isinstance(incident, XdrIncident) and incident.incidentId == 924565
    assert incident.incidentName.endswith("\u200b")
    alert = incident.alerts[0]
    assert alert.devices[0].vmMetadata.cloudProvider == "Azure"
    assert alert.entities[0].verdict == "Malicious"
    assert m365parse.timestamp_ns(record, "alerts[0].devices[0].firstSeen") == 1736676093_353333300


def test_lone_xdr_alert() -> None:
    (record,) = m365parse.decode((SAMPLES / "XdrAlert.json").read_bytes()).records
    assert record.table == "XdrAlert" and isinstance(record.properties, XdrAlert)
    assert record.properties.entities[0].applicationName == "Expense Helper"
    assert m365parse.timestamp_ns(record, "creationTime") == 1782530055_926535800


def test_a_sparse_entity_with_an_undocumented_key_and_a_misfit() -> None:
    alert = copy.deepcopy(_load("XdrAlert.json"))
    alert["entities"][0]["appRiskLevel"] = "High"
    alert["incidentId"] = "not a number"
    (record,) = m365parse.decode(json.dumps(alert)).records
    assert record.table == "XdrAlert"
    assert record.extra == {"$.entities[0].appRiskLevel": "High", "incidentId": "not a number"}


def test_a_broken_incident_costs_only_itself() -> None:
    page = _load("XdrIncidentPage.json")
    good = json.dumps(page["value"][0])
    data = '{"value": [' + good + ', {"incidentName": "x", "alerts": [tru]}, ' + good + '], "@odata.nextLink": "n"}'
    batch = m365parse.decode(data)
    assert len(batch.records) == 2 and [(e.index, e.path) for e in batch.errors] == [(1, "$.value[1]")]
    assert batch.errors[0].raw == b'{"incidentName": "x", "alerts": [tru]}'
    assert batch.next_link == "n"  # read from the bytes even though the page is not valid JSON


def test_an_error_body_is_not_a_record() -> None:
    batch = m365parse.decode(b'{"error": {"code": "BadRequest", "message": "Syntax error", "target": "x"}}')
    assert batch.records == [] and len(batch.errors) == 1
    assert batch.errors[0].reason == "an error response of the API, not a record: BadRequest: Syntax error"


def test_a_graph_legacy_alert_says_what_it_is() -> None:
    legacy = {"id": "x", "vendorInformation": {"provider": "IPC"}, "azureTenantId": "t", "eventDateTime": "2026-01-01T00:00:00Z", "status": "newAlert"}
    batch = m365parse.decode(json.dumps({"value": [legacy]}))
    (error,) = batch.errors
    assert error.path == "$.value[0]" and "legacy alert" in error.reason
