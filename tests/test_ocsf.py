"""The "ocsf" rule set: every event validates against OCSF 1.8.0; golden events; the peers' mistakes; docs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import m365parse
from m365parse.mappings import ocsf
from m365parse.mappings.ocsf import MAPPINGS
from m365parse.mappings.ocsf._schema import CLASSES as GENERATED_CLASSES

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


# --- validity ----------------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_samples_are_valid_events(table: str) -> None:
    for rec in _sample(table):
        event = m365parse.normalize(rec, "ocsf")
        check_event(event)
        assert event["metadata"]["product"] == {
            "name": "Microsoft Defender XDR",
            "vendor_name": "Microsoft",
            **({"feature": event["metadata"]["product"]["feature"]} if "feature" in event["metadata"]["product"] else {}),
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


def test_generated_classes_agree_with_the_schema() -> None:
    for uid, (name, caption, category_uid, _, activities, _) in GENERATED_CLASSES.items():
        cls = CLASSES[str(uid)]
        assert (cls["name"], cls["caption"], cls["category_uid"]) == (name, caption, category_uid)
        assert {int(k): v for k, v in cls["attributes"]["activity_id"][5].items()} == activities
