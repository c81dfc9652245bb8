"""The ``"jsa"`` rules of the alert, incident and hunting-row records of the polled APIs.

The same flat fields as for tables (:data:`m365parse.mappings.jsa.FIELDS`): the
alert's kind and category, its title as the event id, its creation time, the
tenant, the first address, user and device of its evidence.
"""

from __future__ import annotations

from .api_rules import Apply, Const, First, KindRules

__all__ = ["RULES"]


def _alert(
    kind: str, title: str, created: str, tenant: str | None, *, ip: First, user: First, device: First
) -> dict[str, object]:
    rules: dict[str, object] = {
        "EventCategory": Const(kind),
        "EventID": title,
        "DeviceTime": created,
        "SourceIP": Apply(ip, ("ip",)),
        "SourceIPv6": Apply(ip, ("ip", "ipv6")),
        "Username": user,
        "DeviceName": device,
        "Severity": "severity",
        "IdentityUsername": user,
        "IdentityHostName": device,
    }
    if tenant:
        rules["LogSourceIdentifier"] = tenant
    return rules


RULES: KindRules = {
    "GraphAlert": _alert(
        "GraphAlert",
        "title",
        "createdDateTime",
        "tenantId",
        ip=First.of("evidence[*].ipAddress", "evidence[*].lastIpAddress"),
        user=First.of("evidence[*].userAccount.accountName", "evidence[*].loggedOnUsers[*].accountName"),
        device=First.of("evidence[*].deviceDnsName", "evidence[*].hostName"),
    ),
    "GraphIncident": _alert(
        "GraphIncident",
        "displayName",
        "createdDateTime",
        "tenantId",
        ip=First.of("alerts[*].evidence[*].ipAddress", "alerts[*].evidence[*].lastIpAddress"),
        user=First.of("alerts[*].evidence[*].userAccount.accountName"),
        device=First.of("alerts[*].evidence[*].deviceDnsName", "alerts[*].evidence[*].hostName"),
    ),
    "MdeAlert": _alert(
        "MdeAlert",
        "title",
        "alertCreationTime",
        "aadTenantId",
        ip=First.of("evidence[*].ipAddress"),
        user=First.of("relatedUser.userName", "evidence[*].accountName"),
        device=First.of("computerDnsName"),
    ),
    "XdrIncident": _alert(
        "XdrIncident",
        "incidentName",
        "createdTime",
        None,
        ip=First.of("alerts[*].entities[*].ipAddress"),
        user=First.of("alerts[*].entities[*].accountName"),
        device=First.of("alerts[*].devices[*].deviceDnsName"),
    ),
    "XdrAlert": _alert(
        "XdrAlert",
        "title",
        "creationTime",
        None,
        ip=First.of("entities[*].ipAddress"),
        user=First.of("entities[*].accountName"),
        device=First.of("devices[*].deviceDnsName"),
    ),
    "HuntingRow": {
        "EventCategory": Const("HuntingRow"),
        "DeviceTime": First.of("Timestamp", "TimeGenerated"),
        "DeviceName": "DeviceName",
        "Username": First.of("AccountName", "AccountUpn"),
        "SourceIP": Apply(First.of("RemoteIP", "IPAddress"), ("ip",)),
    },
}
