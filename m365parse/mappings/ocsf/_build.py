"""How the ``"ocsf"`` rule set is built from per-table data.

A table's mapping is a :class:`TableMapping`: rules that every event of the table
gets (``common``) and one or more :class:`Plan` s, each an OCSF class with its
activities (by ``ActionType``), profiles and class-specific rules, and what the
class cannot do without (``needs``).  :func:`build` turns all of them into plain
rules of the rule language (:mod:`m365parse.mappings.registry`):

- a condition per plan (``"ocsf DeviceEvents 1007#0"``) says whether a record
  takes that plan: its ``ActionType`` is one of the plan's (or no plan names it,
  or the named plan's needs are not met, and the plan takes the others) and every
  one of its ``needs`` has a value.  A record that fits no plan becomes a Base
  Event (class 0): OCSF's generic class, valid whatever the record holds;
- ``class_uid``, ``activity_id``, ``type_uid`` (always ``class_uid * 100 +
  activity_id``), their captions and ``metadata.profiles`` are constants or look-ups
  of ``ActionType`` under those conditions;
- a rule that only some plans have is guarded by their conditions;
- every documented column that a plan does not keep whole goes to
  ``unmapped.<Column>`` in the events of that plan (datetimes as exact ISO text,
  JSON columns decoded once), undeclared columns and values that did not fit
  their type to ``unmapped.extra``, envelope keys without an OCSF place to
  ``unmapped.envelope``.

Adding a table (or a kind of alert) is adding a :class:`TableMapping` to a family
module; nothing here changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Union

from ...record import Record
from ...tables import ANNOTATIONS, DOCUMENTED_TYPES
from ..ocsf_transforms import FALLIBLE
from ..registry import RuleSet, Spec, conditions_of, normalize
from ..specs import Rules, col, collect, const, first, fit, lookup, when
from ..transforms import CONDITIONS, transform
from ._dispatch import PLANS
from ._schema import CLASSES, VERSION

PRODUCT = "Microsoft Defender XDR"
VENDOR = "Microsoft"
BASE_EVENT = 0

# --- spec helpers ------------------------------------------------------------------------


def prefixed(prefix: str, rules: Mapping[str, Spec]) -> Rules:
    return {f"{prefix}.{name}": spec for name, spec in rules.items()}


def has(*columns: str) -> str:
    """The name of the condition "each of ``columns`` has a value" (registered on first use)."""
    name = "has " + "+".join(columns)
    if name not in CONDITIONS:

        def present(record: Record) -> bool:
            props = record.properties
            for column in columns:
                value = props.get(column) if isinstance(props, dict) else getattr(props, column, None)
                if value is None or value == "":
                    return False
            return True

        present.__doc__ = f"``{'``, ``'.join(columns)}`` have a value."
        CONDITIONS[name] = present
    return name


def guarded(condition: str, rules: Mapping[str, Spec]) -> Rules:
    """``rules``, each kept only when ``condition`` holds."""
    return {target: when(condition, spec) for target, spec in rules.items()}


def file_object(prefix: str, name: str, **fields: Spec) -> Rules:
    """An OCSF ``file`` at ``prefix``, there when column ``name`` has a value (``name``, ``type_id`` are required)."""
    hashes = [fields.pop(key) for key in ("md5", "sha1", "sha256") if key in fields]
    rules: Rules = {"name": name, "type_id": col(name, "present:1"), "type": col(name, "present_text:Regular File")}
    rest: Rules = dict(fields)
    if hashes:
        rest["hashes"] = collect(*hashes)
    rules |= guarded(has(name), rest)
    return prefixed(prefix, rules)


def md5(column: str) -> Spec:
    return col(column, "fingerprint:MD5")


def sha1(column: str) -> Spec:
    return col(column, "fingerprint:SHA-1")


def sha256(column: str) -> Spec:
    return col(column, "fingerprint:SHA-256")


def ms(column: str) -> Spec:
    """A datetime column as OCSF ``timestamp_t`` (ms since the epoch)."""
    return col(column, "epoch_ms")


def dt(column: str) -> Spec:
    """A datetime column as the ``datetime`` profile's RFC 3339 text, with all 7 digits."""
    return col(column, "iso")


def times(target: str, column: str) -> Rules:
    """``<target>`` in ms and ``<target>_dt`` with every digit (the ``datetime`` profile)."""
    return {target: ms(column), f"{target}_dt": dt(column)}


def objects_of(name: str, table: str, rules: Mapping[str, Spec]) -> Callable[[Record], list[dict[str, Any]] | None]:
    """A list holding the one object that ``rules`` (nested targets) build from a record, or None when empty.

    The object's rules are compiled like any rule set's; for ``evidences[]`` and
    other lists of objects made of several columns.
    """
    inner = RuleSet(f"ocsf:{name}", {table: dict(rules)}, nested=True)
    compiled = inner._compiled  # the compiled function of each record type, called directly

    def one_object(record: Record) -> list[dict[str, Any]] | None:
        fn = compiled.get(type(record))
        found = fn(record) if fn is not None else normalize(record, inner)
        return [found] if found else None

    one_object.ocsf_rules = dict(rules)  # type: ignore[attr-defined] # what it keeps, for unmapped
    one_object.__name__ = name
    one_object.__doc__ = f"``[{{...}}]``: the {name} object of the record (rules in OCSF.md)."
    return one_object


# --- plans ---------------------------------------------------------------------------------


#: What a plan needs: a column, or ``(column, transform, ...)``.
Need = Union[str, tuple[str, ...]]  # noqa: UP007 - a runtime alias


@dataclass(frozen=True)
class Plan:
    """One OCSF class of a table's events.

    ``actions``: the ``ActionType`` values that take this plan (``None``: every
    value that no other plan of the table names, an absent one included, and the
    records of named plans whose needs are not met); several plans may name one
    ``ActionType``: the first whose needs are met takes the record.
    ``activity``: ``ActionType`` -> ``activity_id``; ``default_activity`` for the
    others.  ``needs``: lists of columns of which at least one must have a value
    (what the class requires; an item may be ``(column, transform, ...)``).  ``status``: a spec of ``status_id``.
    ``activity_column``: the column that ``activity`` looks up (``ActionType``; ``RequestMethod`` of an API call).
    """

    class_uid: int
    rules: Rules = field(default_factory=dict)
    actions: frozenset[str] | None = None
    activity: Mapping[str, int] = field(default_factory=dict)
    default_activity: int = 99
    needs: tuple[tuple[Need, ...], ...] = ()
    profiles: tuple[str, ...] = ("datetime",)
    status: Spec | None = None
    activity_column: str = "ActionType"


@dataclass(frozen=True)
class TableMapping:
    """The OCSF mapping of one table: rules of every event, then the plans (first match wins)."""

    table: str
    plans: tuple[Plan, ...]
    common: Rules = field(default_factory=dict)
    base_profiles: tuple[str, ...] = ("datetime",)


def getattr_none(obj: Any, name: str) -> Any:
    return getattr(obj, name, None)


def _getter(item: Need) -> Callable[[Callable[[str], Any]], Any]:
    """``get -> value`` of a need: a column, or ``(column, transform, ...)``."""
    if isinstance(item, str):
        return lambda get: get(item)
    column, *names = item
    steps = [transform(name) for name in names]

    def value(get: Callable[[str], Any]) -> Any:
        found = get(column)
        for step in steps:
            if found is None:
                return None
            found = step(found)
        return found

    return value


def _met(groups: tuple[tuple[Need, ...], ...]) -> Callable[[Callable[[str], Any]], bool]:
    """``get -> bool``: every group of needs has an item with a value (plain columns read directly)."""
    steps = tuple(tuple(item if isinstance(item, str) else _getter(item) for item in group) for group in groups)

    def met(get: Callable[[str], Any]) -> bool:
        for group in steps:
            for item in group:
                value = get(item) if item.__class__ is str else item(get)  # type: ignore[operator]
                if value is not None and value != "":
                    break
            else:
                return False
        return True

    return met


def _classifier(mapping: TableMapping) -> Callable[[Record], int]:
    """``record -> index of its plan`` (``len(plans)``: the Base Event)."""
    plans = mapping.plans
    named: dict[str, tuple[int, ...]] = {}  # ActionType -> its plans, in order
    default = None
    for i, plan in enumerate(plans):
        if plan.actions is None:
            default = i if default is None else default
        else:
            for action in plan.actions:
                named[action] = (*named.get(action, ()), i)
    fallback = len(plans)
    needs = [_met(plan.needs) for plan in plans]
    last: list[Any] = [None, None, fallback]

    def classify(record: Record) -> int:
        props = record.properties
        get: Callable[[str], Any] = props.get if isinstance(props, dict) else partial(getattr_none, props)
        action = get("ActionType")
        # one record is classified once, whatever number of conditions ask
        if record is last[0] and action is last[1]:
            return int(last[2])
        index = fallback
        # the plans of the ActionType, else the table's default plan: the first whose needs are met
        for i in named.get(action, ()) if isinstance(action, str) else ():
            if needs[i](get):
                index = i
                break
        else:
            if default is not None and needs[default](get):
                index = default
        last[:] = [record, action, index]
        return index

    return classify


def _condition(mapping: TableMapping, index: int, classify: Callable[[Record], int]) -> str:
    name = f"ocsf {mapping.table} {mapping.plans[index].class_uid}#{index}"

    def takes(record: Record) -> bool:
        return classify(record) == index

    takes.__doc__ = f"A {mapping.table} record that becomes OCSF class {mapping.plans[index].class_uid}."
    CONDITIONS[name] = takes
    return name


def _chain(branches: list[tuple[str, Spec]], other: Spec | None) -> Spec | None:
    """``if c1 then s1 else if c2 then s2 ... else other``."""
    spec = other
    for condition, then in reversed(branches):
        spec = when(condition, then, spec)
    return spec


def _classification(class_uid: int, plan: Plan | None) -> Rules:
    """class/category/activity/type ids and captions, and the profiles, of one plan (or the Base Event)."""
    _, caption, category_uid, category, activities, _ = CLASSES[class_uid]
    rules: Rules = {
        "class_uid": const(class_uid),
        "class_name": const(caption),
        "category_uid": const(category_uid),
        "category_name": const(category),
    }
    if plan is None or not plan.activity:
        activity = plan.default_activity if plan is not None else 99
        rules |= {
            "activity_id": const(activity),
            "activity_name": _activity_name(None if plan is None else plan.activity_column, {}, activity, activities),
            "type_uid": const(class_uid * 100 + activity),
            "type_name": const(f"{caption}: {activities[activity]}"),
        }
    else:
        ids = dict(plan.activity)
        column = plan.activity_column
        default = plan.default_activity
        rules |= {
            "activity_id": lookup(column, ids, default),
            "activity_name": _activity_name(column, {a: activities[i] for a, i in ids.items()}, default, activities),
            "type_uid": lookup(
                column, {a: class_uid * 100 + i for a, i in ids.items()}, class_uid * 100 + default
            ),
            "type_name": lookup(
                column,
                {a: f"{caption}: {activities[i]}" for a, i in ids.items()},
                f"{caption}: {activities[default]}",
            ),
        }
    return rules


def _activity_name(column: str | None, names: Mapping[str, str], default: int, activities: Mapping[int, str]) -> Spec:
    """``activity_name``: the caption of the activity the column's value names (``names``), else of
    ``default``; for Other (99) the source's own value, as OCSF asks ("the event activity is not
    mapped: see the activity_name attribute, which contains a data source specific value"), and
    ``Other`` when the record has none."""
    if default != 99 or column is None:
        return lookup(column, names, activities[default]) if names else const(activities[default])
    own = col(column, "text")
    return first(lookup(column, names), own, const(activities[99])) if names else first(own, const(activities[99]))


#: The severity of an event whose table gives none (an activity or inventory event).
INFORMATIONAL: Rules = {"severity_id": const(1), "severity": const("Informational")}


def _finding_severity(mapping: TableMapping, plan: Plan) -> Rules:
    """A finding (category 2) of a table that has no severity is of Unknown severity (0): an
    activity is Informational, but a finding's severity is what nothing in the record says."""
    if plan.class_uid // 1000 != 2 or "severity_id" in plan.rules:
        return {}
    if mapping.common.get("severity_id") != INFORMATIONAL["severity_id"]:  # the table's own severity
        return {}
    return {"severity_id": const(0), "severity": const("Unknown")}


def _status_caption(class_uid: int, status: Spec) -> Spec:
    """``status``: the caption of what the ``status_id`` spec (a look-up) gives."""
    captions = CLASSES[class_uid][5]
    if not isinstance(status, Mapping) or "map" not in status:
        raise ValueError(f"a plan's status must be a look-up, not {status!r}")
    out = {k: v for k, v in status.items() if k not in ("map", "default")}
    out["map"] = {key: captions[value] for key, value in status["map"].items()}
    if status.get("default") is not None:
        out["default"] = captions[status["default"]]
    return out


def _json_columns(table: str) -> set[str]:
    # from the table registry's data: no struct is built for it (tables are built on first use)
    return {c for c, a in ANNOTATIONS[table].items() if a in ("_v.JsonText", "Any")}


def unmapped_value(table: str, column: str) -> Spec:
    """How a column that no OCSF attribute keeps is written under ``unmapped``."""
    if DOCUMENTED_TYPES[table][column] == "datetime":
        return dt(column)
    if column in _json_columns(table):
        return col(column, "json_value")
    return column


def build(mapping: TableMapping) -> Rules:
    """The rules of one table: every plan's, under its condition, and ``unmapped``."""
    table = mapping.table
    cols = DOCUMENTED_TYPES[table]
    classify = _classifier(mapping)
    conds = [_condition(mapping, i, classify) for i in range(len(mapping.plans))]
    if mapping.plans:
        PLANS[table] = (classify, tuple(conds))
    # per plan (and the Base Event last): its whole rules
    per_plan: list[Rules] = []
    for plan in mapping.plans:
        classified = {**_classification(plan.class_uid, plan), **_finding_severity(mapping, plan)}
        rules = _fitted({**mapping.common, **classified, **plan.rules}, cols)
        rules["metadata.profiles"] = const(list(plan.profiles))
        if plan.status is not None:
            rules["status_id"] = plan.status
            rules["status"] = _status_caption(plan.class_uid, plan.status)
        per_plan.append(rules)
    base = _fitted(mapping.common, cols)
    base |= _classification(BASE_EVENT, None)
    base["metadata.profiles"] = const(list(mapping.base_profiles))
    if "ActionType" in cols:  # an ActionType, but none of a class: activity Other; none at all: Unknown
        base["activity_id"] = first(col("ActionType", "present:99"), const(0))
        base["activity_name"] = first(col("ActionType", "text"), const("Unknown"))  # Other: the ActionType itself
        base["type_uid"] = first(col("ActionType", "present:99"), const(0))
        base["type_name"] = first(col("ActionType", "present_text:Base Event: Other"), const("Base Event: Unknown"))
    all_rules = [*per_plan, base]
    out: Rules = {}
    targets: list[str] = []
    for rules in all_rules:
        targets += [t for t in rules if t not in targets]
    for target in targets:
        specs = [rules.get(target) for rules in all_rules]
        if all(_same(s, specs[0]) for s in specs) and specs[0] is not None:
            out[target] = specs[0]
            continue
        branches = [(c, s if s is not None else const(None)) for c, s in zip(conds, specs[:-1], strict=True)]
        while branches and _same(branches[-1][1], specs[-1] if specs[-1] is not None else const(None)):
            branches.pop()  # the last plans that do what the Base Event does need no test
        out[target] = _chain(branches, specs[-1]) if branches else specs[-1]
    # unmapped: per column and plan, the column's value unless the plan keeps it whole
    kept = [_kept_plan(rules) for rules in all_rules]
    # a column kept only through ip, port or int: a value they reject stays in unmapped
    whole = [_kept_plan(rules, _WHOLE) for rules in all_rules]
    fallible = [_fallible_of(rules) for rules in all_rules]
    for column in cols:
        value = unmapped_value(table, column)
        answers: list[Spec] = []
        for k, w, f in zip(kept, whole, fallible, strict=True):
            how = k.get(column)
            gone: Spec = const(None)
            if how is not None and w.get(column) != how:
                names = f.get(column, set())
                # one fallible transform: its rejects; several (or none found): the value whole
                gone = col(column, f"rejected:{next(iter(names))}") if len(names) == 1 else value
            answers.append(value if how is None else gone if how == "" else when(how, gone, value))
        if all(_same(a, const(None)) for a in answers):
            continue
        branches = list(zip(conds, answers[:-1], strict=True))
        while branches and _same(branches[-1][1], answers[-1]):
            branches.pop()
        out[f"unmapped.{column}"] = _chain(branches, answers[-1]) if branches else answers[-1]
    return {t: s for t, s in out.items() if s is not None}


_LOSSLESS = frozenset({"ip", "iso", "epoch_ms", "int", "str", "text", "port", "json_value", "list", "logon_session"})
#: What keeps every value, the valid and the others: a value that ``ip``, ``port`` or ``int`` rejects is not kept.
_WHOLE = _LOSSLESS - frozenset(FALLIBLE)


def _kept(spec: Spec, truth: Mapping[str, bool], lossless: frozenset[str] = _LOSSLESS) -> set[str]:
    """Columns whose every valid value ``spec`` always keeps, given the conditions' values."""
    if isinstance(spec, str):
        return {spec}
    inner = _inner_rules(spec)
    if inner is not None:  # a list of one object of rules (objects_of)
        return set().union(*(_kept(s, truth, lossless) for s in inner.values()))
    if not isinstance(spec, Mapping) or "map" in spec:
        return set()
    names = spec.get("transform", ())
    if any(
        n not in lossless and not n.startswith("fingerprint:") for n in ([names] if isinstance(names, str) else names)
    ):
        return set()
    if "column" in spec:
        return {spec["column"]}
    if "first" in spec:
        return _kept(spec["first"][0], truth, lossless)
    if "collect" in spec:
        return set().union(*(_kept(item, truth, lossless) for item in spec["collect"]))
    if "if" in spec:
        branch = spec["then"] if truth.get(spec["if"], False) else spec.get("else")
        return _kept(branch, truth, lossless) if branch is not None else set()
    return set()


def _fallible_of(rules: Mapping[str, Spec]) -> dict[str, set[str]]:
    """Column -> the fallible transforms (``ip``, ``port``, ``int``) that ``rules`` apply to it."""
    out: dict[str, set[str]] = {}

    def walk(spec: Spec) -> None:
        if not isinstance(spec, Mapping):
            return
        inner = _inner_rules(spec)
        if inner is not None:
            for item in inner.values():
                walk(item)
            return
        names = spec.get("transform", ())
        names = [names] if isinstance(names, str) else list(names)
        if "column" in spec and isinstance(spec["column"], str):
            out.setdefault(spec["column"], set()).update(n for n in names if n in FALLIBLE)
        for key in ("first", "collect"):
            for item in spec.get(key, ()):
                walk(item)
        for key in ("then", "else"):
            if spec.get(key) is not None:
                walk(spec[key])

    for spec in rules.values():
        walk(spec)
    return out


def _has_conditions(rules: Mapping[str, Spec]) -> list[str]:
    found = {c for spec in rules.values() for c in conditions_of(spec)}
    for spec in rules.values():
        inner = _inner_rules(spec)
        if inner is not None:
            found |= set(_has_conditions(inner))
    return sorted(c for c in found if c.startswith("has "))


def _kept_plan(rules: Mapping[str, Spec], lossless: frozenset[str] = _LOSSLESS) -> dict[str, str]:
    """Column -> ``""`` when the rules keep it whole always, or the ``has`` condition it is kept under.

    Other conditions (``inbound``) count when a column is kept whichever way they go.
    """
    rules = {t: spec for t, spec in rules.items() if not t.startswith("unmapped")}
    # the rules without conditions keep the same columns whatever the record: worked out once
    conditional = [spec for spec in rules.values() if _conditional(spec)]
    fixed = set().union(*(_kept(spec, {}, lossless) for spec in rules.values() if not _conditional(spec)))
    conds = sorted({c for spec in conditional for c in conditions_of(spec)})
    guards = _has_conditions(rules)
    others = [c for c in conds if not c.startswith("has ")]
    out: dict[str, str] = dict.fromkeys(fixed, "")
    guard_of: dict[str, str] = {}
    for guard_values in ([False], [True]):
        found: set[str] | None = None
        for values in itertools.product((False, True), repeat=len(others)):
            truth = dict(zip(others, values, strict=True)) | dict.fromkeys(guards, guard_values[0])
            now = set().union(*(_kept(spec, truth, lossless) for spec in conditional))
            found = now if found is None else found & now
        if guard_values[0] and found:
            guard_of = _guards(rules)
        for column in found or ():
            if column not in out:
                out[column] = "" if not guard_values[0] else guard_of[column]
    return out


def _conditional(spec: Spec) -> bool:
    """Whether what ``spec`` keeps depends on a condition (an ``if``, or a list of objects with one)."""
    if not isinstance(spec, Mapping):
        return False
    if "if" in spec or _inner_rules(spec) is not None:
        return True
    return any(_conditional(item) for key in ("first", "collect") for item in spec.get(key, ()))


def _inner_rules(spec: Spec) -> dict[str, Spec] | None:
    fn = spec.get("call") if isinstance(spec, Mapping) else None
    found = getattr(fn, "ocsf_rules", None)
    return found if isinstance(found, dict) else None


def _guards(rules: Mapping[str, Spec]) -> dict[str, str]:
    """Column -> the ``has`` condition under which ``rules`` keep it (inner object rules included)."""
    out: dict[str, str] = {}
    for spec in rules.values():
        inner = _inner_rules(spec)
        if inner is not None:
            for column, guard in _guards(inner).items():
                out.setdefault(column, guard)
            continue
        guard = str(spec.get("if", "")) if isinstance(spec, Mapping) else ""
        if guard.startswith("has "):
            for column in _kept(spec["then"], {}):
                out.setdefault(column, guard)
    return out



def _fitted(rules: Mapping[str, Spec], cols: Mapping[str, str]) -> Rules:
    return {t: f for t, spec in rules.items() if (f := fit(spec, cols)) is not None}


def _same(a: Spec | None, b: Spec | None) -> bool:
    return a is b or a == b


__all__ = [
    "BASE_EVENT",
    "PRODUCT",
    "VENDOR",
    "VERSION",
    "Plan",
    "TableMapping",
    "build",
    "has",
    "guarded",
    "file_object",
    "objects_of",
    "fit",
]
