"""m365parse.arrow: schemas derived from the structs, and values equal to decode()'s."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

pa = pytest.importorskip("pyarrow")

import m365parse  # noqa: E402
from m365parse import arrow as ma  # noqa: E402
from m365parse.record import UnknownRecord  # noqa: E402
from m365parse.tables import DOCUMENTED_TYPES, RECORD_TYPES, TABLES  # noqa: E402

from .conftest import body, record  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = sorted(p for p in (ROOT / "tests" / "golden").glob("*/*.input.*") if p.suffix in (".json", ".jsonl"))
SAMPLES = sorted((ROOT / "m365parse" / "samples").glob("*.json"))
INPUTS = GOLDEN + SAMPLES
ENVELOPE = ["time", "tenantId", "operationName", "_TimeReceivedBySvc", "Tenant"]


# --- the schema ---------------------------------------------------------------------


def _expected_type(annotation: Any) -> Any:
    info = msgspec.inspect.type_info(annotation)
    if isinstance(info, msgspec.inspect.UnionType):
        inner = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        info = inner[0] if len(inner) == 1 else info
    simple = {
        msgspec.inspect.StrType: pa.string(),
        msgspec.inspect.IntType: pa.int64(),
        msgspec.inspect.FloatType: pa.float64(),
        msgspec.inspect.BoolType: pa.bool_(),
        msgspec.inspect.DateTimeType: pa.timestamp("ns", "UTC"),
    }
    if type(info) in simple:
        return simple[type(info)]
    if isinstance(info, msgspec.inspect.UnionType) and any(
        isinstance(t, msgspec.inspect.StrType) for t in info.types
    ):
        return pa.string()
    return pa.json_()


@pytest.mark.parametrize("table", sorted(TABLES))
def test_schema_of_every_table_follows_its_struct(table: str) -> None:
    sch = ma.schema(table)
    fields = msgspec.structs.fields(TABLES[table])
    envelope = [] if table == "SiemAlert" else ENVELOPE
    trailer = ["extra", "envelope_extra"]
    assert sch.names == envelope + [f.encode_name for f in fields] + trailer
    for f in fields:
        field = sch.field(f.encode_name)
        assert field.type == _expected_type(f.type), f.encode_name
        assert field.nullable
        documented = DOCUMENTED_TYPES.get(table, {}).get(f.encode_name)
        meta = field.metadata or {}
        assert meta.get(b"kusto_type") == (documented.encode() if documented else None)
        assert meta[b"m365parse.role"] == b"column"
    if envelope:
        assert sch.field("time").type == pa.timestamp("ns", "UTC")
        assert sch.field("tenantId").type == pa.string()
        assert sch.field("time").metadata[b"m365parse.role"] == b"envelope"
    assert sch.field("extra").type == pa.json_()
    assert sch.metadata[b"m365parse.table"] == table.encode()
    assert ma.schema(TABLES[table], envelope=bool(envelope)) == sch


def test_schema_of_unknown_errors_and_bad_names() -> None:
    assert ma.schema(ma.UNKNOWN).names == [*ENVELOPE, "category", "properties", "extra", "envelope_extra"]
    assert ma.schema(ma.ERRORS).names == ["index", "path", "reason", "raw"]
    assert ma.schema(ma.ERRORS).field("raw").type == pa.binary()
    assert ma.UNKNOWN not in TABLES and ma.ERRORS not in TABLES
    with pytest.raises(m365parse.M365ParseError, match="NoSuchTable"):
        ma.schema("NoSuchTable")
    with pytest.raises(TypeError):
        ma.schema(int)  # type: ignore[arg-type]


class _Inner(msgspec.Struct):
    a: int
    b: str | None = None


class _Future(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """The kinds of field the tables of other issues bring: float, str|list, nested structs."""

    Score: float | None = None
    Names: str | list[Any] | None = None
    Owner: _Inner | None = None
    Entities: list[_Inner] | None = None
    Counts: dict[str, int] | None = None
    Flag: bool | None = None
    When: m365parse._values.Timestamp | None = None
    Anything: Any = None


def test_schema_of_any_struct_is_derived_generically() -> None:
    sch = ma.schema(_Future, envelope=False)
    assert [(f.name, f.type) for f in sch] == [
        ("Score", pa.float64()),
        ("Names", pa.string()),
        ("Owner", pa.json_()),
        ("Entities", pa.json_()),
        ("Counts", pa.json_()),
        ("Flag", pa.bool_()),
        ("When", pa.timestamp("ns", "UTC")),
        ("Anything", pa.json_()),
        ("extra", pa.json_()),
        ("envelope_extra", pa.json_()),
    ]


def test_records_of_any_struct_convert() -> None:
    class FutureRecord(m365parse.Record, tag_field="category", tag="AdvancedHunting-Future"):
        properties: _Future

    raw = body(
        record(
            "Future",
            Score=1.5,
            Names=["x", "y"],
            Owner={"a": 1},
            Entities=[{"a": 2, "b": "z"}],
            Counts={"k": 3},
            When="2024-05-14T08:41:56.5950497Z",
            Anything="text",
        ),
        record("Future", Names="plain", Anything={"k": [1]}),
    )
    recs = msgspec.json.decode(raw, type=dict[str, list[FutureRecord]])["records"]
    table = ma.records_to_arrow(recs)
    assert table.schema.metadata[b"m365parse.table"] == b"Future"
    rows = _actual_rows(table)
    assert rows[0]["Score"] == 1.5 and rows[1]["Score"] is None
    assert rows[0]["Names"] == '["x","y"]' and rows[1]["Names"] == "plain"
    assert json.loads(rows[0]["Owner"]) == {"a": 1, "b": None} or json.loads(rows[0]["Owner"]) == {"a": 1}
    assert json.loads(rows[0]["Entities"]) == [{"a": 2, "b": "z"}]
    assert json.loads(rows[0]["Counts"]) == {"k": 3}
    assert json.loads(rows[0]["Anything"]) == "text" and json.loads(rows[1]["Anything"]) == {"k": [1]}
    # no origin to read the text again: microseconds, as timestamp_ns gives then
    assert table.column("When").cast(pa.int64()).to_pylist()[0] == m365parse.timestamp_ns(recs[0], "When")


# --- values equal to decode()'s ----------------------------------------------------------


def _expected_row(rec: m365parse.Record) -> dict[str, Any]:
    """A row built from decode()'s record by plain Python, independently of the module."""
    row: dict[str, Any] = {}
    if rec.category is not None:  # streamed records: SIEM alerts (and API kinds) have no envelope
        for key in ENVELOPE:
            value = getattr(rec, key)
            row[key] = m365parse.timestamp_ns(rec, key) if isinstance(value, datetime) else value
    if isinstance(rec, UnknownRecord):
        row["category"] = rec.category
        row["properties"] = ("json", rec.properties)
    elif (ma._properties_type(type(rec)) or TABLES.get(rec.table)) is None:  # no struct of its own
        row["properties"] = ("json", rec.properties)
    else:  # the table's own columns (an export row's struct adds workspace ones, in envelope_extra)
        for f in msgspec.structs.fields(ma._properties_type(type(rec)) or TABLES[rec.table]):
            value = getattr(rec.properties, f.name)
            if isinstance(value, datetime):
                value = m365parse.timestamp_ns(rec, f.encode_name)
            elif isinstance(value, (dict, list)) or (value is not None and _expected_type(f.type) == pa.json_()):
                value = ("json", value)
            row[f.encode_name] = value
    row["extra"] = ("json", rec.extra) if rec.extra else None
    row["envelope_extra"] = ("json", rec.envelope_extra) if rec.envelope_extra else None
    return row


def _actual_rows(table: Any) -> list[dict[str, Any]]:
    columns = {}
    for name, column in zip(table.column_names, table.columns):
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        elif isinstance(column.type, pa.ExtensionType):
            column = column.cast(pa.string())
        columns[name] = column.to_pylist()
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def _comparable(table: Any) -> list[dict[str, Any]]:
    """Rows with JSON columns decoded (key order is not part of a JSON object's value)."""
    json_columns = [f.name for f in table.schema if isinstance(f.type, pa.BaseExtensionType)]
    rows = _actual_rows(table)
    for row in rows:
        for name in json_columns:
            if row[name] is not None:
                row[name] = msgspec.json.decode(row[name])
    return rows


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, tuple) and expected[0] == "json":  # structs and datetimes as msgspec writes them
        return actual is not None and msgspec.json.decode(actual) == msgspec.json.decode(msgspec.json.encode(expected[1]))
    return bool(expected == actual) and type(expected) is type(actual)


def _check(batch: m365parse.Batch, tables: dict[str, Any]) -> int:
    by_table: dict[str, list[m365parse.Record]] = {}
    for rec in batch.records:
        by_table.setdefault(ma.UNKNOWN if isinstance(rec, UnknownRecord) else rec.table, []).append(rec)
    assert set(tables) == set(by_table) | ({ma.ERRORS} if batch.errors else set())
    checked = 0
    for name, recs in by_table.items():
        rows = _actual_rows(tables[name])
        assert len(rows) == len(recs)
        for rec, row in zip(recs, rows):
            expected = _expected_row(rec)
            assert list(row) == list(expected)
            for key, value in expected.items():
                assert _same(value, row[key]), (name, key, value, row[key])
                checked += 1
    if batch.errors:
        errors = tables[ma.ERRORS].to_pylist()
        assert errors == [{"index": e.index, "path": e.path, "reason": e.reason, "raw": e.raw} for e in batch.errors]
        checked += len(errors)
    return checked


@pytest.mark.parametrize("path", INPUTS, ids=[f"{p.parent.name}/{p.name}" for p in INPUTS])
def test_values_equal_decode(path: Path) -> None:
    data = path.read_bytes()
    batch = m365parse.decode(data)
    assert _check(batch, ma.to_arrow(data)) > 0
    assert _check(batch, ma.to_arrow(batch)) > 0


def test_every_7th_digit_is_kept() -> None:
    data = b"".join(p.read_bytes().strip() + b"\n" for p in SAMPLES if p.name != "SiemAlert.json")
    tables = ma.to_arrow(m365parse.decode(data))
    seen = 0
    for table in tables.values():
        for column in table.columns:
            if pa.types.is_timestamp(column.type):
                seen += sum(1 for ns in column.cast(pa.int64()).to_pylist() if ns is not None and ns % 1000)
    assert seen > 50


def test_values_a_column_cannot_hold_go_to_extra() -> None:
    data = body(
        record("DeviceProcessEvents", ProcessId=2**70, Timestamp="0001-01-01T00:00:00Z", FileName="a.exe"),
        record("DeviceProcessEvents", ProcessId=5, Timestamp="2024-05-14T08:41:56.5950497Z"),
    )
    table = ma.to_arrow(data)["DeviceProcessEvents"]
    rows = _actual_rows(table)  # timestamps as integers: to_pylist() needs pandas for nanoseconds
    assert rows[0]["ProcessId"] is None and rows[0]["Timestamp"] is None and rows[0]["FileName"] == "a.exe"
    assert json.loads(rows[0]["extra"]) == {"ProcessId": 2**70, "Timestamp": "0001-01-01T00:00:00Z"}
    assert rows[1]["ProcessId"] == 5 and rows[1]["extra"] is None
    assert table.column("Timestamp").cast(pa.int64())[1].as_py() == 1715676116595049700


@pytest.mark.parametrize("lines", [False, True])
def test_a_text_with_a_lone_surrogate_goes_to_extra(lines: bool) -> None:
    # Arrow strings are UTF-8: a lone surrogate (json.loads and decode() read the escape)
    # cannot be in a string column; as any value a column cannot hold, it is kept in extra.
    records = [
        record("DeviceProcessEvents", FileName="a\ud800b", AdditionalFields={"x": "c\udc00"}, NewColumn="z\udfff"),
        record("DeviceProcessEvents", FileName="ok.exe", AdditionalFields="plain\ud801", ProcessId=7),
    ]
    data = b"\n".join(json.dumps(r).encode() for r in records) if lines else body(*records)
    batch = m365parse.decode(data)
    assert not batch.errors and batch.records[0].properties.FileName == "a\ud800b"
    tables = ma.to_arrow(data)
    assert list(tables) == ["DeviceProcessEvents"]
    rows = _actual_rows(tables["DeviceProcessEvents"])
    assert rows[0]["FileName"] is None and rows[1]["FileName"] == "ok.exe" and rows[1]["ProcessId"] == 7
    assert json.loads(rows[0]["AdditionalFields"]) == {"x": "c\udc00"}  # JSON text: the escape, lossless
    assert rows[1]["AdditionalFields"] is None
    assert json.loads(rows[0]["extra"]) == {"NewColumn": "z\udfff", "FileName": "a\ud800b"}
    assert json.loads(rows[1]["extra"]) == {"AdditionalFields": "plain\ud801"}
    assert [name for name, _ in ma.iter_arrow([data])] == ["DeviceProcessEvents"]


def test_errors_and_unknown_tables() -> None:
    data = (
        json.dumps(record("DeviceInfo", DeviceName="a")).encode()
        + b"\nnot json\n"
        + json.dumps(record("BrandNewTable", Foo=[1, {"x": "y"}])).encode()
        + b"\n"
    )
    tables = ma.to_arrow(data)
    assert set(tables) == {"DeviceInfo", ma.UNKNOWN, ma.ERRORS}
    assert tables[ma.ERRORS].to_pylist()[0]["index"] == 1
    assert tables[ma.ERRORS].to_pylist()[0]["raw"] == b"not json"
    unknown = _actual_rows(tables[ma.UNKNOWN])[0]
    assert unknown["category"] == "AdvancedHunting-BrandNewTable"
    assert json.loads(unknown["properties"]) == {"Foo": [1, {"x": "y"}]}
    assert ma.to_arrow(b"") == {}
    with pytest.raises(m365parse.InvalidInput):
        ma.to_arrow(b"nope")


# --- streaming ------------------------------------------------------------------------


def _jsonl() -> bytes:
    return b"".join(p.read_bytes().strip() + b"\n" for p in GOLDEN if p.suffix == ".jsonl")


@pytest.mark.parametrize(("chunk", "max_rows"), [(7, 1), (97, 3), (1 << 20, 65536)])
def test_iter_arrow_equals_to_arrow(chunk: int, max_rows: int) -> None:
    data = _jsonl() * 3
    whole = ma.to_arrow(data)
    pieces: dict[str, list[Any]] = {}
    for name, rb in ma.iter_arrow((data[i : i + chunk] for i in range(0, len(data), chunk)), max_rows=max_rows):
        assert 0 < rb.num_rows <= max_rows
        assert rb.schema == ma.schema(name)
        pieces.setdefault(name, []).append(rb)
    assert set(pieces) == set(whole)
    for name, batches in pieces.items():
        streamed = pa.Table.from_batches(batches)
        assert streamed.schema == whole[name].schema
        assert _comparable(streamed) == _comparable(whole[name]), name  # error indexes count the whole stream


def test_iter_arrow_flushes_when_the_buffer_is_full() -> None:
    data = _jsonl() * 5
    got = list(ma.iter_arrow([data], max_buffer_bytes=1))
    assert sum(rb.num_rows for _, rb in got) == sum(t.num_rows for t in ma.to_arrow(data).values())
    with pytest.raises(ValueError):
        next(ma.iter_arrow([data], max_rows=0))


# --- the engines, without copies ----------------------------------------------------------


def _sample_table() -> Any:
    return ma.to_arrow((ROOT / "m365parse" / "samples" / "DeviceProcessEvents.json").read_bytes())[
        "DeviceProcessEvents"
    ]


def _address(array: Any) -> int:
    """Where the first int64 value of ``array`` is in memory."""
    return int(array.buffers()[1].address + array.offset * 8)


def test_polars_reads_without_copy() -> None:
    pl = pytest.importorskip("polars")
    table = _sample_table()
    frame = pl.from_arrow(table, rechunk=False)
    assert frame.height == table.num_rows
    assert frame["ProcessId"].to_list() == table.column("ProcessId").to_pylist()
    assert _address(table.column("ProcessId").chunk(0)) == _address(frame["ProcessId"].to_arrow())
    ts = frame["Timestamp"].cast(pl.Int64).to_list()
    assert ts == table.column("Timestamp").cast(pa.int64()).to_pylist()


def test_duckdb_scans_the_arrow_table() -> None:
    duckdb = pytest.importorskip("duckdb")
    table = _sample_table()
    con = duckdb.connect()
    con.register("t", table)
    got = con.execute(
        "select count(*), sum(ProcessId), max(epoch_ns(Timestamp)), "
        "count(*) filter (where json_valid(extra) or extra is null) from t"
    ).fetchone()
    ids = [v for v in table.column("ProcessId").to_pylist() if v is not None]
    ns = table.column("Timestamp").cast(pa.int64()).to_pylist()
    assert got == (table.num_rows, sum(ids), max(ns), table.num_rows)


def test_pandas_without_copy() -> None:
    pd = pytest.importorskip("pandas")
    table = _sample_table()
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    assert len(frame) == table.num_rows
    assert _address(table.column("ProcessId").chunk(0)) == _address(pa.array(frame["ProcessId"].array))
    assert frame["FileName"].tolist() == table.column("FileName").to_pylist()


def test_the_core_imports_without_pyarrow() -> None:
    code = (
        "import sys; sys.modules['pyarrow'] = None; import m365parse; "
        "assert 'pyarrow' not in [m for m in sys.modules if sys.modules[m] is not None]; "
        "print(len(m365parse.decode(b'{\"records\": []}').records))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"


def test_record_types_cover_every_table() -> None:
    assert set(RECORD_TYPES) | {"SiemAlert"} == set(TABLES)


def test_a_batch_of_records_from_several_inputs() -> None:
    batches = [m365parse.decode(p.read_bytes()) for p in SAMPLES]
    merged = m365parse.Batch([r for b in batches for r in b.records], [e for b in batches for e in b.errors])
    assert _check(merged, ma.to_arrow(merged)) > 0


def test_tables_of_gives_the_positions_of_rows() -> None:
    data = b"".join(p.read_bytes().strip() + b"\n" for p in GOLDEN if p.suffix == ".jsonl")
    records = m365parse.decode(data).records
    for name, (table, positions) in ma.tables_of(records).items():
        assert table.num_rows == len(positions)
        for p in positions:
            assert isinstance(records[p], UnknownRecord) if name == ma.UNKNOWN else records[p].table == name
        assert positions == sorted(positions)
    assert sorted(p for _, (_, ps) in ma.tables_of(records).items() for p in ps) == list(range(len(records)))


def test_one_decode_path_is_taken_for_clean_input_only() -> None:
    clean = (ROOT / "m365parse" / "samples" / "DeviceProcessEvents.json").read_bytes()
    assert ma._one_decode(clean) is not None
    odd = [
        "2024-05-14T10:41:56.5950497+02:00",  # an offset
        "2024-05-14 08:41:56.5950497Z",  # a space
        "",  # empty
        "2024-05-14T08:41:56.12345678901Z",  # more than 9 digits
        "2024-02-30T08:41:56Z",  # no such day
    ]
    for text in odd:
        data = body(record("DeviceProcessEvents", Timestamp=text, ProcessId=1))
        assert ma._one_decode(data) is None, text
        assert _check(m365parse.decode(data), ma.to_arrow(data)) > 0
    # beyond nanoseconds: decode() and the misfit rule (test above) take it
    assert ma._one_decode(body(record("DeviceProcessEvents", Timestamp="0001-01-01T00:00:00Z"))) is None
    # a value a column cannot hold (an integer beyond int64): decode() and the misfit rule too
    big = body(record("DeviceProcessEvents", Timestamp="2024-05-14T08:41:56.5950497Z", ProcessId=2**70))
    assert ma._one_decode(big) is None
    assert json.loads(ma.to_arrow(big)["DeviceProcessEvents"].column("extra")[0].as_py()) == {"ProcessId": 2**70}


def test_one_decode_tables_equal_tables_of_decode() -> None:
    data = b"".join(b"".join(p.read_bytes().split(b"\n")) + b"\n" for p in SAMPLES if p.name != "SiemAlert.json")
    lines = b"".join(
        line + b"\n"
        for body_line in data.splitlines()
        for line in (msgspec.json.encode(r) for r in msgspec.json.decode(body_line)["records"])
    )
    _one_decode_same_as_decode(lines)


def _one_decode_same_as_decode(lines: bytes) -> None:
    once = ma.one_decode_tables(lines)
    assert once is not None
    twice = ma.tables_of(m365parse.decode(lines).records)
    assert set(once) == set(twice)
    for name, (table, positions) in twice.items():
        assert once[name][1] == positions
        assert once[name][0].equals(table), name


@pytest.mark.parametrize("piece", [1, 700, 5000, 10**9])
def test_one_decode_tables_in_pieces_equal_tables_of_decode(monkeypatch: pytest.MonkeyPatch, piece: int) -> None:
    """JSON lines larger than a piece are converted piece by piece (cut at line ends, blank
    lines and a last line without its newline included); the tables are the same."""
    data = b"".join(b"".join(p.read_bytes().split(b"\n")) + b"\n" for p in SAMPLES if p.name != "SiemAlert.json")
    records = [msgspec.json.encode(r) for line in data.splitlines() for r in msgspec.json.decode(line)["records"]]
    lines = b"\n".join(line + (b"\n\n" if i % 7 == 3 else b"") for i, line in enumerate(records))
    monkeypatch.setattr(ma, "_PIECE_BYTES", piece)
    pieces = list(ma._line_pieces(lines, piece))
    assert b"".join(pieces) == lines and all(p.endswith(b"\n") for p in pieces[:-1])
    assert (len(pieces) == 1) == (piece == 10**9)
    _one_decode_same_as_decode(lines)
