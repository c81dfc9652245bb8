"""`import m365parse` loads the decoder on first use; every module can be imported first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import m365parse

MODULES = [
    "m365parse.shapes",
    "m365parse.shapes.hunting",
    "m365parse.shapes.stream",
    "m365parse.shapes.siem",
    "m365parse.shapes.alerts",
    "m365parse.shapes.export",
    "m365parse._decode",
    "m365parse._lines",
    "m365parse.tables",
    "m365parse.api",
    "m365parse.mappings",
    "m365parse.record",
]


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.parametrize("module", MODULES)
def test_any_module_imported_first_then_decode_works(module: str) -> None:
    sample = str(Path(m365parse.__file__).resolve().parent / "samples" / "DeviceProcessEvents.json")
    code = f"import {module}\nimport m365parse\nprint(m365parse.decode(open({sample!r}, 'rb').read()).records[0].table)"
    assert _run(code) == "DeviceProcessEvents"


def test_import_loads_the_decoder_on_first_use() -> None:
    code = (
        "import sys, m365parse\n"
        "print(sorted(m for m in ('m365parse._decode', 'm365parse.shapes', 'm365parse.mappings', 'm365parse.tables') "
        "if m in sys.modules))\n"
        "from m365parse import decode, JsonLinesDecoder, normalize, normalize_batch, registry, RuleSet, TABLES\n"
        "print(decode is m365parse.decode is sys.modules['m365parse._decode'].decode, 'DeviceEvents' in TABLES)"
    )
    assert _run(code).splitlines() == ["[]", "True True"]


def test_every_public_name_resolves() -> None:
    for name in m365parse.__all__:
        assert getattr(m365parse, name) is not None
        assert name in dir(m365parse)
    with pytest.raises(AttributeError):
        m365parse.no_such_name


@pytest.mark.parametrize(
    "sample",
    [
        "api/GraphAlertPage.json",
        "api/GraphIncidentPage.json",
        "api/HuntingGraph.json",
        "api/HuntingMde.json",
        "api/HuntingXdr.json",
        "api/LogAnalyticsExport.json",
        "api/MdeAlertPage.json",
        "api/XdrAlert.json",
        "api/XdrIncidentPage.json",
        "SiemAlert.json",
        "DeviceEvents.json",
    ],
)
def test_every_shape_decodes_on_the_first_call(sample: str) -> None:
    path = Path(m365parse.__file__).resolve().parent / "samples" / sample
    expected = m365parse.decode(path.read_bytes())
    assert expected.records and not expected.errors
    code = (
        f"import m365parse\nb = m365parse.decode(open({str(path)!r}, 'rb').read())\n"
        "print(len(b.records), len(b.errors), sorted({r.table for r in b.records}))"
    )
    assert _run(code) == f"{len(expected.records)} 0 {sorted({r.table for r in expected.records})}"


def test_every_public_name_is_documented() -> None:
    # The classes and functions each public module exports (its __all__), and their public
    # methods and properties, have a docstring (modules of an extra that is not installed aside).
    import importlib
    import inspect
    import pkgutil

    missing = []
    for info in pkgutil.walk_packages(m365parse.__path__, "m365parse."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not (obj.__doc__ or "").strip():
                missing.append(f"{info.name}.{name}")
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    if attr.startswith("_") or not (inspect.isfunction(value) or isinstance(value, property)):
                        continue
                    if not (value.__doc__ or "").strip():
                        missing.append(f"{info.name}.{name}.{attr}")
    assert missing == []
