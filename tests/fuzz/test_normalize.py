"""normalize() with every registered rule set, and every named transform, on hostile records and values.

Records with values of the wrong type in every column, records of unknown tables
and mutated corpus records must normalize without an exception other than
M365ParseError (the transforms promise None for odd values).
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import m365parse
from m365parse import TABLES

from ._support import TRIED, examples, rng, scaled
from .strategies import json_values, perturbed
from .test_mutations import CORPUS, mutate

HAS_NORMALIZE = hasattr(m365parse, "normalize")
try:
    from m365parse.mappings.transforms import TRANSFORMS, transform
except ImportError:  # the mappings are not there yet
    TRANSFORMS, transform = {}, None
needs_normalize = pytest.mark.skipif(not HAS_NORMALIZE, reason="m365parse.normalize (the mappings) is not there yet")


def _rule_sets() -> list[str]:
    return list(m365parse.registry) if HAS_NORMALIZE else []


def _normalize_all(rec: m365parse.Record) -> None:
    for name in _rule_sets():
        TRIED[f"normalize({name})"] += 1
        try:
            out = m365parse.normalize(rec, name)
        except m365parse.M365ParseError:
            continue
        assert isinstance(out, dict)


@needs_normalize
@pytest.mark.parametrize("table", sorted(TABLES))
@examples(6)
@given(data=st.data())
def test_normalize_with_every_rule_set_on_values_of_the_wrong_type(table: str, data: st.DataObject) -> None:
    gen, _changes = data.draw(perturbed(table))
    if table == "SiemAlert":
        gen.props.setdefault("AlertId", "da1")
        raw: Any = [gen.props]
    else:
        raw = {"records": [{**gen.raw, "properties": gen.props}]}
    batch = m365parse.decode(msgspec.json.encode(raw))
    (rec,) = batch.records
    _normalize_all(rec)


@needs_normalize
@examples(40)
@given(props=st.dictionaries(st.sampled_from(sorted({c for t in TABLES.values() for c in t.__struct_fields__})), json_values, max_size=12), category=st.text(max_size=30))
def test_normalize_records_of_unknown_tables(props: dict[str, Any], category: str) -> None:
    raw = {"category": "AdvancedHunting-Zz" + category, "properties": props}
    (rec,) = m365parse.decode(msgspec.json.encode({"records": [raw]})).records
    assert isinstance(rec, m365parse.UnknownRecord)
    _normalize_all(rec)


@needs_normalize
def test_normalize_mutated_corpus_records() -> None:
    r = rng("normalize:corpus")
    for _ in range(scaled(300, 30_000)):
        data = mutate(r, r.choice(CORPUS).data)
        try:
            batch = m365parse.decode(data)
        except m365parse.InvalidInput:
            continue
        for rec in batch.records:
            _normalize_all(rec)
        for name in _rule_sets():
            m365parse.normalize_batch(batch, name)


@needs_normalize
@examples(150)
@given(value=json_values | st.datetimes(timezones=st.just(timezone.utc)), name=st.sampled_from(sorted(TRANSFORMS) or [""]))
def test_every_transform_takes_any_value(value: Any, name: str) -> None:
    TRIED["transforms"] += 1
    if value is None:
        return  # transforms are never called with None
    fn = transform(name)
    fn(value)
