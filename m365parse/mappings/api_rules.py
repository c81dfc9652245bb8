"""Rules of the ``"jsa"``, ``"ecs"`` and ``"ocsf"`` rule sets for the records of the polled APIs.

Alert, incident and hunting-row records (:mod:`m365parse.api.records`) have
nested ``properties``, so their rules are written over JSON paths below the item
rather than columns.  A spec is one of:

==========================================  =============================================
spec                                        value
==========================================  =============================================
``"title"``                                 the value at that path (``"evidence[*].ipAddress"``:
                                            every value the ``[*]`` reach, as a list)
``Const("alert")``                          a constant
``First("a", "b")``                         the first of several specs that is not empty
``Collect("a", "b")``                       every value of several specs, flattened, without
                                            repeats (``related.*``)
``Apply(spec, "ip")``                       a spec's value through transforms of
                                            :mod:`m365parse.mappings.transforms` (applied to
                                            each item of a list)
``Text(spec)``                              a spec's value as a string (numeric ids)
``Call(fn)``                                ``fn(record)``; its docstring documents it
==========================================  =============================================

Datetimes are :class:`m365parse.ExactDatetime` values (``"jsa"``, as for tables) or UTC
ISO 8601 text with every fractional digit that arrived (``"ecs"``).
Fields whose value is ``None``, ``""`` or ``[]`` are left out.  The rules of a
kind are looked up by the rule set's base name (``"ecs"`` for ``"ecs+severity"``);
the ``+severity`` and ``+original`` variants add ``event.severity`` and
``event.original`` as they do for tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from msgspec import Struct

from .._values import ExactDatetime, exact_datetime, path_steps
from ..errors import MappingError
from ..record import Record
from .transforms import transform

__all__ = ["Const", "First", "Collect", "Apply", "Text", "Call", "normalizer_for", "describe_spec", "KindRules"]


class Const(NamedTuple):
    value: Any


class First(NamedTuple):
    specs: tuple[Any, ...]

    @classmethod
    def of(cls, *specs: Any) -> First:
        return cls(specs)


class Collect(NamedTuple):
    specs: tuple[Any, ...]

    @classmethod
    def of(cls, *specs: Any) -> Collect:
        return cls(specs)


class Apply(NamedTuple):
    spec: Any
    transforms: tuple[str, ...]


class Text(NamedTuple):
    spec: Any


class Call(NamedTuple):
    fn: Callable[[Record], Any]


#: Kind -> {target field: spec}.
KindRules = dict[str, dict[str, Any]]


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, (list, dict)) and not value)


def _values(node: Any, steps: list[str | int], pos: int, path: str, record: Record) -> Iterator[Any]:
    """The values at ``steps[pos:]`` below ``node`` (``"*"`` steps fan out over lists)."""
    if node is None:
        return
    if pos == len(steps):
        if isinstance(node, datetime):
            yield exact_datetime(record, path)
        elif isinstance(node, Struct):
            yield record._plain(node, path) if hasattr(record, "_plain") else node
        else:
            yield node
        return
    step = steps[pos]
    if step == "*":
        if isinstance(node, list):
            for i, item in enumerate(node):
                yield from _values(item, steps, pos + 1, f"{path}[{i}]", record)
        return
    if isinstance(step, int):  # "alerts[0].title": one item of a list
        if isinstance(node, list) and -len(node) <= step < len(node):
            index = step % len(node)
            yield from _values(node[index], steps, pos + 1, f"{path}[{index}]", record)
        return
    if isinstance(node, dict):
        yield from _values(node.get(step), steps, pos + 1, f"{path}.{step}", record)
    elif isinstance(node, Struct) and isinstance(step, str):
        names = dict(zip(node.__struct_encode_fields__, node.__struct_fields__, strict=True))
        if step in names:
            yield from _values(getattr(node, names[step]), steps, pos + 1, f"{path}.{step}", record)


_STEPS: dict[str, list[str | int]] = {}


def _steps(path: str) -> list[str | int]:
    steps = _STEPS.get(path)
    if steps is None:
        parsed = path_steps(path.replace("[*]", ".*"))
        if parsed is None:
            raise MappingError(f"bad path {path!r} in an API rule")
        steps = _STEPS[path] = parsed
    return steps


def evaluate(spec: Any, record: Record) -> Any:
    """The value of ``spec`` for ``record``."""
    if isinstance(spec, str):
        found = list(_values(record.properties, _steps(spec), 0, "$", record))
        if "[*]" in spec:
            return [v for v in found if not _empty(v)]
        return found[0] if found else None
    if isinstance(spec, Const):
        return list(spec.value) if isinstance(spec.value, list) else spec.value
    if isinstance(spec, First):
        for item in spec.specs:
            value = evaluate(item, record)
            if isinstance(value, list) and isinstance(item, str) and "[*]" in item:
                value = value[0] if value else None  # the first of the values a [*] path reaches
            if not _empty(value):
                return value
        return None
    if isinstance(spec, Collect):
        out: list[Any] = []
        for item in spec.specs:
            value = evaluate(item, record)
            for v in value if isinstance(value, list) else [value]:
                if not _empty(v) and v not in out:
                    out.append(v)
        return out
    if isinstance(spec, Apply):
        value = evaluate(spec.spec, record)
        for name in spec.transforms:
            fn = transform(name)
            if isinstance(value, list):
                results: list[Any] = []
                for item in value:
                    result = fn(item)
                    for r in result if isinstance(result, list) else [result]:
                        if not _empty(r) and r not in results:
                            results.append(r)
                value = results
            elif value is not None:
                value = fn(value)
        return value
    if isinstance(spec, Text):
        value = evaluate(spec.spec, record)
        return None if value is None else str(value)
    if isinstance(spec, Call):
        return spec.fn(record)
    raise MappingError(f"unknown API rule spec {spec!r}")


def normalize_with(rules: Mapping[str, Any], record: Record, nested: bool) -> dict[str, Any]:
    """The document of ``record`` under ``rules`` (dotted targets nested when ``nested``)."""
    out: dict[str, Any] = {}
    for target, spec in rules.items():
        value = evaluate(spec, record)
        if _empty(value):
            continue
        if nested:  # ECS: datetimes as exact ISO 8601 text
            if isinstance(value, ExactDatetime):
                value = value.isoformat_exact()
            elif isinstance(value, list):
                value = [v.isoformat_exact() if isinstance(v, ExactDatetime) else v for v in value]
        if not nested:
            out[target] = value
            continue
        *parents, leaf = target.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def describe_spec(spec: Any) -> str:
    """One line of documentation of a spec."""
    if isinstance(spec, str):
        return f"`{spec}`"
    if isinstance(spec, Const):
        return f"`{json.dumps(spec.value)}`"
    if isinstance(spec, First):
        return " or ".join(describe_spec(s) for s in spec.specs)
    if isinstance(spec, Collect):
        return "all of " + ", ".join(describe_spec(s) for s in spec.specs)
    if isinstance(spec, Apply):
        return describe_spec(spec.spec) + "".join(f" \\| {t}" for t in spec.transforms)
    if isinstance(spec, Text):
        return describe_spec(spec.spec) + " as text"
    if isinstance(spec, Call):
        doc = (spec.fn.__doc__ or spec.fn.__name__).strip().splitlines()[0]
        return doc.replace("|", "\\|")
    return repr(spec)


def api_sections(base: str, order: Callable[[str], Any]) -> str:
    """Markdown sections documenting the API kinds' rules of rule set ``base`` (for JSA.md / ECS.md)."""
    if base == "jsa":
        from .api_jsa import RULES
    elif base == "ocsf":
        from .api_ocsf import RULES
    else:
        from .api_ecs import RULES
    code = base in ("ecs", "ocsf")
    lines = [
        "# Alerts, incidents and hunting rows of the polled APIs",
        "",
        "Rules over JSON paths below the item (`[*]`: every item of a list); see `m365parse/mappings/api_rules.py`.",
        "Hunting rows whose columns are a known table's are records of that table (above).",
        "",
    ]
    for kind, fields in RULES.items():
        lines += [f"## {kind}", "", "| field | from |", "|---|---|"]
        for target in sorted(fields, key=order):
            name = f"`{target}`" if code else target
            lines.append(f"| {name} | {describe_spec(fields[target])} |")
        lines.append("")
    return "\n".join(lines)


def normalizer_for(rule_set_name: str, kind: str, nested: bool) -> Callable[[Record], dict[str, Any]] | None:
    """The normalizer of API records of ``kind`` under the rule set ``rule_set_name``; None if it has none."""
    base, *variants = rule_set_name.split("+")
    if base == "jsa":
        from .api_jsa import RULES
    elif base == "ecs":
        from .api_ecs import RULES, original, severity
    elif base == "ocsf" and not variants:
        from .api_ocsf import RULES
    else:
        return None
    rules = RULES.get(kind)
    if rules is None:
        return None
    if base == "ecs":
        rules = dict(rules)
        if "severity" in variants:
            rules["event.severity"] = Call(severity)
        if "original" in variants:
            rules["event.original"] = Call(original)
    frozen = dict(rules)

    def normalize(record: Record) -> dict[str, Any]:
        return normalize_with(frozen, record, nested)

    return normalize
