"""OCSF mapping of DisruptionAndResponseEvents (automatic attack disruption and predictive shielding).

The table records what Defender's containment did to a contained user or device,
not a remediation command: it has no command id, which Remediation Activity
(7001-7004) requires (``command_uid``).  So each row takes the class of the
activity that was blocked or cut, with the ``security_control`` profile saying
what the control did (``action_id`` Denied, ``disposition_id`` Blocked, or Access
Revoked for a session it stopped):

- a blocked logon is Authentication (3002), activity Logon, status Failure;
- a blocked SMB file open is SMB Activity (4006), activity File Open, status Failure;
- a blocked RPC access is Network Activity (4001), activity Refuse;
- a stopped or disconnected RDP or SMB session is Network Activity, activity Reset
  (a connection ended by a device in the middle, here the control);
- the predictive-shielding rows (a Safe Boot or Group Policy access blocked, a
  hardening or Safe Boot guard policy applied or removed) are Base Events with the
  control and its ``policy``: no activity class describes them.

The source side (``Source*`` columns) is ``src_endpoint``, the target
(``Target*``, ``IPAddress``, ``Port``) ``dst_endpoint``; the reporting device
(``DeviceId``, ``DeviceName``, ``DomainName``) is ``device``; the contained user
is ``user`` of a logon and ``actor.user`` of a blocked access.
"""

from __future__ import annotations

from ..specs import Rules, col, const, lookup
from ._build import Plan, TableMapping, prefixed
from ._common import base, device, endpoint, user
from .device import LOGON_TYPE_NAMES, LOGON_TYPES, auth_protocol

TABLE = "DisruptionAndResponseEvents"

_LOGONS = ("ContainedUserLogonBlocked", "ContainedUserLogonBlockedByDomainController")
_SMB_OPENS = (
    "ContainedUserSmbFileOpenBlocked",
    "ContainedUserSmbFileOpenBlockedAggregation",
    "ContainedRestrictedUserSmbFileOpenBlocked",
)
_REFUSED = ("ContainedUserRpcAccessBlocked",)
_SESSIONS_CUT = (
    "ContainedUserRemoteDesktopSessionDisconnected",
    "ContainedUserRemoteDesktopSessionStopped",
    "ContainedUserSmbSessionStopped",
)
_BLOCKED = ("SafeBootBlocked", "GroupPolicyAccessBlocked")
_POLICIES = (
    "SafeBootGuardPolicyApplied",
    "SafeBootGuardPolicyRemoved",
    "GroupPolicyHardeningPolicyApplied",
    "GroupPolicyHardeningPolicyRemoved",
)

#: security_control: action Denied and disposition Blocked, or Access Revoked for a session the control ended.
_DENIED: Rules = {"action_id": const(2), "action": const("Denied")}
_BLOCKED_RULES: Rules = {**_DENIED, "disposition_id": const(2), "disposition": const("Blocked")}
_CONTROL = ("datetime", "host", "security_control")

# The logon types as Windows names them (DeviceLogonEvents) and as this table's documentation labels them.
_DOC_LOGON_TYPES = {
    "interactive": "Interactive",
    "remote interactive (RDP)": "RemoteInteractive",
    "network": "Network",
    "batch job": "Batch",
    "service": "Service",
}
_LOGON_TYPE_IDS = {**LOGON_TYPES, **{label: LOGON_TYPES[name] for label, name in _DOC_LOGON_TYPES.items()}}
_LOGON_TYPE_CAPTIONS = {
    **LOGON_TYPE_NAMES,
    **{label: LOGON_TYPE_NAMES[name] for label, name in _DOC_LOGON_TYPES.items()},
}


_SIDES: Rules = {
    **endpoint("src_endpoint", "SourceIPAddress", "SourcePort", "SourceDeviceName"),
    "src_endpoint.uid": "SourceDeviceId",
    "src_endpoint.domain": "SourceDomainName",
    **endpoint("dst_endpoint", "IPAddress", "Port", "TargetDeviceName"),
    "dst_endpoint.uid": "TargetDeviceId",
    "dst_endpoint.domain": "TargetDomainName",
}

_CONTAINED_USER = ("SourceUserName", "SourceUserSid")

_POLICY: Rules = prefixed(
    "policy",
    {"uid": "PolicyId", "name": "PolicyName", "version": "PolicyVersion"},
)

DISRUPTION_AND_RESPONSE = TableMapping(
    TABLE,
    common={
        **base(TABLE),
        **device(),
        "device.domain": "DomainName",
        "actor.process.pid": "InitiatingProcessId",
        "actor.process.name": "InitiatingProcessFileName",
    },
    plans=(
        Plan(
            3002,
            {
                **user("user", "SourceUserName", "SourceUserDomainName", "SourceUserSid"),
                **_SIDES,
                "logon_type_id": lookup("LogonType", _LOGON_TYPE_IDS, 99),
                "logon_type": lookup("LogonType", _LOGON_TYPE_CAPTIONS, "Other"),
                **auth_protocol("AuthenticationProtocol"),
                "session.uid": col("LogonId", "logon_session"),
                "service.name": "Service",
                **_BLOCKED_RULES,
            },
            actions=frozenset(_LOGONS),
            activity=dict.fromkeys(_LOGONS, 1),
            needs=(_CONTAINED_USER,),
            profiles=_CONTROL,
            # the logon was blocked: a Logon that failed
            status=lookup("ActionType", dict.fromkeys(_LOGONS, 2), 2),
        ),
        Plan(
            4006,
            {
                **user("actor.user", "SourceUserName", "SourceUserDomainName", "SourceUserSid"),
                **_SIDES,
                "file.name": "FileName",
                "file.type_id": col("FileName", "present:1"),
                "file.type": col("FileName", "present_text:Regular File"),
                "share": "ShareName",
                **_BLOCKED_RULES,
            },
            actions=frozenset(_SMB_OPENS),
            activity=dict.fromkeys(_SMB_OPENS, 2),
            profiles=_CONTROL,
            # the open was blocked: a File Open that failed (as a blocked logon is a Logon that failed)
            status=lookup("ActionType", dict.fromkeys(_SMB_OPENS, 2), 2),
        ),
        Plan(
            4001,
            {
                **user("actor.user", "SourceUserName", "SourceUserDomainName", "SourceUserSid"),
                **_SIDES,
                **_DENIED,
                "disposition_id": lookup(
                    "ActionType", {**dict.fromkeys(_REFUSED, 2), **dict.fromkeys(_SESSIONS_CUT, 24)}
                ),
                "disposition": lookup(
                    "ActionType",
                    {**dict.fromkeys(_REFUSED, "Blocked"), **dict.fromkeys(_SESSIONS_CUT, "Access Revoked")},
                ),
            },
            actions=frozenset((*_REFUSED, *_SESSIONS_CUT)),
            activity={**dict.fromkeys(_REFUSED, 5), **dict.fromkeys(_SESSIONS_CUT, 3)},
            profiles=_CONTROL,
        ),
        Plan(0, {**_POLICY, **_BLOCKED_RULES}, actions=frozenset(_BLOCKED), profiles=_CONTROL),
        Plan(0, _POLICY, actions=frozenset(_POLICIES), profiles=_CONTROL),
    ),
    base_profiles=("datetime", "host"),
)

MAPPINGS = {DISRUPTION_AND_RESPONSE.table: DISRUPTION_AND_RESPONSE}

__all__ = ["MAPPINGS"]
