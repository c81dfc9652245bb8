"""Every Advanced Hunting table typed, as real data sends it (issue 9).

Spellings (``spellings.tsv``): the spelling real records carry decodes on the
one-pass path, the documented one on the per-record path; both fill the
documented attribute; when both arrive in one record the wire spelling fills it and the other is kept in ``extra``.
Types (``type_overrides.tsv``): the JSON type real data sends is the type.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

import m365parse
from m365parse.mappings.transforms import CONDITIONS
from m365parse.tables import STREAMED, TABLES

from .conftest import body, record

SCHEMA = Path(m365parse.__file__).resolve().parent / "tables" / "schema"
SAMPLES = Path(m365parse.__file__).resolve().parent / "samples"


def _tsv(name: str) -> list[dict[str, str]]:
    with open(SCHEMA / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _one(table: str, data: bytes | None = None, **props: Any) -> m365parse.Record:
    batch = m365parse.decode(data if data is not None else body(record(table, **props)))
    assert batch.errors == []
    (rec,) = batch.records
    assert rec.table == table
    return rec


def _fast(rec: m365parse.Record) -> bool:
    """Whether the record came from the one-pass decode of the whole body."""
    return rec._source() is not None and rec._source()[0]._shape == "body"


SPELLINGS = [(r["table"], r["attribute"], r["wire_name"], r["variant"]) for r in _tsv("spellings.tsv")]


@pytest.mark.parametrize(("table", "attribute", "wire", "variant"), SPELLINGS)
def test_the_wire_spelling_fills_the_attribute_in_one_pass(table: str, attribute: str, wire: str, variant: str) -> None:
    rec = _one(table, **{wire: "AS64500 Example"})
    assert getattr(rec.properties, attribute) == "AS64500 Example"
    assert rec.extra == {}
    if table in STREAMED:
        assert _fast(rec)  # the spelling real records carry is decoded in the one pass
    assert rec.to_dict()["properties"] == {wire: "AS64500 Example"}  # written as real records spell it


@pytest.mark.parametrize(("table", "attribute", "wire", "variant"), SPELLINGS)
def test_the_other_spelling_fills_the_attribute_too(table: str, attribute: str, wire: str, variant: str) -> None:
    rec = _one(table, **{variant: "AS64500 Example", "MachineGroup": "Servers"})
    assert getattr(rec.properties, attribute) == "AS64500 Example"
    assert rec.properties.MachineGroup == "Servers"
    assert rec.extra == {}


@pytest.mark.parametrize(("table", "attribute", "wire", "variant"), SPELLINGS)
def test_both_spellings_in_one_record_the_wire_one_fills_the_attribute(
    table: str, attribute: str, wire: str, variant: str
) -> None:
    for props in ({wire: "real", variant: "other"}, {variant: "other", wire: "real"}):
        rec = _one(table, **props)
        assert getattr(rec.properties, attribute) == "real"
        assert rec.extra == {variant: "other"}
        data = rec.to_dict()
        assert data["properties"] == {wire: "real"}
        assert {**data["properties"], **data["extra"]} == props  # each under its own key: nothing lost


def test_a_spelling_whose_value_does_not_fit_is_kept_in_extra() -> None:
    rec = _one("CloudAppEvents", Isp={"not": "text"})
    assert rec.properties.Isp is None
    assert rec.extra == {"Isp": {"not": "text"}}


def test_spellings_are_named_in_the_docstrings() -> None:
    for table, attribute, wire, variant in SPELLINGS:
        doc = TABLES[table].__doc__ or ""
        assert f"``{attribute}``" in doc and (f"``{wire}``" in doc or f"``{variant}``" in doc), table


# --- columns real records carry that no doc lists --------------------------------------


def test_undocumented_columns_are_typed_attributes() -> None:
    rec = _one("IdentityQueryEvents", IsAdminOperation="0")
    assert rec.properties.IsAdminOperation is False
    rec = _one("IdentityLogonEvents", ISP="Example", UncommonForUser=["ISP"], LastSeenForUser={"ISP": 30})
    assert (rec.properties.Isp, rec.properties.UncommonForUser) == ("Example", ["ISP"])
    assert rec.properties.LastSeenForUser == {"ISP": 30}
    assert rec.extra == {}
    rec = _one("IdentityInfo", SourceProvider="AzureActiveDirectory", SourceProviders=["AzureActiveDirectory"])
    assert rec.properties.SourceProvider == "AzureActiveDirectory"
    assert rec.properties.SourceProviders == ["AzureActiveDirectory"]
    rec = _one("MessageEvents", MessageType="RichText", Subject="Hi", ThreadType="chat", ThreadSubType="x")
    assert (rec.properties.MessageType, rec.properties.Subject, rec.properties.ThreadType) == ("RichText", "Hi", "chat")
    assert rec.properties.ThreadSubtype == "x"
    assert _fast(rec)


# --- JSON types as real data sends them ---------------------------------------------------


def test_email_to_and_cc_arrays_and_first_contact_boolean() -> None:
    rec = _one("EmailEvents", To=["a@contoso.com", "b@contoso.com"], Cc=[], IsFirstContact=True)
    assert rec.properties.To == ["a@contoso.com", "b@contoso.com"]
    assert rec.properties.Cc == []
    assert rec.properties.IsFirstContact is True
    assert rec.extra == {} and _fast(rec)
    # the documented forms still decode: a JSON-encoded string, and 1/0
    rec = _one("EmailEvents", To='["a@contoso.com"]', IsFirstContact=0)
    assert rec.properties.To == '["a@contoso.com"]'
    assert rec.properties.IsFirstContact is False
    assert m365parse.expand(rec, "To") == ["a@contoso.com"]


def test_cloud_storage_account_type_and_tenant_are_text() -> None:
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    rec = _one("CloudStorageAggregatedEvents", AccountType="User", AccountTenantId=tenant, IPAddress="203.0.113.7")
    assert (rec.properties.AccountType, rec.properties.AccountTenantId) == ("User", tenant)
    assert rec.properties.IpAddress == "203.0.113.7"
    assert rec.extra == {} and _fast(rec)


def test_cloud_process_ids_are_numbers() -> None:
    rec = _one("CloudProcessEvents", ParentProcessId=4411, InitiatingProcessId="17", ReportId="9b1d")
    assert (rec.properties.ParentProcessId, rec.properties.InitiatingProcessId) == (4411, 17)
    assert rec.properties.ReportId == "9b1d"


def test_every_override_is_applied() -> None:
    samples = {"string": "User", "long": 5, "bool": True, "json": ["x@contoso.com"]}
    for row in _tsv("type_overrides.tsv"):
        value = samples[row["chosen_type"]]
        rec = _one(row["table"], **{row["column"]: value})
        assert getattr(rec.properties, row["column"]) == value, row
        assert rec.extra == {}


# --- every table ----------------------------------------------------------------------------


@pytest.mark.parametrize("table", [t for t in TABLES if t != "SiemAlert"])
def test_every_table_has_a_sample_that_decodes_typed(table: str) -> None:
    batch = m365parse.decode((SAMPLES / f"{table}.json").read_bytes())
    assert batch.errors == []
    assert len(batch.records) == 3
    for rec in batch.records:
        assert isinstance(rec.properties, TABLES[rec.table])
        assert rec.table == table
        assert rec.extra == {}, (table, rec.extra)
        for key in ("jsa", "ecs"):
            out = m365parse.normalize(rec, key)
            assert out, (table, key)
    if table in STREAMED:
        assert all(_fast(r) for r in batch.records)


def test_one_body_of_all_streamed_tables_decodes_in_one_pass() -> None:
    records = []
    for table in STREAMED:
        records += json.loads((SAMPLES / f"{table}.json").read_text("utf-8"))["records"]
    batch = m365parse.decode(json.dumps({"records": records}).encode())
    assert batch.errors == []
    assert [r.table for r in batch.records] == [r["category"].split("-", 1)[1] for r in records]
    assert all(_fast(r) for r in batch.records)


def test_normalized_every_table_has_the_common_fields() -> None:
    for table in TABLES:
        if table == "SiemAlert":
            continue
        rec = json.loads((SAMPLES / f"{table}.json").read_text("utf-8"))["records"][0]
        (decoded,) = m365parse.decode(body(rec)).records
        jsa = m365parse.normalize(decoded, "jsa")
        assert jsa["EventCategory"] == f"AdvancedHunting-{table}"
        assert jsa["LogSourceIdentifier"] == rec["tenantId"]
        ecs = m365parse.normalize(decoded, "ecs")
        assert ecs["event"]["kind"] in ("alert", "asset", "enrichment", "event", "state", "signal"), table
        assert ecs["event"]["dataset"].startswith("m365_defender.")


# --- the two mapping fixes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "action", ["InboundConnectionAccepted", "InboundConnectionAttempt", "InboundConnectionAcknowledged", "InboundX"]
)
def test_every_inbound_action_puts_the_remote_side_first(action: str) -> None:
    rec = _one(
        "DeviceNetworkEvents", ActionType=action, LocalIP="10.1.2.3", LocalPort=22, RemoteIP="203.0.113.9", RemotePort=50000
    )
    assert CONDITIONS["inbound"](rec)
    jsa = m365parse.normalize(rec, "jsa")
    assert (jsa["SourceIP"], jsa["SourcePort"], jsa["DestinationIP"]) == ("203.0.113.9", 50000, "10.1.2.3")
    ecs = m365parse.normalize(rec, "ecs")
    assert ecs["source"]["ip"] == "203.0.113.9" and ecs["destination"]["ip"] == "10.1.2.3"
    assert ecs["network"]["direction"] == "ingress"


@pytest.mark.parametrize("action", ["ConnectionSuccess", "ConnectionAcknowledged", "ListeningConnectionCreated"])
def test_other_actions_are_not_inbound(action: str) -> None:
    assert not CONDITIONS["inbound"](_one("DeviceNetworkEvents", ActionType=action))


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("fe80:0011:2233:4455:0000:0000:0000:0001", "fe80:11:2233:4455::1"),
        ("FE80::A:B", "fe80::a:b"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:DB8::", "2001:db8::"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("198.51.100.7", "198.51.100.7"),
    ],
)
def test_ip_addresses_are_canonical(written: str, canonical: str) -> None:
    rec = _one("DeviceNetworkEvents", ActionType="ConnectionSuccess", LocalIP=written, RemoteIP="203.0.113.9")
    assert m365parse.normalize(rec, "jsa")["SourceIP"] == canonical
    assert m365parse.normalize(rec, "ecs")["source"]["ip"] == canonical


# --- table rules of the new tables, where a column has an obvious home ------------------------

GOLDEN = Path(__file__).resolve().parent / "golden"


def test_cloud_audit_events_normalized() -> None:
    rec = m365parse.decode((GOLDEN / "CloudAuditEvents" / "audit.input.json").read_bytes()).records[0]
    jsa = m365parse.normalize(rec, "jsa")
    assert (jsa["SourceIP"], jsa["Username"], jsa["EventID"]) == ("203.0.113.14", "avery.lin@contoso.com", "CloudAuditEventOther")
    ecs = m365parse.normalize(rec, "ecs")
    assert ecs["source"]["ip"] == "203.0.113.14"
    assert ecs["source"]["as"]["organization"]["name"] == "Example Telekom GmbH"  # sent as ISP
    assert ecs["event"]["category"] == ["configuration"] and ecs["cloud"]["provider"] == "azure"
    assert ecs["m365_defender"]["cloud_audit_events"]["IPAddress"] == "203.0.113.14,198.51.100.7"


def test_sign_in_events_normalized() -> None:
    props = {"IPAddress": "2001:0db8::0017", "AccountUpn": "avery.lin@contoso.com", "DeviceName": "WS-FIN-0142"}
    rec = _one("EntraIdSignInEvents", **props, ErrorCode=0, Country="DE")
    jsa = m365parse.normalize(rec, "jsa")
    assert (jsa["SourceIP"], jsa["SourceIPv6"], jsa["Username"]) == ("2001:db8::17", "2001:db8::17", "avery.lin@contoso.com")
    ecs = m365parse.normalize(rec, "ecs")
    assert ecs["event"]["category"] == ["authentication"] and ecs["event"]["provider"] == "Microsoft Entra ID"
    assert ecs["source"]["ip"] == "2001:db8::17" and ecs["source"]["geo"]["country_iso_code"] == "DE"
    assert ecs["user"]["email"] == "avery.lin@contoso.com" and ecs["host"]["name"] == "ws-fin-0142"
    assert ecs["m365_defender"]["entra_id_sign_in_events"]["ErrorCode"] == 0


def test_cloud_process_events_normalized() -> None:
    rec = m365parse.decode((GOLDEN / "CloudProcessEvents" / "processes.input.jsonl").read_bytes()).records[0]
    ecs = m365parse.normalize(rec, "ecs")
    assert ecs["process"]["pid"] == 48211 and ecs["process"]["parent"]["pid"] == 48190
    assert ecs["container"]["image"]["name"] == "contoso.azurecr.io/web/frontend:1.8.2"
    assert ecs["orchestrator"]["namespace"] == "shop"
