"""Hand-written FHIR resources through the whole pipeline, one rule of docs/fhir_mapping.md
per test: what the synthetic exports and the corpus do not show on their own (events of
a ward stay, a CARIN bill's patient shares, Blue Button deaths, Bundles and gzip in one
delivery without a manifest)."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from etl.config import Settings
from etl.paths import project_folder
from etl.pipeline import RunResult, run
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CARIN = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def _ref(kind: str, resource_id: str) -> dict[str, str]:
    return {"reference": f"{kind}/{resource_id}"}


def _code(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _money(category: str, amount: str, system: str = CARIN) -> dict[str, Any]:
    return {"category": _code(system, category), "amount": {"value": float(amount),
                                                            "currency": "USD"}}


PATIENTS = [
    {"resourceType": "Patient", "id": "ehr-1", "gender": "female", "birthDate": "1950-01-01",
     "deceasedDateTime": "2024-03-01T10:00:00Z",
     "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]}},
    # A Blue Button 2.0 Patient: Medicare enrollment data, not an EHR record.
    {"resourceType": "Patient", "id": "bb-1", "gender": "male", "birthDate": "1940-01-01",
     "deceasedDateTime": "2023-05-05",
     "meta": {"profile": ["http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Patient"]},
     "identifier": [{"system": "https://bluebutton.cms.gov/resources/variables/bene_id",
                     "value": "-19990000000001"}]},
]
ENCOUNTERS = [
    {"resourceType": "Encounter", "id": "enc-inp", "status": "finished",
     "class": {"code": "IMP"}, "subject": _ref("Patient", "ehr-1"),
     "period": {"start": "2024-01-10T08:00:00Z", "end": "2024-01-15T12:00:00Z"}},
    {"resourceType": "Encounter", "id": "enc-ward", "status": "finished",
     "class": {"code": "IMP"}, "subject": _ref("Patient", "ehr-1"),
     "partOf": _ref("Encounter", "enc-inp"),
     "period": {"start": "2024-01-11T08:00:00Z", "end": "2024-01-12T08:00:00Z"}},
]
OBSERVATIONS = [
    {"resourceType": "Observation", "id": "obs-ward", "status": "final",
     "category": [_code("http://terminology.hl7.org/CodeSystem/observation-category",
                        "vital-signs")],
     "code": _code("http://loinc.org", "8867-4"), "subject": _ref("Patient", "ehr-1"),
     "encounter": _ref("Encounter", "enc-ward"), "effectiveDateTime": "2024-01-11T09:00:00Z",
     "valueQuantity": {"value": 80, "unit": "/min", "system": "http://unitsofmeasure.org",
                       "code": "/min"}},
]


def _condition(condition_id: str, verification: str | None) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "resourceType": "Condition", "id": condition_id, "subject": _ref("Patient", "ehr-1"),
        "encounter": _ref("Encounter", "enc-amb"), "onsetDateTime": "2024-02-01",
        # ICD-10-CM first, SNOMED second: the standard coding wins whatever the order.
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "K92"},
                            {"system": "http://snomed.info/sct", "code": "38341003"}]}}
    if verification:
        condition["verificationStatus"] = _code(VERIFICATION, verification)
    return condition


# A searchset Bundle, as a FHIR search answers: an ambulatory encounter no claim bills,
# and its conditions (only the confirmed one is a condition fact).
SEARCH = {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [
    {"fullUrl": "https://ehr.example.org/fhir/Encounter/enc-amb", "search": {"mode": "match"},
     "resource": {"resourceType": "Encounter", "id": "enc-amb", "status": "finished",
                  "class": {"code": "AMB"}, "subject": _ref("Patient", "ehr-1"),
                  "period": {"start": "2024-02-01T09:00:00Z", "end": "2024-02-01T09:30:00Z"}}},
    *({"fullUrl": f"https://ehr.example.org/fhir/Condition/{c['id']}",
       "search": {"mode": "include"}, "resource": c}
      for c in (_condition("cond-confirmed", "confirmed"), _condition("cond-refuted", "refuted"),
                _condition("cond-provisional", "provisional"),
                _condition("cond-wrong", "entered-in-error"))),
]}
# The bill of the inpatient stay, with CARIN BB categories only (no BFD variables).
BILL = {
    "resourceType": "ExplanationOfBenefit", "id": "bill-1", "status": "active",
    "use": "claim", "type": _code("http://terminology.hl7.org/CodeSystem/claim-type",
                                  "institutional"),
    "patient": _ref("Patient", "ehr-1"),
    "billablePeriod": {"start": "2024-01-10", "end": "2025-01-10"},
    "total": [_money("submitted", "1000.00", ADJUDICATION)],
    "payment": {"amount": {"value": 600.0, "currency": "USD"}},
    "item": [{"sequence": 1, "encounter": [_ref("Encounter", "enc-inp")],
              "productOrService": _code("http://www.ama-assn.org/go/cpt", "99213"),
              "adjudication": [
                  _money("submitted", "1000.00", ADJUDICATION),
                  _money("eligible", "800.00", ADJUDICATION),
                  _money("benefit", "600.00", ADJUDICATION),
                  _money("copay", "20.00", ADJUDICATION),
                  _money("deductible", "100.00", ADJUDICATION),
                  _money("coinsurance", "80.00", ADJUDICATION),
                  _money("paidbypatient", "200.00")]}],
}


def _ndjson(path: Path, resources: list[dict[str, Any]]) -> None:
    data = "".join(json.dumps(resource) + "\n" for resource in resources).encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


@pytest.fixture(scope="module")
def cases_run(warehouse: Warehouse, settings: Settings,
              tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    folder = tmp_path_factory.mktemp("fhir-cases")
    # No manifest: a folder of NDJSON (one gzipped) and a Bundle is one delivery.
    _ndjson(folder / "Patient.ndjson", PATIENTS)
    _ndjson(folder / "Encounter.ndjson", ENCOUNTERS)
    _ndjson(folder / "Observation.000.ndjson.gz", OBSERVATIONS)
    _ndjson(folder / "ExplanationOfBenefit.ndjson", [BILL])
    (folder / "search.json").write_text(json.dumps(SEARCH))
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    return run(settings, "fhir", folder)


def _rows(warehouse: Warehouse, sql: str) -> list[Any]:
    with warehouse.engine.connect() as conn:
        return list(conn.execute(sa.text(sql)))


def test_the_delivery_lands_whole_and_is_published(cases_run: RunResult) -> None:
    assert [(load.status, load.rows_quarantined) for load in cases_run.loads] == [("landed", 0)]
    assert cases_run.published


def test_deaths_carry_the_type_of_the_record_they_come_from(
        cases_run: RunResult, warehouse: Warehouse) -> None:
    deaths = _rows(warehouse, "select person_source_value, death_date::text, "
                              "death_type_concept_id from omop.death join omop.person "
                              "using (person_id) order by 1")
    assert deaths == [("bb-1", "2023-05-05", 32810), ("ehr-1", "2024-03-01", 32817)]


def test_only_confirmed_conditions_are_condition_facts_coded_by_the_standard_coding(
        cases_run: RunResult, warehouse: Warehouse) -> None:
    conditions = _rows(warehouse, "select condition_source_value, condition_concept_id, "
                                  "condition_status_concept_id, condition_type_concept_id "
                                  "from omop.condition_occurrence")
    assert conditions == [("38341003", 316866, 32893, 32817)]


def test_events_of_a_ward_stay_name_its_visit_detail_within_the_stays_visit(
        cases_run: RunResult, warehouse: Warehouse) -> None:
    [row] = _rows(warehouse,
                  "select visits.visit_source_value, details.visit_detail_source_value, "
                  "details.visit_detail_type_concept_id, measurement.value_as_number "
                  "from omop.measurement join omop.visit_occurrence as visits "
                  "using (visit_occurrence_id) join omop.visit_detail as details "
                  "on measurement.visit_detail_id = details.visit_detail_id")
    assert row == ("enc-inp", "enc-ward", 32817, 80)


def test_a_bill_keeps_every_amount_and_encounters_have_no_cost_rows(
        cases_run: RunResult, warehouse: Warehouse) -> None:
    costs = _rows(warehouse,
                  "select visits.visit_source_value, cost_type_concept_id, total_charge, "
                  "total_paid, paid_by_payer, amount_allowed, paid_by_patient, "
                  "paid_patient_copay, paid_patient_deductible, paid_patient_coinsurance "
                  "from omop.cost join omop.visit_occurrence as visits "
                  "on cost.cost_event_id = visits.visit_occurrence_id")
    amounts = [Decimal(value) for value in
               ("1000", "600", "600", "800", "200", "20", "100", "80")]
    assert [(row[0], row[1], [Decimal(str(v)) for v in row[2:]]) for row in costs] == [
        ("enc-inp", 32810, amounts)]
    # The bill is the stay's visit_detail; the ward stay and the ambulatory visit (EHR
    # encounters, no claim) have no cost row.
    details = _rows(warehouse, "select visit_detail_source_value, visit_detail_type_concept_id "
                               "from omop.visit_detail order by 1")
    assert details == [("bill-1", 32810), ("enc-ward", 32817)]
    assert _rows(warehouse, "select visit_source_value, visit_type_concept_id "
                            "from omop.visit_occurrence order by 1") == [
        ("enc-amb", 32817), ("enc-inp", 32817)]
