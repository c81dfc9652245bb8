"""OCSF mappings of the vulnerability management tables (Defender Vulnerability Management).

A software inventory row is Software Inventory Info (5020), a vulnerable software
row a Vulnerability Finding (2002), a configuration assessment a Compliance
Finding (2003), what Defender gathered about a device Device Inventory Info
(5001).  The findings have no id of their own: ``finding_info.uid`` is the
device's id and what the row is about (CVE and software, or configuration),
joined with ``/``.
"""

from __future__ import annotations

from collections.abc import Callable

from ...record import Record
from ..specs import Rules, col, const, first, lookup
from ._build import Plan, TableMapping, guarded, has, objects_of, times
from ._common import base, device
from .alerts import _severity


def _joined(*columns: str, optional: tuple[str, ...] = ()) -> Callable[[Record], str | None]:
    """``record -> "<a>/<b>/..."`` of the columns' values, None unless the first two have one; the ``optional``
    columns follow only when they have a value."""

    def uid(record: Record) -> str | None:
        props = record.properties
        values = [props.get(c) if isinstance(props, dict) else getattr(props, c, None) for c in columns]
        if any(v is None or v == "" for v in values[:2]):
            return None
        extra = [props.get(c) if isinstance(props, dict) else getattr(props, c, None) for c in optional]
        values += [v for v in extra if v is not None and v != ""]
        return "/".join("" if v is None else str(v) for v in values)

    uid.__name__ = "finding_uid"
    uid.__doc__ = f"``{'/'.join(columns)}``: the finding's id (the first two must have a value)."
    return uid


def _tvm_device() -> Rules:
    rules = device(os="OSPlatform")
    # a device only when the row names one or its OS (type_id is required: Unknown); the OS version beside its name only
    named = ("DeviceId", "DeviceName", "OSPlatform")
    rules["device.type_id"] = first(*(col(c, "present:0") for c in named))
    rules["device.type"] = first(*(col(c, "present_text:Unknown") for c in named))
    return rules | guarded(has("OSPlatform"), {"device.os.version": "OSVersion"})


_DEVICE_NEEDS = ("DeviceId", "DeviceName")

# the software: a package needs its name and version
_PACKAGE: Rules = guarded(
    has("SoftwareName", "SoftwareVersion"),
    {"name": "SoftwareName", "version": "SoftwareVersion", "vendor_name": "SoftwareVendor"},
)
_HOST = ("datetime", "host")  # a Base Event has its device through the host profile

SOFTWARE_INVENTORY = TableMapping(
    "DeviceTvmSoftwareInventory",
    common={**base("DeviceTvmSoftwareInventory"), **_tvm_device()},
    plans=(
        Plan(
            5020,
            {
                f"package.{k}": v
                for k, v in {
                    **_PACKAGE,
                    **guarded(has("SoftwareName", "SoftwareVersion"), {"cpe_name": "ProductCodeCpe"}),
                }.items()
            },
            default_activity=2,
            needs=(_DEVICE_NEEDS,),
        ),
    ),
    base_profiles=_HOST,
)

# where the software was found (its registry and disk paths stay in unmapped)
SOFTWARE_EVIDENCE = TableMapping(
    "DeviceTvmSoftwareEvidenceBeta",
    common={**base("DeviceTvmSoftwareEvidenceBeta"), **_tvm_device()},
    plans=(Plan(5020, {f"package.{k}": v for k, v in _PACKAGE.items()}, default_activity=2, needs=(_DEVICE_NEEDS,)),),
    base_profiles=_HOST,
)

# a browser extension is a package of type Other ("Browser Extension")
BROWSER_EXTENSIONS = TableMapping(
    "DeviceTvmBrowserExtensions",
    common={**base("DeviceTvmBrowserExtensions"), **_tvm_device()},
    plans=(
        Plan(
            5020,
            {
                f"package.{k}": v
                for k, v in guarded(
                    has("ExtensionName", "ExtensionVersion"),
                    {
                        "name": "ExtensionName",
                        "version": "ExtensionVersion",
                        "vendor_name": "ExtensionVendor",
                        "uid": "ExtensionId",
                        "type_id": const(99),
                        "type": const("Browser Extension"),
                    },
                ).items()
            },
            default_activity=2,
            needs=(_DEVICE_NEEDS,),
        ),
    ),
    base_profiles=_HOST,
)

SOFTWARE_VULNERABILITIES = TableMapping(
    "DeviceTvmSoftwareVulnerabilities",
    common={**base("DeviceTvmSoftwareVulnerabilities"), **_tvm_device()},
    plans=(
        Plan(
            2002,
            {
                **_severity("VulnerabilitySeverityLevel"),
                "finding_info.uid": {
                    "call": _joined("DeviceId", "CveId", "SoftwareVendor", "SoftwareName", "SoftwareVersion")
                },
                "finding_info.title": "CveId",
                "vulnerabilities": {
                    "call": objects_of(
                        "vulnerabilities",
                        "DeviceTvmSoftwareVulnerabilities",
                        {
                            "cve.uid": "CveId",
                            "severity": "VulnerabilitySeverityLevel",
                            "affected_packages": {
                                "call": objects_of("affected_packages", "DeviceTvmSoftwareVulnerabilities", _PACKAGE)
                            },
                            "kb_article_list": {
                                "call": objects_of(
                                    "kb_article_list",
                                    "DeviceTvmSoftwareVulnerabilities",
                                    {"uid": "RecommendedSecurityUpdateId", "title": "RecommendedSecurityUpdate"},
                                )
                            },
                        },
                    )
                },
            },
            default_activity=1,
            needs=(("DeviceId",), ("CveId",)),
        ),
    ),
    base_profiles=_HOST,
)

#: IsCompliant -> OCSF compliance.status_id: Pass 1, Fail 3.
_COMPLIANCE = {True: 1, False: 3}
_COMPLIANCE_NAMES = {True: "Pass", False: "Fail"}


def _configuration(table: str, *, category: bool, profile: bool = False) -> TableMapping:
    # a baseline assesses one configuration once per profile: the profile is part of the finding's id
    rules: Rules = {
        "finding_info.uid": {
            "call": _joined("DeviceId", "ConfigurationId", optional=("ProfileId",) if profile else ())
        },
        "finding_info.title": "ConfigurationId",
        "compliance.control": "ConfigurationId",
        "compliance.status_id": lookup("IsCompliant", _COMPLIANCE, 0),
        "compliance.status": lookup("IsCompliant", _COMPLIANCE_NAMES, "Unknown"),
    }
    if category:
        rules["compliance.category"] = "ConfigurationCategory"
    return TableMapping(
        table,
        common={**base(table), **_tvm_device()},
        plans=(Plan(2003, rules, default_activity=1, needs=(("DeviceId",), ("ConfigurationId",))),),
        base_profiles=_HOST,
    )


SECURE_CONFIGURATION = _configuration("DeviceTvmSecureConfigurationAssessment", category=True)
BASELINE_COMPLIANCE = _configuration("DeviceBaselineComplianceAssessment", category=False, profile=True)

# what Defender gathered about a device (its configuration, in AdditionalFields, stays in unmapped)
INFO_GATHERING = TableMapping(
    "DeviceTvmInfoGathering",
    common={**base("DeviceTvmInfoGathering"), **_tvm_device()},
    plans=(
        Plan(
            5001,
            {f"device.{k}": v for k, v in times("last_seen_time", "LastSeenTime").items()},
            default_activity=2,
            needs=(_DEVICE_NEEDS,),
            profiles=_HOST,
        ),
    ),
    base_profiles=_HOST,
)

MAPPINGS = {
    m.table: m
    for m in (
        SOFTWARE_INVENTORY,
        SOFTWARE_EVIDENCE,
        BROWSER_EXTENSIONS,
        SOFTWARE_VULNERABILITIES,
        SECURE_CONFIGURATION,
        BASELINE_COMPLIANCE,
        INFO_GATHERING,
    )
}

__all__ = ["MAPPINGS"]
