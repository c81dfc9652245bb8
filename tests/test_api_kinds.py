"""An alert or incident is the same kind whichever path decodes it.

Each kind of the alert and incident APIs is told apart by its keys, once on the
decoded struct (the one-pass decode's check) and once on the untyped object (the
per-item path, taken when an item has a key its struct does not declare or a value
that does not fit).  A page whose ``@odata.context`` names the entity set says the
kind of its items itself: a ``$select`` page sends only the keys asked for.
``decode_normalized`` decodes them into narrowed structs that read the same keys:
the same kinds, the same events.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import m365parse
from m365parse.shapes import alerts
from m365parse.shapes.alerts import ALERT_TYPE, INCIDENT_TYPE, MANUAL_ALERT_TYPE

from .fuzz._support import examples

#: The keys the kinds are told apart by, with a value each kind's struct takes.
DECISIVE: dict[str, Any] = {
    "providerAlertId": "da6381",
    "serviceSource": "microsoftDefenderForEndpoint",
    "alertWebUrl": "https://security.microsoft.com/alerts/da6381",
    "isExcludedFromCorrelation": False,
    "incidentWebUrl": "https://security.microsoft.com/incidents/28282",
    "displayName": "Multi-stage incident",
    "alertCreationTime": "2026-07-14T06:02:44.4169234Z",
    "machineId": "1e5b1d0c6e2f",
    "computerDnsName": "ws-0042.contoso.com",
    "incidentName": "Multi-stage incident",
    "alerts": [],
    "alertId": "da6381",
    "creationTime": "2026-07-14T06:02:44Z",
}
PAGES = [
    ("https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2(id,title,severity)", "GraphAlert", "GraphAlert"),
    ("https://graph.microsoft.com/v1.0/$metadata#security/incidents(id,status)", "GraphIncident", "GraphIncident"),
    ("https://api.securitycenter.microsoft.com/api/$metadata#Alerts", "MdeAlert", "MdeAlert"),
    ("https://api.security.microsoft.com/api/$metadata#Incidents", "XdrIncident", "XdrIncident"),
]
TYPES = [None, ALERT_TYPE, MANUAL_ALERT_TYPE, INCIDENT_TYPE, "#microsoft.graph.security.somethingNew"]


def kind(batch: m365parse.Batch) -> tuple[str, str] | str:
    """What a batch of one item made of it: the record's kind and struct, or that it failed."""
    assert len(batch.records) + len(batch.errors) == 1
    if batch.errors:
        return "error"
    record = batch.records[0]
    return record.table, type(record.properties).__name__


@st.composite
def items(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(DECISIVE)), unique=True, max_size=5))
    item: dict[str, Any] = {"id": "1"}
    for key in keys:
        item[key] = None if draw(st.integers(0, 4)) == 0 else DECISIVE[key]  # a null counts as absent
    odata_type = draw(st.sampled_from(TYPES))
    if odata_type is not None:
        item["@odata.type"] = odata_type
    return item


@examples(300, 3000)
@given(item=items())
def test_an_item_is_the_same_kind_with_a_key_its_struct_does_not_declare(item: dict[str, Any]) -> None:
    alone = m365parse.decode(json.dumps(item).encode())
    with_new_key = m365parse.decode(json.dumps({**item, "zzBrandNewProperty": [1]}).encode())
    assert kind(alone) == kind(with_new_key), item
    if with_new_key.records:
        assert with_new_key.records[0].extra == {**alone.records[0].extra, "zzBrandNewProperty": [1]}
    # in an array, beside an item that is not one (the per-item path for both)
    both = m365parse.decode(json.dumps([item, 5]).encode())
    assert len(both.errors) >= 1 and kind(m365parse.Batch(both.records, both.errors[1:])) == kind(alone)


@examples(100, 1000)
@given(item=items(), context=st.sampled_from([p[0] for p in PAGES]))
def test_an_item_of_a_page_is_the_same_kind_with_a_key_its_struct_does_not_declare(
    item: dict[str, Any], context: str
) -> None:
    # one pass over the page, or the item on its own: its keys say its kind, else the context
    def page(value: dict[str, Any]) -> bytes:
        return json.dumps({"@odata.context": context, "value": [value]}).encode()

    assert kind(m365parse.decode(page(item))) == kind(m365parse.decode(page({**item, "zzBrandNewProperty": 1})))




@pytest.mark.parametrize(("context", "table", "struct"), PAGES, ids=[p[1] for p in PAGES])
def test_the_items_of_a_page_are_the_kind_its_context_names(context: str, table: str, struct: str) -> None:
    # A $select page: the items carry none of the keys that tell the kinds apart.
    sparse = {"id": "1", "status": "new" if table != "XdrIncident" else "Active"}
    page = {"@odata.context": context, "value": [sparse, {**sparse, "zzBrandNewProperty": 1}, 5]}
    batch = m365parse.decode(json.dumps(page).encode())
    assert [(r.table, type(r.properties).__name__) for r in batch.records] == [(table, struct)] * 2
    assert batch.records[1].extra == {**batch.records[0].extra, "zzBrandNewProperty": 1}
    assert [(e.index, e.path) for e in batch.errors] == [(2, "$.value[2]")]
    # the clean page in one pass: the same records
    clean = m365parse.decode(json.dumps({**page, "value": [sparse]}).encode())
    assert clean.records == batch.records[:1] and not clean.errors
    # without a context, the keys decide: none of them is there
    bare = m365parse.decode(json.dumps({"value": [sparse]}).encode())
    assert not bare.records and len(bare.errors) == 1


def test_a_page_of_plain_and_manual_alerts_keeps_each_kind() -> None:
    # security/alerts_v2 names both: a manual alert is told by its own type or isExcludedFromCorrelation
    page = {
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#security/alerts_v2",
        "value": [
            {"id": "m1", "isExcludedFromCorrelation": True, "title": "manual"},
            {"id": "p1", "providerAlertId": "p", "title": "plain"},
            {"id": "m2", "@odata.type": MANUAL_ALERT_TYPE, "zzBrandNewProperty": 1},
            {"id": "p2", "title": "plain", "zzBrandNewProperty": 1},
        ],
    }
    batch = m365parse.decode(json.dumps(page).encode())
    assert not batch.errors
    assert [type(r.properties).__name__ for r in batch.records] == [
        "GraphManualAlert",
        "GraphAlert",
        "GraphManualAlert",
        "GraphAlert",
    ]
    assert {r.table for r in batch.records} == {"GraphAlert"}


#: Values that fit no field of the structs where a string, a datetime or a list is declared.
MISFITS = [5, True, {"x": 1}, "not a date"]


@st.composite
def mixed_items(draw: st.DrawFn) -> dict[str, Any]:
    # the decisive keys of several kinds at once, and values that do not fit, in the keys
    # the rules read and in those jsa reads (title, severity, evidence)
    item = draw(items())
    for key in draw(st.lists(st.sampled_from([*DECISIVE, "title", "severity", "createdDateTime", "evidence"]), max_size=3)):
        item[key] = draw(st.sampled_from(MISFITS))
    return item


@examples(150, 1500)
@given(item=mixed_items(), form=st.sampled_from(["one", "array", "page", "context page", "lines"]))
def test_decode_normalized_gives_the_events_of_a_full_decode(item: dict[str, Any], form: str) -> None:
    # Under decode_normalized, the alert and incident kinds decode into structs narrowed to
    # what "jsa" reads (and the keys their rules read): the same kinds, the same events.
    other = {"id": "2", "providerAlertId": "p2", "title": "plain", "severity": "low"}
    data = {
        "one": json.dumps(item),
        "array": json.dumps([item, other]),
        "page": json.dumps({"value": [item, other]}),
        "context page": json.dumps({"@odata.context": PAGES[0][0], "value": [other, item]}),
        "lines": json.dumps(item) + "\n" + json.dumps(other),
    }[form].encode()
    batch = m365parse.decode(data)
    normalized = m365parse.decode_normalized(data, "jsa")
    assert normalized.events == m365parse.normalize_batch(batch, "jsa"), (form, item)
    said = [(e.index, e.path, e.reason, e.raw) for e in normalized.errors]
    assert said == [(e.index, e.path, e.reason, e.raw) for e in batch.errors]


@examples(200, 2000)
@given(item=items())
def test_the_rule_reads_the_same_keys_of_a_decoded_item_and_of_the_untyped_one(item: dict[str, Any]) -> None:
    # _claim reads which keys are set (and the Graph type's value): the same of the struct an
    # item decodes into as of the item itself, for every kind's struct that takes it
    data = json.dumps(item).encode()
    untyped = alerts.values_of_value(item)
    for make in (alerts._incident, alerts._xdr_incident, alerts._xdr_alert, alerts._mde_alert, alerts._alert, alerts._manual_alert):
        kind = make()
        try:
            decoded = kind.one.decode(data)
        except msgspec.ValidationError:
            continue
        typed = alerts.values_reader(type(decoded))(decoded)
        assert [v is None for v in typed] == [v is None for v in untyped], (kind.record.__name__, item)
        assert typed[0] == untyped[0]
        assert alerts._claim(typed) == alerts._claim(untyped)
