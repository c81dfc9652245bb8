"""Streaming Parquet output: one Parquet file set per table, in bounded memory (extra ``arrow``).

The library opens no file itself: the caller gives ``open_file(table, part)``,
which returns a writable binary file object for part ``part`` (0, 1, ...) of
``table`` (a table name, :data:`m365parse.arrow.UNKNOWN` or
:data:`m365parse.arrow.ERRORS`).  The command line passes one that creates
``DIR/<table>/part-00000.parquet``; an application may write to a cloud
file system's file objects, or to memory.

Usage::

    from m365parse.parquet import write_parquet

    def open_file(table, part):
        path = out_dir / table / f"part-{part:05d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("wb")

    with blob.open("rb") as stream:
        rows = write_parquet(iter(lambda: stream.read(4 << 20), b""), open_file)

Every file of a table has that table's :func:`m365parse.arrow.schema` (with its
field metadata; JSON columns carry Parquet's JSON logical type); each batch of
:func:`m365parse.arrow.iter_arrow` becomes a row group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from .arrow import iter_arrow

__all__ = ["ParquetTables", "write_parquet"]

#: ``open_file(table, part)`` -> a writable binary file object.
OpenFile = Callable[[str, int], IO[bytes]]
#: Parquet's compression codecs.
Compression = Literal["zstd", "snappy", "gzip", "brotli", "lz4", "none"]


class ParquetTables:
    """Writes per-table Arrow batches to one Parquet stream per table (and part).

    ``max_file_rows`` starts a new part of a table once a part holds that many
    rows (``None``: one file per table).  Memory held: Parquet's buffers of the
    row group being written, per open table.  Use as a context manager, or call
    :meth:`close`; :attr:`rows` counts the rows written per table.
    """

    def __init__(
        self,
        open_file: OpenFile,
        *,
        compression: Compression = "zstd",
        max_file_rows: int | None = None,
    ) -> None:
        if max_file_rows is not None and max_file_rows < 1:
            raise ValueError("max_file_rows must be positive")
        self._open_file = open_file
        self._compression = compression
        self._max_file_rows = max_file_rows
        self._open: dict[str, tuple[pq.ParquetWriter, IO[bytes], int]] = {}  # writer, file, rows in the part
        self._parts: dict[str, int] = {}
        #: Rows written so far, per table.
        self.rows: dict[str, int] = {}

    def write(self, table: str, data: pa.RecordBatch | pa.Table) -> None:
        """Append ``data`` (of ``table``'s schema) to ``table``'s Parquet file."""
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        while data.num_rows:
            writer, sink, held = self._writer(table, data.schema)
            room = data.num_rows if self._max_file_rows is None else self._max_file_rows - held
            part, data = data.slice(0, room), data.slice(room)
            writer.write_table(part, row_group_size=part.num_rows)
            self._open[table] = (writer, sink, held + part.num_rows)
            self.rows[table] = self.rows.get(table, 0) + part.num_rows
            if self._max_file_rows is not None and held + part.num_rows >= self._max_file_rows:
                self._close_one(table)

    def _writer(self, table: str, schema: pa.Schema) -> tuple[pq.ParquetWriter, IO[bytes], int]:
        found = self._open.get(table)
        if found is not None:
            return found
        part = self._parts.get(table, 0)
        self._parts[table] = part + 1
        sink = self._open_file(table, part)
        try:
            writer = pq.ParquetWriter(sink, schema, compression=self._compression)
        except BaseException:
            sink.close()
            raise
        self._open[table] = (writer, sink, 0)
        return writer, sink, 0

    def _close_one(self, table: str) -> None:
        writer, sink, _ = self._open.pop(table)
        try:
            writer.close()
        finally:
            sink.close()

    def close(self) -> None:
        """Finish every open file (Parquet writes its footer on close)."""
        errors = []
        for table in list(self._open):
            try:
                self._close_one(table)
            except Exception as exc:  # close the others all the same
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> ParquetTables:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_parquet(
    chunks: Iterable[bytes | bytearray | memoryview],
    open_file: OpenFile,
    *,
    max_rows: int = 65_536,
    max_buffer_bytes: int = 16 * 1024 * 1024,
    max_file_rows: int | None = None,
    compression: Compression = "zstd",
    **options: Any,
) -> dict[str, int]:
    """Decode JSON lines fed in chunks and write one Parquet file set per table.

    ``max_rows`` and ``max_buffer_bytes`` (and ``options``, such as
    ``max_record_bytes``) go to :func:`m365parse.arrow.iter_arrow`; each batch
    it yields is a row group.  The default buffer (16 MiB of Arrow data) keeps
    the peak RSS of 1 GiB of JSON lines in 4 MiB chunks near 270 MiB (pyarrow's
    own ~90 MiB included); a larger one gives rare tables larger row groups.  Returns the rows written per table (errors
    included, under :data:`m365parse.arrow.ERRORS`).
    """
    with ParquetTables(open_file, compression=compression, max_file_rows=max_file_rows) as out:
        for table, batch in iter_arrow(chunks, max_rows=max_rows, max_buffer_bytes=max_buffer_bytes, **options):
            out.write(table, batch)
    return dict(out.rows)
