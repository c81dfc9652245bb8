"""Command line: decode Defender data from files or stdin to JSON lines, streaming.

    python -m m365parse [OPTIONS] [FILE ...]   # no FILE, or "-": read standard input
    python -m m365parse demo [OPTIONS]         # the built-in sample records of every table

Every record becomes one JSON object on standard output (``table``, ``envelope``,
``properties``, ``extra``: see :meth:`m365parse.Record.to_dict`), or with
``--normalize NAME`` the event that rule set makes of it.  With ``--to parquet DIR``
(extra ``arrow``) the records go to one Parquet file set per table instead,
``DIR/<table>/part-00000.parquet`` (see :class:`ParquetWriter`).  Inputs are read in
bounded memory: JSON lines (records, or Event Hubs bodies one per line) are
streamed through :class:`m365parse.JsonLinesDecoder` in chunks; a single JSON
document (an Event Hubs body, a JSON array, a pretty-printed record) is read whole,
up to ``--max-document-size``.  The shape is decided from the first line.

Problems go to standard error, followed by a count (``--quiet``: neither);
``--errors FILE`` also writes each failed record as one JSON line.  Exit status:

- 0: every record was decoded and written;
- 1: a record or an input failed (read, decoded, normalized or written);
- 2: usage error (unknown option, unknown rule set, unwritable ``--errors`` file;
  with ``--to parquet``: no pyarrow, ``--normalize``, a DIR that is not empty
  without ``--overwrite`` or that cannot be made);
- 130: interrupted (Ctrl-C);
- 141: standard output was closed by its reader (``| head``), as a shell reports
  a process ended by SIGPIPE (128 + 13); nothing is printed.

A thin shell over the public API: the only module of m365parse that reads files.
The loop is reusable: :func:`read_batches` yields the batches of one input and a
:class:`Writer` takes records (:class:`JsonLinesWriter` for JSON lines,
:class:`ParquetWriter` for Parquet).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import os
import re
import stat
import sys
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence, Sized
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, BinaryIO, Protocol

import msgspec

from . import __version__, decode
from ._output import encode_line, encode_lines, record_bytes, record_lines, stream_lines
from ._project import CURRENT
from .errors import InvalidInput, InvalidRecord, MappingError
from .mappings import RuleSet, normalize, normalize_batch, registry
from .record import Batch, Record, UnknownRecord
from .tables import TABLES

__all__ = [
    "run",
    "main",
    "read_batches",
    "Writer",
    "JsonLinesWriter",
    "EncodedLines",
    "ParquetWriter",
    "InputFailed",
    "CHUNK_BYTES",
    "MAX_DOCUMENT_BYTES",
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "EXIT_PIPE_CLOSED",
]

DEMO = "demo"
#: Bytes read at a time from JSON-lines input (smaller chunks decode faster; see the README).
CHUNK_BYTES = 256 * 1024
#: Default largest single JSON document read whole (``--max-document-size``).
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
#: Bytes read at a time from JSON-lines input with ``--to parquet``: each chunk's
#: records are converted to Arrow together, and tables of a few rows cost more.
PARQUET_CHUNK_BYTES = 4 * 1024 * 1024
#: Arrow data the Parquet output holds before it writes the largest table's rows
#: (see :class:`m365parse.arrow.TableBuffers`); a table's row groups hold up to 65,536 rows.
PARQUET_BUFFER_BYTES = 16 * 1024 * 1024
#: Input larger than this shows progress on a terminal.
PROGRESS_BYTES = 8 * 1024 * 1024

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_PIPE_CLOSED = 0, 1, 2, 130, 141

_WS = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"


class InputFailed(Exception):
    """One input could not be read or decoded as a whole; ``kind`` groups it in ``--stats``."""

    def __init__(self, message: str, kind: str, raw: bytes | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.raw = raw


# --- reading: the streaming loop -----------------------------------------------------


class _Head:
    """The start of an input, read until its first non-blank line is complete.

    Each byte is searched once, so that a document of one long line costs linear time.
    """

    def __init__(self) -> None:
        self.data = bytearray()
        self.start = -1  # where the first non-blank line may begin; -1: BOM not checked yet
        self.searched = 0

    def add(self, chunk: bytes) -> bytes | None:
        """Append ``chunk``; the first non-blank line (stripped) once it is complete, else None."""
        data = self.data
        data += chunk
        if self.start < 0:
            if len(data) < 3 and _BOM.startswith(data):
                return None
            self.start = self.searched = 3 if data.startswith(_BOM) else 0
        while True:
            end = data.find(b"\n", max(self.start, self.searched))
            if end < 0:
                self.searched = len(data)
                return None
            line = bytes(data[self.start : end]).strip(_WS)
            if line:
                return line
            self.start = self.searched = end + 1


def is_json_lines(line: bytes) -> bool:
    """Whether an input whose first non-blank line is ``line`` is JSON lines (else one document).

    JSON lines when the line is a JSON object by itself, or looks like one (``{`` to
    ``}``) but is broken: a bad first record must not turn a stream into a document.
    A pretty-printed document's first line (``{``, ``[``, ``{"records": [``) is neither.
    """
    if not line.startswith(b"{"):
        return False
    try:
        return isinstance(msgspec.json.decode(line), dict)
    except (ValueError, RecursionError):
        return line.endswith(b"}")


def read_batches(
    stream: BinaryIO,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    max_document_bytes: int = MAX_DOCUMENT_BYTES,
    size: int | None = None,
    on_read: Callable[[int], None] | None = None,
    lines: Callable[[bytes], Sized | None] | None = None,
) -> Iterator[tuple[Batch | Sized, int]]:
    """Decode one input in bounded memory: yields ``(batch, index of its first record)``.

    Reads until the first complete non-blank line (or the end) to tell the shape.
    JSON lines go through :class:`m365parse.JsonLinesDecoder`, ``chunk_bytes`` at a
    time; anything else is one document, decoded whole by :func:`m365parse.decode`.
    Input that ends before its first line does is decoded whole as well.  ``size``
    (when known) lets a too large document fail before it is read; ``on_read`` is
    called with the number of bytes of each read.

    With ``lines``, each block of complete JSON lines (the lines a chunk completes)
    is offered to ``lines`` first: what it returns (its ``len()`` the number of
    records it took) is yielded in place of the block's batch; when it returns
    None the block is decoded.  Record indexes count the records of both.

    Raises :class:`InputFailed` when the input cannot be read, is a document larger
    than ``max_document_bytes``, or is not JSON of a known shape at all.
    """
    from ._lines import JsonLinesDecoder

    read = getattr(stream, "read1", stream.read)  # what is there: a pipe is not waited on to fill a chunk
    head = _Head()
    line: bytes | None = None
    while line is None:
        chunk = _read(read, chunk_bytes)
        if on_read is not None:
            on_read(len(chunk))
        if not chunk:
            break
        line = head.add(chunk)
        if line is None and len(head.data) > max_document_bytes:
            raise _too_large(max_document_bytes)
    parts = [bytes(head.data)]
    held = len(parts[0])
    del head
    if line is not None and is_json_lines(line) and lines is not None:
        yield from _offered_lines(parts.pop(), read, chunk_bytes, on_read, lines)
        return
    if line is not None and is_json_lines(line):
        decoder = JsonLinesDecoder()
        chunk = parts.pop()
        while chunk:
            first = decoder.records_seen
            batch = decoder.feed(chunk)
            if batch.records or batch.errors:
                yield batch, first
            chunk = _read(read, chunk_bytes)
            if on_read is not None:
                on_read(len(chunk))
        first = decoder.records_seen
        batch = decoder.close()
        if batch.records or batch.errors:
            yield batch, first
        return
    if line is not None:  # one document: read it whole, within the limit
        if held > max_document_bytes or (size is not None and size > max_document_bytes):
            raise _too_large(max_document_bytes)
        while True:
            chunk = _read(read, chunk_bytes)
            if on_read is not None:
                on_read(len(chunk))
            if not chunk:
                break
            parts.append(chunk)
            held += len(chunk)
            if held > max_document_bytes:
                raise _too_large(max_document_bytes)
    data = b"".join(parts)
    del parts
    try:
        batch = decode(data)
    except InvalidInput as exc:
        raise InputFailed(str(exc), "input is not JSON of a known shape", data) from None
    yield batch, 0


def _offered_lines(
    chunk: bytes,
    read: Callable[[int], bytes],
    chunk_bytes: int,
    on_read: Callable[[int], None] | None,
    lines: Callable[[bytes], Sized | None],
) -> Iterator[tuple[Batch | Sized, int]]:
    """JSON lines for :func:`read_batches` with ``lines``: each block offered to ``lines``, else decoded.

    The blocks are the ones :class:`m365parse.JsonLinesDecoder` would decode (the
    lines each chunk completes); a block ``lines`` does not take goes to the
    decoder whole, which then holds no partial line, so that it decodes and
    reports exactly as it would have on its own (its record indexes moved past the
    records ``lines`` took).  A partial line longer than the decoder takes is
    handed to it, with the rest of the input.
    """
    from ._lines import JsonLinesDecoder

    decoder = JsonLinesDecoder()
    decoder.feed(b"\n")  # started: a BOM further on is data, as for a decoder fed from the start
    limit = decoder.max_record_bytes
    taken = 0  # records that lines() took: the decoder does not count them
    pending = bytearray()  # the unfinished last line (a bytearray: a long line stays linear)
    if chunk.startswith(_BOM):
        chunk = chunk[len(_BOM) :]
    while chunk:
        cut = chunk.rfind(b"\n")
        if cut < 0:
            pending += chunk
        else:
            block = b"".join((pending, memoryview(chunk)[: cut + 1]))  # one copy, as the decoder makes
            pending = bytearray(memoryview(chunk)[cut + 1 :])
            taken = yield from _block(block, decoder, taken, limit, lines)
            del block
        if len(pending) > limit:  # a line too long: the decoder reports it, and reads the rest
            chunk, pending = bytes(pending), bytearray()
            while chunk:
                yield from _decoded(decoder, chunk, taken)
                chunk = _read(read, chunk_bytes)
                if on_read is not None:
                    on_read(len(chunk))
            break
        chunk = _read(read, chunk_bytes)
        if on_read is not None:
            on_read(len(chunk))
    if pending:  # the last line, without a newline
        taken = yield from _block(bytes(pending), decoder, taken, limit, lines)
    yield from _decoded(decoder, None, taken)


def _block(
    block: bytes, decoder: Any, taken: int, limit: int, lines: Callable[[bytes], Sized | None]
) -> Generator[tuple[Batch | Sized, int], None, int]:
    """One block offered to ``lines``, else fed to the decoder; returns the records ``lines`` took, in all."""
    got = lines(block) if len(block) <= limit else None
    if got is None:
        yield from _decoded(decoder, block, taken)
        return taken
    if len(got):
        yield got, taken + decoder.records_seen
    return taken + len(got)


def _decoded(decoder: Any, data: bytes | None, taken: int) -> Iterator[tuple[Batch, int]]:
    """The batch of ``decoder.feed(data)`` (``close()`` for None), its indexes moved past ``taken`` records."""
    first = decoder.records_seen
    batch = decoder.close() if data is None else decoder.feed(data)
    if batch.records or batch.errors:
        for error in batch.errors:
            error.index += taken
        yield batch, first + taken


def _read(read: Callable[[int], bytes], n: int) -> bytes:
    try:
        return read(n)
    except OSError as exc:
        raise InputFailed(f"cannot read: {exc.strerror or exc}", "input cannot be read") from None


def _too_large(limit: int) -> InputFailed:
    return InputFailed(
        f"a single JSON document (not JSON lines) larger than --max-document-size ({_size_text(limit)}); "
        "not decoded: raise the limit, or write the records one per line",
        "input document larger than --max-document-size",
    )


def _size_text(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


# --- writing ---------------------------------------------------------------------------


class Writer(Protocol):
    """Where the records go: JSON lines (:class:`JsonLinesWriter`) or Parquet files (:class:`ParquetWriter`)."""

    def write(self, records: Sequence[Record]) -> list[tuple[int, str]]:
        """Write ``records``; return ``(position in records, reason)`` of each one not written."""

    def close(self) -> None:
        """Finish (flush); the writer is not used again."""


class JsonLinesWriter:
    """Writes each record (or with ``rule_set``, its normalized event) as one JSON line.

    A batch is encoded in one call; when that fails, record by record, and a record
    that cannot be normalized or encoded is reported, never written in part.
    """

    def __init__(self, out: BinaryIO, rule_set: RuleSet | None = None) -> None:
        self.out = out
        self.rule_set = rule_set
        self._skip = self._backoff = 0  # blocks not to offer to stream_lines(), after one it declined

    def write(self, records: Sequence[Record]) -> list[tuple[int, str]]:
        failed: list[tuple[int, str]] = []
        if self.rule_set is None:
            data = self._encode(range(len(records)), record_lines(records), failed)
        else:
            positions, events = self._normalize(records, failed)
            data = self._encode(positions, events, failed)
            failed.sort()
        if data:
            self.out.write(data)
            self.out.flush()  # a reader downstream sees each batch as it is done
        return failed

    @staticmethod
    def _encode(positions: Sequence[int], items: list[Any], failed: list[tuple[int, str]]) -> bytes:
        try:
            return encode_lines(items)
        except (TypeError, ValueError):  # one of them cannot be written: find it, write the others
            parts = []
            for pos, item in zip(positions, items, strict=True):
                try:
                    parts.append(encode_line(item))
                except (TypeError, ValueError) as exc:
                    failed.append((pos, f"cannot be written as JSON: {exc}"))
            return b"".join(parts)

    def _normalize(self, records: Sequence[Record], failed: list[tuple[int, str]]) -> tuple[Sequence[int], list[Any]]:
        assert self.rule_set is not None
        try:
            return range(len(records)), normalize_batch(records, self.rule_set)
        except Exception:  # a rule set is code: find the records it fails on, write the others
            positions, events = [], []
            for pos, record in enumerate(records):
                try:
                    events.append(normalize(record, self.rule_set))
                    positions.append(pos)
                except Exception as exc:
                    failed.append((pos, f"cannot be normalized with {self.rule_set.name!r}: {exc!r}"))
            return positions, events

    def lines(self, block: bytes, tables: frozenset[str] | None = None) -> EncodedLines | None:
        """The output of a block of complete JSON lines, made without decoding records; None: decode it.

        For blocks of streamed records that the one-pass decode takes whole
        (:func:`m365parse._output.stream_lines`): the same bytes as decoding the
        block and writing its records, with ``tables`` as ``--table``.  Not with a
        rule set, nor when a line cannot be encoded (the records then report it).
        After a block it declines, the next 1, 3, 7, ... (at most 63) are not tried:
        input it does not take costs little more than before.
        """
        if self.rule_set is not None:
            return None
        if self._skip:
            self._skip -= 1
            return None
        got = stream_lines(block)
        if got is None:
            self._skip = self._backoff = min(2 * self._backoff + 1, 63)
            return None
        self._backoff = 0
        items, names = got.lines, got.tables
        if tables is not None:
            kept = [i for i, name in enumerate(names) if name in tables]
            items, names = [items[i] for i in kept], [names[i] for i in kept]
        try:
            data = encode_lines(items)
        except (TypeError, ValueError):
            return None
        return EncodedLines(data, Counter(names), len(got.lines))

    def write_lines(self, lines: EncodedLines) -> None:
        """Write what :meth:`lines` made."""
        if lines.data:
            self.out.write(lines.data)
            self.out.flush()

    def close(self) -> None:
        self.out.flush()


@dataclass
class EncodedLines:
    """A block of JSON lines written without records (:meth:`JsonLinesWriter.lines`): ``len()`` its records."""

    data: bytes
    tables: Counter[str]  # records written, per table
    records: int  # records in the block, written or left out by --table

    def __len__(self) -> int:
        return self.records


class ParquetWriter:
    """Writes records to one Parquet file set per table under ``directory`` (extra ``arrow``).

    A table's rows go to ``directory/<table>/part-00000.parquet`` (the directory of
    a table is made when its first rows are written), with the table's
    :func:`m365parse.arrow.schema`; records of tables this version does not know
    go to ``unknown``.  Rows are held per table in a
    :class:`m365parse.arrow.TableBuffers` until they make a row group of
    ``max_rows``, or while all of them pass ``max_buffer_bytes`` of Arrow memory;
    one :class:`m365parse.parquet.ParquetTables` writes every input's rows.  A
    record that cannot be converted is reported, never written in part.  Raises
    ``ImportError`` when pyarrow is not installed.
    """

    def __init__(
        self, directory: str, *, max_rows: int = 65_536, max_buffer_bytes: int = PARQUET_BUFFER_BYTES
    ) -> None:
        import pyarrow

        from . import arrow, parquet

        self.directory = directory
        self._arrow = arrow
        self._pa = pyarrow
        self._buffers = arrow.TableBuffers(max_rows=max_rows, max_buffer_bytes=max_buffer_bytes)
        self._tables = parquet.ParquetTables(self._open_file)

    def _open_file(self, table: str, part: int) -> BinaryIO:
        if not table or table in (".", "..") or "/" in table or os.sep in table:  # names come from m365parse
            raise ValueError(f"not a table name to make a directory of: {table!r}")
        folder = os.path.join(self.directory, table)
        os.makedirs(folder, exist_ok=True)
        return open(os.path.join(folder, f"part-{part:05d}.parquet"), "wb")  # ParquetTables closes it

    @property
    def rows(self) -> dict[str, int]:
        """Rows written to the files so far, per table (rows still held are not counted)."""
        return dict(self._tables.rows)

    def write(self, records: Sequence[Record]) -> list[tuple[int, str]]:
        failed: list[tuple[int, str]] = []
        try:
            tables = {name: table for name, (table, _) in self._arrow.tables_of(records).items()}
        except Exception:  # one of them cannot be converted: find it, write the others
            parts: dict[str, list[Any]] = {}
            for pos, record in enumerate(records):
                try:
                    one = self._arrow.tables_of([record])
                except Exception as exc:
                    failed.append((pos, f"cannot be written as Parquet: {exc!r}"))
                    continue
                for name, (table, _) in one.items():
                    parts.setdefault(name, []).append(table)
            tables = {name: self._pa.concat_tables(found) for name, found in parts.items()}
        for name, batch in self._buffers.add(tables):
            self._tables.write(name, batch)
        return failed

    def close(self) -> None:
        """Write the rows still held and finish every file (Parquet writes its footer then)."""
        try:
            for name, batch in self._buffers.drain():
                self._tables.write(name, batch)
        finally:
            self._tables.close()


def _record_indexes(batch: Batch, first: int) -> list[int]:
    """Input index of each record of ``batch``: the batch covers ``first`` on, errors take theirs."""
    taken = {error.index for error in batch.errors}
    out: list[int] = []
    index = first
    while len(out) < len(batch.records):
        if index not in taken:
            out.append(index)
        index += 1
    return out


def _text(value: str) -> str:
    """``value`` with anything that is not valid UTF-8 (lone surrogates) escaped."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def error_line(source: str, index: int | None, path: str | None, reason: str, raw: bytes | None) -> dict[str, Any]:
    """One line of the ``--errors`` file.

    ``raw`` holds the record's bytes as text when they are valid UTF-8; otherwise
    ``raw_base64`` holds them in base64 (``raw`` is then absent).  Both are absent
    when there are no bytes to keep (an input that could not be read).
    """
    where = None if path is None else _text(path)
    line: dict[str, Any] = {"input": _text(source), "index": index, "path": where, "reason": _text(reason)}
    if raw is not None:
        try:
            line["raw"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            line["raw_base64"] = base64.b64encode(raw).decode("ascii")
    return line


_DIGITS = re.compile(r"\d+")


def reason_kind(reason: str) -> str:
    """The reason of a failed record without its particulars: what ``--stats`` counts by."""
    head = reason.split(": ", 1)[0] if not reason.startswith("`") else reason
    return _DIGITS.sub("N", head)[:100]


# --- accounting, progress ----------------------------------------------------------------


@dataclass
class Report:
    """What one run did: written records per table, failures per kind, and where failures go."""

    stderr: BinaryIO
    quiet: bool = False
    errors_file: BinaryIO | None = None
    tables: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    skipped: int = 0

    @property
    def written(self) -> int:
        return sum(self.tables.values())

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def fail(
        self, source: str, index: int | None, path: str | None, reason: str, *, raw: bytes | None, kind: str
    ) -> None:
        self.failures[kind] += 1
        if not self.quiet:
            where = f"record {index}: " if index is not None else ""
            at = f" - at `{path}`" if path is not None and index is not None else ""
            self.stderr.write(f"{source}: {where}{reason}{at}\n".encode(errors="backslashreplace"))
        if self.errors_file is not None:
            line = error_line(source, index, path, reason, raw)
            try:
                data = encode_lines([line])
            except (TypeError, ValueError):  # cannot happen with _text(); kept so that nothing is lost silently
                data = encode_lines([{**line, "reason": repr(reason)}])
            self.errors_file.write(data)

    def record_error(self, source: str, error: InvalidRecord) -> None:
        self.fail(source, error.index, error.path, error.reason, raw=error.raw, kind=reason_kind(error.reason))

    def summary(self, interrupted: bool = False) -> None:
        if self.quiet:
            return
        text = f"{self.written} records decoded, {self.failed} failed"
        if self.skipped:
            text += f", {self.skipped} of other tables skipped"
        self.stderr.write(f"{text}{' (interrupted)' if interrupted else ''}\n".encode())

    def stats(self) -> None:
        lines = ["records written per table:"]
        lines += [f"  {n:>10}  {name}" for name, n in sorted(self.tables.items()) if n] or ["  (none)"]
        if self.skipped:
            lines.append(f"  {self.skipped:>10}  (other tables, skipped by --table)")
        lines.append("errors per reason:")
        lines += [f"  {n:>10}  {kind}" for kind, n in sorted(self.failures.items())] or ["  (none)"]
        self.stderr.write(("\n".join(lines) + "\n").encode(errors="backslashreplace"))


class Progress:
    """Bytes and records done and records per second, on one line of a terminal.

    Shown only when standard error is a terminal and the input is larger than
    :data:`PROGRESS_BYTES` (or, size unknown, once that much has been read).
    """

    def __init__(self, stderr: BinaryIO, enabled: bool) -> None:
        self.stderr = stderr
        self.enabled = enabled
        self.shown = False
        self.name = ""
        self.size: int | None = None
        self.done = 0
        self.records = 0
        self.started = time.monotonic()
        self.last = 0.0

    def start(self, name: str, size: int | None) -> None:
        self.name, self.size, self.done = name, size, 0

    def read(self, n: int) -> None:
        self.done += n
        self._show()

    def add_records(self, n: int) -> None:
        self.records += n
        self._show()

    def _show(self) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.5:
            return
        big = self.size if self.size is not None else self.done
        if big <= PROGRESS_BYTES:
            return
        self.last = now
        pct = f" of {self.size / 1e6:,.1f} MB ({100 * self.done / self.size:.0f}%)" if self.size else ""
        rate = self.records / max(now - self.started, 1e-9)
        text = f"{self.name}: {self.done / 1e6:,.1f} MB{pct}, {self.records:,} records, {rate:,.0f} records/s"
        self.stderr.write(f"\r{text}\x1b[K".encode(errors="backslashreplace"))
        self.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stderr.write(b"\r\x1b[K")
            self.stderr.flush()
            self.shown = False


# --- the command ------------------------------------------------------------------------------


@dataclass
class Source:
    """One input: its name, how to open it, its size when known."""

    name: str
    open: Callable[[], Any]  # a context manager giving a binary stream
    size: int | None = None


class _Unclosed:
    """A stream the run did not open (standard input): not closed after use."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def __enter__(self) -> BinaryIO:
        return self.stream

    def __exit__(self, *exc: object) -> None:
        return None


def _demo_sources() -> Iterator[Source]:
    import io

    samples = resources.files("m365parse").joinpath("samples")
    for folder, prefix in ((samples, "samples/"), (samples.joinpath("api"), "samples/api/")):  # api: polled shapes
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".json"):
                data = entry.read_bytes()
                yield Source(prefix + entry.name, lambda data=data: io.BytesIO(data), len(data))  # type: ignore[misc]


def _file_sources(paths: list[str], stdin: BinaryIO) -> Iterator[Source]:
    for path in paths or ["-"]:
        if path == "-":
            yield Source("<stdin>", lambda: _Unclosed(stdin), _regular_size(stdin))
            continue
        try:
            info = os.stat(path)
        except OSError:
            size = None  # open() says why
        else:  # a pipe (<(...), /dev/stdin) has no size
            size = info.st_size if stat.S_ISREG(info.st_mode) else None
        yield Source(path, lambda path=path: open(path, "rb"), size)  # type: ignore[misc]  # noqa: SIM115


def _regular_size(stream: BinaryIO) -> int | None:
    """Size of a stream that is a regular file (``< file``); None for a pipe or a terminal."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # io.BytesIO has no file descriptor
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _size_arg(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([KMG]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if m is None or int(m.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 256M, 1G, 65536)")
    scale: int = 1024 ** " KMG".index(m.group(2).upper() or " ")
    return int(m.group(1)) * scale


def _rule_set_names() -> str:
    try:
        return ", ".join(registry.names())
    except MappingError as exc:  # a broken plugin must not stop plain decoding
        return f"unknown: {exc}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m m365parse",
        description="Decode Microsoft Defender XDR records (Event Hubs bodies, JSON lines, "
        "SIEM API alerts) to one JSON object per record, or to Parquet files per table, streaming.",
        epilog=f"'{DEMO}' as the only FILE decodes the built-in sample records of every table. "
        "Exit status: 0 all records written; 1 a record or an input failed; 2 usage error; "
        "130 interrupted (Ctrl-C); 141 standard output closed by its reader (| head).",
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="input files; '-' or none: standard input (with --to parquet, the first is DIR)",
    )
    parser.add_argument(
        "--to",
        choices=("jsonl", "parquet"),
        default="jsonl",
        help="jsonl (default): one JSON object per record on standard output; parquet: "
        "'--to parquet DIR [FILE ...]' writes DIR/<table>/part-00000.parquet per table (extra 'arrow')",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="with --to parquet: DIR may be non-empty; the Parquet parts (*/part-NNNNN.parquet) "
        "it holds are removed first, nothing else is touched",
    )
    parser.add_argument(
        "--normalize",
        metavar="NAME",
        help=f"write the events of this rule set instead of records (registered: {_rule_set_names()})",
    )
    parser.add_argument(
        "--table", action="append", metavar="NAME", help="write only the records of this table (repeatable)"
    )
    parser.add_argument(
        "--errors",
        metavar="FILE",
        help="also write each failed record to FILE as a JSON line: input, index, path, reason and "
        "its bytes ('raw' as text when valid UTF-8, else 'raw_base64')",
    )
    parser.add_argument(
        "--stats", action="store_true", help="print records per table and errors per reason at the end (stderr)"
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no message per error, no closing count, no progress"
    )
    parser.add_argument(
        "--max-document-size",
        type=_size_arg,
        default=MAX_DOCUMENT_BYTES,
        metavar="SIZE",
        help="largest single JSON document (not JSON lines) read whole; default 256M "
        "(decoding takes about 3 times its size in memory)",
    )
    parser.add_argument("--version", action="version", version=f"m365parse {__version__}")
    return parser


def run(argv: list[str], stdout: BinaryIO, stderr: BinaryIO, stdin: BinaryIO) -> int:
    """Run the command line with explicit streams; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_intermixed_args(argv)  # FILEs after options too: --to parquet DIR --stats a b
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else EXIT_USAGE
    rule_set: RuleSet | None = None
    if args.normalize is not None:
        try:
            rule_set = registry.get(args.normalize)
        except MappingError as exc:  # "no rule set named 'x' (registered: ...)"
            stderr.write(f"python -m m365parse: --normalize: {exc}\n".encode(errors="backslashreplace"))
            return EXIT_USAGE
    files: list[str] = args.files
    writer: Writer
    if args.to == "parquet":
        problem, files = _parquet_usage(args)
        if problem is None:
            try:
                writer = ParquetWriter(args.files[0])
            except ImportError as exc:
                problem = f"--to parquet needs pyarrow: pip install 'm365parse[arrow]' ({exc})"
        if problem is None:
            problem = _prepare_directory(args.files[0], args.overwrite)
        if problem is not None:
            stderr.write(f"python -m m365parse: {problem}\n".encode(errors="backslashreplace"))
            return EXIT_USAGE
    elif args.overwrite:
        stderr.write(b"python -m m365parse: --overwrite applies to --to parquet DIR only\n")
        return EXIT_USAGE
    else:
        writer = JsonLinesWriter(stdout, rule_set)
    tables = frozenset(args.table) if args.table else None
    if tables and not args.quiet:
        for name in sorted(tables - set(TABLES) - {"SiemAlert"}):
            stderr.write(f"note: {name!r} is not a table m365parse knows: only unknown records of it match\n".encode())
    errors_file: BinaryIO | None = None
    if args.errors is not None:
        try:
            errors_file = open(args.errors, "wb")  # noqa: SIM115 - closed below
        except OSError as exc:
            stderr.write(f"python -m m365parse: cannot write --errors {args.errors}: {exc.strerror or exc}\n".encode())
            return EXIT_USAGE
    report = Report(stderr, quiet=args.quiet, errors_file=errors_file)
    progress = Progress(stderr, enabled=not args.quiet and stderr.isatty())
    sources = _demo_sources() if files == [DEMO] else _file_sources(files, stdin)
    status = EXIT_OK
    # With --normalize, records are decoded for the rule set: the columns it reads (decode_normalized)
    projected = CURRENT.set(rule_set.projection()) if rule_set is not None else None
    try:
        _run_sources(
            sources,
            writer=writer,
            report=report,
            progress=progress,
            tables=tables,
            max_document_bytes=args.max_document_size,
            chunk_bytes=PARQUET_CHUNK_BYTES if args.to == "parquet" else CHUNK_BYTES,
        )
        writer.close()
    except BrokenPipeError:
        return EXIT_PIPE_CLOSED
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
        if isinstance(writer, ParquetWriter):  # what was decoded stays readable: every file gets its footer
            with contextlib.suppress(Exception):
                writer.close()
    except OSError as exc:  # standard output or the --errors file cannot be written (disk full, ...)
        stderr.write(f"python -m m365parse: cannot write: {exc.strerror or exc}\n".encode(errors="backslashreplace"))
        status = EXIT_FAILED
    finally:
        if projected is not None:
            CURRENT.reset(projected)
        progress.clear()
        if errors_file is not None:
            errors_file.close()
    report.summary(interrupted=status == EXIT_INTERRUPTED)
    if args.stats:
        report.stats()
    if status == EXIT_OK and report.failed:
        status = EXIT_FAILED
    return status


def _parquet_usage(args: argparse.Namespace) -> tuple[str | None, list[str]]:
    """With ``--to parquet``: what is wrong with the command (or None), and the input files."""
    if not args.files:
        return "--to parquet needs a directory: python -m m365parse --to parquet DIR [FILE ...]", []
    if args.files[0] == DEMO:  # "demo --to parquet out" would make a directory named demo
        return f"--to parquet: DIR comes first (--to parquet DIR {DEMO}); a directory named {DEMO}: ./{DEMO}", []
    if args.normalize is not None:
        return (
            "--normalize cannot be used with --to parquet: normalized events have no table schema "
            "(write them as JSON lines, the default)",
            [],
        )
    return None, args.files[1:]


_PART = re.compile(r"part-\d{5,}\.parquet")


def _prepare_directory(directory: str, overwrite: bool) -> str | None:
    """Make ``directory`` if missing; None when it is ready, else why it is not.

    A directory that holds anything is refused unless ``overwrite``: then the
    Parquet parts of an earlier run (``<dir>/<table>/part-NNNNN.parquet``) are
    removed, with the table directories they leave empty; nothing else is touched.
    """
    if os.path.lexists(directory) and not os.path.isdir(directory):
        return f"--to parquet: {directory} exists and is not a directory"
    try:
        os.makedirs(directory, exist_ok=True)
        entries = sorted(os.listdir(directory))
    except OSError as exc:
        return f"--to parquet: cannot make directory {directory}: {exc.strerror or exc}"
    if not entries:
        return None
    if not overwrite:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        return (
            f"--to parquet: {directory} is not empty ({shown}); give --overwrite to replace "
            "the Parquet files of an earlier run, or name a new directory"
        )
    try:
        for entry in entries:
            folder = os.path.join(directory, entry)
            if os.path.islink(folder) or not os.path.isdir(folder):
                continue
            for name in os.listdir(folder):
                if _PART.fullmatch(name):
                    os.remove(os.path.join(folder, name))
            if not os.listdir(folder):
                os.rmdir(folder)
    except OSError as exc:
        return f"--to parquet --overwrite: cannot remove the files of an earlier run: {exc.strerror or exc}"
    return None


def _run_sources(
    sources: Iterator[Source],
    *,
    writer: Writer,
    report: Report,
    progress: Progress,
    tables: frozenset[str] | None,
    max_document_bytes: int,
    chunk_bytes: int = CHUNK_BYTES,
) -> None:
    offer = getattr(writer, "lines", None)  # JSON lines: blocks written without records when they can be
    lines = None if offer is None else functools.partial(offer, tables=tables)
    for source in sources:
        name, size = source.name, source.size
        progress.start(name, size)
        try:
            opened = source.open()
        except OSError as exc:  # only opening and reading an input fail it: writing stops the run
            report.fail(name, None, None, f"cannot read: {exc.strerror or exc}", raw=None, kind="input cannot be read")
            continue
        try:
            with opened as stream:
                for batch, first in read_batches(
                    stream,
                    chunk_bytes=chunk_bytes,
                    max_document_bytes=max_document_bytes,
                    size=size,
                    on_read=progress.read,
                    lines=lines,
                ):
                    if isinstance(batch, EncodedLines):
                        writer.write_lines(batch)  # type: ignore[attr-defined]  # lines() is the writer's
                        report.tables.update(batch.tables)
                        report.skipped += batch.records - batch.tables.total()
                        progress.add_records(batch.records)
                        continue
                    assert isinstance(batch, Batch)
                    _write_batch(name, batch, first, writer=writer, report=report, tables=tables)
                    progress.add_records(len(batch.records) + len(batch.errors))
        except InputFailed as exc:
            report.fail(name, None, None, str(exc), raw=exc.raw, kind=exc.kind)


def _write_batch(
    name: str, batch: Batch, first: int, *, writer: Writer, report: Report, tables: frozenset[str] | None
) -> None:
    records = batch.records
    if tables is not None:
        kept = [r for r in records if r.table in tables]
        report.skipped += len(records) - len(kept)
        records = kept
    failed = writer.write(records) if records else []
    counts = report.tables
    types: Counter[type[Record]] = Counter(map(type, records))
    for rtype, n in types.items():  # a record's type says its table, but for unknown ones
        if rtype is UnknownRecord:
            counts.update(r.table for r in records if type(r) is UnknownRecord)
        else:
            counts[rtype._table] += n
    # Errors in input order, the records that could not be written among them.
    pending: list[tuple[int, Any]] = [(e.index, e) for e in batch.errors]
    if failed:
        indexes = _record_indexes(batch, first)
        position = {id(record): pos for pos, record in enumerate(batch.records)}
        for pos, reason in failed:
            record = records[pos]
            counts[record.table] -= 1
            pending.append((indexes[position[id(record)]], (record, reason)))
        pending.sort(key=lambda item: item[0])
    for index, item in pending:
        if isinstance(item, InvalidRecord):
            report.record_error(name, item)
        else:
            record, reason = item
            report.fail(name, index, "$", reason, raw=record_bytes(record), kind=reason_kind(reason))


def main() -> int:
    """Entry point of ``python -m m365parse`` and the ``m365parse`` script."""
    try:
        status = run(sys.argv[1:], sys.stdout.buffer, sys.stderr.buffer, sys.stdin.buffer)
    except KeyboardInterrupt:  # before or after the loop
        status = EXIT_INTERRUPTED
    if status == EXIT_PIPE_CLOSED:
        # Python flushes standard output once more at exit: point it at /dev/null
        # so that the closed pipe does not cost a message there.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
