"""The ``"ocsf"`` rules of the alert, incident and hunting-row records of the polled APIs.

- Alerts (``GraphAlert``, ``MdeAlert``, ``XdrAlert``) are Detection Findings (class 2004,
  activity Create): ``finding_info`` (uid, title, description, types from the category,
  the detector as ``analytic``, created/modified/first/last-seen times, ``attacks[]`` from
  the MITRE ATT&CK techniques), ``evidences[]`` from the alert's evidence or entities (each
  item whole in ``data``, with ``device``/``user``/``process``/``file``/``url``/
  ``src_endpoint`` where its type has them), ``severity_id``, and ``verdict_id`` /
  ``status_id`` from classification, determination and status.
- Incidents (``GraphIncident``, ``XdrIncident``) are Incident Findings (class 2005): one
  ``finding_info_list`` item per alert of the incident (or one of the incident itself when
  it came without its alerts), the incident's name as ``message``, ``verdict_id``,
  ``status_id`` (required by the class).
- A hunting row whose columns are not a known table's (``HuntingRow``) is a Base Event
  (class 0, activity Unknown) with the row in ``unmapped.properties``.

Enumerations are open-ended: ``unknown`` gives Unknown (0); ``unknownFutureValue`` and any
value this module does not know give Other (99) with the raw value in the caption
(``verdict``, ``status``, ``severity``).  Every top-level key of the item that no
attribute keeps whole is in ``unmapped`` under its own name (the enumerations too, since
their mapping is lossy), undeclared keys in ``unmapped.extra`` and envelope keys in
``unmapped.envelope``.  Times are ms since the epoch with the exact instant, all digits,
in the ``*_dt`` sibling (the ``datetime`` profile).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._values import ExactDatetime
from ..record import Record
from .api_rules import Call, Const, First, KindRules, Text, evaluate

__all__ = ["RULES", "KEPT", "VERDICT", "ALERT_STATUS", "INCIDENT_STATUS", "SEVERITY"]

_VERSION = "1.8.0"

#: Microsoft severity (lower case) -> OCSF severity_id.
SEVERITY = {"unknown": 0, "informational": 1, "low": 2, "medium": 3, "high": 4}
_SEVERITY_NAMES = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High"}

#: Microsoft classification or determination (lower case) -> OCSF verdict_id.
#: A determination that names a verdict of its own (test, not enough data) wins over
#: the classification it belongs to.
VERDICT = {
    "unknown": 0,
    "notavailable": 0,
    "falsepositive": 1,
    "truepositive": 2,
    "informationalexpectedactivity": 5,
    "benignpositive": 5,
    "securitytesting": 6,
    "notenoughdatatovalidate": 7,
}
_DETERMINATION_VERDICTS = {"securitytesting", "notenoughdatatovalidate"}
_VERDICT_NAMES = {0: "Unknown", 1: "False Positive", 2: "True Positive", 5: "Benign", 6: "Test", 7: "Insufficient Data"}

#: Alert status (lower case) -> Detection Finding status_id.
ALERT_STATUS = {"unknown": 0, "new": 1, "inprogress": 2, "resolved": 4}
_ALERT_STATUS_NAMES = {0: "Unknown", 1: "New", 2: "In Progress", 4: "Resolved"}

#: Incident status (lower case) -> Incident Finding status_id: an active incident is open
#: and not taken up (New), awaiting action is On Hold, redirected (merged into another
#: incident) is Closed.
INCIDENT_STATUS = {
    "unknown": 0,
    "active": 1,
    "new": 1,
    "inprogress": 2,
    "awaitingaction": 3,
    "resolved": 4,
    "redirected": 5,
}
_INCIDENT_STATUS_NAMES = {0: "Unknown", 1: "New", 2: "In Progress", 3: "On Hold", 4: "Resolved", 5: "Closed"}


def _enum(path: str, table: Mapping[str, int], names: Mapping[int, str]) -> tuple[Call, Call]:
    """``(id, caption)`` rules of an open enumeration at ``path``."""

    def value(record: Record) -> str | None:
        v = evaluate(path, record)
        return v if isinstance(v, str) and v.strip() else None

    def id_(record: Record) -> int | None:
        v = value(record)
        return None if v is None else table.get(v.strip().lower(), 99)

    def caption(record: Record) -> str | None:
        v = value(record)
        if v is None:
            return None
        known = table.get(v.strip().lower())
        return v if known is None else names[known]

    id_.__doc__ = f"`{path}` mapped ({', '.join(f'{k} {i}' for k, i in table.items())}; other values 99)"
    caption.__doc__ = f"caption of that id (the raw `{path}` for 99)"
    return Call(id_), Call(caption)


def _verdict(classification: str, determination: str) -> tuple[Call, Call]:
    def found(record: Record) -> tuple[int, str] | None:
        c = evaluate(classification, record)
        d = evaluate(determination, record)
        d_key = d.strip().lower() if isinstance(d, str) else ""
        if d_key in _DETERMINATION_VERDICTS:
            return VERDICT[d_key], _VERDICT_NAMES[VERDICT[d_key]]
        if not isinstance(c, str) or not c.strip():
            return None
        v = VERDICT.get(c.strip().lower())
        return (99, c) if v is None else (v, _VERDICT_NAMES[v])

    def id_(record: Record) -> int | None:
        """verdict from the determination when it is securityTesting (6) or notEnoughDataToValidate (7), else
        from the classification: unknown 0, falsePositive 1, truePositive 2, informationalExpectedActivity 5,
        other values 99"""
        f = found(record)
        return None if f is None else f[0]

    def caption(record: Record) -> str | None:
        """caption of that verdict_id (the raw classification for 99)"""
        f = found(record)
        return None if f is None else f[1]

    return Call(id_), Call(caption)


def _ms(path: str) -> Call:
    def ms(record: Record) -> int | None:
        value = evaluate(path, record)
        return value.ns // 1_000_000 if isinstance(value, ExactDatetime) else None

    ms.__doc__ = f"`{path}` in ms since the epoch"
    return Call(ms)


def _time(*paths: str) -> Call:
    def time(record: Record) -> int:
        for path in paths:
            value = evaluate(path, record)
            if isinstance(value, ExactDatetime):
                return value.ns // 1_000_000
        return 0  # OCSF requires a time; none was sent

    time.__doc__ = f"the first of {', '.join(f'`{p}`' for p in paths)} in ms since the epoch (0 when none)"
    return Call(time)


_TECHNIQUE = re.compile(r"(T\d{4})(\.\d{3})?\Z")


def _attacks(path: str) -> Call:
    def attacks(record: Record) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for value in evaluate(path, record) or []:
            m = _TECHNIQUE.match(value.strip()) if isinstance(value, str) else None
            if m is None:
                continue
            attack: dict[str, Any] = {"technique": {"uid": m.group(1)}}
            if m.group(2):
                attack["sub_technique"] = {"uid": m.group(0)}
            if attack not in out:
                out.append(attack)
        return out

    attacks.__doc__ = f"one attack per technique id of `{path}` (`T1059.001`: technique T1059, sub-technique)"
    return Call(attacks)


# --- evidence --------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _set(obj: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value not in ("", [], {}):
        obj[key] = value


def _hashes(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, algorithm_id, name in (("md5", 1, "MD5"), ("sha1", 2, "SHA-1"), ("sha256", 3, "SHA-256")):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            out.append({"algorithm_id": algorithm_id, "algorithm": name, "value": value})
    return out


def _file(item: Any, name_key: str = "fileName", path_key: str = "filePath") -> dict[str, Any] | None:
    if not isinstance(item, Mapping):
        return None
    name = _text(item.get(name_key))
    if name is None:
        return None
    out: dict[str, Any] = {"name": name, "type_id": 1, "type": "Regular File"}
    _set(out, "path", _text(item.get(path_key)))
    size = item.get("fileSize")
    if isinstance(size, int) and not isinstance(size, bool):
        out["size"] = size
    _set(out, "hashes", _hashes(item))
    return out


def _user(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, Mapping):
        return None
    out: dict[str, Any] = {}
    _set(out, "name", _text(item.get("accountName")))
    _set(out, "domain", _text(item.get("domainName")))
    _set(out, "uid", _text(item.get("userSid")))
    _set(out, "uid_alt", _text(item.get("azureAdUserId") or item.get("aadUserId")))
    _set(out, "full_name", _text(item.get("displayName")))
    return out or None


def _evidence_type(item: Mapping[str, Any]) -> str:
    odata = item.get("@odata.type")
    if isinstance(odata, str):
        return odata.rsplit(".", 1)[-1].removesuffix("Evidence").lower()
    entity = item.get("entityType")
    return entity.lower() if isinstance(entity, str) else ""


def _evidence(item: Any) -> dict[str, Any]:
    """One OCSF evidences item of a Graph evidence item or an MDE/XDR evidence or entity."""
    if not isinstance(item, Mapping):
        return {"data": item}
    kind = _evidence_type(item)
    out: dict[str, Any] = {}
    _set(out, "name", _text(item.get("@odata.type") or item.get("entityType")))
    if kind in ("device", "machine"):
        device: dict[str, Any] = {"type_id": 0, "type": "Unknown"}
        _set(device, "hostname", _text(item.get("deviceDnsName") or item.get("hostName")))
        _set(device, "uid", _text(item.get("mdeDeviceId") or item.get("mdatpDeviceId") or item.get("deviceId")))
        out["device"] = device
    if kind in ("user", "process", "mailbox"):
        _set(out, "user", _user(item.get("userAccount", item)))
    if kind == "process":
        process: dict[str, Any] = {}
        pid = item.get("processId")
        if isinstance(pid, int) and not isinstance(pid, bool):
            process["pid"] = pid
        _set(process, "cmd_line", _text(item.get("processCommandLine")))
        _set(process, "file", _file(item.get("imageFile")) or _file(item))
        if process:
            out["process"] = process
    if kind == "file":
        _set(out, "file", _file(item.get("fileDetails")) or _file(item))
    if kind == "url":
        _set(out, "url", {"url_string": url} if (url := _text(item.get("url"))) else None)
    if kind == "ip":
        _set(out, "src_endpoint", {"ip": ip} if (ip := _text(item.get("ipAddress"))) else None)
    verdict = item.get("verdict")
    if isinstance(verdict, str) and verdict.strip():
        key = verdict.strip().lower()
        vid = {"unknown": 0, "suspicious": 4, "malicious": 2, "nothreatsfound": 5}.get(key, 99)
        out["verdict_id"] = vid
        out["verdict"] = verdict if vid == 99 else {0: "Unknown", 2: "True Positive", 4: "Suspicious", 5: "Benign"}[vid]
    out["data"] = dict(item)
    return out


def _evidences(path: str) -> Call:
    def evidences(record: Record) -> list[dict[str, Any]]:
        items = record.to_dict()["properties"].get(path)
        return [_evidence(i) for i in items] if isinstance(items, list) else []

    evidences.__doc__ = (
        f"one item per element of `{path}`: `data` the element whole; `device`, `user`, `process`, `file`, "
        "`url`, `src_endpoint` by its type; `verdict_id` from its verdict (unknown 0, malicious 2, "
        "suspicious 4, noThreatsFound 5, others 99)"
    )
    return Call(evidences)


# --- unmapped --------------------------------------------------------------------------


#: Kind -> top-level keys of the item that OCSF attributes keep whole.
KEPT: dict[str, frozenset[str]] = {
    "GraphAlert": frozenset(
        {
            "id",
            "title",
            "description",
            "category",
            "detectorId",
            "createdDateTime",
            "lastUpdateDateTime",
            "firstActivityDateTime",
            "lastActivityDateTime",
            "alertWebUrl",
            "evidence",
            "tenantId",
        }
    ),
    "MdeAlert": frozenset(
        {
            "id",
            "title",
            "description",
            "category",
            "detectorId",
            "alertCreationTime",
            "lastUpdateTime",
            "firstEventTime",
            "lastEventTime",
            "evidence",
            "aadTenantId",
        }
    ),
    "XdrAlert": frozenset(
        {
            "alertId",
            "title",
            "description",
            "category",
            "detectorId",
            "creationTime",
            "lastUpdatedTime",
            "firstActivity",
            "lastActivity",
            "entities",
        }
    ),
    # an incident's last update is kept in finding_info_list only when it came without alerts
    "GraphIncident": frozenset({"id", "displayName", "createdDateTime", "incidentWebUrl", "tenantId"}),
    "XdrIncident": frozenset({"incidentName", "createdTime", "incidentUri"}),
    "HuntingRow": frozenset(),
}


def _unmapped(kind: str) -> Call:
    kept = KEPT[kind]

    def unmapped(record: Record) -> dict[str, Any] | None:
        whole = record.to_dict()
        out: dict[str, Any] = {}
        props = whole.get("properties") or {}
        if kind == "HuntingRow":
            _set(out, "properties", props)
        else:
            out.update({k: v for k, v in props.items() if k not in kept and v is not None})
        _set(out, "extra", whole.get("extra"))
        _set(out, "envelope", whole.get("envelope"))
        return out or None

    unmapped.__doc__ = (
        "every key of the item that no attribute keeps whole, under its own name; `extra`, `envelope`"
        if kind != "HuntingRow"
        else "the row in `properties`; `extra`, `envelope`"
    )
    return Call(unmapped)


# --- the kinds -------------------------------------------------------------------------


def _metadata(kind: str, uid: Any, created: str, profiles: list[str], feature: Any = None) -> dict[str, Any]:
    rules: dict[str, Any] = {
        "metadata.version": Const(_VERSION),
        "metadata.product.name": Const("Microsoft Defender XDR"),
        "metadata.product.vendor_name": Const("Microsoft"),
        "metadata.profiles": Const(profiles),
        "metadata.log_name": Const(kind),
        "metadata.original_time": created,
    }
    if uid is not None:
        rules["metadata.uid"] = uid
    if feature is not None:
        rules["metadata.product.feature.name"] = feature
    return rules


def _classification(class_uid: int, class_name: str, activity_id: int, activity_name: str) -> dict[str, Any]:
    category = (class_uid // 1000) if class_uid else 0
    return {
        "class_uid": Const(class_uid),
        "class_name": Const(class_name),
        "category_uid": Const(category),
        "category_name": Const({0: "Uncategorized", 2: "Findings"}[category]),
        "activity_id": Const(activity_id),
        "activity_name": Const(activity_name),
        "type_uid": Const(class_uid * 100 + activity_id),
        "type_name": Const(f"{class_name}: {activity_name}"),
    }


def _severity(path: str) -> dict[str, Any]:
    sid, caption = _enum(path, SEVERITY, _SEVERITY_NAMES)

    def severity_id(record: Record) -> int:
        """`severity` mapped (informational 1, low 2, medium 3, high 4, unknown or none 0, other 99)"""
        value = sid.fn(record)
        return 0 if value is None else int(value)

    return {"severity_id": Call(severity_id), "severity": caption}


def _alert(
    kind: str,
    *,
    uid: str,
    created: str,
    modified: str,
    first: str,
    last: str,
    url: str | None,
    evidence: str,
    tenant: str | None,
    feature: Any,
) -> dict[str, Any]:
    status_id, status = _enum("status", ALERT_STATUS, _ALERT_STATUS_NAMES)
    verdict_id, verdict = _verdict("classification", "determination")
    rules: dict[str, Any] = {
        "time": _time(created, modified),
        "time_dt": First.of(created, modified),
        **_severity("severity"),
        **_classification(2004, "Detection Finding", 1, "Create"),
        "is_alert": Const(True),
        "status_id": status_id,
        "status": status,
        "verdict_id": verdict_id,
        "verdict": verdict,
        "finding_info.uid": uid,
        "finding_info.title": "title",
        "finding_info.desc": "description",
        "finding_info.types": Call(_category),
        "finding_info.analytic.uid": "detectorId",
        "finding_info.analytic.name": "title",
        "finding_info.analytic.type_id": Const(0),
        "finding_info.analytic.type": Const("Unknown"),
        "finding_info.created_time": _ms(created),
        "finding_info.created_time_dt": created,
        "finding_info.modified_time": _ms(modified),
        "finding_info.modified_time_dt": modified,
        "finding_info.first_seen_time": _ms(first),
        "finding_info.first_seen_time_dt": first,
        "finding_info.last_seen_time": _ms(last),
        "finding_info.last_seen_time_dt": last,
        "finding_info.attacks": _attacks("mitreTechniques"),
        "evidences": _evidences(evidence),
        **_metadata(kind, uid, created, ["datetime", "incident"], feature),
        "unmapped": _unmapped(kind),
    }
    if url:
        rules["finding_info.src_url"] = url
    if tenant:
        rules["metadata.tenant_uid"] = tenant
    return rules


def _category(record: Record) -> list[str]:
    """`[category]`"""
    value = evaluate("category", record)
    return [value] if isinstance(value, str) and value.strip() else []


_FINDING_OF_ALERT = {
    # alert key of a Graph alert (inside a Graph incident) / an XDR alert (inside an XDR incident)
    "GraphIncident": ("id", "createdDateTime", "lastUpdateDateTime", "firstActivityDateTime", "lastActivityDateTime"),
    "XdrIncident": ("alertId", "creationTime", "lastUpdatedTime", "firstActivity", "lastActivity"),
}


def _finding_info_list(kind: str, incident_uid: str, incident_title: str, created: str, modified: str) -> Call:
    uid_key, c_key, m_key, f_key, l_key = _FINDING_OF_ALERT[kind]

    def finding_info_list(record: Record) -> list[dict[str, Any]]:
        alerts = record.to_dict()["properties"].get("alerts")
        out: list[dict[str, Any]] = []
        for i, alert in enumerate(alerts if isinstance(alerts, list) else []):
            if not isinstance(alert, Mapping):
                continue
            info: dict[str, Any] = {}
            _set(info, "uid", _text(alert.get(uid_key)) or f"{_text(evaluate(incident_uid, record))}/{i}")
            _set(info, "title", _text(alert.get("title")))
            _set(info, "desc", _text(alert.get("description")))
            _set(info, "types", [c] if (c := _text(alert.get("category"))) else None)
            if _text(alert.get("detectorId")):
                info["analytic"] = {"uid": alert["detectorId"], "type_id": 0, "type": "Unknown"}
                _set(info["analytic"], "name", _text(alert.get("title")))
            for key, attr in (
                (c_key, "created_time"),
                (m_key, "modified_time"),
                (f_key, "first_seen_time"),
                (l_key, "last_seen_time"),
            ):
                value = evaluate(f"alerts[{i}].{key}", record)
                if isinstance(value, ExactDatetime):
                    info[attr] = value.ns // 1_000_000
                    info[f"{attr}_dt"] = value.isoformat_exact()
            attacks = _attacks(f"alerts[{i}].mitreTechniques").fn(record)
            _set(info, "attacks", attacks)
            out.append(info)
        if not out:  # the incident came without its alerts: it is its own finding
            info = {"uid": _text(evaluate(incident_uid, record)) or ""}
            _set(info, "title", _text(evaluate(incident_title, record)))
            for path, attr in ((created, "created_time"), (modified, "modified_time")):
                value = evaluate(path, record)
                if isinstance(value, ExactDatetime):
                    info[attr] = value.ns // 1_000_000
                    info[f"{attr}_dt"] = value.isoformat_exact()
            out.append(info)
        return out

    finding_info_list.__doc__ = (
        "one finding_info per alert (uid, title, desc, types, analytic, created/modified/first/last-seen times, "
        "attacks); the incident's own when it has no alerts"
    )
    return Call(finding_info_list)


def _incident(
    kind: str, *, uid: Any, title: str, created: str, modified: str, url: str, tenant: str | None
) -> dict[str, Any]:
    status_id, status = _enum("status", INCIDENT_STATUS, _INCIDENT_STATUS_NAMES)
    verdict_id, verdict = _verdict("classification", "determination")

    def required_status(record: Record) -> int:
        """`status` mapped (active 1 New, inProgress 2, awaitingAction 3 On Hold, resolved 4, redirected 5
        Closed, unknown or none 0, other 99)"""
        value = status_id.fn(record)
        return 0 if value is None else int(value)

    rules: dict[str, Any] = {
        "time": _time(created, modified),
        "time_dt": First.of(created, modified),
        **_severity("severity"),
        **_classification(2005, "Incident Finding", 1, "Create"),
        "status_id": Call(required_status),
        "status": status,
        "verdict_id": verdict_id,
        "verdict": verdict,
        "message": title,
        "src_url": url,
        "finding_info_list": _finding_info_list(
            kind, uid if isinstance(uid, str) else "incidentId", title, created, modified
        ),
        **_metadata(kind, uid, created, ["datetime"]),
        "unmapped": _unmapped(kind),
    }
    if tenant:
        rules["metadata.tenant_uid"] = tenant
    return rules


RULES: KindRules = {
    "GraphAlert": _alert(
        "GraphAlert",
        uid="id",
        created="createdDateTime",
        modified="lastUpdateDateTime",
        first="firstActivityDateTime",
        last="lastActivityDateTime",
        url="alertWebUrl",
        evidence="evidence",
        tenant="tenantId",
        feature="productName",
    ),
    "MdeAlert": _alert(
        "MdeAlert",
        uid="id",
        created="alertCreationTime",
        modified="lastUpdateTime",
        first="firstEventTime",
        last="lastEventTime",
        url=None,
        evidence="evidence",
        tenant="aadTenantId",
        feature=Const("Microsoft Defender for Endpoint"),
    ),
    "XdrAlert": _alert(
        "XdrAlert",
        uid="alertId",
        created="creationTime",
        modified="lastUpdatedTime",
        first="firstActivity",
        last="lastActivity",
        url=None,
        evidence="entities",
        tenant=None,
        feature=None,
    ),
    "GraphIncident": _incident(
        "GraphIncident",
        uid="id",
        title="displayName",
        created="createdDateTime",
        modified="lastUpdateDateTime",
        url="incidentWebUrl",
        tenant="tenantId",
    ),
    "XdrIncident": _incident(
        "XdrIncident",
        uid=Text("incidentId"),
        title="incidentName",
        created="createdTime",
        modified="lastUpdateTime",
        url="incidentUri",
        tenant=None,
    ),
    "HuntingRow": {
        "time": _time("Timestamp", "TimeGenerated"),
        "time_dt": First.of("Timestamp", "TimeGenerated"),
        "severity_id": Const(1),
        "severity": Const("Informational"),
        **_classification(0, "Base Event", 0, "Unknown"),
        **_metadata("HuntingRow", None, "Timestamp", ["datetime"]),
        "unmapped": _unmapped("HuntingRow"),
    },
}
