"""Objects the polled APIs send that are not records, recognised so that their error says what they are.

- an API error body ``{"error": {"code", "message", "target"}}`` (API-NOTES section 7);
- a Graph legacy alert (``GET /security/alerts``: ``vendorInformation``, ``azureTenantId``,
  ``eventDateTime``), an API that ``alerts_v2`` replaced and this library does not decode.

Each becomes an :class:`m365parse.InvalidRecord` whose reason names it.
"""

from __future__ import annotations

from typing import Any

from ..record import Record
from . import Reject, Shape

__all__ = ["ERROR_BODY", "LEGACY_ALERT"]


def _is_error(value: dict[str, Any]) -> bool:
    error = value.get("error")
    return len(value) == 1 and isinstance(error, dict) and ("code" in error or "message" in error)


def _error(value: dict[str, Any], raw: Any, path: str) -> Record:
    error = value["error"]
    raise Reject(path, f"an error response of the API, not a record: {error.get('code')}: {error.get('message')}")


def _is_legacy(value: dict[str, Any]) -> bool:
    return "vendorInformation" in value and "azureTenantId" in value and "eventDateTime" in value


def _legacy(value: dict[str, Any], raw: Any, path: str) -> Record:
    raise Reject(path, "a Graph legacy alert (security/alerts), which this library does not decode: poll alerts_v2")


ERROR_BODY: Shape = Shape(name="api-error", kinds=(), recognise=_is_error, build=_error)
LEGACY_ALERT: Shape = Shape(name="graph-legacy-alert", kinds=(), recognise=_is_legacy, build=_legacy)
