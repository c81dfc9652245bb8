"""Benchmark shapes of the polled APIs: Graph alert pages and advanced hunting responses.

``graph``: OData pages of Graph security alerts (``security/alerts_v2``), built
from the built-in sample alerts with their ids, timestamps and evidence varied;
``hunting``: Defender XDR advanced hunting responses (``Stats``, ``Schema``,
``Results``) of process rows, 14 columns that are no table's (each row a
``HuntingRecord`` around a struct built for the schema); ``hunting-table``: Defender
for Endpoint hunting responses (``Schema``, ``Results``) of ``AlertInfo`` rows, all of
its 8 columns (each row an ``AlertInfoRecord`` around the table's struct): the
narrowest rows a whole-table query gives; ``hunting-narrow``: Defender for Endpoint
hunting responses of a query that projects 2 short columns of ``AlertInfo``
(``AlertId``, ``Severity``; each row a ``HuntingRecord``), where the record made
around each row weighs most.  The ceiling of each is one msgspec decode of a unit into the very
structs ``decode()`` produces (the page struct of :class:`m365parse.api.GraphAlert`;
the row struct of the response's schema).
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import msgspec

__all__ = ["SHAPES", "encode", "ceiling"]

#: Shape name -> what a unit of input is.
SHAPES = {
    "graph": "Graph security alert pages {\"@odata.context\", \"value\": [...], \"@odata.nextLink\"}",
    "hunting": "Defender XDR advanced hunting responses {\"Stats\", \"Schema\", \"Results\": [...]}",
    "hunting-table": "Defender for Endpoint hunting responses of AlertInfo rows {\"Schema\", \"Results\": [...]}",
    "hunting-narrow": "Defender for Endpoint hunting responses of 2 projected columns {\"Schema\", \"Results\": [...]}",
}

_SCHEMA = [
    {"Name": "Timestamp", "Type": "DateTime"},
    {"Name": "DeviceId", "Type": "String"},
    {"Name": "DeviceName", "Type": "String"},
    {"Name": "ActionType", "Type": "String"},
    {"Name": "FileName", "Type": "String"},
    {"Name": "FolderPath", "Type": "String"},
    {"Name": "SHA256", "Type": "String"},
    {"Name": "ProcessId", "Type": "Int64"},
    {"Name": "ProcessCommandLine", "Type": "String"},
    {"Name": "AccountName", "Type": "String"},
    {"Name": "InitiatingProcessFileName", "Type": "String"},
    {"Name": "InitiatingProcessId", "Type": "Int64"},
    {"Name": "IsRemote", "Type": "SByte"},
    {"Name": "Score", "Type": "Double"},
]
_STATS = {"ExecutionTime": 1.25, "resource_usage": {"cache": {"memory": None, "disk": None}}, "dataset_statistics": []}


#: The columns advanced hunting returns for AlertInfo (a whole-table query).
_ALERT_INFO = [
    {"Name": name, "Type": "DateTime" if name == "Timestamp" else "String"}
    for name in (
        "Timestamp",
        "AlertId",
        "Title",
        "Category",
        "Severity",
        "ServiceSource",
        "DetectionSource",
        "AttackTechniques",
    )
]


#: A query that projects two short columns (``AlertInfo | project AlertId, Severity``).
_NARROW = [{"Name": "AlertId", "Type": "String"}, {"Name": "Severity", "Type": "String"}]


def _alert_id(rng: random.Random) -> str:
    return f"da{rng.getrandbits(60)}_{rng.randint(-(2**31), 2**31)}"


def _narrow_row(rng: random.Random) -> dict[str, Any]:
    return {"AlertId": _alert_id(rng), "Severity": rng.choice(["Low", "High"])}


def _alert_row(rng: random.Random) -> dict[str, Any]:
    return {
        "Timestamp": _time(rng),
        "AlertId": _alert_id(rng),
        "Title": rng.choice(["Suspicious PowerShell command line", "Malicious URL removed after delivery"]),
        "Category": rng.choice(["Execution", "InitialAccess", "CredentialAccess"]),
        "Severity": rng.choice(["Low", "Medium", "High"]),
        "ServiceSource": rng.choice(["Microsoft Defender for Endpoint", "Microsoft Defender for Office 365"]),
        "DetectionSource": rng.choice(["EDR", "Antivirus", "Microsoft Defender for Office 365"]),
        "AttackTechniques": rng.choice(['["PowerShell (T1059.001)"]', '["Phishing (T1566)"]', "[]"]),
    }


def _time(rng: random.Random) -> str:
    digits = rng.choice([0, 2, 3, 5, 6, 7, 7, 7])
    frac = f".{rng.randrange(10**digits):0{digits}d}" if digits else ""
    return f"2026-07-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}{frac}Z"


def _alerts() -> list[dict[str, Any]]:
    page = resources.files("m365parse").joinpath("samples/api/GraphAlertPage.json").read_bytes()
    return list(json.loads(page)["value"])


def _vary(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        return {k: _vary(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [_vary(v, rng) for v in value]
    if isinstance(value, str) and value[:4].isdigit() and value.endswith("Z") and "T" in value:
        return _time(rng)
    return value


def _alert(rng: random.Random, templates: list[dict[str, Any]]) -> dict[str, Any]:
    alert: dict[str, Any] = _vary(copy.deepcopy(rng.choice(templates)), rng)
    guid = f"{rng.getrandbits(128):032x}"
    alert["providerAlertId"] = guid
    alert["id"] = "da" + guid
    alert["incidentId"] = str(rng.randint(1000, 99999))
    return alert


def _row(rng: random.Random) -> dict[str, Any]:
    return {
        "Timestamp": _time(rng),
        "DeviceId": f"{rng.getrandbits(160):040x}",
        "DeviceName": f"ws-{rng.randint(1, 9999):04d}.contoso.com",
        "ActionType": rng.choice(["ProcessCreated", "OpenProcessApiCall"]),
        "FileName": rng.choice(["powershell.exe", "cmd.exe", "rundll32.exe", "svchost.exe"]),
        "FolderPath": "C:\\Windows\\System32",
        "SHA256": f"{rng.getrandbits(256):064x}",
        "ProcessId": rng.randint(4, 65535),
        "ProcessCommandLine": f"cmd.exe /c echo {rng.randint(0, 10**6)}",
        "AccountName": rng.choice(["jdoe", "system", "svc-backup"]),
        "InitiatingProcessFileName": "explorer.exe",
        "InitiatingProcessId": rng.randint(4, 65535),
        "IsRemote": rng.randint(0, 1),
        "Score": rng.random() * 10,
    }


def encode(shape: str, records: int, batch_size: int, seed: int = 1) -> Iterator[bytes]:
    """Units of ``batch_size`` alerts (one page each) or rows (one response each), one line each."""
    rng = random.Random(seed)
    templates = _alerts()
    left = records
    page = 0
    while left > 0:
        n = min(batch_size, left)
        left -= n
        page += 1
        if shape == "graph":
            body = {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2",
                "value": [_alert(rng, templates) for _ in range(n)],
                "@odata.nextLink": f"https://graph.microsoft.com/v1.0/security/alerts_v2?$skiptoken={page}",
            }
        elif shape == "hunting":
            body = {"Stats": _STATS, "Schema": _SCHEMA, "Results": [_row(rng) for _ in range(n)]}
        elif shape == "hunting-table":
            body = {"Schema": _ALERT_INFO, "Results": [_alert_row(rng) for _ in range(n)]}
        elif shape == "hunting-narrow":
            body = {"Schema": _NARROW, "Results": [_narrow_row(rng) for _ in range(n)]}
        else:
            raise ValueError(f"unknown shape {shape!r}")
        yield msgspec.json.encode(body)


def ceiling(shape: str) -> tuple[Callable[[bytes], Any], Callable[[Any], int]]:
    """One msgspec decode of a unit into the structs decode() produces, nothing else."""
    if shape == "graph":
        from m365parse.api import GraphAlert
        from m365parse.shapes.odata import page_type

        page = msgspec.json.Decoder(page_type(GraphAlert, "Page"))
        return page.decode, lambda result: len(result.value)
    from m365parse.shapes.hunting import row_type

    schema = {"hunting-table": _ALERT_INFO, "hunting-narrow": _NARROW}.get(shape, _SCHEMA)
    row = row_type(tuple((c["Name"], c["Type"]) for c in schema), False).struct
    response = msgspec.defstruct("Response", [("Stats", Any, None), ("Schema", Any, None), ("Results", list[row], [])])  # type: ignore[valid-type]
    decoder = msgspec.json.Decoder(response, strict=False)
    return decoder.decode, lambda result: len(result.Results)
