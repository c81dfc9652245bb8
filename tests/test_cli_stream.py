"""The command line as a main job: streaming, writing, options, pipes (mostly the real command)."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

import m365parse
from m365parse import registry
from m365parse.__main__ import JsonLinesWriter, is_json_lines, read_batches, run
from m365parse._output import _all_canonical, _is_canonical, encode_lines, record_bytes, record_lines

from .conftest import ROOT, body, record

GOLDEN = ROOT / "tests" / "golden"
SAMPLES = ROOT / "m365parse" / "samples"
#: The demo's inputs, in its order: the table samples, then the polled APIs' shapes.
DEMO_FILES = sorted(SAMPLES.glob("*.json")) + sorted(SAMPLES.glob("api/*.json"))


def _cli(*args: str, stdin: bytes = b"", timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "m365parse", *args], input=stdin, capture_output=True, timeout=timeout, check=False
    )


def _reference(data: bytes) -> bytes:
    """What the command line must write for ``data``: every record's to_dict(), one per line."""
    return b"".join(msgspec.json.encode(r.to_dict()) + b"\n" for r in m365parse.decode(data).records)


def _generated(n: int, seed: int = 3) -> bytes:
    from benchmarks.data import encode_units, join_units

    return join_units("lines", list(encode_units("lines", n, 100, seed)))


# --- the writer: same JSON as to_dict(), exact timestamps ----------------------------------


def _all_inputs() -> list[Path]:
    return sorted(GOLDEN.glob("*/*.input.*")) + sorted(SAMPLES.glob("*.json"))


@pytest.mark.parametrize("path", _all_inputs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_record_lines_encode_as_to_dict(path: Path) -> None:
    batch = m365parse.decode(path.read_bytes())
    expected = [r.to_dict() for r in batch.records]
    got = encode_lines(record_lines(batch.records))
    assert got == b"".join(msgspec.json.encode(d) + b"\n" for d in expected)


TIMES = [
    "2024-05-14T08:44:14.9047469Z",  # 7 digits, rounds up
    "2024-05-14T08:44:14.9999996Z",  # rounding carries into the next second
    "2024-05-14T08:44:14Z",
    "2024-05-14T08:44:14.5Z",
    "2024-05-14T08:44:14.500Z",  # trailing zeros: not canonical
    "2024-05-14T08:44:14.123456789Z",
    "2024-05-14 08:44:14.9047460Z",
    "2024-05-14t08:44:14.9047460z",
    "2024-05-14T10:44:14.9047465+02:00",
    "2024-05-14T08:44:14.9047460",  # no zone: UTC
    "2024-05-14T08:44:14.0000001Z",
]


def test_envelope_values_that_did_not_fit_come_after_the_known_keys() -> None:
    rec = record(ProcessId=1)
    rec["time"] = "not a time"
    rec["Tenant"] = 5
    rec["newKey"] = [1]
    data = (json.dumps(rec) + "\n" + json.dumps(record(ProcessId=2)) + "\n").encode()
    batch = m365parse.decode(data)
    got = encode_lines(record_lines(batch.records))
    assert got == _reference(data)
    assert list(json.loads(got.splitlines()[0])["envelope"])[-3:] == ["time", "Tenant", "newKey"]


@pytest.mark.parametrize("text", TIMES)
@pytest.mark.parametrize("shape", ["lines", "body"])
def test_every_timestamp_form_is_written_as_to_dict_writes_it(text: str, shape: str) -> None:
    rec = record(Timestamp=text, ProcessCreationTime=text, ProcessId=4)
    rec["time"] = text
    rec["_TimeReceivedBySvc"] = text
    data = body(rec, rec) if shape == "body" else (json.dumps(rec) + "\n" + json.dumps(rec) + "\n").encode()
    batch = m365parse.decode(data)
    assert len(batch.records) == 2
    exact = m365parse._values.exact_iso(batch.records[0], "Timestamp")
    got = encode_lines(record_lines(batch.records))
    assert got == _reference(data)
    line = json.loads(got.splitlines()[0])
    assert line["properties"]["Timestamp"] == exact


def test_a_batch_mixing_timestamp_forms_and_empty_columns_is_written_as_to_dict_writes_it() -> None:
    """One text that is not canonical makes the batch check fail: each text is then checked on its own."""
    zoned = [text for text in TIMES if text[-1] in "Zz" or "+" in text]  # no zone: not the one-pass decode
    recs = []
    for i, text in enumerate(zoned * 2):
        rec = record(Timestamp=TIMES[0], ProcessCreationTime=text, ProcessId=i)
        rec["time"] = zoned[(i + 3) % len(zoned)]
        if i % 3 == 0:
            rec["properties"]["InitiatingProcessCreationTime"] = "null"  # lax mode: None; the view has the text
        if i % 4 == 0:
            rec["properties"]["ProcessCreationTime"] = None
        recs.append(rec)
    data = "".join(json.dumps(rec) + "\n" for rec in recs).encode()
    batch = m365parse.decode(data)
    assert len(batch.records) == len(recs)
    assert len({id(r._source()[0]) for r in batch.records}) == 1  # decoded in one pass: one origin
    assert encode_lines(record_lines(batch.records)) == _reference(data)
    canonical = "".join(json.dumps(record(Timestamp=TIMES[0], ProcessId=i)) + "\n" for i in range(5)).encode()
    assert encode_lines(record_lines(m365parse.decode(canonical).records)) == _reference(canonical)


@pytest.mark.parametrize(
    "texts",
    [
        [],
        TIMES,
        *([text] for text in TIMES),
        [TIMES[0], TIMES[2], TIMES[5], "2024-05-14T08:44:14.12Z"],
        ["2024-05-14T08:44:10Z", "2024-05-14T08:44:14.1234567Z"],  # a 0 before Z is fine without a fraction
        ["2024-05-14T08:44:14.1234567Z", None],
        ["2024-05-14T08:44:14.1234567Z", 1715676254],
        ["2024-05-14T08:44:14.1234567Z", ["2024-05-14T08:44:14.1234567Z"]],
        ["2024-05-14T08:44:14.Z", "2024-05-14T08:44:14.1234567891Z", "2024-05-14"],
        ["2024-05-14T08:44:14.1234567Z", "2024-05-14T08:44:1.12345678Z"],
    ],
)
def test_the_batch_check_of_timestamp_texts_agrees_with_the_check_of_each(texts: list[Any]) -> None:
    assert _all_canonical(list(texts)) == all(_is_canonical(text) for text in texts)


def test_record_lines_takes_the_fast_path_for_streamed_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only SIEM alerts, unknown tables and records without an origin cost a to_dict()."""
    batch = m365parse.decode(_generated(50))

    def fail(self: Any) -> Any:
        raise AssertionError("to_dict() called: the fast path of record_lines() is not taken")

    monkeypatch.setattr(m365parse.Record, "to_dict", fail)
    assert len(record_lines(batch.records)) == 50


def test_a_record_that_cannot_be_encoded_is_reported_and_the_others_written() -> None:
    data = (json.dumps(record(FileName="a.exe")) + "\n") * 3
    batch = m365parse.decode(data.encode())
    batch.records[1].properties.FileName = object()  # no JSON holds it
    out = io.BytesIO()
    failed = JsonLinesWriter(out).write(batch.records)
    assert [pos for pos, _ in failed] == [1]
    assert "cannot be written as JSON" in failed[0][1]
    assert len(out.getvalue().splitlines()) == 2


def test_a_lone_surrogate_is_written_as_an_escape() -> None:
    data = (json.dumps(record(FileName="a.exe")) + "\n") * 3
    batch = m365parse.decode(data.encode())
    batch.records[1].properties.FileName = "bad \ud800 surrogate"  # what issue 15's input can hold
    out = io.BytesIO()
    assert JsonLinesWriter(out).write(batch.records) == []
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and b'"bad \\ud800 surrogate"' in lines[1]
    assert json.loads(lines[1])["properties"]["FileName"] == "bad \ud800 surrogate"
    assert record_bytes(batch.records[1]) == data.splitlines()[1].encode()


def test_a_record_the_rule_set_fails_on_is_reported_and_the_others_written() -> None:
    def explode(rec: Any) -> Any:
        if rec.properties.ProcessId == 2:
            raise RuntimeError("boom")
        return rec.properties.ProcessId

    rules = m365parse.RuleSet("test-explode", {"*": {"pid": {"call": explode}}})
    batch = m365parse.decode(b"".join(json.dumps(record(ProcessId=i)).encode() + b"\n" for i in range(4)))
    out = io.BytesIO()
    failed = JsonLinesWriter(out, rules).write(batch.records)
    assert [pos for pos, _ in failed] == [2] and "boom" in failed[0][1]
    assert [json.loads(line)["pid"] for line in out.getvalue().splitlines()] == [0, 1, 3]


@pytest.mark.parametrize("shape", ["lines", "body", "array", "bodies", "one"])
def test_record_bytes_finds_the_input_bytes_of_a_record(shape: str) -> None:
    recs = [record(ProcessId=i) for i in range(3)]
    lines = [json.dumps(r).encode() for r in recs]
    data = {
        "lines": b"\n".join(lines),
        "body": body(*recs),
        "array": b"[" + b",".join(lines) + b"]",
        "bodies": body(recs[0]) + b"\n" + body(recs[1], recs[2]) + b"\n",
        "one": json.dumps(recs[0], indent=2).encode(),
    }[shape]
    batch = m365parse.decode(data)
    for i, rec in enumerate(batch.records):
        assert json.loads(record_bytes(rec) or b"null") == recs[i]


# --- shapes and the streaming loop ---------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"category": "x", "properties": {}}', True),
        (b'{"records": [{"category": "x"}]}', True),
        (b'{"category": "x", broken}', True),  # a bad first record of a stream
        (b"{", False),  # pretty-printed
        (b'{"records": [', False),
        (b"[", False),
        (b'[{"a": 1}]', False),
    ],
)
def test_shape_is_told_from_the_first_line(line: bytes, expected: bool) -> None:
    assert is_json_lines(line) is expected


def _shapes() -> dict[str, bytes]:
    recs = [record(ProcessId=i, Timestamp=f"2024-05-14T08:44:14.904746{i}Z") for i in range(4)]
    lines = b"".join(json.dumps(r).encode() + b"\n" for r in recs)
    return {
        "lines": lines,
        "lines-crlf-bom-blank": b"\xef\xbb\xbf\r\n\n" + lines.replace(b"\n", b"\r\n"),
        "lines-no-final-newline": lines.rstrip(b"\n"),
        "lines-broken-first": b'{"category": broken}\n' + lines,
        "body": body(*recs),
        "bodies": body(recs[0]) + b"\n" + body(*recs[1:]) + b"\n",
        "array": json.dumps(recs).encode(),
        "pretty-array": json.dumps(recs, indent=2).encode(),
        "pretty-record": json.dumps(recs[0], indent=2).encode(),
        "pretty-body": json.dumps({"records": recs}, indent=1).encode(),
        "siem": json.dumps([{"AlertId": "a1", "AlertTime": "2024-05-14T08:44:14.9047461Z"}]).encode(),
        "empty": b"",
        "blank": b"\n \n",
    }


@pytest.mark.parametrize("chunk", [1, 7, 4096])
@pytest.mark.parametrize("name", list(_shapes()))
def test_every_shape_streams_to_what_decode_gives(name: str, chunk: int) -> None:
    data = _shapes()[name]
    batches = list(read_batches(io.BytesIO(data), chunk_bytes=chunk))
    records = [r for batch, _ in batches for r in batch.records]
    errors = [e for batch, _ in batches for e in batch.errors]
    expected = m365parse.decode(data)
    assert [r.to_dict() for r in records] == [r.to_dict() for r in expected.records]
    assert [e.index for e in errors] == [e.index for e in expected.errors]
    for batch, first in batches:  # each batch says where it starts
        assert first == min([e.index for e in batch.errors] + [first])


def test_json_lines_are_streamed_not_read_whole() -> None:
    data = _generated(300)
    reads: list[int] = []
    batches = read_batches(io.BytesIO(data), chunk_bytes=64 * 1024, max_document_bytes=100_000, on_read=reads.append)
    first, _ = next(batches)
    assert sum(reads) < 3 * 64 * 1024 < len(data)  # the first batch came before the input was read
    total = len(first.records) + sum(len(b.records) for b, _ in batches)
    assert total == 300


def test_a_document_larger_than_the_limit_fails_clearly(tmp_path: Path) -> None:
    doc = tmp_path / "big.json"
    doc.write_bytes(json.dumps({"records": [record(ProcessId=i) for i in range(200)]}, indent=1).encode())
    lines = tmp_path / "big.jsonl"
    lines.write_bytes(b"".join(json.dumps(record(ProcessId=i)).encode() + b"\n" for i in range(200)))
    proc = _cli("--max-document-size", "16K", str(doc), str(lines))
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert f"{doc}: a single JSON document (not JSON lines) larger than --max-document-size (16 KiB)" in err
    assert len(proc.stdout.splitlines()) == 200  # JSON lines of any size stream past the limit
    assert "200 records decoded, 1 failed" in err
    piped = _cli("--max-document-size", "16K", stdin=doc.read_bytes())  # size unknown: stops reading at the limit
    assert piped.returncode == 1 and b"larger than --max-document-size" in piped.stderr
    assert _cli("--max-document-size", "1M", str(doc)).returncode == 0
    assert _cli("--max-document-size", "lots").returncode == 2


# --- the real command -------------------------------------------------------------------


def test_stdin_streams_json_lines() -> None:
    data = _generated(120)
    proc = _cli("-", stdin=data)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == _reference(data)
    assert proc.stderr.decode().strip() == "120 records decoded, 0 failed"


def test_head_closes_the_pipe_quietly(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_bytes(_generated(1500))  # about 4 MB of output: far more than a pipe holds
    proc = subprocess.Popen(
        [sys.executable, "-m", "m365parse", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    status = proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    assert json.loads(first)["table"]
    assert status == 141, err
    assert err == ""  # no traceback, no "Exception ignored", no count


def test_head_in_a_shell_pipeline(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_bytes(_generated(1500))
    script = f'"{sys.executable}" -m m365parse "{big}" 2>"{tmp_path}/err" | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}'
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert proc.stdout.strip() == "141"
    assert (tmp_path / "err").read_text() == ""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_without_a_traceback() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "m365parse"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A shell's background job ignores SIGINT, and so would Python started from it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(json.dumps(record(ProcessId=1)).encode() + b"\n")
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["table"] == "DeviceProcessEvents"  # the loop runs, waiting for more
    proc.send_signal(signal.SIGINT)
    status = proc.wait(timeout=30)
    err = proc.stderr.read().decode()
    proc.stdin.close()
    assert status == 130, err
    assert "Traceback" not in err
    assert err.endswith("failed (interrupted)\n")


def test_errors_file_accounts_for_every_broken_line(tmp_path: Path) -> None:
    good = [json.dumps(record(ProcessId=i)).encode() for i in range(5)]
    broken = [
        b'{"category": "AdvancedHunting-DeviceProcessEvents", "properties": {"ProcessId": 1',  # cut
        b"\xff\xfe not utf-8 \x80",
        b'"a string, not a record"',
        b'{"category": 7, "properties": {}}',
        b'{"no": "category"}',
    ]
    lines = [good[0], broken[0], good[1], broken[1], good[2], broken[2], broken[3], good[3], broken[4], good[4]]
    src = tmp_path / "mixed.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    errors = tmp_path / "errors.jsonl"
    proc = _cli("--errors", str(errors), str(src))
    assert proc.returncode == 1
    assert len(proc.stdout.splitlines()) == 5
    failed = [json.loads(line) for line in errors.read_bytes().splitlines()]
    assert [f["index"] for f in failed] == [1, 3, 5, 6, 8]
    for f, raw in zip(failed, broken, strict=True):
        assert f["input"] == str(src)
        assert f["path"].startswith("$") and f["reason"]
        kept = f["raw"].encode() if "raw" in f else base64.b64decode(f["raw_base64"])
        assert kept == raw
    assert "raw_base64" in failed[1] and "raw" not in failed[1]
    assert "5 records decoded, 5 failed" in proc.stderr.decode()
    quiet = _cli("--errors", str(errors), "--quiet", str(src))
    assert quiet.returncode == 1 and quiet.stderr == b""
    assert len(errors.read_bytes().splitlines()) == 5


def test_errors_file_keeps_inputs_that_failed_whole(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"this is not json")
    errors = tmp_path / "errors.jsonl"
    proc = _cli("--errors", str(errors), str(bad), str(tmp_path / "missing.json"))
    assert proc.returncode == 1
    first, second = (json.loads(line) for line in errors.read_bytes().splitlines())
    assert first["index"] is None and first["raw"] == "this is not json"
    assert second["reason"].startswith("cannot read") and "raw" not in second
    assert _cli("--errors", str(tmp_path / "no" / "such" / "dir.jsonl")).returncode == 2


@pytest.mark.parametrize("name", registry.names())
def test_normalize_with_every_rule_set(name: str) -> None:
    proc = _cli("demo", "--normalize", name)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    records = [r for p in DEMO_FILES for r in m365parse.decode(p.read_bytes()).records]
    assert len(events) == len(records)
    expected = m365parse.normalize_batch(records, name)
    assert events == [json.loads(encode_lines([e])) for e in expected]
    assert "ExactDatetime" not in proc.stdout.decode()


def test_normalized_timestamps_keep_every_digit() -> None:
    data = json.dumps(record(Timestamp="2024-05-14T08:44:14.9047469Z", ProcessId=1)).encode()
    for name in ("jsa", "ecs"):
        proc = _cli("--normalize", name, stdin=data)
        assert proc.returncode == 0, proc.stderr
        assert b"2024-05-14T08:44:14.9047469Z" in proc.stdout, name


def test_unknown_rule_set_is_a_usage_error_listing_the_names() -> None:
    proc = _cli("demo", "--normalize", "nope")
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "--normalize: rule set 'nope': no rule set named 'nope'" in err
    for name in registry.names():
        assert name in err
    assert proc.stdout == b""


def test_table_keeps_only_those_tables_and_stats_counts() -> None:
    proc = _cli("demo", "--table", "DeviceEvents", "--table", "SiemAlert", "--stats")
    assert proc.returncode == 0, proc.stderr
    tables = [json.loads(line)["table"] for line in proc.stdout.splitlines()]
    assert set(tables) == {"DeviceEvents", "SiemAlert"}
    err = proc.stderr.decode()
    n_demo = sum(len(m365parse.decode(p.read_bytes()).records) for p in DEMO_FILES)
    skipped = n_demo - len(tables)
    assert f"{len(tables)} records decoded, 0 failed, {skipped} of other tables skipped" in err
    assert f"{tables.count('DeviceEvents'):>10}  DeviceEvents" in err
    assert f"{skipped:>10}  (other tables, skipped by --table)" in err
    assert "errors per reason:\n  (none)" in err


def test_table_of_a_name_m365parse_does_not_know() -> None:
    data = (json.dumps(record("BrandNewTable", A=1)) + "\n" + json.dumps(record(ProcessId=1)) + "\n").encode()
    proc = _cli("--table", "BrandNewTable", stdin=data)
    assert proc.returncode == 0
    assert [json.loads(line)["table"] for line in proc.stdout.splitlines()] == ["BrandNewTable"]
    assert "note: 'BrandNewTable' is not a table m365parse knows" in proc.stderr.decode()


def test_stats_counts_errors_per_reason(tmp_path: Path) -> None:
    src = tmp_path / "mixed.jsonl"
    src.write_bytes(
        json.dumps(record(ProcessId=1)).encode()
        + b"\n{bad\n{worse\n"
        + json.dumps(record("AlertInfo")).encode()
        + b"\n"
        + json.dumps(record("BrandNewTable", A=1)).encode()
    )
    proc = _cli("--stats", "--quiet", str(src))
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert err.startswith("records written per table:\n")
    assert "         1  AlertInfo" in err and "         1  DeviceProcessEvents" in err
    assert "         2  not JSON" in err
    assert "         1  BrandNewTable" in err  # records of tables m365parse does not know are counted too
    assert "records decoded" not in err  # --quiet


def test_demo_still_runs_and_takes_the_options() -> None:
    plain = _cli("demo")
    assert plain.returncode == 0
    assert len(plain.stdout.splitlines()) == len([1 for _ in plain.stdout.splitlines()]) > 0
    quiet = _cli("demo", "-q")
    assert quiet.stderr == b"" and quiet.stdout == plain.stdout


def test_help_documents_the_exit_statuses() -> None:
    proc = _cli("--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.decode().split())
    for status in ("0 all records written", "1 a record or an input failed", "2 usage error", "130", "141"):
        assert status in text


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_progress_on_a_terminal_only(tmp_path: Path) -> None:
    import pty  # noqa: F401 - POSIX only

    big = tmp_path / "big.jsonl"
    big.write_bytes(_generated(4000))  # about 10 MB: above the progress threshold
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "m365parse", str(big)], stdout=subprocess.DEVNULL, stderr=slave, close_fds=True
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    assert b"4000 records decoded, 0 failed" in seen
    assert b"big.jsonl: " in seen and b" MB of 10." in seen and b" records/s" in seen  # shown at once, then every 0.5 s
    redirected = _cli(str(big))
    assert b"records/s" not in redirected.stderr and b"\r" not in redirected.stderr


def test_run_is_callable_with_streams() -> None:
    out, err = io.BytesIO(), io.BytesIO()
    data = _generated(10)
    assert run(["-", "--stats"], out, err, io.BytesIO(data)) == 0
    assert out.getvalue() == _reference(data)


def test_a_record_that_cannot_be_written_goes_to_the_errors_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A record the encoder cannot write (in batch, then on its own) is an error, with its index and bytes."""
    import m365parse.__main__ as cli

    real, real_one = cli.encode_lines, cli.encode_line

    def unwritable(items: Any) -> bool:
        rows = [i.get("properties") if isinstance(i, dict) else getattr(i, "properties", None) for i in items]
        return any(getattr(row, "ProcessId", None) == 2 for row in rows)

    def encode(items: Any) -> bytes:
        if unwritable(items):
            raise TypeError("cannot write a value of type object as JSON")
        return real(items)

    def encode_one(item: Any) -> bytes:
        if unwritable([item]):
            raise TypeError("cannot write a value of type object as JSON")
        return real_one(item)

    monkeypatch.setattr(cli, "encode_lines", encode)
    monkeypatch.setattr(cli, "encode_line", encode_one)
    lines = [json.dumps(record(ProcessId=i)).encode() for i in range(4)]
    data = lines[0] + b"\n{broken\n" + b"\n".join(lines[1:]) + b"\n"
    errors = tmp_path / "errors.jsonl"
    out, err = io.BytesIO(), io.BytesIO()
    status = run(["--errors", str(errors), "--table", "DeviceProcessEvents", "--stats"], out, err, io.BytesIO(data))
    assert status == 1
    assert [json.loads(line)["properties"]["ProcessId"] for line in out.getvalue().splitlines()] == [0, 1, 3]
    failed = [json.loads(line) for line in errors.read_bytes().splitlines()]
    assert [(f["index"], f["raw"]) for f in failed] == [(1, "{broken"), (3, lines[2].decode())]
    assert "cannot be written as JSON" in failed[1]["reason"]
    text = err.getvalue().decode()
    assert "3 records decoded, 2 failed" in text
    assert "         3  DeviceProcessEvents" in text and "         1  cannot be written as JSON" in text


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_that_cannot_be_written_stops_the_run_with_a_message() -> None:
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "m365parse", "demo"], stdout=full, stderr=subprocess.PIPE, timeout=60, check=False
        )
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "cannot write: No space left on device" in err and "Traceback" not in err


# --- JSON lines written without records (JsonLinesWriter.lines) -------------------------------


def _canonical_record(table: str = "DeviceProcessEvents", **props: Any) -> dict[str, Any]:
    rec = record(table, **props)
    rec["time"] = TIMES[0]  # conftest's time ends in 0: not canonical
    return rec


def _mixed_input() -> bytes:
    """JSON lines that the writer takes without records in places, and not in others."""
    good = [json.dumps(_canonical_record(ProcessId=i, Timestamp=TIMES[i % 2])).encode() for i in range(40)]
    lines = [*good[:20], b"{broken", *good[20:22], b"", *good[22:24]]
    lines += [json.dumps(_canonical_record("NoSuchTable", A=1)).encode()]  # an unknown table
    lines += [json.dumps(record(ProcessId=99)).encode()]  # a time that is not canonical
    lines += [*good[24:30], b"\xef\xbb\xbf" + good[30], *good[31:39]]  # a BOM within
    lines += [json.dumps(_canonical_record(ProcessId=7, Timestamp="2024-13-14T08:44:14.1Z")).encode()]  # month 13
    lines += [json.dumps(_canonical_record(ProcessId=8, ProcessCreationTime="null")).encode()]
    return b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n" + good[39]  # a BOM first; the last line without newline


def _run_both(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data: bytes, *args: str) -> list[Any]:
    """The command's output, errors file, standard error and status: with lines() and with every block decoded."""
    import m365parse.__main__ as cli

    results = []
    real_lines = cli.JsonLinesWriter.lines
    for offered in (True, False):
        if not offered:
            monkeypatch.setattr(cli.JsonLinesWriter, "lines", lambda self, block, tables=None: None)
        taken: list[int] = []

        def counted(self: Any, block: bytes, tables: Any = None) -> Any:
            got = real_lines(self, block, tables)
            taken.append(0 if got is None else len(got))
            return got

        if offered:
            monkeypatch.setattr(cli.JsonLinesWriter, "lines", counted)
        errors = tmp_path / f"errors-{offered}.jsonl"
        out, err = io.BytesIO(), io.BytesIO()
        status = run(["--errors", str(errors), *args, "-"], out, err, io.BytesIO(data))
        results.append((out.getvalue(), errors.read_bytes(), err.getvalue(), status, sum(taken)))
    monkeypatch.setattr(cli.JsonLinesWriter, "lines", real_lines)
    return results


@pytest.mark.parametrize("chunk", [64, 700, 4096, 1 << 20])
@pytest.mark.parametrize("args", [(), ("--stats",), ("--table", "DeviceProcessEvents", "--stats")])
def test_json_lines_written_without_records_are_what_the_records_give(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chunk: int, args: tuple[str, ...]
) -> None:
    """Output, errors (with their indexes), counts and status: the same whether lines() takes a block or not."""
    import m365parse.__main__ as cli

    monkeypatch.setattr(cli, "CHUNK_BYTES", chunk)
    data = _mixed_input()
    (out, errors, err, status, taken), (out2, errors2, err2, status2, _) = _run_both(monkeypatch, tmp_path, data, *args)
    assert (out, errors, err, status) == (out2, errors2, err2, status2)
    assert status == 1 and (taken > 0 or chunk > 4096)
    assert [json.loads(line)["index"] for line in errors.splitlines()] == [20]  # the others decode, some to extra
    if not args:
        assert out == _reference(data) and len(out.splitlines()) == 44


def test_a_line_longer_than_the_decoder_takes_is_reported_as_it_would_be(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import m365parse.__main__ as cli
    from m365parse._lines import JsonLinesDecoder

    monkeypatch.setattr(cli, "CHUNK_BYTES", 300)
    monkeypatch.setattr(JsonLinesDecoder.__init__, "__defaults__", (2000,))  # max_record_bytes
    good = [json.dumps(_canonical_record(ProcessId=i)).encode() for i in range(6)]
    long = json.dumps(_canonical_record(ProcessId=9, CommandLine="x" * 5000)).encode()
    data = b"\n".join([*good[:3], long, *good[3:]]) + b"\n"
    (out, errors, err, status, taken), rest = _run_both(monkeypatch, tmp_path, data)
    assert (out, errors, err, status) == rest[:4]
    assert [json.loads(line)["index"] for line in errors.splitlines()] == [3]
    assert len(out.splitlines()) == 6 and taken > 0


def test_lines_takes_blocks_of_streamed_records_with_canonical_timestamps_only() -> None:
    writer = JsonLinesWriter(io.BytesIO())
    block = "".join(json.dumps(_canonical_record(ProcessId=i)) + "\n" for i in range(3)).encode()
    got = writer.lines(block)
    assert got is not None and len(got) == 3 and got.data == _reference(block)
    assert got.tables == {"DeviceProcessEvents": 3}
    kept = writer.lines(block, frozenset({"DeviceFileEvents"}))
    assert kept is not None and kept.data == b"" and len(kept) == 3
    for text in TIMES[1:]:
        rec = _canonical_record(ProcessId=1, ProcessCreationTime=text)
        rec["_TimeReceivedBySvc"] = text
        one = (json.dumps(rec) + "\n").encode()
        got = JsonLinesWriter(io.BytesIO()).lines(one)
        assert got is None or got.data == _reference(one)
        trailing_zeros = text[10] == "T" and text.endswith("0Z") and "." in text
        assert (got is not None) == (_is_canonical(text) or trailing_zeros), text
    assert JsonLinesWriter(io.BytesIO(), registry.get("jsa")).lines(block) is None


def test_kusto_timestamps_with_trailing_zeros_are_written_as_exact_iso_writes_them() -> None:
    texts = ["2024-05-14T08:44:14.9047460Z", "2024-05-14T08:44:14.0000000Z", "2024-05-14T08:44:14.1200000Z"]
    block = b""
    for i in range(30):
        rec = _canonical_record(ProcessId=i, ProcessCreationTime=texts[i % 3], Timestamp=TIMES[i % 2])
        rec["time"] = texts[(i + 1) % 3]
        block += (json.dumps(rec) + "\n").encode()
    got = JsonLinesWriter(io.BytesIO()).lines(block)
    assert got is not None and got.data == _reference(block)
    assert b"14.904746Z" in got.data and b'"2024-05-14T08:44:14Z"' in got.data and b"14.12Z" in got.data


def test_after_a_block_it_declines_the_writer_tries_fewer(monkeypatch: pytest.MonkeyPatch) -> None:
    import m365parse.__main__ as cli

    calls: list[bool] = []
    monkeypatch.setattr(cli, "stream_lines", lambda block: calls.append(True))  # declines every block
    writer = JsonLinesWriter(io.BytesIO())
    assert all(writer.lines(b"{}\n") is None for _ in range(200))
    assert len(calls) == 8  # blocks 1, 3, 7, 15, 31, 63, 127, 191: then every 64th
