"""The synthetic FHIR exports: reproducible, landable as they are, and the CCLF people."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from etl.sources.cclf.synth import generate as generate_cclf
from etl.sources.fhir.source import FhirSource
from etl.sources.fhir.synth import generate, people_from_cclf


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fhir")
    generate(out, patients=12, seed=5)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_the_same_seed_writes_the_same_bytes(synthetic: Path, tmp_path: Path) -> None:
    generate(tmp_path, patients=12, seed=5)
    assert _files(tmp_path) == _files(synthetic)


def test_two_exports_with_manifests_whose_counts_hold(synthetic: Path) -> None:
    units = FhirSource().discover(synthetic)
    assert [unit.name for unit in units] == ["export-1", "export-2"]
    for unit in units:
        assert unit.rejection is None
        manifest = json.loads((synthetic / unit.name / "manifest.json").read_text())
        for entry in manifest["output"]:
            path = synthetic / unit.name / entry["localFile"]
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            assert len(data.splitlines()) == entry["count"]
        assert sum(batch.rows.num_rows for batch in FhirSource().read(unit)) > 0


def test_the_second_export_updates_and_deletes(synthetic: Path) -> None:
    manifest = json.loads((synthetic / "export-2" / "manifest.json").read_text())
    assert manifest["transactionTime"] > json.loads(
        (synthetic / "export-1" / "manifest.json").read_text())["transactionTime"]
    assert manifest["deleted"] and manifest["output"]


def test_truth_lists_every_table_the_source_fills(synthetic: Path) -> None:
    truth = json.loads((synthetic / "truth.json").read_text())
    assert truth["tables"]["person"] == 12
    assert truth["tables"]["observation_period"] == 12
    for table in ("visit_occurrence", "visit_detail", "condition_occurrence", "drug_exposure",
                  "measurement", "procedure_occurrence", "cost", "payer_plan_period"):
        assert truth["tables"][table] > 0, table


def test_from_cclf_describes_the_same_beneficiaries(tmp_path: Path) -> None:
    cclf_truth = generate_cclf(tmp_path / "cclf", beneficiaries=6, months=2, seed=3)
    people = people_from_cclf(tmp_path / "cclf")
    assert len(people) == cclf_truth.tables["person"]  # one per current MBI in CCLF8
    truth = generate(tmp_path / "fhir", seed=1, cclf_dir=tmp_path / "cclf")
    patients = [json.loads(line) for line in
                (tmp_path / "fhir" / "export-1" / "Patient.000.ndjson").read_text().splitlines()]
    assert truth.parameters["patients"] == len(people) == len(patients)
    mbis = {identifier["value"]: patient for patient in patients
            for identifier in patient["identifier"]
            if identifier["system"] == "http://hl7.org/fhir/sid/us-mbi"}
    for person in people:
        assert mbis[person.mbi]["birthDate"] == person.birth_date.isoformat()
        assert mbis[person.mbi]["gender"] == person.gender
