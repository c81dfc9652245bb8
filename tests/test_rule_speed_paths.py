"""The fast paths of compiled rule sets give what the plain ones give.

Exact timestamps read from the texts that arrived (``Origin.texts``, ``agrees``),
transform chains through their memo, the first address of a packed list.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import m365parse
from m365parse._values import _parse_canonical_310, agrees, exact_iso, format_ns
from m365parse.mappings.transforms import transform

from .conftest import body, record

reg = importlib.import_module("m365parse.mappings.registry")  # the module (the package exports the Registry)
SAMPLES = sorted((Path(m365parse.__file__).parent / "samples").glob("*.json"))


def _decoded(text: str) -> datetime:
    return msgspec.json.decode(msgspec.json.encode(text), type=datetime)


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-14T08:41:56.5950497Z",
        "2024-05-14T08:41:56.5950495Z",  # rounds up to the next microsecond
        "2024-05-14T08:41:56.9999996Z",  # rounds into the next second
        "2024-05-14T08:41:56.0000004Z",
        "2024-05-14T08:41:56Z",
        "2024-05-14T08:41:56.29Z",
        "2024-05-14T08:41:56.5Z",  # 1 to 6 digits, as Kusto trims trailing zeros
        "2024-05-14T08:41:56.000001Z",
        "2024-05-14T08:41:56.123456Z",
        "2024-05-14T08:41:56.12345Z",
        "2024-05-14T08:41:56.123456789Z",
        "2024-12-31T23:59:59.9999999Z",  # into the next year
    ],
)
def test_canonical_text_agrees_with_its_decoded_value(text: str) -> None:
    value = _decoded(text)
    assert agrees(text, value)
    assert not agrees(text, value + timedelta(microseconds=1))
    assert not agrees(text, value - timedelta(microseconds=1))
    assert not agrees(text, value.replace(tzinfo=None))
    assert not agrees(text, None)
    assert not agrees(text, text)


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-14T08:41:56.5950500Z",  # trailing zeros: not canonical
        "2024-05-14T08:41:56.595050Z",
        "2024-05-14T08:41:56.50Z",
        "2024-05-14T08:41:56.0Z",
        "2024-05-14T10:41:56.5950497+02:00",
        "2024-05-14 08:41:56.5950497Z",
        "2024-05-14T08:41:56.5950497",
        "2024-05-14T08:41:56.Z",
        "20240514T084156Z",
        "2024-05-14T08:41Z",
    ],
)
def test_other_texts_do_not_agree(text: str) -> None:
    assert not agrees(text, _decoded("2024-05-14T08:41:56.5950497Z"))


@given(
    st.datetimes(timezones=st.just(timezone.utc)),
    st.sampled_from(["", "0", "00", "1", "5", "9"]),
    st.integers(min_value=0, max_value=8),
)
@settings(max_examples=400, deadline=None)
def test_agrees_is_the_canonical_check_at_every_length(value: datetime, tail: str, cut: int) -> None:
    """Texts of 0 to 8 fractional digits, canonical or not, against the check by its definition."""
    text = format_ns((value - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1) * 1000)
    assert text is not None and agrees(text, value)
    head, _, frac = text[:-1].partition(".")
    frac = (frac + tail)[: max(cut, 0)]
    other = f"{head}.{frac}Z" if frac else f"{head}Z"
    canonical = (not frac or frac[-1] != "0") and len(frac) <= 9
    try:
        read = _decoded(other)
    except msgspec.ValidationError:
        return
    assert agrees(other, value) == (canonical and read == value)


def test_no_text_and_odd_values_do_not_agree() -> None:
    value = _decoded("2024-05-14T08:41:56Z")
    for text in (None, 1, b"2024-05-14T08:41:56Z", ["2024-05-14T08:41:56Z"]):
        assert not agrees(text, value)
    assert not agrees("2016-12-31T23:59:60Z", value)  # a leap second: read the slow way


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-14T08:41:56.5950497Z", datetime(2024, 5, 14, 8, 41, 56, 595049, tzinfo=timezone.utc)),
        ("2024-05-14T08:41:56Z", datetime(2024, 5, 14, 8, 41, 56, tzinfo=timezone.utc)),
        ("2024-05-14T08:41:56.2Z", datetime(2024, 5, 14, 8, 41, 56, 200000, tzinfo=timezone.utc)),
        ("0001-01-01T00:00:00.000001Z", datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc)),
    ],
)
def test_the_python_310_reading_of_canonical_text(text: str, expected: datetime) -> None:
    assert _parse_canonical_310(text) == expected


def _records() -> list[m365parse.Record]:
    records: list[m365parse.Record] = []
    for path in SAMPLES:
        records += m365parse.decode(path.read_bytes()).records
    return records


def _slow(rule_set: str, record: m365parse.Record, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The record normalized with every exact timestamp through exact_iso, the transform memos new and of one entry."""
    with monkeypatch.context() as patch:
        rs = reg.registry.get(rule_set)
        patch.setattr(rs, "_compiled", {})
        patch.setattr(reg, "agrees", lambda text, value: False)
        patch.setattr(reg, "_MEMOS", {})
        patch.setattr(reg, "_MEMO_SIZE", 1)  # every memo cleared before each store
        return m365parse.normalize(record, rule_set)


@pytest.mark.parametrize("rule_set", ["jsa", "ecs", "ocsf"])
def test_fast_paths_give_what_the_slow_ones_give(rule_set: str, monkeypatch: pytest.MonkeyPatch) -> None:
    records = _records()
    assert len(records) > 20
    for rec in records:
        if isinstance(rec, m365parse.Record) and not type(rec).__name__.startswith("Api"):
            fast = m365parse.normalize(rec, rule_set)
            again = m365parse.normalize(rec, rule_set)  # through the filled memos
            assert fast == again == _slow(rule_set, rec, monkeypatch), rec.table


def _changed_record() -> m365parse.Record:
    batch = m365parse.decode(
        body(
            record(
                "DeviceProcessEvents",
                ProcessCreationTime="2024-05-14T08:41:56.5950497Z",
                InitiatingProcessCreationTime="2024-05-14T08:40:00.1234567Z",
            )
        )
    )
    return batch.records[0]


def test_a_timestamp_changed_after_decoding_wins() -> None:
    rec = _changed_record()
    before = m365parse.normalize(rec, "ecs")
    assert before["process"]["start"] == "2024-05-14T08:41:56.5950497Z"
    rec.properties.ProcessCreationTime = datetime(2020, 1, 1, tzinfo=timezone.utc)
    after = m365parse.normalize(rec, "ecs")
    assert after["process"]["start"] == "2020-01-01T00:00:00Z" == exact_iso(rec, "ProcessCreationTime")
    assert after["process"]["parent"]["start"] == "2024-05-14T08:40:00.1234567Z"
    rec.properties.ProcessCreationTime = None
    assert "start" not in m365parse.normalize(rec, "ecs")["process"]
    rec.properties.ProcessCreationTime = "not a datetime"
    with pytest.raises(m365parse.InvalidColumn):
        m365parse.normalize(rec, "ecs")


def test_a_record_built_by_hand_reads_its_decoded_values() -> None:
    rec = _changed_record()
    rec._src = None
    out = m365parse.normalize(rec, "ecs")
    assert out["process"]["start"] == format_ns(1715676116595050000)  # the microseconds msgspec kept


def test_memo_results_are_new_lists_and_odd_values_still_transform() -> None:
    rec = m365parse.decode(body(record("DeviceProcessEvents", ProcessCommandLine='a.exe -x "b c"'))).records[0]
    first = m365parse.normalize(rec, "ecs")["process"]["args"]
    second = m365parse.normalize(rec, "ecs")["process"]["args"]
    assert first == second == ["a.exe", "-x", "b c"]
    assert first is not second
    first.append("changed")
    assert m365parse.normalize(rec, "ecs")["process"]["args"] == ["a.exe", "-x", "b c"]
    rec.properties.ProcessCommandLine = ["a list", "put there by hand"]  # unhashable: no memo
    assert m365parse.normalize(rec, "ecs")["process"].get("args") == transform("args")(["a list", "put there by hand"])


def test_memo_results_of_dicts_are_new_dicts_at_every_depth() -> None:
    """OCSF attacks[] of AttackTechniques: kept as their JSON, each event gets dicts and lists of its own."""
    techniques = '["PowerShell (T1059.001)", "Phishing (T1566)"]'
    rec = m365parse.decode(body(record("AlertInfo", AlertId="da1", Title="t", AttackTechniques=techniques)))
    alert = rec.records[0]
    first = m365parse.normalize(alert, "ocsf")["attacks"]
    memo, _ = reg._memo_of(("ocsf_attacks",))
    assert memo[alert.properties.AttackTechniques].__class__ is bytes  # kept as JSON
    second = m365parse.normalize(alert, "ocsf")["attacks"]
    assert first == second == transform("ocsf_attacks")(techniques)
    first[0]["technique"]["uid"] = "changed"
    first.append({"changed": True})
    assert m365parse.normalize(alert, "ocsf")["attacks"] == second


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ([{"a": {"b": [1, 2.5, True, None, "x"]}}], True),
        ({"uid": "T1", "name": "n"}, True),
        ([{"a": datetime(2024, 1, 1, tzinfo=timezone.utc)}], False),
        ([{"a": float("nan")}], False),
        ([{"a": float("inf")}], False),
        ([{1: "a"}], False),
        ([("a", "b")], False),
        ([{"a": 2**70}], True),
        ([{"a": 1.0}, {"a": 1}], True),
        ([{"a": "\ud800 a lone surrogate"}], False),
    ],
)
def test_only_plain_json_is_kept_as_json(value: Any, kept: bool) -> None:
    text = reg._as_json(value)
    assert (text is not None) == kept
    if text is not None:
        again = msgspec.json.decode(text)
        assert again == value and [type(x) for x in again] == [type(x) for x in value]
        assert msgspec.json.encode(again) == text


def test_memos_stay_small() -> None:
    memo, fill = reg._memo_of(("lower",))
    for i in range(reg._MEMO_SIZE + 10):
        assert fill(f"A{i}") == f"a{i}"
    assert len(memo) <= reg._MEMO_SIZE
    assert memo[None] is None


@pytest.mark.parametrize(
    "text",
    [
        "10.1.2.3;10.1.2.4",
        " 10.1.2.3 , 10.1.2.4",
        "-;10.1.2.4",
        "fe80::1;10.0.0.1",
        "bad, worse; 192.168.0.1",
        "",
        "[\"10.0.0.9\", \"10.0.0.8\"]",
        "::ffff:10.0.0.1;1.2.3.4",
        "x" * 2000 + ";10.0.0.7",
        "10.0.0.6" + ";" * 1100,
    ],
)
def test_first_ip_takes_the_first_address(text: str) -> None:
    from m365parse.mappings.transforms import _SPLIT, _first_ip, _ip, _split

    if text.strip()[:1] in ("[", "{"):
        items = _split(text)
        expected = _ip(items) if items else None
    else:
        expected = next((ip for part in _SPLIT.split(text.strip()) if (ip := _ip(part.strip())) is not None), None)
    assert _first_ip(text) == expected


def test_a_lazy_exact_datetime_keeps_its_own_nanoseconds_when_the_record_changes() -> None:
    rec = _changed_record()
    value = rec.properties.ProcessCreationTime
    lazy = m365parse.ExactDatetime.of_column(value, rec, "ProcessCreationTime")
    rec.properties.ProcessCreationTime = datetime(2020, 1, 1, tzinfo=timezone.utc)
    assert lazy.ns == 1715676116595049700  # the text it was decoded from, not the record's new value
    assert lazy.isoformat_exact() == "2024-05-14T08:41:56.5950497Z"
    assert m365parse.timestamp_ns(rec, "ProcessCreationTime") == 1577836800_000000000
    moved = m365parse.ExactDatetime.of_column(value + timedelta(microseconds=3), rec, "ProcessCreationTime")
    assert moved.ns == 1715676116595053000  # no text of its own: its microseconds


@pytest.mark.parametrize(
    "fields",
    [
        '{"direction": "In"}',
        '{"Direction": " INBOUND "}',
        '{"other": {"direction": "In"}}',
        '"direction"',
        "direction: In",
        '{"direction": 1}',
        '{"pad": "' + "x" * 5000 + '", "direction": "in"}',
        "direction " + "x" * 5000,
    ],
)
def test_inbound_direction_of_additional_fields(fields: str) -> None:
    from m365parse.mappings.transforms import _direction, _json_value

    decoded = _json_value(fields)
    expected = _direction(decoded) if isinstance(decoded, dict) else None
    assert _direction(fields) == expected
    assert _direction(fields) == expected  # cached


@pytest.mark.parametrize(
    "value",
    ["10.1.2.3", " 10.1.2.3 ", "fe80::1", "::ffff:10.0.0.1", "[fe80::1]", "-", "", "x" * 70, "1.2.3.4.5", ["fe80::1", "10.0.0.1"]],
)
def test_ipv4_and_ipv6_of_one_text_are_those_of_a_list_of_it(value: Any) -> None:
    from m365parse.mappings.transforms import _ipv4, _ipv6, _of_version

    assert _ipv4(value) == _of_version(value, v6=False)
    assert _ipv6(value) == _of_version(value, v6=True)


def test_memos_keep_no_long_text() -> None:
    memo, fill = reg._memo_of(("upper",))
    text = "a" * (reg._MEMO_TEXT + 1)
    assert fill(text) == text.upper()
    assert text not in memo
    assert fill("short") == "SHORT" and memo["short"] == "SHORT"


def test_category_and_table_of_a_record_type_are_its_own() -> None:
    rec = m365parse.decode(body(record("DeviceProcessEvents"), record("DeviceNetworkEvents", ActionType=""))).records
    for r in rec:
        out = m365parse.normalize(r, "jsa")
        assert out["EventCategory"] == r.category == "AdvancedHunting-" + r.table
    assert m365parse.normalize(rec[1], "jsa")["EventID"] == "DeviceNetworkEvents"  # no ActionType: the table

    class Renamed(type(rec[0]), tag="Renamed"):  # type: ignore[misc]
        @property
        def category(self) -> str:
            return "renamed"

    mine = Renamed(properties=rec[0].properties, tenantId=rec[0].tenantId)
    assert m365parse.normalize(mine, "jsa")["EventCategory"] == "renamed"


@pytest.mark.parametrize("text", ["10.0.0.1; 10.0.0.2", "-; 10.0.0.3", "", "-", " fe80::0001 ,10.0.0.1", '["10.0.0.4"]', "x;y"])
def test_a_transform_without_a_memo_gives_what_the_transform_gives(text: str) -> None:
    assert "first_ip" in reg._OWN_CACHE
    rec = m365parse.decode(body(record("CloudAuditEvents", IPAddress=text))).records[0]
    expected = transform("first_ip")(text)
    for _ in range(2):
        assert m365parse.normalize(rec, "jsa").get("SourceIP") == (expected or None)


# --- the fast paths of this pass: agrees' steps for 7 digits, the head cache of first_ip, list/ip_list ----


def _agrees_reference(text: Any, value: Any) -> bool:
    """``agrees`` as the canonical pattern says it, the slow way."""
    if not isinstance(text, str) or not reg_values._CANONICAL.match(text) or not text.isascii():
        return False
    try:
        parsed = reg_values._parse_canonical(text) + reg_values._HALF_UP.get(text[26:27], timedelta(0))
    except (ValueError, OverflowError):
        return False
    return bool(parsed == value)


reg_values = importlib.import_module("m365parse._values")

_TEXT_CHARS = "0123456789-T:.Zz +t\u0661"


@settings(max_examples=400, deadline=None)
@given(
    base=st.sampled_from(
        [
            "2024-05-14T08:41:56.5950497Z",
            "2024-05-14T08:41:56.5950495Z",
            "2024-05-14T08:41:56.9999996Z",
            "2024-05-14T08:41:56.0000001Z",
            "2024-05-14T08:41:56Z",
            "2024-05-14T08:41:56.59505Z",
            "2024-05-14T08:41:56.5950490Z",  # a trailing zero: not canonical
            "2024-05-14T08:41:56.5950000Z",
            "2024-05-14T08:41:56.595049Z",
            "2024-05-14T10:41:56.5950497+02:00",
            "9999-12-31T23:59:59.9999994Z",
            "0001-01-01T00:00:00.0000001Z",
        ]
    ),
    edits=st.lists(st.tuples(st.integers(0, 29), st.sampled_from(_TEXT_CHARS + "\x00")), max_size=2),
    shift=st.sampled_from([0, 1, -1, 100_000]),
)
def test_agrees_is_the_canonical_pattern_and_the_decoded_value(
    base: str, edits: list[tuple[int, str]], shift: int
) -> None:
    value = _decoded(base) + timedelta(microseconds=shift) if shift and base[:4] not in ("9999", "0001") else _decoded(base)
    text = base
    for pos, char in edits:  # a character replaced, or (NUL) removed
        text = text[:pos] + ("" if char == "\x00" else char) + text[pos + 1 :]
    assert agrees(text, value) == _agrees_reference(text, value)


def _ip_list_reference(value: Any) -> Any:
    from m365parse.mappings.transforms import _distinct, _ip, _split

    return _distinct(_ip(item) for item in _split(value) or ())


def _list_reference(value: Any) -> Any:
    from m365parse.mappings.transforms import _split

    return [i for i in _split(value) or () if isinstance(i, str)] or None


@pytest.mark.parametrize(
    "value",
    [
        "10.1.2.3;10.1.2.4",
        " 10.1.2.3 , 10.1.2.3 ;fe80::0001",
        "-; ;--;10.0.0.1",
        "",
        "   ",
        '["10.0.0.9", 7, ["10.0.0.8"]]',
        '{"a": 1}',
        "x" * 70 + ";10.0.0.2",
        ";".join(f"10.0.{i // 256}.{i % 256}" for i in range(200)),  # a text over 1024 characters
        ["10.0.0.1", " 10.0.0.1 ", "", "fe80::1"],
        ["10.0.0.1", None, 5, ["10.0.0.2"]],
        [],
        5,
        None,
        {"a": "10.0.0.1"},
    ],
)
def test_list_and_ip_list_give_what_split_gives(value: Any) -> None:
    from m365parse.mappings.transforms import _ip_list, _list

    for _ in range(2):  # the second time through the caches
        assert _ip_list(value) == _ip_list_reference(value)
        assert _list(value) == _list_reference(value)
    out = _list(value)
    if out:
        out.append("changed")  # a list of its own
        assert _list(value) == _list_reference(value)


def test_first_ip_after_a_cached_first_item() -> None:
    from m365parse.mappings.transforms import _FIRST_IPS, _SPLIT, _first_ip, _ip

    def expected(text: str) -> Any:
        if text.strip()[:1] in ("[", "{"):
            return _ip(text)
        return next((ip for part in _SPLIT.split(text.strip()) if (ip := _ip(part.strip())) is not None), None)

    assert _first_ip("10.9.8.7;10.0.0.1") == "10.9.8.7"
    assert _FIRST_IPS.get("10.9.8.7") == "10.9.8.7"
    for text in ["10.9.8.7", "10.9.8.7;", "10.9.8.7 ;x", " 10.9.8.7;x", "10.9.8.7,10.1.1.1", "10.9.8.70;x", "10.9.8.7\t"]:
        assert _first_ip(text) == expected(text), text
    assert _first_ip("::ffff:10.0.0.5;x") == "10.0.0.5"
    assert _first_ip("::ffff:10.0.0.5") == "10.0.0.5"  # the cached form of the first item, not the item
    assert "[10.0.0.5]" not in _FIRST_IPS


@pytest.mark.parametrize(
    "text", ["2024-05-14T08:41:56.5950497Z", "2024-05-14T08:41:56.5950493Z", "2024-05-14T08:41:56.0000003Z"]
)
def test_seven_digits_agree_with_the_same_instant_only(text: str) -> None:
    value = _decoded(text)
    assert agrees(text, value) == _agrees_reference(text, value) is True
    other_zone = value.astimezone(timezone(timedelta(hours=2)))  # the same instant: agrees, the slow way
    assert agrees(text, other_zone) == _agrees_reference(text, other_zone) is True
    exact = m365parse.ExactDatetime.from_datetime(value)  # a subclass: the slow way
    assert agrees(text, exact) is True
    for changed in (value.replace(tzinfo=None), value + timedelta(microseconds=1), text, None, value.date()):
        assert agrees(text, changed) is False
