"""JSON that msgspec rejects and the standard library reads: the decoder's second reader.

Rule: a record that ``json.loads`` accepts is never an :class:`InvalidRecord`.
msgspec's decoder is stricter than ``json.loads`` in a few places, each of them
a value real data can hold:

- lone UTF-16 surrogate escapes (``"\\ud800 lone"``): Windows file names and
  command lines are UTF-16 and may hold unpaired surrogates, and JSON writers
  escape them so;
- UTF-8-encoded surrogates (bytes ``ED A0 80``), which ``json.loads`` reads from
  bytes (it decodes with ``surrogatepass``) and which a ``str`` input holding lone
  surrogate characters becomes;
- the literals ``NaN``, ``Infinity`` and ``-Infinity``, and numbers beyond a
  float's range (``1e400``), which ``json.loads`` reads as infinities;
- negative integers of exactly 4,300 digits (msgspec counts the sign);
- bytes in UTF-16 or UTF-32, which ``json.loads`` recognises (a BOM, or NUL
  bytes among the first four).

The per-record path reads a record with :func:`loads` where it read it with
msgspec alone; msgspec comes first, so clean input never meets the standard
library, and the one-pass fast path does not change at all.  Nesting deeper than
Python's recursion limit is rejected by both readers (msgspec reads a few levels
more than ``json.loads`` at the same stack depth); integers of more than 4,300
digits by both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["loads", "loads_one", "loads_lines", "utf8", "records_member"]

_ANY = msgspec.json.Decoder()


def loads(raw: Any) -> Any:
    """The value of the JSON text ``raw`` (bytes-like, UTF-8): msgspec's, else ``json.loads``'s.

    Strings keep lone surrogates; ``NaN``/``Infinity`` become floats.  When both
    readers reject ``raw``, msgspec's error is raised (a ``ValueError`` or
    ``RecursionError``): its message says where.
    """
    try:
        return _ANY.decode(raw)
    except (ValueError, RecursionError) as exc:
        return _stdlib(raw, exc)


def _stdlib(raw: Any, error: BaseException) -> Any:
    import json  # the standard library's reader: imported when first needed

    try:
        # the encoding of a whole input is settled before it is split (utf8()):
        # a record is UTF-8, surrogates included, as json.loads reads bytes
        return json.loads(bytes(raw).decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        pass
    try:
        raise error from None
    finally:
        # (else this frame, which the error's traceback holds, would hold the error: a
        # reference cycle that keeps the frames below it, and their input, alive until
        # the cyclic collector runs)
        del error


def loads_one(buf: bytes) -> Any:
    """:func:`loads` of a whole input, which the standard library reads only when it may be one value.

    JSON lines are not one value: the standard library would copy the whole input
    to a ``str`` (up to 4 bytes a character) only to say so at the end of the
    first line.  A closing bracket, a line break and an opening bracket never
    follow each other in one JSON value (no comma between, and no string holds a
    raw line break): where they do, msgspec's error stands.
    """
    try:
        return _ANY.decode(buf)
    except (ValueError, RecursionError) as exc:
        if _NEXT_LINE.search(buf):
            raise
        return _stdlib(buf, exc)


_NEXT_LINE = re.compile(rb"[}\]][ \t\r]*\n[ \t\r\n]*(?:\xef\xbb\xbf)?[{\[]")


def loads_lines(buf: bytes) -> list[Any]:
    """JSON values one after another (JSON lines, as msgspec's ``decode_lines`` reads them):
    msgspec's, else the standard library's, value by value.

    When both readers reject a value, msgspec's error is raised.
    """
    try:
        return _ANY.decode_lines(buf)
    except (ValueError, RecursionError) as exc:
        import json

        try:
            text = buf.decode("utf-8", "surrogatepass")
            decoder = json.JSONDecoder()
            values: list[Any] = []
            pos, end = 0, len(text)
            while True:
                pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]  # (it matches the empty string)
                if pos >= end:
                    return values
                value, pos = decoder.raw_decode(text, pos)
                values.append(value)
        except (ValueError, RecursionError):
            raise exc from None


_SPACE = re.compile(r"[ \t\r\n\ufeff]*")


def utf8(buf: bytes) -> bytes:
    """``buf`` in UTF-8: UTF-16 or UTF-32 input, recognised as ``json.loads`` does, is transcoded.

    Anything else (and input that does not decode in the encoding recognised) is
    returned as it is.  Costs two byte comparisons on UTF-8 input.
    """
    if buf[:1] in (b"\x00", b"\xfe", b"\xff") or buf[1:2] == b"\x00":
        import json

        encoding = json.detect_encoding(buf)
        if encoding.startswith(("utf-16", "utf-32")):
            try:
                return buf.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
            except UnicodeError:
                pass
    return buf


class _Records(msgspec.Struct):
    records: list[msgspec.Raw] = []


_RECORDS = msgspec.json.Decoder(_Records)
_KEY = re.compile(rb'"(?:[^"\\]|\\.)*"\s*:', re.DOTALL)


def records_member(buf: bytes, split: Callable[[bytes, int], list[bytes]]) -> list[Any]:
    """The elements' bytes of the ``records`` array of the JSON object ``buf``, whatever its key order.

    msgspec splits it when it can; else (``json.loads`` read it) ``split(data, pos)``,
    the decoder's tolerant splitter of the array or object opening at ``pos``,
    does.  As in ``json.loads``, the last ``records`` wins.
    """
    try:
        return _RECORDS.decode(buf).records  # msgspec.Raw: the records' own bytes
    except (ValueError, RecursionError):
        pass
    elements: list[Any] = []
    for member in split(buf, 0):  # an object's members split like an array's elements
        m = _KEY.match(member)
        if m is None:
            continue
        try:
            key = loads(m.group()[:-1].rstrip())
        except (ValueError, RecursionError):
            continue
        value = member[m.end() :].lstrip()
        if key == "records" and value.startswith(b"["):
            elements = split(value, 0)
    return elements
