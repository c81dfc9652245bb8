"""Writing JSON that may hold lone surrogates: the one encoder of the library.

Records read by the standard library keep lone UTF-16 surrogates in their
strings (Python strings can hold them, UTF-8 cannot), and ``msgspec.json.encode``
raises ``UnicodeEncodeError`` on them.  Everything in m365parse that writes JSON
(the command line, ``event.original``) calls :func:`encode`, which writes them
as ``\\udXXX`` escapes, as ``json.dumps`` does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["encode"]

_ENCODER = msgspec.json.Encoder()
_SURROGATE = re.compile("[\ud800-\udfff]")


def encode(value: Any, enc_hook: Callable[[Any], Any] | None = None) -> bytes:
    """``msgspec.json.encode(value)``, with lone surrogates written as ``\\udXXX`` escapes.

    The output is msgspec's byte for byte when no string holds a lone surrogate
    (non-finite floats are ``null``, as msgspec writes them).  Otherwise strings
    and keys holding one are written with every other character as msgspec would
    write it; the result is valid UTF-8 and ``json.loads`` reads the surrogates
    back.  Raises what ``msgspec.json.encode`` raises for values it cannot encode.
    """
    try:
        return _ENCODER.encode(value) if enc_hook is None else msgspec.json.encode(value, enc_hook=enc_hook)
    except UnicodeEncodeError:
        pass
    return msgspec.json.encode(_escaped(msgspec.to_builtins(value, enc_hook=enc_hook)))


def _string(text: str) -> bytes:
    # json.dumps escapes what JSON must; backslashreplace writes a lone surrogate
    # as \udXXX, which inside a JSON string is its escape.
    return json.dumps(text, ensure_ascii=False).encode("utf-8", "backslashreplace")


def _key(key: Any) -> bytes:
    if isinstance(key, str) and _SURROGATE.search(key):
        return _string(key)
    return msgspec.json.encode({key: 0})[1:-3]  # msgspec's own text of the key, "1" for 1


def _escaped(root: Any) -> Any:
    """A copy of builtins data that msgspec can encode: surrogate strings as ``Raw`` JSON.

    Iterative (the nesting it takes must not depend on Python's stack).  An object
    with a key that holds a surrogate is written as a ``Raw`` object, innermost first.
    """
    top: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(root, top, 0)]
    objects: list[tuple[dict[Any, Any], Any, Any]] = []  # objects with such keys, outer before inner
    while stack:
        value, parent, key = stack.pop()
        if isinstance(value, str):
            parent[key] = msgspec.Raw(_string(value)) if _SURROGATE.search(value) else value
        elif isinstance(value, dict):
            copy: dict[Any, Any] = {}
            for name, item in value.items():
                copy[name] = None  # keeps the key order
                stack.append((item, copy, name))
            if any(isinstance(name, str) and _SURROGATE.search(name) for name in copy):
                objects.append((copy, parent, key))
            parent[key] = copy
        elif isinstance(value, list):
            items: list[Any] = [None] * len(value)
            stack.extend((item, items, i) for i, item in enumerate(value))
            parent[key] = items
        else:
            parent[key] = value
    for obj, parent, key in reversed(objects):
        members = (_key(name) + b":" + msgspec.json.encode(item) for name, item in obj.items())
        parent[key] = msgspec.Raw(b"{" + b",".join(members) + b"}")
    return top[0]
