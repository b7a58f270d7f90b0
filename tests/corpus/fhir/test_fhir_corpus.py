"""The shared corpus's FHIR folders (../shared/corpus/fhir, SOURCES.md §3) through the pipeline.

One run lands all four folders: the SMART Bulk export and the Synthea Bundles (EHR
data), the BFD R4 responses (claims), and the BCDA STU3 samples, which must be refused
as not R4. Each R4 folder's OMOP rows are compared with counts worked out from its own
resources (etl/sources/fhir/truth.py, the rules of docs/fhir_mapping.md).

The checks are one test calling one function per behaviour: pytest-xdist hands the
first quarter of the suite (tests/corpus comes first) to its workers one test at a
time, so a module of several tests would run its pipeline once on each worker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from etl.config import Settings
from etl.paths import project_folder
from etl.pipeline import RunResult, run
from etl.sources.fhir.read import read_json, read_ndjson
from etl.sources.fhir.truth import VOCABULARIES, count_tables
from etl.synth.vocabulary import Vocabulary
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

pytestmark = pytest.mark.corpus

FOLDERS = ("smart_bulk_10_patients", "synthea_r4_bundles", "bfd_r4_endpoint_responses",
           "bcda_site_samples_stu3")
EVENT_TABLES = ("condition_occurrence", "drug_exposure", "measurement", "observation",
                "procedure_occurrence", "device_exposure")
PERSON_TABLES = ("visit_occurrence", "visit_detail", "death", "payer_plan_period",
                 *EVENT_TABLES)
# BFD claim type (EOB id prefix) → visit concept (docs/fhir_mapping.md, "Claims").
BFD_VISITS = {"carrier": 9202, "dme": 9202, "hha": 581476, "hospice": 8546,
              "inpatient": 9201, "outpatient": 9202, "pde": 581458, "snf": 42898160}


@pytest.fixture(scope="module")
def corpus_input(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fhir-corpus")
    for name in FOLDERS:
        if not (corpus_dir / "fhir" / name).is_dir():
            pytest.skip(f"corpus folder fhir/{name} is missing")
        (folder / name).symlink_to(corpus_dir / "fhir" / name)
    return folder


@pytest.fixture(scope="module")
def corpus_run(warehouse: Warehouse, settings: Settings, corpus_input: Path) -> RunResult:
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    return run(settings, "fhir", corpus_input)


def _resources(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The current version of every resource of a folder (the last one read wins, as in
    stg_fhir__resources when no meta.lastUpdated tells them apart)."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".ndjson" and path.name != "log.ndjson":
            with path.open("rb") as stream:
                batches = list(read_ndjson(stream, path.name))
        elif path.suffix == ".json":
            batches = list(read_json(path.read_bytes(), path.name))
        else:
            continue
        for batch in batches:
            for row in batch.rows.to_pylist():
                latest[(row["resource_type"], row["resource_id"])] = json.loads(row["resource"])
    grouped: dict[str, list[dict[str, Any]]] = {}
    for (resource_type, _), resource in sorted(latest.items()):
        grouped.setdefault(resource_type, []).append(resource)
    return grouped


def _omop_counts(warehouse: Warehouse, patient_ids: list[str]) -> dict[str, int]:
    with warehouse.engine.connect() as conn:
        counts = {"person": conn.execute(sa.text(
            "select count(*) from omop.person where person_source_value = any(:ids)"),
            {"ids": patient_ids}).scalar_one()}
        for table in PERSON_TABLES:
            counts[table] = conn.execute(sa.text(
                f"select count(*) from omop.{table} join omop.person using (person_id) "
                "where person_source_value = any(:ids)"), {"ids": patient_ids}).scalar_one()
    return counts


def check_the_stu3_bcda_samples_are_refused_as_not_r4(corpus_run: RunResult) -> None:
    [rejected] = corpus_run.rejected
    assert rejected.unit == "bcda_site_samples_stu3"
    assert "is FHIR STU3" in str(rejected.reason) and "reads FHIR R4" in str(rejected.reason)


def check_the_r4_folders_land_whole(corpus_run: RunResult) -> None:
    landed = {load.unit: load for load in corpus_run.loads if load.status == "landed"}
    assert set(landed) == set(FOLDERS[:3])
    assert all(load.rows_quarantined == 0 for load in landed.values())
    assert corpus_run.published


def check_omop_rows_follow_from_the_folders_resources(
        warehouse: Warehouse, corpus_dir: Path, name: str) -> None:
    resources = _resources(corpus_dir / "fhir" / name)
    vocabulary = Vocabulary.load(project_folder("vocab") / "demo", VOCABULARIES)
    expected, _ = count_tables(resources, vocabulary)
    patient_ids = [patient["id"] for patient in resources["Patient"]]
    got = _omop_counts(warehouse, patient_ids)
    assert got == {table: expected[table] for table in got}, name
    assert got["person"] == len(patient_ids)
    assert sum(got[table] for table in EVENT_TABLES) > 0


def check_every_bfd_claim_type_becomes_a_visit_with_its_cost(warehouse: Warehouse) -> None:
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select visit_source_value, visit_concept_id, visit_type_concept_id, "
            "cost.total_paid, cost.total_charge from omop.visit_occurrence "
            "join omop.cost on cost.cost_event_id = visit_occurrence_id "
            "where visit_type_concept_id = 32810")).all()
    by_type = {source.split("-")[0]: (concept, paid, charge)
               for source, concept, _, paid, charge in rows}
    assert {kind: concept for kind, (concept, _, _) in by_type.items()} == BFD_VISITS
    assert all(paid and paid > 0 and charge for _, paid, charge in by_type.values())
    assert len(rows) == 9  # eight claim types; the SAMHSA search adds a second carrier claim


def check_costs_come_from_claims_with_all_their_amounts(warehouse: Warehouse,
                                                        corpus_dir: Path) -> None:
    with warehouse.engine.connect() as conn:
        types = conn.execute(sa.text(
            "select distinct cost_type_concept_id from omop.cost")).scalars().all()
        empty = conn.execute(sa.text(
            "select count(*) from omop.cost where coalesce(total_charge, total_paid, "
            "paid_by_patient, paid_patient_copay, paid_patient_coinsurance, "
            "paid_patient_deductible, amount_allowed) is null")).scalar_one()
        # Synthea's bills name their encounters: visit_details whose cost rows keep the
        # lines' charge, deductible and coinsurance.
        bills = conn.execute(sa.text(
            "select total_charge, paid_patient_deductible, paid_patient_coinsurance "
            "from omop.cost where cost_event_id in (select visit_occurrence_id from "
            "omop.visit_detail where visit_detail_type_concept_id = 32810)")).all()
        deaths = dict(conn.execute(sa.text(
            "select person_source_value, death_type_concept_id from omop.death "
            "join omop.person using (person_id)")).all())
    assert types == [32810] and empty == 0
    claims = _resources(corpus_dir / "fhir" / "synthea_r4_bundles")["ExplanationOfBenefit"]
    with_shares = [c for c in claims if any(
        a["category"]["coding"][0]["code"].endswith("/line_coinsrnc_amt")
        for item in c["item"] for a in item.get("adjudication", []))]
    assert len(bills) == len(claims) and all(charge for charge, _, _ in bills)
    assert len([b for b in bills if None not in b]) == len(with_shares) > 0
    # Patient.deceasedDateTime is an EHR record (32817), except in Blue Button data:
    # Medicare enrollment, a claims source (32810, as CCLF8).
    assert deaths.pop("567834") == 32810
    assert deaths and set(deaths.values()) == {32817}


def check_bfd_coverage_becomes_payer_plan_periods(warehouse: Warehouse) -> None:
    with warehouse.engine.connect() as conn:
        plans = conn.execute(sa.text(
            "select plan_source_value from omop.payer_plan_period join omop.person "
            "using (person_id) where person_source_value = '567834' order by 1")).scalars().all()
    # Part A is cancelled and Part C has no period: neither is coverage that can be placed.
    assert plans == ["Part B", "Part D"]


def check_the_bfd_patients_current_mbi_is_kept_for_identity(warehouse: Warehouse) -> None:
    with warehouse.engine.connect() as conn:
        mbis = conn.execute(sa.text(
            "select id_value, is_current from dbt_intermediate.int_patient_identifiers__fhir "
            "where patient_id = '567834' and id_system = 'mbi' order by 1")).all()
    assert ("3456789", True) in mbis and len(mbis) == 4


def test_the_fhir_corpus_lands_and_maps(corpus_run: RunResult, warehouse: Warehouse,
                                        corpus_dir: Path) -> None:
    check_the_stu3_bcda_samples_are_refused_as_not_r4(corpus_run)
    check_the_r4_folders_land_whole(corpus_run)
    for name in FOLDERS[:3]:
        check_omop_rows_follow_from_the_folders_resources(warehouse, corpus_dir, name)
    check_every_bfd_claim_type_becomes_a_visit_with_its_cost(warehouse)
    check_costs_come_from_claims_with_all_their_amounts(warehouse, corpus_dir)
    check_bfd_coverage_becomes_payer_plan_periods(warehouse)
    check_the_bfd_patients_current_mbi_is_kept_for_identity(warehouse)
