"""OCSF mappings of the Device tables (Microsoft Defender for Endpoint)."""

from __future__ import annotations

from ..actions import PROTECTION_ACTIONS
from ..specs import Rules, col, collect, const, first, lookup
from ._build import Plan, TableMapping, file_object, guarded, has, md5, objects_of, prefixed, sha1, sha256, times
from ._common import ACTOR, ACTOR_COLUMNS, base, device, directional, endpoint, integrity, user

HOST = ("datetime", "host")
_ACTOR_NEED = (ACTOR_COLUMNS,)


def _device_common(table: str) -> Rules:
    return {**base(table), **device(), **ACTOR}


def _file(prefix: str = "file") -> Rules:
    return file_object(
        prefix,
        "FileName",
        path="FolderPath",
        size="FileSize",
        md5=md5("MD5"),
        sha1=sha1("SHA1"),
        sha256=sha256("SHA256"),
    )


# --- DeviceProcessEvents -------------------------------------------------------------------

CREATED_PROCESS: Rules = {
    **prefixed(
        "process",
        {
            "pid": "ProcessId",
            "uid": "ProcessUniqueId",
            "name": "FileName",
            "cmd_line": "ProcessCommandLine",
            "path": "FolderPath",
            **times("created_time", "ProcessCreationTime"),
            **integrity("ProcessIntegrityLevel"),
        },
    ),
    **file_object(
        "process.file",
        "FileName",
        path="FolderPath",
        size="FileSize",
        md5=md5("MD5"),
        sha1=sha1("SHA1"),
        sha256=sha256("SHA256"),
        company_name="ProcessVersionInfoCompanyName",
        desc="ProcessVersionInfoFileDescription",
        internal_name="ProcessVersionInfoInternalFileName",
        version="ProcessVersionInfoProductVersion",
    ),
    **user("process.user", "AccountName", "AccountDomain", "AccountSid", "AccountUpn", "AccountObjectId"),
    # the created process's parent is the initiating process (its pid, name, time)
    "process.parent_process.pid": "InitiatingProcessId",
    "process.parent_process.uid": "InitiatingProcessUniqueId",
    "process.parent_process.name": "InitiatingProcessFileName",
    "process.parent_process.cmd_line": "InitiatingProcessCommandLine",
}

PROCESS_EVENTS = TableMapping(
    "DeviceProcessEvents",
    common=_device_common("DeviceProcessEvents"),
    plans=(
        Plan(
            1007,
            CREATED_PROCESS,
            activity={"ProcessCreated": 1},
            default_activity=99,
            needs=(("FileName", "ProcessId", "ProcessCommandLine", "ProcessUniqueId"), ACTOR_COLUMNS),
            profiles=HOST,
        ),
    ),
    base_profiles=HOST,
)

# --- DeviceNetworkEvents -------------------------------------------------------------------

_NETWORK_ACTIVITY = {
    "ConnectionSuccess": 1,
    "ConnectionFailed": 1,
    "ConnectionAttempt": 1,
    "ConnectionRequest": 1,
    "InboundConnectionAccepted": 1,
    "ConnectionAcknowledged": 6,
    "ConnectionFound": 6,
    "ListeningConnectionCreated": 7,
    "InboundInternetScanInspected": 6,
    "NetworkSignatureInspected": 6,
    **{f"{p}ConnectionInspected": 6 for p in ("Dns", "Http", "Ssl", "Ssh", "Icmp", "Ftp", "Smtp", "Smb", "Rdp")},
}
_NETWORK_STATUS = {"ConnectionSuccess": 1, "InboundConnectionAccepted": 1, "ConnectionFailed": 2}
_PROTOCOLS = {
    "Tcp": 6,
    "TcpV4": 6,
    "TcpV6": 6,
    "Udp": 17,
    "UdpV4": 17,
    "UdpV6": 17,
    "Icmp": 1,
    "IcmpV6": 58,
    "Icmpv6": 58,
}
_PROTOCOL_NAMES = {
    k: ("tcp" if v == 6 else "udp" if v == 17 else "icmp" if v == 1 else "ipv6-icmp") for k, v in _PROTOCOLS.items()
}

NETWORK: Rules = {
    **directional(
        endpoint("", "LocalIP", "LocalPort"),
        {**endpoint("", "RemoteIP", "RemotePort"), "hostname": col("RemoteUrl", "domain")},
    ),
    "connection_info.protocol_num": lookup("Protocol", _PROTOCOLS),
    "connection_info.protocol_name": lookup("Protocol", _PROTOCOL_NAMES),
    "connection_info.direction_id": {
        "if": "inbound",
        "then": const(1),
        "else": {"if": "egress", "then": const(2), "else": const(0)},
    },
    "connection_info.direction": {
        "if": "inbound",
        "then": const("Inbound"),
        "else": {"if": "egress", "then": const("Outbound"), "else": const("Unknown")},
    },
    "url.url_string": "RemoteUrl",
    "is_src_dst_assignment_known": {
        "if": "inbound",
        "then": const(True),
        "else": {"if": "egress", "then": const(True)},
    },
}
# the keys of "directional" are "<side>.ip" with an empty prefix: fix their names
NETWORK = {k.replace("endpoint..", "endpoint."): v for k, v in NETWORK.items()}

# DNS response codes (RFC 1035, 2136, 2845) -> OCSF rcode_id
_RCODES = {
    "NOERROR": 0,
    "FORMERR": 1,
    "SERVFAIL": 2,
    "NXDOMAIN": 3,
    "NOTIMP": 4,
    "REFUSED": 5,
    "YXDOMAIN": 6,
    "YXRRSET": 7,
    "NXRRSET": 8,
    "NOTAUTH": 9,
    "NOTZONE": 10,
}

_RCODE_CAPTIONS = dict(
    zip(
        _RCODES,
        (
            "NoError",
            "FormError",
            "ServError",
            "NXDomain",
            "NotImp",
            "Refused",
            "YXDomain",
            "YXRRSet",
            "NXRRSet",
            "NotAuth",
            "NotZone",
        ),
        strict=True,
    )
)
_RCODE_NAME = ("AdditionalFields", "json_value", "get:rcode_name", "text")
_RCODE_NAME_UPPER = col(*_RCODE_NAME, "upper")

NETWORK_EVENTS = TableMapping(
    "DeviceNetworkEvents",
    common=_device_common("DeviceNetworkEvents"),
    plans=(
        # a DNS exchange that the sensor inspected: query and answers from AdditionalFields
        Plan(
            4003,
            {
                **{k: v for k, v in NETWORK.items() if not k.startswith(("url.", "is_src"))},
                "query.hostname": col("AdditionalFields", "json_value", "get:query", "text"),
                "query.type": col("AdditionalFields", "json_value", "get:qtype_name", "text"),
                "answers": col("AdditionalFields", "json_value", "ocsf_dns_answers"),
                # rcode_id from the name; a code OCSF does not list is 99 (Other) with its name in rcode
                "rcode_id": first(lookup(_RCODE_NAME_UPPER, _RCODES), col(*_RCODE_NAME, "present:99")),
                "rcode": first(lookup(_RCODE_NAME_UPPER, _RCODE_CAPTIONS), col(*_RCODE_NAME)),
            },
            actions=frozenset({"DnsConnectionInspected"}),
            activity={"DnsConnectionInspected": 6},
            needs=((("AdditionalFields", "json_value", "get:query", "text"),),),
            profiles=HOST,
        ),
        Plan(
            4001,
            NETWORK,
            activity=_NETWORK_ACTIVITY,
            default_activity=99,
            profiles=HOST,
            status=lookup("ActionType", _NETWORK_STATUS, 0),
        ),
    ),
    base_profiles=HOST,
)

# --- DeviceFileEvents ----------------------------------------------------------------------

FILE_EVENTS = TableMapping(
    "DeviceFileEvents",
    common=_device_common("DeviceFileEvents"),
    plans=(
        # a rename: the file as it was is "file", as it is now "file_result" (OCSF's reading of Rename)
        Plan(
            1001,
            {
                **file_object("file", "PreviousFileName", path="PreviousFolderPath"),
                **_file("file_result"),
                "file_result.url.url_string": "FileOriginUrl",
            },
            actions=frozenset({"FileRenamed"}),
            activity={"FileRenamed": 5},
            needs=(("PreviousFileName",), ("FileName",), ACTOR_COLUMNS),
            profiles=HOST,
        ),
        Plan(
            1001,
            {**_file(), "file.url.url_string": "FileOriginUrl"},
            # FileRenamed here: no previous name known, the file is the renamed one
            activity={"FileCreated": 1, "FileModified": 3, "FileDeleted": 4, "FileRenamed": 5},
            default_activity=99,
            needs=(("FileName",), ACTOR_COLUMNS),
            profiles=HOST,
        ),
    ),
    base_profiles=HOST,
)

# --- DeviceRegistryEvents ------------------------------------------------------------------

_KEY_ACTIONS = {"RegistryKeyCreated": 1, "RegistryKeyDeleted": 4, "RegistryKeyRenamed": 5}
_VALUE_ACTIONS = {"RegistryValueSet": 2, "RegistryValueDeleted": 4}

#: RegistryValueType (upper-cased) -> OCSF reg_value.type_id and its caption (Windows' REG_* name).
_REG_TYPES = {
    "BINARY": (1, "REG_BINARY"),
    "DWORD": (2, "REG_DWORD"),
    "DWORDBIGENDIAN": (3, "REG_DWORD_BIG_ENDIAN"),
    "EXPANDSTRING": (4, "REG_EXPAND_SZ"),
    "LINK": (5, "REG_LINK"),
    "MULTISTRING": (6, "REG_MULTI_SZ"),
    "NONE": (7, "REG_NONE"),
    "QWORD": (8, "REG_QWORD"),
    "QWORDLITTLEENDIAN": (9, "REG_QWORD_LITTLE_ENDIAN"),
    "STRING": (10, "REG_SZ"),
}
_REG_TYPE = col("RegistryValueType", "text", "upper")

REGISTRY_EVENTS = TableMapping(
    "DeviceRegistryEvents",
    common=_device_common("DeviceRegistryEvents"),
    plans=(
        Plan(
            201001,
            {"reg_key.path": "RegistryKey", "prev_reg_key.path": "PreviousRegistryKey"},
            actions=frozenset(_KEY_ACTIONS),
            activity=_KEY_ACTIONS,
            needs=(("RegistryKey",), ACTOR_COLUMNS),
            profiles=HOST,
        ),
        Plan(
            201002,
            {
                "reg_value.path": "RegistryKey",
                "reg_value.name": "RegistryValueName",
                "reg_value.data": "RegistryValueData",
                # type is the caption of type_id (REG_DWORD); a type OCSF does not list is 99 with its name
                "reg_value.type_id": first(
                    lookup(_REG_TYPE, {k: v[0] for k, v in _REG_TYPES.items()}), col("RegistryValueType", "present:99")
                ),
                "reg_value.type": first(
                    lookup(_REG_TYPE, {k: v[1] for k, v in _REG_TYPES.items()}), col("RegistryValueType", "text")
                ),
                # the value before: in the same key unless PreviousRegistryKey says otherwise
                **guarded(
                    has("PreviousRegistryValueName"),
                    {
                        "prev_reg_value.path": first("PreviousRegistryKey", "RegistryKey"),
                        "prev_reg_value.name": "PreviousRegistryValueName",
                        "prev_reg_value.data": "PreviousRegistryValueData",
                    },
                ),
            },
            activity=_VALUE_ACTIONS,
            needs=(("RegistryKey",), ("RegistryValueName",), ACTOR_COLUMNS),
            profiles=HOST,
        ),
    ),
    base_profiles=HOST,
)

# --- DeviceLogonEvents ---------------------------------------------------------------------

# Windows logon types (OCSF logon_type_id follows them)
LOGON_TYPES = {
    "Interactive": 2,
    "Network": 3,
    "Batch": 4,
    "Service": 5,
    "Unlock": 7,
    "NetworkCleartext": 8,
    "NewCredentials": 9,
    "RemoteInteractive": 10,
    "CachedInteractive": 11,
    "CachedRemoteInteractive": 12,
    "CachedUnlock": 13,
}
LOGON_TYPE_NAMES = {
    "Interactive": "Interactive",
    "Network": "Network",
    "Batch": "Batch",
    "Service": "OS Service",
    "Unlock": "Unlock",
    "NetworkCleartext": "Network Cleartext",
    "NewCredentials": "New Credentials",
    "RemoteInteractive": "Remote Interactive",
    "CachedInteractive": "Cached Interactive",
    "CachedRemoteInteractive": "Cached Remote Interactive",
    "CachedUnlock": "Cached Unlock",
}
LOGON_STATUS = {"LogonSuccess": 1, "LogonFailed": 2}

#: A logon's Protocol (upper-cased: Defender for Identity writes "Ntlm", "Ldap") -> OCSF auth_protocol_id.
#: "Undefined" (DisruptionAndResponseEvents' documented value for none) is 0, Unknown.
AUTH_PROTOCOLS = {"NTLM": 1, "KERBEROS": 2, "LDAP": 12, "UNDEFINED": 0}
AUTH_PROTOCOL_NAMES = {"NTLM": "NTLM", "KERBEROS": "Kerberos", "LDAP": "LDAP", "UNDEFINED": "Unknown"}


def auth_protocol(column: str) -> Rules:
    """OCSF ``auth_protocol_id`` and its caption from a protocol name; another name is 99 (Other) with its text."""
    upper = col(column, "text", "upper")
    return {
        "auth_protocol_id": first(lookup(upper, AUTH_PROTOCOLS), col(column, "present:99")),
        "auth_protocol": first(lookup(upper, AUTH_PROTOCOL_NAMES), col(column, "text")),
    }


LOGON_EVENTS = TableMapping(
    "DeviceLogonEvents",
    common=_device_common("DeviceLogonEvents"),
    plans=(
        Plan(
            3002,
            {
                **user("user", "AccountName", "AccountDomain", "AccountSid"),
                "logon_type_id": lookup("LogonType", LOGON_TYPES, 99),
                "logon_type": first(lookup("LogonType", LOGON_TYPE_NAMES), col("LogonType", "text")),
                "src_endpoint.ip": col("RemoteIP", "ip"),
                "src_endpoint.port": col("RemotePort", "port"),
                "src_endpoint.hostname": "RemoteDeviceName",
                "dst_endpoint.hostname": "DeviceName",
                "status_detail": "FailureReason",
                # LogonId 0 (a failed logon's) is no logon session
                "session.uid": col("LogonId", "logon_session"),
                **auth_protocol("Protocol"),
            },
            # a failed logon is a Logon with status Failure, never a Logoff
            activity={"LogonSuccess": 1, "LogonFailed": 1, "LogonAttempted": 1},
            default_activity=99,
            needs=(("AccountName", "AccountSid"),),
            profiles=HOST,
            status=lookup("ActionType", LOGON_STATUS, 0),
        ),
    ),
    base_profiles=HOST,
)

# --- DeviceImageLoadEvents -----------------------------------------------------------------

IMAGE_LOAD_EVENTS = TableMapping(
    "DeviceImageLoadEvents",
    common=_device_common("DeviceImageLoadEvents"),
    plans=(
        Plan(
            1005,
            {**_file("module.file"), "module.load_type_id": const(99), "module.load_type": const("Image load")},
            activity={"ImageLoaded": 1},
            default_activity=1,
            needs=(("FileName",), ACTOR_COLUMNS),
            profiles=HOST,
        ),
    ),
    base_profiles=HOST,
)

# --- DeviceEvents: the class follows the ActionType ---------------------------------------

_PROCESS_ACTIONS = {
    "CreateRemoteThreadApiCall": 4,
    "QueueUserApcRemoteApiCall": 4,
    "SetThreadContextRemoteApiCall": 4,
    "OpenProcessApiCall": 3,
    "ProcessCreatedUsingWmiQuery": 1,
    "ProcessPrimaryTokenModified": 5,
}
#: What a process did to another's memory: Memory Activity (1004), whose activities name these very calls
#: (Read "ReadProcessMemory", Write "WriteProcessMemory", Map View "MapViewOfFile2"); allocating is
#: Allocate Page, changing a page's protection Modify Page.  The target process is ``process``.
_MEMORY_ACTIONS = {
    "NtAllocateVirtualMemoryRemoteApiCall": 1,
    "MemoryRemoteProtect": 2,
    "ReadProcessMemoryApiCall": 7,
    "WriteProcessMemoryApiCall": 8,
    "WriteToLsassProcessMemory": 8,
    "NtMapViewOfSectionRemoteApiCall": 9,
}
#: Inject ActionTypes -> OCSF injection_type_id (1 Remote Thread, 3 Queue APC); the others are 99 (Other),
#: with the ActionType as injection_type.
_INJECTIONS = {a: (99, a) for a, activity in _PROCESS_ACTIONS.items() if activity == 4} | {
    "CreateRemoteThreadApiCall": (1, "Remote Thread"),
    "QueueUserApcRemoteApiCall": (3, "Queue APC"),
}
_TARGET_PROCESS: Rules = {
    "injection_type_id": lookup("ActionType", {a: v[0] for a, v in _INJECTIONS.items()}),
    "injection_type": lookup("ActionType", {a: v[1] for a, v in _INJECTIONS.items()}),
    # the access mask the actor asked for when it opened the process (OpenProcessApiCall), platform-native
    "requested_permissions": col("AdditionalFields", "json_value", "get:DesiredAccess", "int"),
    **prefixed(
        "process",
        {
            "pid": "ProcessId",
            "name": "FileName",
            "cmd_line": "ProcessCommandLine",
            "path": "FolderPath",
            **times("created_time", "ProcessCreationTime"),
        },
    ),
    **_file("process.file"),
    **user("process.user", "AccountName", "AccountDomain", "AccountSid"),
}
_FILE_ACTIONS = {
    "FileTimestampModificationEvent": 6,
    "ShellLinkCreateFileEvent": 1,
    "SensitiveFileRead": 2,
    "RemovableStorageFileEvent": 99,
}
_JOB_ACTIONS = {
    "ScheduledTaskCreated": 1,
    "ScheduledTaskUpdated": 2,
    "ScheduledTaskDeleted": 3,
    "ScheduledTaskEnabled": 4,
    "ScheduledTaskDisabled": 5,
}
_ACCOUNT_ACTIONS = {
    "UserAccountCreated": 1,
    "UserAccountDeleted": 6,
    "UserAccountModified": 99,
    "PasswordChangeAttempt": 3,
}
_GROUP_ACTIONS = {
    "UserAccountAddedToLocalGroup": 3,
    "UserAccountRemovedFromLocalGroup": 4,
    "SecurityGroupCreated": 6,
    "SecurityGroupDeleted": 5,
}
_PERIPHERAL_ACTIONS = {
    "UsbDriveMounted": 1,
    "UsbDriveMount": 1,
    "PnpDeviceConnected": 1,
    "UsbDriveUnmounted": 2,
    "UsbDriveUnmount": 2,
    "PnpDeviceAllowed": 3,
    "PnpDeviceBlocked": 4,
}
_NETWORK_DEVICE_ACTIONS = {
    "FirewallInboundConnectionBlocked": 5,
    "FirewallInboundConnectionToAppBlocked": 5,
    "FirewallOutboundConnectionBlocked": 5,
    "UntrustedWifiConnection": 1,
    "RemoteDesktopConnection": 1,
    "DnsQueryResponse": 6,
}
#: The firewall's refusals: ActionType -> connection_info direction (id, caption).
_FIREWALL = {
    "FirewallInboundConnectionBlocked": (1, "Inbound"),
    "FirewallInboundConnectionToAppBlocked": (1, "Inbound"),
    "FirewallOutboundConnectionBlocked": (2, "Outbound"),
}
_DETECTIONS = ("AntivirusDetection", "AntivirusReport", "AntivirusMalwareBlocked", "AntivirusMalwareActionFailed")
_AF = "AdditionalFields"

#: peripheral_device.type_id and caption: a USB drive (UsbDrive* ActionTypes) is External Storage; a PnP
#: device by its Windows setup class (ClassName); other classes have none.
_PERIPHERAL_TYPES = {1: "External Storage", 2: "Keyboard", 3: "Mouse", 4: "Printer", 5: "Monitor", 7: "Webcam"}
_USB_DRIVES = {a: 1 for a in _PERIPHERAL_ACTIONS if a.startswith("UsbDrive")}
_SETUP_CLASSES = {"DiskDrive": 1, "Keyboard": 2, "Mouse": 3, "Printer": 4, "Monitor": 5, "Camera": 7}
_SETUP_CLASS = col(_AF, "json_value", "get:ClassName", "text")
_PERIPHERAL_TYPE: Rules = {
    "peripheral_device.type_id": first(lookup("ActionType", _USB_DRIVES), lookup(_SETUP_CLASS, _SETUP_CLASSES)),
    "peripheral_device.type": first(
        lookup("ActionType", {a: _PERIPHERAL_TYPES[t] for a, t in _USB_DRIVES.items()}),
        lookup(_SETUP_CLASS, {c: _PERIPHERAL_TYPES[t] for c, t in _SETUP_CLASSES.items()}),
    ),
}

_DEVICE_NETWORK: Rules = {
    k.replace("endpoint..", "endpoint."): v
    for k, v in directional(
        endpoint("", "LocalIP", "LocalPort"), {**endpoint("", "RemoteIP", "RemotePort"), "hostname": "RemoteDeviceName"}
    ).items()
}

# Protection events (attack surface reduction, exploit guard, application control, SmartScreen): what
# was blocked or audited is no activity of one class; they are Base Events with the security_control
# profile (action and disposition from the ActionType's ending), except the child-process and lsass rules,
# whose event is a process launch or open.  The names are ECS's too (mappings/actions.py).


def _protection(action: str) -> tuple[int, int]:
    """(action_id, disposition_id): blocked is Denied/Blocked, audited Observed/Logged, bypassed Allowed/Allowed."""
    if "Block" in action or action.endswith("Enforced"):
        return 2, 2
    if action.endswith(("Bypassed", "Override", "BypassEvent")):
        return 1, 1
    if action.endswith("Audited"):
        return 3, 17
    return 3, 15  # a warning: Observed, Detected


_ACTIONS = {1: "Allowed", 2: "Denied", 3: "Observed"}
_DISPOSITIONS = {1: "Allowed", 2: "Blocked", 15: "Detected", 17: "Logged"}
_PROTECTION_RULES: Rules = {
    "action_id": lookup("ActionType", {a: _protection(a)[0] for a in PROTECTION_ACTIONS}),
    "action": lookup("ActionType", {a: _ACTIONS[_protection(a)[0]] for a in PROTECTION_ACTIONS}),
    "disposition_id": lookup("ActionType", {a: _protection(a)[1] for a in PROTECTION_ACTIONS}),
    "disposition": lookup("ActionType", {a: _DISPOSITIONS[_protection(a)[1]] for a in PROTECTION_ACTIONS}),
    # the attack surface reduction rule that acted (its GUID)
    "policy.uid": col("AdditionalFields", "json_value", "get:RuleId", "text"),
}

# ServiceInstalled's AdditionalFields: Windows' start type (SERVICE_BOOT_START 0 ... SERVICE_DISABLED 4) and
# service type bits (SERVICE_KERNEL_DRIVER 0x1, FILE_SYSTEM_DRIVER 0x2, WIN32_OWN_PROCESS 0x10, WIN32_SHARE_PROCESS
# 0x20, with or without INTERACTIVE_PROCESS 0x100) -> OCSF win_service ids and captions; other values stay in unmapped.
_START_TYPES = {0: (1, "Boot"), 1: (2, "System"), 2: (3, "Auto"), 3: (4, "Demand"), 4: (5, "Disabled")}
_SERVICE_TYPES = {
    0x1: (1, "Kernel Driver"),
    0x2: (2, "File System Driver"),
    0x10: (3, "Own Process"),
    0x20: (4, "Share Process"),
    0x110: (3, "Own Process"),
    0x120: (4, "Share Process"),
}
_SERVICE_KINDS: Rules = {
    f"win_service.{attribute}{suffix}": lookup(
        col(_AF, "json_value", f"get:{key}"), {value: pair[i] for value, pair in table.items()}
    )
    for attribute, key, table in (
        ("service_start_type", "ServiceStartType", _START_TYPES),
        ("service_type", "ServiceType", _SERVICE_TYPES),
    )
    for i, suffix in ((0, "_id"), (1, ""))
}

#: Protection events about a process: a child process the actor started is Process Activity Launch, its
#: access to lsass' credentials (AsrLsassCredentialTheft*) Open; the other protection events stay Base Events.
_PROTECTED_PROCESS_ACTIONS = {
    a: 1 if "ChildProcess" in a else 3
    for a in sorted(PROTECTION_ACTIONS)
    if "ChildProcess" in a or a.startswith("AsrLsassCredentialTheft")
}

DEVICE_EVENTS = TableMapping(
    "DeviceEvents",
    common=_device_common("DeviceEvents"),
    plans=(
        Plan(
            1007,
            _TARGET_PROCESS,
            actions=frozenset(_PROCESS_ACTIONS),
            activity=_PROCESS_ACTIONS,
            needs=(("FileName", "ProcessId", "ProcessCommandLine"), ACTOR_COLUMNS),
            profiles=HOST,
        ),
        Plan(
            1004,
            {k: v for k, v in _TARGET_PROCESS.items() if k.startswith("process.")},
            actions=frozenset(_MEMORY_ACTIONS),
            activity=_MEMORY_ACTIONS,
            needs=(("FileName", "ProcessId", "ProcessCommandLine"), ACTOR_COLUMNS),
            profiles=HOST,
        ),
        Plan(
            1001,
            {**_file(), "file.url.url_string": "FileOriginUrl"},
            actions=frozenset(_FILE_ACTIONS),
            activity=_FILE_ACTIONS,
            needs=(("FileName",), ACTOR_COLUMNS),
            profiles=HOST,
        ),
        Plan(
            1006,
            {
                "job.name": col(_AF, "json_value", "get:TaskName", "text"),
                # TaskContent is the task's XML definition: the command line is its first Exec action's
                "job.cmd_line": col(_AF, "json_value", "get:TaskContent", "text", "task_command"),
            },
            actions=frozenset(_JOB_ACTIONS),
            activity=_JOB_ACTIONS,
            needs=(((_AF, "json_value", "get:TaskName", "text"),),),
            profiles=HOST,
        ),
        Plan(
            201004,
            {
                "win_service.name": col(_AF, "json_value", "get:ServiceName", "text"),
                "win_service.service_start_name": col(_AF, "json_value", "get:ServiceAccount", "text"),
                "win_service.cmd_line": "FolderPath",
                **_file("win_service.service_file"),
                **_SERVICE_KINDS,
            },
            actions=frozenset({"ServiceInstalled"}),
            activity={"ServiceInstalled": 1},
            needs=(((_AF, "json_value", "get:ServiceName", "text"),), ACTOR_COLUMNS),
            profiles=HOST,
        ),
        Plan(
            1002,
            {**_file("driver.file")},
            actions=frozenset({"DriverLoad"}),
            activity={"DriverLoad": 1},
            needs=(("FileName",), ACTOR_COLUMNS),
            profiles=HOST,
        ),
        Plan(
            1010,
            {
                "peripheral_device.name": first(
                    col(_AF, "json_value", "get:DeviceDescription", "text"),
                    col(_AF, "json_value", "get:ProductName", "text"),
                    col(_AF, "json_value", "get:ClassName", "text"),
                ),
                "peripheral_device.vendor_name": col(_AF, "json_value", "get:Manufacturer", "text"),
                "peripheral_device.class": col(_AF, "json_value", "get:ClassName", "text"),
                "peripheral_device.vendor_id_list": col(_AF, "json_value", "get:VendorIds", "list"),
                **_PERIPHERAL_TYPE,
                "peripheral_device.serial_number": col(_AF, "json_value", "get:SerialNumber", "text"),
                "peripheral_device.uid": col(_AF, "json_value", "get:DeviceId", "text"),
            },
            actions=frozenset(_PERIPHERAL_ACTIONS),
            activity=_PERIPHERAL_ACTIONS,
            needs=(
                tuple(
                    (_AF, "json_value", f"get:{key}", "text")
                    for key in ("DeviceDescription", "ProductName", "ClassName")
                ),
                ACTOR_COLUMNS,
            ),
            profiles=HOST,
        ),
        # a PowerShell command the sensor saw run (AdditionalFields.Command)
        Plan(
            1009,
            {
                "script.script_content": col(_AF, "json_value", "get:Command", "long_string"),
                "script.type_id": const(2),
                "script.type": const("PowerShell"),
            },
            actions=frozenset({"PowerShellCommand"}),
            activity={"PowerShellCommand": 1},
            needs=(((_AF, "json_value", "get:Command", "long_string"),), ACTOR_COLUMNS),
            profiles=HOST,
        ),
        # the log SecurityLogCleared names is Windows' Security log, an OS log
        Plan(
            1008,
            {"log_name": const("Security"), "log_type_id": const(1), "log_type": const("OS")},
            actions=frozenset({"SecurityLogCleared"}),
            activity={"SecurityLogCleared": 1},
            profiles=HOST,
        ),
        Plan(
            3001,
            user("user", "AccountName", "AccountDomain", "AccountSid"),
            actions=frozenset(_ACCOUNT_ACTIONS),
            activity=_ACCOUNT_ACTIONS,
            needs=(("AccountName", "AccountSid"),),
            profiles=HOST,
        ),
        # a connection the Windows firewall refused: Denied/Blocked, its direction from the ActionType
        Plan(
            4001,
            {
                **_DEVICE_NETWORK,
                "url.url_string": "RemoteUrl",
                "connection_info.direction_id": lookup("ActionType", {a: d for a, (d, _) in _FIREWALL.items()}),
                "connection_info.direction": lookup("ActionType", {a: n for a, (_, n) in _FIREWALL.items()}),
                "action_id": const(2),
                "action": const("Denied"),
                "disposition_id": const(2),
                "disposition": const("Blocked"),
            },
            actions=frozenset(_FIREWALL),
            activity=_NETWORK_DEVICE_ACTIONS,
            profiles=(*HOST, "security_control"),
        ),
        Plan(
            4001,
            {**_DEVICE_NETWORK, "url.url_string": "RemoteUrl"},
            actions=frozenset(_NETWORK_DEVICE_ACTIONS) - frozenset(_FIREWALL),
            activity=_NETWORK_DEVICE_ACTIONS,
            profiles=HOST,
        ),
        Plan(
            2004,
            {
                "finding_info.uid": col("ReportId", "str"),
                "finding_info.title": "ActionType",
                "finding_info.types": collect(col(_AF, "json_value", "get:ThreatName", "text")),
                "evidences": {
                    "call": objects_of(
                        "evidences",
                        "DeviceEvents",
                        {**_file(), **prefixed("process", {"pid": "ProcessId", "cmd_line": "ProcessCommandLine"})},
                    )
                },
                "is_alert": const(False),
            },
            actions=frozenset(_DETECTIONS),
            activity={a: 1 for a in _DETECTIONS},
            needs=(("ReportId",),),
            profiles=("datetime", "host", "security_control"),
        ),
        # a child process (or an access to lsass) that attack surface reduction or exploit protection blocked
        # or audited: a Launch (an Open), failed when blocked
        Plan(
            1007,
            {
                # Account* of a protection event is the user whose action was stopped, not the target's: unmapped
                **{k: v for k, v in _TARGET_PROCESS.items() if k.startswith("process.") and ".user." not in k},
                **_PROTECTION_RULES,
            },
            actions=frozenset(_PROTECTED_PROCESS_ACTIONS),
            activity=_PROTECTED_PROCESS_ACTIONS,
            needs=(("FileName", "ProcessCommandLine"), ACTOR_COLUMNS),
            profiles=("datetime", "host", "security_control"),
            status=lookup("ActionType", {a: 2 for a in _PROTECTED_PROCESS_ACTIONS if _protection(a)[1] == 2}),
        ),
        Plan(
            0,
            _PROTECTION_RULES,
            actions=frozenset(PROTECTION_ACTIONS),
            profiles=("datetime", "host", "security_control"),
        ),
    ),
    base_profiles=HOST,
)


DEVICE_INFO = TableMapping(
    "DeviceInfo",
    common={**base("DeviceInfo"), **device(os="OSPlatform", kind="DeviceType")},
    plans=(
        Plan(
            5001,
            {
                # os requires its name: the rest of os only beside OSPlatform
                **guarded(
                    has("OSPlatform"), {"device.os.version": "OSVersion", "device.os.build": col("OSBuild", "str")}
                ),
                "device.ip": col("PublicIP", "ip"),
                "device.vendor_name": "Vendor",
                "device.model": "Model",
                "device.uid_alt": "AadDeviceId",
            },
            default_activity=2,
            needs=(("DeviceId", "DeviceName"),),
            profiles=HOST,
        ),
    ),
    base_profiles=HOST,
)

DEVICE_NETWORK_INFO = TableMapping(
    "DeviceNetworkInfo",
    common={**base("DeviceNetworkInfo"), **device()},
    plans=(
        Plan(
            5001,
            {"device.mac": col("MacAddress", "mac"), "device.interface_name": col("NetworkAdapterName", "text")},
            default_activity=2,
            needs=(("DeviceId", "DeviceName"),),
            profiles=HOST,
        ),
    ),
    base_profiles=HOST,
)

# A file's signature is no activity: no class fits (OCSF README); a Base Event with the device.
FILE_CERTIFICATE_INFO = TableMapping(
    "DeviceFileCertificateInfo", common={**base("DeviceFileCertificateInfo"), **device()}, plans=(), base_profiles=HOST
)

MAPPINGS = {
    m.table: m
    for m in (
        PROCESS_EVENTS,
        NETWORK_EVENTS,
        FILE_EVENTS,
        REGISTRY_EVENTS,
        LOGON_EVENTS,
        IMAGE_LOAD_EVENTS,
        DEVICE_EVENTS,
        DEVICE_INFO,
        DEVICE_NETWORK_INFO,
        FILE_CERTIFICATE_INFO,
    )
}
