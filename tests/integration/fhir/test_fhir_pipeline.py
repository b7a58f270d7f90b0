"""Synthetic FHIR exports through the whole pipeline, checked against their truth.json."""

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
from etl.sources.fhir.synth import generate
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

PATIENTS, SEED = 25, 7
BAD_FILE = "Organization.extra.ndjson"
# Good lines of the extra delivery: enough that its two bad lines stay under the landing
# gate's quarantine-rate threshold (1%), so the delivery lands rather than being refused.
GOOD_LINES = 298


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("fhir")
    generate(out, patients=PATIENTS, seed=SEED)
    # A third delivery with good lines, a malformed one (line 2) and one without an id
    # (line 3); unreferenced Organizations change no OMOP count.
    extra = out / "extra"
    extra.mkdir()
    good = [json.dumps({"resourceType": "Organization", "id": f"o-{n}", "name": "A"})
            for n in range(GOOD_LINES)]
    (extra / BAD_FILE).write_text("\n".join([
        good[0],
        '{"resourceType": "Organization", "id": "o-bad", "name": ',
        '{"resourceType": "Organization", "name": "no id"}',
        *good[1:]]) + "\n")
    return out, json.loads((out / "truth.json").read_text())


@pytest.fixture(scope="module")
def first_run(warehouse: Warehouse, settings: Settings,
              exports: tuple[Path, dict[str, Any]]) -> RunResult:
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    return run(settings, "fhir", exports[0])


def _rows(warehouse: Warehouse, sql: str, **params: object) -> list[Any]:
    with warehouse.engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def _final_resources(folder: Path, resource_type: str) -> list[dict[str, Any]]:
    """The newest version of each resource of a type across both exports, minus deletions."""
    latest: dict[str, dict[str, Any]] = {}
    for export in ("export-1", "export-2"):
        for path in sorted((folder / export).glob(f"{resource_type}.*")):
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            for line in data.splitlines():
                resource = json.loads(line)
                latest[resource["id"]] = resource
    deletions = (folder / "export-2" / "Bundle.deleted.000.ndjson")
    for entry in json.loads(deletions.read_text())["entry"]:
        kind, resource_id = entry["request"]["url"].split("/")
        if kind == resource_type:
            latest.pop(resource_id, None)
    return list(latest.values())


def _omop_fingerprint(warehouse: Warehouse) -> dict[str, str]:
    """An md5 over every row of every published OMOP table, without the row's own
    surrogate key (the table's first column): the shared int_events numbers events that
    tie on (source, visit, date, code, concept) in no fixed order, so two builds may give
    two identical readings of one day the other's id."""
    tables = _rows(warehouse, "select table_name, column_name from information_schema.columns "
                              "where table_schema = 'omop' and ordinal_position = 1")
    return {table: _rows(warehouse, f"select md5(coalesce(string_agg((to_jsonb(r) - "
                                    f"'{key}')::text, '|' order by (to_jsonb(r) - '{key}')::text"
                                    f"), '')) from omop.{table} as r")[0][0]
            for table, key in tables}


def test_every_export_lands(first_run: RunResult) -> None:
    assert sorted((load.unit, load.status) for load in first_run.loads) == [
        ("export-1", "landed"), ("export-2", "landed"), ("extra", "landed")]
    assert first_run.published


def test_omop_row_counts_equal_truth(first_run: RunResult,
                                     exports: tuple[Path, dict[str, Any]]) -> None:
    expected = exports[1]["tables"]
    assert {table: first_run.omop_counts[table] for table in expected} == expected


def test_paid_total_equals_truth(first_run: RunResult, warehouse: Warehouse,
                                 exports: tuple[Path, dict[str, Any]]) -> None:
    paid = warehouse.scalar("select sum(total_paid) from omop.cost")
    assert Decimal(str(paid)) == Decimal(exports[1]["paid_total"])


def test_every_version_and_deletion_is_staged_and_only_the_newest_is_current(
        first_run: RunResult, warehouse: Warehouse,
        exports: tuple[Path, dict[str, Any]]) -> None:
    staged = warehouse.scalar("select count(*) from stg_fhir.resources")
    assert staged == exports[1]["staging_rows"] + GOOD_LINES  # + the good Organizations
    current = _rows(warehouse, "select count(*), count(distinct (resource_type, resource_id)) "
                               "from dbt_staging.stg_fhir__resources")[0]
    assert current[0] == current[1]
    assert warehouse.scalar("select count(*) from dbt_staging.stg_fhir__resources "
                            "where resource ->> 'status' = 'entered-in-error'") == 0


def test_a_moved_patient_has_the_newer_address(first_run: RunResult, warehouse: Warehouse,
                                               exports: tuple[Path, dict[str, Any]]) -> None:
    moved = json.loads((exports[0] / "export-2" / "Patient.000.ndjson").read_text()
                       .splitlines()[0])
    zip5 = _rows(warehouse, "select location.zip from omop.person "
                            "join omop.location using (location_id) "
                            "where person_source_value = :id", id=moved["id"])
    assert zip5 == [(moved["address"][0]["postalCode"][:5],)]


def test_malformed_lines_are_quarantined_with_file_line_and_reason(
        first_run: RunResult, warehouse: Warehouse) -> None:
    rejects = _rows(warehouse, "select file_name, line_number, reason from etl.quarantine "
                               "order by line_number")
    assert [(name, line) for name, line, _ in rejects] == [(BAD_FILE, 2), (BAD_FILE, 3)]
    assert rejects[0][2].startswith("not valid JSON")
    assert rejects[1][2] == "Organization without an id"
    assert warehouse.scalar("select count(*) from stg_fhir.resources "
                            "where file_name = :f", f=BAD_FILE) == GOOD_LINES


def test_the_standard_coding_wins_over_the_icd_coding(
        first_run: RunResult, warehouse: Warehouse,
        exports: tuple[Path, dict[str, Any]]) -> None:
    twice = [c for c in _final_resources(exports[0], "Condition") if len(c["code"]["coding"]) == 2]
    assert twice
    by_id = {c["id"]: [coding["code"] for coding in c["code"]["coding"]] for c in twice}
    chosen = dict(_rows(warehouse, "select resource_id, source_code from "
                                   "dbt_intermediate.int_codings__fhir where resource_type = "
                                   "'Condition' and resource_id = any(:ids)", ids=list(by_id)))
    mapped = {resource_id: codes for resource_id, codes in by_id.items()
              if warehouse.scalar("select count(*) from dbt_intermediate.int_code_map where "
                                  "code_system = 'SNOMED' and lookup_code = :c and "
                                  "standard_concept_id is not null", c=codes[1])}
    assert mapped
    assert all(chosen[resource_id] == codes[1] for resource_id, codes in mapped.items())


def test_blood_pressure_panels_become_one_measurement_per_component(
        first_run: RunResult, warehouse: Warehouse,
        exports: tuple[Path, dict[str, Any]]) -> None:
    panels = [o for o in _final_resources(exports[0], "Observation")
              if o["code"]["coding"][0]["code"] == "85354-9"]
    counts = dict(_rows(warehouse, "select measurement_source_value, count(*) "
                                   "from omop.measurement group by 1"))
    assert counts["8480-6"] == counts["8462-4"] == len(panels)
    assert "85354-9" not in counts
    units = _rows(warehouse, "select distinct unit_concept_id from omop.measurement "
                             "where measurement_source_value in ('8480-6', '8462-4')")
    assert units == [(8876,)]  # mm[Hg], looked up among the standard UCUM concepts


def test_type_concepts_tell_where_a_drug_record_comes_from(
        first_run: RunResult, warehouse: Warehouse) -> None:
    types = {row[0] for row in _rows(warehouse, "select distinct drug_type_concept_id "
                                                "from omop.drug_exposure")}
    # EHR prescription, EHR administration record, patient self-report, claim (Part D).
    assert {32838, 32818, 32865, 32810} <= types
    assert types <= {32838, 32818, 32865, 32810, 32817}


def test_refuted_and_provisional_conditions_are_not_condition_facts(
        first_run: RunResult, warehouse: Warehouse,
        exports: tuple[Path, dict[str, Any]]) -> None:
    status = {c["id"]: c.get("verificationStatus", {}).get("coding", [{}])[0].get("code")
              for c in _final_resources(exports[0], "Condition")}
    facts = {key.split("/", 1)[1] for (key,) in _rows(
        warehouse, "select record_key from dbt_intermediate.int_condition_events__fhir")}
    doubtful = {i for i, code in status.items() if code in ("refuted", "provisional")}
    assert doubtful
    assert not doubtful & facts
    assert {i for i, code in status.items() if code in (None, "confirmed")} == facts


def test_entered_in_error_records_are_dropped(
        first_run: RunResult, warehouse: Warehouse,
        exports: tuple[Path, dict[str, Any]]) -> None:
    wrong = [p["id"] for p in _final_resources(exports[0], "Procedure")
             if p.get("status") == "entered-in-error"]
    assert wrong
    assert warehouse.scalar("select count(*) from dbt_intermediate.int_procedure_events__fhir "
                            "where record_key = any(:keys)",
                            keys=[f"Procedure/{i}" for i in wrong]) == 0


def test_deaths_from_patient_records_are_ehr_records(
        first_run: RunResult, warehouse: Warehouse,
        exports: tuple[Path, dict[str, Any]]) -> None:
    deaths = _rows(warehouse, "select person_source_value, death_date, death_type_concept_id "
                              "from omop.death join omop.person using (person_id)")
    expected = {p["id"]: p["deceasedDateTime"][:10]
                for p in _final_resources(exports[0], "Patient") if p.get("deceasedDateTime")}
    assert expected
    assert {person: str(day) for person, day, _ in deaths} == expected
    assert {kind for _, _, kind in deaths} == {32817}  # EHR, not Claim (32810)


def test_encounters_without_a_claim_have_no_cost_row(
        first_run: RunResult, warehouse: Warehouse,
        exports: tuple[Path, dict[str, Any]]) -> None:
    empty = warehouse.scalar(
        "select count(*) from omop.cost where coalesce(total_charge, total_paid, "
        "paid_by_patient, paid_patient_copay, paid_patient_coinsurance, "
        "paid_patient_deductible, amount_allowed) is null")
    assert empty == 0
    assert warehouse.scalar("select count(*) from omop.cost "
                            "where cost_type_concept_id <> 32810") == 0
    # A visit of an encounter that no claim bills has no cost row at all.
    unbilled = warehouse.scalar(
        "select count(*) from omop.visit_occurrence as visits where visit_type_concept_id = 32817"
        " and not exists (select from omop.visit_detail as details where "
        "details.visit_occurrence_id = visits.visit_occurrence_id and "
        "details.visit_detail_type_concept_id = 32810)")
    assert unbilled > 0
    assert warehouse.scalar(
        "select count(*) from omop.cost join omop.visit_occurrence as visits "
        "on cost.cost_event_id = visits.visit_occurrence_id where visit_type_concept_id = 32817"
        " and not exists (select from omop.visit_detail as details where "
        "details.visit_occurrence_id = visits.visit_occurrence_id and "
        "details.visit_detail_type_concept_id = 32810)") == 0
    # Every claim (a visit of its own, or the visit_detail of the encounter it bills) has one.
    assert warehouse.scalar("select count(*) from omop.cost") == warehouse.scalar(
        "select (select count(*) from omop.visit_occurrence where visit_type_concept_id = 32810)"
        " + (select count(*) from omop.visit_detail where visit_detail_type_concept_id = 32810)")


def _line_amount(claim: dict[str, Any], variable: str) -> Decimal:
    return sum((Decimal(str(a["amount"]["value"])) for item in claim["item"]
                for a in item["adjudication"]
                if a["category"]["coding"][0]["code"].endswith("/" + variable)), Decimal(0))


def test_a_bill_of_an_encounter_keeps_its_charge_and_the_patients_share(
        first_run: RunResult, warehouse: Warehouse,
        exports: tuple[Path, dict[str, Any]]) -> None:
    """A claim that bills an encounter is a visit_detail; its cost row keeps every amount."""
    bills = {c["id"]: c for c in _final_resources(exports[0], "ExplanationOfBenefit")
             if any(item.get("encounter") for item in c["item"])}
    assert bills
    expected = sorted(
        (Decimal(str(c["total"][0]["amount"]["value"])),
         Decimal(str(c["payment"]["amount"]["value"])),
         _line_amount(c, "line_alowd_chrg_amt"), _line_amount(c, "line_coinsrnc_amt"))
        for c in bills.values())
    got = _rows(warehouse,
                "select cost.total_charge, cost.total_paid, cost.amount_allowed, "
                "cost.paid_patient_coinsurance from omop.cost where cost.cost_event_id in ("
                "select visit_occurrence_id from omop.visit_detail "
                "where visit_detail_type_concept_id = 32810)")
    assert sorted(tuple(Decimal(str(v)) for v in row) for row in got) == expected
    assert all(row[3] > 0 for row in got)


def test_references_resolve_to_the_person_and_visit_they_name(
        first_run: RunResult, warehouse: Warehouse) -> None:
    for table in ("condition_occurrence", "measurement", "procedure_occurrence",
                  "drug_exposure", "observation"):
        linked, wrong_person, wrong_detail = _rows(warehouse, (
            "select count(*), count(*) filter (where events.person_id <> visits.person_id), "
            "count(*) filter (where details.visit_occurrence_id <> events.visit_occurrence_id) "
            f"from omop.{table} as events join omop.visit_occurrence as visits "
            "on events.visit_occurrence_id = visits.visit_occurrence_id "
            "left join omop.visit_detail as details "
            "on events.visit_detail_id = details.visit_detail_id"))[0]
        assert wrong_person == wrong_detail == 0, table
        if table != "observation":
            assert linked > 0, table


def test_claims_of_encounters_roll_up_into_the_encounters_visits(
        first_run: RunResult, warehouse: Warehouse) -> None:
    details = _rows(warehouse, "select count(*), count(distinct cost.cost_id) "
                               "from omop.visit_detail join omop.cost "
                               "on cost.cost_event_id = visit_detail.visit_occurrence_id "
                               "where visit_detail_type_concept_id = 32810")
    assert details[0][0] > 0


def test_the_mbi_is_listed_for_cross_source_identity(
        first_run: RunResult, warehouse: Warehouse) -> None:
    assert warehouse.scalar("select count(distinct patient_id) from "
                            "dbt_intermediate.int_patient_identifiers__fhir "
                            "where id_system = 'mbi' and is_current") == PATIENTS
    assert warehouse.scalar("select count(*) from etl.person_crosswalk where source = 'fhir' "
                            "and id_system = 'fhir_patient'") == PATIENTS


def test_rerun_adds_nothing_and_leaves_omop_identical(
        first_run: RunResult, warehouse: Warehouse, settings: Settings,
        exports: tuple[Path, dict[str, Any]]) -> None:
    before = _omop_fingerprint(warehouse)
    staged = warehouse.table_counts("stg_fhir")
    again = run(settings, "fhir", exports[0])
    assert {load.status for load in again.loads} == {"skipped"}
    assert warehouse.table_counts("stg_fhir") == staged
    assert _omop_fingerprint(warehouse) == before
