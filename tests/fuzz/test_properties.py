"""Property-based tests of every table of m365parse.TABLES, generated from the struct field types.

- generated valid records round-trip: decoding gives back exactly what was sent,
  and re-encoding the decoded record decodes to an equal record;
- the order of keys (columns and envelope) never matters;
- columns the struct does not declare always land in ``extra``, verbatim;
- values of the wrong type never fail the record and are never lost: they are
  converted as documented, or kept verbatim in ``extra``;
- the one-pass decode, the per-record decode and the column-by-column build agree.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import m365parse
from m365parse import TABLES
from m365parse._decode import SIEM_ALIASES
from m365parse._values import _build_columns, _plan, build_struct, format_ns

from ._support import decode_checked, examples
from .strategies import (
    ATTR,
    KINDS,
    NONE,
    VALUE,
    Generated,
    json_values,
    keys,
    perturbation,
    perturbed,
    records,
    text,
    timestamp_texts,
)

TABLE_NAMES = sorted(TABLES)
STREAM_SHAPES = ["body", "lines", "array", "pretty"]
SIEM_SHAPES = ["array", "one", "pretty"]


def wrap(raw: dict[str, Any], shape: str) -> bytes:
    if shape == "body":
        return msgspec.json.encode({"records": [raw]})
    if shape == "array":
        return msgspec.json.encode([raw])
    if shape == "pretty":
        return msgspec.json.format(msgspec.json.encode(raw), indent=2)
    return msgspec.json.encode(raw)


def decode_one_record(data: bytes, what: str) -> m365parse.Record:
    batch = decode_checked(data, what)
    assert batch is not None, data[:300]
    assert batch.errors == [], [e.reason for e in batch.errors]
    assert len(batch.records) == 1
    return batch.records[0]


def same_json(a: Any, b: Any) -> bool:
    """Equal and of the same JSON types (1, 1.0 and True are not the same value)."""
    return msgspec.json.encode(a) == msgspec.json.encode(b)


def resend(record: m365parse.Record) -> dict[str, Any]:
    """What a decoded record says was sent, as a JSON-ready dict."""
    out = record.to_dict()
    row = {**out["properties"], **out["extra"]}
    if record.table == "SiemAlert":
        return row
    return {**out["envelope"], "properties": row}


def shapes_for(table: str) -> st.SearchStrategy[str]:
    return st.sampled_from(SIEM_SHAPES if table == "SiemAlert" else STREAM_SHAPES)


# --- round trip ---------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLE_NAMES)
@examples(12)
@given(data=st.data())
def test_valid_records_round_trip(table: str, data: st.DataObject) -> None:
    gen: Generated = data.draw(records(table))
    rec = decode_one_record(wrap(gen.raw, data.draw(shapes_for(table))), "property: round trip")
    assert rec.table == table
    assert isinstance(rec.properties, TABLES[table])
    out = rec.to_dict()
    assert out["properties"] == gen.expected
    assert out["extra"] == {}
    if table != "SiemAlert":
        assert out["envelope"] == gen.envelope
        assert rec.envelope_extra == {}
    if table == "SiemAlert" and not out["properties"]:
        return  # every field null: sent again it is {}, which is no alert at all
    again = decode_one_record(wrap(resend(rec), "array"), "property: round trip")
    assert again == rec
    assert again.to_dict() == out


# --- key order ----------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLE_NAMES)
@examples(6)
@given(data=st.data())
def test_key_order_does_not_matter(table: str, data: st.DataObject) -> None:
    gen: Generated = data.draw(records(table))
    props = {k: gen.props[k] for k in data.draw(st.permutations(list(gen.props)))}
    if table == "SiemAlert":
        permuted: dict[str, Any] = props
    else:
        envelope = {k: v for k, v in gen.raw.items() if k != "properties"}
        envelope["properties"] = props
        permuted = {k: envelope[k] for k in data.draw(st.permutations(list(envelope)))}
    shape = data.draw(shapes_for(table))
    first = decode_one_record(wrap(gen.raw, shape), "property: key order")
    second = decode_one_record(wrap(permuted, shape), "property: key order")
    assert second == first
    assert second.to_dict() == first.to_dict()


# --- unknown columns ----------------------------------------------------------------


@pytest.mark.parametrize("table", TABLE_NAMES)
@examples(6)
@given(data=st.data())
def test_unknown_columns_always_land_in_extra(table: str, data: st.DataObject) -> None:
    gen: Generated = data.draw(records(table))
    known = set(ATTR[table]) | set(SIEM_ALIASES) | {"category", "properties"}
    unknown = data.draw(st.dictionaries(keys.filter(lambda k: k not in known), json_values, min_size=1, max_size=4))
    merged = {**gen.props, **unknown}
    row = {k: merged[k] for k in data.draw(st.permutations(list(merged)))}
    raw = row if table == "SiemAlert" else {**gen.raw, "properties": row}
    rec = decode_one_record(wrap(raw, data.draw(shapes_for(table))), "property: unknown columns")
    assert set(rec.extra) == set(unknown)
    for key, value in unknown.items():
        assert same_json(rec.extra[key], value), key
    assert rec.to_dict()["properties"] == gen.expected


# --- wrong types ----------------------------------------------------------------------

def check_outcomes(rec: m365parse.Record, changes: dict[str, tuple[Any, str, Any]]) -> None:
    props = rec.to_dict()["properties"]
    for column, (value, outcome, typed) in changes.items():
        where = (column, value)
        name = ATTR[rec.table].get(column, column)  # ISP fills Isp
        if outcome == VALUE:
            assert name in props, where
            assert same_json(props[name], typed), (where, props[name])
            assert column not in rec.extra, where
        elif outcome == NONE:
            assert name not in props and column not in rec.extra, where
        else:
            assert name not in props, where
            assert column in rec.extra and same_json(rec.extra[column], value), where


@pytest.mark.parametrize("table", TABLE_NAMES)
@examples(10)
@given(data=st.data())
def test_values_of_the_wrong_type_never_fail_the_record_nor_get_lost(table: str, data: st.DataObject) -> None:
    gen, changes = data.draw(perturbed(table))
    if table == "SiemAlert":
        gen.props.setdefault("AlertId", "da1")
    raw = gen.props if table == "SiemAlert" else {**gen.raw, "properties": gen.props}
    rec = decode_one_record(wrap(raw, data.draw(shapes_for(table))), "property: wrong types")
    check_outcomes(rec, changes)
    # every column that was sent is accounted for: typed, documented as empty, or in extra
    props = rec.to_dict()["properties"]
    for column, value in gen.props.items():
        name = ATTR[table].get(column, column)
        assert name in props or column in rec.extra or value in (None, ""), column


@pytest.mark.parametrize("table", TABLE_NAMES)
@examples(8)
@given(data=st.data())
def test_one_pass_per_record_and_column_by_column_decoding_agree(table: str, data: st.DataObject) -> None:
    gen, _changes = data.draw(perturbed(table))
    if table == "SiemAlert":
        gen.props.setdefault("AlertId", "da1")
        raw: dict[str, Any] = gen.props
        with_unknown: dict[str, Any] = {**gen.props, "Zz_Unknown": 1}
    else:
        raw = {**gen.raw, "properties": gen.props}
        with_unknown = {**gen.raw, "properties": {**gen.props, "Zz_Unknown": 1}}
    alone = decode_one_record(wrap(raw, "array"), "property: paths agree")
    # a neighbour that is not a record sends the batch down the per-record path
    batch = decode_checked(msgspec.json.encode([raw, 5]), "property: paths agree")
    assert batch is not None and len(batch.records) == 1 and len(batch.errors) == 1
    per_record = batch.records[0]
    # an undeclared column sends the record through the column-by-column build
    built = decode_one_record(wrap(with_unknown, "array"), "property: paths agree")
    assert built.extra.pop("Zz_Unknown") == 1
    assert alone == per_record == built
    assert alone.to_dict() == per_record.to_dict() == built.to_dict()


@pytest.mark.parametrize("table", TABLE_NAMES)
@examples(8)
@given(data=st.data())
def test_the_whole_row_and_the_column_by_column_builds_agree(table: str, data: st.DataObject) -> None:
    # build_struct converts a row in one msgspec call when every value fits, else column
    # by column: both give the same struct and extra, for rows that fit and rows that do not
    if data.draw(st.booleans()):
        gen: Generated = data.draw(records(table))
    else:
        gen, _changes = data.draw(perturbed(table))
    props = {**gen.props, "Zz_Unknown": [1]} if data.draw(st.booleans()) else gen.props
    struct = TABLES[table]
    whole = build_struct(struct, props)
    by_column = _build_columns(struct, props, _plan(struct))
    assert whole == by_column
    assert msgspec.structs.asdict(whole[0]) == msgspec.structs.asdict(by_column[0])


# --- the envelope and SIEM spellings ----------------------------------------------------

ENVELOPE_KINDS = {"time": "datetime", "_TimeReceivedBySvc": "datetime", "tenantId": "str", "operationName": "str", "Tenant": "str"}


@examples(40)
@given(data=st.data(), table=st.sampled_from([t for t in TABLE_NAMES if t != "SiemAlert"]))
def test_envelope_values_of_the_wrong_type_go_to_envelope_extra(table: str, data: st.DataObject) -> None:
    gen: Generated = data.draw(records(table))
    key = data.draw(st.sampled_from(sorted(ENVELOPE_KINDS)))
    value, outcome, typed = data.draw(perturbation(table, key, ENVELOPE_KINDS[key]))
    raw = {**gen.raw, key: value}
    rec = decode_one_record(wrap(raw, data.draw(st.sampled_from(STREAM_SHAPES))), "property: envelope")
    envelope = rec.to_dict()["envelope"]
    if outcome == VALUE:
        assert same_json(envelope[key], typed) and key not in rec.envelope_extra
    elif outcome == NONE:
        assert key not in envelope
    else:
        assert same_json(rec.envelope_extra[key], value)
        assert same_json(envelope[key], value)  # the envelope view shows it as it arrived
    assert rec.to_dict()["properties"] == gen.expected


@examples(30)
@given(data=st.data())
def test_siem_spellings_fill_the_documented_field(data: st.DataObject) -> None:
    gen: Generated = data.draw(records("SiemAlert"))
    alias = data.draw(st.sampled_from(sorted(SIEM_ALIASES)))
    canonical = SIEM_ALIASES[alias]
    kind = KINDS["SiemAlert"][canonical]
    if kind == "datetime":
        ns, value = data.draw(timestamp_texts())
        typed: Any = format_ns(ns)
    else:
        value = typed = data.draw(text if kind == "str" else st.integers(0, 2**40))
    row = {k: v for k, v in gen.props.items() if k != canonical}
    row[alias] = value
    rec = decode_one_record(wrap(row, data.draw(st.sampled_from(SIEM_SHAPES))), "property: SIEM spellings")
    assert rec.to_dict()["properties"][canonical] == typed
    assert alias not in rec.extra

