"""Command line: decode Defender data from files or stdin to JSON lines.

    python -m m365parse [FILE ...]   # no FILE, or "-": read standard input
    python -m m365parse demo         # the built-in sample records of every table

Every record becomes one JSON object on standard output (``table``, ``envelope``,
``properties``, ``extra``: see :meth:`m365parse.Record.to_dict`).  Problems go to
standard error, followed by a count.  The exit status is 0 when every record
decoded, 1 when a record or an input failed, 2 on a usage error.  A thin shell over
the public API: the only module of m365parse that reads files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from importlib import resources
from typing import BinaryIO

from . import __version__, decode
from ._json import encode as encode_json
from .errors import InvalidInput

DEMO = "demo"


def _demo_inputs() -> Iterator[tuple[str, bytes]]:
    folder = resources.files("m365parse").joinpath("samples")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            yield f"samples/{entry.name}", entry.read_bytes()


def _file_inputs(paths: list[str], stdin: BinaryIO) -> Iterator[tuple[str, bytes | OSError]]:
    for path in paths or ["-"]:
        if path == "-":
            yield "<stdin>", stdin.read()
            continue
        try:
            with open(path, "rb") as fh:
                yield path, fh.read()
        except OSError as exc:
            yield path, exc


def run(argv: list[str], stdout: BinaryIO, stderr: BinaryIO, stdin: BinaryIO) -> int:
    """Run the command line with explicit streams; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m m365parse",
        description="Decode Microsoft Defender XDR records (Event Hubs bodies, JSON lines, "
        "SIEM API alerts) to one JSON object per record.",
        epilog=f"'{DEMO}' as the only argument decodes the built-in sample records of every table.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="input files; '-' or none: standard input")
    parser.add_argument("--version", action="version", version=f"m365parse {__version__}")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)

    inputs: Iterator[tuple[str, bytes | OSError]]
    inputs = _demo_inputs() if args.files == [DEMO] else _file_inputs(args.files, stdin)
    n_records = n_errors = 0
    for name, data in inputs:
        if isinstance(data, OSError):
            stderr.write(f"{name}: cannot read: {data.strerror or data}\n".encode())
            n_errors += 1
            continue
        try:
            batch = decode(data)
        except InvalidInput as exc:
            stderr.write(f"{name}: {exc}\n".encode())
            n_errors += 1
            continue
        for record in batch.records:
            stdout.write(encode_json(record.to_dict()) + b"\n")  # lone surrogates as \udXXX
        for error in batch.errors:
            stderr.write(f"{name}: {error}\n".encode(errors="backslashreplace"))
        n_records += len(batch.records)
        n_errors += len(batch.errors)
    stdout.flush()
    stderr.write(f"{n_records} records decoded, {n_errors} failed\n".encode())
    return 1 if n_errors else 0


def main() -> int:
    """Entry point of ``python -m m365parse`` and the ``m365parse`` script."""
    return run(sys.argv[1:], sys.stdout.buffer, sys.stderr.buffer, sys.stdin.buffer)


if __name__ == "__main__":
    raise SystemExit(main())
