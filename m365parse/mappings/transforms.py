"""The documented set of named transforms and conditions that mapping rules may use.

A transform takes one value (never ``None``) and returns the new value, or
``None`` when there is nothing to keep: the target field is then left out.  A
name may carry one argument after a colon (``"get:direction"``).  Conditions
(used by ``{"if": ...}`` rules) take the record and return a bool.

Transforms and conditions never raise on odd input: hostile values give ``None``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from .._values import ExactDatetime, expand_value
from ..errors import InvalidJSONText
from ..record import Record

__all__ = ["TRANSFORMS", "CONDITIONS", "transform", "describe"]

Transform = Callable[[Any], Any]

_IPV4 = re.compile(r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\Z")
# Placeholders Defender writes where there is no address.  "0.0.0.0" and "::" are
# real values (a socket listening on every interface) and stay.
_PLACEHOLDERS = frozenset({"", "-", "--"})
_SPLIT = re.compile(r"\s*[;,]\s*")
_TECHNIQUE = re.compile(r"\b(T\d{4}(?:\.\d{3})?)\b")
_MAC_HEX = re.compile(r"[0-9A-Fa-f]{12}\Z")


def _ip(value: Any) -> str | None:
    """A valid IP address as text; IPv4-mapped IPv6 becomes IPv4; placeholders give None."""
    if isinstance(value, str):
        return _ip_text(value) if len(value) <= 64 else None
    if isinstance(value, list):
        for item in value:
            found = _ip(item)
            if found is not None:
                return found
    return None


_IPV6_CHARS = re.compile(r"\[?[0-9A-Fa-f:.]+(?:%[0-9A-Za-z_.-]+)?\]?\Z")


@functools.lru_cache(maxsize=8192)
def _ip_text(value: str) -> str | None:
    # Addresses repeat a lot in real data (the same hosts over and over): cached.
    text = value.strip()
    if text in _PLACEHOLDERS or len(text) > 64:
        return None
    if _IPV4.match(text):
        return text
    if ":" not in text or not _IPV6_CHARS.match(text):
        return None
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        addr = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    if addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return text  # valid, and kept as written


def _of_version(value: Any, v6: bool) -> str | None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        ip = _ip(item)
        if ip is not None and (":" in ip) == v6:
            return ip
    return None


def _ipv4(value: Any) -> str | None:
    """Like ``ip``, IPv4 only (the first IPv4 address of a list)."""
    return _of_version(value, v6=False)


def _ipv6(value: Any) -> str | None:
    """Like ``ip``, IPv6 only (the first IPv6 address of a list)."""
    return _of_version(value, v6=True)


def _split(value: Any) -> list[Any] | None:
    """A packed list (``"a; b"``, ``"a, b"``, a JSON array string, or a list) as a list."""
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                decoded = expand_value(text)
            except InvalidJSONText:
                decoded = None
            if isinstance(decoded, list):
                return [i for i in decoded if i not in (None, "")] or None
        items = _SPLIT.split(text)
    else:
        return None
    out = [i.strip() if isinstance(i, str) else i for i in items]
    return [i for i in out if i not in (None, "")] or None


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _first_ip(value: Any) -> str | None:
    items = _split(value)
    return _ip(items) if items else None


def _ip_list(value: Any) -> list[str] | None:
    """Every valid IP address of a packed list, in order, without repeats."""
    items = _split(value) if not isinstance(value, list) else value
    out: list[str] = []
    for item in items or ():
        ip = _ip(item)
        if ip is not None and ip not in out:
            out.append(ip)
    return out or None


def _mitre_ids(value: Any) -> list[str] | None:
    """MITRE ATT&CK technique ids (``T1056``, ``T1566.001``) from ``AttackTechniques``."""
    items = _split(value) if not isinstance(value, list) else value
    out: list[str] = []
    for item in items or ():
        if isinstance(item, str):
            for found in _TECHNIQUE.findall(item):
                if found not in out:
                    out.append(found)
    return out or None


def _mitre_names(value: Any) -> list[str] | None:
    """Technique names without their ids: ``"Input Capture (T1056)"`` gives ``"Input Capture"``."""
    items = _split(value) if not isinstance(value, list) else value
    out: list[str] = []
    for item in items or ():
        if isinstance(item, str):
            name = re.sub(r"\s*\(T\d{4}(?:\.\d{3})?\)\s*$", "", item).strip()
            if name and name not in out:
                out.append(name)
    return out or None


def _json(value: Any) -> Any:
    try:
        return expand_value(value)
    except InvalidJSONText:
        return None


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value) < 40:
        return int(value.strip())
    return None


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return None


def _iso(value: Any) -> str | None:
    """A datetime as an ISO 8601 UTC string with every digit (100 ns for ExactDatetime)."""
    if isinstance(value, ExactDatetime):
        return value.isoformat_exact()
    if isinstance(value, datetime):
        return ExactDatetime.from_datetime(value).isoformat_exact()
    return None


def _mac(value: Any) -> str | None:
    """A MAC address in ECS form: upper-case hex pairs separated by ``-``."""
    if not isinstance(value, str):
        return None
    hexes = re.sub(r"[-:.\s]", "", value)
    if not _MAC_HEX.match(hexes):
        return None
    hexes = hexes.upper()
    return "-".join(hexes[i : i + 2] for i in range(0, 12, 2))


def _after_backslash(value: Any) -> Any:
    """``DOMAIN\\user`` gives ``user``; other text is returned as it is."""
    if isinstance(value, str) and "\\" in value:
        return value.rsplit("\\", 1)[1] or None
    return value


def _before_backslash(value: Any) -> Any:
    """``DOMAIN\\user`` gives ``DOMAIN``; text without a backslash gives None."""
    if isinstance(value, str) and "\\" in value:
        return value.split("\\", 1)[0] or None
    return None


def _basename(value: Any) -> Any:
    """The last component of a Windows or POSIX path."""
    if isinstance(value, str):
        return re.split(r"[\\/]", value.rstrip("\\/"))[-1] or None
    return None


TRANSFORMS: dict[str, Transform] = {
    "ip": _ip,
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "split": _split,
    "first": _first,
    "first_ip": _first_ip,
    "ip_list": _ip_list,
    "mitre_ids": _mitre_ids,
    "mitre_names": _mitre_names,
    "json": _json,
    "lower": _lower,
    "upper": _upper,
    "int": _int,
    "str": _str,
    "iso": _iso,
    "mac": _mac,
    "after_backslash": _after_backslash,
    "before_backslash": _before_backslash,
    "basename": _basename,
}


def _get(key: str) -> Transform:
    def get(value: Any) -> Any:
        if isinstance(value, str):
            value = _json(value)
        if isinstance(value, dict):
            return value.get(key)
        return None

    get.__doc__ = f"The value at key {key!r} of a JSON object (or JSON-in-string)."
    return get


def _equals(text: str) -> Transform:
    def equals(value: Any) -> bool:
        return isinstance(value, str) and value.lower() == text.lower()

    return equals


#: Transforms that take an argument after a colon: ``"get:direction"``.
PARAMETRIC: dict[str, Callable[[str], Transform]] = {"get": _get, "equals": _equals}


def transform(name: str) -> Transform:
    """The transform called ``name`` (``"ip"``, ``"get:direction"``); KeyError when unknown."""
    if name in TRANSFORMS:
        return TRANSFORMS[name]
    head, sep, arg = name.partition(":")
    if sep and head in PARAMETRIC and arg:
        return PARAMETRIC[head](arg)
    raise KeyError(name)


# --- conditions -------------------------------------------------------------------

_INBOUND_ACTIONS = frozenset({"InboundConnectionAccepted"})


def _inbound(record: Record) -> bool:
    """An inbound network event: ``InboundConnectionAccepted``, or ``AdditionalFields.direction == "In"``."""
    props = record.properties
    if isinstance(props, dict):
        action, fields = props.get("ActionType"), props.get("AdditionalFields")
    else:
        action, fields = getattr(props, "ActionType", None), getattr(props, "AdditionalFields", None)
    if action in _INBOUND_ACTIONS:
        return True
    if isinstance(fields, str):
        if "irection" not in fields:
            return False  # the common case, without decoding anything
        try:
            fields = msgspec.json.decode(fields)  # the top level is all that counts
        except (ValueError, RecursionError):
            return False
    if isinstance(fields, dict):
        # only the top-level key counts: the same words inside another value do not
        for key, direction in fields.items():
            if key.lower() == "direction" and isinstance(direction, str):
                return direction.strip().lower() in ("in", "inbound")
    return False


def _network_request(record: Record) -> bool:
    """A file operation requested over the network: ``RequestAccountName`` or ``RequestSourceIP`` is set."""
    props = record.properties
    for name in ("RequestAccountName", "RequestSourceIP"):
        value = props.get(name) if isinstance(props, dict) else getattr(props, name, None)
        if value not in (None, "", "-"):
            return True
    return False


CONDITIONS: dict[str, Callable[[Record], bool]] = {"inbound": _inbound, "network_request": _network_request}


def describe() -> dict[str, str]:
    """Name -> first line of the docstring, of every transform and condition (for the docs)."""
    out = {}
    for name, fn in {**TRANSFORMS, **{f"{k}:<arg>": v for k, v in PARAMETRIC.items()}}.items():
        out[name] = (fn.__doc__ or name).strip().splitlines()[0]
    for name, cond in CONDITIONS.items():
        out[f"if {name}"] = (cond.__doc__ or name).strip().splitlines()[0]
    return out
