"""OCSF mappings of alerts: AlertInfo, AlertEvidence, and the SIEM REST API alert (Detection Findings)."""

from __future__ import annotations

from ..specs import Rules, col, collect, const, first
from ._build import Plan, TableMapping, file_object, guarded, has, md5, objects_of, prefixed, sha1, sha256, times
from ._common import base, path_in_folder, user

FINDING = ("datetime", "host", "incident", "security_control")


def _severity(column: str = "Severity") -> Rules:
    return {
        "severity_id": first(col(column, "ocsf_severity_id"), const(0)),
        "severity": first(
            col(column, "ocsf_severity_other"),
            {
                "column": column,
                "transform": "lower",
                "map": {
                    "informational": "Informational",
                    "low": "Low",
                    "medium": "Medium",
                    "high": "High",
                    "critical": "Critical",
                },
            },
            const("Unknown"),
        ),
    }


def _attacks(techniques: str, categories: str) -> Rules:
    return {"attacks": collect(col(techniques, "ocsf_attacks"), col(categories, "ocsf_tactic_attacks"))}


ALERT_INFO = TableMapping(
    "AlertInfo",
    common={**base("AlertInfo"), **_severity()},
    plans=(
        Plan(
            2004,
            {
                "finding_info.uid": "AlertId",
                "finding_info.title": "Title",
                "finding_info.types": collect("Category"),
                "finding_info.analytic.name": "Title",
                "finding_info.analytic.type_id": const(0),
                "finding_info.analytic.type": const("Unknown"),
                "finding_info.product.name": "ServiceSource",
                "finding_info.data_sources": collect("DetectionSource"),
                **times("finding_info.created_time", "Timestamp"),
                **_attacks("AttackTechniques", "Category"),
                "is_alert": const(True),
            },
            default_activity=1,
            needs=(("AlertId",),),
            profiles=FINDING,
        ),
    ),
)

_EVIDENCE: Rules = {
    "name": "EntityType",
    **file_object("file", "FileName", path="FolderPath", size="FileSize", sha1=sha1("SHA1"), sha256=sha256("SHA256")),
    "process.cmd_line": "ProcessCommandLine",
    "device.hostname": "DeviceName",
    "device.uid": "DeviceId",
    "device.type_id": first(col("DeviceId", "present:0"), col("DeviceName", "present:0")),
    "device.type": first(col("DeviceId", "present_text:Unknown"), col("DeviceName", "present_text:Unknown")),
    **user("user", "AccountName", "AccountDomain", "AccountSid", "AccountUpn", "AccountObjectId"),
    "url.url_string": "RemoteUrl",
    "src_endpoint.ip": {"if": "evidence_source", "then": col("RemoteIP", "ip"), "else": col("LocalIP", "ip")},
    "dst_endpoint.ip": {"if": "evidence_source", "then": col("LocalIP", "ip"), "else": col("RemoteIP", "ip")},
    "email.uid": "NetworkMessageId",
    "email.subject": "EmailSubject",
    "reg_key.path": "RegistryKey",
    **guarded(
        has("RegistryKey", "RegistryValueName"),
        {"reg_value.path": "RegistryKey", "reg_value.name": "RegistryValueName", "reg_value.data": "RegistryValueData"},
    ),
    "data": col("AdditionalFields", "json_value"),
}

ALERT_EVIDENCE = TableMapping(
    "AlertEvidence",
    common={**base("AlertEvidence"), **_severity()},
    plans=(
        Plan(
            2004,
            {
                "finding_info.uid": "AlertId",
                "finding_info.title": "Title",
                "finding_info.types": col("Categories", "list"),
                "finding_info.product.name": "ServiceSource",
                "finding_info.data_sources": collect("DetectionSource"),
                **_attacks("AttackTechniques", "Categories"),
                "evidences": {"call": objects_of("evidences", "AlertEvidence", _EVIDENCE)},
                "is_alert": const(True),
            },
            default_activity=1,
            needs=(("AlertId",),),
            profiles=FINDING,
        ),
    ),
)

_SIEM_EVIDENCE: Rules = {
    **file_object(
        "file",
        "FileName",
        **path_in_folder("FileName", "FilePath"),  # the SIEM API's FilePath is the folder
        md5=md5("Md5"),
        sha1=sha1("Sha1"),
        sha256=sha256("Sha256"),
    ),
    "process.cmd_line": "CommandLine",
    "device.hostname": "ComputerDnsName",
    "device.name": "MachineName",
    "device.domain": "MachineDomain",
    "device.uid": "DeviceID",
    "device.type_id": first(
        *(col(c, "present:0") for c in ("DeviceID", "ComputerDnsName", "MachineName", "MachineDomain"))
    ),
    "device.type": first(
        *(col(c, "present_text:Unknown") for c in ("DeviceID", "ComputerDnsName", "MachineName", "MachineDomain"))
    ),
    **user("user", "UserName", "UserDomain"),
    "url.url_string": "Url",
    "src_endpoint.ip": col("IpAddress", "ip"),
}

_REMEDIATED = {True: 1, False: 2}

SIEM_ALERT = TableMapping(
    "SiemAlert",
    common={**base("SiemAlert", time="AlertTime", fallback_time="LastProcessedTimeUtc"), **_severity()},
    plans=(
        Plan(
            2004,
            {
                "finding_info.uid": "AlertId",
                "finding_info.title": "AlertTitle",
                "finding_info.desc": "Description",
                "finding_info.types": collect("Category"),
                "finding_info.src_url": "LinkToMTP",
                "finding_info.analytic.uid": "IoaDefinitionId",
                "finding_info.analytic.name": "AlertTitle",
                "finding_info.analytic.type_id": const(0),
                "finding_info.analytic.type": const("Unknown"),
                "finding_info.product.name": "Source",
                **times("finding_info.created_time", "AlertTime"),
                **times("finding_info.modified_time", "LastProcessedTimeUtc"),
                "metadata.uid": first("FullId", col("ReportID", "str")),
                "src_url": "IncidentLinkToMTP",
                "evidences": {"call": objects_of("evidences", "SiemAlert", _SIEM_EVIDENCE)},
                "is_alert": const(True),
                **prefixed(
                    "device",
                    {
                        "hostname": "ComputerDnsName",
                        "uid": "DeviceID",
                        "domain": "MachineDomain",
                        "type_id": const(0),
                        "type": const("Unknown"),
                    },
                ),
            },
            default_activity=1,
            needs=(("AlertId",),),
            profiles=FINDING,
        ),
    ),
)

MAPPINGS = {m.table: m for m in (ALERT_INFO, ALERT_EVIDENCE, SIEM_ALERT)}
