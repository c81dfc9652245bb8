"""Compiles the functions that the API rules and ``to_dict()`` generate (one place that runs ``exec``).

Their generators write only names they made themselves (``_k3``, ``v0``) and a few fixed
variable and attribute names; every constant, key and function reaches the code as a
value of its namespace, so no rule data and nothing of any record is ever compiled
(``tests/fuzz/test_security.py``).  Two struct types of the same shape (the row structs
of two hunting schemas) give the same source: it is compiled once and run with each
one's namespace.
"""

from __future__ import annotations

from types import CodeType
from typing import Any

__all__ = ["compile_function", "Names"]

#: Source -> its compiled code (bounded: a source is a function of a struct's shape).
_CODE: dict[str, CodeType] = {}
_MAX_CODE = 1024


def compile_function(source: str, ns: dict[str, Any], function: str) -> Any:
    """The function ``function`` that ``source`` defines, its globals ``ns``; its source as ``__doc__``."""
    code = _CODE.get(source)
    if code is None:
        code = compile(source, "<m365parse generated>", "exec")
        if len(_CODE) >= _MAX_CODE:
            _CODE.clear()
        _CODE[source] = code
    exec(code, ns)  # noqa: S102 - generated names only (see above)
    fn = ns[function]
    fn.__doc__ = source
    return fn


class Names:
    """Names values for generated code: ``names(value, "_k")`` stores ``value`` in the
    namespace ``ns`` under a new identifier (``_k1``, ``_k2``, ...) and returns it."""

    def __init__(self, ns: dict[str, Any]) -> None:
        self.ns = ns
        self.count = 0

    def __call__(self, value: Any, prefix: str) -> str:
        self.count += 1
        ident = f"{prefix}{self.count}"
        self.ns[ident] = value
        return ident
