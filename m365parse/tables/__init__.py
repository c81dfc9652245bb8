"""Typed structs of the Advanced Hunting tables and of the SIEM REST API alert.

One :class:`msgspec.Struct` per table, named as the table, with one optional
attribute per column named exactly as Microsoft's column (``InitiatingProcessId``),
and one ``<Table>Record`` per table for the streamed record around it.  The
modules of this package are generated from ``schema/`` by ``_generate.py``.
"""

from ._registry import DOCUMENTED_TYPES, RECORD_TYPES, TABLES
from .alerts import *  # noqa: F403
from .apps import *  # noqa: F403
from .device import *  # noqa: F403
from .email import *  # noqa: F403
from .identity import *  # noqa: F403
from .siem import SiemAlert

__all__ = ["TABLES", "RECORD_TYPES", "DOCUMENTED_TYPES", "SiemAlert"]
__all__ += [name for name in TABLES if name != "SiemAlert"]
__all__ += [name + "Record" for name in RECORD_TYPES]
