"""The merge policy (existing person_ids are never changed without a decision), the
review CLI and the token exchange with a partner site, through real runs."""

from __future__ import annotations

import csv
import json
import secrets
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from etl.cli import cli
from etl.config import Settings
from etl.identity import link_persons
from etl.linkage.report import linkage_summary
from etl.linkage.review import decide
from etl.linkage.synth import read_cclf_people
from etl.linkage.tokens import LinkageKey, record_ref
from etl.paths import project_folder
from etl.pipeline import run
from etl.sources.cclf.synth import generate as generate_cclf
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

PATIENT_ID = "late-mbi-patient"


def _rows(warehouse: Warehouse, sql: str, **params: object) -> list[Any]:
    with warehouse.engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def _patient_export(folder: Path, mbi: str | None, birth: date, updated: str,
                    patient_id: str = PATIENT_ID, system: str = "us-mbi") -> Path:
    """One Patient (no name: no tokens), with or without its MBI (or, with system
    us-medicare, HICN) identifier."""
    folder.mkdir(parents=True)
    patient: dict[str, Any] = {
        "resourceType": "Patient", "id": patient_id, "gender": "female",
        "birthDate": birth.isoformat(), "meta": {"lastUpdated": updated},
        "identifier": [{"type": {"coding": [{"code": "MR"}]}, "system": "urn:oid:1.2.3",
                        "value": f"MRN-{patient_id}"}],
    }
    if mbi:
        patient["identifier"].append({"system": f"http://hl7.org/fhir/sid/{system}",
                                      "value": mbi})
    (folder / "Patient.000.ndjson").write_text(json.dumps(patient) + "\n")
    return folder


@pytest.fixture(scope="module")
def keyed(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    key_file = tmp_path_factory.mktemp("key") / "linkage.key"
    key_file.write_text(secrets.token_hex(32))
    return replace(settings, linkage_key_file=key_file)


@pytest.fixture(scope="module")
def cclf_dir(warehouse: Warehouse, keyed: Settings,
             tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cclf")
    generate_cclf(folder, beneficiaries=25, months=3, seed=5)
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    run(keyed, "cclf", folder)
    link_persons(warehouse, None, keyed)  # the tokens of the CCLF beneficiaries
    return folder


def test_two_existing_person_ids_found_to_be_one_person_wait_for_a_decision(
        cclf_dir: Path, warehouse: Warehouse, keyed: Settings,
        tmp_path: Path) -> None:
    person = read_cclf_people(cclf_dir)[0]
    cclf_id = warehouse.scalar("select person_id from etl.person_crosswalk where source = "
                               "'cclf' and id_value = :m", m=person.current_mbi)
    run(keyed, "fhir", _patient_export(tmp_path / "a", None, person.birth_date,
                                       "2024-01-01T00:00:00Z"))
    fhir_id = warehouse.scalar("select person_id from etl.person_crosswalk where source = "
                               "'fhir' and id_value = :p", p=PATIENT_ID)
    assert fhir_id != cclf_id
    crosswalk = _rows(warehouse, "select * from etl.person_crosswalk order by 1, 2, 3")

    # The Patient now carries the beneficiary's MBI: one person, but both ids stay.
    run(keyed, "fhir", _patient_export(tmp_path / "b", person.current_mbi, person.birth_date,
                                       "2024-02-01T00:00:00Z"))
    after = _rows(warehouse, "select * from etl.person_crosswalk order by 1, 2, 3")
    assert [row for row in after if row in crosswalk] == crosswalk  # nothing rewritten
    [review] = _rows(warehouse, "select review_id, kind, status, person_ids, method "
                                "from etl.linkage_review where kind = 'merge'")
    assert (review.status, review.person_ids, review.method) == (
        "pending", sorted([cclf_id, fhir_id]), "mbi")
    assert warehouse.scalar("select count(*) from omop.person where person_id in (:a, :b)",
                            a=cclf_id, b=fhir_id) == 2

    # A rerun raises the same finding once; approving merges into the older person_id.
    run(keyed, "fhir", tmp_path / "b")
    assert warehouse.scalar("select count(*) from etl.linkage_review "
                            "where kind = 'merge'") == 1
    decide_cli = ["--database-url", keyed.database_url or "", "tokens", "decide",
                  str(review.review_id), "--by", "test"]
    approved = CliRunner().invoke(cli, [*decide_cli, "--approve"], obj={})
    assert approved.exit_code == 0, approved.output
    assert " ".join(approved.output.split()) == (
        f"review {review.review_id} (merge) approved: person_ids {max(cclf_id, fhir_id)} "
        f"merged into {min(cclf_id, fhir_id)} (published by the next `etl run`)")
    refused = CliRunner().invoke(cli, [*decide_cli, "--reject"], obj={})
    assert refused.exit_code != 0 and "already approved" in refused.output
    with pytest.raises(Exception, match="already approved"):
        decide(warehouse, review.review_id, approve=False, decided_by="test")
    run(keyed, "fhir", tmp_path / "b")
    assert warehouse.scalar("select count(*) from omop.person where person_id in (:a, :b)",
                            a=cclf_id, b=fhir_id) == 1
    assert warehouse.scalar("select count(distinct person_id) from etl.person_crosswalk "
                            "where id_value in (:m, :p)", m=person.current_mbi,
                            p=PATIENT_ID) == 1
    assert linkage_summary(warehouse)["merges"] == 1


def test_review_cli_prints_the_summary_without_identifiers(
        cclf_dir: Path, warehouse: Warehouse, keyed: Settings) -> None:
    result = CliRunner().invoke(cli, ["--database-url", keyed.database_url or "", "tokens",
                                      "review", "--json"], obj={})
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary == json.loads(json.dumps(linkage_summary(warehouse), default=str))
    text = CliRunner().invoke(cli, ["--database-url", keyed.database_url or "", "tokens",
                                    "review"], obj={}).output
    assert "persons by sources" in text
    for person in read_cclf_people(cclf_dir):
        assert person.current_mbi not in result.output + text
        assert person.last not in result.output + text

    compute = ["--database-url", keyed.database_url or "", "tokens", "compute"]
    refused = CliRunner(env={"ETL_LINKAGE_KEY_FILE": ""}).invoke(cli, compute, obj={})
    assert refused.exit_code != 0 and "no linkage key" in refused.output
    done = CliRunner(env={"ETL_LINKAGE_KEY_FILE": str(keyed.linkage_key_file)}).invoke(
        cli, compute, obj={})
    assert done.exit_code == 0, done.output
    assert "0 new tokens" in done.output  # the run already computed them all


def test_tokens_exchanged_with_a_partner_link_back_to_the_same_persons(
        cclf_dir: Path, warehouse: Warehouse, keyed: Settings, tmp_path: Path) -> None:
    out = tmp_path / "tokens.csv"
    runner = CliRunner(env={"ETL_LINKAGE_KEY_FILE": str(keyed.linkage_key_file)})
    base = ["--database-url", keyed.database_url or "", "tokens"]
    result = runner.invoke(cli, [*base, "export", "--out", str(out)], obj={})
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert rows and set(rows[0]) == {"record_ref", "recipe", "token", "key_id"}
    exported = out.read_text()
    for person in read_cclf_people(cclf_dir):
        assert person.current_mbi not in exported and person.last not in exported
    result = runner.invoke(cli, [*base, "import", str(out), "--site", "partner"], obj={})
    assert result.exit_code == 0, result.output
    key = LinkageKey.from_settings(keyed)
    links = _rows(warehouse, "select record_ref, person_id from etl.partner_link "
                             "where site = 'partner'")
    records = {row["record_ref"] for row in rows}
    assert len(links) >= 0.9 * len(records)
    assert all(record_ref(key, person_id) == ref for ref, person_id in links)
    partners = linkage_summary(warehouse)["partners"]
    assert partners == {"partner": {"records": len(records), "linked": len(links)}}

    # A file made with another key is refused: tokens of different keys never compare.
    other = tmp_path / "other.key"
    other.write_text(secrets.token_hex(32))
    result = CliRunner(env={"ETL_LINKAGE_KEY_FILE": str(other)}).invoke(
        cli, [*base, "import", str(out), "--site", "elsewhere"], obj={})
    assert result.exit_code != 0 and "another key" in result.output


def test_a_patient_known_by_the_old_hicn_joins_the_beneficiary(
        cclf_dir: Path, warehouse: Warehouse, keyed: Settings, tmp_path: Path) -> None:
    mbi, hicn, birth = _rows(warehouse, "select bene_mbi_id, bene_hic_num, bene_dob "
                                        "from stg_cclf.beneficiary_demographics "
                                        "where bene_hic_num is not null order by 1 limit 1")[0]
    beneficiary = warehouse.scalar("select person_id from etl.person_crosswalk where "
                                   "source = 'cclf' and id_system = 'hicn' and id_value = :h",
                                   h=hicn)
    assert beneficiary == warehouse.scalar(
        "select person_id from etl.person_crosswalk where source = 'cclf' and id_value = :m",
        m=mbi)
    run(keyed, "fhir", _patient_export(tmp_path / "hicn", hicn, birth, "2024-03-01T00:00:00Z",
                                       patient_id="hicn-patient", system="us-medicare"))
    [(person_id, matched_by)] = _rows(
        warehouse, "select person_id, matched_by from etl.person_crosswalk "
                   "where source = 'fhir' and id_value = 'hicn-patient'")
    assert (person_id, matched_by) == (beneficiary, "hicn")
