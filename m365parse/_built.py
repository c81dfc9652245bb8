"""Pickling of structs built at run time (``msgspec.defstruct``), which no module holds.

pickle finds a class by its module and name; a struct built per hunting schema or per
exported table is no module's attribute, so pickle cannot find it.  Such a struct gets
``namespace=pickled_as(build, *key)``: an instance pickles as ``build``, the ``key``
and its field values, and unpickles as an instance of ``build(*key)`` (the struct
built again, or found in a cache), in another process too.  ``build`` must be a
module-level function (pickled by reference) and ``key`` picklable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["pickled_as"]


def pickled_as(build: Callable[..., type[msgspec.Struct]], *key: Any) -> dict[str, Any]:
    """The namespace of a struct ``build(*key)`` builds: its ``__reduce__``."""

    def reduce(value: msgspec.Struct) -> tuple[Any, ...]:
        return _rebuilt, (build, key, msgspec.structs.astuple(value))

    return {"__reduce__": reduce}


def _rebuilt(build: Callable[..., type[msgspec.Struct]], key: tuple[Any, ...], values: tuple[Any, ...]) -> Any:
    struct = build(*key)
    return struct(**dict(zip(struct.__struct_fields__, values, strict=True)))
