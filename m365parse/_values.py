"""Value types and helpers: timestamps to the 100 ns, JSON-in-string columns, coercion.

``Timestamp`` and ``JsonText`` are the annotations the generated table structs
use.  ``coercer()`` builds, once per struct type, the per-column conversions of the
per-record (slow) path, which must give the same values as the one-pass msgspec
decode for every value that path accepts.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Annotated, Any, Union

import msgspec
from msgspec import Meta

from ._stdjson import loads
from .errors import InvalidColumn, InvalidJSONText

if TYPE_CHECKING:
    from .record import Record

__all__ = [
    "Timestamp",
    "JsonText",
    "timestamp_ns",
    "exact_datetime",
    "ExactDatetime",
    "format_ns",
    "parse_ns",
    "expand",
    "MAX_EXPAND_DEPTH",
    "MAX_EXPAND_BYTES",
]

#: A datetime column: decodes ISO 8601 with 0-9 fractional digits to an aware datetime.
Timestamp = Annotated[datetime, Meta(tz=True)]

#: A column that carries JSON: as a JSON-encoded string, or as the object/array itself.
JsonText = Union[str, dict[str, Any], list[Any]]  # noqa: UP007 - evaluated at runtime by msgspec

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Applied to stripped text: white space on both sides of the optional zone would
# let the regex try every split of a long run of spaces (quadratic time).
_TS_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9})\d*)?\s*"
    r"(?:(Z|z)|([+-])(\d\d):?(\d\d))?\Z"
)


def parse_ns(text: str) -> int | None:
    """Nanoseconds since the epoch of an ISO 8601 timestamp string, exactly.

    Up to 9 fractional digits are kept (Kusto sends up to 7); a string without a
    zone is UTC.  Returns ``None`` when ``text`` is not such a timestamp.
    """
    m = _TS_RE.match(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, _z, sign, oh, om = m.groups()
    try:
        base = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=timezone.utc)
    except ValueError:
        return None
    seconds = (base - _EPOCH) // timedelta(seconds=1)
    if sign is not None:
        offset = int(oh) * 3600 + int(om) * 60
        seconds -= offset if sign == "+" else -offset
    ns = int(frac.ljust(9, "0")) if frac else 0
    return seconds * 1_000_000_000 + ns


def format_ns(ns: int | None) -> str | None:
    """Canonical UTC string of a nanosecond timestamp: ``2021-07-21T00:55:44.2280946Z``.

    Trailing zeros of the fraction are trimmed (``...T06:19:37Z``), as Kusto does;
    the year has four digits (an instant of year 1 or 9999 written with an offset can
    fall in year 0 or 10000 in UTC: ``0000-12-31T23:30:00Z``, ``10000-01-01T01:00:00Z``).
    """
    if ns is None:
        return None
    seconds, frac = divmod(ns, 1_000_000_000)
    text = _second_text(seconds)
    if frac:
        return f"{text}.{frac:09d}".rstrip("0") + "Z"
    return text + "Z"


@functools.lru_cache(maxsize=1024)
def _second_text(seconds: int) -> str:
    # Timestamps of a batch share their seconds: cached (strftime costs 1.5 µs).
    # Outside datetime's years 1-9999 (reachable only through an offset) the date is
    # worked out 400 years (one Gregorian cycle: same calendar) nearer, then moved back.
    cycles = -1 if seconds < _FIRST_SECOND else 1 if seconds > _LAST_SECOND else 0
    t = _EPOCH + timedelta(seconds=seconds - cycles * _CYCLE_SECONDS)
    year = t.year + 400 * cycles
    return f"{year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"


_CYCLE_SECONDS = 146_097 * 86_400  # 400 Gregorian years
_FIRST_SECOND = (datetime(1, 1, 1, tzinfo=timezone.utc) - _EPOCH) // timedelta(seconds=1)
_LAST_SECOND = (datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc) - _EPOCH) // timedelta(seconds=1)


def _datetime_ns(value: datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


class ExactDatetime(datetime):
    """A timezone-aware ``datetime`` that also knows its exact time, :attr:`ns`.

    It compares, hashes and computes as the ``datetime`` it is (microseconds, the
    value msgspec decoded); :attr:`ns` gives nanoseconds since the epoch with all
    of Kusto's 7 fractional digits, and :meth:`isoformat_exact` writes them.  An
    ExactDatetime made from a record works them out on first use (and keeps a
    reference to the record until then), so normalizing pays nothing for the
    precision unless it is asked for.
    """

    __slots__ = ("_lazy", "_ns")
    _ns: int | None
    _lazy: tuple[Record, str] | None

    @classmethod
    def from_datetime(cls, value: datetime, ns: int | None = None) -> ExactDatetime:
        """``value`` as an ExactDatetime; ``ns`` defaults to the value's own microseconds."""
        out = cls(*value.__reduce__()[1])  # the pickled state: 4x faster than fields
        out._ns = _datetime_ns(value) if ns is None else ns
        out._lazy = None
        return out

    @classmethod
    def from_ns(cls, ns: int) -> ExactDatetime:
        """The UTC instant ``ns`` nanoseconds after the epoch (the datetime rounded to the µs)."""
        return cls.from_datetime(_EPOCH + timedelta(microseconds=(ns + 500) // 1000), ns)

    @classmethod
    def of_column(cls, value: datetime, record: Record, column: str) -> ExactDatetime:
        """``value``, the decoded ``column`` of ``record``, exact once :attr:`ns` is read."""
        out = cls(*_REDUCE(value)[1])  # the pickled state: 4x faster than fields
        out._ns = None
        out._lazy = (record, column)
        return out

    @property
    def ns(self) -> int:
        """Nanoseconds since the epoch, exact to the digit that arrived."""
        if self._ns is None:
            record, column = self._lazy  # type: ignore[misc]
            approx = _datetime_ns(self)
            # the text that arrived when it is this value's (a record changed since: this value)
            text = _source_text(record, column, column in ("time", "_TimeReceivedBySvc"))
            self._ns = approx if text is None else _exact_ns(text, approx)
            self._lazy = None
        return self._ns

    def isoformat_exact(self) -> str:
        """UTC ISO 8601 with every fractional digit: ``2021-07-21T00:55:44.2280946Z``."""
        return format_ns(self.ns)  # type: ignore[return-value]

    def __reduce_ex__(self, protocol: Any) -> Any:  # datetime defines __reduce_ex__ itself
        plain = datetime(*self.timetuple()[:6], self.microsecond, self.tzinfo, fold=self.fold)
        return (_rebuild_exact, (plain, self.ns))


_REDUCE = datetime.__reduce__  # unbound: no method lookup per value


def exact_of_column(value: datetime, record: Record, column: str) -> ExactDatetime:
    """:meth:`ExactDatetime.of_column` as a plain function (compiled rules call it once per record)."""
    out = ExactDatetime(*_REDUCE(value)[1])
    out._ns = None
    out._lazy = (record, column)
    return out



def _rebuild_exact(value: datetime, ns: int) -> ExactDatetime:
    return ExactDatetime.from_datetime(value, ns)


_DIGITS = "0123456789"


def _exact_ns(text: str, approx: int) -> int:
    """Nanoseconds of timestamp ``text``, given ``approx``: the same instant as decoded (µs).

    msgspec keeps up to 6 fractional digits exactly and rounds more to the
    microsecond; only then is the text read again.  When the text does not agree
    with ``approx`` (the record was changed after decoding), ``approx`` wins.
    """
    dot = text.find(".", 16)
    if dot < 0:
        dot = text.find(",", 16)
        if dot < 0:
            return approx
    digits = text[dot + 1 : dot + 10]
    count = len(digits) - len(digits.lstrip(_DIGITS))
    if count <= 6:
        return approx
    exact = approx - approx % 1_000_000_000 + int(digits[:count].ljust(9, "0"))
    if exact - approx > 500:
        exact -= 1_000_000_000  # the microsecond rounding carried into the next second
    return exact if -500 <= exact - approx <= 500 else approx


def timestamp_ns(record: Record, column: str) -> int | None:
    """The exact value of a datetime column in nanoseconds since the epoch.

    ``column`` is a column of ``record.properties``, an envelope timestamp
    (``"time"``, ``"_TimeReceivedBySvc"``), or the JSON path of a datetime at any
    depth of an API record's nested ``properties`` (``"evidence[0].createdDateTime"``,
    ``"$.alerts[1].evidence[0].createdDateTime"``; ``$`` is the item, members
    ``.name`` or ``["name"]``, list items ``[n]``).  All 7 fractional digits that Defender
    sends are kept (a ``datetime`` keeps 6).  Returns ``None`` when the value is
    absent.  Raises :class:`m365parse.InvalidColumn` when the record has no such
    datetime column.  For records of unknown tables the value is read from the
    untyped properties when it is a timestamp string.
    """
    envelope = column in ("time", "_TimeReceivedBySvc")
    value = _datetime_value(record, column)
    if value is None or isinstance(value, int):
        return value
    text = _source_text(record, column, envelope)
    approx = _datetime_ns(value)
    return approx if text is None else _exact_ns(text, approx)


def _source_text(record: Record, column: str, envelope: bool) -> str | None:
    """The text ``column`` of ``record`` arrived as (None: unknown), as ``Origin.original_text`` gives it."""
    src: Any = record._src
    if src.__class__ is not tuple:
        src = record._source()
        if src is None:
            return None
    origin, pos = src
    text = None
    if not column.startswith("__"):  # (a view's own __doc__ is no column)
        envelope_texts, texts = origin.texts(record, pos)  # the shape's fast way, most often
        text = getattr(envelope_texts if envelope else texts, column, None)
    if text.__class__ is not str:
        text = origin.original_text(record, pos, column, envelope)
    return text if isinstance(text, str) else None


_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{0,8}[1-9])?Z\Z")


def exact_iso(record: Record, column: str) -> str | None:
    """:func:`format_ns` of :func:`timestamp_ns`: the canonical UTC text of a datetime column.

    Most timestamps arrive in that very form (``2021-07-21T00:55:44.2280946Z``):
    the text is then returned as it is, once it agrees with the decoded value.
    """
    value = _datetime_value(record, column)
    if value is None or isinstance(value, int):
        return format_ns(value)
    text = _source_text(record, column, column in ("time", "_TimeReceivedBySvc"))
    if text is not None:
        if agrees(text, value):
            return text
        return format_ns(_exact_ns(text, _datetime_ns(value)))
    return format_ns(_datetime_ns(value))


_ZERO = timedelta(0)
# msgspec rounds a 7th fractional digit of 5-9 up to the next microsecond; fromisoformat truncates.
_HALF_UP = dict.fromkeys("56789", timedelta(microseconds=1))


_NONZERO = frozenset("123456789")


def _parse_canonical_310(text: str) -> datetime:
    """``datetime.fromisoformat`` of a canonical text, for Python 3.10 (which does not read ``Z``)."""
    if not (text.isascii() and text[:4].isdigit() and text[5:7].isdigit() and text[8:10].isdigit()):
        raise ValueError(text)
    if not (text[11:13].isdigit() and text[14:16].isdigit() and text[17:19].isdigit()):
        raise ValueError(text)
    frac = text[20:-1]
    micro = int(frac[:6].ljust(6, "0")) if frac else 0
    year, month, day, hour, minute, second = _fields(text[:19])
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone.utc)


_parse_canonical: Callable[[str], datetime] = (
    datetime.fromisoformat if sys.version_info >= (3, 11) else _parse_canonical_310
)


def agrees(text: Any, value: Any) -> bool:
    """Whether ``text`` is canonical UTC text (:func:`format_ns`'s form) that decodes to ``value``.

    Then ``text`` is :func:`exact_iso` of the column ``value`` was decoded from: a
    value that was changed after decoding (or is not a datetime) does not agree.
    """
    if text.__class__ is not str:
        return False
    if value.__class__ is datetime and len(text) == 28:
        # 7 fractional digits, as Kusto sends most: the value's own text (msgspec writes it, in C)
        # against the text's first 26 characters; msgspec rounded a 7th digit of 5-9 up.
        digit = text[26]
        try:
            shown = _to_builtins(value if digit < "5" else value - _MICROSECOND)
        except OverflowError:
            shown = ""
        if shown[26:] == "Z":  # UTC, with microseconds: else the steps below decide
            return text[27] == "Z" and "0" < digit <= "9" and text[:26] == shown[:26]
    elif value.__class__ is datetime and 20 <= len(text) <= 27:
        # 0 to 6 fractional digits (Kusto trims trailing zeros): exact in the value, whose
        # canonical text is msgspec's (6 digits, or none for a whole second) trimmed so.
        own: str
        try:
            own = _to_builtins(value)
        except OverflowError:
            own = ""
        if len(own) == 27 and own[26] == "Z":
            return own[:26].rstrip("0") + "Z" == text
        if len(own) == 20 and own[19] == "Z":
            return own == text
    # _CANONICAL.match(text), in a fifth of its time: the fixed places here, the digits by _parse_canonical
    size = len(text)
    if size == 20:
        if text[19] != "Z":
            return False
    elif not (
        22 <= size <= 30
        and text[19] == "."
        and text[-1] == "Z"
        and text[-2] in _NONZERO
        and text[20:-1].isdigit()
        and text.isascii()
    ):
        return False
    if text[4:17:3] != "--T::":  # the places 4, 7, 10, 13 and 16
        return False
    try:
        return bool(_parse_canonical(text) + _HALF_UP.get(text[26:27], _ZERO) == value)
    except (ValueError, OverflowError):  # a leap second; the microsecond rounding past year 9999
        return False


_to_builtins = msgspec.to_builtins
_MICROSECOND = timedelta(microseconds=1)


@functools.lru_cache(maxsize=1024)
def _fields(text: str) -> tuple[int, ...]:
    # "2021-07-21T00:55:44" (checked by _CANONICAL) as (2021, 7, 21, 0, 55, 44)
    return int(text[:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]), int(text[17:19])


def _datetime_value(record: Record, column: str) -> datetime | int | None:
    """The decoded datetime of ``column``; for an untyped row, the nanoseconds of its text.

    Raises :class:`InvalidColumn` when the record has no such datetime column.
    """
    props = record.properties
    if column in ("time", "_TimeReceivedBySvc"):
        value = getattr(record, column)
    elif "." in column or "[" in column:
        value, untyped = _walk(props, column)
        if untyped and isinstance(value, str):
            return parse_ns(value)  # inside an untyped part of the record
        if value is _MISSING:
            raise InvalidColumn(f"{record.table} has no value at {column!r}")
    elif isinstance(props, dict):
        raw = props.get(column)
        return parse_ns(raw) if isinstance(raw, str) else None
    else:
        try:
            value = getattr(props, column)
        except AttributeError:
            raise InvalidColumn(f"{record.table} has no column {column!r}") from None
    if value is not None and not isinstance(value, datetime):
        raise InvalidColumn(f"{record.table}.{column} is not a datetime column")
    return value


_MISSING: Any = object()
_STEP = re.compile(r'\.([^.\[]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def path_steps(column: str) -> list[str | int] | None:
    """The steps of a JSON path below an item (``$.evidence[2].createdDateTime``, ``$`` optional); None if malformed."""
    text = column[1:] if column.startswith("$") else column
    if text and text[0] not in ".[":
        text = "." + text
    steps: list[str | int] = []
    pos = 0
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            return None
        name, index, quoted = m.groups()
        if quoted is not None:
            try:
                # a member name as _deep writes it (json.dumps): lone surrogates as \udXXX escapes
                name = loads(quoted.encode("utf-8", "surrogatepass"))
            except ValueError:
                return None
        steps.append(name if name is not None else int(index))
        pos = m.end()
    return steps


def resolve_path(value: Any, column: str) -> Any:
    """The value at JSON path ``column`` below ``value`` (structs, dicts, lists); ``_MISSING`` when there is none."""
    return _walk(value, column)[0]


def _walk(value: Any, column: str) -> tuple[Any, bool]:
    """(the value at ``column``, whether it is a member of an untyped dict)."""
    steps = path_steps(column)
    if steps is None:
        return _MISSING, False
    untyped = False
    for step in steps:
        if value is None:
            return None, untyped
        if isinstance(step, int):
            if not isinstance(value, list) or not 0 <= step < len(value):
                return _MISSING, False
            value = value[step]
        elif isinstance(value, dict):
            value, untyped = value.get(step, _MISSING), True
        elif isinstance(value, msgspec.Struct):
            names = dict(zip(value.__struct_encode_fields__, value.__struct_fields__, strict=True))
            if step not in names:
                return _MISSING, False
            value, untyped = getattr(value, names[step]), False
        else:
            return _MISSING, False
    return value, untyped


def exact_datetime(record: Record, column: str) -> ExactDatetime | None:
    """The datetime column as an :class:`ExactDatetime` (``None`` when absent).

    Same lookup and errors as :func:`timestamp_ns`; the nanoseconds are worked out
    when first read.
    """
    value = _datetime_value(record, column)
    if value is None or isinstance(value, int):
        return None if value is None else ExactDatetime.from_ns(value)
    return ExactDatetime.of_column(value, record, column)


#: Deepest nesting :func:`expand` decodes.
MAX_EXPAND_DEPTH = 500
#: Longest JSON text :func:`expand` decodes, in bytes of UTF-8.
MAX_EXPAND_BYTES = 16 * 1024 * 1024

_JSON_START = re.compile(r"\s*[\[{]")


def _nesting_depth(text: str) -> int:
    """An upper bound of the nesting depth of ``text``, cheap, without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _loads(column: str, text: str, depth_left: int) -> Any:
    if len(text) > MAX_EXPAND_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_EXPAND_BYTES:
        raise InvalidJSONText(column, f"JSON text longer than {MAX_EXPAND_BYTES} bytes")
    if ("[" in text or "{" in text) and _nesting_depth(text) > depth_left:
        raise InvalidJSONText(column, f"JSON nested deeper than {MAX_EXPAND_DEPTH} levels")
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise InvalidJSONText(column, f"not JSON: {exc}", _byte_of(str(exc))) from None
    except (UnicodeError, RecursionError) as exc:
        raise InvalidJSONText(column, f"not JSON: {exc}") from None


def _byte_of(message: str) -> int | None:
    m = re.search(r"\(byte (\d+)\)", message)
    return int(m.group(1)) if m else None


def expand(record: Record, column: str) -> Any:
    """The decoded value of a JSON-in-string column, whichever form it arrived in.

    ``AdditionalFields``, ``AttackTechniques``, ``LoggedOnUsers``, ``IPAddresses``,
    ``RawEventData`` and the other JSON-carrying columns arrive as a JSON-encoded
    string, as the object or array itself, as ``""`` or as ``null``.  This returns:

    - ``None`` for a missing, null or blank value;
    - the decoded object/array/scalar otherwise, with string values inside it that
      are themselves JSON objects or arrays decoded as well (DNS answers in
      ``AdditionalFields`` are encoded twice);
    - with JSON.NET references resolved: objects carrying ``"$id"`` lose that key
      and every ``{"$ref": id}`` becomes that very object, cycles included (the
      result then contains itself); a ``$ref`` to an unknown id is left as it is.

    Raises :class:`m365parse.InvalidJSONText` when the string is not JSON, is longer
    than :data:`MAX_EXPAND_BYTES` or nested deeper than :data:`MAX_EXPAND_DEPTH`,
    and :class:`m365parse.InvalidColumn` when the record has no such column.
    The record itself is never modified.
    """
    props = record.properties
    if isinstance(props, dict):
        value = props.get(column)
    else:
        try:
            value = getattr(props, column)
        except AttributeError:
            raise InvalidColumn(f"{record.table} has no column {column!r}") from None
    return expand_value(value, column)


def expand_value(value: Any, column: str = "value") -> Any:
    """:func:`expand` for a bare value (``column`` only names it in errors)."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        value = _loads(column, value, MAX_EXPAND_DEPTH)
    elif isinstance(value, (dict, list)):
        if _container_depth(value, MAX_EXPAND_DEPTH) > MAX_EXPAND_DEPTH:
            raise InvalidJSONText(column, f"JSON nested deeper than {MAX_EXPAND_DEPTH} levels")
    else:
        return value
    ids: dict[str, Any] = {}
    copied = _copy_nested(column, value, ids, MAX_EXPAND_DEPTH)
    if ids:
        copied = _resolve_refs(copied, ids)
    return copied


def _container_depth(value: Any, limit: int) -> int:
    """Nesting depth of decoded containers, iteratively, stopping past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return deepest


def _copy_nested(column: str, root: Any, ids: dict[str, Any], depth: int) -> Any:
    """Copy decoded JSON, decoding JSON-in-string values and collecting ``$id`` objects.

    Iterative, in document order (the first object with a given ``$id`` wins): the
    nesting it accepts must not depend on how much of Python's stack is left.
    """
    top: list[Any] = [None]
    # (value, container, key, depth left): copy value into container[key]; a
    # negative depth marks "register container under the $id key" instead.
    stack: list[tuple[Any, Any, Any, int]] = [(root, top, 0, depth)]
    while stack:
        value, parent, key, depth_left = stack.pop()
        if depth_left < 0:
            ids.setdefault(key, parent)
            continue
        if isinstance(value, str) and _JSON_START.match(value):
            try:
                inner = _loads(column, value, depth_left - 1)
            except InvalidJSONText as exc:
                if "deeper" in str(exc) or "longer" in str(exc):
                    raise
                inner = None  # an ordinary string that starts with a bracket
            if isinstance(inner, (dict, list)):
                value, depth_left = inner, depth_left - 1
        if depth_left == 0 and isinstance(value, (dict, list)):
            raise InvalidJSONText(column, f"JSON nested deeper than {MAX_EXPAND_DEPTH} levels")
        copy: Any = value
        if isinstance(value, dict):
            copy = {}
            tasks: list[tuple[Any, Any, Any, int]] = []
            for name, item in value.items():
                if name == "$id" and isinstance(item, (str, int)) and not isinstance(item, bool):
                    tasks.append((None, copy, str(item), -1))
                else:
                    copy[name] = None  # keeps the key order
                    tasks.append((item, copy, name, depth_left - 1))
            stack.extend(reversed(tasks))
        elif isinstance(value, list):
            copy = [None] * len(value)
            stack.extend((value[i], copy, i, depth_left - 1) for i in reversed(range(len(value))))
        parent[key] = copy
    return top[0]


def _ref_target(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, dict) and len(value) == 1 and "$ref" in value:
        ref = value["$ref"]
        if isinstance(ref, (str, int)) and not isinstance(ref, bool) and str(ref) in ids:
            return ids[str(ref)]
    return None


def _resolve_refs(root: Any, ids: dict[str, Any]) -> Any:
    """Replace ``{"$ref": id}`` objects by their targets, in place, iteratively."""
    target = _ref_target(root, ids)
    if target is not None:
        root = target
    seen: set[int] = set()
    stack = [root]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in list(pairs):
            target = _ref_target(child, ids)
            if target is not None:
                item[key] = child = target
            if isinstance(child, (dict, list)):
                stack.append(child)
    return root


# --- coercion of the per-record path --------------------------------------------

Converter = Callable[[Any], tuple[bool, Any]]

# A string holding a lone surrogate (read by the standard library) is no number,
# boolean or datetime; msgspec says so with UnicodeEncodeError.
_MISFIT = (msgspec.ValidationError, UnicodeEncodeError)


def _str_converter(value: Any) -> tuple[bool, Any]:
    return (True, value) if isinstance(value, str) else (False, None)


def _id_text_converter(value: Any) -> tuple[bool, Any]:
    # ReportId is documented as string in some tables and arrives as a number too.
    if isinstance(value, str):
        return True, value
    if isinstance(value, int) and not isinstance(value, bool):
        return True, str(value)
    return False, None


def _json_text_converter(value: Any) -> tuple[bool, Any]:
    return (True, value) if isinstance(value, (str, dict, list)) else (False, None)


def _any_converter(value: Any) -> tuple[bool, Any]:
    return True, value


def _lax_converter(annotation: Any) -> Converter:
    target = Union[annotation, None]  # noqa: UP007

    def convert(value: Any) -> tuple[bool, Any]:
        try:
            return True, msgspec.convert(value, target, strict=False)
        except _MISFIT:
            pass
        if value == "":
            return True, None
        return False, None

    return convert


def _timestamp_converter(value: Any) -> tuple[bool, Any]:
    try:
        return True, msgspec.convert(value, Union[Timestamp, None], strict=False)  # noqa: UP007
    except _MISFIT:
        pass
    if value == "":
        return True, None
    try:
        naive = msgspec.convert(value, datetime, strict=False)
    except _MISFIT:
        return False, None
    return True, naive.replace(tzinfo=timezone.utc)  # Defender's clock is UTC


def converter_for(name: str, annotation: Any) -> Converter:
    """The per-record-path conversion of one column, from its struct annotation."""
    args = getattr(annotation, "__args__", ())
    inner = [a for a in args if a is not type(None)] if args else [annotation]
    base = inner[0] if len(inner) == 1 else annotation
    if base is str:
        return _id_text_converter if name == "ReportId" else _str_converter
    if base is Any:
        return _any_converter
    if base is Timestamp:
        return _timestamp_converter
    if set(inner) == {str, dict[str, Any], list[Any]}:
        return _json_text_converter
    return _lax_converter(base)


_COERCERS: dict[type, dict[str, Converter]] = {}


def coercer(struct_type: type[msgspec.Struct]) -> dict[str, Converter]:
    """Column name -> converter for ``struct_type``, built once per type."""
    plan = _COERCERS.get(struct_type)
    if plan is None:
        plan = {
            f.encode_name: converter_for(f.encode_name, f.type) for f in msgspec.structs.fields(struct_type)
        }
        _COERCERS[struct_type] = plan
    return plan


_PLANS: dict[type, dict[str, tuple[str, Converter, str]]] = {}


def _plan(struct_type: type[msgspec.Struct]) -> dict[str, tuple[str, Converter, str]]:
    """Every key that fills an attribute -> (attribute, converter, the attribute's wire name).

    The keys are the wire names of the fields (what the one-pass decode reads) and
    the other spellings the struct declares in ``_variants`` (``Isp`` of a table
    whose records carry ``ISP``).  Built once per type.
    """
    plan = _PLANS.get(struct_type)
    if plan is None:
        convert = coercer(struct_type)
        plan = {
            f.encode_name: (f.name, convert[f.encode_name], f.encode_name) for f in msgspec.structs.fields(struct_type)
        }
        wire_of = {name: wire for wire, (name, _, _) in plan.items()}
        for key, attribute in getattr(struct_type, "_variants", {}).items():
            wire = wire_of[attribute]
            plan.setdefault(key, (attribute, plan[wire][1], wire))
        _PLANS[struct_type] = plan
    return plan


@functools.cache
def filled_keys(struct_type: type[msgspec.Struct]) -> frozenset[str]:
    """The keys :func:`build_struct` fills an attribute of ``struct_type`` from (the wire
    names and the other spellings it declares); any other key goes to ``extra``."""
    return frozenset(_plan(struct_type))


def build_struct(
    struct_type: type[msgspec.Struct], values: dict[str, Any]
) -> tuple[msgspec.Struct, dict[str, Any]]:
    """Build ``struct_type`` from an untyped dict, column by column, losing nothing.

    Returns the struct and the ``extra`` dict: undeclared keys, and the original
    value of every declared column whose value did not fit (that column is None).
    A column that arrives under two spellings (``ISP`` and ``Isp``) is filled from
    the spelling real records carry (the wire name, the key ``to_dict()`` writes)
    and the other one is kept in ``extra`` as it arrived, whatever their order.
    """
    plan = _plan(struct_type)
    # First the whole row at C speed: the declared columns (under their wire names)
    # converted by msgspec in one call, as each column's converter would convert it;
    # the undeclared keys are the extra.  A row where that does not hold (a value
    # that does not fit its column, an other spelling of a column) is built column by
    # column (_build_columns).
    declared: dict[str, Any] = {}
    undeclared: dict[str, Any] = {}
    for key, value in values.items():
        entry = plan.get(key)
        if entry is None:
            undeclared[key] = value
        elif entry[2] != key:
            break  # an other spelling: column by column
        else:
            declared[key] = value
    else:
        try:
            return msgspec.convert(declared, struct_type, strict=False), undeclared
        except _MISFIT:
            pass
    return _build_columns(struct_type, values, plan)


def _build_columns(
    struct_type: type[msgspec.Struct], values: dict[str, Any], plan: dict[str, tuple[str, Converter, str]]
) -> tuple[msgspec.Struct, dict[str, Any]]:
    """:func:`build_struct` column by column (``plan``: the struct's :func:`_plan`)."""
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in values.items():
        entry = plan.get(key)
        if entry is None:
            extra[key] = value
            continue
        attribute, convert, wire = entry
        if key != wire and wire in values:
            extra[key] = value  # both spellings: the wire one fills the attribute
            continue
        if value is None:
            continue
        ok, converted = convert(value)
        if not ok:
            extra[key] = value
        elif converted is not None:
            kwargs[attribute] = converted
    return struct_type(**kwargs), extra
