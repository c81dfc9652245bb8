"""Hypothesis strategies for records of every table, built from the struct field types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from hypothesis import strategies as st

from m365parse import TABLES
from m365parse._values import JsonText, Timestamp, format_ns

# Text as Defender sends it: any Unicode but lone surrogates (those are not UTF-8).
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)
keys = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)
json_containers = st.lists(json_values, max_size=4) | st.dictionaries(keys, json_values, max_size=4)

# 1970 to 2100, in Kusto's 100 ns ticks.
timestamps_ns = st.integers(0, 4_102_444_800 * 10**7).map(lambda ticks: ticks * 100)


def kind_of(table: str, column: str, annotation: Any) -> str:
    """The value kind of a column: str, int, bool, datetime, json (JsonText) or any."""
    args = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
    base = args[0] if len(args) == 1 else annotation
    if base is str:
        return "str"
    if base is int:
        return "int"
    if base is bool:
        return "bool"
    if base is float:
        return "float"
    if base is Timestamp:
        return "datetime"
    if set(args) == set(JsonText.__args__):
        return "json"
    return "any"


#: table -> column -> kind, for every table of m365parse.TABLES; columns by the key
#: they are sent under (the wire name: ``ISP`` of CloudAppEvents).
KINDS: dict[str, dict[str, str]] = {
    table: {f.encode_name: kind_of(table, f.encode_name, f.type) for f in msgspec.structs.fields(struct)}
    for table, struct in TABLES.items()
}

def _output_keys(struct: Any) -> dict[str, str]:
    wire = {f.name: f.encode_name for f in msgspec.structs.fields(struct)}
    keys = {f.encode_name: f.encode_name for f in msgspec.structs.fields(struct)}
    keys.update({variant: wire[attribute] for variant, attribute in getattr(struct, "_variants", {}).items()})
    return keys


#: table -> key sent -> the key ``to_dict()`` writes its column under (the wire name:
#: ``Isp`` sent to CloudAppEvents comes back as ``ISP``), other spellings included.
ATTR: dict[str, dict[str, str]] = {table: _output_keys(struct) for table, struct in TABLES.items()}


@st.composite
def timestamp_texts(draw: st.DrawFn) -> tuple[int, str]:
    """A timestamp in nanoseconds and one of the ways Defender writes it."""
    ns = draw(timestamps_ns)
    canonical = format_ns(ns)
    assert canonical is not None
    form = draw(st.sampled_from(["canonical", "seven", "offset"]))
    if form == "seven":
        frac = ns % 10**9
        return ns, canonical[:19] + f".{frac // 100:07d}Z"
    if form == "offset":
        return ns, canonical[:-1] + "+00:00"
    return ns, canonical


def value_of(kind: str) -> st.SearchStrategy[Any]:
    """Valid values of a column kind (datetimes as (ns, text) pairs)."""
    return {
        "str": text,
        "int": st.integers(-(2**100), 2**100),  # beyond 64 bits too
        "bool": st.booleans(),
        "float": st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53),
        "datetime": timestamp_texts(),
        "json": text | json_containers,
        "any": json_values,
    }[kind]


@dataclass
class Generated:
    """A generated record: the JSON-ready dict, and what decoding it must give."""

    table: str
    raw: dict[str, Any]  # the record as sent
    props: dict[str, Any]  # the row as sent (properties, or the alert itself)
    expected: dict[str, Any]  # to_dict()["properties"] it must decode to
    envelope: dict[str, Any] = field(default_factory=dict)  # to_dict()["envelope"] it must decode to


@st.composite
def rows(draw: st.DrawFn, table: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A valid row of ``table``: (as sent, as ``to_dict()`` gives it back)."""
    kinds = KINDS[table]
    chosen = draw(st.lists(st.sampled_from(sorted(kinds)), unique=True, max_size=len(kinds)))
    sent: dict[str, Any] = {}
    back: dict[str, Any] = {}
    for column in chosen:
        kind = kinds[column]
        if column == "ReportId" and kind == "str":
            value = draw(text | st.integers(0, 2**64))  # documented string, arrives as a number too
            sent[column], back[ATTR[table][column]] = value, str(value)
            continue
        if draw(st.integers(0, 9)) == 0:
            sent[column] = None  # null: the column is absent
            continue
        value = draw(value_of(kind))
        attribute = ATTR[table][column]
        if kind == "datetime":
            ns, value = value
            back[attribute] = format_ns(ns)
        elif kind == "float":
            back[attribute] = float(value)
        elif value is not None:
            back[attribute] = value
        sent[column] = value
    return sent, back


@st.composite
def records(draw: st.DrawFn, table: str) -> Generated:
    """A valid Streaming API record (or SIEM alert) of ``table``."""
    sent, back = draw(rows(table))
    if table == "SiemAlert":
        if not sent:  # "{}" alone is no SIEM alert: it is recognised by its fields
            sent["AlertId"] = back["AlertId"] = draw(text)
        return Generated(table, sent, sent, back)
    raw: dict[str, Any] = {}
    envelope: dict[str, Any] = {"category": f"AdvancedHunting-{table}"}
    for key in draw(st.lists(st.sampled_from(["time", "tenantId", "operationName", "_TimeReceivedBySvc", "Tenant"]), unique=True)):
        if key in ("time", "_TimeReceivedBySvc"):
            ns, raw[key] = draw(timestamp_texts())
            envelope[key] = format_ns(ns)
        else:
            raw[key] = envelope[key] = draw(text)
    raw["category"] = envelope["category"]
    raw["properties"] = sent
    return Generated(table, raw, sent, back, envelope)


def encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


# --- values of the wrong type ------------------------------------------------------

VALUE, NONE, EXTRA = "value", "none", "extra"
BOOL_TEXTS = {"0": False, "1": True, "true": True, "false": False, "True": True, "False": False, "TRUE": True}
not_a_number = text.map(lambda s: "x" + s)


def perturbation(table: str, column: str, kind: str) -> st.SearchStrategy[tuple[Any, str, Any]]:
    """(value sent, outcome, typed value) for a column: every documented conversion and every misfit."""
    misfit_containers = json_containers.map(lambda v: (v, EXTRA, None))
    if kind == "int":
        return st.one_of(
            st.integers(-(2**100), 2**100).map(lambda n: (str(n), VALUE, n)),  # digit strings
            st.just(("", NONE, None)),
            st.integers(2**63, 2**200).map(lambda n: (n, VALUE, n)),  # beyond 64 bits
            st.integers(-(2**53), 2**53).map(lambda n: (float(n), VALUE, n)),  # 3.0
            st.booleans().map(lambda b: (b, EXTRA, None)),
            st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f)).map(lambda f: (f, EXTRA, None)),
            not_a_number.map(lambda s: (s, EXTRA, None)),
            misfit_containers,
        )
    if kind == "float":
        return st.one_of(
            st.floats(allow_nan=False, allow_infinity=False).map(lambda f: (str(f), VALUE, f)),  # number texts
            st.integers(-(2**53), 2**53).map(lambda n: (n, VALUE, float(n))),
            st.just(("", NONE, None)),
            st.booleans().map(lambda b: (b, EXTRA, None)),
            not_a_number.map(lambda s: (s, EXTRA, None)),
            misfit_containers,
        )
    if kind == "bool":
        return st.one_of(
            st.sampled_from([0, 1]).map(lambda n: (n, VALUE, bool(n))),
            st.sampled_from(sorted(BOOL_TEXTS)).map(lambda s: (s, VALUE, BOOL_TEXTS[s])),
            st.just(("", NONE, None)),
            st.integers(2, 2**70).map(lambda n: (n, EXTRA, None)),
            not_a_number.map(lambda s: (s, EXTRA, None)),
            misfit_containers,
        )
    if kind == "str":
        numbers = st.integers(-(2**200), 2**200)
        return st.one_of(
            numbers.map(lambda n: (n, VALUE, str(n))) if column == "ReportId" else numbers.map(lambda n: (n, EXTRA, None)),
            st.floats(allow_nan=False, allow_infinity=False).map(lambda f: (f, EXTRA, None)),
            st.booleans().map(lambda b: (b, EXTRA, None)),
            misfit_containers,  # objects in string columns
            text.map(lambda s: (s, VALUE, s)),
        )
    if kind == "datetime":
        return st.one_of(
            st.just(("", NONE, None)),
            not_a_number.map(lambda s: (s, EXTRA, None)),
            st.booleans().map(lambda b: (b, EXTRA, None)),
            misfit_containers,
            timestamp_texts().map(lambda p: (p[1][:-1] if p[1].endswith("Z") else p[1], VALUE, format_ns(p[0]))),
        )
    if kind == "json":
        return st.one_of(
            st.integers(-(2**100), 2**100).map(lambda n: (n, EXTRA, None)),
            st.floats(allow_nan=False, allow_infinity=False).map(lambda f: (f, EXTRA, None)),
            st.booleans().map(lambda b: (b, EXTRA, None)),
            (text | json_containers).map(lambda v: (v, VALUE, v)),
        )
    return json_values.filter(lambda v: v is not None).map(lambda v: (v, VALUE, v))


@st.composite
def perturbed(draw: st.DrawFn, table: str) -> tuple[Generated, dict[str, tuple[Any, str, Any]]]:
    gen: Generated = draw(records(table))
    kinds = KINDS[table]
    columns = draw(st.lists(st.sampled_from(sorted(kinds)), unique=True, min_size=1, max_size=8))
    changes = {column: draw(perturbation(table, column, kinds[column])) for column in columns}
    for column, (value, _outcome, _typed) in changes.items():
        gen.props[column] = value
        gen.expected.pop(ATTR[table][column], None)
    return gen, changes
