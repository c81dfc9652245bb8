"""The ``"ocsf"`` rules of the alert, incident and hunting-row records of the polled APIs.

- Alerts (``GraphAlert``, ``MdeAlert``, ``XdrAlert``) are Detection Findings (class 2004):
  ``finding_info`` (uid, title, description, types from the category,
  the detector as ``analytic``, created/modified/first/last-seen times, ``attacks[]`` from
  the MITRE ATT&CK techniques), ``evidences[]`` from the alert's evidence or entities (each
  item whole in ``data``, with ``device``/``user``/``process``/``file``/``url``/
  ``src_endpoint`` where its type has them), ``severity_id``, and ``verdict_id`` /
  ``status_id`` from classification, determination and status.
- Incidents (``GraphIncident``, ``XdrIncident``) are Incident Findings (class 2005): one
  ``finding_info_list`` item per alert of the incident (or one of the incident itself when
  it came without its alerts), the incident's name as ``message``, ``verdict_id``,
  ``status_id`` (required by the class).
- The activity of a finding follows its status when it was read: Create (1) when it is new
  (or unknown, or absent), Close (3) when it is a closed one (an alert resolved; an incident
  resolved or redirected), else Update (2): it was taken up (in progress, awaiting action,
  a status this module does not know).  ``time`` stays the creation time (OCSF's "finding
  creation time").
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
from datetime import datetime
from typing import Any

from msgspec import Struct

from .._values import parse_ns
from .api_rules import Const, First, Func, Item, KindRules, Text, exact_ns, exact_text_of

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


def _enum(path: str, table: Mapping[str, int], names: Mapping[int, str]) -> tuple[Func, Func]:
    """``(id, caption)`` rules of an open enumeration at ``path``."""

    def id_(v: Any) -> int | None:
        if not isinstance(v, str) or not v.strip():
            return None
        return table.get(v.strip().lower(), 99)

    def caption(v: Any) -> str | None:
        if not isinstance(v, str) or not v.strip():
            return None
        known = table.get(v.strip().lower())
        return v if known is None else names[known]

    id_.__doc__ = f"`{path}` mapped ({', '.join(f'{k} {i}' for k, i in table.items())}; other values 99)"
    caption.__doc__ = f"caption of that id (the raw `{path}` for 99)"
    return Func.of(id_, path), Func.of(caption, path)


def _verdict(classification: str, determination: str) -> tuple[Func, Func]:
    def found(c: Any, d: Any) -> tuple[int, str] | None:
        d_key = d.strip().lower() if isinstance(d, str) else ""
        if d_key in _DETERMINATION_VERDICTS:
            return VERDICT[d_key], _VERDICT_NAMES[VERDICT[d_key]]
        if not isinstance(c, str) or not c.strip():
            return None
        v = VERDICT.get(c.strip().lower())
        return (99, c) if v is None else (v, _VERDICT_NAMES[v])

    def id_(c: Any, d: Any) -> int | None:
        """verdict from the determination when it is securityTesting (6) or notEnoughDataToValidate (7), else
        from the classification: unknown 0, falsePositive 1, truePositive 2, informationalExpectedActivity 5,
        other values 99"""
        f = found(c, d)
        return None if f is None else f[0]

    def caption(c: Any, d: Any) -> str | None:
        """caption of that verdict_id (the raw classification for 99)"""
        f = found(c, d)
        return None if f is None else f[1]

    return Func.of(id_, classification, determination), Func.of(caption, classification, determination)


def _ms(path: str) -> Func:
    def ms(value: Any) -> int | None:
        ns = exact_ns(value)
        return None if ns is None else ns // 1_000_000

    ms.__doc__ = f"`{path}` in ms since the epoch"
    return Func.of(ms, path)


def _time(*paths: str) -> Func:
    def time(*values: Any) -> int:
        for value in values:
            ns = exact_ns(value)
            if ns is not None:
                return ns // 1_000_000
        return 0  # OCSF requires a time; none was sent

    time.__doc__ = f"the first of {', '.join(f'`{p}`' for p in paths)} in ms since the epoch (0 when none)"
    return Func.of(time, *paths)


_TECHNIQUE = re.compile(r"(T\d{4})(\.\d{3})?\Z")


def _attack_list(values: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for value in values or []:
        m = _TECHNIQUE.match(value.strip()) if isinstance(value, str) else None
        if m is None:
            continue
        attack: dict[str, Any] = {"technique": {"uid": m.group(1)}}
        if m.group(2):
            attack["sub_technique"] = {"uid": m.group(0)}
        if attack not in out:
            out.append(attack)
    return out


def _attacks(path: str) -> Func:
    def attacks(values: Any) -> list[dict[str, Any]]:
        return _attack_list(values)

    attacks.__doc__ = f"one attack per technique id of `{path}` (`T1059.001`: technique T1059, sub-technique)"
    return Func.of(attacks, path)


# --- evidence --------------------------------------------------------------------------


#: ``isinstance(x, _MAPPING)``: a dict (what to_dict() gives) without the ABC's check, or another mapping.
_MAPPING = (dict, Mapping)


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _set(obj: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value not in ("", [], {}):
        obj[key] = value


def _device(uid: Any, hostname: Any) -> dict[str, Any]:
    """An OCSF device of an alert or an evidence: its type unknown, its hostname and uid when given."""
    device: dict[str, Any] = {"type_id": 0, "type": "Unknown"}
    _set(device, "hostname", _text(hostname))
    _set(device, "uid", _text(uid))
    return device


def _hashes(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, algorithm_id, name in (("md5", 1, "MD5"), ("sha1", 2, "SHA-1"), ("sha256", 3, "SHA-256")):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            out.append({"algorithm_id": algorithm_id, "algorithm": name, "value": value})
    return out


def _file(item: Any, name_key: str = "fileName", path_key: str = "filePath") -> dict[str, Any] | None:
    if not isinstance(item, _MAPPING):
        return None
    name = _text(item.get(name_key))
    if name is None:
        return None
    out: dict[str, Any] = {"name": name, "type_id": 1, "type": "Regular File"}
    folder = _text(item.get(path_key))
    if folder is not None:  # the APIs' filePath is the folder; OCSF's path includes the name
        sep = "/" if "/" in folder and "\\" not in folder else "\\"
        whole = folder.rstrip("\\/")
        if whole.lower().endswith((sep + name).lower()):
            out["path"] = whole
        else:
            out["parent_folder"] = folder
            out["path"] = f"{whole}{sep}{name}"
    size = item.get("fileSize")
    if isinstance(size, int) and not isinstance(size, bool):
        out["size"] = size
    _set(out, "hashes", _hashes(item))
    return out


def _user(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, _MAPPING):
        return None
    out: dict[str, Any] = {}
    _set(out, "name", _text(item.get("accountName")))
    _set(out, "domain", _text(item.get("domainName")))
    _set(out, "uid", _text(item.get("userSid")))
    _set(out, "uid_alt", _text(item.get("azureAdUserId") or item.get("aadUserId")))
    _set(out, "full_name", _text(item.get("displayName")))
    return out or None


#: ``@odata.type`` -> the evidence kind it names (``"#microsoft.graph.security.userEvidence"`` -> ``"user"``).
_KINDS: dict[str, str] = {}
_VERDICT_IDS = {"unknown": 0, "suspicious": 4, "malicious": 2, "nothreatsfound": 5}
_VERDICT_CAPTIONS = {0: "Unknown", 2: "True Positive", 4: "Suspicious", 5: "Benign"}


def _evidence_type(item: Mapping[str, Any]) -> str:
    odata = item.get("@odata.type")
    if isinstance(odata, str):
        kind = _KINDS.get(odata)
        if kind is None:
            kind = odata.rsplit(".", 1)[-1].removesuffix("Evidence").lower()
            if len(_KINDS) < 1024:  # the types Microsoft sends: a few dozen
                _KINDS[odata] = kind
        return kind
    entity = item.get("entityType")
    return entity.lower() if isinstance(entity, str) else ""


def _evidence(item: Any) -> dict[str, Any]:
    """One OCSF evidences item of a Graph evidence item or an MDE/XDR evidence or entity."""
    if not isinstance(item, _MAPPING):
        return {"data": item}
    kind = _evidence_type(item)
    get = item.get
    out: dict[str, Any] = {}
    name = _text(get("@odata.type") or get("entityType"))
    if name is not None:
        out["name"] = name
    if kind in _SPECIAL_KINDS:
        if kind in ("device", "machine"):
            out["device"] = _device(
                get("mdeDeviceId") or get("mdatpDeviceId") or get("deviceId"), get("deviceDnsName") or get("hostName")
            )
        if kind in ("user", "process", "mailbox"):
            _set(out, "user", _user(get("userAccount", item)))
        if kind == "process":
            process: dict[str, Any] = {}
            pid = get("processId")
            if isinstance(pid, int) and not isinstance(pid, bool):
                process["pid"] = pid
            _set(process, "cmd_line", _text(get("processCommandLine")))
            _set(process, "file", _file(get("imageFile")) or _file(item))
            if process:
                out["process"] = process
        if kind == "file":
            _set(out, "file", _file(get("fileDetails")) or _file(item))
        if kind == "url":
            _set(out, "url", {"url_string": url} if (url := _text(get("url"))) else None)
        if kind == "ip":
            _set(out, "src_endpoint", {"ip": ip} if (ip := _text(get("ipAddress"))) else None)
    verdict = get("verdict")
    if isinstance(verdict, str) and verdict.strip():
        vid = _VERDICT_IDS.get(verdict.strip().lower(), 99)
        out["verdict_id"] = vid
        out["verdict"] = verdict if vid == 99 else _VERDICT_CAPTIONS[vid]
    out["data"] = dict(item)
    return out


#: The evidence kinds that have attributes of their own (besides name, verdict and data).
_SPECIAL_KINDS = frozenset({"device", "machine", "user", "process", "mailbox", "file", "url", "ip"})


def _evidences(path: str) -> Func:
    def evidences(item: dict[str, Any]) -> list[dict[str, Any]]:
        items = item.get(path)
        return [_evidence(i) for i in items] if isinstance(items, list) else []

    evidences.__doc__ = (
        f"one item per element of `{path}`: `data` the element whole; `device`, `user`, `process`, `file`, "
        "`url`, `src_endpoint` by its type; `verdict_id` from its verdict (unknown 0, malicious 2, "
        "suspicious 4, noThreatsFound 5, others 99)"
    )
    return Func.of(evidences, Item())


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
            "assignedTo",
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
            "assignedTo",
            "machineId",
            "computerDnsName",
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
            "assignedTo",
        }
    ),
    # an incident's last update is kept in finding_info_list only when it came without alerts
    "GraphIncident": frozenset({"id", "displayName", "createdDateTime", "incidentWebUrl", "tenantId", "assignedTo"}),
    "XdrIncident": frozenset({"incidentName", "createdTime", "incidentUri", "assignedTo"}),
    "HuntingRow": frozenset(),
}


def _unmapped(kind: str) -> Func:
    kept = KEPT[kind]

    def unmapped(whole: dict[str, Any]) -> dict[str, Any] | None:
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
    return Func.of(unmapped, Item(whole=True))


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


#: The finding activities (Detection and Incident Findings have the same three).
_ACTIVITY_NAMES = {1: "Create", 2: "Update", 3: "Close"}


def _activity(class_uid: int, class_name: str, status: Func, closed: frozenset[int]) -> dict[str, Any]:
    """The classification rules of a finding whose activity follows its status: Close (3) when the
    status is a closed one, Create (1) when it is New, Unknown or absent, else Update (2) (in
    progress, on hold, a value this module does not know: the finding was worked on);
    ``type_uid`` and the captions from the same activity."""
    category = class_uid // 1000
    closing = " or ".join(str(i) for i in sorted(closed))

    def activity_id(v: Any) -> int:
        found = status.fn(v)
        if found in closed:
            return 3
        return 1 if found in (None, 0, 1) else 2

    def activity_name(v: Any) -> str:
        """caption of that activity"""
        return _ACTIVITY_NAMES[activity_id(v)]

    def type_uid(v: Any) -> int:
        """`class_uid` * 100 + that activity"""
        return class_uid * 100 + activity_id(v)

    def type_name(v: Any) -> str:
        """`<class name>: <activity name>`"""
        return f"{class_name}: {activity_name(v)}"

    activity_id.__doc__ = (
        f"from `status`: 3 Close when it maps to status_id {closing}; 1 Create when New (1), Unknown (0) "
        "or absent; else 2 Update"
    )
    return {
        "class_uid": Const(class_uid),
        "class_name": Const(class_name),
        "category_uid": Const(category),
        "category_name": Const("Findings"),
        "activity_id": Func.of(activity_id, "status"),
        "activity_name": Func.of(activity_name, "status"),
        "type_uid": Func.of(type_uid, "status"),
        "type_name": Func.of(type_name, "status"),
    }


def _severity(path: str) -> dict[str, Any]:
    sid, caption = _enum(path, SEVERITY, _SEVERITY_NAMES)

    def severity_id(v: Any) -> int:
        """`severity` mapped (informational 1, low 2, medium 3, high 4, unknown or none 0, other 99)"""
        value = sid.fn(v)
        return 0 if value is None else int(value)

    def severity(v: Any) -> str:
        """caption of that id (the raw `severity` for 99; Unknown when there is none)"""
        return caption.fn(v) or _SEVERITY_NAMES[0]

    return {"severity_id": Func.of(severity_id, path), "severity": Func.of(severity, path)}


def _assignee(value: Any) -> dict[str, Any] | None:
    """`{name: assignedTo}`: the user the item is assigned to (a UPN, or `Automation`)"""
    name = _text(value)
    return None if name is None else {"name": name}


def _machine(uid: Any, hostname: Any) -> dict[str, Any] | None:
    """the alert's machine: `{type_id: 0, type: Unknown, uid: machineId, hostname: computerDnsName}`"""
    device = _device(uid, hostname)
    return device if len(device) > 2 else None


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
    machine: tuple[str, str] | None = None,
) -> dict[str, Any]:
    status_id, status = _enum("status", ALERT_STATUS, _ALERT_STATUS_NAMES)
    verdict_id, verdict = _verdict("classification", "determination")
    rules: dict[str, Any] = {
        "time": _time(created, modified),
        "time_dt": First.of(created, modified),
        **_severity("severity"),
        **_activity(2004, "Detection Finding", status_id, frozenset({4})),
        "is_alert": Const(True),
        "status_id": status_id,
        "status": status,
        "verdict_id": verdict_id,
        "verdict": verdict,
        "finding_info.uid": uid,
        "finding_info.title": "title",
        "finding_info.desc": "description",
        "finding_info.types": Func.of(_category, "category"),
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
        "assignee": Func.of(_assignee, "assignedTo"),
        **_metadata(kind, uid, created, ["datetime", "incident"], feature),
        "unmapped": _unmapped(kind),
    }
    if machine is not None:  # the device the alert is about (MDE: machineId, computerDnsName)
        rules["device"] = Func.of(_machine, *machine)
    if url:
        rules["finding_info.src_url"] = url
    if tenant:
        rules["metadata.tenant_uid"] = tenant
    return rules


def _category(value: Any) -> list[str]:
    """`[category]`"""
    return [value] if isinstance(value, str) and value.strip() else []


_FINDING_OF_ALERT = {
    # alert key of a Graph alert (inside a Graph incident) / an XDR alert (inside an XDR incident)
    "GraphIncident": ("id", "createdDateTime", "lastUpdateDateTime", "firstActivityDateTime", "lastActivityDateTime"),
    "XdrIncident": ("alertId", "creationTime", "lastUpdatedTime", "firstActivity", "lastActivity"),
}


def _finding_info_list(kind: str, incident_uid: str, incident_title: str, created: str, modified: str) -> Func:
    uid_key, c_key, m_key, f_key, l_key = _FINDING_OF_ALERT[kind]
    times = ((c_key, "created_time"), (m_key, "modified_time"), (f_key, "first_seen_time"), (l_key, "last_seen_time"))

    def finding_info_list(item: dict[str, Any], typed: Any, *own: Any) -> list[dict[str, Any]]:
        incident, title, created_at, modified_at = own  # the incident's uid, title, created and modified times
        alerts = item.get("alerts")
        out: list[dict[str, Any]] = []
        for i, alert in enumerate(alerts if isinstance(alerts, list) else []):
            if not isinstance(alert, _MAPPING):
                continue
            info: dict[str, Any] = {}
            _set(info, "uid", _text(alert.get(uid_key)) or f"{_text(incident)}/{i}")
            _set(info, "title", _text(alert.get("title")))
            _set(info, "desc", _text(alert.get("description")))
            _set(info, "types", [c] if (c := _text(alert.get("category"))) else None)
            if _text(alert.get("detectorId")):
                info["analytic"] = {"uid": alert["detectorId"], "type_id": 0, "type": "Unknown"}
                _set(info["analytic"], "name", _text(alert.get("title")))
            struct = typed[i] if isinstance(typed, list) and i < len(typed) else None
            for key, attr in times:
                # a datetime of the typed alert: to_dict() gave its exact text
                text = alert.get(key)
                if isinstance(text, str) and isinstance(_member(struct, key), datetime):
                    ns = parse_ns(text)
                    if ns is not None:
                        info[attr] = ns // 1_000_000
                        info[f"{attr}_dt"] = text
            _set(info, "attacks", _attack_list(alert.get("mitreTechniques")))
            out.append(info)
        if not out:  # the incident came without its alerts: it is its own finding
            info = {"uid": _text(incident) or ""}
            _set(info, "title", _text(title))
            for value, attr in ((created_at, "created_time"), (modified_at, "modified_time")):
                ns = exact_ns(value)
                if ns is not None:
                    info[attr] = ns // 1_000_000
                    info[f"{attr}_dt"] = exact_text_of(value)
            out.append(info)
        return out

    finding_info_list.__doc__ = (
        "one finding_info per alert (uid, title, desc, types, analytic, created/modified/first/last-seen times, "
        "attacks); the incident's own when it has no alerts"
    )
    return Func.of(finding_info_list, Item(), "alerts", incident_uid, incident_title, created, modified)


def _member(struct: Any, key: str) -> Any:
    """The member ``key`` (its JSON name) of a typed item; None when it has none."""
    if not isinstance(struct, Struct):
        return None
    fields = struct.__struct_encode_fields__
    return getattr(struct, struct.__struct_fields__[fields.index(key)]) if key in fields else None


def _incident(
    kind: str, *, uid: Any, title: str, created: str, modified: str, url: str, tenant: str | None
) -> dict[str, Any]:
    status_id, status = _enum("status", INCIDENT_STATUS, _INCIDENT_STATUS_NAMES)
    verdict_id, verdict = _verdict("classification", "determination")

    def required_status(v: Any) -> int:
        """`status` mapped (active 1 New, inProgress 2, awaitingAction 3 On Hold, resolved 4, redirected 5
        Closed, unknown or none 0, other 99)"""
        value = status_id.fn(v)
        return 0 if value is None else int(value)

    rules: dict[str, Any] = {
        "time": _time(created, modified),
        "time_dt": First.of(created, modified),
        **_severity("severity"),
        **_activity(2005, "Incident Finding", status_id, frozenset({4, 5})),
        "status_id": Func.of(required_status, "status"),
        "status": status,
        "verdict_id": verdict_id,
        "verdict": verdict,
        "message": title,
        "src_url": url,
        "assignee": Func.of(_assignee, "assignedTo"),
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
        machine=("machineId", "computerDnsName"),
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
