"""timestamp_ns(), expand() and the timestamp helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import m365parse
from m365parse import InvalidColumn, InvalidJSONText
from m365parse._values import format_ns, parse_ns

from .conftest import body, record


def _rec(table: str = "DeviceProcessEvents", **props: Any) -> m365parse.Record:
    batch = m365parse.decode(body(record(table, **props)))
    assert batch.errors == []
    return batch.records[0]


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2021-07-21T00:55:44.2280946Z", 1626828944_228094600),
        ("2021-07-21T00:55:44Z", 1626828944_000000000),
        ("2021-07-21T00:55:44.2Z", 1626828944_200000000),
        ("2021-07-21T00:55:44.123456789Z", 1626828944_123456789),
        ("2021-07-21T02:55:44.2280946+02:00", 1626828944_228094600),
        ("2021-07-20T19:55:44.2280946-0500", 1626828944_228094600),
        ("2021-07-21 00:55:44.2280946", 1626828944_228094600),
        ("1969-12-31T23:59:59.9999999Z", -100),
    ],
)
def test_parse_ns(text: str, ns: int) -> None:
    assert parse_ns(text) == ns


@pytest.mark.parametrize("text", ["", "yesterday", "2021-13-01T00:00:00Z", "2021-07-21T00:55:44.Z", "2021-07-21"])
def test_parse_ns_rejects(text: str) -> None:
    assert parse_ns(text) is None


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (1626828944_228094600, "2021-07-21T00:55:44.2280946Z"),
        (1626828944_000000000, "2021-07-21T00:55:44Z"),
        (1626828944_290000000, "2021-07-21T00:55:44.29Z"),
        (-100, "1969-12-31T23:59:59.9999999Z"),
    ],
)
def test_format_ns(ns: int, text: str) -> None:
    assert format_ns(ns) == text
    assert parse_ns(text) == ns


def test_timestamp_ns_of_every_datetime_column_and_the_envelope() -> None:
    rec = _rec(
        Timestamp="2024-05-14T08:41:56.5950497Z",
        ProcessCreationTime="2024-05-14T08:41:55.0000001Z",
        InitiatingProcessCreationTime="2024-05-14T08:41:54.9999999Z",
        InitiatingProcessParentCreationTime="2024-05-14T08:41:53Z",
    )
    assert m365parse.timestamp_ns(rec, "Timestamp") == 1715676116_595049700
    assert m365parse.timestamp_ns(rec, "ProcessCreationTime") == 1715676115_000000100
    assert m365parse.timestamp_ns(rec, "InitiatingProcessCreationTime") == 1715676114_999999900
    assert m365parse.timestamp_ns(rec, "InitiatingProcessParentCreationTime") == 1715676113_000000000
    assert m365parse.timestamp_ns(rec, "time") == 1715676254_904746000
    assert m365parse.timestamp_ns(rec, "_TimeReceivedBySvc") is None


def test_timestamp_ns_on_the_per_record_path() -> None:
    batch = m365parse.decode(
        body(record(Timestamp="2024-05-14T08:41:56.5950497Z", ProcessId="x"), "bad", record(Timestamp="2024-05-14T08:41:56.0000009Z"))
    )
    assert [m365parse.timestamp_ns(r, "Timestamp") for r in batch.records] == [1715676116_595049700, 1715676116_000000900]


def test_timestamp_ns_absent_and_wrong_columns() -> None:
    rec = _rec(FileName="a")
    assert m365parse.timestamp_ns(rec, "Timestamp") is None
    with pytest.raises(InvalidColumn, match="not a datetime column"):
        m365parse.timestamp_ns(rec, "FileName")
    with pytest.raises(InvalidColumn, match="no column"):
        m365parse.timestamp_ns(rec, "NoSuchColumn")
    with pytest.raises(m365parse.M365ParseError):
        m365parse.timestamp_ns(rec, "NoSuchColumn")


def test_timestamp_ns_after_the_record_was_changed() -> None:
    from datetime import datetime, timezone

    rec = _rec(Timestamp="2024-05-14T08:41:56.5950497Z")
    rec.properties.Timestamp = datetime(2020, 1, 1, tzinfo=timezone.utc)
    assert m365parse.timestamp_ns(rec, "Timestamp") == 1577836800_000000000


# --- expand -----------------------------------------------------------------------


def test_expand_string_object_empty_null() -> None:
    assert m365parse.expand(_rec(AdditionalFields='{"ProcessId":"1960"}'), "AdditionalFields") == {"ProcessId": "1960"}
    assert m365parse.expand(_rec(AdditionalFields={"ProcessId": "1960"}), "AdditionalFields") == {"ProcessId": "1960"}
    assert m365parse.expand(_rec(AdditionalFields=""), "AdditionalFields") is None
    assert m365parse.expand(_rec(AdditionalFields="  "), "AdditionalFields") is None
    assert m365parse.expand(_rec(AdditionalFields=None), "AdditionalFields") is None
    assert m365parse.expand(_rec(), "AdditionalFields") is None


def test_expand_attack_techniques_and_logged_on_users() -> None:
    rec = _rec("AlertInfo", AttackTechniques='["Input Capture (T1056)", "Phishing (T1566.001)"]')
    assert m365parse.expand(rec, "AttackTechniques") == ["Input Capture (T1056)", "Phishing (T1566.001)"]
    rec = _rec("DeviceInfo", LoggedOnUsers='[{"UserName":"jay","DomainName":"CONTOSO","Sid":"S-1-5-21"}]')
    assert m365parse.expand(rec, "LoggedOnUsers") == [{"UserName": "jay", "DomainName": "CONTOSO", "Sid": "S-1-5-21"}]


def test_expand_double_encoded_dns_answers() -> None:
    inner = json.dumps(["192.0.2.1", "192.0.2.2"])
    fields = json.dumps({"query": "contoso.com", "answers": inner, "plain": "[not json"})
    rec = _rec("DeviceNetworkEvents", AdditionalFields=fields)
    assert m365parse.expand(rec, "AdditionalFields") == {
        "query": "contoso.com",
        "answers": ["192.0.2.1", "192.0.2.2"],
        "plain": "[not json",
    }


def test_expand_does_not_modify_the_record() -> None:
    value = {"a": '{"b": 1}'}
    rec = _rec(AdditionalFields=value)
    assert m365parse.expand(rec, "AdditionalFields") == {"a": {"b": 1}}
    assert rec.properties.AdditionalFields == {"a": '{"b": 1}'}


def test_expand_resolves_json_net_references() -> None:
    fields = {
        "$id": "1",
        "Account": {"$id": "2", "Name": "jay", "Sid": "S-1-5-21-1"},
        "Process": {"$id": "3", "ImageFile": {"$id": "4", "Name": "cmd.exe"}, "Account": {"$ref": "2"}},
        "Parent": {"$ref": "3"},
    }
    rec = _rec("AlertEvidence", AdditionalFields=json.dumps(fields))
    out = m365parse.expand(rec, "AdditionalFields")
    assert out["Process"]["Account"] is out["Account"]
    assert out["Parent"] is out["Process"]
    assert out["Account"] == {"Name": "jay", "Sid": "S-1-5-21-1"}
    assert "$id" not in out


def test_expand_resolves_cycles() -> None:
    fields = {"$id": "1", "Name": "root", "Self": {"$ref": "1"}, "Child": {"$id": "2", "Up": {"$ref": "1"}}}
    out = m365parse.expand(_rec("AlertEvidence", AdditionalFields=json.dumps(fields)), "AdditionalFields")
    assert out["Self"] is out
    assert out["Child"]["Up"] is out
    top = m365parse.expand(_rec("AlertEvidence", AdditionalFields='{"$ref": "1"}'), "AdditionalFields")
    assert top == {"$ref": "1"}  # dangling: left as it is


def test_expand_dangling_reference_is_left_alone() -> None:
    out = m365parse.expand(_rec("AlertEvidence", AdditionalFields='{"a": {"$ref": "9"}, "b": [{"$ref": "9"}]}'), "AdditionalFields")
    assert out == {"a": {"$ref": "9"}, "b": [{"$ref": "9"}]}


@pytest.mark.parametrize("garbage", ["{not json", "[1, 2", "\"unterminated", "{\"a\": NaN}"])
def test_expand_garbage_raises_a_clear_error(garbage: str) -> None:
    with pytest.raises(InvalidJSONText) as info:
        m365parse.expand(_rec(AdditionalFields=garbage), "AdditionalFields")
    assert info.value.column == "AdditionalFields"
    assert "not JSON" in str(info.value)
    assert isinstance(info.value, m365parse.M365ParseError)


def test_expand_limits() -> None:
    deep = "[" * (m365parse.MAX_EXPAND_DEPTH + 5) + "]" * (m365parse.MAX_EXPAND_DEPTH + 5)
    with pytest.raises(InvalidJSONText, match="deeper"):
        m365parse.expand(_rec(AdditionalFields=deep), "AdditionalFields")
    # the same depth as a real array rather than a string
    data = body(record(AdditionalFields="PLACEHOLDER")).replace(b'"PLACEHOLDER"', deep.encode())
    rec = m365parse.decode(data).records[0]
    assert isinstance(rec.properties.AdditionalFields, list)
    with pytest.raises(InvalidJSONText, match="deeper"):
        m365parse.expand(rec, "AdditionalFields")
    ok = "[" * 50 + "]" * 50
    assert m365parse.expand(_rec(AdditionalFields=ok), "AdditionalFields") is not None


def test_expand_unknown_column_and_unknown_table() -> None:
    with pytest.raises(InvalidColumn):
        m365parse.expand(_rec(), "Nope")
    rec = m365parse.decode(body(record("FutureBehaviorInfo", AdditionalFields='{"a": 1}'))).records[0]
    assert m365parse.expand(rec, "AdditionalFields") == {"a": 1}
    assert m365parse.expand(rec, "Missing") is None


def test_expand_scalar_json() -> None:
    assert m365parse.expand(_rec(AdditionalFields="42"), "AdditionalFields") == 42


def test_exact_iso_is_format_ns_of_timestamp_ns() -> None:
    from pathlib import Path

    from m365parse._values import exact_iso
    from m365parse.tables import DOCUMENTED_TYPES

    texts = [
        "2024-05-14T08:41:56.5950497Z",
        "2024-05-14T08:41:56.9999996Z",  # rounds into the next second
        "2024-05-14T08:41:56.0000005Z",
        "2024-05-14T08:41:56.5950500Z",  # trailing zero: not canonical
        "2024-05-14T08:41:56Z",
        "2024-05-14T08:41:56.29Z",
        "2024-05-14T10:41:56.5950497+02:00",
        "2024-05-14T08:41:56.123456789Z",
        "2024-05-14 08:41:56.5950497",
    ]
    records = [_rec(Timestamp=t) for t in texts]
    samples = Path(m365parse.__file__).parent / "samples"
    for path in sorted(samples.glob("*.json")):
        records += m365parse.decode(path.read_bytes()).records
    checked = 0
    for rec in records:
        for column, kind in DOCUMENTED_TYPES[rec.table].items():
            if kind == "datetime":
                assert exact_iso(rec, column) == format_ns(m365parse.timestamp_ns(rec, column)), (rec.table, column)
                checked += 1
        assert exact_iso(rec, "time") == format_ns(m365parse.timestamp_ns(rec, "time"))
    assert checked > 100
    moved = _rec(Timestamp="2024-05-14T08:41:56.5950497Z")
    from datetime import datetime, timezone

    moved.properties.Timestamp = datetime(2020, 1, 1, tzinfo=timezone.utc)
    assert exact_iso(moved, "Timestamp") == "2020-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("0001-01-01T00:30:00.1234567+01:00", "0000-12-31T23:30:00.1234567Z"),
        ("9999-12-31T23:00:00.5-02:00", "10000-01-01T01:00:00.5Z"),
    ],
)
def test_an_instant_outside_years_1_to_9999_in_utc_is_written_not_raised(text: str, utc: str) -> None:
    # Reachable only with an offset: the record decodes, and its exact text must not raise
    # (datetime cannot hold the UTC instant; the text carries its year as digits).
    batch = m365parse.decode(json.dumps({**record("DeviceEvents", Timestamp=text), "time": text}))
    assert batch.errors == []
    rec = batch.records[0]
    assert format_ns(parse_ns(text)) == utc
    assert rec.to_dict()["properties"]["Timestamp"] == utc
    assert rec.to_dict()["envelope"]["time"] == utc
    for name in m365parse.registry:
        m365parse.normalize(rec, name)


def test_a_hunting_datetime_column_whose_name_is_not_a_plain_name_is_written() -> None:
    # A KQL column can be named ['a.b']: its path in the row is $["a.b"], not $.a.b.
    response = {
        "Schema": [{"Name": "a.b", "Type": "DateTime"}, {"Name": "x", "Type": "String"}],
        "Results": [{"a.b": "2024-01-01T00:00:00.1234567Z", "x": "y"}],
    }
    rec = m365parse.decode(json.dumps(response)).records[0]
    assert rec.to_dict()["properties"]["a.b"] == "2024-01-01T00:00:00.1234567Z"
    assert m365parse.timestamp_ns(rec, '$["a.b"]') == 1704067200_123456700
    for name in m365parse.registry:
        m365parse.normalize(rec, name)


@pytest.mark.parametrize("name", ["DeviceProcessEvents.json", "SiemAlert.json", "api/GraphAlertPage.json", "api/MdeAlertPage.json"])
def test_a_record_pickles_after_its_exact_timestamps_were_read(name: str) -> None:
    # the origin pickles without the views it read (they are read again after unpickling)
    import pickle

    data = (Path(m365parse.__file__).parent / "samples" / name).read_bytes()
    batch = m365parse.decode(data)
    record = batch.records[0]
    plain = record.to_dict()  # reads the origin's texts
    for copy in (pickle.loads(pickle.dumps(record)), pickle.loads(pickle.dumps(batch)).records[0]):
        assert copy == record and copy.to_dict() == plain
    if name == "DeviceProcessEvents.json":
        ns = m365parse.timestamp_ns(record, "Timestamp")
        assert ns % 1000 and m365parse.timestamp_ns(pickle.loads(pickle.dumps(record)), "Timestamp") == ns
