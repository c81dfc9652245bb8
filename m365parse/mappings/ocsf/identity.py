"""OCSF mappings of the Identity tables (Microsoft Defender for Identity) and CloudAppEvents."""

from __future__ import annotations

from ..specs import Rules, col, first, lookup
from ._build import Plan, TableMapping, objects_of, times
from ._common import base, user
from .device import LOGON_TYPE_NAMES, LOGON_TYPES, auth_protocol

_ACCOUNT = ("AccountName", "AccountUpn", "AccountSid", "AccountObjectId")


def _user(prefix: str) -> Rules:
    return user(
        prefix,
        first("AccountName", "AccountUpn"),
        "AccountDomain",
        "AccountSid",
        "AccountUpn",
        "AccountObjectId",
        "AccountDisplayName",
    )


def _endpoints(dst: bool = True) -> Rules:
    rules: Rules = {
        "src_endpoint.ip": col("IPAddress", "ip"),
        "src_endpoint.port": col("Port", "port"),
        "src_endpoint.hostname": "DeviceName",
    }
    if dst:  # Account Change and Group Management have no dst_endpoint
        rules |= {
            "dst_endpoint.ip": col("DestinationIPAddress", "ip"),
            "dst_endpoint.port": col("DestinationPort", "port"),
            "dst_endpoint.hostname": "DestinationDeviceName",
        }
    return rules


IDENTITY_LOGON_EVENTS = TableMapping(
    "IdentityLogonEvents",
    common=base("IdentityLogonEvents"),
    plans=(
        Plan(
            3002,
            {
                **_user("user"),
                **_endpoints(),
                "logon_type_id": lookup("LogonType", LOGON_TYPES, 99),
                "logon_type": first(lookup("LogonType", LOGON_TYPE_NAMES), col("LogonType", "text")),
                **auth_protocol("Protocol"),
                "status_detail": "FailureReason",
            },
            activity={"LogonSuccess": 1, "LogonFailed": 1},
            default_activity=99,
            needs=(_ACCOUNT,),
            status=lookup("ActionType", {"LogonSuccess": 1, "LogonFailed": 2}, 0),
        ),
    ),
)

IDENTITY_QUERY_EVENTS = TableMapping(
    "IdentityQueryEvents",
    common=base("IdentityQueryEvents"),
    plans=(
        Plan(
            6003,
            {
                **_user("actor.user"),
                **_endpoints(),
                "api.operation": first("QueryType", "ActionType"),
                "api.service.name": "Protocol",
                "api.request.uid": col("ReportId", "str"),
            },
            default_activity=2,
            needs=(
                _ACCOUNT,
                ("QueryType", "ActionType"),
                (("IPAddress", "ip"), ("Port", "port"), "DeviceName"),
                ("ReportId",),
            ),
        ),
    ),
)

# The account an action was applied to (the docs' "target"); Account* is who did it.
_TARGET: Rules = {
    "user.name": "TargetAccountUpn",
    "user.email_addr": col("TargetAccountUpn", "email"),
    "user.full_name": "TargetAccountDisplayName",
}

_GROUP_ACTIONS = frozenset({"Group Membership changed"})
_ENTITY_ACTIONS = frozenset({"Security Principal created", "Security Principal deleted"})

IDENTITY_DIRECTORY_EVENTS = TableMapping(
    "IdentityDirectoryEvents",
    common=base("IdentityDirectoryEvents"),
    plans=(
        # a member added to (TO.GROUP) or removed from (FROM.GROUP) a group: Add User, Remove User
        *(
            Plan(
                3006,
                {
                    **_user("actor.user"),
                    **_TARGET,
                    "group.name": col("AdditionalFields", "json_value", f"get:{key}", "text"),
                    **_endpoints(dst=False),
                },
                actions=_GROUP_ACTIONS,
                activity=dict.fromkeys(_GROUP_ACTIONS, activity),
                default_activity=activity,
                needs=((("AdditionalFields", "json_value", f"get:{key}", "text"),),),
            )
            for key, activity in (("TO.GROUP", 3), ("FROM.GROUP", 4))
        ),
        Plan(
            3001,
            {**_user("actor.user"), **_TARGET, **_endpoints(dst=False)},
            activity={"Account Password changed": 3, "Account Disabled changed": 99, "Account Enabled changed": 99},
            default_activity=99,
            needs=(("TargetAccountUpn", "TargetAccountDisplayName"),),
        ),
    ),
)

IDENTITY_INFO = TableMapping(
    "IdentityInfo",
    common=base("IdentityInfo"),
    plans=(
        Plan(
            5003,
            {
                **user(
                    "user",
                    first("AccountName", "AccountUpn"),
                    "AccountDomain",
                    "OnPremSid",
                    "EmailAddress",
                    "AccountObjectId",
                    "AccountDisplayName",
                ),
                "user.ldap_person.given_name": "GivenName",
                "user.ldap_person.surname": "Surname",
                "user.ldap_person.department": "Department",
                "user.ldap_person.job_title": "JobTitle",
                "user.ldap_person.ldap_dn": "DistinguishedName",
                "user.ldap_person.employee_uid": "EmployeeId",
                **times("user.ldap_person.created_time", "CreatedDateTime"),
                "user.org.name": "CompanyName",
            },
            default_activity=2,
            needs=(
                (
                    "AccountName",
                    "AccountUpn",
                    "OnPremSid",
                    "AccountObjectId",
                    ("EmailAddress", "email"),
                    "AccountDisplayName",
                ),
            ),
        ),
    ),
)

# The accounts of an identity across providers (Entra ID, Active Directory, others): one User Inventory Info each.
IDENTITY_ACCOUNT_INFO = TableMapping(
    "IdentityAccountInfo",
    common=base("IdentityAccountInfo"),
    plans=(
        Plan(
            5003,
            {
                **user(
                    "user",
                    first("AccountUpn", "DisplayName"),
                    sid="Sid",
                    upn="EmailAddress",
                    object_id="AccountId",
                    display="DisplayName",
                ),
                "user.ldap_person.given_name": "GivenName",
                "user.ldap_person.surname": "Surname",
                "user.ldap_person.department": "Department",
                "user.ldap_person.job_title": "JobTitle",
                "user.ldap_person.employee_uid": "EmployeeId",
                "user.ldap_person.phone_number": "Phone",
                "user.ldap_person.location.city": "City",
                "user.ldap_person.location.country": "Country",
                **times("user.ldap_person.created_time", "CreatedDateTime"),
                **times("user.ldap_person.deleted_time", "DeletedDateTime"),
            },
            default_activity=2,
            needs=(("AccountUpn", "DisplayName", "Sid", "AccountId", ("EmailAddress", "email")),),
        ),
    ),
)

CLOUD_APP_EVENTS = TableMapping(
    "CloudAppEvents",
    common=base("CloudAppEvents"),
    plans=(
        Plan(
            6003,
            {
                "actor.user.uid": first("AccountObjectId", "AccountId"),
                "actor.user.full_name": "AccountDisplayName",
                "actor.app_name": "Application",
                "src_endpoint.ip": col("IPAddress", "ip"),
                "src_endpoint.location.country": "CountryCode",
                "src_endpoint.location.city": "City",
                "src_endpoint.isp": "Isp",
                "http_request.user_agent": "UserAgent",
                "api.operation": "ActionType",
                "api.service.name": "Application",
                "api.request.uid": "ReportId",
                # the object the activity was on
                "resources": {
                    "call": objects_of(
                        "resources", "CloudAppEvents", {"name": "ObjectName", "type": "ObjectType", "uid": "ObjectId"}
                    )
                },
            },
            default_activity=99,
            needs=(
                ("AccountObjectId", "AccountId", "AccountDisplayName", "Application"),
                ("ActionType",),
                (("IPAddress", "ip"), "CountryCode", "City", "Isp"),
                ("ReportId",),
            ),
        ),
    ),
)

MAPPINGS = {
    m.table: m
    for m in (
        IDENTITY_LOGON_EVENTS,
        IDENTITY_QUERY_EVENTS,
        IDENTITY_DIRECTORY_EVENTS,
        IDENTITY_INFO,
        IDENTITY_ACCOUNT_INFO,
        CLOUD_APP_EVENTS,
    )
}
