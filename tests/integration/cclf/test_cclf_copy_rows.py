"""Landing's binary COPY rows (copy_rows.py) land exactly what the Arrow parse reads.

Landing writes each CCLF record straight into a binary COPY row; `parse_file` types the
same records into Arrow columns. Both use the same typing rules (values.py), so every
staging row must equal the Arrow row, for every file and every kind of value.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from etl.sources.cclf.layout import FileLayout, layouts
from etl.sources.cclf.package import discover
from etl.sources.cclf.parse import iter_landing_batches, parse_file
from etl.sources.cclf.records import format_record
from etl.sources.cclf.synth import generate
from etl.warehouse import CopyPayload, Warehouse, send_copy

LOAD_ID = -7  # no real load has it; the transaction is rolled back anyway


@pytest.fixture(scope="module")
def synthetic_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, bytes]]:
    """Every CCLF file of a small synthetic population (deliveries concatenated), by file
    id, under its first delivery's name."""
    out = tmp_path_factory.mktemp("cclf-copy")
    generate(out, beneficiaries=60, months=4, seed=5)
    files: dict[str, tuple[str, bytes]] = {}
    for delivery in discover(out):
        for file_id in layouts():
            member = delivery.member(file_id)
            if member is not None and member.size:
                name, data = files.get(file_id, (member.name, b""))
                files[file_id] = (name, data + member.read_bytes())
    return files


def _edge_lines(layout: FileLayout) -> bytes:
    """Values at the edges of the typing rules, and lines that must be rejected."""
    if layout.file_id == "CCLF1":
        rows = [
            {"cur_clm_uniq_id": "1", "clm_pmt_amt": "-         12345.6",
             "clm_thru_dt": "9999-12-31"},
            {"cur_clm_uniq_id": "2", "clm_pmt_amt": " 0000000000000.00", "prncpl_dgns_cd": "~"},
            {"cur_clm_uniq_id": "3", "clm_pmt_amt": "-9999999999999.99",
             "clm_from_dt": "2024-02-29"},
            {"cur_clm_uniq_id": "4", "clm_pmt_amt": "  12.5ab         "},  # rejected
            {"cur_clm_uniq_id": "5", "clm_from_dt": "2023-02-29"},  # rejected
            {"cur_clm_uniq_id": "6", "clm_type_cd": "6A"},  # rejected: 9(2) code
        ]
    elif layout.file_id == "CCLF8":
        rows = [{"bene_mbi_id": "1S00E00AA01", "bene_1st_name": "José", "bene_last_name": "Ñúñez"},
                {"bene_mbi_id": "1S00E00AA0É"}]  # rejected: not ASCII in a code
    elif layout.file_id == "CCLF2":
        rows = [{"cur_clm_uniq_id": "7", "clm_line_num": 3,
                 "clm_line_srvc_unit_qty": Decimal("-2.5")}]
    else:
        return b""
    text = "".join(format_record(layout, row) + "\n" for row in rows)
    return text.encode("latin-1")


@pytest.mark.parametrize("file_id", list(layouts()))
def test_copy_rows_land_what_the_arrow_parse_reads(
    warehouse: Warehouse, synthetic_files: dict[str, tuple[str, bytes]], file_id: str
) -> None:
    layout = layouts()[file_id]
    name, data = synthetic_files[file_id]
    data += _edge_lines(layout)
    expected = parse_file(data, layout, name)
    batches = list(iter_landing_batches(data, layout, name, batch_lines=97))
    assert all(not isinstance(batch.rows, pa.Table) for batch in batches)
    assert [r for b in batches for r in b.rejects] == expected.rejects
    columns = ", ".join(["file_name", *expected.table.column_names])
    table = f"stg_cclf.{layout.staging_table}"
    with warehouse.raw_connection() as conn:
        for batch in batches:
            rows = batch.rows
            assert not isinstance(rows, pa.Table)
            send_copy(conn, CopyPayload(table, rows.columns, "binary", rows.chunks(LOAD_ID),
                                        rows.num_rows))
        landed = conn.execute(
            f"select {columns} from {table} where load_id = %s order by line_number",
            (LOAD_ID,)).fetchall()
        conn.rollback()
    want = [(name, *row.values()) for row in expected.table.to_pylist()]
    assert landed == want
    assert len(landed) == expected.table.num_rows > 0


def test_an_amount_past_int64_lands_through_arrow(tmp_path: Path) -> None:
    """CCLF5's 22-digit amounts can in principle exceed int64; such a batch goes the
    Arrow way, exactly."""
    layout = layouts()["CCLF2"]
    wide = format_record(layout, {"cur_clm_uniq_id": "1",
                                  "clm_line_srvc_unit_qty": "99999999999999999.9999"})
    [batch] = iter_landing_batches((wide + "\n").encode(), layout, "f", batch_lines=10)
    assert isinstance(batch.rows, pa.Table)
    assert batch.rows.column("clm_line_srvc_unit_qty").to_pylist() == [
        Decimal("99999999999999999.9999")]
