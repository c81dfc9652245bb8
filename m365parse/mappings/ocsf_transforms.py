"""Transforms that the ``"ocsf"`` rule set adds to the documented set.

Registered in :data:`m365parse.mappings.transforms.TRANSFORMS` and
:data:`~m365parse.mappings.transforms.PARAMETRIC` when this module is imported
(by :mod:`m365parse.mappings`), so any rule set may use them.  Like every
transform they never raise and give ``None`` when there is nothing to keep.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from typing import Any

from .._values import ExactDatetime
from .transforms import PARAMETRIC, TRANSFORMS, Transform, transform

__all__ = ["OCSF_TRANSFORMS", "OCSF_PARAMETRIC"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _epoch_ms(value: Any) -> int | None:
    """A datetime as OCSF ``timestamp_t``: whole milliseconds since the epoch (rounded down, exact to the 100 ns)."""
    if isinstance(value, ExactDatetime):
        if value.microsecond % 1000:
            # msgspec rounded the 7th digit into the microsecond; no carry can cross a millisecond here
            return _micro_ms(value)
        return value.ns // 1_000_000
    if isinstance(value, datetime):
        return _micro_ms(value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc))
    return None


def _micro_ms(value: datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


_SEVERITY_IDS = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}


def _severity_id(value: Any) -> int | None:
    """OCSF ``severity_id`` of Defender's severity: Informational 1, Low 2, Medium 3, High 4; other text 99 (Other)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _SEVERITY_IDS.get(value.strip().lower(), 99)


def _severity_other(value: Any) -> str | None:
    """The severity text when :func:`_severity_id` gives 99 (Other): OCSF's ``severity`` then carries the source's."""
    return value if _severity_id(value) == 99 else None


_OS_TYPES = (
    ("windowsmobile", 101),
    ("windows", 100),
    ("android", 201),
    ("ipados", 302),
    ("ios", 301),
    ("macos", 300),
    ("mac os", 300),
    ("osx", 300),
    ("linux", 200),
    ("ubuntu", 200),
    ("debian", 200),
    ("redhat", 200),
    ("rhel", 200),
    ("centos", 200),
    ("suse", 200),
    ("sles", 200),
    ("fedora", 200),
    ("oracle linux", 200),
    ("amazon linux", 200),
    ("solaris", 400),
    ("aix", 401),
    ("hp-ux", 402),
)


def _os_type_id(value: Any) -> int | None:
    """OCSF ``os.type_id`` of an OS name (``Windows11`` 100, ``Ubuntu`` 200, ``macOS`` 300, ...); 99 for others.

    Blank text is 0 (Unknown): the name is there, the kind is not.
    """
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().lower()
    if not text:
        return 0
    for prefix, uid in _OS_TYPES:
        if text.startswith(prefix):
            return uid
    return 99


_TECHNIQUE_ENTRY = re.compile(r"\s*(.*?)\s*\((T\d{4})(\.\d{3})?\)\s*\Z", re.DOTALL)
_LIST = transform("list")
_TACTIC_IDS = transform("mitre_tactic_ids")
_TACTIC_NAMES = transform("mitre_tactic_names")


def _attacks(value: Any) -> list[dict[str, Any]] | None:
    """OCSF ``attacks[]`` of ``AttackTechniques``: ``"PowerShell (T1059.001)"`` gives a sub-technique and technique.

    ``{"technique": {"uid": "T1059"}, "sub_technique": {"uid": "T1059.001", "name": "PowerShell"},
    "version": ...}``; a technique's own entry has its name.  Entries without an id are left out.
    """
    out: list[dict[str, Any]] = []
    for item in _LIST(value) or ():
        m = _TECHNIQUE_ENTRY.match(item) if len(item) < 512 else None
        if m is None:
            continue
        name, base, sub = m.group(1), m.group(2), m.group(3)
        attack: dict[str, Any]
        if sub:
            sub_technique: dict[str, Any] = {"uid": base + sub}
            if name:
                sub_technique["name"] = name
            attack = {"technique": {"uid": base}, "sub_technique": sub_technique}
        else:
            technique: dict[str, Any] = {"uid": base}
            if name:
                technique["name"] = name
            attack = {"technique": technique}
        if attack not in out:
            out.append(attack)
    return out or None


def _tactic_attacks(value: Any) -> list[dict[str, Any]] | None:
    """OCSF ``attacks[]`` entries of the ATT&CK tactics that alert categories name (``Execution``: ``TA0002``)."""
    ids, names = _TACTIC_IDS(value) or [], _TACTIC_NAMES(value) or []
    return [{"tactic": {"uid": uid, "name": name}} for uid, name in zip(ids, names, strict=False)] or None


_DNS_ANSWERS = transform("dns_answers")
_LIST = transform("list")


def _dns_answers(value: Any) -> list[dict[str, Any]] | None:
    """OCSF ``answers[]`` of a DNS inspection's ``AdditionalFields``: ``[{"rdata": ..., "ttl": ...}]``."""
    found = _DNS_ANSWERS(value)
    if not found:
        return None
    return [{"rdata": a["data"], **({"ttl": a["ttl"]} if "ttl" in a else {})} for a in found]


def _error_status(value: Any) -> int | None:
    """OCSF ``status_id`` of an error code: 0 is 1 (Success), any other integer 2 (Failure); None for the rest."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return 1 if value == 0 else 2


def _http_status(value: Any) -> int | None:
    """An HTTP status code (100 to 599), an integer or its text; None for anything else."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value) < 8:
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599 else None


def _http_outcome(value: Any) -> int | None:
    """OCSF ``status_id`` of an HTTP status code (an integer): 1 (Success) below 400, 2 (Failure) from 400 on."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return 1 if value < 400 else 2


def _pid(value: Any) -> int | None:
    """A process id (a non-negative integer, or its text) from a column typed as text; None for anything else."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 20:
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _logon_session(value: Any) -> str | None:
    """A Windows logon session id (``LogonId``, a positive integer or its text) as text; 0 (no session) is None."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return str(value)


_EXEC = re.compile(
    r"<Exec\b[^>]*>\s*<Command>([^<]*)</Command>(?:\s*<Arguments>([^<]*)</Arguments>)?", re.IGNORECASE
)


def _task_command(value: Any) -> str | None:
    """The command line of a scheduled task's XML definition (``TaskContent``): its first ``Exec`` action's
    ``Command`` (quoted when it holds a space) and ``Arguments``, XML entities decoded; None without one."""
    found = _EXEC.search(value) if isinstance(value, str) else None
    if found is None:
        return None
    command = html.unescape(found.group(1)).strip()
    arguments = html.unescape(found.group(2) or "").strip()
    if not command:
        return None
    if " " in command and not command.startswith('"'):
        command = f'"{command}"'
    return f"{command} {arguments}" if arguments else command


def _long_string(value: Any) -> dict[str, Any] | None:
    """A text as an OCSF ``long_string`` object: ``{"value": text}``; None for blank text and non-text."""
    return {"value": value} if isinstance(value, str) and value.strip() else None


def _port(value: Any) -> int | None:
    """A port number (0 to 65535, an integer or its text); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value) < 8:
        value = int(value)
    return value if isinstance(value, int) and 0 <= value <= 65535 else None


def _text(value: Any) -> str | None:
    """A non-blank text as it is; numbers and booleans as text; None for objects, lists and blank text."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


# OCSF's email_t (its dictionary's regex)
_EMAIL = re.compile(r"[a-zA-Z0-9!#$%&'*+\-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+\Z")


def _email(value: Any) -> str | None:
    """An e-mail address as OCSF's ``email_t`` has it (``name@domain.tld``); None for other text."""
    return value if isinstance(value, str) and len(value) <= 512 and _EMAIL.match(value) else None


def _email_list(value: Any) -> list[str] | None:
    """The e-mail addresses of a list of them (a JSON array, its text, or a packed list); None without one."""
    found = [v for v in _LIST(value) or () if _email(v)]
    return found or None


def _present(arg: str) -> Transform:
    if not (arg.isascii() and arg.lstrip("-").isdigit()):
        raise KeyError(f"present:{arg}")
    number = int(arg)

    def present(value: Any) -> int | None:
        return None if value == "" else number

    present.__doc__ = f'The integer {number} whenever there is a value, ``""`` aside (the column\'s presence means it).'
    return present


def _present_text(text: str) -> Transform:
    def present_text(value: Any) -> str | None:
        return None if value == "" else text

    present_text.__doc__ = f'The text {text!r} whenever there is a value, ``""`` aside.'
    return present_text


_ALGORITHMS = {"MD5": 1, "SHA-1": 2, "SHA-256": 3, "SHA-512": 4}


def _fingerprint(arg: str) -> Transform:
    algorithm_id = _ALGORITHMS[arg]  # KeyError: an unknown algorithm is an unknown transform

    def fingerprint(value: Any) -> dict[str, Any] | None:
        if not isinstance(value, str) or not value.strip():
            return None
        return {"algorithm_id": algorithm_id, "algorithm": arg, "value": value}

    fingerprint.__doc__ = f"A hash as an OCSF ``fingerprint`` object of algorithm {arg} ({algorithm_id})."
    return fingerprint


def _wrap(key: str) -> Transform:
    def wrap(value: Any) -> list[dict[str, Any]] | None:
        items = value if isinstance(value, list) else [value]
        out = [{key: item} for item in items if item is not None and item != ""]
        return out or None

    wrap.__doc__ = f"A value (or each of a list) as a list of objects ``[{{{key!r}: value}}]``."
    return wrap


#: Transforms that keep every valid value of their column but reject others (a bad address, a port out of range,
#: the logon session 0).
FALLIBLE = ("ip", "port", "int", "logon_session")


def _rejected(name: str) -> Transform:
    if name not in FALLIBLE:
        raise KeyError(f"rejected:{name}")
    step = transform(name)

    def rejected(value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip() in ("", "-")):
            return None  # no value, or a placeholder for none
        return value if step(value) is None else None

    rejected.__doc__ = f"The value when ``{name}`` rejects it (a placeholder aside), else nothing: kept in unmapped."
    return rejected


#: The transforms this module adds.
OCSF_TRANSFORMS: dict[str, Transform] = {
    "epoch_ms": _epoch_ms,
    "ocsf_severity_id": _severity_id,
    "ocsf_severity_other": _severity_other,
    "ocsf_os_type_id": _os_type_id,
    "ocsf_attacks": _attacks,
    "ocsf_tactic_attacks": _tactic_attacks,
    "ocsf_dns_answers": _dns_answers,
    "long_string": _long_string,
    "task_command": _task_command,
    "logon_session": _logon_session,
    "ocsf_error_status": _error_status,
    "http_status": _http_status,
    "http_outcome": _http_outcome,
    "pid": _pid,
    "port": _port,
    "email": _email,
    "email_list": _email_list,
    "text": _text,
}

#: The transforms with an argument this module adds.
OCSF_PARAMETRIC = {
    "present": _present,
    "present_text": _present_text,
    "fingerprint": _fingerprint,
    "wrap": _wrap,
    "rejected": _rejected,
}

for _name in (*OCSF_TRANSFORMS, *OCSF_PARAMETRIC):
    if _name in TRANSFORMS or _name in PARAMETRIC:  # pragma: no cover - a clash with the shared set
        raise RuntimeError(f"transform {_name!r} is defined twice")
TRANSFORMS.update(OCSF_TRANSFORMS)
PARAMETRIC.update(OCSF_PARAMETRIC)
