"""Shared helpers of the test suite."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "reference"
VENDOR_GUIDE = Path(__file__).resolve().parent / "data" / "jsa-m365-defender-dsm.txt"


def record(table: str = "DeviceProcessEvents", **props: Any) -> dict[str, Any]:
    """A streamed record as a dict."""
    return {
        "time": "2024-05-14T08:44:14.9047460Z",
        "tenantId": "0f7c3a1e-0000-4000-8000-000000000001",
        "operationName": "Publish",
        "category": f"AdvancedHunting-{table}",
        "properties": props,
    }


def body(*records: dict[str, Any]) -> bytes:
    """An Event Hubs message body."""
    return json.dumps({"records": list(records)}).encode()


def vendor_samples() -> list[bytes]:
    """The vendor guide's four sample events, with the page layout's line breaks removed."""
    text = VENDOR_GUIDE.read_text(encoding="utf-8")
    found = re.findall(r"content_copy zoom_out_map\n(.*?)\nTable \d+:", text, re.S)
    samples = []
    for chunk in found:
        joined = chunk.replace("\r", "").replace("\n", "")
        samples.append(joined[joined.index("{") : joined.rindex("}") + 1].encode())
    return samples


@pytest.fixture(autouse=True)
def _nothing_learned() -> None:
    """Each test starts with no undeclared column learned (``m365parse.shapes.stream._Learned``):
    a record with a new column takes the per-record path until the test itself teaches it."""
    from m365parse.shapes import stream

    stream._LEARNED.forget()


@pytest.fixture
def samples() -> list[bytes]:
    return vendor_samples()
