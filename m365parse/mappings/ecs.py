"""The ``"ecs"`` rule set: Elastic Common Schema (ECS 9) documents for every table.

``m365parse.normalize(record, "ecs")`` gives a nested dict that can go straight
into Elasticsearch or OpenSearch.  The whole mapping, table by table, is in
``ECS.md`` next to this module (:func:`mapping_table`); the choices that matter:

- ``@timestamp`` is ``Timestamp`` (``AlertTime`` for SIEM alerts) with every
  digit that arrived (``2024-05-14T08:41:56.5950497Z``); ``event.created`` is the
  envelope ``time``.
- The actor of a Device event is its initiating process: ``process.*`` is
  ``InitiatingProcess*`` and ``process.parent.*`` is ``InitiatingProcessParent*``.
  In ``DeviceProcessEvents`` the created process (``FileName``, ``ProcessId``,
  ``ProcessCommandLine``) is ``process.*`` and the initiating process is
  ``process.parent.*``.  ``user.*`` is the actor's account (the created process's
  in ``DeviceProcessEvents``, the account that logged on in logon events).
- Network events put the remote side in ``source.*`` when the remote side opened
  the connection (condition ``inbound``: ``InboundConnectionAccepted``,
  ``AdditionalFields.direction == "In"``, firewall-blocked inbound connections);
  ``network.direction`` is ``ingress``/``egress`` (host-based, as ECS asks).
- Addresses pass the ``ip`` transform: ``"-"`` and other placeholders are never
  addresses, IPv4-mapped IPv6 becomes IPv4.
- ``email.message_id`` is ``InternetMessageId`` (RFC 5322), ``email.local_id`` is
  ``NetworkMessageId`` (Microsoft's id).
- Categorization (``event.kind``, ``event.category``, ``event.type``,
  ``event.outcome``) comes from the table and ``ActionType``, with ECS's allowed
  values only.  MITRE ATT&CK: technique and sub-technique ids and names from
  ``AttackTechniques``, tactics from ``Category``/``Categories`` when they name one.
- **Vendor namespace.** Every documented column that no ECS field keeps is kept
  as ``m365_defender.<table_snake_case>.<Column>`` (``m365_defender.
  device_process_events.InitiatingProcessIntegrityLevel``): Microsoft's exact column
  names, which every KQL user knows, under one object per table, so that a column
  of the same name but another type in another table never clashes in one index.
  Datetime columns are ISO strings with every digit; JSON-carrying columns
  (``AdditionalFields``, ...) are decoded once (``json_value``: nested JSON text,
  ``$id``/``$ref`` keys and ``null`` values inside stay as they arrived).  Also kept: ``m365_defender.extra``
  (the record's undeclared columns and values that did not fit their type, as they
  arrived), ``m365_defender.envelope.*`` (``operationName``, ``Tenant``,
  ``_TimeReceivedBySvc``), ``m365_defender.envelope_extra``, and for tables this
  version does not know ``m365_defender.properties`` (the whole row).  Index
  ``m365_defender.extra``, ``m365_defender.properties`` and the JSON columns as
  ``flattened``.  A column counts as kept by ECS when a field always takes its value
  through lossless steps (``lower``, ``ip``, ``iso``, ...), whatever the conditions;
  what a placeholder or an invalid value loses (``"-"`` in an IP column) is not kept.
- **Severity.** The raw ``Severity`` is kept (in the vendor namespace); ``"ecs"``
  writes no ``event.severity``.  The rule sets ``"ecs+severity"`` add
  ``event.severity`` on the documented scale of the ``severity_level`` transform
  (Informational 1, Low 2, Medium 3, High 4).
- **Original.** The rule sets ``"ecs+original"`` and ``"ecs+severity+original"``
  add ``event.original``: the record as compact JSON in its wire shape (envelope
  and ``properties``, or the flat SIEM alert), re-encoded from the decoded record
  with its ``extra`` columns; key order, ``null`` values and number spelling may
  differ from the bytes that arrived.
- ``event.kind`` is ``alert`` for AlertInfo, AlertEvidence and SIEM alerts,
  ``asset`` for DeviceInfo, DeviceNetworkInfo and IdentityInfo, ``enrichment``
  for DeviceFileCertificateInfo, else ``event``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping
from typing import Any

from .._json import encode as encode_json
from ..record import Record, SiemRecord
from ..tables import ANNOTATIONS, DOCUMENTED_TYPES
from .actions import PROTECTION_ACTIONS
from .registry import ALL, RuleSet, Spec, conditions_of, describe
from .specs import Rules, col, collect, const, first, fit, lookup, when
from .transforms import transform

__all__ = [
    "ECS",
    "ECS_ORIGINAL",
    "ECS_SEVERITY",
    "ECS_SEVERITY_ORIGINAL",
    "RULE_SETS",
    "ECS_VERSION",
    "VENDOR",
    "vendor_prefix",
    "kept_columns",
    "mapping_table",
]

#: The ECS version the documents declare in ``ecs.version``.
ECS_VERSION = "9.0.0"
#: The vendor namespace.
VENDOR = "m365_defender"


def vendor_prefix(table: str) -> str:
    """``m365_defender.<table_snake_case>``: where a table's columns without an ECS place go."""
    return f"{VENDOR}.{transform('snake_case')(table)}"


# --- spec helpers ----------------------------------------------------------------------


def ip(column: str) -> Spec:
    return col(column, "ip")


def iso(column: str) -> Spec:
    return col(column, "iso")


def lower(column: str) -> Spec:
    return col(column, "lower")


# --- categorization ------------------------------------------------------------------------

_DEVICE = "Microsoft Defender for Endpoint"
_OFFICE = "Microsoft Defender for Office 365"
_IDENTITY = "Microsoft Defender for Identity"

#: (event.kind, event.provider) of every table; AlertInfo and AlertEvidence read the provider from ServiceSource.
KIND_AND_PROVIDER: dict[str, tuple[str, str]] = {
    "AlertInfo": ("alert", "Microsoft Defender XDR"),
    "AlertEvidence": ("alert", "Microsoft Defender XDR"),
    "DeviceInfo": ("asset", _DEVICE),
    "DeviceNetworkInfo": ("asset", _DEVICE),
    "DeviceProcessEvents": ("event", _DEVICE),
    "DeviceNetworkEvents": ("event", _DEVICE),
    "DeviceFileEvents": ("event", _DEVICE),
    "DeviceRegistryEvents": ("event", _DEVICE),
    "DeviceLogonEvents": ("event", _DEVICE),
    "DeviceImageLoadEvents": ("event", _DEVICE),
    "DeviceEvents": ("event", _DEVICE),
    "DeviceFileCertificateInfo": ("enrichment", _DEVICE),
    "EmailEvents": ("event", _OFFICE),
    "EmailAttachmentInfo": ("event", _OFFICE),
    "EmailPostDeliveryEvents": ("event", _OFFICE),
    "EmailUrlInfo": ("event", _OFFICE),
    "UrlClickEvents": ("event", _OFFICE),
    "IdentityLogonEvents": ("event", _IDENTITY),
    "IdentityQueryEvents": ("event", _IDENTITY),
    "IdentityDirectoryEvents": ("event", _IDENTITY),
    "IdentityInfo": ("asset", "Microsoft Defender XDR"),
    "CloudAppEvents": ("event", "Microsoft Defender for Cloud Apps"),
    "SiemAlert": ("alert", _DEVICE),
}

_XDR = "Microsoft Defender XDR"
_CLOUD = "Microsoft Defender for Cloud"
_ENTRA = "Microsoft Entra ID"

#: (event.kind, event.provider, event.category, event.type) of the tables that have no
#: rules of their own beyond these and their columns under ``m365_defender.<table>``.
_MORE_TABLES: dict[str, tuple[str, str, list[str], list[str]]] = {
    "BehaviorInfo": ("signal", _XDR, ["intrusion_detection"], ["info"]),
    "BehaviorEntities": ("signal", _XDR, ["intrusion_detection"], ["info"]),
    "CloudAuditEvents": ("event", _CLOUD, ["configuration"], ["info"]),
    "CloudProcessEvents": ("event", _CLOUD, ["process"], ["start"]),
    "CloudStorageAggregatedEvents": ("event", _CLOUD, ["file"], ["access"]),
    "CloudDnsEvents": ("event", _CLOUD, ["network"], ["protocol"]),
    "CloudPolicyEnforcementEvents": ("event", _CLOUD, ["configuration"], ["info"]),
    "MessageEvents": ("event", _OFFICE, ["email"], ["info"]),
    "MessagePostDeliveryEvents": ("event", _OFFICE, ["email"], ["info"]),
    "MessageUrlInfo": ("event", _OFFICE, ["email"], ["info"]),
    "MessageContents": ("event", _OFFICE, ["email"], ["info"]),
    "CallActivityEvents": ("event", _OFFICE, ["network"], ["info"]),
    "EntraIdSignInEvents": ("event", _ENTRA, ["authentication"], ["start"]),
    "EntraIdSpnSignInEvents": ("event", _ENTRA, ["authentication"], ["start"]),
    "AADSignInEventsBeta": ("event", _ENTRA, ["authentication"], ["start"]),
    "AADSpnSignInEventsBeta": ("event", _ENTRA, ["authentication"], ["start"]),
    "IdentityEvents": ("event", _IDENTITY, ["iam"], ["info"]),
    "IdentityAccountInfo": ("asset", _XDR, ["iam"], ["user", "info"]),
    "GraphAPIAuditEvents": ("event", "Microsoft Graph", ["api"], ["access"]),
    "OAuthAppInfo": ("asset", "Microsoft Defender for Cloud Apps", ["iam"], ["info"]),
    "DeviceTvmSoftwareInventory": ("asset", _DEVICE, ["package"], ["info"]),
    "DeviceTvmSoftwareVulnerabilities": ("state", _DEVICE, ["vulnerability"], ["info"]),
    "DeviceTvmSoftwareVulnerabilitiesKB": ("enrichment", _DEVICE, ["vulnerability"], ["info"]),
    "DeviceTvmSoftwareEvidenceBeta": ("asset", _DEVICE, ["package"], ["info"]),
    "DeviceTvmSecureConfigurationAssessment": ("state", _DEVICE, ["configuration"], ["info"]),
    "DeviceTvmSecureConfigurationAssessmentKB": ("enrichment", _DEVICE, ["configuration"], ["info"]),
    "DeviceTvmBrowserExtensions": ("asset", _DEVICE, ["package"], ["info"]),
    "DeviceTvmBrowserExtensionsKB": ("enrichment", _DEVICE, ["package"], ["info"]),
    "DeviceTvmCertificateInfo": ("asset", _DEVICE, ["host"], ["info"]),
    "DeviceTvmHardwareFirmware": ("asset", _DEVICE, ["host"], ["info"]),
    "DeviceTvmInfoGathering": ("asset", _DEVICE, ["host"], ["info"]),
    "DeviceTvmInfoGatheringKB": ("enrichment", _DEVICE, ["host"], ["info"]),
    "DeviceBaselineComplianceAssessment": ("state", _DEVICE, ["configuration"], ["info"]),
    "DeviceBaselineComplianceAssessmentKB": ("enrichment", _DEVICE, ["configuration"], ["info"]),
    "DeviceBaselineComplianceProfiles": ("enrichment", _DEVICE, ["configuration"], ["info"]),
    "ExposureGraphNodes": ("asset", "Microsoft Security Exposure Management", ["configuration"], ["info"]),
    "ExposureGraphEdges": ("asset", "Microsoft Security Exposure Management", ["configuration"], ["info"]),
    "DataSecurityEvents": ("event", "Microsoft Purview", ["file"], ["info"]),
    "DataSecurityBehaviors": ("signal", "Microsoft Purview", ["intrusion_detection"], ["info"]),
    "CampaignInfo": ("enrichment", _OFFICE, ["email"], ["info"]),
    "FileMaliciousContentInfo": ("enrichment", _OFFICE, ["malware"], ["info"]),
    "DisruptionAndResponseEvents": ("event", _XDR, ["intrusion_detection"], ["info"]),
    "AgentsInfo": ("asset", _XDR, ["configuration"], ["info"]),
    "AIAgentsInfo": ("asset", _XDR, ["configuration"], ["info"]),
}
KIND_AND_PROVIDER.update({table: (kind, provider) for table, (kind, provider, _, _) in _MORE_TABLES.items()})

#: CloudAuditEvents ActionType (the documented values and the prefixed form real records carry) -> event.type.
_CLOUD_AUDIT_TYPES: dict[str, list[str]] = {
    **{name: kind for action, kind in (("Create", ["creation"]), ("Read", ["access"]), ("Update", ["change"]),
                                       ("Delete", ["deletion"])) for name in (action, "CloudAuditEvent" + action)},
}

# Alert categories that are malware rather than intrusion detection.
_MALWARE_CATEGORIES = {"Malware": ["malware"], "Ransomware": ["malware"], "UnwantedSoftware": ["malware"]}

_LOGON_TYPES = {"LogonSuccess": ["start"], "LogonFailed": ["start"], "LogonAttempted": ["start"]}
_LOGON_OUTCOMES = {"LogonSuccess": "success", "LogonFailed": "failure"}

_NETWORK_TYPES: dict[str, list[str]] = {
    "ConnectionSuccess": ["connection", "start"],
    "ConnectionFailed": ["connection", "start"],
    "ConnectionAttempt": ["connection", "start"],
    "ConnectionRequest": ["connection", "start"],
    "ConnectionAcknowledged": ["connection"],
    "ConnectionFound": ["connection", "info"],
    "InboundConnectionAccepted": ["connection", "start"],
    "ListeningConnectionCreated": ["start"],
    "InboundInternetScanInspected": ["connection", "info"],
    "NetworkSignatureInspected": ["info"],
    **{
        f"{name}ConnectionInspected": ["protocol", "info"]
        for name in ("Dns", "Http", "Ssl", "Ssh", "Icmp", "Ftp", "Smtp", "Smb", "Rdp")
    },
}
_NETWORK_CATEGORIES = {"NetworkSignatureInspected": ["network", "intrusion_detection"]}
_NETWORK_OUTCOMES = {
    "ConnectionSuccess": "success",
    "InboundConnectionAccepted": "success",
    "ConnectionFailed": "failure",
}
_NETWORK_PROTOCOLS = {
    "DnsConnectionInspected": "dns",
    "HttpConnectionInspected": "http",
    "SslConnectionInspected": "tls",
    "SshConnectionInspected": "ssh",
    "FtpConnectionInspected": "ftp",
    "SmtpConnectionInspected": "smtp",
    "SmbConnectionInspected": "smb",
    "RdpConnectionInspected": "rdp",
}
_TRANSPORTS = {
    "Tcp": "tcp",
    "TcpV4": "tcp",
    "TcpV6": "tcp",
    "Udp": "udp",
    "UdpV4": "udp",
    "UdpV6": "udp",
    "Icmp": "icmp",
    "IcmpV6": "ipv6-icmp",
    "Icmpv6": "ipv6-icmp",
}

_FILE_TYPES = {
    "FileCreated": ["creation"],
    "FileModified": ["change"],
    "FileRenamed": ["change"],
    "FileDeleted": ["deletion"],
}
_REGISTRY_TYPES = {
    "RegistryKeyCreated": ["creation"],
    "RegistryValueSet": ["change"],
    "RegistryKeyRenamed": ["change"],
    "RegistryKeyDeleted": ["deletion"],
    "RegistryValueDeleted": ["deletion"],
}
_REGISTRY_DATA_TYPES = {
    "String": "REG_SZ",
    "ExpandString": "REG_EXPAND_SZ",
    "MultiString": "REG_MULTI_SZ",
    "Dword": "REG_DWORD",
    "Qword": "REG_QWORD",
    "Binary": "REG_BINARY",
    "None": "REG_NONE",
}


def _device_event_actions() -> dict[str, tuple[list[str], list[str]]]:
    """DeviceEvents ActionType -> (event.category, event.type), for the ActionTypes known here."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for action in PROTECTION_ACTIONS:
        if "Block" in action or action.endswith("Enforced"):
            kind = ["denied"]
        elif action.endswith(("Audited", "Bypassed", "Override", "BypassEvent")):
            kind = ["allowed"]
        else:
            kind = ["info"]
        network = action.startswith(("ExploitGuardNetworkProtection", "NetworkProtection", "SmartScreenUrl"))
        out[action] = (["intrusion_detection", "network"] if network else ["intrusion_detection"], kind)
    for action in _ANTIVIRUS:
        out[action] = (["malware"], ["info"])
    groups: dict[tuple[str, ...], tuple[list[str], list[str]]] = {
        (
            "FirewallInboundConnectionBlocked",
            "FirewallInboundConnectionToAppBlocked",
            "FirewallOutboundConnectionBlocked",
        ): (["network"], ["connection", "denied"]),
        ("DnsQueryResponse", "LdapSearch"): (["network"], ["protocol", "info"]),
        ("UntrustedWifiConnection",): (["network"], ["connection", "info"]),
        ("RemoteDesktopConnection",): (["session"], ["start"]),
        ("UsbDriveMounted", "UsbDriveMount", "UsbDriveUnmounted", "UsbDriveUnmount", "PnpDeviceConnected"): (
            ["host"],
            ["change"],
        ),
        ("PnpDeviceAllowed",): (["host"], ["access"]),
        ("PnpDeviceBlocked", "RemovableStoragePolicyTriggered", "BluetoothPolicyTriggered"): (["host"], ["access"]),
        ("DriverLoad",): (["driver"], ["start"]),
        ("ScheduledTaskCreated", "NetworkShareObjectAdded"): (["configuration"], ["creation"]),
        ("ScheduledTaskDeleted", "NetworkShareObjectDeleted"): (["configuration"], ["deletion"]),
        (
            "ScheduledTaskUpdated",
            "ScheduledTaskEnabled",
            "ScheduledTaskDisabled",
            "NetworkShareObjectModified",
            "AuditPolicyModification",
            "SecurityLogCleared",
            "TamperingAttempt",
            "FirewallServiceStopped",
            "PlistPropertyModified",
        ): (["configuration"], ["change"]),
        ("ServiceInstalled",): (["configuration"], ["creation"]),
        ("UserAccountCreated",): (["iam"], ["user", "creation"]),
        ("UserAccountDeleted",): (["iam"], ["user", "deletion"]),
        ("UserAccountModified", "PasswordChangeAttempt"): (["iam"], ["user", "change"]),
        ("UserAccountAddedToLocalGroup", "UserAccountRemovedFromLocalGroup"): (["iam"], ["group", "change"]),
        ("SecurityGroupCreated",): (["iam"], ["group", "creation"]),
        ("SecurityGroupDeleted",): (["iam"], ["group", "deletion"]),
        ("LogonRightsSettingEnabled",): (["iam"], ["change"]),
        ("ProcessCreatedUsingWmiQuery",): (["process"], ["start"]),
        (
            "CreateRemoteThreadApiCall",
            "OpenProcessApiCall",
            "ReadProcessMemoryApiCall",
            "WriteProcessMemoryApiCall",
            "WriteToLsassProcessMemory",
            "QueueUserApcRemoteApiCall",
            "SetThreadContextRemoteApiCall",
            "NtAllocateVirtualMemoryApiCall",
            "NtAllocateVirtualMemoryRemoteApiCall",
            "NtMapViewOfSectionRemoteApiCall",
            "NtProtectVirtualMemoryApiCall",
            "MemoryRemoteProtect",
        ): (["process"], ["access"]),
        ("ProcessPrimaryTokenModified",): (["process"], ["change"]),
        ("PowerShellCommand",): (["process"], ["info"]),
        ("SensitiveFileRead", "NetworkShareObjectAccessChecked"): (["file"], ["access"]),
        ("FileTimestampModificationEvent",): (["file"], ["change"]),
        ("ShellLinkCreateFileEvent",): (["file"], ["creation"]),
        ("RemovableStorageFileEvent",): (["file"], ["info"]),
        ("BrowserLaunchedToOpenUrl",): (["web"], ["info"]),
    }
    for actions, value in groups.items():
        for action in actions:
            out[action] = value
    return out


_ANTIVIRUS = (
    "AntivirusDetection",
    "AntivirusDetectionActionType",
    "AntivirusReport",
    "AntivirusError",
    "AntivirusMalwareActionFailed",
    "AntivirusMalwareBlocked",
    "AntivirusScanCancelled",
    "AntivirusScanCompleted",
    "AntivirusScanFailed",
    "AntivirusEmergencyUpdatesInstalled",
    "AntivirusTroubleshootModeEvent",
)

_DEVICE_EVENT_ACTIONS = _device_event_actions()

_IDENTITY_DIRECTORY_TYPES = {
    "Account Password changed": ["user", "change"],
    "Account Password Never Expires changed": ["user", "change"],
    "Account Password expiry changed": ["user", "change"],
    "Account Disabled changed": ["user", "change"],
    "Account Enabled changed": ["user", "change"],
    "Account Name changed": ["user", "change"],
    "Account Upn Name changed": ["user", "change"],
    "Account Display Name changed": ["user", "change"],
    "Account Path changed": ["user", "change"],
    "Account Delegation changed": ["user", "change"],
    "Account Constrained Delegation State changed": ["user", "change"],
    "Account Supported Encryption Types changed": ["user", "change"],
    "Account Locked changed": ["user", "change"],
    "Group Membership changed": ["group", "change"],
    "Security Principal created": ["creation"],
    "Security Principal deleted": ["deletion"],
    "Security Principal Sam Name changed": ["change"],
    "Security Principal Display Name changed": ["change"],
    "Security Principal Path changed": ["change"],
}

_CLICK_OUTCOMES = {"ClickAllowed": "success", "ClickBlocked": "failure", "ClickBlockedByTenantPolicy": "failure"}
_RESULT_OUTCOMES = {"Success": "success", "Succeeded": "success", "Error": "failure", "Failed": "failure"}


def _categorization(table: str, kind: str, category: Spec, type_: Spec, outcome: Spec | None = None) -> Rules:
    rules: Rules = {"event.kind": const(kind), "event.category": category, "event.type": type_}
    if outcome is not None:
        rules["event.outcome"] = outcome
    return rules


def _event(table: str) -> Rules:
    """event.kind / category / type / outcome of ``table``."""
    kind = KIND_AND_PROVIDER[table][0]
    action = "ActionType"
    fixed: dict[str, tuple[list[str], list[str]]] = {
        "DeviceInfo": (["host"], ["info"]),
        "DeviceNetworkInfo": (["host"], ["info"]),
        "DeviceFileCertificateInfo": (["file"], ["info"]),
        "DeviceImageLoadEvents": (["library"], ["start"]),
        "EmailEvents": (["email"], ["info"]),
        "EmailAttachmentInfo": (["email"], ["info"]),
        "EmailUrlInfo": (["email"], ["info"]),
        "IdentityQueryEvents": (["network"], ["protocol"]),
        "IdentityInfo": (["iam"], ["user", "info"]),
        "CloudAppEvents": (["web"], ["info"]),
        "AlertEvidence": (["intrusion_detection"], ["info"]),
    }
    if table in fixed:
        category, type_ = fixed[table]
        return _categorization(table, kind, const(category), const(type_))
    if table == "CloudAuditEvents":
        return _categorization(table, kind, const(["configuration"]), lookup(action, _CLOUD_AUDIT_TYPES, ["info"]))
    if table in _MORE_TABLES:
        category, type_ = _MORE_TABLES[table][2:]
        return _categorization(table, kind, const(category), const(type_))
    if table in ("AlertInfo", "SiemAlert"):
        return _categorization(
            table, kind, lookup("Category", _MALWARE_CATEGORIES, ["intrusion_detection"]), const(["info"])
        )
    if table == "DeviceProcessEvents":
        return _categorization(table, kind, const(["process"]), lookup(action, {"ProcessCreated": ["start"]}, ["info"]))
    if table == "DeviceNetworkEvents":
        return _categorization(
            table,
            kind,
            lookup(action, _NETWORK_CATEGORIES, ["network"]),
            lookup(action, _NETWORK_TYPES, ["info"]),
            lookup(action, _NETWORK_OUTCOMES),
        )
    if table == "DeviceFileEvents":
        return _categorization(table, kind, const(["file"]), lookup(action, _FILE_TYPES, ["info"]))
    if table == "DeviceRegistryEvents":
        return _categorization(table, kind, const(["registry"]), lookup(action, _REGISTRY_TYPES, ["change"]))
    if table in ("DeviceLogonEvents", "IdentityLogonEvents"):
        return _categorization(
            table,
            kind,
            const(["authentication"]),
            lookup(action, _LOGON_TYPES, ["info"]),
            lookup(action, _LOGON_OUTCOMES),
        )
    if table == "DeviceEvents":
        actions = _DEVICE_EVENT_ACTIONS
        return _categorization(
            table,
            kind,
            lookup(action, {a: c for a, (c, _) in actions.items()}, ["host"]),
            lookup(action, {a: t for a, (_, t) in actions.items()}, ["info"]),
        )
    if table == "EmailPostDeliveryEvents":
        return _categorization(table, kind, const(["email"]), const(["info"]), lookup("ActionResult", _RESULT_OUTCOMES))
    if table == "UrlClickEvents":
        return _categorization(table, kind, const(["web"]), const(["access"]), lookup(action, _CLICK_OUTCOMES))
    if table == "IdentityDirectoryEvents":
        return _categorization(table, kind, const(["iam"]), lookup(action, _IDENTITY_DIRECTORY_TYPES, ["info"]))
    raise KeyError(table)  # pragma: no cover - every table is above


# --- field groups ------------------------------------------------------------------------

#: ECS process sub-fields -> column of the initiating process (the actor of a Device event).
INITIATING_PROCESS: dict[str, Spec] = {
    "pid": "InitiatingProcessId",
    "entity_id": "InitiatingProcessUniqueId",
    "name": "InitiatingProcessFileName",
    "executable": "InitiatingProcessFolderPath",
    "command_line": "InitiatingProcessCommandLine",
    "args": col("InitiatingProcessCommandLine", "args"),
    "start": iso("InitiatingProcessCreationTime"),
    "hash.md5": "InitiatingProcessMD5",
    "hash.sha1": "InitiatingProcessSHA1",
    "hash.sha256": "InitiatingProcessSHA256",
    "pe.company": "InitiatingProcessVersionInfoCompanyName",
    "pe.product": "InitiatingProcessVersionInfoProductName",
    "pe.description": "InitiatingProcessVersionInfoFileDescription",
    "pe.original_file_name": "InitiatingProcessVersionInfoOriginalFileName",
    "code_signature.status": "InitiatingProcessSignatureStatus",
    "user.name": "InitiatingProcessAccountName",
    "user.id": "InitiatingProcessAccountSid",
}

#: ECS process sub-fields -> column of the process that DeviceProcessEvents reports created.
CREATED_PROCESS: dict[str, Spec] = {
    "pid": "ProcessId",
    "entity_id": "ProcessUniqueId",
    "name": "FileName",
    "executable": "FolderPath",
    "command_line": "ProcessCommandLine",
    "args": col("ProcessCommandLine", "args"),
    "start": iso("ProcessCreationTime"),
    "hash.md5": "MD5",
    "hash.sha1": "SHA1",
    "hash.sha256": "SHA256",
    "pe.company": "ProcessVersionInfoCompanyName",
    "pe.product": "ProcessVersionInfoProductName",
    "pe.description": "ProcessVersionInfoFileDescription",
    "pe.original_file_name": "ProcessVersionInfoOriginalFileName",
    "user.name": "AccountName",
    "user.id": "AccountSid",
}

#: ECS process sub-fields -> column of the initiating process's parent.
INITIATING_PROCESS_PARENT: dict[str, Spec] = {
    "pid": "InitiatingProcessParentId",
    "name": "InitiatingProcessParentFileName",
    "start": iso("InitiatingProcessParentCreationTime"),
}


def _prefixed(prefix: str, fields: Mapping[str, Spec]) -> Rules:
    return {f"{prefix}.{name}": spec for name, spec in fields.items()}


def _user(prefix: str, name: str, domain: str, sid: str, upn: str | None = None) -> Rules:
    rules: Rules = {f"{prefix}.name": name, f"{prefix}.domain": domain, f"{prefix}.id": sid}
    if upn:
        rules[f"{prefix}.email"] = upn
    return rules


_ACCOUNT = _user("user", first("AccountName", "AccountUpn"), "AccountDomain", "AccountSid", "AccountUpn")
_ACTOR = _user(
    "user",
    first("InitiatingProcessAccountName", "InitiatingProcessAccountUpn"),
    "InitiatingProcessAccountDomain",
    "InitiatingProcessAccountSid",
    "InitiatingProcessAccountUpn",
)

_HOST: Rules = {"host.name": lower("DeviceName"), "host.id": "DeviceId", "device.id": "DeviceId"}

_FILE: Rules = {
    "file.name": "FileName",
    "file.path": "FolderPath",
    "file.extension": col("FileName", "extension"),
    "file.size": "FileSize",
    "file.hash.md5": "MD5",
    "file.hash.sha1": "SHA1",
    "file.hash.sha256": "SHA256",
    "file.origin_url": "FileOriginUrl",
    "file.origin_referrer_url": "FileOriginReferrerUrl",
}

_REGISTRY: Rules = {
    "registry.hive": col("RegistryKey", "registry_hive"),
    "registry.key": col("RegistryKey", "registry_key"),
    "registry.value": "RegistryValueName",
    "registry.path": {"collect": ["RegistryKey", "RegistryValueName"], "transform": "join:\\"},
    "registry.data.strings": collect("RegistryValueData"),
    "registry.data.type": lookup("RegistryValueType", _REGISTRY_DATA_TYPES),
}


def _network(local_ip: str, local_port: str, remote_ip: str, remote_port: str, remote_name: str | None) -> Rules:
    """source/destination of a connection: the side that opened it is the source (condition ``inbound``)."""
    rules: Rules = {
        "source.ip": when("inbound", ip(remote_ip), ip(local_ip)),
        "source.port": when("inbound", remote_port, local_port),
        "destination.ip": when("inbound", ip(local_ip), ip(remote_ip)),
        "destination.port": when("inbound", local_port, remote_port),
        "network.direction": when("inbound", const("ingress"), when("egress", const("egress"))),
    }
    if remote_name:
        rules["source.domain"] = when("inbound", col(remote_name, "domain"))
        rules["destination.domain"] = when("inbound", const(None), col(remote_name, "domain"))
    return rules


_IP_COLUMNS = (
    "LocalIP",
    "RemoteIP",
    "FileOriginIP",
    "RequestSourceIP",
    "InitiatingProcessRemoteSessionIP",
    "ProcessRemoteSessionIP",
    "PublicIP",
    "IPv4Dhcp",
    "IPv6Dhcp",
    "SenderIPv4",
    "SenderIPv6",
    "IPAddress",
    "DestinationIPAddress",
    "IpAddress",
)
_IP_LIST_COLUMNS = ("InternalIPv4List", "InternalIPv6List", "DnsAddresses", "DefaultGateways")
_USER_COLUMNS = (
    "AccountName",
    "AccountUpn",
    "InitiatingProcessAccountName",
    "InitiatingProcessAccountUpn",
    "RequestAccountName",
    "TargetAccountUpn",
    "RecipientEmailAddress",
    "SenderFromAddress",
    "SenderMailFromAddress",
    "EmailAddress",
    "UserName",
)
_HOST_COLUMNS = (
    "DeviceName",
    "RemoteDeviceName",
    "DestinationDeviceName",
    "TargetDeviceName",
    "InitiatingProcessRemoteSessionDeviceName",
    "ProcessRemoteSessionDeviceName",
    "ComputerDnsName",
)
_HASH_COLUMNS = (
    "SHA1",
    "SHA256",
    "MD5",
    "InitiatingProcessSHA1",
    "InitiatingProcessSHA256",
    "InitiatingProcessMD5",
    "Sha1",
    "Sha256",
    "Md5",
    "FileHash",
)


def _related(table: str) -> Rules:
    cols = DOCUMENTED_TYPES[table]
    ips = [ip(c) for c in _IP_COLUMNS if c in cols] + [col(c, "list", "ip_list") for c in _IP_LIST_COLUMNS if c in cols]
    if "IPAddresses" in cols:
        ips.append(col("IPAddresses", "pluck:IPAddress", "ip_list"))
    users: list[Spec] = [c for c in _USER_COLUMNS if c in cols]
    if "LoggedOnUsers" in cols:
        users.append(col("LoggedOnUsers", "pluck:UserName", "list"))
    if "LogOnUsers" in cols:
        users.append(col("LogOnUsers", "list"))
    hosts = [lower(c) for c in _HOST_COLUMNS if c in cols]
    hashes = [c for c in _HASH_COLUMNS if c in cols]
    rules: Rules = {}
    for name, items in (("ip", ips), ("user", users), ("hosts", hosts), ("hash", hashes)):
        if items:
            rules[f"related.{name}"] = collect(*items)
    return rules


def _threat(tactics: str | None, techniques: str | None = "AttackTechniques") -> Rules:
    rules: Rules = {}
    if tactics:
        rules["threat.tactic.id"] = col(tactics, "mitre_tactic_ids")
        rules["threat.tactic.name"] = col(tactics, "mitre_tactic_names")
    if techniques:
        rules |= {
            "threat.framework": col(techniques, "list", "mitre_technique_ids", "const:MITRE ATT&CK"),
            "threat.technique.id": col(techniques, "list", "mitre_technique_ids"),
            "threat.technique.name": col(techniques, "list", "mitre_technique_names"),
            "threat.technique.subtechnique.id": col(techniques, "list", "mitre_subtechnique_ids"),
            "threat.technique.subtechnique.name": col(techniques, "list", "mitre_subtechnique_names"),
        }
    return rules


def _email(direction: bool = True) -> Rules:
    rules: Rules = {
        "email.message_id": "InternetMessageId",
        "email.local_id": "NetworkMessageId",
        "email.subject": "Subject",
        "email.from.address": collect("SenderFromAddress"),
        "email.sender.address": "SenderMailFromAddress",
        "email.to.address": first(col("To", "list"), collect("RecipientEmailAddress")),
        "email.cc.address": col("Cc", "list"),
    }
    if direction:
        rules["email.direction"] = lower("EmailDirection")
    return rules


# --- the tables -----------------------------------------------------------------------------

#: The Device tables of events (not the DeviceInfo-like snapshots).
_SIGN_IN: Rules = {
    "source.ip": ip("IPAddress"),
    "source.geo.country_iso_code": "Country",
    "source.geo.region_name": "State",
    "source.geo.city_name": "City",
    "user_agent.original": "UserAgent",
    "cloud.service.name": "Application",
    "event.id": first("RequestId", col("ReportId", "str")),
}
_CLOUD_WORKLOAD: Rules = {
    "container.id": "ContainerId",
    "container.name": "ContainerName",
    "container.image.name": first("ContainerImageName", "ImageName"),
    "orchestrator.namespace": "KubernetesNamespace",
    "orchestrator.resource.name": "KubernetesPodName",
    "host.name": lower("HostName"),
    "cloud.region": "Region",
}

#: ECS fields of the tables added with the 2026-11-29 schema, where a column has an obvious home.
_MORE_TABLE_RULES: dict[str, Rules] = {
    "BehaviorInfo": {
        **_HOST,
        "message": "Title",
        "rule.name": "Title",
        "rule.description": "Description",
        "event.id": "BehaviorId",
        "event.provider": first("ServiceSource", const(_XDR)),
        "event.start": iso("StartTime"),
        "event.end": iso("EndTime"),
        "user.email": "AccountUpn",
        "user.name": "AccountUpn",
        "user.id": "AccountObjectId",
        **_threat("Categories"),
    },
    "BehaviorEntities": {
        **_HOST,
        **_ACCOUNT,
        **_FILE,
        **_REGISTRY,
        "event.id": "BehaviorId",
        "event.provider": first("ServiceSource", const(_XDR)),
        "process.command_line": "ProcessCommandLine",
        "url.original": "RemoteUrl",
        "email.local_id": "NetworkMessageId",
        "email.subject": "EmailSubject",
        "threat.software.name": "ThreatFamily",
        "cloud.provider": lower("CloudPlatform"),
        "cloud.account.id": "CloudSubscriptionId",
    },
    "CloudAuditEvents": {
        "source.ip": col("IPAddress", "first_ip"),
        "source.geo.country_iso_code": "CountryCode",
        "source.geo.city_name": "City",
        "source.as.organization.name": "Isp",
        "user_agent.original": "UserAgent",
        "user.name": "Account",
        "cloud.provider": lower("AuditSource"),
    },
    "CloudProcessEvents": {
        **_CLOUD_WORKLOAD,
        "process.pid": "ProcessId",
        "process.name": first("ProcessName", "FileName"),
        "process.executable": "FolderPath",
        "process.command_line": "ProcessCommandLine",
        "process.args": col("ProcessCommandLine", "args"),
        "process.start": iso("ProcessCreationTime"),
        "process.working_directory": "ProcessCurrentWorkingDirectory",
        "process.parent.pid": col("ParentProcessId", "int"),  # documented string, sent as a number
        "process.parent.name": "ParentProcessName",
        "user.name": "AccountName",
    },
    "CloudDnsEvents": {
        **_CLOUD_WORKLOAD,
        "process.pid": "ProcessId",
        "process.name": "ProcessName",
        "dns.question.name": "DnsQuery",
        "dns.question.type": "DnsQueryTypeName",
        "dns.response_code": "DnsResponseCodeName",
        "dns.id": "TransactionIdHex",
    },
    "CloudPolicyEnforcementEvents": {**_CLOUD_WORKLOAD},
    "CloudStorageAggregatedEvents": {
        "source.ip": ip("IpAddress"),
        "user.email": "AccountUpn",
        "user.name": "AccountUpn",
        "user.id": "AccountObjectId",
        "user_agent.original": "UserAgentHeader",
        "cloud.account.id": "SubscriptionId",
        "cloud.region": "Location",
        "event.start": iso("DataAggregationStartTime"),
        "event.end": iso("DataAggregationEndTime"),
    },
    "MessageEvents": {
        "email.local_id": "TeamsMessageId",
        "email.from.address": collect("SenderEmailAddress"),
        "email.subject": first("Subject", "MessageSubject"),
        "event.action": "DeliveryAction",
    },
    "MessagePostDeliveryEvents": {
        "email.local_id": "TeamsMessageId",
        "email.from.address": collect("SenderEmailAddress"),
        "event.outcome": lookup("ActionResult", _RESULT_OUTCOMES),
    },
    "MessageUrlInfo": {
        "email.local_id": "TeamsMessageId",
        "url.original": "Url",
        "url.full": "Url",
        "url.domain": first("UrlDomain", col("Url", "domain")),
    },
    "MessageContents": {"email.local_id": "TeamsMessageId"},
    **{
        table: {
            **_SIGN_IN,
            "user.email": "AccountUpn",
            "user.name": "AccountUpn",
            "user.id": "AccountObjectId",
            "user.full_name": "AccountDisplayName",
            "host.name": lower("DeviceName"),
            "host.os.name": "OSPlatform",
        }
        for table in ("EntraIdSignInEvents", "AADSignInEventsBeta")
    },
    **{
        table: {**_SIGN_IN, "user.name": "ServicePrincipalName", "user.id": "ServicePrincipalId"}
        for table in ("EntraIdSpnSignInEvents", "AADSpnSignInEventsBeta")
    },
    "IdentityEvents": {
        "source.ip": ip("IPAddress"),
        "user.email": "AccountUpn",
        "user.id": "AccountId",
        "user.full_name": "AccountDisplayName",
        "user_agent.original": "UserAgent",
        "event.reason": "ActionFailureReason",
        "cloud.service.name": "Application",
    },
    "GraphAPIAuditEvents": {
        "source.ip": ip("IpAddress"),
        "user.id": "AccountObjectId",
        "url.original": "RequestUri",
        "http.request.method": "RequestMethod",
        "http.response.status_code": col("ResponseStatusCode", "int"),
        "http.request.id": "ClientRequestId",
    },
    "DeviceTvmSoftwareVulnerabilities": {
        "vulnerability.id": "CveId",
        "vulnerability.severity": "VulnerabilitySeverityLevel",
        "package.name": "SoftwareName",
        "package.version": "SoftwareVersion",
    },
    "DeviceTvmSoftwareInventory": {"package.name": "SoftwareName", "package.version": "SoftwareVersion"},
}


_DEVICE_EVENT_TABLES = tuple(t for t in DOCUMENTED_TYPES if t.startswith("Device") and t.endswith("Events"))


def _table_rules(table: str) -> Rules:
    """The ECS fields of ``table`` (before the vendor namespace)."""
    rules: Rules = {}
    cols = DOCUMENTED_TYPES[table]
    if table in _DEVICE_EVENT_TABLES:
        rules |= _HOST
        if table == "DeviceProcessEvents":
            rules |= _prefixed("process", CREATED_PROCESS)
            rules |= _prefixed("process.parent", INITIATING_PROCESS)
            rules |= _ACCOUNT
        else:
            rules |= _prefixed("process", INITIATING_PROCESS)
            rules |= _prefixed("process.parent", INITIATING_PROCESS_PARENT)
            rules |= _ACCOUNT if table == "DeviceLogonEvents" else _ACTOR
    if table == "DeviceNetworkEvents":
        rules |= _network("LocalIP", "LocalPort", "RemoteIP", "RemotePort", "RemoteUrl")
        rules |= {
            "network.transport": lookup("Protocol", _TRANSPORTS),
            "network.protocol": lookup("ActionType", _NETWORK_PROTOCOLS),
            "url.original": "RemoteUrl",
            "dns.question.name": col("AdditionalFields", "json_value", "get:query", "str"),
            "dns.question.type": col("AdditionalFields", "json_value", "get:qtype_name", "str"),
            "dns.response_code": col("AdditionalFields", "json_value", "get:rcode_name", "str"),
            "dns.type": col("AdditionalFields", "json_value", "get:rcode_name", "const:answer"),
            "dns.answers": col("AdditionalFields", "json_value", "dns_answers"),
            "dns.resolved_ip": col("AdditionalFields", "json_value", "get:answers", "list", "ip_list"),
        }
    elif table == "DeviceFileEvents":
        rules |= _FILE
        rules |= {
            "source.ip": ip("RequestSourceIP"),
            "source.port": "RequestSourcePort",
            "network.protocol": lookup("RequestProtocol", {"SMB": "smb", "NFS": "nfs"}),
        }
        rules |= _user("source.user", "RequestAccountName", "RequestAccountDomain", "RequestAccountSid")
    elif table == "DeviceRegistryEvents":
        rules |= _REGISTRY
    elif table == "DeviceLogonEvents":
        rules |= {
            "source.ip": ip("RemoteIP"),
            "source.port": "RemotePort",
            "source.domain": lower("RemoteDeviceName"),
            "event.reason": "FailureReason",
        }
    elif table == "DeviceImageLoadEvents":
        rules |= {
            "dll.name": "FileName",
            "dll.path": "FolderPath",
            "dll.hash.md5": "MD5",
            "dll.hash.sha1": "SHA1",
            "dll.hash.sha256": "SHA256",
        }
    elif table == "DeviceEvents":
        rules |= _FILE
        rules |= _REGISTRY
        rules |= _network("LocalIP", "LocalPort", "RemoteIP", "RemotePort", None)
        rules |= {"url.original": "RemoteUrl"}
        rules |= _user("user.target", "AccountName", "AccountDomain", "AccountSid")
    elif table == "DeviceInfo":
        rules |= _HOST
        rules |= {
            "host.ip": collect(ip("PublicIP")),
            "host.type": "DeviceType",
            "host.architecture": "OSArchitecture",
            "host.os.name": "OSPlatform",
            "host.os.type": col("OSPlatform", "os_type"),
            "host.os.version": "OSVersion",
            "device.manufacturer": "Vendor",
            "device.model.name": "Model",
            "cloud.instance.id": "AzureVmId",
            "cloud.account.id": "AzureVmSubscriptionId",
            "cloud.provider": col("CloudPlatforms", "list", "first", "lower"),
        }
    elif table == "DeviceNetworkInfo":
        rules |= _HOST
        rules |= {
            "host.ip": col("IPAddresses", "pluck:IPAddress", "ip_list"),
            "host.mac": collect(col("MacAddress", "mac")),
        }
    elif table == "DeviceFileCertificateInfo":
        rules |= _HOST
        rules |= {
            "file.hash.sha1": "SHA1",
            "file.code_signature.exists": "IsSigned",
            "file.code_signature.trusted": "IsTrusted",
            "file.code_signature.subject_name": "Signer",
            "file.code_signature.timestamp": iso("CertificateCountersignatureTime"),
            "file.x509.subject.common_name": collect("Signer"),
            "file.x509.issuer.common_name": collect("Issuer"),
            "file.x509.serial_number": "CertificateSerialNumber",
            "file.x509.not_before": iso("CertificateCreationTime"),
            "file.x509.not_after": iso("CertificateExpirationTime"),
        }
    elif table in ("AlertInfo", "AlertEvidence"):
        rules |= {
            "message": "Title",
            "event.id": "AlertId",
            "event.provider": first("ServiceSource", const(KIND_AND_PROVIDER[table][1])),
            "rule.name": "Title",
        }
        if table == "AlertInfo":
            rules |= {"rule.category": "Category", **_threat("Category")}
        else:
            rules |= _HOST
            rules |= _ACCOUNT
            rules |= _FILE
            rules |= _REGISTRY
            rules |= _threat("Categories")
            rules |= {
                "process.command_line": "ProcessCommandLine",
                "process.args": col("ProcessCommandLine", "args"),
                "source.ip": when("evidence_source", ip("RemoteIP"), ip("LocalIP")),
                "destination.ip": when("evidence_source", ip("LocalIP"), ip("RemoteIP")),
                "url.original": "RemoteUrl",
                "url.domain": col("RemoteUrl", "domain"),
                "email.local_id": "NetworkMessageId",
                "email.subject": "EmailSubject",
                "threat.software.name": "ThreatFamily",
                "cloud.provider": lower("CloudPlatform"),
                "cloud.account.id": "SubscriptionId",
            }
    elif table == "EmailEvents":
        rules |= _email()
        rules |= {
            "event.action": "DeliveryAction",
            "source.ip": first(ip("SenderIPv4"), ip("SenderIPv6")),
            "user.email": "RecipientEmailAddress",
            "user.id": "RecipientObjectId",
        }
    elif table == "EmailAttachmentInfo":
        rules |= _email(direction=False)
        rules |= {
            "file.name": "FileName",
            "file.extension": col("FileName", "extension"),
            "file.size": "FileSize",
            "file.hash.sha256": "SHA256",
            "email.attachments": _attachments,
            "user.email": "RecipientEmailAddress",
            "user.id": "RecipientObjectId",
        }
    elif table == "EmailPostDeliveryEvents":
        rules |= _email()
        rules |= {
            "email.to.address": collect("RecipientEmailAddress"),
            "user.email": "RecipientEmailAddress",
        }
    elif table == "EmailUrlInfo":
        rules |= {
            "email.local_id": "NetworkMessageId",
            "url.original": "Url",
            "url.full": "Url",
            "url.domain": first("UrlDomain", col("Url", "domain")),
        }
    elif table == "UrlClickEvents":
        rules |= {
            "email.local_id": "NetworkMessageId",
            "url.original": "Url",
            "url.full": "Url",
            "url.domain": col("Url", "domain"),
            "source.ip": ip("IPAddress"),
            "user.name": "AccountUpn",
            "user.email": "AccountUpn",
        }
    elif table in ("IdentityLogonEvents", "IdentityQueryEvents", "IdentityDirectoryEvents"):
        rules |= _ACCOUNT
        rules |= {
            "user.full_name": "AccountDisplayName",
            "user.target.email": "TargetAccountUpn",
            "user.target.full_name": "TargetAccountDisplayName",
            "host.target.name": lower("TargetDeviceName"),
            "source.ip": ip("IPAddress"),
            "source.port": "Port",
            "source.domain": lower("DeviceName"),
            "source.as.organization.name": first("Isp", "ISP"),
            "destination.ip": ip("DestinationIPAddress"),
            "destination.port": "DestinationPort",
            "destination.domain": lower("DestinationDeviceName"),
            "network.protocol": lower("Protocol"),
            "event.reason": "FailureReason",
        }
    elif table == "IdentityInfo":
        rules |= _ACCOUNT
        rules |= {
            "user.email": first("EmailAddress", "AccountUpn"),
            "user.id": first("OnPremSid", "CloudSid"),
            "user.full_name": "AccountDisplayName",
            "user.roles": col("AssignedRoles", "list"),
            "user.risk.calculated_level": "RiskLevel",
        }
    elif table == "CloudAppEvents":
        rules |= {
            "user.id": first("AccountObjectId", "AccountId"),
            "user.full_name": "AccountDisplayName",
            "source.ip": ip("IPAddress"),
            "source.geo.country_iso_code": "CountryCode",
            "source.geo.city_name": "City",
            "source.as.organization.name": "Isp",
            "user_agent.original": "UserAgent",
            "user_agent.os.name": "OSPlatform",
            "cloud.service.name": "Application",
        }
    elif table == "SiemAlert":
        rules |= {
            "message": "AlertTitle",
            "event.id": "AlertId",
            "event.url": "LinkToMTP",
            "rule.name": "AlertTitle",
            "rule.id": "IoaDefinitionId",
            "rule.description": "Description",
            "rule.category": "Category",
            **_threat("Category", None),
            "threat.group.name": "Actor",
            "threat.software.name": "ThreatFamily",
            "host.name": lower("ComputerDnsName"),
            "host.hostname": "MachineName",
            "host.domain": "MachineDomain",
            "host.id": "DeviceID",
            "device.id": "DeviceID",
            "host.ip": collect(col("InternalIPv4List", "list", "ip_list"), col("InternalIPv6List", "list", "ip_list")),
            "user.name": "UserName",
            "user.domain": "UserDomain",
            "file.name": "FileName",
            "file.directory": "FilePath",
            "file.extension": col("FileName", "extension"),
            "file.hash.md5": "Md5",
            "file.hash.sha1": "Sha1",
            "file.hash.sha256": "Sha256",
            "process.command_line": "CommandLine",
            "process.args": col("CommandLine", "args"),
            "url.original": "Url",
            "url.domain": col("Url", "domain"),
        }
    rules |= _MORE_TABLE_RULES.get(table, {})
    if table.startswith(("DeviceTvm", "DeviceBaselineCompliance")) and "DeviceId" in cols:
        rules |= {**_HOST, "host.os.name": "OSPlatform", "host.os.version": "OSVersion"}
    if "ActionType" in cols and "event.action" not in rules:
        rules["event.action"] = "ActionType"
    if "ReportId" in cols and "event.id" not in rules:
        rules["event.id"] = col("ReportId", "str")
    rules |= _related(table)
    return rules


def _attachments(record: Record) -> list[dict[str, Any]] | None:
    """``email.attachments`` of an EmailAttachmentInfo row: ``[{"file": {name, extension, size, hash}}]``."""
    props = record.properties
    name, size, sha256 = props.FileName, props.FileSize, props.SHA256
    file: dict[str, Any] = {}
    if name:
        file["name"] = name
        extension = _EXTENSION(name)
        if extension:
            file["extension"] = extension
    if size is not None:
        file["size"] = size
    if sha256:
        file["hash"] = {"sha256": sha256}
    return [{"file": file}] if file else None


_EXTENSION = transform("extension")


def _common(table: str) -> Rules:
    """The fields of every known table, ahead of its own."""
    provider = KIND_AND_PROVIDER[table][1]
    time = "AlertTime" if table == "SiemAlert" else "Timestamp"
    rules: Rules = {
        "@timestamp": first(iso(time), iso("LastProcessedTimeUtc"))
        if table == "SiemAlert"
        else first(iso(time), {"envelope": "time", "transform": "iso"}),
        "ecs.version": const(ECS_VERSION),
        **_event(table),
        "event.module": const(VENDOR),
        "event.dataset": const(vendor_prefix(table)),
        "event.provider": const(provider),
    }
    if table != "SiemAlert":
        rules |= _ENVELOPE
    return rules


def _extra(record: Record) -> dict[str, Any] | None:
    """The record's undeclared columns and values that did not fit their column, as they arrived."""
    return dict(record.extra) if record.extra else None


def _envelope_extra(record: Record) -> dict[str, Any] | None:
    """Envelope keys of the record that are not attributes, and envelope values that did not fit."""
    return dict(record.envelope_extra) if record.envelope_extra else None


def _properties(record: Record) -> dict[str, Any] | None:
    """The whole row of a record of a table this version does not know."""
    props = record.properties
    return dict(props) if isinstance(props, dict) and props else None


_ENVELOPE: Rules = {
    "event.created": {"envelope": "time", "transform": "iso"},
    "organization.id": {"envelope": "tenantId"},
    f"{VENDOR}.envelope.operationName": {"envelope": "operationName"},
    f"{VENDOR}.envelope.Tenant": {"envelope": "Tenant"},
    f"{VENDOR}.envelope._TimeReceivedBySvc": {"envelope": "_TimeReceivedBySvc", "transform": "iso"},
    f"{VENDOR}.envelope_extra": {"call": _envelope_extra},
}

#: The rules of records of tables this version does not know (the ``"*"`` rules).
UNKNOWN_TABLE_RULES: Rules = {
    "@timestamp": first(iso("Timestamp"), {"envelope": "time", "transform": "iso"}),
    "ecs.version": const(ECS_VERSION),
    "event.kind": const("event"),
    "event.action": "ActionType",
    "event.id": col("ReportId", "str"),
    "event.module": const(VENDOR),
    "event.dataset": {"envelope": "table", "transform": ["snake_case", f"prefix:{VENDOR}."]},
    **_ENVELOPE,
    "host.name": lower("DeviceName"),
    "host.id": "DeviceId",
    "user.name": "AccountName",
    "user.domain": "AccountDomain",
    "user.id": "AccountSid",
    "user.email": "AccountUpn",
    f"{VENDOR}.properties": {"call": _properties},
    f"{VENDOR}.extra": {"call": _extra},
}


# --- what ECS keeps, and the vendor namespace ---------------------------------------------

#: Transforms that keep every valid value (placeholders and invalid values aside).
LOSSLESS = frozenset(
    {"ip", "iso", "int", "str", "lower", "upper", "mac", "json", "json_value", "list", "split", "ip_list"}
)


def _kept(spec: Spec, truth: Mapping[str, bool]) -> set[str]:
    """Columns whose every valid value ``spec`` always puts in the document, given the conditions' values."""
    if isinstance(spec, str):
        return {spec}
    if not isinstance(spec, Mapping) or "map" in spec:
        return set()
    names = spec.get("transform", ())
    if any(name not in LOSSLESS for name in ([names] if isinstance(names, str) else names)):
        return set()
    if "column" in spec:
        return {spec["column"]}
    if "first" in spec:
        return _kept(spec["first"][0], truth)
    if "collect" in spec:
        return set().union(*(_kept(item, truth) for item in spec["collect"]))
    if "if" in spec:
        branch = spec["then"] if truth[spec["if"]] else spec.get("else")
        return _kept(branch, truth) if branch is not None else set()
    return set()


def kept_columns(rules: Mapping[str, Spec]) -> set[str]:
    """The columns that ``rules`` keep whole, whichever way their conditions go.

    ``related.*`` does not count: it keeps a value but not what it was.
    """
    rules = {target: spec for target, spec in rules.items() if not target.startswith("related.")}
    conds = sorted({c for spec in rules.values() for c in conditions_of(spec)})
    kept: set[str] | None = None
    for values in itertools.product((False, True), repeat=len(conds)):
        truth = dict(zip(conds, values, strict=True))
        found = set().union(*(_kept(spec, truth) for spec in rules.values()))
        kept = found if kept is None else kept & found
    return kept or set()


def _json_columns(table: str) -> set[str]:
    # from the registry's data: no struct is built for it
    return {c for c, a in ANNOTATIONS[table].items() if a in ("_v.JsonText", "Any")}


def _vendor(table: str, rules: Mapping[str, Spec]) -> Rules:
    """``m365_defender.<table>.<Column>`` for every documented column that ``rules`` do not keep."""
    kept = kept_columns(rules)
    json_columns = _json_columns(table)
    prefix = vendor_prefix(table)
    out: Rules = {}
    for column, kind in DOCUMENTED_TYPES[table].items():
        if column in kept:
            continue
        if kind == "datetime":
            out[f"{prefix}.{column}"] = iso(column)
        elif column in json_columns:
            out[f"{prefix}.{column}"] = col(column, "json_value")
        else:
            out[f"{prefix}.{column}"] = column
    out[f"{VENDOR}.extra"] = {"call": _extra}
    return out



def _rules_of(table: str) -> Rules:
    """Every rule of ``table``: its ECS fields, then its other columns under the vendor namespace."""
    cols = DOCUMENTED_TYPES[table]
    rules = {**_common(table), **_table_rules(table)}
    rules = {target: fitted for target, spec in rules.items() if (fitted := fit(spec, cols)) is not None}
    rules |= _vendor(table, rules)
    for target in UNKNOWN_TABLE_RULES:
        rules.setdefault(target, None)  # the "*" rules are for unknown tables only
    return rules


def _rules() -> dict[str, Any]:
    # Each table's rules are built (and checked) when the table is first normalized.
    out: dict[str, Any] = {ALL: dict(UNKNOWN_TABLE_RULES)}
    for table in DOCUMENTED_TYPES:
        out[table] = functools.partial(_rules_of, table)
    return out


def _original(record: Record) -> str | None:
    """The record as compact JSON in its wire shape, re-encoded from the decoded record."""
    try:
        data = record.to_dict()
        props = {**data["properties"], **data["extra"]}
        wire = props if isinstance(record, SiemRecord) else {**data["envelope"], "properties": props}
        return encode_json(wire).decode()  # lone surrogates as \udXXX escapes
    except (TypeError, ValueError, OverflowError):
        return None


_DESCRIPTION = (
    "Elastic Common Schema documents: ECS fields where ECS has a place, every other column under m365_defender.<table>"
)

#: The rule set, registered as ``"ecs"``.
ECS = RuleSet("ecs", _rules(), description=_DESCRIPTION, nested=True)

_SEVERITY = {
    table: {"event.severity": col("Severity", "severity_level")}
    for table in ("AlertInfo", "AlertEvidence", "SiemAlert")
}
_ORIGINAL = {ALL: {"event.original": {"call": _original}}}

#: ``"ecs"`` plus ``event.original``.
ECS_ORIGINAL = ECS.derive("ecs+original", _ORIGINAL, description=_DESCRIPTION + "; with event.original")
#: ``"ecs"`` plus the numeric ``event.severity`` of the ``severity_level`` transform.
ECS_SEVERITY = ECS.derive("ecs+severity", _SEVERITY, description=_DESCRIPTION + "; with event.severity 1-4")
#: Both.
ECS_SEVERITY_ORIGINAL = ECS.derive(
    "ecs+severity+original",
    {**_SEVERITY, **_ORIGINAL},
    description=_DESCRIPTION + "; with event.severity 1-4 and event.original",
)

#: Every rule set of this module, registered by :mod:`m365parse.mappings`.
RULE_SETS = (ECS, ECS_ORIGINAL, ECS_SEVERITY, ECS_SEVERITY_ORIGINAL)


# --- documentation ---------------------------------------------------------------------------


_GROUPS = (
    "@timestamp",
    "message",
    "ecs",
    "event",
    "organization",
    "host",
    "device",
    "user",
    "process",
    "file",
    "dll",
    "registry",
    "source",
    "destination",
    "network",
    "url",
    "dns",
    "email",
    "user_agent",
    "rule",
    "threat",
    "cloud",
    "related",
    VENDOR,
)


def _rank(target: str) -> tuple[int, str]:
    head = target.split(".", 1)[0]
    return (_GROUPS.index(head) if head in _GROUPS else len(_GROUPS), "" if head != VENDOR else target)


def mapping_table(rule_set: RuleSet | None = None) -> str:
    """The whole mapping as Markdown: per table, each field and where its value comes from."""
    rs = rule_set or ECS
    lines = [f"# The {rs.name!r} rule set", "", rs.description + ".", ""]
    lines += ["Generated by `m365parse.mappings.ecs.mapping_table()`; a test keeps it current.", ""]
    lines += [
        "Conditions (`if ...`) and transforms (`| ...`) are documented in `m365parse/mappings/transforms.py`;",
        "`mapped (...)` looks the value up (DeviceEvents' full ActionType table is in `ecs.py`).",
        "",
    ]
    tables = [t for t in DOCUMENTED_TYPES if t != "SiemAlert"] + ["SiemAlert", ALL]
    for table in tables:
        title = "Records of unknown tables" if table == ALL else table
        lines += [f"## {title}", "", "| field | from |", "|---|---|"]
        rules = rs.rules_for(table) if table != ALL else {k: v for k, v in rs.rules[ALL].items() if v is not None}
        for target in sorted(rules, key=_rank):
            text = describe(rules[target]).replace("|", "\\|")
            lines.append(f"| `{target}` | {text} |")
        lines.append("")
    lines += ["## DeviceEvents ActionType values", "", "| ActionType | event.category | event.type |", "|---|---|---|"]
    for action, (category, kind) in _DEVICE_EVENT_ACTIONS.items():
        lines.append(f"| `{action}` | {', '.join(category)} | {', '.join(kind)} |")
    lines += ["| any other | host | info |", ""]
    from .api_rules import api_sections  # the API kinds' sections (imported here: not needed at import)

    return "\n".join(lines) + "\n" + api_sections("ecs", _rank)
