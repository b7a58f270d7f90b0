"""The warehouse foundation: migrations, the embedded server, the CLI's plumbing."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from etl.cli import cli
from etl.migrate import current_revision, head_revision, upgrade_to_head
from etl.pg_binary import numeric_binary
from etl.warehouse import Warehouse, column_types, encode_arrow, send_copy


def _object_snapshot(warehouse: Warehouse) -> list[tuple[str, str, str]]:
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select n.nspname, c.relname, c.relkind::text from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname in ('etl', 'vocab', 'omop') order by 1, 2"
        ))
        return [tuple(row) for row in rows]


def test_init_creates_the_three_schemas_at_head(warehouse: Warehouse) -> None:
    assert current_revision(warehouse) == head_revision()
    for schema in ("etl", "vocab", "omop"):
        assert warehouse.schema_exists(schema), schema


def test_second_upgrade_changes_nothing(warehouse: Warehouse) -> None:
    before = _object_snapshot(warehouse)
    revision_before, revision_after = upgrade_to_head(warehouse)
    assert revision_before == revision_after == head_revision()
    assert _object_snapshot(warehouse) == before


def test_cli_init_reports_nothing_changed_on_a_migrated_database(
    warehouse: Warehouse, etl_home: Path
) -> None:
    result = CliRunner().invoke(
        cli, ["--database-url", warehouse.libpq_url, "--etl-home", str(etl_home), "init"]
    )
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.output


# -- COPY: binary and CSV encodings land the same values ------------------------------------

_COPY_COLUMNS = {
    "n_int": ("integer", pa.int32()),
    "n_big": ("bigint", pa.int64()),
    "n_small": ("smallint", pa.int16()),
    "day": ("date", pa.date32()),
    "flag": ("boolean", pa.bool_()),
    "ratio": ("double precision", pa.float64()),
    "code": ("text", pa.large_string()),
    "name": ("text", pa.string()),
    "amount": ("numeric(15,2)", pa.decimal128(15, 2)),
    "rate": ("numeric(22,4)", pa.decimal128(22, 4)),
    "whole": ("numeric(9,0)", pa.decimal128(9, 0)),
    "huge": ("numeric(38,2)", pa.decimal128(38, 2)),
}
_COPY_ROWS: dict[str, list[object]] = {
    "n_int": [0, -1, 2**31 - 1, -(2**31), None, 7],
    "n_big": [0, -1, 2**63 - 1, -(2**63), None, 123456789012],
    "n_small": [0, -1, 32767, -32768, None, 5],
    "day": [dt.date(2000, 1, 1), dt.date(1999, 12, 31), dt.date(1900, 2, 28),
            dt.date(2099, 12, 31), None, dt.date(2024, 2, 29)],
    "flag": [True, False, None, True, False, None],
    "ratio": [0.0, -1.5, 1e300, None, 2.25, 3.5],
    "code": ["A1", "", None, "~", "é ß 中", "x" * 300],
    "name": ["O'Brien, \"Jr\"", "line\nbreak", None, "tab\there", "", "ÿ"],
    "amount": [D("0.00"), D("-0.01"), D("-1234567890123.45"), D("9999999999999.99"), None,
               D("12.50")],
    "rate": [D("0.0001"), D("-0.5000"), D("-999999999999999999.9999"),
             D("999999999999999999.9999"), None, D("10000.0000")],
    "whole": [D("0"), D("-1"), D("999999999"), D("-100000000"), None, D("10000")],
    "huge": [D("0.00"), D("-12345678901234567890123456789012345.67"),
             D("999999999999999999999999999999999999.99"), D("-0.10"), None, D("1.00")],
}


def _copy_table() -> pa.Table:
    return pa.table({name: pa.array(_COPY_ROWS[name], arrow_type)
                     for name, (_, arrow_type) in _COPY_COLUMNS.items()})


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "csv"])
def test_copy_lands_every_type_exactly(warehouse: Warehouse, binary: bool) -> None:
    columns = ", ".join(f"{name} {pg_type}" for name, (pg_type, _) in _COPY_COLUMNS.items())
    rows = _copy_table()
    with warehouse.raw_connection() as conn:
        conn.execute("drop table if exists etl.copy_probe")
        conn.execute(f"create table etl.copy_probe (line integer, {columns})")
        types = column_types(conn, "etl")["copy_probe"] if binary else None
        for offset in (0, 2):  # a slice starts inside the Arrow buffers
            part = rows.slice(offset).add_column(
                0, "line", pa.array(range(offset, rows.num_rows), pa.int32()))
            payload = encode_arrow("etl.copy_probe", part, types)
            assert payload.format == ("binary" if binary else "csv")
            assert send_copy(conn, payload) == rows.num_rows - offset
        landed = conn.execute(
            f"select {', '.join(_COPY_COLUMNS)} from etl.copy_probe order by line").fetchall()
        conn.execute("drop table etl.copy_probe")
    expected = [tuple(_COPY_ROWS[name][i] for name in _COPY_COLUMNS)
                for i in [*range(rows.num_rows), *range(2, rows.num_rows)]]
    assert sorted(landed, key=repr) == sorted(expected, key=repr)


def test_binary_copy_needs_every_column_to_match(warehouse: Warehouse) -> None:
    """A column whose Arrow type is not exactly the table's falls back to CSV."""
    rows = pa.table({"n_big": pa.array([1], pa.int32())})  # int32 into bigint: text
    payload = encode_arrow("etl.t", rows, {"n_big": "bigint"})
    assert payload.format == "csv"
    assert encode_arrow("etl.t", rows, {"n_big": "integer"}).format == "binary"
    assert encode_arrow("etl.t", rows, {}).format == "csv"


def test_numeric_binary_digits() -> None:
    values = pa.array([D("-1234.56"), None, D("0.01")], pa.decimal128(8, 2))
    encoded = numeric_binary(values).to_pylist()
    # ndigits 3 (2 whole digits for precision 8 - 2, 1 fraction), weight 1, sign, dscale 2,
    # then the base-10000 digits: 0000 1234 . 5600
    assert encoded[0] == struct.pack(">7h", 3, 1, 0x4000, 2, 0, 1234, 5600)
    assert encoded[1] is None
    assert encoded[2] == struct.pack(">7h", 3, 1, 0, 2, 0, 0, 100)
