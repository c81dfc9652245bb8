"""The documented set of named transforms and conditions that mapping rules may use.

A transform takes one value (never ``None``) and returns the new value, or
``None`` when there is nothing to keep: the target field is then left out.  A
name may carry one argument after a colon (``"get:direction"``).  Conditions
(used by ``{"if": ...}`` rules) take the record and return a bool.

Transforms and conditions never raise on odd input: hostile values give ``None``.
A transform is a function of its value alone: the compiled rule sets remember
its result for a text they saw before (a text, number or list of them; a list is
given as a new list each time), so it must not depend on anything else.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import msgspec

from .._values import ExactDatetime, expand_value, format_ns
from ..errors import InvalidJSONText
from ..record import Record

__all__ = ["TRANSFORMS", "CONDITIONS", "CONDITION_COLUMNS", "transform", "describe"]

Transform = Callable[[Any], Any]

_IPV4 = re.compile(r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\Z")
# Placeholders Defender writes where there is no address.  "0.0.0.0" and "::" are
# real values (a socket listening on every interface) and stay.
_PLACEHOLDERS = frozenset({"", "-", "--"})
_SPLIT = re.compile(r"\s*[;,]\s*")
_TECHNIQUE = re.compile(r"\b(T\d{4}(?:\.\d{3})?)\b")
_MAC_HEX = re.compile(r"[0-9A-Fa-f]{12}\Z")


def _ip(value: Any) -> str | None:
    """A valid IP address as text: IPv6 in RFC 5952 form, IPv4-mapped IPv6 as IPv4; placeholders give None."""
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
    return addr.compressed  # RFC 5952: what ECS and SIEM users join on (fe80:0011:: -> fe80:11::)


def _of_version(value: Any, v6: bool) -> str | None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        ip = _ip(item)
        if ip is not None and (":" in ip) == v6:
            return ip
    return None


def _ipv4(value: Any) -> str | None:
    """Like ``ip``, IPv4 only (the first IPv4 address of a list)."""
    if value.__class__ is str:  # one address, most often: _of_version without the list
        ip = _ip_text(value) if len(value) <= 64 else None
        return ip if ip is not None and ":" not in ip else None
    return _of_version(value, v6=False)


def _ipv6(value: Any) -> str | None:
    """Like ``ip``, IPv6 only (the first IPv6 address of a list)."""
    if value.__class__ is str:
        if ":" not in value:
            return None  # an IPv6 address has a colon (IPv4, a placeholder: not one), without the cache
        ip = _ip_text(value) if len(value) <= 64 else None
        return ip if ip is not None and ":" in ip else None
    return _of_version(value, v6=True)


def _split(value: Any) -> list[Any] | None:
    """A packed list (``"a; b"``, ``"a, b"``, a JSON array string, or a list) as a list."""
    if isinstance(value, list):
        return _kept(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[:1] in ("[", "{"):
        decoded = _json_value(text)
        if isinstance(decoded, list):
            return _kept(decoded)
        if isinstance(decoded, dict):
            return None  # one object, not a list
    if len(text) > 1024:
        return _kept(_SPLIT.split(text))
    items = _split_text(text)
    return list(items) if items else None  # the caller's own list


@functools.lru_cache(maxsize=4096)
def _split_text(text: str) -> tuple[str, ...]:
    # The same packed lists (a device's addresses, its users) come again and again.
    return tuple(_kept(_SPLIT.split(text)) or ())


def _kept(items: list[Any]) -> list[Any] | None:
    out = [i.strip() if isinstance(i, str) else i for i in items]
    return [i for i in out if i not in (None, "")] or None


def _distinct(values: Iterable[Any]) -> list[Any] | None:
    """The values that are not None or empty, in order, without repeats; None if there are none."""
    out: list[Any] = []
    for value in values:
        if value is not None and value != "" and value not in out:
            out.append(value)
    return out or None


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _first_ip(value: Any) -> str | None:
    if value.__class__ is str:
        # A packed list whose first item is an address seen before (a device's own address): one look-up
        found = _FIRST_IPS.get(value.partition(";")[0])
        if found is not None:
            return found
    if isinstance(value, str):
        text = value.strip()
        if text[:1] not in ("[", "{"):  # packed text, not JSON: what _split would split
            # the first item (what _SPLIT.split gives first), most often an address itself
            head = text.partition(";")[0].partition(",")[0].strip()
            found = _ip(head)
            if found is not None:
                if head and head[0] not in "[{" and value.startswith(head) and value[len(head) : len(head) + 1] in ";":
                    # ``value.partition(";")[0]`` is ``head`` exactly: the next value with that first item
                    # gives ``found`` (it is stripped, has no comma, starts no JSON: read as here)
                    if len(_FIRST_IPS) >= _FIRST_IPS_SIZE:
                        _FIRST_IPS.clear()
                    _FIRST_IPS[head] = found
                return found
            return _first_ip_text(text) if len(text) <= 1024 else _first_ip_of(_SPLIT.split(text))
    items = _split(value)
    return _ip(items) if items else None


#: ``first_ip``'s first items known to be addresses: item -> address.
_FIRST_IPS: dict[str, str] = {}
_FIRST_IPS_SIZE = 4096


@functools.lru_cache(maxsize=4096)
def _first_ip_text(text: str) -> str | None:
    # A device's packed address list comes again and again: cached, as _split_text is.
    return _first_ip_of(_SPLIT.split(text))


def _first_ip_of(parts: list[str]) -> str | None:
    for part in parts:
        found = _ip(part.strip())
        if found is not None:
            return found
    return None


def _ip_list(value: Any) -> list[str] | None:
    """Every valid IP address of a packed list, in order, without repeats."""
    items = _texts_of(value)
    if items is None:
        return _distinct(_ip(item) for item in _split(value) or ())
    out: list[str] = []
    for item in items:  # what _split keeps of texts (stripped, not empty), then _ip and _distinct, inline
        text = item.strip()
        if text and len(text) <= 64:
            found = _ip_text(text)
            if found is not None and found not in out:
                out.append(found)
    return out or None


def _texts_of(value: Any) -> list[str] | tuple[str, ...] | None:
    """The items of a packed text (a tuple, cached) or of a list of texts, as ``_split`` reads them; else None.

    A JSON text, a long text or a list with other items than texts: None (``_split`` reads those).
    """
    kind = value.__class__
    if kind is str:
        text = value.strip()
        if text[:1] in ("[", "{") or len(text) > 1024:
            return None
        return _split_text(text)
    if kind is list:
        for item in value:
            if item.__class__ is not str:
                return None
        return value  # type: ignore[no-any-return]
    return None


def _mitre_ids(value: Any) -> list[str] | None:
    """MITRE ATT&CK technique ids (``T1056``, ``T1566.001``) from ``AttackTechniques``."""
    return _distinct(found for item in _list(value) or () for found in _TECHNIQUE.findall(item))


def _mitre_names(value: Any) -> list[str] | None:
    """Technique names without their ids: ``"Input Capture (T1056)"`` gives ``"Input Capture"``."""
    return _distinct(_ID_SUFFIX.sub("", item).strip() for item in _list(value) or ())


_ID_SUFFIX = re.compile(r"\s*\(T\d{4}(?:\.\d{3})?\)\s*$")


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
    if isinstance(value, str) and len(value) < 40:
        text = value.strip()
        if text.lstrip("+-").isdecimal():  # (isdigit() holds for "²" too, which int() refuses)
            try:
                return int(text)
            except ValueError:  # "+-5": more than one sign
                return None
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
        return format_ns(value.ns)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)  # Defender's clock is UTC
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

def _network_request(record: Record) -> bool:
    """A file operation requested over the network: ``RequestAccountName`` or ``RequestSourceIP`` is set."""
    props = record.properties
    for name in ("RequestAccountName", "RequestSourceIP"):
        value = props.get(name) if isinstance(props, dict) else getattr(props, name, None)
        if value not in (None, "", "-"):
            return True
    return False


CONDITIONS: dict[str, Callable[[Record], bool]] = {"network_request": _network_request}


# --- transforms and conditions added for the "ecs" rule set ------------------------
# Generic enough for any rule set; each is total (odd input gives None) and cheap:
# they run once per record on the hot path.


def _json_value(value: Any) -> Any:
    """JSON object or array text decoded once, as it is: nested JSON strings and ``$id``/``$ref`` keys stay.

    Objects and arrays that arrived decoded pass unchanged; other text (not JSON)
    is kept as it is; blank text gives None.  Much cheaper than ``json``.
    """
    if not isinstance(value, str):
        return value
    head = value[:1]
    if head not in ("[", "{"):
        head = value.lstrip()[:1]
        if not head:
            return None
        if head not in ("[", "{"):
            return value
    try:
        return msgspec.json.decode(value)
    except (ValueError, RecursionError):  # msgspec.DecodeError and UnicodeError are ValueErrors
        return value


def _list(value: Any) -> list[str] | None:
    """A packed list as a list of its texts (``split``, keeping only the text items)."""
    if value.__class__ is str:
        text = value.strip()
        if text[:1] not in ("[", "{") and len(text) <= 1024:
            items = _split_text(text)  # what _split gives of such a text: texts only
            return list(items) if items else None
    return [i for i in _split(value) or () if isinstance(i, str)] or None


_OS_TYPES = (
    ("windows", "windows"),
    ("macos", "macos"),
    ("mac os", "macos"),
    ("osx", "macos"),
    ("os x", "macos"),
    ("ipados", "ios"),
    ("ios", "ios"),
    ("android", "android"),
    ("linux", "linux"),
    ("ubuntu", "linux"),
    ("debian", "linux"),
    ("redhat", "linux"),
    ("red hat", "linux"),
    ("rhel", "linux"),
    ("centos", "linux"),
    ("suse", "linux"),
    ("sles", "linux"),
    ("fedora", "linux"),
    ("oracle linux", "linux"),
    ("amazon linux", "linux"),
    ("unix", "unix"),
    ("freebsd", "unix"),
    ("solaris", "unix"),
    ("aix", "unix"),
)


def _os_type(value: Any) -> str | None:
    """ECS ``os.type`` of an OS name: ``Windows11``, ``Windows 10``, ``WindowsServer2022`` give ``windows``.

    One of ``windows``, ``macos``, ``ios``, ``android``, ``linux``, ``unix``; None otherwise.
    """
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    for prefix, kind in _OS_TYPES:
        if text.startswith(prefix):
            return kind
    return None


def _extension(value: Any) -> str | None:
    """The extension of a file name or path, lower-case, without the dot (``a.tar.GZ`` gives ``gz``)."""
    if not isinstance(value, str):
        return None
    base = value[max(value.rfind("\\"), value.rfind("/")) + 1 :]  # after the last separator
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem.strip(".") or not ext or len(ext) > 32 or not ext.isprintable() or " " in ext:
        return None
    return ext.lower()


_HOST_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\Z")


@functools.lru_cache(maxsize=4096)
def _domain_text(text: str) -> str | None:
    rest = text.strip()
    scheme, sep, after = rest.partition("://")
    if sep and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        rest = after
    rest = re.split(r"[/?#\\]", rest, maxsplit=1)[0]
    rest = rest.rpartition("@")[2]  # user:password@
    if rest.startswith("["):
        return None  # an IPv6 literal
    host, colon, port = rest.partition(":")
    if colon and not port.isdigit():
        return None
    if not _HOST_NAME.match(host) or _IPV4.match(host) or len(host) > 253:
        return None
    return host.lower().rstrip(".") or None


def _domain(value: Any) -> str | None:
    """The host name of a URL (``https://a.Example.com:8443/x`` gives ``a.example.com``) or of a bare name.

    Lower-case; None for IP addresses and for text that is not a host name.
    """
    return _domain_text(value) if isinstance(value, str) and len(value) <= 8192 else None


# Tokens of a command line: runs of plain text, backslashes before a quote (an odd
# or an even number), other backslashes, a doubled quote, a quote, white space.
_ARGV_TOKEN = re.compile(r'[^ \t"\\]+|((?:\\\\)*\\")|((?:\\\\)+(?="))|\\+|("")|"|[ \t]+')
# An argument where quotes only toggle (the program name, or any argument when no
# backslash or quote stands before a quote); an open quote runs to the end.
_ARGV_PLAIN = re.compile(r'(?:[^ \t"]+|"[^"]*"?)+')


@functools.lru_cache(maxsize=4096)
def _argv(text: str) -> tuple[str, ...]:
    # CommandLineToArgvW: the program name ends at white space outside quotes and
    # takes backslashes literally; then 2n backslashes + quote give n backslashes
    # and toggle quoting, 2n+1 give n and a literal quote, "" inside quotes is a quote.
    # Read a piece (a run of plain text) at a time, not a character at a time.
    text = text.lstrip(" \t")
    if not text:
        return ()
    # The program name (quotes toggle, nothing escapes): one match.
    m = _ARGV_PLAIN.match(text)
    out = [m.group().replace('"', "")]  # type: ignore[union-attr]  # text starts with no blank
    pos, n = m.end(), len(text)  # type: ignore[union-attr]
    if '\\"' not in text and '""' not in text:
        # Nothing escapes a quote: the arguments are matched the same way.
        out += [arg.replace('"', "") for arg in _ARGV_PLAIN.findall(text, pos)]
        return tuple(out)
    arg: list[str] = []
    quoted = started = False
    while pos < n:
        m = _ARGV_TOKEN.match(text, pos)
        odd, even, doubled = m.groups()  # type: ignore[union-attr]
        piece = m.group()  # type: ignore[union-attr]
        pos = m.end()  # type: ignore[union-attr]
        if odd is not None:
            arg.append("\\" * (len(odd) // 2 - 1) + '"')
        elif even is not None:
            arg.append("\\" * (len(even) // 2))
        elif doubled is not None:
            if quoted:
                arg.append('"')
            else:  # the first quote opens; the second is read again, inside quotes
                quoted = True
                pos -= 1
        elif piece == '"':
            quoted = not quoted
        elif piece[0] in " \t" and not quoted:
            if started:
                out.append("".join(arg))
                arg = []
                started = False
            continue
        else:
            arg.append(piece)
        started = True
    if started:
        out.append("".join(arg))
    return tuple(out)


def _args(value: Any) -> list[str] | None:
    """A command line split into its arguments the way Windows does (``CommandLineToArgvW``).

    Double quotes group, backslashes escape only double quotes; empty arguments
    (``""``) are left out.  None for blank text.
    """
    if not isinstance(value, str) or len(value) > 65536:
        return None
    if '"' not in value:
        return value.split() or None  # no quoting: white space alone separates
    return [arg for arg in _argv(value) if arg] or None


_HIVES = {
    "HKEY_LOCAL_MACHINE": "HKLM",
    "HKLM": "HKLM",
    "HKEY_CURRENT_USER": "HKCU",
    "HKCU": "HKCU",
    "HKEY_USERS": "HKU",
    "HKU": "HKU",
    "HKEY_CLASSES_ROOT": "HKCR",
    "HKCR": "HKCR",
    "HKEY_CURRENT_CONFIG": "HKCC",
    "HKCC": "HKCC",
}


def _registry_hive(value: Any) -> str | None:
    """The hive of a registry key path, abbreviated: ``HKEY_LOCAL_MACHINE\\SOFTWARE`` gives ``HKLM``."""
    if not isinstance(value, str):
        return None
    return _HIVES.get(value.split("\\", 1)[0].upper())


def _registry_key(value: Any) -> str | None:
    """A registry key path without its hive: ``HKEY_LOCAL_MACHINE\\SOFTWARE\\X`` gives ``SOFTWARE\\X``.

    A path that does not start with a hive is returned as it is.
    """
    if not isinstance(value, str):
        return None
    hive, _, rest = value.partition("\\")
    if hive.upper() in _HIVES:
        return rest or None
    return value


def _snake_case(value: Any) -> str | None:
    """``DeviceProcessEvents`` gives ``device_process_events``; other characters than letters and digits give ``_``."""
    if not isinstance(value, str) or len(value) > 1024:
        return None
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", value)
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower() or None


_TACTICS = {
    "reconnaissance": ("TA0043", "Reconnaissance"),
    "resourcedevelopment": ("TA0042", "Resource Development"),
    "initialaccess": ("TA0001", "Initial Access"),
    "execution": ("TA0002", "Execution"),
    "persistence": ("TA0003", "Persistence"),
    "privilegeescalation": ("TA0004", "Privilege Escalation"),
    "defenseevasion": ("TA0005", "Defense Evasion"),
    "credentialaccess": ("TA0006", "Credential Access"),
    "discovery": ("TA0007", "Discovery"),
    "lateralmovement": ("TA0008", "Lateral Movement"),
    "collection": ("TA0009", "Collection"),
    "commandandcontrol": ("TA0011", "Command and Control"),
    "exfiltration": ("TA0010", "Exfiltration"),
    "impact": ("TA0040", "Impact"),
}


_NOT_LETTERS = re.compile(r"[^a-z]")


@functools.lru_cache(maxsize=1024)
def _tactic(item: str) -> tuple[str, str] | None:
    return _TACTICS.get(_NOT_LETTERS.sub("", item.lower())) if len(item) < 64 else None


def _tactics(value: Any, part: int) -> list[str] | None:
    if isinstance(value, str) and not any(c in value for c in "[;,"):
        found = _tactic(value)  # one category name, the common case
        return [found[part]] if found is not None else None
    return _distinct(found[part] for found in map(_tactic, _list(value) or ()) if found is not None)


def _mitre_tactic_ids(value: Any) -> list[str] | None:
    """MITRE ATT&CK tactic ids of category names: ``CredentialAccess`` gives ``["TA0006"]``; other names none."""
    return _tactics(value, 0)


def _mitre_tactic_names(value: Any) -> list[str] | None:
    """MITRE ATT&CK tactic names of category names: ``CommandAndControl`` gives ``["Command and Control"]``."""
    return _tactics(value, 1)


_ENTRY = re.compile(r"\s*(.*?)\s*\((T\d{4})(\.\d{3})?\)\s*\Z", re.DOTALL)


@functools.lru_cache(maxsize=1024)
def _entry(item: str) -> tuple[str, str, str | None] | None:
    """``("PowerShell", "T1059", ".001")`` of ``"PowerShell (T1059.001)"``."""
    m = _ENTRY.match(item) if len(item) < 512 else None
    return None if m is None else (m.group(1), m.group(2), m.group(3))


def _techniques(value: Any, sub: bool, want_id: bool) -> list[str] | None:
    def pick(parts: tuple[str, str, str | None] | None) -> str | None:
        if parts is None:
            return None
        name, base, suffix = parts
        if want_id:
            return base + suffix if sub and suffix else (None if sub else base)
        return name if bool(suffix) == sub and name else None

    return _distinct(pick(_entry(item)) for item in _list(value) or ())


def _mitre_technique_ids(value: Any) -> list[str] | None:
    """Technique ids of ``AttackTechniques`` entries, a sub-technique's as its technique's.

    ``PowerShell (T1059.001)`` gives ``T1059``.
    """
    return _techniques(value, sub=False, want_id=True)


def _mitre_technique_names(value: Any) -> list[str] | None:
    """Names of the ``AttackTechniques`` entries that are techniques (not sub-techniques)."""
    return _techniques(value, sub=False, want_id=False)


def _mitre_subtechnique_ids(value: Any) -> list[str] | None:
    """Sub-technique ids of ``AttackTechniques`` entries: ``PowerShell (T1059.001)`` gives ``T1059.001``."""
    return _techniques(value, sub=True, want_id=True)


def _mitre_subtechnique_names(value: Any) -> list[str] | None:
    """Names of the ``AttackTechniques`` entries that are sub-techniques.

    ``PowerShell (T1059.001)`` gives ``PowerShell``.
    """
    return _techniques(value, sub=True, want_id=False)


def _dns_answers(value: Any) -> list[dict[str, Any]] | None:
    """ECS ``dns.answers`` of a DNS inspection's ``AdditionalFields``: each of ``answers`` with its ``TTLs`` entry.

    ``{"answers": "[\\"a.example.net\\",\\"203.0.113.5\\"]", "TTLs": [300, 60]}`` gives
    ``[{"data": "a.example.net", "ttl": 300}, {"data": "203.0.113.5", "ttl": 60}]``.
    """
    fields = _json_value(value)
    if not isinstance(fields, dict):
        return None
    answers, ttls = _json_value(fields.get("answers")), _json_value(fields.get("TTLs"))
    if not isinstance(answers, list):
        return None
    ttls = ttls if isinstance(ttls, list) else []
    out: list[dict[str, Any]] = []
    for i, data in enumerate(answers):
        if not isinstance(data, str) or not data:
            continue
        answer: dict[str, Any] = {"data": data}
        ttl = _int(ttls[i]) if i < len(ttls) else None
        if ttl is not None:
            answer["ttl"] = ttl
        out.append(answer)
    return out or None


_SEVERITY_LEVELS = {"informational": 1, "low": 2, "medium": 3, "high": 4}


def _severity_level(value: Any) -> int | None:
    """Defender's severity as a number: Informational 1, Low 2, Medium 3, High 4; None for anything else.

    A named, opt-in scale (the ``"ecs+severity"`` rule set): the raw text is kept either way.
    """
    return _SEVERITY_LEVELS.get(value.strip().lower()) if isinstance(value, str) else None


TRANSFORMS.update(
    {
        "json_value": _json_value,
        "list": _list,
        "os_type": _os_type,
        "extension": _extension,
        "domain": _domain,
        "args": _args,
        "registry_hive": _registry_hive,
        "registry_key": _registry_key,
        "snake_case": _snake_case,
        "mitre_tactic_ids": _mitre_tactic_ids,
        "mitre_tactic_names": _mitre_tactic_names,
        "mitre_technique_ids": _mitre_technique_ids,
        "mitre_technique_names": _mitre_technique_names,
        "mitre_subtechnique_ids": _mitre_subtechnique_ids,
        "mitre_subtechnique_names": _mitre_subtechnique_names,
        "dns_answers": _dns_answers,
        "severity_level": _severity_level,
    }
)


def _pluck(key: str) -> Transform:
    def pluck(value: Any) -> list[Any] | None:
        items = _json_value(value)
        if not isinstance(items, list):
            items = [items]
        out = [item.get(key) for item in items if isinstance(item, dict)]
        return [v for v in out if v is not None and v != ""] or None

    pluck.__doc__ = f"The value at key {key!r} of each object of a list (or of JSON array text)."
    return pluck


def _join(sep: str) -> Transform:
    def join(value: Any) -> str | None:
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return sep.join(item for item in value if isinstance(item, str)) or None
        return None

    join.__doc__ = f"The text items of a list joined by {sep!r}; a text as it is."
    return join


def _const(text: str) -> Transform:
    def const(value: Any) -> str:
        return text

    const.__doc__ = f"The text {text!r} whenever there is a value (the column's presence means it)."
    return const


def _prefix(text: str) -> Transform:
    def prefix(value: Any) -> str | None:
        return text + value if isinstance(value, str) else None

    prefix.__doc__ = f"A text with {text!r} before it."
    return prefix


PARAMETRIC.update({"pluck": _pluck, "join": _join, "const": _const, "prefix": _prefix})


def _action_and_fields(record: Record) -> tuple[Any, Any]:
    props = record.properties
    if isinstance(props, dict):
        return props.get("ActionType"), props.get("AdditionalFields")
    return getattr(props, "ActionType", None), getattr(props, "AdditionalFields", None)


def _direction(fields: Any) -> str | None:
    """AdditionalFields' top-level ``direction``, lower-case (decoded only when the text names it)."""
    if isinstance(fields, str):
        if "irection" not in fields:
            return None  # the common case, without decoding anything
        return _direction_of_text(fields) if len(fields) <= 4096 else _direction_of_json(fields)
    if isinstance(fields, dict):
        for key, direction in fields.items():
            if key.lower() == "direction" and isinstance(direction, str):
                return direction.strip().lower()
    return None


def _direction_of_json(fields: str) -> str | None:
    decoded = _json_value(fields)
    return _direction(decoded) if isinstance(decoded, dict) else None


# The same AdditionalFields texts come again and again (a device's connections): cached.
_direction_of_text = functools.lru_cache(maxsize=4096)(_direction_of_json)


_INBOUND_ACTIONS = frozenset(
    {"InboundConnectionAccepted", "FirewallInboundConnectionBlocked", "FirewallInboundConnectionToAppBlocked"}
)
_EGRESS_ACTIONS = frozenset(
    {
        "ConnectionSuccess",
        "ConnectionFailed",
        "ConnectionAttempt",
        "ConnectionRequest",
        "FirewallOutboundConnectionBlocked",
    }
)


def _inbound(record: Record) -> bool:
    """An inbound network event: the remote side opened the connection.

    Every ``ActionType`` that starts with ``Inbound`` (``InboundConnectionAccepted``,
    ``InboundConnectionAttempt``, ``InboundConnectionAcknowledged``, ...),
    ``FirewallInboundConnectionBlocked``, ``FirewallInboundConnectionToAppBlocked``,
    or a top-level ``AdditionalFields.direction`` of ``"In"`` (the same words
    inside another value do not count).
    """
    props = record.properties
    if isinstance(props, dict):
        action = props.get("ActionType")
        fields = props.get("AdditionalFields")
    else:
        action = getattr(props, "ActionType", None)
        fields = getattr(props, "AdditionalFields", None)
    if (action.__class__ is str and action.startswith("Inbound")) or action in _INBOUND_ACTIONS:
        return True
    if fields is None:
        return False  # the common case of a network event without AdditionalFields, without a call
    return _direction(fields) in ("in", "inbound")


def _egress(record: Record) -> bool:
    """The local side opened the connection: ``ConnectionSuccess``, ``...Failed``, ``...Attempt``, ``...Request``.

    Also ``FirewallOutboundConnectionBlocked``, and ``AdditionalFields.direction`` ``"Out"``.
    """
    action, fields = _action_and_fields(record)
    if action in _EGRESS_ACTIONS:
        return True
    return _direction(fields) in ("out", "outbound")


def _evidence_source(record: Record) -> bool:
    """An alert evidence that was the source of its connection: ``EvidenceDirection`` is ``"Source"``."""
    props = record.properties
    value = props.get("EvidenceDirection") if isinstance(props, dict) else getattr(props, "EvidenceDirection", None)
    return isinstance(value, str) and value.strip().lower() == "source"


CONDITIONS.update({"inbound": _inbound, "egress": _egress, "evidence_source": _evidence_source})

#: The columns each condition reads (what :meth:`m365parse.RuleSet.projection` decodes for it).
#: A condition missing here makes its rules read every column.
CONDITION_COLUMNS: dict[str, frozenset[str]] = {
    "network_request": frozenset({"RequestAccountName", "RequestSourceIP"}),
    "inbound": frozenset({"ActionType", "AdditionalFields"}),
    "egress": frozenset({"ActionType", "AdditionalFields"}),
    "evidence_source": frozenset({"EvidenceDirection"}),
}


def describe() -> dict[str, str]:
    """Name -> first line of the docstring, of every transform and condition (for the docs)."""
    out = {}
    for name, fn in {**TRANSFORMS, **{f"{k}:<arg>": v for k, v in PARAMETRIC.items()}}.items():
        out[name] = (fn.__doc__ or name).strip().splitlines()[0]
    for name, cond in CONDITIONS.items():
        out[f"if {name}"] = (cond.__doc__ or name).strip().splitlines()[0]
    return out
