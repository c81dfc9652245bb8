"""Rule groups that several families share: time, metadata, device, actor, users, endpoints."""

from __future__ import annotations

from functools import partial
from typing import Any

from ..._values import exact_iso
from ...record import Record
from ..specs import Rules, col, const, first, lookup, when
from ._build import INFORMATIONAL, PRODUCT, VENDOR, VERSION, Need, dt, file_object, has, md5, ms, prefixed, sha1, sha256

#: Defender's product of each table, as ``metadata.product.feature.name``.
FEATURES = {
    "Device": "Microsoft Defender for Endpoint",
    "Email": "Microsoft Defender for Office 365",
    "UrlClick": "Microsoft Defender for Office 365",
    "Identity": "Microsoft Defender for Identity",
    "CloudApp": "Microsoft Defender for Cloud Apps",
    "Siem": "Microsoft Defender for Endpoint",
}


def feature(table: str) -> str | None:
    return next((name for prefix, name in FEATURES.items() if table.startswith(prefix)), None)


def _envelope(record: Record) -> dict[str, Any] | None:
    """Envelope values without an OCSF place: ``operationName``, ``Tenant``, ``_TimeReceivedBySvc``, and any others."""
    out: dict[str, Any] = {}
    if record.operationName is not None:
        out["operationName"] = record.operationName
    if record.Tenant is not None:
        out["Tenant"] = record.Tenant
    if record._TimeReceivedBySvc is not None:
        out["_TimeReceivedBySvc"] = exact_iso(record, "_TimeReceivedBySvc")
    if record.envelope_extra:
        out.update(record.envelope_extra)
    return out or None


def _extra(record: Record) -> dict[str, Any] | None:
    """Undeclared columns, and values that did not fit their column, as they arrived."""
    return dict(record.extra) if record.extra else None


def _row(record: Record) -> dict[str, Any] | None:
    """The whole row (columns by Microsoft's names; datetimes as exact ISO text): for tables without rules."""
    data = record.to_dict()["properties"]
    return data or None


def base(table: str | None, time: str = "Timestamp", fallback_time: str | None = None) -> Rules:
    """What every event gets: time, severity, metadata, the leftovers of the envelope; ``table`` None: any table."""
    times = [ms(time)] + ([ms(fallback_time)] if fallback_time else [])
    streamed = table != "SiemAlert"
    if streamed:
        times.append({"envelope": "time", "transform": "epoch_ms"})
    rules: Rules = {
        # OCSF requires a time: the event's, else the next best; a record without any has 0.
        # time_dt and original_time are the event's own time only, exact (one shared value)
        "time": first(*times, const(0)),
        "time_dt": dt(time),
        **INFORMATIONAL,
        "metadata.version": const(VERSION),
        "metadata.product.name": const(PRODUCT),
        "metadata.product.vendor_name": const(VENDOR),
        "metadata.original_time": dt(time),
        "metadata.log_name": {"envelope": "table"} if streamed else const("SiemAlert"),
        "metadata.event_code": "ActionType",
        "metadata.uid": col("ReportId", "str"),
        "unmapped.extra": {"call": _extra},
    }
    name = feature(table or "")
    if name:
        rules["metadata.product.feature.name"] = const(name)
    if streamed:
        rules |= {
            "metadata.logged_time": {"envelope": "time", "transform": "epoch_ms"},
            "metadata.logged_time_dt": {"envelope": "time", "transform": "iso"},
            "metadata.tenant_uid": {"envelope": "tenantId"},
            "metadata.log_provider": const("Microsoft Defender XDR Streaming API"),
            "unmapped.envelope": {"call": _envelope},
        }
    else:
        rules["metadata.log_provider"] = const("Microsoft Defender for Endpoint SIEM REST API")
    return rules


#: OCSF device.type_id of Defender's DeviceType.
DEVICE_TYPES = {"Workstation": 2, "Server": 1, "Mobile": 5, "Tablet": 4, "NetworkDevice": 99, "IoT": 7, "Unknown": 0}


def device(name: str = "DeviceName", uid: str = "DeviceId", os: str | None = None, kind: str | None = None) -> Rules:
    """OCSF ``device``: hostname and name, uid, os; ``type_id`` is required (0 Unknown unless DeviceType says)."""
    rules: Rules = {
        "device.hostname": name,
        "device.uid": uid,
        "device.type_id": lookup(kind, DEVICE_TYPES, 0) if kind else const(0),
        "device.type": lookup(kind, {k: _DEVICE_CAPTIONS[v] for k, v in DEVICE_TYPES.items()}, "Unknown")
        if kind
        else const("Unknown"),
    }
    if os:
        rules |= {"device.os.name": os, "device.os.type_id": col(os, "ocsf_os_type_id")}
    return rules


_DEVICE_CAPTIONS = {0: "Unknown", 1: "Server", 2: "Desktop", 4: "Tablet", 5: "Mobile", 7: "IOT", 99: "Other"}

_INTEGRITY = {"Untrusted": 1, "Low": 2, "Medium": 3, "High": 4, "System": 5, "Protected": 6}


def user(  # noqa: PLR0917 - the columns of one user, in the order OCSF lists them
    prefix: str,
    name: str,
    domain: str | None = None,
    sid: str | None = None,
    upn: str | None = None,
    object_id: str | None = None,
    display: str | None = None,
) -> Rules:
    """OCSF ``user``: ``name``, ``domain``, ``uid`` (the SID, else the Entra object id), ``uid_alt`` (the object id)."""
    rules: Rules = {"name": name}
    if domain:
        rules["domain"] = domain
    if sid and object_id and isinstance(sid, str):
        # the SID when the record has one, else the object id; the object id is uid_alt beside a SID
        rules["uid"] = when(has(sid), sid, object_id)
        rules["uid_alt"] = when(has(sid), object_id)
    elif sid:
        rules["uid"] = sid
        if object_id:
            rules["uid_alt"] = object_id
    elif object_id:
        rules["uid"] = object_id
    if upn:
        rules["email_addr"] = col(upn, "email")
    if display:
        rules["full_name"] = display
    return prefixed(prefix, rules)


def path_in_folder(name: str, folder: str) -> Rules:
    """OCSF file ``path`` (the full path) and ``parent_folder`` from a file-name column and a column that holds
    the folder (``C:\\Windows``, or a URL): joined; a folder column that already ends with the name is the path."""

    def parts(record: Record) -> tuple[str, str | None] | None:
        props = record.properties
        get = props.get if isinstance(props, dict) else partial(getattr, props)
        base_name, where = get(name, None), get(folder, None)
        if not (isinstance(base_name, str) and base_name.strip() and isinstance(where, str) and where.strip()):
            return None
        sep = "/" if "/" in where and "\\" not in where else "\\"
        whole = where.rstrip("\\/")
        if whole.lower().endswith((sep + base_name).lower()):
            return whole, whole[: -len(base_name) - 1] or None
        return f"{whole}{sep}{base_name}", where

    def path(record: Record) -> str | None:
        found = parts(record)
        return found[0] if found else None

    def parent_folder(record: Record) -> str | None:
        found = parts(record)
        return found[1] if found else None

    path.__doc__ = f"``{folder}`` and ``{name}`` joined (``{folder}`` alone when it ends with the name)."
    parent_folder.__doc__ = f"The folder of ``{folder}``."
    return {"path": {"call": path}, "parent_folder": {"call": parent_folder}}


def integrity(column: str) -> Rules:
    """``integrity`` is the level as it arrived; ``integrity_id`` its OCSF id (99, Other, for other levels)."""
    return {"integrity": column, "integrity_id": first(lookup(column, _INTEGRITY), col(column, "present:99"))}


def process(prefix: str, p: str, *, parent: bool = True) -> Rules:
    """OCSF ``process`` of the columns named ``<p>...`` (the actor's: ``InitiatingProcess``).

    Its account is the actor's ``user`` (see :data:`ACTOR`); DeviceProcessEvents'
    created process has column names of its own (``device.CREATED_PROCESS``).
    """
    rules: Rules = {
        "pid": f"{p}Id",
        "uid": f"{p}UniqueId",
        "name": f"{p}FileName",
        "cmd_line": f"{p}CommandLine",
        "created_time": ms(f"{p}CreationTime"),
        "created_time_dt": dt(f"{p}CreationTime"),
        **integrity(f"{p}IntegrityLevel"),
        "path": f"{p}FolderPath",
    }
    rules = prefixed(prefix, rules)
    rules |= file_object(
        f"{prefix}.file",
        f"{p}FileName",
        path=f"{p}FolderPath",
        size=f"{p}FileSize",
        md5=md5(f"{p}MD5"),
        sha1=sha1(f"{p}SHA1"),
        sha256=sha256(f"{p}SHA256"),
        company_name=f"{p}VersionInfoCompanyName",
        desc=f"{p}VersionInfoFileDescription",
        internal_name=f"{p}VersionInfoInternalFileName",
        version=f"{p}VersionInfoProductVersion",
    )
    if parent:
        rules |= prefixed(
            f"{prefix}.parent_process",
            {
                "pid": f"{p}ParentId",
                "name": f"{p}ParentFileName",
                "created_time": ms(f"{p}ParentCreationTime"),
                "created_time_dt": dt(f"{p}ParentCreationTime"),
            },
        )
    return rules


#: The actor of a Device event: the initiating process, its parent, its account.
ACTOR = process("actor.process", "InitiatingProcess") | user(
    "actor.user",
    "InitiatingProcessAccountName",
    "InitiatingProcessAccountDomain",
    "InitiatingProcessAccountSid",
    "InitiatingProcessAccountUpn",
    "InitiatingProcessAccountObjectId",
)
#: Columns of which one makes an actor.
ACTOR_COLUMNS: tuple[Need, ...] = (
    "InitiatingProcessFileName",
    "InitiatingProcessId",
    "InitiatingProcessCommandLine",
    "InitiatingProcessAccountName",
    "InitiatingProcessAccountSid",
    "InitiatingProcessUniqueId",
    "InitiatingProcessFolderPath",
    "InitiatingProcessAccountDomain",
    ("InitiatingProcessAccountUpn", "email"),
    "InitiatingProcessAccountObjectId",
    "InitiatingProcessParentId",
    "InitiatingProcessParentFileName",
    "InitiatingProcessCreationTime",
    "InitiatingProcessParentCreationTime",
    "InitiatingProcessIntegrityLevel",
)


def endpoint(prefix: str, ip: str | None, port: str | None = None, name: str | None = None) -> Rules:
    rules: Rules = {}
    if ip:
        rules["ip"] = col(ip, "ip")
    if port:
        rules["port"] = col(port, "port")
    if name:
        rules["hostname"] = name
    return prefixed(prefix, rules)


def directional(local: Rules, remote: Rules) -> Rules:
    """src_endpoint/dst_endpoint: the remote side is the source when it opened the connection (``inbound``)."""
    rules: Rules = {}
    for key in sorted({*local, *remote}):
        rules[f"src_endpoint.{key}"] = when("inbound", remote.get(key) or const(None), local.get(key))
        rules[f"dst_endpoint.{key}"] = when("inbound", local.get(key) or const(None), remote.get(key))
    return {t: s for t, s in rules.items() if s is not None}


__all__ = ["base", "device", "user", "process", "ACTOR", "ACTOR_COLUMNS", "endpoint", "directional", "has", "first"]
