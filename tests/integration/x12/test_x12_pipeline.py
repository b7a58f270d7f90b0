"""Synthetic 837/835 files through the whole pipeline, checked against their truth.json."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.config import Settings
from etl.landing import land_unit
from etl.paths import project_folder
from etl.pipeline import RunResult, run
from etl.sources.x12 import SOURCE
from etl.sources.x12.synth import generate
from etl.sources.x12.tables import TABLES
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

CLAIMS, SEED = 200, 5
COST_COLUMNS = ("total_charge", "total_paid", "paid_by_payer", "paid_by_patient",
                "paid_patient_copay", "paid_patient_coinsurance", "paid_patient_deductible",
                "amount_allowed")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("x12")
    generate(out, claims=CLAIMS, seed=SEED)
    return out, json.loads((out / "truth.json").read_text())


@pytest.fixture(scope="module")
def first_run(warehouse: Warehouse, settings: Settings,
              files: tuple[Path, dict[str, object]]) -> RunResult:
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    return run(settings, "x12", files[0])


def test_every_file_lands(first_run: RunResult, files: tuple[Path, dict[str, object]]) -> None:
    assert not first_run.rejected
    assert [load.status for load in first_run.loads].count("landed") == len(files[1]["files"])
    assert first_run.published
    assert not any(load.rows_quarantined for load in first_run.loads)


def test_cdm_source_release_date_is_the_latest_group_date(
        first_run: RunResult, warehouse: Warehouse,
        files: tuple[Path, dict[str, object]]) -> None:
    """GS04 of every functional group sent, read here from the files themselves."""
    group_dates = []
    for path in files[0].rglob("*"):
        text = path.read_text("latin-1") if path.is_file() else ""
        if not text.startswith("ISA"):
            continue
        separator, terminator = text[3], text[105]  # ISA is fixed length (X12.5 ISA)
        group_dates += [segment.strip().split(separator)[4]
                        for segment in text.split(terminator)
                        if segment.strip().startswith("GS" + separator)]
    released = warehouse.scalar("select source_release_date from omop.cdm_source")
    assert group_dates and released.strftime("%Y%m%d") == max(group_dates)


def test_omop_row_counts_equal_truth(first_run: RunResult,
                                     files: tuple[Path, dict[str, object]]) -> None:
    expected = files[1]["tables"]
    assert isinstance(expected, dict)
    assert {table: first_run.omop_counts[table] for table in expected} == expected


def test_cost_totals_equal_truth(first_run: RunResult, warehouse: Warehouse,
                                 files: tuple[Path, dict[str, object]]) -> None:
    sums = ", ".join(f"coalesce(sum({column}), 0)" for column in COST_COLUMNS)
    with warehouse.engine.connect() as conn:
        row = conn.execute(sa.text(f"select {sums} from omop.cost")).one()
    got = {column: Decimal(str(value)).quantize(Decimal("0.01"))
           for column, value in zip(COST_COLUMNS, row, strict=True)}
    expected = files[1]["cost_totals"]
    assert isinstance(expected, dict)
    assert got == {column: Decimal(value) for column, value in expected.items()}


def test_claims_resolve_to_their_current_version(first_run: RunResult, warehouse: Warehouse,
                                                 files: tuple[Path, dict[str, object]]) -> None:
    counts = files[1]["counts"]
    assert isinstance(counts, dict)
    versions = warehouse.scalar("select count(*) from dbt_intermediate.int_claim_versions__x12")
    surviving = warehouse.scalar("select count(*) from dbt_intermediate.int_claims__x12")
    assert (versions, surviving) == (counts["claim_versions"], counts["surviving_claims"])


def test_remittances_without_a_claim_are_reported(first_run: RunResult, warehouse: Warehouse,
                                                  files: tuple[Path, dict[str, object]]) -> None:
    counts = files[1]["counts"]
    assert isinstance(counts, dict)
    unmatched = warehouse.scalar(
        "select count(*) from dbt_intermediate.int_unmatched_remittances__x12")
    assert unmatched == counts["unmatched_remittances"]


def test_every_visit_is_one_surviving_claim(first_run: RunResult, warehouse: Warehouse) -> None:
    duplicated = warehouse.scalar(
        "select count(*) from (select visit_source_value from omop.visit_occurrence "
        "group by 1 having count(*) > 1) as d")
    assert duplicated == 0


def test_a_rerun_lands_nothing(first_run: RunResult, warehouse: Warehouse,
                               files: tuple[Path, dict[str, object]]) -> None:
    """Landing is where a re-run could add rows: every file is skipped (same name and
    sha256 in the manifest), so staging, and the OMOP build made from it, stay as they
    are. (The full second run with its dbt rebuild is left out to keep the test short.)"""
    staged = warehouse.table_counts("stg_x12")
    outcomes = [land_unit(warehouse, SOURCE, unit, None) for unit in SOURCE.discover(files[0])]
    assert {outcome.status for outcome in outcomes} == {"skipped"}
    assert warehouse.table_counts("stg_x12") == staged


def test_a_file_sent_again_under_another_name_adds_no_claim(
    first_run: RunResult, warehouse: Warehouse, files: tuple[Path, dict[str, object]],
) -> None:
    names = files[1]["files"]
    assert isinstance(names, list)
    resent = [name for name in names if name.startswith("resent_")]
    assert len(resent) == 1
    original = resent[0].removeprefix("resent_")
    with warehouse.engine.connect() as conn:
        landed = dict(conn.execute(sa.text(
            "select file_name, count(*) from stg_x12.transaction_sets group by file_name")).all())
        kept = dict(conn.execute(sa.text(
            "select file_name, count(*) from dbt_staging.stg_x12__transaction_sets "
            "group by file_name")).all())
    assert landed[resent[0]] == landed[original] > 0
    assert resent[0] not in kept and kept[original] == landed[original]


def test_a_staging_table_finds_a_load_by_a_brin_index(first_run: RunResult,
                                                        warehouse: Warehouse) -> None:
    """Migration 0008: a BRIN index on load_id per stg_x12 table (no b-tree per row)."""
    with warehouse.engine.connect() as conn:
        found = conn.execute(sa.text(
            "select tablename, indexdef from pg_indexes where schemaname = 'stg_x12'")).all()
    assert sorted(table for table, _ in found) == sorted(table.name for table in TABLES)
    assert all("USING brin (load_id)" in definition for _, definition in found), found
