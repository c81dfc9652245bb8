"""DeviceEvents ActionTypes that the built-in rule sets (``ecs``, ``ocsf``) classify alike.

Data only: the names of Defender's protection events (attack surface reduction,
exploit guard, controlled folder access, application control, AppLocker,
SmartScreen, network protection), whether audited, blocked or bypassed.
"""

from __future__ import annotations

__all__ = ["PROTECTION_ACTIONS"]

_ASR_RULES = (
    "VulnerableSignedDriver", "LsassCredentialTheft", "PersistenceThroughWmi", "AdobeReaderChildProcess",
    "OfficeChildProcess", "ExecutableEmailContent", "UntrustedExecutable", "ObfuscatedScript",
    "ScriptExecutableDownload", "ExecutableOfficeContent", "OfficeProcessInjection", "OfficeCommAppChildProcess",
    "PsexecWmiChildProcess", "SafeModeReboot", "SafeModeRebooted", "UntrustedUsbProcess", "AbusedSystemTool",
    "OfficeMacroWin32ApiCalls", "Ransomware",
)  # fmt: skip
_EXPLOIT_GUARD = (
    "Acg", "ChildProcess", "EafViolation", "IafViolation", "LowIntegrityImage", "NetworkProtection",
    "NonMicrosoftSigned", "RopExploit", "SharedBinary", "Win32SystemCall",
)  # fmt: skip
_APP_CONTROL = (
    "AppInstallation", "CodeIntegrityImage", "CodeIntegrityOrigin", "CodeIntegrityPolicy", "Executable",
    "PackagedApp", "Script",
)  # fmt: skip

#: Every protection ActionType, in a stable order: what was audited, blocked or bypassed.
PROTECTION_ACTIONS: tuple[str, ...] = (
    *(f"Asr{rule}{mode}" for rule in _ASR_RULES for mode in ("Audited", "Blocked", "WarnBypassed")),
    *(f"ExploitGuard{rule}{mode}" for rule in _EXPLOIT_GUARD for mode in ("Audited", "Blocked")),
    "ExploitGuardAcgEnforced",
    "ControlledFolderAccessViolationAudited",
    "ControlledFolderAccessViolationBlocked",
    *(f"AppControl{rule}{mode}" for rule in _APP_CONTROL for mode in ("Audited", "Blocked")),
    "AppLockerBlockExecutable",
    "AppLockerBlockPackagedApp",
    "AppLockerBlockPackagedAppInstallation",
    "AppLockerBlockScript",
    "SmartScreenAppWarning",
    "SmartScreenExploitWarning",
    "SmartScreenUrlWarning",
    "SmartScreenUserOverride",
    "NetworkProtectionUserBypassEvent",
)
