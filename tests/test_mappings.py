"""The mapping registry: rule language, validation, compilation, plugins."""

from __future__ import annotations

import importlib
import json
import pickle
from datetime import datetime, timezone
from typing import Any

import pytest

import m365parse
from m365parse import ExactDatetime, MappingError, RuleSet, registry
from m365parse.mappings.registry import ALL
from m365parse.mappings.transforms import TRANSFORMS, transform

from .conftest import body, record

# the module, not the registry object that m365parse.mappings.registry names
registry_module = importlib.import_module("m365parse.mappings.registry")


def _rec(table: str = "DeviceNetworkEvents", **props: Any) -> m365parse.Record:
    batch = m365parse.decode(body(record(table, **props)))
    assert batch.errors == []
    return batch.records[0]


def test_builtin_rule_sets_are_listed() -> None:
    assert "jsa" in registry.names()
    assert "jsa" in registry
    assert registry.get("jsa").name == "jsa"
    assert list(registry) == registry.names()


def test_every_spec_kind() -> None:
    rs = RuleSet(
        "kinds",
        {
            "*": {
                "column": "DeviceName",
                "shorthand": "ActionType",
                "first": {"first": ["RemoteUrl", "RemoteIP"]},
                "envelope": {"envelope": "tenantId"},
                "table": {"envelope": "table"},
                "const": {"const": "Microsoft"},
                "collect": {"collect": ["LocalIP", {"column": "RemoteIP", "transform": "ip"}, "LocalIP"]},
                "when": {"if": "inbound", "then": {"const": "in"}, "else": {"const": "out"}},
                "call": {"call": lambda r: r.table.lower()},
                "bare_call": lambda r: 42,
                "chain": {"column": "DeviceName", "transform": ["upper", "lower"]},
                "empty": {"const": ""},
                "missing": "RemoteUrl",
            }
        },
    )
    rec = _rec(DeviceName="Host-1", ActionType="ConnectionSuccess", RemoteIP="-", LocalIP="10.0.0.5")
    assert m365parse.normalize(rec, rs) == {
        "column": "Host-1",
        "shorthand": "ConnectionSuccess",
        "first": "-",
        "envelope": record()["tenantId"],
        "table": "DeviceNetworkEvents",
        "const": "Microsoft",
        "collect": ["10.0.0.5"],
        "when": "out",
        "call": "devicenetworkevents",
        "bare_call": 42,
        "chain": "host-1",
    }


def test_table_rules_override_and_none_removes() -> None:
    rs = RuleSet(
        "override",
        {"*": {"a": {"const": 1}, "b": {"const": 2}}, "DeviceNetworkEvents": {"a": {"const": 10}, "b": None}},
    )
    assert m365parse.normalize(_rec(), rs) == {"a": 10}
    assert m365parse.normalize(_rec("DeviceEvents"), rs) == {"a": 1, "b": 2}


def test_nested_output() -> None:
    rs = RuleSet("nested", {"*": {"host.name": "DeviceName", "host.os.family": {"const": "windows"}, "top": {"const": 1}}}, nested=True)
    assert m365parse.normalize(_rec(DeviceName="h"), rs) == {"host": {"name": "h", "os": {"family": "windows"}}, "top": 1}


def test_unknown_tables_get_the_star_rules_from_the_dict() -> None:
    rs = RuleSet("unknown", {"*": {"name": "DeviceName", "when": "Timestamp"}, "DeviceEvents": {"x": {"const": 1}}})
    rec = _rec("FutureBehaviorInfo", DeviceName="h", Timestamp="2024-05-14T08:41:56.5950497Z")
    out = m365parse.normalize(rec, rs)
    assert out["name"] == "h"
    assert isinstance(out["when"], ExactDatetime) and out["when"].ns == 1715676116_595049700


def test_datetime_columns_give_exact_datetimes() -> None:
    rec = _rec(Timestamp="2024-05-14T08:41:56.5950497Z")
    out = m365parse.normalize(rec, "jsa")
    when = out["DeviceTime"]
    assert isinstance(when, ExactDatetime) and isinstance(when, datetime)
    assert when == rec.properties.Timestamp
    assert when.tzinfo is not None
    assert when.ns == 1715676116_595049700
    assert when.isoformat_exact() == "2024-05-14T08:41:56.5950497Z"
    again = pickle.loads(pickle.dumps(when))
    assert again == when and again.ns == when.ns
    assert ExactDatetime.from_datetime(datetime(2020, 1, 1, tzinfo=timezone.utc)).ns == 1577836800 * 10**9


def test_normalize_batch_skips_errors_and_keeps_order() -> None:
    batch = m365parse.decode(body(record(ActionType="A"), "bad", record("DeviceEvents", ActionType="B")))
    out = m365parse.normalize_batch(batch, "jsa")
    assert [o["EventID"] for o in out] == ["A", "B"]
    assert m365parse.normalize_batch(batch.records, "jsa") == out


def test_compiled_once_per_table() -> None:
    rs = RuleSet("once", {"*": {"a": "DeviceName"}})
    rec = _rec()
    m365parse.normalize(rec, rs)
    fn = rs._compiled[type(rec)]
    m365parse.normalize(rec, rs)
    assert rs._compiled[type(rec)] is fn
    assert "def normalize(record)" in (fn.__doc__ or "")


# --- validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "words"),
    [
        ({"NoSuchTable": {"a": "DeviceName"}}, "unknown table 'NoSuchTable'"),
        ({"DeviceEvents": {"a": "NoSuchColumn"}}, "unknown column 'NoSuchColumn' of table DeviceEvents"),
        ({"*": {"a": "NoSuchColumn"}}, "unknown column 'NoSuchColumn' of any table"),
        ({"DeviceEvents": {"a": {"column": "FileName", "transform": "nope"}}}, "unknown transform 'nope'"),
        ({"DeviceEvents": {"a": {"column": "FileName", "transform": ["ip", 3]}}}, "transform names are strings"),
        ({"DeviceEvents": {"a": {"if": "never", "then": "FileName"}}}, "unknown condition 'never'"),
        ({"DeviceEvents": {"a": {"if": "inbound"}}}, "'if' needs 'then'"),
        ({"DeviceEvents": {"a": {"envelope": "nope"}}}, "unknown envelope key 'nope'"),
        ({"DeviceEvents": {"a": {"first": []}}}, "'first' takes a non-empty list"),
        ({"DeviceEvents": {"a": {"collect": "FileName"}}}, "'collect' takes a non-empty list"),
        ({"DeviceEvents": {"a": {"column": "FileName", "const": 1}}}, "exactly one of"),
        ({"DeviceEvents": {"a": {"colum": "FileName"}}}, "unknown key 'colum'"),
        ({"DeviceEvents": {"a": {"call": 5}}}, "'call' takes a callable"),
        ({"DeviceEvents": {"a": 5}}, "a rule must be a column name"),
        ({"DeviceEvents": {"": "FileName"}}, "non-empty strings"),
        ({"DeviceEvents": {"a": {"first": ["FileName", {"column": "Nope"}]}}}, "unknown column 'Nope'"),
    ],
)
def test_invalid_rules_are_refused_when_created(rules: Any, words: str) -> None:
    with pytest.raises(MappingError) as info:
        RuleSet("bad", rules)
    assert words in str(info.value)
    assert "rule set 'bad'" in str(info.value)
    assert isinstance(info.value, m365parse.M365ParseError)


def test_error_names_the_rule() -> None:
    with pytest.raises(MappingError) as info:
        RuleSet("named", {"DeviceEvents": {"Target": "Nope"}})
    err = info.value
    assert (err.rule_set, err.table, err.field) == ("named", "DeviceEvents", "Target")


def test_register_get_unregister_and_duplicates() -> None:
    rs = RuleSet("test-register", {"*": {"a": "DeviceName"}})
    registry.register(rs)
    try:
        assert registry.get("test-register") is rs
        with pytest.raises(MappingError, match="already registered"):
            registry.register(RuleSet("test-register", {}))
        with pytest.raises(MappingError, match="already registered"):
            registry.register(RuleSet("jsa", {}))
    finally:
        registry.unregister("test-register")
    with pytest.raises(MappingError, match="no rule set named 'test-register'"):
        registry.get("test-register")
    with pytest.raises(MappingError, match="no rule set"):
        m365parse.normalize(_rec(), "test-register")
    with pytest.raises(MappingError, match="expected a RuleSet"):
        registry.register({"*": {}})  # type: ignore[arg-type]


def test_derive_overrides_single_fields() -> None:
    derived = registry.get("jsa").derive("jsa-custom", {"*": {"Severity": None, "Vendor": {"const": "Microsoft"}}})
    rec = _rec("AlertInfo", Title="T", Severity="High")
    out = m365parse.normalize(rec, derived)
    assert out["Vendor"] == "Microsoft" and "Severity" not in out
    assert m365parse.normalize(rec, "jsa")["Severity"] == "High"
    with pytest.raises(MappingError):
        registry.get("jsa").derive("broken", {"DeviceEvents": {"x": "Nope"}})


def test_readme_override_example() -> None:
    # The example in README.md, section "Normalizing": keep it in step.
    from m365parse import registry as reg

    mine = reg.get("jsa").derive(
        "jsa-mine",
        {
            "*": {"LogSourceIdentifier": {"const": "defender-eu"}},
            "DeviceProcessEvents": {"EventID": {"first": ["ActionType", "FileName"]}},
        },
    )
    reg.register(mine)
    try:
        rec = _rec("DeviceProcessEvents", FileName="cmd.exe")
        out = m365parse.normalize(rec, "jsa-mine")
        assert out["LogSourceIdentifier"] == "defender-eu"
        assert out["EventID"] == "cmd.exe"
    finally:
        reg.unregister("jsa-mine")


# --- generated code is safe from the names in the rule data -----------------------


INJECTIONS = [
    'x"] = 1; import os; os.system("echo pwned") #',
    "__import__('os').system('echo pwned')",
    "a\nimport os\nos._exit(3)\n",
    "{}}}; raise SystemExit",
    "'''",
]


@pytest.mark.parametrize("name", INJECTIONS)
def test_target_names_cannot_inject_code(name: str, capfd: pytest.CaptureFixture[str]) -> None:
    rs = RuleSet(f"inject-{hash(name)}", {"*": {name: {"const": name}, "ok": "DeviceName"}})
    out = m365parse.normalize(_rec(DeviceName="h"), rs)
    assert out == {name: name, "ok": "h"}
    assert "pwned" not in capfd.readouterr().out


@pytest.mark.parametrize("name", INJECTIONS)
def test_column_and_envelope_names_cannot_inject_code(name: str) -> None:
    with pytest.raises(MappingError):
        RuleSet("inject-col", {"*": {"a": {"column": name}}})
    with pytest.raises(MappingError):
        RuleSet("inject-env", {"*": {"a": {"envelope": name}}})
    with pytest.raises(MappingError):
        RuleSet("inject-transform", {"*": {"a": {"column": "DeviceName", "transform": name}}})
    rs = RuleSet("inject-get", {"*": {"a": {"column": "AdditionalFields", "transform": f"get:{name}"}}})
    fields = json.dumps({name: "v"})
    assert m365parse.normalize(_rec(AdditionalFields=fields), rs) == {"a": "v"}


def test_unknown_table_columns_from_rules_are_never_code() -> None:
    rs = RuleSet("inject-unknown", {"*": {"a": "DeviceName"}})
    rec = _rec("FutureBehaviorInfo", **{"DeviceName": "h", 'x"); import os #': 1})
    assert m365parse.normalize(rec, rs) == {"a": "h"}


# --- plugins ----------------------------------------------------------------------


class _EntryPoint:
    def __init__(self, name: str, obj: Any) -> None:
        self.name = name
        self.value = f"plugin:{name}"
        self._obj = obj

    def load(self) -> Any:
        if isinstance(self._obj, Exception):
            raise self._obj
        return self._obj


def test_entry_point_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = registry_module.Registry()
    shipped = RuleSet("vendor-x", {"*": {"a": "DeviceName"}})
    factory = lambda: RuleSet("vendor-y", {"*": {"b": "DeviceName"}})  # noqa: E731
    monkeypatch.setattr(registry_module, "_entry_points", lambda: [_EntryPoint("x", shipped), _EntryPoint("y", factory)])
    assert reg.names() == ["vendor-x", "vendor-y"]
    assert reg.get("vendor-x") is shipped


@pytest.mark.parametrize("obj", [RuntimeError("boom"), {"not": "a rule set"}])
def test_broken_plugins_raise_a_clear_error(monkeypatch: pytest.MonkeyPatch, obj: Any) -> None:
    reg = registry_module.Registry()
    monkeypatch.setattr(registry_module, "_entry_points", lambda: [_EntryPoint("broken", obj)])
    with pytest.raises(MappingError, match="entry point 'broken'"):
        reg.names()


# --- transforms -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("ip", "10.0.0.1", "10.0.0.1"),
        ("ip", "-", None),
        ("ip", "", None),
        ("ip", "::ffff:10.0.0.1", "10.0.0.1"),
        ("ip", "2001:0DB8::1", "2001:db8::1"),
        ("ip", "fe80:0011:2233:4455:0000:0000:0000:0001", "fe80:11:2233:4455::1"),
        ("ip", "::ffff:10.0.0.1", "10.0.0.1"),
        ("ip", "999.1.1.1", None),
        ("ip", "C:\\Windows", None),
        ("ip", ["-", "", "192.0.2.9"], "192.0.2.9"),
        ("ip", 5, None),
        ("ipv4", "2001:db8::1", None),
        ("ipv6", "10.0.0.1", None),
        ("ipv6", "2001:db8::1", "2001:db8::1"),
        ("split", "a; b, c;;", ["a", "b", "c"]),
        ("split", '["x", "y"]', ["x", "y"]),
        ("split", "", None),
        ("first", ["a", "b"], "a"),
        ("first", [], None),
        ("first_ip", "-; 192.0.2.1, 10.0.0.1", "192.0.2.1"),
        ("ip_list", "192.0.2.1; -; 192.0.2.1, ::ffff:10.0.0.1", ["192.0.2.1", "10.0.0.1"]),
        ("mitre_ids", '["Input Capture (T1056)", "Phishing (T1566.001)", "x"]', ["T1056", "T1566.001"]),
        ("mitre_ids", "", None),
        ("mitre_names", '["Input Capture (T1056)"]', ["Input Capture"]),
        ("json", '{"a": "[1]"}', {"a": [1]}),
        ("json", "{broken", None),
        ("lower", "ABC", "abc"),
        ("int", "42", 42),
        ("int", "4x", None),
        ("int", "\u00b2", None),  # a digit to isdigit(), not to int()
        ("int", "+-5", None),
        ("int", " -7 ", -7),
        ("str", 5, "5"),
        ("mac", "00:11:22:aa:bb:cc", "00-11-22-AA-BB-CC"),
        ("mac", "001122AABBCC", "00-11-22-AA-BB-CC"),
        ("mac", "nope", None),
        ("after_backslash", "CONTOSO\\jay", "jay"),
        ("before_backslash", "CONTOSO\\jay", "CONTOSO"),
        ("basename", "C:\\Windows\\System32\\cmd.exe", "cmd.exe"),
        ("get:direction", '{"direction": "In"}', "In"),
        ("get:direction", "not json", None),
    ],
)
def test_transforms(name: str, value: Any, expected: Any) -> None:
    assert transform(name)(value) == expected


def test_transforms_are_total() -> None:
    odd = [None, "", "-", 0, -1, 2**70, 1.5, True, [], {}, [None], {"a": None}, "\x00", "[" * 2000, "{\"$ref\": \"1\"}"]
    odd += ["\u00b2", "+-5", "\u0663", "\u2167"]  # superscript two, two signs, Arabic-Indic three, Roman eight
    for name in TRANSFORMS:
        fn = transform(name)
        for value in odd:
            fn(value)  # never raises


def test_inbound_condition() -> None:
    from m365parse.mappings.transforms import CONDITIONS

    inbound = CONDITIONS["inbound"]
    assert inbound(_rec(ActionType="InboundConnectionAccepted"))
    assert inbound(_rec("DeviceEvents", ActionType="FirewallInboundConnectionBlocked"))
    out = m365parse.normalize(
        _rec("DeviceEvents", ActionType="FirewallInboundConnectionBlocked", RemoteIP="203.0.113.9", LocalIP="10.0.0.5"),
        "jsa",
    )
    assert (out["SourceIP"], out["DestinationIP"]) == ("203.0.113.9", "10.0.0.5")
    assert inbound(_rec(ActionType="ConnectionSuccess", AdditionalFields='{"direction":"In"}'))
    assert inbound(_rec(ActionType="ConnectionSuccess", AdditionalFields={"Direction": "In"}))
    assert not inbound(_rec(ActionType="ConnectionSuccess", AdditionalFields='{"direction":"Out"}'))
    assert not inbound(_rec(ActionType="ConnectionSuccess"))


def test_jsa_doc_is_current() -> None:
    from pathlib import Path

    from m365parse.mappings.jsa import mapping_table

    doc = Path(m365parse.__file__).parent / "mappings" / "JSA.md"
    assert doc.read_text(encoding="utf-8") == mapping_table(), "regenerate m365parse/mappings/JSA.md"


def test_iso_of_a_naive_datetime_is_utc() -> None:
    naive = datetime(2024, 5, 14, 8, 41, 56, 595050)
    assert transform("iso")(naive) == "2024-05-14T08:41:56.59505Z"


def test_table_rules_given_as_functions_are_built_on_first_use() -> None:
    calls: list[str] = []

    def process_rules() -> dict[str, Any]:
        calls.append("DeviceProcessEvents")
        return {"Who": "AccountName"}

    rs = RuleSet("lazy-test", {ALL: {"When": "Timestamp"}, "DeviceProcessEvents": process_rules})
    assert calls == []
    derived = rs.derive("lazy-test+", {"DeviceProcessEvents": {"What": "FileName"}})
    assert calls == []
    rec = _rec("DeviceProcessEvents", AccountName="avery", FileName="a.exe")
    assert rs.normalizer(type(rec), "DeviceProcessEvents")(rec)["Who"] == "avery"
    assert calls == ["DeviceProcessEvents"]
    assert derived.rules_for("DeviceProcessEvents") == {"When": "Timestamp", "Who": "AccountName", "What": "FileName"}
    assert calls == ["DeviceProcessEvents"]  # built once, shared by the derived set


def test_table_rules_given_as_functions_are_checked_when_built() -> None:
    rs = RuleSet("lazy-bad", {"DeviceProcessEvents": lambda: {"Who": "NoSuchColumn"}})
    with pytest.raises(MappingError, match="NoSuchColumn"):
        rs.rules_for("DeviceProcessEvents")
    with pytest.raises(MappingError, match="NoSuchColumn"):  # still bad the second time
        rs.validate()
    assert "DeviceProcessEvents" in rs.tables()


# --- built-in rule sets built on first use ---------------------------------------------


def test_import_builds_no_rule_set_and_reads_no_entry_points() -> None:
    import subprocess
    import sys

    code = (
        "import sys, m365parse\n"
        "lazy = ['m365parse.mappings.ecs', 'm365parse.mappings.jsa', 'm365parse.mappings.transforms', 'importlib.metadata',\n"
        "        'm365parse.mappings.ocsf', 'm365parse.mappings.ocsf_transforms', 'm365parse.mappings.ocsf._build',\n"
        "        'm365parse.mappings.ocsf._schema', 'm365parse.mappings.api_ocsf']\n"
        "print(sorted(m for m in lazy if m in sys.modules))\n"
        "body = b'{\"records\": [{\"category\": \"AdvancedHunting-DeviceInfo\", \"properties\": {}}]}'\n"
        "m365parse.normalize(m365parse.decode(body).records[0], 'jsa')\n"
        "print(sorted(m for m in lazy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "['m365parse.mappings.jsa', 'm365parse.mappings.transforms']"


def test_built_in_names_are_listed_and_taken_before_they_are_built() -> None:
    reg = registry_module.Registry()
    built: list[str] = []

    def load() -> RuleSet:
        built.append("x")
        return RuleSet("lazy-x", {"*": {"a": "DeviceName"}})

    reg.register_lazy("lazy-x", load)
    assert "lazy-x" in reg.names() and not built
    with pytest.raises(MappingError, match="already registered"):
        reg.register(RuleSet("lazy-x", {"*": {"b": "DeviceName"}}))
    assert reg.get("lazy-x") is reg.get("lazy-x") and built == ["x"]
    reg.register_lazy("wrong-name", load)
    with pytest.raises(MappingError, match="did not load"):
        reg.get("wrong-name")
    reg.unregister("wrong-name")
    assert reg.names() == ["lazy-x"]


def test_the_shipped_rule_sets_are_all_listed() -> None:
    assert {"jsa", "ecs", "ecs+original", "ecs+severity", "ecs+severity+original"} <= set(m365parse.registry.names())
    assert m365parse.registry.get("ecs+original").name == "ecs+original"


def test_a_column_read_in_several_branches_is_computed_once_per_record() -> None:
    # RemoteIP | ip and LocalIP | ip in the then/else of three fields: each read
    # once at the top level and shared, with the same results as before.
    rules = {
        "Src": {"if": "inbound", "then": {"column": "RemoteIP", "transform": "ip"}, "else": {"column": "LocalIP", "transform": "ip"}},
        "Dst": {"if": "inbound", "then": {"column": "LocalIP", "transform": "ip"}, "else": {"column": "RemoteIP", "transform": "ip"}},
        "Peer": {"if": "inbound", "then": {"column": "RemoteIP", "transform": ["ip", "ipv4"]}},
        "Lazy": {"first": ["DeviceName", {"column": "RemoteIP", "transform": "ip"}]},
        "Once": {"if": "inbound", "then": {"column": "RemoteUrl", "transform": "domain"}},
    }
    rs = RuleSet("shared-branches", {"DeviceNetworkEvents": rules})
    out = {"ActionType": "InboundConnectionAccepted", "RemoteIP": " 10.0.0.1 ", "LocalIP": "fe80:0011::1"}
    inbound = _rec("DeviceNetworkEvents", **out, RemoteUrl="https://A.example.com/x")
    outbound = _rec("DeviceNetworkEvents", **{**out, "ActionType": "ConnectionSuccess"}, DeviceName="host")
    fn = rs.normalizer(type(inbound), "DeviceNetworkEvents")
    assert fn(inbound) == {"Src": "10.0.0.1", "Dst": "fe80:11::1", "Peer": "10.0.0.1", "Lazy": "10.0.0.1", "Once": "a.example.com"}
    assert fn(outbound) == {"Src": "fe80:11::1", "Dst": "10.0.0.1", "Lazy": "host"}
    source = fn.__doc__ or ""
    assert source.count("p.RemoteIP") == 1 and source.count("p.LocalIP") == 1
    assert "        v" in source.split("p.RemoteUrl")[0].rsplit("\n", 1)[1]  # read once, in its branch


def test_a_datetime_column_changed_after_decoding_normalizes_as_exact_datetime_says() -> None:
    rs = RuleSet("changed-datetime", {"DeviceNetworkEvents": {"When": "Timestamp"}})
    rec = _rec("DeviceNetworkEvents", Timestamp="2024-05-14T08:44:14.9047461Z")
    fn = rs.normalizer(type(rec), "DeviceNetworkEvents")
    when = fn(rec)["When"]
    assert isinstance(when, ExactDatetime) and when.isoformat_exact() == "2024-05-14T08:44:14.9047461Z"
    rec.properties.Timestamp = None
    assert fn(rec) == {}
    rec.properties.Timestamp = ExactDatetime.from_ns(1_715_676_254_904_746_100)
    assert fn(rec)["When"].ns == 1_715_676_254_904_746_100
    rec.properties.Timestamp = datetime(2024, 5, 14, tzinfo=timezone.utc)
    assert fn(rec)["When"].ns == 1_715_644_800_000_000_000
    rec.properties.Timestamp = "2024-05-14"
    with pytest.raises(m365parse.InvalidColumn):
        fn(rec)
