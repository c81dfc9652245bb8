"""Why each table that no OCSF 1.8.0 class fits stays a Base Event (listed in ``OCSF.md``).

A test keeps this list and the tables without a class the same.
"""

from __future__ import annotations

#: Table -> why no OCSF class fits its records (one line each).
BASE_EVENT_TABLES: dict[str, str] = {
    "DeviceFileCertificateInfo": "a file's signature, no activity; OCSF has no file or certificate inventory class "
    "(Live Evidence Info 5040 is a live query's answer, which these rows are not)",
    "CloudStorageAggregatedEvents": "counts of storage operations over a time window, not one activity; OCSF's "
    "activity classes describe one operation each and no class holds aggregates",
    "CloudPolicyEnforcementEvents": "Kubernetes admission decisions (Allow, Deny, Audit) on a resource, without the "
    "requested operation or its caller, which API Activity requires (api.operation, actor, src_endpoint); the decision "
    "is the security_control profile's action and disposition",
    "MessageEvents": "Teams messages: OCSF 1.8.0 has no chat or messaging class (Email Activity requires an email)",
    "MessagePostDeliveryEvents": "actions on delivered Teams messages: no messaging class (see MessageEvents)",
    "MessageUrlInfo": "URLs of Teams messages: no messaging class (see MessageEvents)",
    "MessageContents": "snippets of Teams messages: no messaging class (see MessageEvents)",
    "CallActivityEvents": "Teams call activities: OCSF 1.8.0 has no call or meeting class",
    "IdentityEvents": "events of non-Microsoft identity providers whose ActionType values are undocumented; "
    "sign-ins and directory changes cannot be told apart, so no class can be chosen per record",
    "DeviceTvmSoftwareVulnerabilitiesKB": "a knowledge base of vulnerabilities, not an event about a device or user",
    "DeviceTvmSecureConfigurationAssessmentKB": "a knowledge base of configurations, not an event about a device",
    "DeviceTvmBrowserExtensionsKB": "a knowledge base of browser extensions, not an event about a device",
    "DeviceTvmCertificateInfo": "certificates found on devices: OCSF has no certificate inventory class",
    "DeviceTvmHardwareFirmware": "hardware and firmware components of undocumented ComponentType values: which "
    "device attribute (hw_info BIOS, CPU, or vendor and model) a row fills cannot be told",
    "DeviceTvmInfoGatheringKB": "a knowledge base of the information gathered, not an event about a device",
    "DeviceBaselineComplianceAssessmentKB": "a knowledge base of baseline configurations, not an event",
    "DeviceBaselineComplianceProfiles": "baseline profile definitions, not an event about a device",
    "DataSecurityEvents": "user activities on sensitive data with undocumented ActionType values; the policy matches "
    "they carry are not findings of their own",
}

__all__ = ["BASE_EVENT_TABLES"]
