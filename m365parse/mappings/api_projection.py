"""What the rules of an API kind read of its items (see :meth:`m365parse.RuleSet.projection`).

The rules of the alert, incident and hunting-row kinds (:mod:`.api_rules`) are
written over JSON paths below the item.  :func:`paths_read` gives the paths a
rule set's rules of a kind read, or None when one of them needs the whole item
(``Item``, ``Call``): what the decode of that kind may leave out is then nothing.
"""

from __future__ import annotations

from typing import Any

from .api_rules import Apply, Call, Collect, Const, First, Func, Item, Text, _children, kind_rules

__all__ = ["paths_read"]


def _read(spec: Any) -> set[str] | None:
    if isinstance(spec, str):
        return {spec}
    if isinstance(spec, (Call, Item)) or not isinstance(spec, (Const, First, Collect, Func, Apply, Text)):
        return None  # the whole item, or a spec this module does not know: everything
    read: set[str] = set()
    for child in _children(spec):
        more = _read(child)
        if more is None:
            return None
        read |= more
    return read


def paths_read(rule_set_name: str, kind: str) -> frozenset[str] | None:
    """The JSON paths (``"evidence[*].ipAddress"``) that the rules of ``kind`` in the built-in
    rule set ``rule_set_name`` read; None when they read the whole item, or have no rules."""
    rules = kind_rules(rule_set_name, kind)
    if rules is None:
        return None
    read: set[str] = set()
    for spec in rules.values():
        more = _read(spec)
        if more is None:
            return None
        read |= more
    return frozenset(read)
