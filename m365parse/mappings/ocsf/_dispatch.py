"""One compiled function per plan of a table: a record is classified once, then normalized without plan tests.

The ``"ocsf"`` rules of a table with several plans are one rule per target, a
chain of ``if <plan condition>`` over the plans (:func:`._build.build`): the
rules say exactly what a record of each class gets, and any rule set derived
from ``"ocsf"`` compiles them as they are.  The built-in set compiles them once
per plan instead: the rules with every plan condition decided (true for that
plan, false for the others), so that a record pays for one classification and
for its own plan's fields only.  What comes out is the same event, key order
included (a test compares both ways on every sample).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...record import Record, UnknownRecord
from ...tables import TABLES
from ..registry import Normalizer, RuleSet, Spec
from ..specs import const

#: Table -> (classify, the names of its plans' conditions in plan order); filled by ``_build.build``.
PLANS: dict[str, tuple[Callable[[Record], int], tuple[str, ...]]] = {}

_EXTRAS = ("transform", "map", "default")


def decide(spec: Spec, truth: Mapping[str, bool]) -> Spec:
    """``spec`` with every ``if`` on a condition of ``truth`` replaced by the branch it takes.

    An ``if`` that also has a transform or a look-up keeps them, around the branch
    (a one-item ``first``, or a ``const`` None when the branch is absent).
    """
    if not isinstance(spec, Mapping):
        return spec
    if "if" in spec:
        then = decide(spec["then"], truth)
        other = decide(spec["else"], truth) if spec.get("else") is not None else None
        extras = {k: spec[k] for k in _EXTRAS if k in spec}
        name = spec["if"]
        if name not in truth:
            out = {k: v for k, v in spec.items() if k != "else"}
            out["then"] = then
            if other is not None:
                out["else"] = other
            return out
        branch = then if truth[name] else other
        if not extras:
            return branch if branch is not None else const(None)
        return {"first": [branch], **extras} if branch is not None else {"const": None, **extras}
    for key in ("first", "collect"):
        if key in spec:
            return {**spec, key: [decide(item, truth) for item in spec[key]]}
    return spec


class OcsfRuleSet(RuleSet):
    """The built-in ``"ocsf"`` set: a table with plans is compiled once per plan (see the module's docstring)."""

    def normalizer(self, record_type: type[Record], table: str) -> Normalizer:
        """The compiled function of ``table``: a dispatch to its plans' functions when it has plans."""
        fn = self._compiled.get(record_type)
        if fn is not None:
            return fn
        found = PLANS.get(table)
        if found is None or record_type is UnknownRecord or TABLES.get(table) is None or table not in self._rules:
            return super().normalizer(record_type, table)
        from ...api.records import ApiRecord  # the polled APIs' kinds have rules of their own (api_rules)

        if issubclass(record_type, ApiRecord):
            return super().normalizer(record_type, table)
        classify, names = found
        rules = self.rules_for(table)
        functions = []
        for index in range(len(names) + 1):
            truth = {name: i == index for i, name in enumerate(names)}
            decided: dict[str, Any] = {}
            for target, spec in rules.items():
                one = decide(spec, truth)
                decided[target] = one if one is not None else const(None)
            part = RuleSet(f"{self.name}:{table}#{index}", {table: decided}, nested=self.nested)
            functions.append(part.normalizer(record_type, table))
        plans = tuple(functions)

        def normalize(record: Record) -> dict[str, Any]:
            return plans[classify(record)](record)

        normalize.__doc__ = "\n".join(f"# plan {i}\n{f.__doc__}" for i, f in enumerate(plans))
        self._compiled[record_type] = normalize
        return normalize


__all__ = ["PLANS", "OcsfRuleSet", "decide"]
