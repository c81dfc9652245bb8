"""Incremental decoder for JSON lines: multi-GB Azure Storage blobs in bounded memory."""

from __future__ import annotations

from ._collector import collector_off
from ._decode import decode_lines
from .errors import InvalidRecord
from .record import Batch, Record

__all__ = ["JsonLinesDecoder"]

_BOM = b"\xef\xbb\xbf"


class JsonLinesDecoder:
    """Decode JSON lines fed in chunks of any size, one batch per chunk.

    Azure Storage writes one record per line; a chunk may end in the middle of a
    line, which is kept until the rest arrives.  Memory stays bounded by the
    largest chunk plus ``max_record_bytes``: a line longer than that becomes an
    :class:`m365parse.InvalidRecord` (holding its first ``max_record_bytes``
    bytes) and is skipped up to its end.

    Usage::

        decoder = m365parse.JsonLinesDecoder()
        for chunk in blob_stream:
            batch = decoder.feed(chunk)
            ...
        batch = decoder.close()  # the last line, if it had no newline

    Record indexes in errors count the non-blank lines of the whole stream.
    """

    def __init__(self, max_record_bytes: int = 64 * 1024 * 1024) -> None:
        if max_record_bytes < 1:
            raise ValueError("max_record_bytes must be positive")
        self.max_record_bytes = max_record_bytes
        self._pending = bytearray()  # the unfinished last line
        self._index = 0
        self._started = False
        self._skipping = False  # inside a line already reported as too long
        self._closed = False

    @property
    def records_seen(self) -> int:
        """How many records (decoded or failed) the decoder has produced so far."""
        return self._index

    @collector_off
    def feed(self, chunk: bytes | bytearray | memoryview) -> Batch:
        """Take the next chunk; return the records of every line it completed.

        Runs with the cyclic garbage collector off, as :func:`m365parse.decode` does."""
        if self._closed:
            raise ValueError("feed() after close()")
        data = bytes(chunk)
        if not self._started:
            data = bytes(self._pending) + data
            if len(data) < 3 and _BOM.startswith(data):
                self._pending = bytearray(data)  # wait: could still be a BOM
                return Batch([], [])
            self._pending = bytearray()
            self._started = True
            if data.startswith(_BOM):
                data = data[3:]
        errors: list[InvalidRecord] = []
        if self._skipping:
            end = data.find(b"\n")
            if end < 0:
                return Batch([], [])
            self._skipping = False
            data = data[end + 1 :]
        cut = data.rfind(b"\n")
        if cut < 0:
            self._pending += data  # a bytearray: a long line fed in small chunks stays linear
            self._check_pending(errors)
            return Batch([], errors)
        block = b"".join((self._pending, memoryview(data)[: cut + 1]))
        self._pending = bytearray(memoryview(data)[cut + 1 :])
        batch = self._decode(block)
        self._check_pending(batch.errors)
        return batch

    @collector_off
    def close(self) -> Batch:
        """Decode what is left (a last line without newline) and finish."""
        self._closed = True
        block, self._pending = bytes(self._pending), bytearray()
        if self._skipping or not block.strip():
            return Batch([], [])
        return self._decode(block)

    def _decode(self, block: bytes) -> Batch:
        limit = self.max_record_bytes
        if len(block) <= limit:  # no line of it can be too long
            return self._decode_lines(block)
        # A chunk larger than the limit: its overlong lines fail as they would
        # have had they arrived in pieces.
        records: list[Record] = []
        errors: list[InvalidRecord] = []
        run = pos = 0
        while pos < len(block):
            end = block.find(b"\n", pos)
            if end < 0:
                end = len(block)
            if end - pos > limit:
                self._add(self._decode_lines(block[run:pos]), records, errors)
                errors.append(self._too_long(block[pos : pos + limit]))
                run = end + 1
            pos = end + 1
        self._add(self._decode_lines(block[run:]), records, errors)
        return Batch(records, errors)

    @staticmethod
    def _add(batch: Batch, records: list[Record], errors: list[InvalidRecord]) -> None:
        records += batch.records
        errors += batch.errors

    def _decode_lines(self, block: bytes) -> Batch:
        batch = decode_lines(block, self._index)
        self._index += len(batch.records) + len(batch.errors)
        return batch

    def _too_long(self, head: bytes) -> InvalidRecord:
        error = InvalidRecord(
            self._index,
            "$",
            f"line longer than max_record_bytes ({self.max_record_bytes}); skipped to its end",
            head,
        )
        self._index += 1
        return error

    def _check_pending(self, errors: list[InvalidRecord]) -> None:
        if len(self._pending) <= self.max_record_bytes:
            return
        errors.append(self._too_long(bytes(self._pending[: self.max_record_bytes])))
        self._pending = bytearray()
        self._skipping = True
