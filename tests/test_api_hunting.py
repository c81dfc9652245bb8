"""Advanced hunting responses of the MDE, XDR and Graph APIs: one typed record per row."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import m365parse
from m365parse.shapes import hunting
from m365parse.tables import AlertInfo, AlertInfoRecord

SAMPLES = Path(m365parse.__file__).resolve().parent / "samples" / "api"


def _load(name: str) -> Any:
    return json.loads((SAMPLES / name).read_bytes())


def test_mde_rows_of_a_known_table_are_that_tables_records() -> None:
    batch = m365parse.decode((SAMPLES / "HuntingMde.json").read_bytes())
    assert batch.errors == [] and len(batch.records) == 2
    record = batch.records[0]
    assert isinstance(record, AlertInfoRecord) and isinstance(record.properties, AlertInfo)
    assert m365parse.timestamp_ns(record, "Timestamp") == 1777189550_116000000
    assert m365parse.normalize(record, "ecs")["event"]["kind"] == "alert"
    assert m365parse.normalize(record, "jsa")


def test_xdr_rows_are_typed_by_the_schema() -> None:
    batch = m365parse.decode((SAMPLES / "HuntingXdr.json").read_bytes())
    assert [r.table for r in batch.records] == ["HuntingRow"] * 3
    row = batch.records[0].properties
    assert row.ProcessId == 4412 and row.IsRemote is False
    assert m365parse.timestamp_ns(batch.records[0], "Timestamp") == 1782511440_013333300
    assert batch.records[0].to_dict()["properties"]["Timestamp"] == "2026-06-26T22:04:00.0133333Z"


def test_graph_annotations_are_metadata_and_dynamic_values_unwrapped() -> None:
    batch = m365parse.decode((SAMPLES / "HuntingGraph.json").read_bytes())
    assert batch.errors == []
    first, second = batch.records
    assert first.properties.IsExploitAvailable is True and second.properties.IsExploitAvailable is False
    assert first.properties.RecommendedSecurityUpdate == {"kbs": ["KB5040442"], "release": "July 2026"}
    data = first.to_dict()
    assert not any("@odata" in key for key in data["properties"]) and data["extra"] == {}
    assert m365parse.timestamp_ns(first, "Timestamp") == 1783971719_856666700


def test_one_struct_per_distinct_schema() -> None:
    data = (SAMPLES / "HuntingXdr.json").read_bytes()
    a = m365parse.decode(data).records[0].properties
    b = m365parse.decode(data).records[1].properties
    assert type(a) is type(b)
    schema = (("Timestamp", "DateTime"), ("X", "String"))
    assert hunting.row_type(schema, False) is hunting.row_type(schema, False)
    assert hunting.row_type(schema, False).struct is not hunting.row_type((("X", "String"),), False).struct


def test_graph_rows_of_a_known_table() -> None:
    mde = _load("HuntingMde.json")
    results = []
    for row in mde["Results"]:
        results.append({**row, "Timestamp@odata.type": "#DateTimeOffset"})
    graph = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
        "schema": [{"name": c["Name"], "type": c["Type"]} for c in mde["Schema"]],
        "results": results,
    }
    batch = m365parse.decode(json.dumps(graph))
    record = batch.records[0]
    assert isinstance(record, AlertInfoRecord) and isinstance(record.properties, AlertInfo)
    assert record.to_dict() == m365parse.decode(json.dumps(mde)).records[0].to_dict()


def _graph_known_table_response() -> dict[str, Any]:
    mde = _load("HuntingMde.json")
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
        "schema": [{"name": c["Name"], "type": c["Type"]} for c in mde["Schema"]],
        "results": [{**row, "Timestamp@odata.type": "#DateTimeOffset"} for row in mde["Results"]],
    }


_PICKLED = [
    ("HuntingXdr.json", lambda: _load("HuntingXdr.json")),  # rows of a struct built for the schema
    ("HuntingGraph.json", lambda: _load("HuntingGraph.json")),
    ("HuntingMde.json", lambda: _load("HuntingMde.json")),  # a known table's struct
    ("graph rows of a known table", _graph_known_table_response),  # a subclass built for Graph's annotations
]


@pytest.mark.parametrize("name, response", _PICKLED, ids=[n for n, _ in _PICKLED])
def test_hunting_batches_pickle_and_copy(name: str, response: Any) -> None:
    # The row structs built per schema are no module's attributes: a row pickles as its schema and values.
    batch = m365parse.decode(json.dumps(response()))
    assert batch.records
    for back in (pickle.loads(pickle.dumps(batch)), copy.deepcopy(batch)):
        assert back == batch
        for got, want in zip(back.records, batch.records, strict=True):
            assert type(got.properties) is type(want.properties)
            assert got.to_dict() == want.to_dict()  # the exact timestamps too
            assert got.properties is not want.properties


def test_schema_and_rows_that_disagree_keep_every_value() -> None:
    response = _load("HuntingXdr.json")
    response["Results"][1]["Surprise"] = {"a": 1}
    response["Results"][2]["ProcessId"] = "not a number"
    del response["Results"][0]["FileName"]
    response["Results"].append(["not", "a", "row"])
    batch = m365parse.decode(json.dumps(response))
    assert len(batch.records) == 3 and [(e.index, e.path) for e in batch.errors] == [(3, "$.Results[3]")]
    first, second, third = batch.records
    assert first.properties.FileName is None and first.extra == {}
    assert second.extra == {"Surprise": {"a": 1}} and second.properties.FileName == "wbadmin.exe"
    assert third.extra == {"ProcessId": "not a number"} and third.properties.ProcessId is None
    assert m365parse.timestamp_ns(third, "Timestamp") == 1782511441_500000000


def test_unknown_type_names_keep_the_json_value() -> None:
    response = {"Schema": [{"Name": "Odd", "Type": "Quaternion"}, {"Name": "N", "Type": "Int32"}], "Results": [{"Odd": [1, {"x": 2}], "N": 7}]}
    (record,) = m365parse.decode(json.dumps(response)).records
    assert record.properties.Odd == [1, {"x": 2}] and record.properties.N == 7


@pytest.mark.parametrize("body", [b'{"schema": [], "results": []}', b'{"Schema": [], "Results": []}', b'{"Stats": {}, "Schema": []}'])
def test_empty_results(body: bytes) -> None:
    assert m365parse.decode(body).records == []


def test_columns_with_odd_names_and_keys_in_another_order() -> None:
    response = {"Results": [{"count_": 3, "class": "x", "two words": "y"}], "Schema": [{"Name": "count_", "Type": "Int64"}, {"Name": "class", "Type": "String"}, {"Name": "two words", "Type": "String"}]}
    (record,) = m365parse.decode(json.dumps(response, indent=2)).records
    assert record.to_dict()["properties"] == {"count_": 3, "class": "x", "two words": "y"}


def test_a_broken_row_costs_only_itself() -> None:
    data = (SAMPLES / "HuntingXdr.json").read_bytes().replace(b'"ProcessId": 4420', b'"ProcessId": 44\xff20')
    batch = m365parse.decode(data)
    assert len(batch.records) == 2 and len(batch.errors) == 1 and batch.errors[0].path == "$.Results[1]"


# --- the response envelope: Stats, schema, @odata.context (Batch.envelope) ------------


def _envelope_of(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k not in ("Results", "results")}


@pytest.mark.parametrize("name", ["HuntingXdr.json", "HuntingMde.json", "HuntingGraph.json"])
def test_the_response_envelope_is_kept_as_plain_json(name: str) -> None:
    response = _load(name)
    batch = m365parse.decode((SAMPLES / name).read_bytes())
    assert batch.errors == [] and batch.records
    assert batch.envelope == _envelope_of(response)
    if name == "HuntingXdr.json":
        stats = batch.envelope["Stats"]
        assert stats["resource_usage"]["cpu"]["total cpu"] == "00:00:19.1406250"
        assert isinstance(stats["ExecutionTime"], float)
    if name == "HuntingGraph.json":
        assert batch.envelope["@odata.context"].endswith("#microsoft.graph.security.huntingQueryResults")


def test_the_envelope_is_the_same_on_the_fallback_path() -> None:
    # A row that does not fit its schema sends the response to the row-by-row path:
    # the envelope is the same, so is every row but that one.
    response = _load("HuntingXdr.json")
    clean = m365parse.decode(json.dumps(response))
    response["Results"][1]["ProcessId"] = "not a number"
    broken = m365parse.decode(json.dumps(response))
    assert broken.errors == [] and broken.records[1].extra == {"ProcessId": "not a number"}
    assert broken.envelope == clean.envelope == _envelope_of(response)


def test_stats_with_nulls_and_odd_keys_and_an_unknown_top_level_key() -> None:
    stats = {
        "ExecutionTime": 0.0312,
        "resource_usage": {"cache": {"memory": None, "disk": None}, "cpu": {"total cpu": "00:00:00"}},
        "dataset_statistics": [],
    }
    response = {"Stats": stats, "Schema": [{"Name": "X", "Type": "String"}], "Results": [], "Extra": [1, {"a": None}]}
    batch = m365parse.decode(json.dumps(response))
    assert batch.records == [] and batch.errors == []
    assert batch.envelope == {"Stats": stats, "Schema": response["Schema"], "Extra": [1, {"a": None}]}
    # a key of null is kept as null, not dropped
    response = {"Stats": None, "Schema": [{"Name": "X", "Type": "String"}], "Results": [{"X": "a"}]}
    assert m365parse.decode(json.dumps(response)).envelope == {"Stats": None, "Schema": response["Schema"]}


def test_stats_holding_what_only_the_standard_library_reads() -> None:
    data = b'{"Stats": {"ExecutionTime": NaN, "note": "\\ud800"}, "Schema": [{"Name": "X", "Type": "String"}], "Results": [{"X": "a"}]}'
    batch = m365parse.decode(data)
    assert [r.properties.X for r in batch.records] == ["a"]
    assert batch.envelope["Stats"]["note"] == "\ud800"
    assert batch.envelope["Stats"]["ExecutionTime"] != batch.envelope["Stats"]["ExecutionTime"]  # NaN


def test_each_batch_has_its_own_envelope() -> None:
    data = (SAMPLES / "HuntingXdr.json").read_bytes()
    first = m365parse.decode(data)
    first.envelope["Stats"]["ExecutionTime"] = -1
    first.envelope["Schema"].clear()
    second = m365parse.decode(data)
    assert second.envelope == _envelope_of(_load("HuntingXdr.json"))


def test_no_envelope_for_several_responses_or_one_that_is_not_json() -> None:
    one = json.dumps(_load("HuntingXdr.json")).encode()
    batch = m365parse.decode(one + b"\n" + one)
    assert len(batch.records) == 6 and batch.envelope == {}
    cut = one.replace(b'"ProcessId": 4412', b'"ProcessId": 44 12', 1)  # the first row is not JSON any more
    batch = m365parse.decode(cut)
    assert len(batch.errors) == 1 and len(batch.records) == 2
    assert batch.envelope == {}


def test_no_envelope_when_an_envelope_value_is_not_json() -> None:
    # invalid UTF-8 in Stats: the response is not JSON; its rows are still decoded
    data = b'{"Stats": {"note": "\xff"}, "Schema": [{"Name": "X", "Type": "String"}], "Results": [{"X": "a"}]}'
    batch = m365parse.decode(data)
    assert [r.properties.X for r in batch.records] == ["a"] and batch.envelope == {}


def test_a_schema_with_bytes_that_are_not_utf8_in_a_key_of_its_own() -> None:
    # found by fuzzing: the typed read of the schema skipped the key, its whole read raised
    data = b'{"Schema":[{"Name":"A","Type":"String","X":"\xff"}],"Results":[{"A":"v"}]}'
    batch = m365parse.decode(data)
    assert [r.properties.A for r in batch.records] == ["v"] and batch.errors == []
