"""m365parse.parquet: one Parquet file set per table, read back equal to to_arrow()."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import IO

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from m365parse import arrow as ma  # noqa: E402
from m365parse.parquet import ParquetTables, write_parquet  # noqa: E402

from .conftest import record  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class _Kept(io.BytesIO):
    """A file in memory that keeps its bytes when closed."""

    def __init__(self, files: dict[tuple[str, int], bytes], key: tuple[str, int]) -> None:
        super().__init__()
        self._files, self._key = files, key

    def close(self) -> None:
        if not self.closed:
            self._files[self._key] = self.getvalue()
        super().close()




def _data() -> bytes:
    golden = sorted((ROOT / "tests" / "golden").glob("*/*.input.jsonl"))
    samples = sorted((ROOT / "m365parse" / "samples").glob("*.json"))
    lines = [p.read_bytes().strip() + b"\n" for p in golden]
    # the samples are Event Hubs bodies: one per line is a shape decode reads too
    lines += [b"".join(p.read_bytes().split(b"\n")) + b"\n" for p in samples if p.name != "SiemAlert.json"]
    # and a record of a table no version knows: the "unknown" table is never empty
    lines.append(json.dumps(record("FutureTableOfTomorrow", Timestamp="2026-11-29T09:59:58Z")).encode() + b"\n")
    return b"".join(lines)


def _opener(files: dict[tuple[str, int], bytes]) -> object:
    def open_file(table: str, part: int) -> IO[bytes]:
        return _Kept(files, (table, part))

    return open_file


def test_written_files_read_back_equal_to_arrow() -> None:
    data = _data()
    files: dict[tuple[str, int], bytes] = {}
    chunks = (data[i : i + 4096] for i in range(0, len(data), 4096))
    rows = write_parquet(chunks, _opener(files), max_rows=5)  # type: ignore[arg-type]
    whole = ma.to_arrow(data)
    assert set(rows) == set(whole) and {t for t, _ in files} == set(whole)
    assert ma.ERRORS in whole and ma.UNKNOWN in whole
    for table, expected in whole.items():
        assert rows[table] == expected.num_rows
        got = pq.read_table(io.BytesIO(files[(table, 0)]))
        assert got.schema.equals(ma.schema(table), check_metadata=True)  # JSON type and field metadata kept
        if table == ma.ERRORS:
            assert got.to_pylist() == expected.to_pylist()
        else:
            assert got.equals(expected.combine_chunks()), table
        meta = pq.ParquetFile(io.BytesIO(files[(table, 0)])).metadata
        assert all(meta.row_group(i).num_rows <= 5 for i in range(meta.num_row_groups))


def test_parts_of_at_most_max_file_rows() -> None:
    one = ma.to_arrow((ROOT / "m365parse" / "samples" / "DeviceEvents.json").read_bytes())["DeviceEvents"]
    table = pa.concat_tables([one, one, one]).combine_chunks()
    assert table.num_rows >= 5
    files: dict[tuple[str, int], bytes] = {}
    with ParquetTables(_opener(files), max_file_rows=2) as out:  # type: ignore[arg-type]
        for batch in table.to_batches(max_chunksize=3):
            out.write("DeviceEvents", batch)
    parts = sorted(part for t, part in files if t == "DeviceEvents")
    assert parts == list(range((table.num_rows + 1) // 2))
    back = pa.concat_tables(pq.read_table(io.BytesIO(files[("DeviceEvents", p)])) for p in parts)
    assert [pq.read_metadata(io.BytesIO(files[("DeviceEvents", p)])).num_rows for p in parts][:-1] == [2] * (
        len(parts) - 1
    )
    assert back.equals(table)
    assert out.rows == {"DeviceEvents": table.num_rows}
    with pytest.raises(ValueError):
        ParquetTables(_opener(files), max_file_rows=0)  # type: ignore[arg-type]


def test_files_are_closed_when_writing_fails() -> None:
    files: dict[tuple[str, int], bytes] = {}
    table = ma.to_arrow((ROOT / "m365parse" / "samples" / "DeviceInfo.json").read_bytes())["DeviceInfo"]
    out = ParquetTables(_opener(files))  # type: ignore[arg-type]
    out.write("DeviceInfo", table)
    with pytest.raises((ValueError, pa.ArrowInvalid)):
        out.write("DeviceInfo", pa.table({"other": [1]}))  # not the schema of the open file
    out.close()
    assert pq.read_table(io.BytesIO(files[("DeviceInfo", 0)])).equals(table.combine_chunks())
