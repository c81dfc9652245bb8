"""Compiles the functions that the API rules and ``to_dict()`` generate (one place that runs ``exec``).

Their generators write only names they made themselves (``_k3``, ``v0``) and a few fixed
variable and attribute names; every constant, key and function reaches the code as a
value of its namespace, so no rule data and nothing of any record is ever compiled
(``tests/fuzz/test_security.py``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["compile_function"]


def compile_function(source: str, ns: dict[str, Any], function: str) -> Any:
    """The function ``function`` that ``source`` defines, its globals ``ns``; its source as ``__doc__``."""
    exec(compile(source, "<m365parse generated>", "exec"), ns)  # noqa: S102 - generated names only (see above)
    fn = ns[function]
    fn.__doc__ = source
    return fn
