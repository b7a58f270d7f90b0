"""The whole X12 corpus landed into a real warehouse (landing only, no dbt): which files
land and which are rejected under the default control policy, and what the quarantine
records for the transaction sets, claims and payments that could not land."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.landing import LoadOutcome, land_unit
from etl.sources.x12 import SOURCE
from etl.warehouse import Warehouse

IMSWEB = "837/imsweb_x12-parser"


@pytest.fixture(scope="module")
def outcomes(warehouse: Warehouse, corpus_dir: Path) -> dict[str, LoadOutcome]:
    root = corpus_dir / "x12"
    if not root.is_dir():
        pytest.skip(f"no x12 folder in the corpus at {corpus_dir}")
    return {unit.name: land_unit(warehouse, SOURCE, unit, None)
            for unit in SOURCE.discover(root)}


def test_every_corpus_file_is_a_unit(outcomes: dict[str, LoadOutcome]) -> None:
    assert len(outcomes) == 55
    assert {outcome.status for outcome in outcomes.values()} == {"landed", "rejected"}


def test_rejected_files_are_the_invalid_ones_and_those_failing_control_checks(
        outcomes: dict[str, LoadOutcome]) -> None:
    rejected = {name for name, outcome in outcomes.items() if outcome.status == "rejected"}
    expected = {name for name in outcomes if name.startswith(f"{IMSWEB}/")}
    expected.add("835/keironstoddart_edi-835-parser/blue_cross_nc_sample.txt")
    assert rejected == expected
    for name in rejected:
        assert outcomes[name].reason, name


def test_a_rejection_names_the_file_position_and_reason(
        outcomes: dict[str, LoadOutcome]) -> None:
    reason = outcomes[f"{IMSWEB}/invalid/x12_segments_out_of_order.txt"].reason or ""
    assert reason.startswith("ST*837*987654 at segment 3 rejected: ")
    assert "segment 12: N4 is out of order in loop 2010AA" in reason


def test_quarantined_claims_are_recorded_with_segment_and_reason(
        outcomes: dict[str, LoadOutcome], warehouse: Warehouse) -> None:
    name = "837/linuxforhealth_x12/837_005010X222A2/demo.example9.837"
    assert outcomes[name].status == "landed" and outcomes[name].rows_quarantined == 1
    with warehouse.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "select line_number, field, reason from etl.quarantine where file_name = %s",
            (name,)).one()
    assert row.line_number == 20 and row.field == "CLM05-1"
    assert row.reason.startswith("claim CLM01='153829140' at segment 20 quarantined: ")
    assert "ISA16 declares ':'" in row.reason


def test_landed_files_fill_the_staging_tables(outcomes: dict[str, LoadOutcome],
                                              warehouse: Warehouse) -> None:
    counts = warehouse.table_counts("stg_x12")
    landed = [o for o in outcomes.values() if o.status == "landed"]
    assert counts["transaction_sets"] == sum(o.rows_landed.get("transaction_sets", 0)
                                             for o in landed) == 30
    assert counts["claims"] > 0 and counts["claim_payments"] > 0
