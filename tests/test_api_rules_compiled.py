"""The compiled rules of the polled APIs' kinds give what the rules say, and to_dict()'s exact texts are exact_iso's.

``api_rules.evaluate`` interprets a spec as it is written (a JSON path walked per
field): it is the reference the compiled normalizer (one walk per record, per-type
readers, to_dict() once) is checked against, field by field, on every sample record
and on records whose datetimes arrive in every form.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import m365parse
from m365parse._values import ExactDatetime, exact_iso, format_ns
from m365parse.mappings.api_rules import evaluate, exact_text_of, normalizer_for

SAMPLES = sorted((Path(m365parse.__file__).resolve().parent / "samples" / "api").glob("*.json"))
RULE_SETS = ("jsa", "ecs", "ocsf", "ecs+severity+original")


def _records() -> list[m365parse.Record]:
    return [r for path in SAMPLES for r in m365parse.decode(path.read_bytes()).records]


def _rules(rule_set: str, kind: str) -> dict[str, Any]:
    base, *variants = rule_set.split("+")
    if base == "jsa":
        from m365parse.mappings.api_jsa import RULES
    elif base == "ocsf":
        from m365parse.mappings.api_ocsf import RULES
    else:
        from m365parse.mappings.api_ecs import RULES, original_spec, severity_spec

        rules = dict(RULES[kind])
        if "severity" in variants:
            rules["event.severity"] = severity_spec
        if "original" in variants:
            rules["event.original"] = original_spec
        return rules
    return dict(RULES[kind])


def _expected(rules: dict[str, Any], record: m365parse.Record, nested: bool) -> dict[str, Any]:
    """The document as the rules say, each spec interpreted on its own."""
    out: dict[str, Any] = {}
    for target, spec in rules.items():
        value = evaluate(spec, record)
        if value is None or value == "" or (isinstance(value, (list, dict)) and not value):
            continue
        if not nested:
            out[target] = value
            continue
        value = [exact_text_of(v) for v in value] if isinstance(value, list) else exact_text_of(value)
        *parents, leaf = target.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _plain(value: Any) -> Any:
    """ExactDatetime values as (text, ns): equal only when exact to the digit."""
    if isinstance(value, ExactDatetime):
        return ("exact", value.isoformat_exact(), value.ns)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize("rule_set", RULE_SETS)
def test_compiled_rules_give_what_each_spec_gives(rule_set: str) -> None:
    nested = not rule_set.startswith("jsa")
    records = _records()
    assert {r.table for r in records} >= {"GraphAlert", "GraphIncident", "MdeAlert", "XdrIncident", "XdrAlert"}
    for record in records:
        if record.table not in ("GraphAlert", "GraphIncident", "MdeAlert", "XdrIncident", "XdrAlert", "HuntingRow"):
            continue  # hunting rows of a known table: the table's rules
        fn = normalizer_for(rule_set, record.table, nested)
        assert fn is not None
        got = fn(record)
        want = _expected(_rules(rule_set, record.table), record, nested)
        assert _plain(got) == _plain(want), record.table
        # same keys in the same order, at every depth
        assert json.dumps(_plain(got), default=str) == json.dumps(_plain(want), default=str)


def _time_texts(count: int) -> list[str]:
    rng = random.Random(7)
    texts = []
    for _ in range(count):
        year = rng.choice([1970, 1999, 2024, 2026, 2100])
        base = (
            f"{year:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
            f"{rng.randint(0, 59):02d}:{rng.choice([0, 59, rng.randint(0, 59)]):02d}"
        )
        digits = rng.randint(0, 10)
        frac = "".join(rng.choice("0123456789" if rng.random() < 0.7 else "09") for _ in range(digits))
        dot = "." + frac if digits or rng.random() < 0.1 else ""
        texts.append(base + dot + rng.choice(["Z", "Z", "Z", "+00:00", "z", "+01:30", "-00:00"]))
    return texts


def test_to_dict_datetimes_are_exact_iso_in_every_form_they_arrive_in() -> None:
    texts = _time_texts(3000)
    schema = [{"Name": "Timestamp", "Type": "DateTime"}, {"Name": "Row", "Type": "Int64"}]
    body = {"Schema": schema, "Results": [{"Timestamp": t, "Row": i} for i, t in enumerate(texts)]}
    batch = m365parse.decode(json.dumps(body))
    assert len(batch.records) == len(texts) and not batch.errors
    for record in batch.records:
        assert record.table == "HuntingRow"
        if record.properties.Timestamp is None:  # a text msgspec does not take ("-00:00"): kept in extra
            assert "Timestamp" in record.extra
            continue
        assert record.to_dict()["properties"]["Timestamp"] == exact_iso(record, "Timestamp")
        doc = m365parse.normalize(record, "ecs")
        assert doc["@timestamp"] == exact_iso(record, "Timestamp")


def test_nested_datetimes_of_a_graph_alert_in_every_form() -> None:
    page = json.loads(next(p for p in SAMPLES if p.name == "GraphAlertPage.json").read_bytes())
    alert = page["value"][0]
    assert alert["evidence"]
    texts = _time_texts(200)
    alerts = []
    for i in range(0, len(texts), 2):
        item = copy.deepcopy(alert)
        item["createdDateTime"] = texts[i]
        item["evidence"][0]["createdDateTime"] = texts[i + 1]
        alerts.append(item)
    batch = m365parse.decode(json.dumps({"value": alerts}))
    assert len(batch.records) == len(alerts) and not batch.errors
    checked = 0
    for record in batch.records:
        if record.properties.createdDateTime is None or not isinstance(
            record.properties.evidence[0].createdDateTime, datetime
        ):
            continue  # a text msgspec does not take: kept in extra
        checked += 1
        props = record.to_dict()["properties"]
        assert props["createdDateTime"] == exact_iso(record, "createdDateTime")
        assert props["evidence"][0]["createdDateTime"] == exact_iso(record, "evidence[0].createdDateTime")
        event = m365parse.normalize(record, "ocsf")
        assert event["finding_info"]["created_time_dt"] == exact_iso(record, "createdDateTime")
        assert event["time"] == m365parse.timestamp_ns(record, "createdDateTime") // 1_000_000  # type: ignore[operator]
    assert checked > 50


def test_a_datetime_changed_after_decoding_is_written_as_it_is_now() -> None:
    page = next(p for p in SAMPLES if p.name == "GraphAlertPage.json").read_bytes()
    record = m365parse.decode(page).records[0]
    assert isinstance(record.properties.createdDateTime, datetime)
    new = datetime(2030, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)
    record.properties.createdDateTime = new
    first, second = record.properties.evidence[:2]
    before = [record.to_dict()["properties"]["evidence"][i]["createdDateTime"] for i in (0, 1)]
    first.createdDateTime = first.createdDateTime + timedelta(seconds=1)
    second.createdDateTime = second.createdDateTime + timedelta(microseconds=1)  # the same second
    props = record.to_dict()["properties"]
    assert props["createdDateTime"] == "2030-01-02T03:04:05.123456Z"
    for i in (0, 1):
        assert props["evidence"][i]["createdDateTime"] == exact_iso(record, f"evidence[{i}].createdDateTime")
        assert props["evidence"][i]["createdDateTime"] != before[i]
    doc = m365parse.normalize(record, "ecs")
    assert doc["event"]["created"] == "2030-01-02T03:04:05.123456Z"
    assert m365parse.normalize(record, "ocsf")["time"] == 1893553445123
    assert format_ns(m365parse.timestamp_ns(record, "createdDateTime")) == "2030-01-02T03:04:05.123456Z"


def test_a_record_made_by_hand_normalizes_without_an_origin() -> None:
    from m365parse.api import GraphAlert
    from m365parse.api.records import GraphAlertRecord

    when = datetime(2026, 7, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)
    record = GraphAlertRecord(properties=GraphAlert(id="a1", title="t", createdDateTime=when, severity="high"))
    assert record.to_dict()["properties"] == {"id": "a1", "createdDateTime": "2026-07-01T12:00:00.25Z", "severity": "high", "title": "t"}
    doc = m365parse.normalize(record, "ecs")
    assert doc["@timestamp"] == "2026-07-01T12:00:00.25Z"
    assert doc["m365_defender"]["graph_alert"]["title"] == "t"
    flat = m365parse.normalize(record, "jsa")
    assert isinstance(flat["DeviceTime"], ExactDatetime) and flat["DeviceTime"].isoformat_exact() == "2026-07-01T12:00:00.25Z"


# --- to_dict(): the generated fill functions against the iterative reference ---------------


def _reference(record: Any) -> Any:
    """to_dict()["properties"] as the iterative walk makes it (every member visited, exact_iso per datetime)."""
    return record._plain_iterative(record.properties, "$")


def _generated_alerts(count: int) -> list[m365parse.Record]:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.api_shapes import encode

    return [r for unit in encode("graph", count, 50, seed=3) for r in m365parse.decode(unit).records]


def test_to_dict_is_the_iterative_walk_on_every_sample_and_generated_alert() -> None:
    records = _records() + _generated_alerts(200)
    for record in records:
        if not hasattr(record, "_plain_iterative"):
            continue  # hunting rows of a known table
        got = record.to_dict()["properties"]
        want = _reference(record)
        assert json.dumps(got) == json.dumps(want), record.table


def test_to_dict_of_nested_evidence_lists_changed_after_decoding() -> None:
    page = next(p for p in SAMPLES if p.name == "GraphAlertPage.json").read_bytes()
    records = m365parse.decode(page).records
    record = next(r for r in records if len(r.properties.evidence or []) >= 3)
    evidence = record.properties.evidence
    # an item dropped, one moved, one added by hand: the views no longer line up with the list
    moved = evidence.pop(0)
    evidence.append(moved)
    evidence[0].createdDateTime = datetime(2031, 5, 6, 7, 8, 9, 1, tzinfo=timezone.utc)
    props = record.to_dict()["properties"]
    assert json.dumps(props) == json.dumps(_reference(record))
    assert props["evidence"][0]["createdDateTime"] == "2031-05-06T07:08:09.000001Z"
    # a datetime replaced by a value of another type is written as that value
    record.properties.createdDateTime = "not a datetime"  # type: ignore[assignment]
    assert record.to_dict()["properties"]["createdDateTime"] == "not a datetime"


def test_to_dict_reads_seven_digits_and_non_canonical_texts_at_every_depth() -> None:
    page = json.loads(next(p for p in SAMPLES if p.name == "GraphAlertPage.json").read_bytes())
    alert = page["value"][0]
    forms = ["2026-07-01T10:00:00.1234567Z", "2026-07-01T10:00:00.1200000Z", "2026-07-01T10:00:00+00:00",
             "2026-07-01T12:00:00.5+02:00", "2026-07-01T10:00:00Z", "2026-07-01t10:00:00.9999999z"]
    alerts = []
    for i, text in enumerate(forms):
        item = copy.deepcopy(alert)
        item["createdDateTime"] = text
        for ev in item["evidence"]:
            ev["createdDateTime"] = forms[(i + 1) % len(forms)]
        alerts.append(item)
    records = m365parse.decode(json.dumps({"value": alerts})).records
    assert len(records) == len(forms)
    for record in records:
        props = record.to_dict()["properties"]
        assert json.dumps(props) == json.dumps(_reference(record))
        if isinstance(record.properties.createdDateTime, datetime):
            assert props["createdDateTime"] == exact_iso(record, "createdDateTime")
        for i, ev in enumerate(record.properties.evidence):
            if isinstance(ev.createdDateTime, datetime):
                assert props["evidence"][i]["createdDateTime"] == exact_iso(record, f"evidence[{i}].createdDateTime")


def test_to_dict_of_hunting_rows_typed_untyped_and_of_a_known_table() -> None:
    schema = [{"Name": "Timestamp", "Type": "DateTime"}, {"Name": "Odd name", "Type": "String"},
              {"Name": "Extra", "Type": "Dynamic"}]
    rows = [{"Timestamp": "2026-07-01T10:00:00.1234567Z", "Odd name": "a", "Extra": {"x": [1, {"y": None}]}},
            {"Timestamp": "2026-07-01T10:00:00+00:00", "Odd name": None, "Extra": None}]
    batch = m365parse.decode(json.dumps({"Schema": schema, "Results": rows}))
    assert [r.table for r in batch.records] == ["HuntingRow", "HuntingRow"]
    first, second = batch.records
    assert first.to_dict()["properties"] == {"Timestamp": "2026-07-01T10:00:00.1234567Z", "Odd name": "a",
                                             "Extra": {"x": [1, {"y": None}]}}
    assert second.to_dict()["properties"] == {"Timestamp": "2026-07-01T10:00:00Z"}
    for record in batch.records:
        assert json.dumps(record.to_dict()["properties"]) == json.dumps(_reference(record))
    # a row kept as a dict (its schema could not be used): as it arrived
    from m365parse.api.records import HuntingRecord

    kept = HuntingRecord(properties={"Timestamp": "2026-07-01T10:00:00Z", "n": 1})
    assert kept.to_dict()["properties"] == {"Timestamp": "2026-07-01T10:00:00Z", "n": 1}
    # rows of a known table are records of that table: the table's to_dict(), not ApiRecord's
    mde = next(p for p in SAMPLES if p.name == "HuntingMde.json").read_bytes()
    for record in m365parse.decode(mde).records:
        assert record.table == "AlertInfo" and not isinstance(record, HuntingRecord)
        assert record.to_dict()["properties"]["Timestamp"] == exact_iso(record, "Timestamp")


def test_exact_ns_of_the_nested_rules_is_timestamp_ns_in_every_form() -> None:
    from m365parse.mappings.api_rules import Func, Item, compile_rules, exact_ns

    texts = [*_time_texts(2000), "2026-12-31T23:59:59.9999996Z", "2026-12-31T23:59:59.9999995Z",
             "2026-12-31T23:59:59.9999994Z", "1999-01-01T00:00:00.0000005Z", "2026-07-01T10:00:00.000000001Z"]
    schema = [{"Name": "Timestamp", "Type": "DateTime"}]
    batch = m365parse.decode(json.dumps({"Schema": schema, "Results": [{"Timestamp": t} for t in texts]}))
    normalize = compile_rules({"ns": Func.of(exact_ns, "Timestamp")}, True)
    with_item = compile_rules({"ns": Func.of(exact_ns, "Timestamp"), "row": Item()}, True)  # texts from to_dict()
    checked = 0
    for record in batch.records:
        if record.properties.Timestamp is None:
            continue  # a text msgspec does not take: kept in extra
        checked += 1
        want = m365parse.timestamp_ns(record, "Timestamp")
        assert normalize(record)["ns"] == want == with_item(record)["ns"], record.properties.Timestamp
    assert checked > 1000


# --- the generated normalizers hold no rule data -------------------------------------------


def _names_and_literals(source: str) -> tuple[set[str], set[str]]:
    import io
    import keyword
    import re
    import tokenize

    made = re.compile(r"_?[a-z]+\d+\Z")
    names, literals = set(), set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and not keyword.iskeyword(tok.string) and not made.match(tok.string):
            names.add(tok.string)
        elif tok.type in (tokenize.STRING, tokenize.NUMBER):
            literals.add(tok.string)
    return names, literals


@pytest.mark.parametrize("rule_set", RULE_SETS)
def test_generated_normalizers_use_only_names_they_made(rule_set: str) -> None:
    from m365parse.mappings.api_rules import GENERATED_NAMES

    nested = not rule_set.startswith("jsa")
    for kind in ("GraphAlert", "GraphIncident", "MdeAlert", "XdrIncident", "XdrAlert", "HuntingRow"):
        fn = normalizer_for(rule_set, kind, nested)
        assert fn is not None and fn.__doc__
        names, literals = _names_and_literals(fn.__doc__)
        assert names <= GENERATED_NAMES, (kind, names - GENERATED_NAMES)
        assert not literals, (kind, literals)
        for record in _records():
            if record.table == kind:
                fn(record)
        if "_tget0" in fn.__globals__:  # a kind whose paths are members of the item: a normalizer per item type
            typed = [f for f in fn.__globals__["_tget0"].__self__.values() if (f.__doc__ or "").startswith("def normalize")]
            assert typed or rule_set != "jsa"
            for each in typed:
                names, literals = _names_and_literals(each.__doc__)
                assert names <= GENERATED_NAMES and not literals, (kind, names - GENERATED_NAMES, literals)
            continue
        # the readers of the struct types the records had, at every node of the paths
        nodes = [fn.__globals__["_visit0"].__self__]
        readers = []
        while nodes:
            node = nodes.pop()
            readers += [r for r in node.readers.values() if r.__doc__ and r.__doc__.startswith("def reader")]
            nodes += list(node.members.values()) + ([node.star] if node.star is not None else [])
        assert readers or (kind == "HuntingRow" and rule_set != "jsa")
        for reader in readers:
            names, literals = _names_and_literals(reader.__doc__)
            assert names <= GENERATED_NAMES and not literals, (kind, names - GENERATED_NAMES, literals)


def test_hostile_rule_data_reaches_the_generated_code_as_values_only() -> None:
    from m365parse.mappings.api_rules import GENERATED_NAMES, Apply, Collect, Const, First, Func, Text, compile_rules

    hostile = "x'); __import__('os').system('echo pwned'); ('"
    rules = {
        hostile: Const(hostile),
        f"a.{hostile}.b": First.of(hostile, "title"),
        "c\nreturn None": Func.of(lambda v: v, hostile),
        "d": Text(Collect.of(f"{hostile}[*]")),
        '"""': Const([hostile]),
        # Collect and Apply(Collect) as generated code: [*] paths, a list member, a plain path, a function
        "e": Collect.of("evidence[*].ipAddress", "mitreTechniques", "title", Func.of(lambda v: [v, v], "severity"),
                        "evidence[*].loggedOnUsers[*].accountName", "evidence[0].deviceDnsName"),
        "f": Apply(Collect.of("evidence[*].ipInterfaces[*]", "evidence[*].ipAddress"), ("ip", "ipv6")),
        "g": Collect.of(hostile, f"{hostile}[*]"),
    }
    for nested in (False, True):
        fn = compile_rules(rules, nested)
        names, literals = _names_and_literals(fn.__doc__ or "")
        assert names <= GENERATED_NAMES and not literals
        record = next(r for r in _records() if r.table == "GraphAlert")
        doc = fn(record)
        assert json.dumps(_plain(doc), default=str) == json.dumps(_plain(_expected(rules, record, nested)), default=str)
        assert not nested or doc["x'); __import__('os')"]["system('echo pwned'); ('"] == hostile
        assert len(doc["e"]) >= 4 and doc["f"]


def test_generated_fill_functions_use_only_names_they_made() -> None:
    from m365parse.api.records import _FILLS, FILL_NAMES

    for record in _records() + _generated_alerts(20):
        record.to_dict()
    fills = [f for f in _FILLS.values() if (f.__doc__ or "").startswith("def fill")]
    assert len(fills) >= 5
    for fill in fills:
        names, literals = _names_and_literals(fill.__doc__)
        assert names <= FILL_NAMES and not literals, (names - FILL_NAMES, literals)


def test_apply_of_a_first_gives_no_value_to_its_transforms_when_every_path_is_empty() -> None:
    from m365parse.api.records import HuntingRecord
    from m365parse.mappings.api_rules import Apply, First, compile_rules

    rules = {"a": Apply(First.of("B", "A"), ("const:x",)), "b": Apply(First.of("A", "C"), ("const:x",)),
             "c": Apply(First.of("A", "L"), ("snake_case",))}
    record = HuntingRecord(properties={"A": "", "B": [], "C": "Some Value", "L": ["One Two", "", "Three"]})
    for nested in (False, True):
        got = compile_rules(rules, nested)(record)
        assert got == _expected(rules, record, nested)
        assert "a" not in got and got["b"] == "x" and got["c"] == ["one_two", "three"]


@pytest.mark.parametrize("rule_set", RULE_SETS)
def test_rows_kept_as_dicts_and_typed_rows_normalize_as_the_rules_say(rule_set: str) -> None:
    nested = not rule_set.startswith("jsa")
    rows = [{"Timestamp": "2026-07-01T10:00:00.1234567Z", "DeviceName": "d1", "AccountName": "", "AccountUpn": "u@x",
             "RemoteIP": "10.0.0.1", "Extra": {"k": [1, None]}},
            {"TimeGenerated": "2026-07-01T10:00:00Z", "IPAddress": "::1"}]
    typed_schema = [{"Name": k, "Type": "DateTime" if k in ("Timestamp", "TimeGenerated") else "Dynamic" if k == "Extra"
                     else "String"} for k in dict.fromkeys(k for row in rows for k in row)]
    untyped = m365parse.decode(json.dumps({"Schema": "not a schema", "Results": rows})).records
    typed = m365parse.decode(json.dumps({"Schema": typed_schema, "Results": rows})).records
    assert [type(r.properties) for r in untyped] == [dict, dict]
    assert all(not isinstance(r.properties, dict) and r.table == "HuntingRow" for r in typed)
    fn = normalizer_for(rule_set, "HuntingRow", nested)
    assert fn is not None
    for record in [*untyped, *typed]:
        got = fn(record)
        want = _expected(_rules(rule_set, "HuntingRow"), record, nested)
        assert json.dumps(_plain(got), default=str) == json.dumps(_plain(want), default=str)
    assert untyped[0].to_dict()["properties"] == rows[0]
    assert typed[0].to_dict()["properties"] == rows[0]


def test_row_structs_of_one_shape_share_their_generated_code_not_their_values() -> None:
    from m365parse.api.records import _FILLS

    records = []
    for column, when in (("A", "2026-07-01T10:00:00.1234567Z"), ("B", "2027-01-02T03:04:05.5Z")):
        schema = [{"Name": "Timestamp", "Type": "DateTime"}, {"Name": column, "Type": "String"},
                  {"Name": "DeviceName", "Type": "String"}]
        row = {"Timestamp": when, column: column.lower(), "DeviceName": f"dev-{column}"}
        (record,) = m365parse.decode(json.dumps({"Schema": schema, "Results": [row]})).records
        records.append(record)
        assert record.to_dict()["properties"] == row
    first, second = (_FILLS[type(r.properties)] for r in records)
    assert first is not second and first.__code__ is second.__code__
    for rule_set in RULE_SETS:
        nested = not rule_set.startswith("jsa")
        fn = normalizer_for(rule_set, "HuntingRow", nested)
        assert fn is not None
        for record in records:
            want = _expected(_rules(rule_set, "HuntingRow"), record, nested)
            assert json.dumps(_plain(fn(record)), default=str) == json.dumps(_plain(want), default=str)
