"""Gate 1 on real landed CCLF: clean deliveries pass; a re-delivery with bad NPIs is
rejected, with failing rows named by (load, file, line) and no source value anywhere."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl import manifest
from etl.landing import land_unit
from etl.quality import reject_failed_loads, run_landing_gate
from etl.quality.formats import FORMATS, is_valid_npi
from etl.sources.cclf.synth import generate
from etl.sources.registry import get_source
from etl.synth import fake
from etl.warehouse import Warehouse
from tests.integration.quality.tamper import break_npi_check_digits

BENEFICIARIES, MONTHS, SEED = 40, 2, 21
BAD_SHARE = 0.3


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cclf")
    generate(out, beneficiaries=BENEFICIARIES, months=MONTHS, seed=SEED)
    return out


def _land(warehouse: Warehouse, folder: Path) -> list[int]:
    source = get_source("cclf")
    run_id = manifest.start_run(warehouse, "test", "cclf", [str(folder)])
    load_ids = []
    for unit in source.discover(folder):
        outcome = land_unit(warehouse, source, unit, run_id)
        assert outcome.status == "landed", outcome.reason
        assert outcome.load_id is not None
        load_ids.append(outcome.load_id)
    return load_ids


@pytest.fixture(scope="module")
def landed(warehouse: Warehouse, deliveries: Path) -> list[int]:
    return _land(warehouse, deliveries)


def _dq_rows(warehouse: Warehouse, load_ids: list[int]) -> list[sa.RowMapping]:
    with warehouse.engine.connect() as conn:
        return list(conn.execute(sa.text(
            "select * from etl.dq_result where gate = 'landing' and load_id = any(:ids)"
        ), {"ids": load_ids}).mappings())


def test_clean_deliveries_pass(warehouse: Warehouse, landed: list[int], tmp_path: Path) -> None:
    outcome = run_landing_gate(warehouse, "cclf", landed, tmp_path / "docs")
    assert outcome.passed, outcome.summary()
    assert outcome.failed_loads == {}
    assert {r.status for r in outcome.results} == {"passed"}
    checked = {(r.load_id, r.table_name) for r in outcome.results
               if r.check_name == "control_total"}
    assert {load for load, _ in checked} == set(landed)
    with warehouse.engine.connect() as conn:
        staged = set(conn.execute(sa.text(
            "select distinct staging_table from etl.manifest where load_id = any(:ids) "
            "and rows_landed > 0"), {"ids": landed}).scalars())
    assert {table for _, table in checked} == staged
    assert len(staged) >= 9
    names = {r.check_name for r in outcome.results}
    assert {"not_null", "format:npi", "format:mbi", "format:icd10cm", "format:hcpcs",
            "format:ndc", "in_set", "date_range", "not_before", "control_total",
            "quarantine_rate", "gx_agreement"} <= names
    assert len(_dq_rows(warehouse, landed)) == len(outcome.results)
    assert (tmp_path / "docs" / "index.html").is_file()
    run_ids = {row["run_id"] for row in _dq_rows(warehouse, landed)}
    assert None not in run_ids


def test_sql_conditions_match_the_python_validators(warehouse: Warehouse) -> None:
    """PostgreSQL regexes and the set-based Luhn expression agree with Python's."""
    rng = random.Random(4)
    values = [fake.npi(rng) for _ in range(300)] + [fake.mbi(rng) for _ in range(100)]
    values += [v[:9] + str((int(v[9]) + 3) % 10) for v in values[:100]]
    values += ["E119", "I10", "S72001A", "E11.9", "0BP1X2Z", "0BI1X2Z", "99213", "J1100",
               "9921", "00002140701", "0002-1407-01", "V5861", "4513", "abc", "", "1EG4TE5MK73",
               "1SG4TE5MK73", "12345678901"]
    rows = sa.values(sa.column("v", sa.Text), name="sample").data([(v,) for v in values])
    for name, fmt in FORMATS.items():
        query = sa.select(rows.c.v, fmt.sql_condition(rows.c.v).label("ok"))
        with warehouse.engine.connect() as conn:
            found = {v: ok for v, ok in conn.execute(query)}
        assert found == {v: fmt.is_valid(v) for v in values}, name


def test_bad_codes_reject_the_load_with_row_ids_and_no_phi(
        warehouse: Warehouse, deliveries: Path, landed: list[int], tmp_path: Path) -> None:
    package = sorted(deliveries.glob("*ZCY*.zip"))[0]
    folder = tmp_path / "redelivery"
    folder.mkdir()
    changed = break_npi_check_digits(package, folder, BAD_SHARE)
    assert changed
    (load_id,) = _land(warehouse, folder)  # only the changed CCLF5 file is new
    docs = tmp_path / "docs"
    outcome = run_landing_gate(warehouse, "cclf", [load_id], docs)

    assert not outcome.passed
    assert load_id in outcome.failed_loads
    assert "format:npi on partb_physicians.rndrg_prvdr_npi_num" in outcome.failed_loads[load_id]
    (npi,) = [r for r in outcome.results if r.check_name == "format:npi"
              and r.field_name == "rndrg_prvdr_npi_num"]
    assert npi.status == "failed" and npi.severity == "fatal"
    assert npi.violating_rows == len(changed)
    with warehouse.engine.connect() as conn:
        staged = {row.line_number: (row.file_name, row.npi, row.mbi) for row in conn.execute(
            sa.text("select line_number, file_name, rndrg_prvdr_npi_num as npi, "
                    "bene_mbi_id as mbi from stg_cclf.partb_physicians where load_id = :id"),
            {"id": load_id})}
    assert npi.denominator_rows == sum(1 for _, value, _ in staged.values() if value)
    examples = npi.detail["examples"]
    assert 0 < len(examples) <= 10
    for example in examples:
        assert set(example) == {"load_id", "file_name", "line_number"}
        assert example["load_id"] == load_id and example["line_number"] in changed
        file_name, value, _ = staged[example["line_number"]]
        assert example["file_name"] == file_name and not is_valid_npi(value)
    # The other column checks still pass and Great Expectations counted the same.
    assert all(r.status == "passed" for r in outcome.results
               if r.check_name in ("gx_agreement", "control_total", "not_null"))

    # No source value in the recorded details or the Data Docs.
    sensitive = {v for _, npi_value, mbi in staged.values() for v in (npi_value, mbi) if v}
    recorded = json.dumps([dict(row) for row in _dq_rows(warehouse, [load_id])], default=str)
    assert not [v for v in sensitive if v in recorded]
    pages = " ".join(p.read_text(errors="ignore") for p in docs.rglob("*.html"))
    assert not [v for v in sensitive if v in pages]

    # Rejected: out of the flow, files free to be landed again after a fix.
    assert reject_failed_loads(warehouse, outcome) == outcome.failed_loads
    with warehouse.engine.connect() as conn:
        status, reason = conn.execute(sa.text(
            "select status, detail ->> 'rejection_reason' from etl.load where load_id = :id"),
            {"id": load_id}).one()
        files = conn.execute(sa.text(
            "select distinct status from etl.manifest where load_id = :id"),
            {"id": load_id}).scalars().all()
        still_staged = conn.execute(sa.text(
            "select count(*) from stg_cclf.partb_physicians where load_id = :id"),
            {"id": load_id}).scalar_one()
    assert status == "rejected" and "format:npi" in reason
    assert files == ["rejected"]
    assert still_staged == len(staged)
    (again,) = _land(warehouse, folder)
    assert again != load_id
