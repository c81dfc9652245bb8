"""expand() on generated JSON, double-encoded JSON, JSON.NET reference graphs and garbage."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import m365parse
from m365parse._values import expand_value

from ..conftest import body, record
from ._support import TRIED, examples, time_limit
from .strategies import json_values, text

_LOOKS_LIKE_JSON = re.compile(r"\s*[\[{]")


def _plain(value: Any) -> bool:
    """No $id/$ref keys and no string that expand() would try to decode."""
    if isinstance(value, dict):
        return all(k not in ("$id", "$ref") and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return not (isinstance(value, str) and _LOOKS_LIKE_JSON.match(value))


def _encode_inner(value: Any, draw: st.DrawFn) -> Any:
    """Some containers inside ``value`` replaced by their JSON text (encoded twice, as DNS answers are)."""
    if isinstance(value, dict):
        out: Any = {k: _encode_inner(v, draw) for k, v in value.items()}
    elif isinstance(value, list):
        out = [_encode_inner(v, draw) for v in value]
    else:
        return value
    return json.dumps(out) if draw(st.booleans()) else out


@examples(150)
@given(value=json_values.filter(_plain), data=st.data())
def test_expand_gives_back_the_value_whatever_the_encoding(value: Any, data: st.DataObject) -> None:
    TRIED["expand: generated JSON"] += 1
    assert expand_value(json.dumps(value)) == value  # as JSON text
    if isinstance(value, (dict, list)):
        assert expand_value(value) == value  # as the object itself
        assert expand_value(_encode_inner(value, data.draw)) == value  # with parts encoded again


@st.composite
def reference_graphs(draw: st.DrawFn) -> tuple[Any, int, list[tuple[int, str, int]]]:
    """JSON.NET-style objects: n objects with $id, nested in each other, and $refs (some dangling)."""
    n = draw(st.integers(1, 8))
    objects: list[dict[str, Any]] = []
    for i in range(n):
        ident: Any = draw(st.sampled_from([str(i + 1), i + 1]))
        obj: dict[str, Any] = {"name": f"o{i}"}
        if draw(st.booleans()):
            obj = {"$id": ident, **obj}
        else:
            obj["$id"] = ident
        objects.append(obj)
        if i:
            parent = objects[draw(st.integers(0, i - 1))]
            parent[f"c{i}"] = obj if draw(st.booleans()) else [obj]
    refs = []
    for k in range(draw(st.integers(0, 10))):
        holder = draw(st.integers(0, n - 1))
        target = draw(st.integers(0, n + 1))  # n and n+1 are dangling
        ref: Any = draw(st.sampled_from([str(target + 1), target + 1]))
        objects[holder][f"r{k}"] = {"$ref": ref}
        refs.append((holder, f"r{k}", target))
    root: Any = objects[0] if draw(st.booleans()) else {"$ref": "1", "x": objects[0]}  # not a reference: 2 keys
    return root, n, refs


def _reachable(value: Any) -> list[Any]:
    seen: dict[int, Any] = {}
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen[id(item)] = item
        stack.extend(c for c in (item.values() if isinstance(item, dict) else item) if isinstance(c, (dict, list)))
    return list(seen.values())


@examples(150)
@given(graph=reference_graphs(), as_text=st.booleans())
def test_references_resolve_to_their_objects_cycles_included(graph: tuple[Any, int, list[Any]], as_text: bool) -> None:
    TRIED["expand: $id/$ref graphs"] += 1
    root, n, refs = graph
    with time_limit(10, "expand of a reference graph"):
        out = expand_value(json.dumps(root) if as_text else root)
    nodes = _reachable(out)
    by_name = {node["name"]: node for node in nodes if isinstance(node, dict) and "name" in node}
    assert len(by_name) == n
    assert not any(isinstance(node, dict) and "$id" in node for node in nodes)
    for holder, key, target in refs:
        value = by_name[f"o{holder}"][key]
        if target < n:
            assert value is by_name[f"o{target}"]
        else:
            assert isinstance(value, dict) and set(value) == {"$ref"}  # dangling: left as it is


@examples(300)
@given(garbage=st.one_of(text, st.binary().map(lambda b: b.decode("utf-8", "replace")), json_values.map(json.dumps).map(lambda s: s[: len(s) // 2])))
def test_expand_of_garbage_raises_only_invalid_json_text(garbage: str) -> None:
    TRIED["expand: garbage"] += 1
    for value in (garbage, "[" + garbage, '{"a": "' + garbage + '"}', '["[' + garbage + '"]'):
        try:
            expand_value(value, "AdditionalFields")
        except m365parse.InvalidJSONText as exc:
            assert exc.column == "AdditionalFields" and isinstance(exc, m365parse.M365ParseError)


@pytest.mark.parametrize("form", ["text", "object"])
def test_alert_evidence_cycles_and_dangling_references_through_decode(form: str) -> None:
    fields = {
        "$id": "1",
        "Type": "process",
        "ImageFile": {"$id": "2", "Name": "cmd.exe", "Owner": {"$ref": "1"}},
        "Parent": {"$ref": "2"},
        "Lost": {"$ref": "99"},
        "Answers": json.dumps([{"$ref": "2"}]),
    }
    value = json.dumps(fields) if form == "text" else fields
    rec = m365parse.decode(body(record("AlertEvidence", AdditionalFields=value))).records[0]
    out = m365parse.expand(rec, "AdditionalFields")
    assert out["ImageFile"]["Owner"] is out
    assert out["Parent"] is out["ImageFile"]
    assert out["Lost"] == {"$ref": "99"}
    assert out["Answers"][0] is out["ImageFile"]
