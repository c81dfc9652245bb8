"""Typed structs of the polled Defender APIs: Microsoft Graph security, Defender for Endpoint, Defender XDR.

The modules of this package are generated from the reference tables in
``schema/`` by ``_generate.py``; :func:`m365parse.decode` decodes API responses
into them (see ``m365parse/shapes/``).
"""

from .graph import EVIDENCE_TYPES, Evidence, GraphAlert, GraphIncident, GraphManualAlert
from .mde import MdeAlert
from .records import API_RECORD_TYPES
from .xdr import XdrAlert, XdrIncident

__all__ = [
    "GraphAlert",
    "GraphIncident",
    "GraphManualAlert",
    "Evidence",
    "EVIDENCE_TYPES",
    "MdeAlert",
    "XdrIncident",
    "XdrAlert",
    "API_RECORD_TYPES",
]
