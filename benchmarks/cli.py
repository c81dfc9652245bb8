"""The command line end to end: ``python -m m365parse`` against ``decode()`` alone on the same bytes.

A section of ``python -m benchmarks`` (``--skip-cli`` leaves it out).  On one
file of generated JSON lines (``--records`` records), each in its own process:

- ``decode``: ``m365parse.decode()`` of the file's lines in units of
  ``--batch-size`` (the suite's unit, decode's best case), each result freed;
- ``decode-whole``: one ``decode()`` of the whole file (what the command line
  did before it streamed);
- ``cli``: the command line, ``m365parse.__main__.run([FILE])`` writing to
  ``/dev/null``, timed inside its process (interpreter start-up left out);
- ``cli-jsa``: the same with ``--normalize jsa``.

Best of ``--repeat`` passes, wall time and CPU time.  Then ``--stream-bytes``
of JSON lines, generated on the fly, are piped through the command's ``main()``
(``python -m m365parse -``) to ``/dev/null``; that process reports its own peak
RSS (``VmHWM``) as it ends.

    python -m benchmarks.cli '{"mode": ...}'   # one measurement (used by the suite)
"""

from __future__ import annotations

import gc
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "run_section", "targets", "report"]

#: time(cli) / time(decode) must stay at or below this.
CLI_BOUND = 2.0
STREAM_LIMIT = 200 * 2**20
STREAM_TARGET_BYTES = 2**30
MODES = ("decode", "decode-whole", "cli", "cli-jsa")


def add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--skip-cli", action="store_true", help="leave out the command-line section (end to end, 1 GiB streamed)"
    )


# --- in the child process -----------------------------------------------------------------


def _child(opts: dict[str, Any]) -> dict[str, Any]:
    import m365parse
    from m365parse.__main__ import run

    from .data import split_units

    path, repeat, mode = opts["data"], opts["repeat"], opts["mode"]
    if mode.startswith("decode"):
        data = Path(path).read_bytes()
        units = [data] if mode == "decode-whole" else split_units("lines", data, opts["batch_size"])
        if mode != "decode-whole":
            del data

        def once() -> int:
            n = 0
            for unit in units:
                batch = m365parse.decode(unit)
                n += len(batch.records) + len(batch.errors)
                batch = None  # freed within the timed pass, as the command line frees each batch
            return n

    else:
        argv = [path] + (["--normalize", "jsa"] if mode == "cli-jsa" else [])

        def once() -> int:
            with open(os.devnull, "wb") as out:
                err = _Capture()
                status = run(argv, out, err, sys.stdin.buffer)  # type: ignore[arg-type]
            m = re.search(rb"(\d+) records decoded, (\d+) failed", err.data)
            if status != 0 or m is None:
                raise RuntimeError(f"exit status {status}: {err.data[-300:]!r}")
            return int(m.group(1)) + int(m.group(2))

    produced = once()  # warm-up, untimed
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        once()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"status": "ok", "records": produced, "wall": wall, "cpu": cpu}


class _Capture:
    """A write-only binary stream that keeps what it gets (the command's standard error)."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False


# --- in the suite's process -----------------------------------------------------------------


def _run_child(opts: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.cli", json.dumps(opts)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    try:
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        result = {"status": "error", "reason": f"exit status {proc.returncode}: {tail}"}
    return result


def _stream(args: Any, env: dict[str, str]) -> dict[str, Any]:
    """``--stream-bytes`` of generated JSON lines piped through ``python -m m365parse -``."""
    import msgspec

    from ._child import _stream_chunks
    from .data import Generator

    gen = Generator(args.seed)
    pool = b"".join(msgspec.json.encode(gen.record()) + b"\n" for _ in range(2000))
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.cli", "stream-child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None and proc.stderr is not None
    sent = 0
    start = time.perf_counter()
    try:
        for piece in _stream_chunks(pool, args.stream_bytes, 1024 * 1024):
            proc.stdin.write(piece)
            sent += len(piece)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read()
    proc.wait()
    seconds = time.perf_counter() - start
    m = re.search(rb"(\d+) records decoded, (\d+) failed", err)
    peak_line = re.search(rb"peak RSS: (\d+)", err)
    if proc.returncode != 0 or m is None or peak_line is None:
        return {"status": "error", "reason": f"exit status {proc.returncode}: {err[-300:]!r}"}
    peak = int(peak_line.group(1))
    records = int(m.group(1))
    return {
        "status": "ok",
        "bytes": sent,
        "records": records,
        "seconds": seconds,
        "peak_rss": peak,
        "mb_per_second": sent / seconds / 1e6,
        "us_per_record": seconds / max(records, 1) * 1e6,
    }


def run_section(args: Any, env: dict[str, str], say: Any) -> dict[str, Any]:
    """Every measurement of the section; figures per mode, ratios to ``decode``, the stream."""
    from .data import encode_units, join_units

    section: dict[str, Any] = {"records": args.records, "modes": {}}
    with tempfile.TemporaryDirectory(prefix="m365parse-cli-") as tmp:
        path = Path(tmp) / "lines.jsonl"
        path.write_bytes(join_units("lines", list(encode_units("lines", args.records, args.batch_size, args.seed))))
        section["bytes"] = path.stat().st_size
        for mode in MODES:
            opts = {"mode": mode, "data": str(path), "repeat": args.repeat, "batch_size": args.batch_size}
            result = _run_child(opts, env)
            if result["status"] == "ok" and result["records"] != args.records:
                result = {"status": "error", "reason": f"{result['records']} records, expected {args.records}"}
            if result["status"] == "ok":
                result["best_wall"] = min(result["wall"])
                result["best_cpu"] = min(result["cpu"])
                result["us_per_record"] = result["best_wall"] / args.records * 1e6
                say(f"cli section {mode:12} {result['us_per_record']:8.2f} us/record")
            else:
                say(f"cli section {mode:12} {result['status']}: {result.get('reason')}")
            section["modes"][mode] = result
    base = section["modes"].get("decode", {})
    for result in section["modes"].values():
        if result["status"] == "ok" and base.get("status") == "ok":
            result["ratio_to_decode"] = result["best_wall"] / base["best_wall"]
            result["cpu_ratio_to_decode"] = result["best_cpu"] / base["best_cpu"]
    if args.stream_bytes > 0:
        section["stream"] = _stream(args, env)
        s = section["stream"]
        if s["status"] == "ok":
            say(f"cli stream {s['bytes'] / 2**20:.0f} MiB: peak RSS {s['peak_rss'] / 2**20:.0f} MiB")
    return section


def targets(section: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The section's rows of the suite's target table."""
    if not section:
        return []
    rows = []
    cli = section["modes"].get("cli", {})
    row: dict[str, Any] = {"target": "command line end to end at least half the speed of decode()", "shape": "lines"}
    if "ratio_to_decode" not in cli:
        row.update(result="n/a", measured=None, note=cli.get("reason", "decode or cli failed"))
    else:
        ratio = cli["ratio_to_decode"]
        ok = ratio <= CLI_BOUND
        note = f"{ratio:.2f}x the time of decode() (needs <= {CLI_BOUND}x; CPU time {cli['cpu_ratio_to_decode']:.2f}x)"
        row.update(result="PASS" if ok else "MISS", measured=ratio, note=note)
    rows.append(row)
    s = section.get("stream")
    if s is not None:
        row = {"target": "command line streams 1 GB of JSON lines in < 200 MB RSS", "shape": "lines"}
        if s["status"] != "ok":
            row.update(result="n/a", measured=None, note=s.get("reason"))
        else:
            note = f"peak RSS {s['peak_rss'] / 2**20:.0f} MiB over {s['bytes'] / 2**20:.0f} MiB"
            if s["bytes"] < STREAM_TARGET_BYTES:
                note += " (less than 1 GiB: indicative only)"
            row.update(result="PASS" if s["peak_rss"] < STREAM_LIMIT else "MISS", measured=s["peak_rss"], note=note)
        rows.append(row)
    return rows


def report(section: dict[str, Any] | None) -> str:
    """The section as Markdown."""
    if not section:
        return ""
    labels = {
        "decode": "`decode()` in units of the batch size, alone",
        "decode-whole": "`decode()` of the whole file in one call",
        "cli": "`python -m m365parse FILE > /dev/null`",
        "cli-jsa": "`python -m m365parse --normalize jsa FILE`",
    }
    out = [
        f"## Command line: {section['records']:,} records of JSON lines, {section['bytes'] / 1e6:.1f} MB",
        "",
        "| what | µs/record | MB/s | time vs decode() | CPU time vs decode() |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode, r in section["modes"].items():
        if r["status"] != "ok":
            out.append(f"| {labels[mode]} | {r['status']}: {r.get('reason')} | | | |")
            continue
        mbs = section["bytes"] / r["best_wall"] / 1e6
        out.append(
            f"| {labels[mode]} | {r['us_per_record']:.2f} | {mbs:.0f} | {r.get('ratio_to_decode', 0):.2f}x "
            f"| {r.get('cpu_ratio_to_decode', 0):.2f}x |"
        )
    s = section.get("stream")
    if s:
        out.append("")
        if s["status"] == "ok":
            out.append(
                f"Streamed: {s['bytes'] / 2**20:,.0f} MiB of JSON lines ({s['records']:,} records, generated on the "
                f"fly) piped through `python -m m365parse -` to `/dev/null`: {s['us_per_record']:.2f} µs/record, "
                f"{s['mb_per_second']:.0f} MB/s, peak RSS of the command {s['peak_rss'] / 2**20:.0f} MiB."
            )
        else:
            out.append(f"Streamed: {s['status']}: {s.get('reason')}")
    out.append("")
    return "\n".join(out)


def _stream_child() -> int:
    """``python -m m365parse -`` itself, then its own peak RSS on standard error.

    Read inside the process: the kernel's ``ru_maxrss`` of a child counts the
    memory of the process that forked it.
    """
    from m365parse.__main__ import main as command

    from .machine import peak_rss_bytes

    sys.argv = ["m365parse", "-"]
    status = command()
    sys.stderr.write(f"peak RSS: {peak_rss_bytes()}\n")
    return status


def main(argv: list[str]) -> int:
    if argv == ["stream-child"]:
        return _stream_child()
    result = _child(json.loads(argv[0]))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
