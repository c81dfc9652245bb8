"""The ``"jsa"`` rule set: the fields of the QRadar / JSA "Microsoft 365 Defender" DSM.

The vendor guide highlights these fields:

- streamed records: Event Category = ``category``; Event ID = ``ActionType``
  (Device tables) or ``Title`` (AlertInfo); Device Time = ``properties.Timestamp``;
- SIEM REST API alerts: Event ID = ``Category``; Device Time = ``AlertTime``;
  Source IP = ``IpAddress``; Source IPv6 = ``InternalIPv6List``; Username =
  ``UserName``.

Where the guide is silent this set picks what a QRadar user would expect
(``docs`` of :func:`mapping_table` and README's table): the initiating process is
the actor of a Device event (never its parent); for inbound connections and for
logons the remote side is the source; ``"-"`` and ``""`` are never addresses,
IPv4-mapped IPv6 becomes IPv4, packed lists are split.  ``SourceIP`` holds the
source address of either version, ``SourceIPv6`` the IPv6 one.  The ``Identity*``
fields describe the account the event is about and the device it was on.
"""

from __future__ import annotations

from typing import Any

from ..tables import DOCUMENTED_TYPES
from .registry import ALL, RuleSet, describe

__all__ = ["JSA", "FIELDS", "mapping_table"]

#: Every key the rule set can produce, in order.
FIELDS = (
    "EventCategory",
    "EventID",
    "DeviceTime",
    "LogSourceIdentifier",
    "SourceIP",
    "SourceIPv6",
    "SourcePort",
    "DestinationIP",
    "DestinationPort",
    "Username",
    "DeviceName",
    "Severity",
    "IdentityUsername",
    "IdentityDomain",
    "IdentitySid",
    "IdentityHostName",
    "IdentityIP",
    "IdentityMAC",
)

Rules = dict[str, Any]


def _ip(column: str, kind: str = "ip") -> dict[str, Any]:
    return {"column": column, "transform": kind}


def _source(spec: dict[str, Any]) -> Rules:
    """SourceIP from ``spec`` (an address of either version), and SourceIPv6 from the same address."""
    return {"SourceIP": spec, "SourceIPv6": {"first": [spec], "transform": "ipv6"}}


def _directional(local_ip: str, local_port: str, remote_ip: str, remote_port: str) -> Rules:
    """Source and destination of a network event: inbound puts the remote side first."""

    def side(inbound: dict[str, Any] | str, outbound: dict[str, Any] | str) -> dict[str, Any]:
        return {"if": "inbound", "then": inbound, "else": outbound}

    return {
        **_source(side(_ip(remote_ip), _ip(local_ip))),
        "SourcePort": side(remote_port, local_port),
        "DestinationIP": side(_ip(local_ip), _ip(remote_ip)),
        "DestinationPort": side(local_port, remote_port),
    }


def _actor(table: str, requester: bool = False) -> Rules:
    """Username and identity of a Device event: the initiating process's account.

    With ``requester`` (file events) a file operation requested over the network
    has the requesting account as its actor, all of it: the initiating process is
    then the file server's ``System``.
    """
    rules: Rules = {
        "Username": {"first": ["InitiatingProcessAccountName", "InitiatingProcessAccountUpn"]},
        "IdentityUsername": {"first": ["InitiatingProcessAccountName", "InitiatingProcessAccountUpn"]},
        "IdentityDomain": "InitiatingProcessAccountDomain",
        "IdentitySid": "InitiatingProcessAccountSid",
        "IdentityHostName": "DeviceName",
    }
    if requester:
        for field, column in (
            ("Username", "RequestAccountName"),
            ("IdentityUsername", "RequestAccountName"),
            ("IdentityDomain", "RequestAccountDomain"),
            ("IdentitySid", "RequestAccountSid"),
        ):
            rules[field] = {"if": "network_request", "then": column, "else": rules[field]}
    if "InitiatingProcessRemoteSessionIP" in DOCUMENTED_TYPES[table]:
        # The actor ran in a remote (RDP) session: the session's client is the source.
        rules.update(_source(_ip("InitiatingProcessRemoteSessionIP")))
    return rules


def _account(table: str, host: str | None = "DeviceName", ip: str | None = None) -> Rules:
    """Username and identity from the table's ``Account*`` columns."""
    names = [c for c in ("AccountName", "AccountUpn") if c in DOCUMENTED_TYPES[table]]
    rules: Rules = {
        "Username": {"first": names},
        "IdentityUsername": {"first": names},
        "IdentityDomain": "AccountDomain",
        "IdentitySid": "AccountSid",
    }
    if host:
        rules["IdentityHostName"] = host
    if ip:
        rules["IdentityIP"] = _ip(ip)
    return rules


def _identity_network() -> Rules:
    return {
        **_source(_ip("IPAddress")),
        "SourcePort": "Port",
        "DestinationIP": _ip("DestinationIPAddress"),
        "DestinationPort": "DestinationPort",
    }


_TABLE_NAME = {"envelope": "table"}

RULES: dict[str, Rules] = {
    # Every table, unknown ones included; a table's own rules replace these.
    ALL: {
        "EventCategory": {"envelope": "category"},
        "EventID": {"first": ["ActionType", "Title", _TABLE_NAME]},
        "DeviceTime": "Timestamp",
        "LogSourceIdentifier": {"envelope": "tenantId"},
        "DeviceName": "DeviceName",
        "Username": {"first": ["AccountName", "AccountUpn"]},
        "Severity": "Severity",
    },
    "AlertInfo": {"EventID": "Title"},
    "AlertEvidence": {
        "EventID": "Title",
        **_source(_ip("RemoteIP")),
        "DestinationIP": _ip("LocalIP"),
        **_account("AlertEvidence"),
    },
    "DeviceInfo": {
        "EventID": _TABLE_NAME,
        "Username": {"column": "LoggedOnUsers", "transform": ["json", "first", "get:UserName"]},
        "IdentityUsername": {"column": "LoggedOnUsers", "transform": ["json", "first", "get:UserName"]},
        "IdentityDomain": {"column": "LoggedOnUsers", "transform": ["json", "first", "get:DomainName"]},
        "IdentitySid": {"column": "LoggedOnUsers", "transform": ["json", "first", "get:Sid"]},
        "IdentityHostName": "DeviceName",
        "IdentityIP": _ip("PublicIP"),
    },
    "DeviceNetworkInfo": {
        "EventID": _TABLE_NAME,
        "IdentityHostName": "DeviceName",
        "IdentityIP": {"column": "IPAddresses", "transform": ["json", "first", "get:IPAddress", "ip"]},
        "IdentityMAC": "MacAddress",
    },
    "DeviceProcessEvents": _actor("DeviceProcessEvents"),
    "DeviceNetworkEvents": {
        **_actor("DeviceNetworkEvents"),
        **_directional("LocalIP", "LocalPort", "RemoteIP", "RemotePort"),
        "IdentityIP": _ip("LocalIP"),
    },
    "DeviceFileEvents": {
        # A file written over the network (SMB): the requesting account and address.
        **_actor("DeviceFileEvents", requester=True),
        **_source({"first": [_ip("RequestSourceIP"), _ip("FileOriginIP")]}),
        "SourcePort": "RequestSourcePort",
    },
    "DeviceRegistryEvents": _actor("DeviceRegistryEvents"),
    "DeviceLogonEvents": {
        # The account that logged on, from the remote address when there is one.
        **_account("DeviceLogonEvents"),
        **_source(_ip("RemoteIP")),
        "SourcePort": "RemotePort",
    },
    "DeviceImageLoadEvents": _actor("DeviceImageLoadEvents"),
    "DeviceEvents": {
        **_actor("DeviceEvents"),
        **_directional("LocalIP", "LocalPort", "RemoteIP", "RemotePort"),
    },
    "DeviceFileCertificateInfo": {"EventID": _TABLE_NAME, "IdentityHostName": "DeviceName"},
    "EmailEvents": {
        "EventID": "DeliveryAction",
        # one sending host, both its addresses
        "SourceIP": {"first": [_ip("SenderIPv4"), _ip("SenderIPv6")]},
        "SourceIPv6": _ip("SenderIPv6", "ipv6"),
        "Username": "RecipientEmailAddress",
    },
    "EmailAttachmentInfo": {"EventID": _TABLE_NAME, "Username": "RecipientEmailAddress"},
    "EmailPostDeliveryEvents": {"Username": "RecipientEmailAddress"},
    "EmailUrlInfo": {"EventID": _TABLE_NAME},
    "UrlClickEvents": {
        **_source(_ip("IPAddress")),
        "Username": "AccountUpn",
        "IdentityUsername": "AccountUpn",
        "IdentityIP": _ip("IPAddress"),
    },
    "IdentityLogonEvents": {**_account("IdentityLogonEvents", ip="IPAddress"), **_identity_network()},
    "IdentityQueryEvents": {**_account("IdentityQueryEvents", ip="IPAddress"), **_identity_network()},
    "IdentityDirectoryEvents": {**_account("IdentityDirectoryEvents", ip="IPAddress"), **_identity_network()},
    "IdentityInfo": {
        "EventID": _TABLE_NAME,
        **_account("IdentityInfo", host=None),
        "IdentitySid": {"first": ["OnPremSid", "CloudSid"]},
    },
    "CloudAppEvents": {
        "Username": {"first": ["AccountDisplayName", "AccountId"]},
        **_source(_ip("IPAddress")),
        "IdentityUsername": {"first": ["AccountDisplayName", "AccountId"]},
        "IdentityIP": _ip("IPAddress"),
    },
    # Tables added with the 2026-11-29 schema: where a column has an obvious home.
    "MessageEvents": {"EventID": {"first": ["DeliveryAction", _TABLE_NAME]}},
    "CloudAuditEvents": {
        **_source({"column": "IPAddress", "transform": "first_ip"}),  # a packed list in real records
        "Username": "Account",
        "IdentityUsername": "Account",
    },
    "CloudProcessEvents": {"DeviceName": "HostName", "IdentityHostName": "HostName"},
    "CloudDnsEvents": {"DeviceName": "HostName", "IdentityHostName": "HostName"},
    "CloudStorageAggregatedEvents": {
        **_source(_ip("IpAddress")),
        "Username": "AccountUpn",
        "IdentityUsername": "AccountUpn",
        "IdentityIP": _ip("IpAddress"),
    },
    **{
        table: {
            **_source(_ip("IPAddress")),
            "Username": "AccountUpn",
            "IdentityUsername": "AccountUpn",
            "IdentityHostName": "DeviceName",
            "IdentityIP": _ip("IPAddress"),
        }
        for table in ("EntraIdSignInEvents", "AADSignInEventsBeta")
    },
    **{
        table: {
            **_source(_ip("IPAddress")),
            "Username": "ServicePrincipalName",
            "IdentityUsername": "ServicePrincipalName",
            "IdentityIP": _ip("IPAddress"),
        }
        for table in ("EntraIdSpnSignInEvents", "AADSpnSignInEventsBeta")
    },
    "IdentityEvents": {
        **_source(_ip("IPAddress")),
        "Username": "AccountUpn",
        "IdentityUsername": "AccountUpn",
        "IdentityIP": _ip("IPAddress"),
    },
    "GraphAPIAuditEvents": {**_source(_ip("IpAddress")), "IdentityIP": _ip("IpAddress")},
    "SiemAlert": {
        "EventCategory": "Source",
        "EventID": "Category",
        "DeviceTime": "AlertTime",
        "LogSourceIdentifier": None,
        "SourceIP": _ip("IpAddress"),
        "SourceIPv6": {"column": "InternalIPv6List", "transform": ["split", "ipv6"]},
        "Username": "UserName",
        "DeviceName": "ComputerDnsName",
        "IdentityUsername": "UserName",
        "IdentityDomain": "UserDomain",
        "IdentityHostName": {"first": ["MachineName", "ComputerDnsName"]},
        "IdentityIP": {"column": "InternalIPv4List", "transform": "first_ip"},
    },
}

#: The rule set, registered as ``"jsa"``.
JSA = RuleSet(
    "jsa",
    RULES,
    description='QRadar / JSA "Microsoft 365 Defender" DSM fields, with identity',
)


def mapping_table(rule_set: RuleSet | None = None, fields: tuple[str, ...] = FIELDS) -> str:
    """The whole mapping as Markdown: per table, each field and where its value comes from."""
    rs = rule_set or JSA
    lines = [f"# The {rs.name!r} rule set", "", rs.description, ""]
    lines += ["Generated by `m365parse.mappings.jsa.mapping_table()`; a test keeps it current.", ""]
    tables = [t for t in DOCUMENTED_TYPES if t != "SiemAlert"] + ["SiemAlert", ALL]
    for table in tables:
        title = "Records of unknown tables (and the default of every table)" if table == ALL else table
        lines += [f"## {title}", "", "| field | from |", "|---|---|"]
        rules = rs.rules_for(table)
        for field in fields:
            spec = rules.get(field)
            if spec is None or (table != ALL and not _applies(spec, table)):
                continue
            lines.append(f"| {field} | {describe(spec).replace('|', chr(92) + '|')} |")
        lines.append("")
    from .api_rules import api_sections  # the API kinds' sections (imported here: not needed at import)

    return "\n".join(lines) + "\n" + api_sections("jsa", FIELDS.index)


def _applies(spec: Any, table: str) -> bool:
    if isinstance(spec, str):
        return spec in DOCUMENTED_TYPES[table]
    if not isinstance(spec, dict):
        return True
    if "column" in spec:
        return bool(spec["column"] in DOCUMENTED_TYPES[table])
    if "first" in spec:
        return any(_applies(item, table) for item in spec["first"])
    if "collect" in spec:
        return any(_applies(item, table) for item in spec["collect"])
    if "if" in spec:
        return _applies(spec["then"], table) or _applies(spec.get("else"), table)
    return True
