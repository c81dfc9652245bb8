"""The walk of the nested kinds' paths (Graph alerts and incidents) gives what each spec gives.

The generated readers make a path's text only when a datetime or struct is stored, read a
member declared as one struct type (or a list of one) inline, and keep only the first value
that is not empty of a ``[*]`` path that Firsts alone read.  Each is checked against the
spec-by-spec reference (``api_rules.evaluate``) on generated alerts, on alerts whose nested
values were changed after decoding (a dict, a struct of another type, None items), and with
rules of a user's own that read one ``[*]`` path both through a First and otherwise.
"""

from __future__ import annotations

import copy
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import m365parse
from m365parse.api.graph import LoggedOnUser, UserAccount
from m365parse.mappings.api_rules import (
    Apply,
    Collect,
    Const,
    First,
    Func,
    Text,
    compile_rules,
    exact_text_of,
    normalizer_for,
)

from .test_api_rules_compiled import RULE_SETS, SAMPLES, _expected, _plain, _rules


def _alerts(count: int) -> list[m365parse.Record]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.api_shapes import encode

    return [r for unit in encode("graph", count, 50, seed=5) for r in m365parse.decode(unit).records]


def _same(got: Any, want: Any) -> None:
    assert json.dumps(_plain(got), default=str) == json.dumps(_plain(want), default=str)


def _changed() -> list[m365parse.Record]:
    """Alerts whose nested values were changed after decoding, every way the readers branch on."""
    records = _alerts(12)
    when = datetime(2031, 5, 6, 7, 8, 9, 10, tzinfo=timezone.utc)
    for i, record in enumerate(records):
        evidence = record.properties.evidence
        assert evidence
        users = [e for e in evidence if getattr(e, "userAccount", None) is not None]
        devices = [e for e in evidence if getattr(e, "loggedOnUsers", None)]
        if i % 6 == 0 and users:  # a dict where a UserAccount was declared
            users[0].userAccount = {"accountName": "from-a-dict", "userPrincipalName": "d@x"}
        if i % 6 == 1 and users:  # a struct of another type
            users[0].userAccount = LoggedOnUser(accountName="other-type")
        if i % 6 == 2 and devices:  # None, a dict and a struct of another type among the items
            devices[0].loggedOnUsers = [None, {"accountName": "dict-user"}, UserAccount(accountName="ua"),
                                        LoggedOnUser(accountName="")]
        if i % 6 == 3:  # None and a dict among the evidence items, a datetime deep below
            evidence.insert(0, None)
            evidence.append({"ipAddress": "192.0.2.9", "deviceDnsName": "dict-host", "createdDateTime": "text"})
            if devices:
                devices[0].createdDateTime = when
        if i % 6 == 4 and devices:  # a member that is not a list where a list was declared
            devices[0].loggedOnUsers = "not a list"
        if i % 6 == 5:
            record.properties.createdDateTime = when
            record.properties.evidence = []
    return records


@pytest.mark.parametrize("rule_set", RULE_SETS)
def test_alerts_changed_after_decoding_normalize_as_each_spec_says(rule_set: str) -> None:
    nested = not rule_set.startswith("jsa")
    for record in _changed() + _alerts(60):
        fn = normalizer_for(rule_set, record.table, nested)
        assert fn is not None
        _same(fn(record), _expected(_rules(rule_set, record.table), record, nested))


def _text(*values: Any) -> str:
    """the values as text, datetimes exact"""
    def text(value: Any) -> Any:
        return [text(v) for v in value] if isinstance(value, list) else exact_text_of(value)

    return "|".join(json.dumps(text(v), default=str) for v in values)


_DEEP: dict[str, Any] = {
    # [*] paths read by Firsts only (their first value kept) and by other specs too
    "a.first_only": First.of("evidence[*].deviceDnsName", "evidence[*].hostName"),
    "a.first_and_collect": First.of("evidence[*].ipAddress", "evidence[*].lastIpAddress"),
    "a.collected": Collect.of("evidence[*].ipAddress"),
    "a.first_of_nested": First.of("evidence[*].loggedOnUsers[*].accountName", "evidence[*].userAccount.accountName"),
    "a.func_of_star": Func.of(_text, "evidence[*].userAccount.accountName"),
    # datetimes below lists: their exact text from the path made when they are stored
    "t.deep_first": First.of("evidence[*].createdDateTime"),
    "t.deep_all": Collect.of("evidence[*].createdDateTime", "comments[*].createdDateTime"),
    "t.root": "createdDateTime",
    "t.func": Func.of(_text, "createdDateTime", "evidence[*].createdDateTime"),
    # a struct value below a list: plain data from its path
    "s.image": First.of("evidence[*].imageFile"),
    "s.users": Collect.of("evidence[*].userAccount"),
    "s.text": Text(First.of("evidence[*].processId")),
    "s.apply": Apply(First.of("evidence[*].ipInterfaces[*]", "evidence[*].ipAddress"), ("ip",)),
    "s.indexed": First.of("evidence[0].createdDateTime", "title"),
    "s.const": Const("x"),
    # lists whose items are stored: read by a First only, and otherwise
    "l.collected": Collect.of("mitreTechniques[*]", "evidence[*].detailedRoles[*]", "evidence[*].ipInterfaces[*]"),
    "l.first": First.of("evidence[*].roles[*]", "categories[*]"),
}


def test_a_users_rules_reading_deep_paths_in_every_way() -> None:
    records = _changed() + _alerts(80)
    for nested in (False, True):
        fn = compile_rules(_DEEP, nested)
        for record in records:
            _same(fn(record), _expected(_DEEP, record, nested))


def test_first_only_paths_keep_the_first_value_that_is_not_empty() -> None:
    page = json.loads(next(p for p in SAMPLES if p.name == "GraphAlertPage.json").read_bytes())
    alert = page["value"][0]
    evidence = [{"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": address}
                for address in ("", "", "198.51.100.1", "198.51.100.2")]
    item = copy.deepcopy(alert)
    item["evidence"] = evidence
    (record,) = m365parse.decode(json.dumps({"value": [item]})).records
    rules = {"ip": First.of("evidence[*].ipAddress"), "all": Collect.of("evidence[*].lastIpAddress")}
    for nested in (False, True):
        assert compile_rules(rules, nested)(record) == {"ip": "198.51.100.1"}


def test_a_struct_whose_annotations_do_not_resolve_is_read_as_any_value() -> None:
    import msgspec

    from m365parse.api.records import GraphAlertRecord

    class Odd(msgspec.Struct, kw_only=True):
        userAccount: NoSuchType | None = None  # type: ignore[name-defined]  # noqa: F821
        title: str | None = None

    with pytest.raises(NameError):
        msgspec.structs.fields(Odd)
    record = GraphAlertRecord(properties=Odd(userAccount={"accountName": "x"}, title="t"))
    rules = {"u": "userAccount.accountName", "t": "title", "f": First.of("userAccount.accountName")}
    for nested in (False, True):
        assert compile_rules(rules, nested)(record) == {"u": "x", "t": "t", "f": "x"}
