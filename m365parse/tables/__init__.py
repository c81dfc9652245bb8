"""Typed structs of the Advanced Hunting tables and of the SIEM REST API alert.

One :class:`msgspec.Struct` per table of Microsoft's Advanced Hunting schema (66),
named as the table, with one optional attribute per column named exactly as
Microsoft's column (``InitiatingProcessId``), and one ``<Table>Record`` per table
for the streamed record around it.  The modules of this package are generated
from ``schema/`` by ``_generate.py``, one module per table family.

A family module is imported the first time one of its types is used (an
attribute of this package, or a value of :data:`TABLES` or
:data:`RECORD_TYPES`); the names, families and documented types are plain data
available at once.  ``import m365parse`` thus builds no struct of a table that is
never met.

Exposed here:

- :data:`TABLES`: read-only mapping, table name -> struct of its ``properties``
  (``"SiemAlert"`` -> :class:`SiemAlert`); keys in family order.
- :data:`RECORD_TYPES`: read-only mapping, table name -> ``<Table>Record``.
- :data:`DOCUMENTED_TYPES`: table name -> attribute -> documented type (a dict).
- :data:`ANNOTATIONS`: table name -> attribute -> annotation text of the struct field.
- :data:`STREAMED`: the tables whose records are streamed (documented or seen).
- :data:`SPELLINGS`: table name -> other spelling of a column -> its attribute.
- :data:`UNDOCUMENTED`: table name -> attributes of columns no doc lists (real records
  carry them; an Advanced Hunting query's schema does not have them, nor ``MachineGroup``).
- every struct and record class, by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._registry import ANNOTATIONS, DOCUMENTED_TYPES, FAMILY_OF, SPELLINGS, STREAMED, UNDOCUMENTED

if TYPE_CHECKING:
    from msgspec import Struct

    from ..record import Record
    from .agents import *  # noqa: F403
    from .alerts import *  # noqa: F403
    from .apps import *  # noqa: F403
    from .behavior import *  # noqa: F403
    from .cloud import *  # noqa: F403
    from .datasecurity import *  # noqa: F403
    from .device import *  # noqa: F403
    from .directory import *  # noqa: F403
    from .email import *  # noqa: F403
    from .exposure import *  # noqa: F403
    from .identity import *  # noqa: F403
    from .message import *  # noqa: F403
    from .siem import SiemAlert
    from .signin import *  # noqa: F403
    from .threats import *  # noqa: F403
    from .tvm import *  # noqa: F403

_T = TypeVar("_T")


def _family(table: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{FAMILY_OF[table]}")


class _LazyTypes(Mapping[str, _T], Generic[_T]):
    """A read-only ``{table name: type}`` mapping that imports a family module on first access."""

    __slots__ = ("_cache", "_names", "_suffix")

    def __init__(self, names: tuple[str, ...], suffix: str) -> None:
        self._names = dict.fromkeys(names)
        self._suffix = suffix
        self._cache: dict[str, _T] = {}

    def __getitem__(self, table: str) -> _T:
        value = self._cache.get(table)
        if value is None:
            if table not in self._names:
                raise KeyError(table)
            value = self._cache[table] = getattr(_family(table), table + self._suffix)
        return value

    def __contains__(self, table: object) -> bool:
        return table in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"<m365parse tables: {len(self)} {self._suffix or 'struct'} types, {len(self._cache)} built>"


#: Table name -> typed struct of its ``properties`` (``SiemAlert`` for SIEM alerts).
TABLES: Mapping[str, type[Struct]] = _LazyTypes(tuple(FAMILY_OF), "")
#: Table name -> record type decoded for ``AdvancedHunting-<table>``.
RECORD_TYPES: Mapping[str, type[Record]] = _LazyTypes(tuple(t for t in FAMILY_OF if t != "SiemAlert"), "Record")

_CLASS_FAMILY = {name: FAMILY_OF[table] for table in FAMILY_OF for name in (table, table + "Record")}
del _CLASS_FAMILY["SiemAlertRecord"]


def __getattr__(name: str) -> Any:
    family = _CLASS_FAMILY.get(name)
    if family is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{family}"), name)
    globals()[name] = value  # later look-ups do not come here again
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_CLASS_FAMILY})


__all__ = ["TABLES", "RECORD_TYPES", "DOCUMENTED_TYPES", "ANNOTATIONS", "STREAMED", "SPELLINGS", "UNDOCUMENTED", "SiemAlert"]
__all__ += [name for name in FAMILY_OF if name != "SiemAlert"]
__all__ += [name + "Record" for name in RECORD_TYPES]
