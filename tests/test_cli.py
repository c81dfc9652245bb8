"""The command line: python -m m365parse."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from m365parse.__main__ import run

from .conftest import body, record, vendor_samples


def _run(argv: list[str], stdin: bytes = b"") -> tuple[int, list[dict[str, object]], str]:
    out, err = io.BytesIO(), io.BytesIO()
    code = run(argv, out, err, io.BytesIO(stdin))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return code, lines, err.getvalue().decode()


def test_demo_decodes_every_table() -> None:
    code, lines, err = _run(["demo"])
    assert code == 0, err
    tables = {line["table"] for line in lines}
    from m365parse import TABLES
    from m365parse.api.records import API_RECORD_TYPES

    assert tables == set(TABLES) | set(API_RECORD_TYPES)
    assert err.strip().endswith(f"{len(lines)} records decoded, 0 failed")
    for line in lines:
        assert set(line) == {"table", "envelope", "properties", "extra"}


def test_files_and_stdin(tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    a.write_bytes(vendor_samples()[0])
    code, lines, err = _run([str(a), "-"], stdin=vendor_samples()[1])
    assert code == 0, err
    assert [line["table"] for line in lines] == ["DeviceEvents", "AlertInfo"]
    assert lines[0]["properties"]["Timestamp"] == "2021-07-21T00:55:44.2280946Z"
    assert lines[0]["envelope"]["time"] == "2021-07-21T00:57:23.0186119Z"


def test_problems_go_to_stderr_with_a_count_and_fail(tmp_path: Path) -> None:
    data = body(record(ProcessId=1), "not a record", record("FutureBehaviorInfo", A=1))
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"this is not json")
    code, lines, err = _run(["-", str(bad), str(tmp_path / "missing.json")], stdin=data)
    assert code == 1
    assert [line["table"] for line in lines] == ["DeviceProcessEvents", "FutureBehaviorInfo"]
    assert "<stdin>: record 1: expected a JSON object" in err
    assert f"{bad}: expected a JSON object" in err
    assert "missing.json: cannot read" in err
    assert err.strip().endswith("2 records decoded, 3 failed")


def test_module_entry_point_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "m365parse"], input=vendor_samples()[2], capture_output=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    out = json.loads(line)
    assert out["table"] == "SiemAlert"
    assert out["properties"]["UserName"] == "qradar1"
    assert out["extra"]["AlertPart"] == "<AlertPart>"


def test_usage_error_exit_status() -> None:
    code, _, _ = _run(["--no-such-option"])
    assert code == 2
