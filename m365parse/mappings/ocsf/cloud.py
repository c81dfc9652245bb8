"""OCSF mappings of the Entra ID sign-in tables, the cloud workload and audit tables, and the Behavior tables."""

from __future__ import annotations

from ...tables import DOCUMENTED_TYPES
from ..specs import Rules, col, collect, const, first, lookup
from ._build import Plan, TableMapping, _fitted, file_object, guarded, has, objects_of, prefixed, sha256, times
from ._common import base, path_in_folder, user
from .alerts import _EVIDENCE, _attacks, _severity
from .device import _RCODE_CAPTIONS, _RCODES

# --- Entra ID sign-ins: Authentication (3002), activity Logon -----------------------------

#: ErrorCode 0 is a successful sign-in, any other code a failed one (Microsoft's sign-in error codes).
_SIGN_IN_STATUS = lookup(col("ErrorCode", "ocsf_error_status"), {1: 1, 2: 2}, 0)
_MFA = {"multiFactorAuthentication": True, "singleFactorAuthentication": False}


def _sign_in_common() -> Rules:
    """What user and service-principal sign-ins share: the app, the resource, where from, the outcome's code."""
    return {
        # the client application that signed in, and the resource it asked a token for
        "actor.app_name": "Application",
        "actor.app_uid": "ApplicationId",
        "service.name": "ResourceDisplayName",
        "service.uid": "ResourceId",
        "src_endpoint.ip": col("IPAddress", "ip"),
        "src_endpoint.location.country": "Country",
        "src_endpoint.location.region": "State",
        "src_endpoint.location.city": "City",
        "status_code": col("ErrorCode", "str"),
        "session.uid": "SessionId",
        "metadata.correlation_uid": "CorrelationId",
    }


def _user_sign_ins(table: str, device_id: tuple[str, ...]) -> TableMapping:
    return TableMapping(
        table,
        common=base(table),
        plans=(
            Plan(
                3002,
                {
                    **_sign_in_common(),
                    **user(
                        "user",
                        first("AccountUpn", "AccountDisplayName"),
                        upn="AccountUpn",
                        object_id="AccountObjectId",
                        display="AccountDisplayName",
                    ),
                    # the device the user signed in from
                    "src_endpoint.hostname": "DeviceName",
                    "src_endpoint.uid": first(*device_id),
                    **guarded(
                        has("OSPlatform"),
                        {
                            "src_endpoint.os.name": "OSPlatform",
                            "src_endpoint.os.type_id": col("OSPlatform", "ocsf_os_type_id"),
                        },
                    ),
                    "is_mfa": lookup("AuthenticationRequirement", _MFA),
                },
                default_activity=1,
                needs=(("AccountUpn", "AccountObjectId", "AccountDisplayName"),),
                status=_SIGN_IN_STATUS,
            ),
        ),
    )


def _service_sign_ins(table: str) -> TableMapping:
    return TableMapping(
        table,
        common=base(table),
        plans=(
            Plan(
                3002,
                {
                    **_sign_in_common(),
                    # the service principal that signed in is the user of the authentication, of type Service
                    "user.name": "ServicePrincipalName",
                    "user.uid": "ServicePrincipalId",
                    "user.type_id": const(4),
                    "user.type": const("Service"),
                },
                default_activity=1,
                needs=(("ServicePrincipalName", "ServicePrincipalId"),),
                status=_SIGN_IN_STATUS,
            ),
        ),
    )


ENTRA_SIGN_INS = _user_sign_ins("EntraIdSignInEvents", ("EntraIdDeviceId",))
AAD_SIGN_INS = _user_sign_ins("AADSignInEventsBeta", ("EntraIdDeviceId", "AadDeviceId"))
ENTRA_SPN_SIGN_INS = _service_sign_ins("EntraIdSpnSignInEvents")
AAD_SPN_SIGN_INS = _service_sign_ins("AADSpnSignInEventsBeta")

# --- BehaviorInfo: Detection Finding (2004), not an alert ---------------------------------

BEHAVIOR_INFO = TableMapping(
    "BehaviorInfo",
    common={**base("BehaviorInfo"), **_severity()},
    plans=(
        Plan(
            2004,
            {
                "finding_info.uid": "BehaviorId",
                "finding_info.title": "Title",
                "finding_info.desc": "Description",
                "finding_info.types": col("Categories", "list"),
                "finding_info.analytic.name": "Title",
                "finding_info.analytic.type_id": const(0),
                "finding_info.analytic.type": const("Unknown"),
                "finding_info.product.name": "ServiceSource",
                "finding_info.data_sources": collect("DetectionSource"),
                **times("finding_info.created_time", "Timestamp"),
                **times("finding_info.first_seen_time", "StartTime"),
                **times("finding_info.last_seen_time", "EndTime"),
                **_attacks("AttackTechniques", "Categories"),
                "evidences": {
                    "call": objects_of(
                        "evidences",
                        "BehaviorInfo",
                        {
                            **user("user", "AccountUpn", upn="AccountUpn", object_id="AccountObjectId"),
                            "device.hostname": "DeviceName",
                            "device.uid": "DeviceId",
                            "device.type_id": first(col("DeviceId", "present:0"), col("DeviceName", "present:0")),
                        },
                    )
                },
                # a behavior is what Defender saw, not an alert raised
                "is_alert": const(False),
            },
            default_activity=1,
            needs=(("BehaviorId",),),
            profiles=("datetime", "security_control"),
        ),
    ),
)

# --- BehaviorEntities: the entities of a behavior, Detection Findings as AlertEvidence's ------

_BEHAVIOR_EVIDENCE: Rules = {
    **_fitted(_EVIDENCE, DOCUMENTED_TYPES["BehaviorEntities"]),
    # no direction is recorded: the device's own address is the source, the other one the destination
    "src_endpoint.ip": col("LocalIP", "ip"),
    "dst_endpoint.ip": col("RemoteIP", "ip"),
}

BEHAVIOR_ENTITIES = TableMapping(
    "BehaviorEntities",
    # no severity column, as BehaviorInfo: Unknown (0) for both rows of one behavior
    common={**base("BehaviorEntities"), **_severity()},
    plans=(
        Plan(
            2004,
            {
                "finding_info.uid": "BehaviorId",
                "finding_info.types": col("Categories", "list"),
                "finding_info.product.name": "ServiceSource",
                "finding_info.data_sources": collect("DetectionSource"),
                "attacks": col("Categories", "ocsf_tactic_attacks"),
                "evidences": {"call": objects_of("evidences", "BehaviorEntities", _BEHAVIOR_EVIDENCE)},
                "is_alert": const(False),
            },
            default_activity=1,
            needs=(("BehaviorId",),),
            profiles=("datetime", "security_control"),
        ),
    ),
)

# --- FileMaliciousContentInfo, CampaignInfo: Detection Findings of Defender for Office 365 ----

FILE_MALICIOUS_CONTENT = TableMapping(
    "FileMaliciousContentInfo",
    common=base("FileMaliciousContentInfo"),
    plans=(
        Plan(
            2004,
            {
                # a malicious file in SharePoint, OneDrive or Teams: the file's document id is the finding's
                "finding_info.uid": "DocumentId",
                "finding_info.title": "ThreatNames",
                "finding_info.product.name": "Workload",
                "evidences": {
                    "call": objects_of(
                        "evidences",
                        "FileMaliciousContentInfo",
                        {
                            **file_object(
                                "file",
                                "FileName",
                                **path_in_folder("FileName", "FolderPath"),  # FolderPath is the folder
                                size="FileSize",
                                sha256=sha256("SHA256"),
                                **times("created_time", "FileCreationTime"),
                                **times("modified_time", "LastModifiedTime"),
                            ),
                            **user("user", first("FileOwnerUpn", "FileOwnerDisplayName"), upn="FileOwnerUpn"),
                        },
                    )
                },
                "is_alert": const(False),
            },
            default_activity=1,
            needs=(("DocumentId",),),
            profiles=("datetime", "security_control"),
        ),
    ),
)

CAMPAIGN_INFO = TableMapping(
    "CampaignInfo",
    common=base("CampaignInfo"),
    plans=(
        Plan(
            2004,
            {
                # an e-mail of a campaign Defender for Office 365 found: the campaign is the finding
                "finding_info.uid": "CampaignId",
                "finding_info.title": "CampaignName",
                "finding_info.types": collect("CampaignType", "CampaignSubtype"),
                "evidences": {
                    "call": objects_of(
                        "evidences",
                        "CampaignInfo",
                        {
                            "email.uid": "NetworkMessageId",
                            "email.smtp_to": collect(col("RecipientEmailAddress", "email")),
                        },
                    )
                },
                "is_alert": const(False),
            },
            default_activity=1,
            needs=(("CampaignId",),),
            profiles=("datetime", "security_control"),
        ),
    ),
)

# --- CloudProcessEvents: Process Activity (1007) in containers and cloud workloads ---------

_CONTAINER: Rules = {
    "name": "ContainerName",
    "uid": "ContainerId",
    # an image needs its uid: the digest
    **guarded(has("ImageDigest"), {"image.uid": "ImageDigest", "image.name": "ContainerImageName"}),
}
_WORKLOAD_DEVICE: Rules = {
    "device.hostname": "HostName",
    "device.region": "Region",
    "device.type_id": const(0),
    "device.type": const("Unknown"),
}

CLOUD_PROCESS_EVENTS = TableMapping(
    "CloudProcessEvents",
    common={**base("CloudProcessEvents"), **_WORKLOAD_DEVICE},
    plans=(
        Plan(
            1007,
            {
                **prefixed(
                    "process",
                    {
                        "pid": "ProcessId",
                        "name": first("ProcessName", "FileName"),
                        "cmd_line": "ProcessCommandLine",
                        "path": "FolderPath",
                        "working_directory": "ProcessCurrentWorkingDirectory",
                        **times("created_time", "ProcessCreationTime"),
                        "user.name": "AccountName",
                        "parent_process.pid": col("ParentProcessId", "pid"),
                        "parent_process.name": "ParentProcessName",
                    },
                ),
                **file_object("process.file", "FileName", path="FolderPath"),
                # the initiating process is the actor: the created process's parent
                "actor.process.pid": first(col("InitiatingProcessId", "pid"), col("ParentProcessId", "pid")),
                "actor.process.name": "ParentProcessName",
                **prefixed("process.container", _CONTAINER),
            },
            activity={"ProcessCreated": 1},
            default_activity=99,
            needs=(
                ("ProcessId", "ProcessName", "FileName", "ProcessCommandLine"),
                (("InitiatingProcessId", "pid"), ("ParentProcessId", "pid"), "ParentProcessName"),
            ),
            profiles=("datetime", "host", "container"),
        ),
    ),
    base_profiles=("datetime", "host"),
)

# --- CloudDnsEvents: DNS Activity (4003) of cloud workloads ---------------------------------

CLOUD_DNS_EVENTS = TableMapping(
    "CloudDnsEvents",
    common={**base("CloudDnsEvents"), **_WORKLOAD_DEVICE},
    plans=(
        Plan(
            4003,
            {
                "query.hostname": "DnsQuery",
                "query.type": "DnsQueryTypeName",
                "rcode_id": first(
                    lookup(col("DnsResponseCodeName", "upper"), _RCODES), col("DnsResponseCodeName", "present:99")
                ),
                "rcode": first(lookup(col("DnsResponseCodeName", "upper"), _RCODE_CAPTIONS), "DnsResponseCodeName"),
                "actor.process.pid": "ProcessId",
                "actor.process.name": "ProcessName",
            },
            # a query and its answer, seen by the sensor: Traffic
            # DnsEventSubType says which side of the exchange the record is (documented: request, response)
            activity={"request": 1, "Request": 1, "response": 2, "Response": 2},
            activity_column="DnsEventSubType",
            default_activity=6,
            needs=(("DnsQuery",),),
            profiles=("datetime", "host"),
        ),
    ),
    base_profiles=("datetime", "host"),
)

# --- CloudAuditEvents and GraphAPIAuditEvents: API Activity (6003) -------------------------

CLOUD_AUDIT_EVENTS = TableMapping(
    "CloudAuditEvents",
    common=base("CloudAuditEvents"),
    plans=(
        Plan(
            6003,
            {
                "actor.user.name": "Account",
                "api.operation": first("OperationName", "ActionType"),
                "api.service.name": "DataSource",
                # the caller's address (a list of them arrives as "a,b": the first is the caller)
                "src_endpoint.ip": col("IPAddress", "first_ip"),
                "src_endpoint.location.country": "CountryCode",
                "src_endpoint.location.city": "City",
                "src_endpoint.isp": "Isp",
                "http_request.user_agent": "UserAgent",
                "resources": first(
                    *(
                        col(c, "wrap:uid")
                        for c in ("AzureResourceId", "AwsResourceName", "GcpFullResourceName", "ResourceId")
                    )
                ),
            },
            # the documented ActionTypes, and their prefixed form seen in real records (CloudAuditEventOther)
            activity={
                f"{prefix}{action}": activity
                for prefix in ("", "CloudAuditEvent")
                for action, activity in (("Create", 1), ("Read", 2), ("Update", 3), ("Delete", 4))
            },
            default_activity=99,
            needs=(
                ("Account",),
                ("OperationName", "ActionType"),
                (("IPAddress", "first_ip"), "CountryCode", "City", "Isp"),
            ),
        ),
    ),
)

_HTTP_METHODS = ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE")
_METHODS = {"GET": 2, "HEAD": 2, "POST": 1, "PUT": 3, "PATCH": 3, "DELETE": 4}

GRAPH_API_AUDIT_EVENTS = TableMapping(
    "GraphAPIAuditEvents",
    common=base("GraphAPIAuditEvents"),
    plans=(
        Plan(
            6003,
            {
                # the caller: a user (its object id), else an application's service principal (a user of type Service)
                "actor.user.uid": first("AccountObjectId", "ServicePrincipalId"),
                "actor.user.type_id": first(
                    col("AccountObjectId", "present:1"), col("ServicePrincipalId", "present:4")
                ),
                "actor.user.type": first(
                    col("AccountObjectId", "present_text:User"), col("ServicePrincipalId", "present_text:Service")
                ),
                "actor.app_uid": "ApplicationId",
                "api.operation": "RequestMethod",
                "api.version": "ApiVersion",
                "api.service.name": "TargetWorkload",
                "api.request.uid": "RequestId",
                # OCSF lists the HTTP methods: another text stays in api.operation only
                "http_request.http_method": lookup(col("RequestMethod", "upper"), {m: m for m in _HTTP_METHODS}),
                "http_request.url.url_string": "RequestUri",
                "http_request.uid": "ClientRequestId",
                "http_response.code": col("ResponseStatusCode", "http_status"),
                "src_endpoint.ip": col("IpAddress", "ip"),
            },
            activity=_METHODS,
            activity_column="RequestMethod",
            default_activity=99,
            # the HTTP status: 1xx to 3xx Success, 4xx and 5xx Failure
            status=lookup(col("ResponseStatusCode", "http_status", "http_outcome"), {1: 1, 2: 2}, 0),
            needs=(
                ("AccountObjectId", "ServicePrincipalId", "ApplicationId"),
                ("RequestMethod",),
                (("IpAddress", "ip"),),
            ),
        ),
    ),
)

# --- DataSecurityBehaviors: Data Security Finding (2006), not an alert ----------------------

# An insider risk behavior: a finding about a user's handling of data (what the data was, its
# labels, policies and destinations, stays in unmapped with Microsoft's names).
DATA_SECURITY_BEHAVIORS = TableMapping(
    "DataSecurityBehaviors",
    common=base("DataSecurityBehaviors"),
    plans=(
        Plan(
            2006,
            {
                "finding_info.uid": "BehaviorId",
                "finding_info.title": "ActionType",
                "finding_info.desc": "Description",
                "finding_info.types": col("Categories", "list"),
                "finding_info.product.name": "ServiceSource",
                "finding_info.data_sources": collect("DetectionSource"),
                **times("finding_info.created_time", "Timestamp"),
                **times("finding_info.first_seen_time", "StartTime"),
                **times("finding_info.last_seen_time", "EndTime"),
                **_attacks("AttackTechniques", "Categories"),
                "actor.user.name": "AccountUpn",
                "actor.user.email_addr": col("AccountEmail", "email"),
                "count": "ActivityCount",
                # a behavior is what Defender saw, not an alert raised
                "is_alert": const(False),
            },
            default_activity=1,
            needs=(("BehaviorId",),),
            profiles=("datetime", "security_control"),
        ),
    ),
)

# --- CloudPolicyEnforcementEvents: a Base Event (see _base_tables) with the admission decision -------

#: ActionType (the admission controller's decision) -> security_control's action and disposition, as the
#: protection events of DeviceEvents: Deny is Denied/Blocked, Audit Observed/Logged, Allow Allowed/Allowed.
_ADMISSION = {
    "Allow": (1, "Allowed", 1, "Allowed"),
    "Deny": (2, "Denied", 2, "Blocked"),
    "Audit": (3, "Observed", 17, "Logged"),
}

CLOUD_POLICY_ENFORCEMENT_EVENTS = TableMapping(
    "CloudPolicyEnforcementEvents",
    common={
        **base("CloudPolicyEnforcementEvents"),
        **{
            name: lookup("ActionType", {action: decision[i] for action, decision in _ADMISSION.items()})
            for i, name in enumerate(("action_id", "action", "disposition_id", "disposition"))
        },
    },
    plans=(),
    base_profiles=("datetime", "security_control"),
)

MAPPINGS = {
    m.table: m
    for m in (
        CLOUD_POLICY_ENFORCEMENT_EVENTS,
        ENTRA_SIGN_INS,
        AAD_SIGN_INS,
        ENTRA_SPN_SIGN_INS,
        AAD_SPN_SIGN_INS,
        BEHAVIOR_INFO,
        BEHAVIOR_ENTITIES,
        FILE_MALICIOUS_CONTENT,
        CAMPAIGN_INFO,
        CLOUD_PROCESS_EVENTS,
        CLOUD_DNS_EVENTS,
        CLOUD_AUDIT_EVENTS,
        GRAPH_API_AUDIT_EVENTS,
        DATA_SECURITY_BEHAVIORS,
    )
}
