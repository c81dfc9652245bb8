"""Microsoft Graph security alerts (alerts_v2): pages, arrays, one alert, evidence, extra at depth, timestamps."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import m365parse
from m365parse.api import EVIDENCE_TYPES, GraphAlert
from m365parse.api import graph as g
from m365parse.api.graph_enums import ALERT_SEVERITY, ENUMS

SAMPLE = Path(m365parse.__file__).resolve().parent / "samples" / "api" / "GraphAlertPage.json"


def _page() -> dict[str, Any]:
    page: dict[str, Any] = json.loads(SAMPLE.read_bytes())
    return page


def _alert(n: int = 0) -> dict[str, Any]:
    alert: dict[str, Any] = copy.deepcopy(_page()["value"][n])
    return alert


def _no_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value]
    return value


def _check_invariant(batch: m365parse.Batch, n: int) -> None:
    assert len(batch.records) + len(batch.errors) == n


def test_a_page_is_typed_with_its_paging() -> None:
    batch = m365parse.decode(SAMPLE.read_bytes())
    assert batch.errors == []
    assert [r.table for r in batch.records] == ["GraphAlert", "GraphAlert"]
    assert batch.next_link is not None and "skiptoken" in batch.next_link
    assert batch.count == 5
    first = batch.records[0]
    assert isinstance(first.properties, GraphAlert)
    kinds = [type(e).__name__ for e in first.properties.evidence]
    assert kinds == ["DeviceEvidence", "UserEvidence", "ProcessEvidence", "IpEvidence"]
    device = first.properties.evidence[0]
    assert device.loggedOnUsers[0].accountName == "jdoe"
    assert first.properties.evidence[2].imageFile.fileSize == 450560
    assert first.properties.evidence[3].location.longitude == -1.25
    assert first.extra == {}


def test_to_dict_gives_back_every_value() -> None:
    batch = m365parse.decode(SAMPLE.read_bytes())
    for record, alert in zip(batch.records, _page()["value"], strict=True):
        assert record.to_dict()["properties"] == _no_nulls(alert)
        assert record.category is None


def test_paging_is_optional_and_a_page_without_context_is_recognised() -> None:
    page = {"value": [_alert(1)]}
    batch = m365parse.decode(json.dumps(page))
    assert [r.table for r in batch.records] == ["GraphAlert"]
    assert batch.next_link is None and batch.count is None
    reordered = {"@odata.count": 1, "value": [_alert(1)], "@odata.context": "x#security/alerts_v2"}
    batch = m365parse.decode(json.dumps(reordered, indent=2))
    assert [r.table for r in batch.records] == ["GraphAlert"] and batch.count == 1
    later = {"value": [_alert(1)], "@odata.nextLink": "https://next"}
    assert m365parse.decode(json.dumps(later)).next_link == "https://next"


@pytest.mark.parametrize("form", ["entity", "bare", "pretty", "array", "lines"])
def test_one_alert_in_every_form(form: str) -> None:
    alert = _alert(0)
    if form == "entity":
        data = json.dumps({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2/$entity", **alert})
    elif form == "bare":
        data = json.dumps(alert)
    elif form == "pretty":
        data = json.dumps(alert, indent=2)
    elif form == "array":
        data = json.dumps([alert, _alert(1)])
    else:
        data = json.dumps(alert) + "\n" + json.dumps(_alert(1)) + "\n"
    batch = m365parse.decode(data)
    assert batch.errors == []
    assert {r.table for r in batch.records} == {"GraphAlert"}
    assert batch.records[0].properties.id == alert["id"]
    assert batch.records[0].extra == {}
    assert m365parse.timestamp_ns(batch.records[0], "evidence[2].processCreationDateTime") == 1783971491_045712100


def test_unknown_evidence_type_stays_untyped_in_a_typed_alert() -> None:
    alert = _alert(0)
    alert["evidence"].insert(1, {"@odata.type": "#microsoft.graph.security.quantumEvidence", "qubits": 7})
    alert["evidence"].append({"verdict": "unknown"})  # no @odata.type at all
    batch = m365parse.decode(json.dumps({"value": [alert, _alert(1)]}))
    _check_invariant(batch, 2)
    assert batch.errors == []
    record = batch.records[0]
    evidence = record.properties.evidence
    assert evidence[1] == {"@odata.type": "#microsoft.graph.security.quantumEvidence", "qubits": 7}
    assert evidence[-1] == {"verdict": "unknown"}
    assert type(evidence[0]).__name__ == "DeviceEvidence" and type(evidence[3]).__name__ == "ProcessEvidence"
    assert record.extra == {}
    assert record.to_dict()["properties"] == _no_nulls(alert)
    assert type(batch.records[1].properties.evidence[0]).__name__ == "AnalyzedMessageEvidence"


def test_nothing_is_lost_at_any_depth() -> None:
    alert = _alert(0)
    alert["brandNew"] = {"a": 1}
    alert["severity"] = 5  # does not fit: a string
    alert["evidence"][2]["newProperty"] = "x"
    alert["evidence"][0]["osBuild"] = "not a number"
    alert["evidence"][2]["imageFile"]["fileSize"] = "big"
    alert["comments"][0]["reaction"] = ":)"
    batch = m365parse.decode(json.dumps({"value": [alert]}))
    (record,) = batch.records
    assert record.extra == {
        "brandNew": {"a": 1},
        "severity": 5,
        "$.evidence[2].newProperty": "x",
        "$.evidence[0].osBuild": "not a number",
        "$.evidence[2].imageFile.fileSize": "big",
        "$.comments[0].reaction": ":)",
    }
    assert record.properties.severity is None
    assert record.properties.evidence[0].osBuild is None
    assert type(record.properties.evidence[2]).__name__ == "ProcessEvidence"


def test_a_broken_alert_costs_only_itself() -> None:
    good = json.dumps(_alert(1)).encode()
    broken = b'{"id": "x", "providerAlertId": "p", "title": "cut \xff here"}'
    data = b'{"@odata.context": "#security/alerts_v2", "value": [' + good + b", " + broken + b", " + good + b"]}"
    batch = m365parse.decode(data)
    _check_invariant(batch, 3)
    (error,) = batch.errors
    assert error.index == 1 and error.path == "$.value[1]" and error.raw == broken
    valid_json_bad_item = {"value": [_alert(1), "oops", {}], "@odata.nextLink": "https://n"}
    batch = m365parse.decode(json.dumps(valid_json_bad_item))
    _check_invariant(batch, 3)
    assert [e.path for e in batch.errors] == ["$.value[1]", "$.value[2]"]
    assert batch.next_link == "https://n"


def test_enumerations_are_open() -> None:
    alert = _alert(1)
    alert["severity"] = "catastrophic"
    alert["serviceSource"] = "microsoftSecurityForAI"
    (record,) = m365parse.decode(json.dumps([alert])).records
    assert record.properties.severity == "catastrophic" and record.extra == {}
    assert "high" in ALERT_SEVERITY and "catastrophic" not in ALERT_SEVERITY
    assert ENUMS["alertStatus"] == ("unknown", "new", "inProgress", "resolved", "unknownFutureValue")
    assert g.FIELD_ENUMS["alert.severity"] == "alertSeverity"


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2026-07-13T19:41:59Z", 1783971719_000000000),
        ("2026-07-13T19:41:59.3Z", 1783971719_300000000),
        ("2026-07-13T19:41:59.12345Z", 1783971719_123450000),
        ("2026-07-13T19:41:59.1234567Z", 1783971719_123456700),
        ("2026-07-13T19:41:59.9999999Z", 1783971719_999999900),
    ],
)
def test_exact_timestamps_at_every_depth(text: str, ns: int) -> None:
    alert = _alert(0)
    alert["createdDateTime"] = text
    alert["evidence"][1]["createdDateTime"] = text
    alert["evidence"][2]["imageFile"]["fileSize"] = 1
    alert["comments"][0]["createdDateTime"] = text
    for data in (json.dumps({"value": [alert]}), json.dumps({"value": [alert, "broken"]})):
        record = m365parse.decode(data).records[0]
        for column in ("createdDateTime", "evidence[1].createdDateTime", "$.evidence[1].createdDateTime", "comments[0].createdDateTime"):
            assert m365parse.timestamp_ns(record, column) == ns, column
            exact = m365parse.exact_datetime(record, column)
            assert exact is not None and exact.ns == ns
        assert record.to_dict()["properties"]["evidence"][1]["createdDateTime"] == m365parse.exact_datetime(
            record, "evidence[1].createdDateTime"
        ).isoformat_exact()  # type: ignore[union-attr]
    assert m365parse.timestamp_ns(record, "evidence[0].vmMetadata") is None
    with pytest.raises(m365parse.InvalidColumn):
        m365parse.timestamp_ns(record, "evidence[9].createdDateTime")
    with pytest.raises(m365parse.InvalidColumn):
        m365parse.timestamp_ns(record, "evidence[0].hostName")


def test_a_timestamp_inside_untyped_evidence() -> None:
    alert = _alert(1)
    alert["evidence"].append({"@odata.type": "#microsoft.graph.security.futureEvidence", "createdDateTime": "2026-07-14T06:02:44.1234567Z"})
    (record,) = m365parse.decode(json.dumps([alert])).records
    assert m365parse.timestamp_ns(record, "evidence[3].createdDateTime") == 1784008964_123456700


def test_all_48_evidence_types_decode() -> None:
    assert len(EVIDENCE_TYPES) == 48
    evidence = [{"@odata.type": tag, "createdDateTime": "2026-01-01T00:00:00Z", "verdict": "unknown"} for tag in EVIDENCE_TYPES]
    alert = {**_alert(1), "evidence": evidence}
    (record,) = m365parse.decode(json.dumps({"value": [alert]})).records
    assert [type(e) for e in record.properties.evidence] == list(EVIDENCE_TYPES.values())


def test_nested_evidence_is_typed_with_or_without_its_type() -> None:
    pod = {
        "@odata.type": "#microsoft.graph.security.kubernetesPodEvidence",
        "name": "web-1",
        "namespace": {"name": "prod", "cluster": {"name": "aks", "cloudResource": {"@odata.type": "#microsoft.graph.security.azureResourceEvidence", "resourceName": "aks"}}},
        "containers": [{"name": "app", "image": {"imageId": "sha256:1"}}],
        "podIp": {"ipAddress": "10.0.0.9"},
    }
    alert = {**_alert(1), "evidence": [pod]}
    for data in (json.dumps([alert]), json.dumps([alert, 7])):
        record = m365parse.decode(data).records[0]
        (typed,) = record.properties.evidence
        assert type(typed.namespace.cluster.cloudResource).__name__ == "AzureResourceEvidence"
        assert type(typed.containers[0].image).__name__ == "ContainerImageEvidence"
        assert typed.podIp.ipAddress == "10.0.0.9"
        assert record.to_dict()["properties"]["evidence"][0]["namespace"]["cluster"]["cloudResource"]["resourceName"] == "aks"


def test_an_empty_object_is_not_a_graph_alert() -> None:
    batch = m365parse.decode(b'{"value": [{}]}')
    assert len(batch.errors) == 1 and batch.records == []


def test_batch_without_paging_still_builds() -> None:
    batch = m365parse.Batch([], [])
    assert batch.next_link is None and batch.count is None


_FEW_KEYS = {
    "id": "da1",
    "title": "Suspicious PowerShell",
    "evidence": [{"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "10.1.2.3"}],
}


@pytest.mark.parametrize("form", ["one", "array", "lines"])
def test_an_alert_named_by_its_own_odata_type_is_a_graph_alert(form: str) -> None:
    """Without providerAlertId and serviceSource, the entity's own ``@odata.type`` decides."""
    alert = {"@odata.type": "#microsoft.graph.security.alert", **_FEW_KEYS}
    data = {
        "one": json.dumps(alert),
        "array": json.dumps([alert, alert]),
        "lines": json.dumps(alert) + "\n" + json.dumps(alert) + "\n",
    }[form]
    batch = m365parse.decode(data)
    assert batch.errors == [] and batch.records
    for record in batch.records:
        assert record.table == "GraphAlert"
        assert record.properties.title == "Suspicious PowerShell"
        assert type(record.properties.evidence[0]).__name__ == "IpEvidence"


def test_an_incident_named_by_its_own_odata_type_is_a_graph_incident() -> None:
    incident = {"@odata.type": "#microsoft.graph.security.incident", "id": "29", "status": "active"}
    batch = m365parse.decode(json.dumps(incident))
    assert batch.errors == [] and [r.table for r in batch.records] == ["GraphIncident"]


def test_another_odata_type_with_few_keys_is_still_not_an_alert() -> None:
    other = {"@odata.type": "#microsoft.graph.security.somethingElse", **_FEW_KEYS}
    batch = m365parse.decode(json.dumps(other))
    assert batch.records == [] and len(batch.errors) == 1


def test_the_page_envelope_is_kept() -> None:
    page = _page()
    batch = m365parse.decode(SAMPLE.read_bytes())
    assert batch.envelope == {k: v for k, v in page.items() if k != "value"}
    assert batch.envelope["@odata.nextLink"] == batch.next_link
    # a key Graph may add later is kept too, and the alerts are still typed
    page["@odata.deltaLink"] = "https://delta"
    page["@microsoft.graph.tips"] = {"note": ["a", None]}
    batch = m365parse.decode(json.dumps(page))
    assert batch.errors == [] and [type(r.properties) for r in batch.records] == [GraphAlert, GraphAlert]
    assert batch.envelope == {k: v for k, v in page.items() if k != "value"}
    assert batch.next_link == page["@odata.nextLink"] and batch.count == page["@odata.count"]


def test_a_null_paging_key_is_kept_as_null() -> None:
    batch = m365parse.decode(json.dumps({"@odata.nextLink": None, "value": [_alert(1)]}))
    assert batch.envelope == {"@odata.nextLink": None} and batch.next_link is None
    assert m365parse.decode(json.dumps({"value": [_alert(1)]})).envelope == {}


def test_a_single_entity_has_no_envelope() -> None:
    alert = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2/$entity", **_alert(0)}
    batch = m365parse.decode(json.dumps(alert))
    assert batch.envelope == {} and batch.records[0].properties.odata_context == alert["@odata.context"]


# --- beta manual alerts (microsoft.graph.security.manualAlert, derived from alert) -------

MANUAL = "#microsoft.graph.security.manualAlert"


def _manual(n: int = 0, **keys: Any) -> dict[str, Any]:
    own = {"isExcludedFromCorrelation": True, "linkToIncident": 9007199254740993, "sentinelWorkspace": "/subscriptions/s/ws"}
    return {"@odata.type": MANUAL, **_alert(n), **own, **keys}


@pytest.mark.parametrize("form", ["entity", "array", "lines", "page", "mixed page"])
def test_a_manual_alert_is_a_graph_alert_with_its_own_properties(form: str) -> None:
    manual = _manual(0)
    data = {
        "entity": json.dumps(manual),
        "array": json.dumps([manual, _manual(1)]),
        "lines": json.dumps(manual) + "\n" + json.dumps(_manual(1)),
        "page": json.dumps({"@odata.context": "x#security/alerts_v2", "value": [manual, _manual(1)]}),
        "mixed page": json.dumps({"value": [manual, _alert(1)]}),
    }[form]
    batch = m365parse.decode(data)
    assert batch.errors == []
    record = batch.records[0]
    assert record.table == "GraphAlert" and type(record.properties) is g.GraphManualAlert
    assert isinstance(record.properties, GraphAlert)
    assert record.properties.linkToIncident == 9007199254740993 and record.properties.isExcludedFromCorrelation is True
    assert record.properties.evidence[0].loggedOnUsers[0].accountName == "jdoe"
    assert record.extra == {}
    assert record.to_dict()["properties"] == _no_nulls(manual)
    if form == "mixed page":
        assert type(batch.records[1].properties) is GraphAlert
    assert m365parse.normalize(record, "ecs")["event"]["kind"] == "alert"


def test_a_manual_alert_without_its_type_and_one_that_does_not_fit() -> None:
    # isExcludedFromCorrelation (non-nullable: always sent) tells it apart without @odata.type
    untagged = _manual(1)
    del untagged["@odata.type"]
    record = m365parse.decode(json.dumps(untagged)).records[0]
    assert type(record.properties) is g.GraphManualAlert and record.properties.odata_type is None
    # a value that does not fit: built column by column, still a manual alert, nothing lost
    odd = _manual(1, linkToIncident="not a number", newKey=[1])
    batch = m365parse.decode(json.dumps([odd]))
    assert batch.errors == []
    record = batch.records[0]
    assert type(record.properties) is g.GraphManualAlert and record.properties.linkToIncident is None
    assert record.extra == {"linkToIncident": "not a number", "newKey": [1]}
    # a plain alert naming itself an alert stays a plain alert
    plain = {"@odata.type": "#microsoft.graph.security.alert", **_alert(1)}
    assert type(m365parse.decode(json.dumps(plain)).records[0].properties) is GraphAlert


def test_entity_definitions_of_no_field_table_are_json_objects() -> None:
    definitions = [{"entityType": "Account", "properties": {"upn": "a@b"}}]
    record = m365parse.decode(json.dumps(_manual(0, entityDefinitions=definitions))).records[0]
    assert record.properties.entityDefinitions == definitions and record.extra == {}
