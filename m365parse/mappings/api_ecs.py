"""The ``"ecs"`` rules of the alert, incident and hunting-row records of the polled APIs.

Alerts and incidents are ``event.kind: alert``; ``rule.*`` comes from the
detector and title, ``threat.*`` from the MITRE ATT&CK techniques, tactic
(category) and threat family, ``related.*`` from the alert and every evidence
item or entity (of every alert of an incident).  Everything ECS has no place
for stays under ``m365_defender.<kind>`` (the item as :meth:`Record.to_dict` gives it).
"""

from __future__ import annotations

import re
from typing import Any

from .._json import encode as encode_json
from ..record import Record
from .api_rules import Apply, Call, Collect, Const, First, Func, Item, KindRules, Text

__all__ = ["RULES", "severity", "original", "severity_spec", "original_spec"]

_SEVERITY = {"informational": 1, "low": 2, "medium": 3, "high": 4}


def severity(record: Record) -> int | None:
    """numeric severity: informational 1, low 2, medium 3, high 4"""
    value = getattr(record.properties, "severity", None)
    return _SEVERITY.get(value.lower()) if isinstance(value, str) else None


def original(record: Record) -> str:
    """the item as compact JSON (`to_dict()` properties), lone surrogates escaped"""
    return _json(record.to_dict()["properties"])


def _json(item: dict[str, Any]) -> str:
    """the item as compact JSON (`to_dict()` properties), lone surrogates escaped"""
    return encode_json(item).decode()


def _vendor(item: dict[str, Any]) -> dict[str, Any] | None:
    """the item, nested, as `to_dict()` gives it"""
    return item or None


#: The rules of the ``+severity`` and ``+original`` variants.
severity_spec = Call(severity)
original_spec = Func.of(_json, Item())


_TECHNIQUE = re.compile(r"(T\d{4})(\.\d{3})?\Z")


def _technique_ids(path: str, sub: bool) -> Func:
    def ids(values: Any) -> list[str]:
        out: list[str] = []
        for value in values or []:
            m = _TECHNIQUE.match(value.strip()) if isinstance(value, str) else None
            if m is None:
                continue
            found = m.group(0) if sub and m.group(2) else None if sub else m.group(1)
            if found and found not in out:
                out.append(found)
        return out

    what = "sub-technique ids" if sub else "technique ids"
    ids.__doc__ = f"{what} of `{path}` (`T1059.001` gives {'itself' if sub else '`T1059`'})"
    return Func.of(ids, path)


def _alert(prefix: str, vendor: str, provider: Any, evidence: str) -> dict[str, Any]:
    """The rules of a Graph-style alert at ``prefix`` (``""`` or ``"alerts[*]."``)."""
    ev = f"{prefix}{evidence}[*]"
    return {
        "related.ip": Apply(
            Collect.of(
                f"{ev}.ipAddress",
                f"{ev}.lastIpAddress",
                f"{ev}.lastExternalIpAddress",
                f"{ev}.ipInterfaces[*]",
                f"{ev}.senderIp",
                f"{ev}.location.ipAddress",
            ),
            ("ip",),
        ),
        "related.user": Collect.of(
            f"{ev}.userAccount.accountName",
            f"{ev}.userAccount.userPrincipalName",
            f"{ev}.loggedOnUsers[*].accountName",
            f"{ev}.recipientEmailAddress",
            f"{ev}.primaryAddress",
        ),
        "related.hosts": Collect.of(f"{ev}.deviceDnsName", f"{ev}.hostName"),
        "related.hash": Collect.of(
            f"{ev}.imageFile.sha1",
            f"{ev}.imageFile.sha256",
            f"{ev}.imageFile.md5",
            f"{ev}.fileDetails.sha1",
            f"{ev}.fileDetails.sha256",
            f"{ev}.fileDetails.md5",
            f"{ev}.parentProcessImageFile.sha1",
            f"{ev}.parentProcessImageFile.sha256",
        ),
        "event.provider": provider,
        "m365_defender." + vendor: Func.of(_vendor, Item()),
    }


def _threat(techniques: str, tactic: str | None, family: str | None) -> dict[str, Any]:
    rules: dict[str, Any] = {
        "threat.technique.id": _technique_ids(techniques, sub=False),
        "threat.technique.subtechnique.id": _technique_ids(techniques, sub=True),
    }
    if tactic:
        rules["threat.tactic.name"] = Apply(Collect.of(tactic), ("mitre_tactic_names",))
        rules["threat.tactic.id"] = Apply(Collect.of(tactic), ("mitre_tactic_ids",))
    if family:
        rules["threat.software.name"] = First.of(family)
    rules["threat.framework"] = Func.of(_framework, techniques)
    return rules


def _framework(techniques: Any) -> str | None:
    """`"MITRE ATT&CK"` when there are techniques"""
    return "MITRE ATT&CK" if techniques else None


def _entities(prefix: str) -> dict[str, Any]:
    """related.* of Defender for Endpoint evidence / Defender XDR entities and devices at ``prefix``."""
    return {
        "related.ip": Apply(Collect.of(f"{prefix}.ipAddress"), ("ip",)),
        "related.user": Collect.of(f"{prefix}.accountName", f"{prefix}.userPrincipalName", f"{prefix}.mailboxAddress"),
        "related.hash": Collect.of(f"{prefix}.sha1", f"{prefix}.sha256"),
    }


def _common(rules: dict[str, Any]) -> dict[str, Any]:
    from .ecs import ECS_VERSION

    return {"ecs.version": Const(ECS_VERSION), **rules}


RULES: KindRules = {
    "GraphAlert": _common({
        "@timestamp": First.of("createdDateTime", "lastUpdateDateTime"),
        "event.kind": Const("alert"),
        "event.id": "id",
        "event.created": "createdDateTime",
        "event.start": "firstActivityDateTime",
        "event.end": "lastActivityDateTime",
        "event.module": Const("m365_defender"),
        "event.dataset": Const("m365_defender.graph_alert"),
        "event.url": "alertWebUrl",
        "message": "title",
        "rule.id": "detectorId",
        "rule.name": "title",
        "rule.description": "description",
        "rule.category": "category",
        "host.name": First.of("evidence[*].deviceDnsName", "evidence[*].hostName"),
        "user.name": First.of("evidence[*].userAccount.accountName"),
        "tags": Collect.of("systemTags[*]"),
        **_threat("mitreTechniques", "category", "threatFamilyName"),
        **_alert("", "graph_alert", "serviceSource", "evidence"),
    }),
    "GraphIncident": _common({
        "@timestamp": First.of("createdDateTime", "lastUpdateDateTime"),
        "event.kind": Const("alert"),
        "event.id": "id",
        "event.created": "createdDateTime",
        "event.module": Const("m365_defender"),
        "event.dataset": Const("m365_defender.graph_incident"),
        "event.url": "incidentWebUrl",
        "message": "displayName",
        "rule.name": First.of("alerts[*].title"),
        "rule.id": First.of("alerts[*].detectorId"),
        "tags": Collect.of("customTags[*]", "systemTags[*]"),
        **_threat("alerts[*].mitreTechniques[*]", "alerts[*].category", "alerts[*].threatFamilyName"),
        **_alert("alerts[*].", "graph_incident", First.of("alerts[*].serviceSource"), "evidence"),
    }),
    "MdeAlert": _common({
        "@timestamp": First.of("alertCreationTime", "lastUpdateTime"),
        "event.kind": Const("alert"),
        "event.id": "id",
        "event.created": "alertCreationTime",
        "event.start": "firstEventTime",
        "event.end": "lastEventTime",
        "event.module": Const("m365_defender"),
        "event.dataset": Const("m365_defender.mde_alert"),
        "event.provider": "detectionSource",
        "message": "title",
        "rule.id": "detectorId",
        "rule.name": "title",
        "rule.description": "description",
        "rule.category": "category",
        "host.name": "computerDnsName",
        "host.id": "machineId",
        "user.name": First.of("relatedUser.userName", "loggedOnUsers[*].accountName"),
        **_threat("mitreTechniques", "category", "threatFamilyName"),
        **_entities("evidence[*]"),
        "related.hosts": Collect.of("computerDnsName"),
        "m365_defender.mde_alert": Func.of(_vendor, Item()),
    }),
    "XdrIncident": _common({
        "@timestamp": First.of("createdTime", "lastUpdateTime"),
        "event.kind": Const("alert"),
        "event.id": Text("incidentId"),
        "event.created": "createdTime",
        "event.module": Const("m365_defender"),
        "event.dataset": Const("m365_defender.xdr_incident"),
        "event.provider": First.of("alerts[*].serviceSource"),
        "event.url": "incidentUri",
        "message": "incidentName",
        "rule.name": First.of("alerts[*].title"),
        "rule.id": First.of("alerts[*].detectorId"),
        "tags": Collect.of("tags[*]"),
        **_threat("alerts[*].mitreTechniques[*]", "alerts[*].category", "alerts[*].threatFamilyName"),
        **_entities("alerts[*].entities[*]"),
        "related.hosts": Collect.of("alerts[*].devices[*].deviceDnsName"),
        "m365_defender.xdr_incident": Func.of(_vendor, Item()),
    }),
    "XdrAlert": _common({
        "@timestamp": First.of("creationTime", "lastUpdatedTime"),
        "event.kind": Const("alert"),
        "event.id": "alertId",
        "event.created": "creationTime",
        "event.start": "firstActivity",
        "event.end": "lastActivity",
        "event.module": Const("m365_defender"),
        "event.dataset": Const("m365_defender.xdr_alert"),
        "event.provider": "serviceSource",
        "message": "title",
        "rule.id": "detectorId",
        "rule.name": "title",
        "rule.description": "description",
        "rule.category": "category",
        "host.name": First.of("devices[*].deviceDnsName"),
        **_threat("mitreTechniques", "category", "threatFamilyName"),
        **_entities("entities[*]"),
        "related.hosts": Collect.of("devices[*].deviceDnsName"),
        "m365_defender.xdr_alert": Func.of(_vendor, Item()),
    }),
    "HuntingRow": _common({
        "@timestamp": First.of("Timestamp", "TimeGenerated"),
        "event.kind": Const("event"),
        "event.module": Const("m365_defender"),
        "event.dataset": Const("m365_defender.hunting"),
        "m365_defender.hunting": Func.of(_vendor, Item()),
    }),
}
