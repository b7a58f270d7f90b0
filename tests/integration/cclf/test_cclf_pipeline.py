"""Synthetic CCLF deliveries through the whole pipeline, checked against their truth.json."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.config import Settings
from etl.paths import project_folder
from etl.pipeline import RunResult, run
from etl.sources.cclf.synth import generate
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

BENEFICIARIES, MONTHS, SEED = 60, 5, 11


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("cclf")
    generate(out, beneficiaries=BENEFICIARIES, months=MONTHS, seed=SEED)
    truth = json.loads((out / "truth.json").read_text())
    return out, truth


@pytest.fixture(scope="module")
def first_run(warehouse: Warehouse, settings: Settings,
              deliveries: tuple[Path, dict[str, object]]) -> RunResult:
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    return run(settings, "cclf", deliveries[0])


def _omop_fingerprint(warehouse: Warehouse) -> dict[str, str]:
    """An md5 over every row of every published OMOP table, in a fixed order."""
    with warehouse.engine.connect() as conn:
        tables = conn.execute(sa.text(
            "select table_name from information_schema.tables where table_schema = 'omop'"
        )).scalars().all()
        return {
            table: conn.execute(sa.text(
                f"select md5(coalesce(string_agg(r::text, '|' order by r::text), '')) "
                f"from omop.{table} as r"
            )).scalar_one()
            for table in tables
        }


def test_every_delivery_lands(first_run: RunResult) -> None:
    assert [load.status for load in first_run.loads].count("landed") == MONTHS + 1  # + run-out
    assert not first_run.rejected
    assert first_run.published


def test_omop_row_counts_equal_truth(first_run: RunResult,
                                     deliveries: tuple[Path, dict[str, object]]) -> None:
    expected = deliveries[1]["tables"]
    assert isinstance(expected, dict)
    got = {table: first_run.omop_counts[table] for table in expected}
    assert got == expected


def test_net_paid_equals_truth(first_run: RunResult, warehouse: Warehouse,
                               deliveries: tuple[Path, dict[str, object]]) -> None:
    paid = warehouse.scalar("select sum(total_paid) from omop.cost")
    assert Decimal(str(paid)) == Decimal(str(deliveries[1]["net_paid_total"]))


def test_every_visit_is_one_surviving_claim(first_run: RunResult, warehouse: Warehouse) -> None:
    duplicated = warehouse.scalar(
        "select count(*) from (select visit_source_value from omop.visit_occurrence "
        "group by 1 having count(*) > 1) as d"
    )
    assert duplicated == 0


def test_rerun_adds_nothing_and_leaves_omop_identical(
    first_run: RunResult, warehouse: Warehouse, settings: Settings,
    deliveries: tuple[Path, dict[str, object]],
) -> None:
    before = _omop_fingerprint(warehouse)
    staged = warehouse.table_counts("stg_cclf")
    again = run(settings, "cclf", deliveries[0])
    assert {load.status for load in again.loads} == {"skipped"}
    assert warehouse.table_counts("stg_cclf") == staged
    assert _omop_fingerprint(warehouse) == before


def test_manifest_records_each_file_once(first_run: RunResult, warehouse: Warehouse) -> None:
    files = warehouse.scalar("select count(*) from etl.manifest where status = 'landed'")
    distinct = warehouse.scalar(
        "select count(*) from (select distinct file_name, sha256 from etl.manifest) as f")
    assert files == distinct
    assert files and int(files) >= 12 * MONTHS


def test_a_delivery_copied_under_another_name_is_not_landed_twice(
    first_run: RunResult, warehouse: Warehouse, settings: Settings,
    deliveries: tuple[Path, dict[str, object]], tmp_path: Path,
) -> None:
    staged = warehouse.table_counts("stg_cclf")
    first = sorted(p for p in deliveries[0].iterdir() if p.name.endswith(".zip"))[0]
    shutil.copy(first, tmp_path / first.name.removesuffix(".zip"))
    again = run(settings, "cclf", tmp_path)
    assert [load.status for load in again.loads] == ["skipped"]
    assert warehouse.table_counts("stg_cclf") == staged


def test_condition_eras_cover_every_mapped_occurrence_once(
    first_run: RunResult, warehouse: Warehouse
) -> None:
    counted = warehouse.scalar("select sum(condition_occurrence_count) from omop.condition_era")
    mapped = warehouse.scalar(
        "select count(*) from omop.condition_occurrence where condition_concept_id <> 0")
    assert counted == mapped and mapped
    outside = warehouse.scalar(
        "select count(*) from omop.condition_occurrence o where condition_concept_id <> 0 "
        "and (select count(*) from omop.condition_era e where e.person_id = o.person_id "
        "and e.condition_concept_id = o.condition_concept_id "
        "and o.condition_start_date between e.condition_era_start_date "
        "and e.condition_era_end_date) <> 1")
    assert outside == 0


@pytest.mark.parametrize("table, concept, start, end", [
    ("condition_era", "condition_concept_id", "condition_era_start_date",
     "condition_era_end_date"),
    ("drug_era", "drug_concept_id", "drug_era_start_date", "drug_era_end_date"),
])
def test_consecutive_eras_are_more_than_30_days_apart(
    first_run: RunResult, warehouse: Warehouse, table: str, concept: str, start: str, end: str
) -> None:
    too_close = warehouse.scalar(
        f"select count(*) from (select {start} - lag({end}) over "
        f"(partition by person_id, {concept} order by {start}) as gap from omop.{table}) g "
        f"where gap <= 30")
    assert too_close == 0
    assert warehouse.scalar(f"select count(*) from omop.{table} where {end} < {start}") == 0


def test_drug_era_gap_days_are_within_the_era(first_run: RunResult, warehouse: Warehouse) -> None:
    assert warehouse.scalar(
        "select count(*) from omop.drug_era where gap_days < 0 or "
        "gap_days > drug_era_end_date - drug_era_start_date") == 0
