"""The Bulk Data client against a local Bulk Data server (tests/unit/fhir/bulk_server.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from etl.errors import ConfigError
from etl.sources.fhir.bulk.client import STATE_NAME, BulkExportClient
from etl.sources.fhir.bulk.session import export
from etl.sources.fhir.bulk.transport import FetchError, RetryPolicy, require_secure, retry_after
from etl.sources.fhir.source import FhirSource
from tests.unit.fhir.bulk_server import Behaviour, BulkServer

CLIENT = "omop-etl-test"
FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, poll_interval=0.01,
                   max_poll_interval=0.05, max_wait=30, timeout=10)


def _patient(patient_id: str, updated: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": patient_id, "gender": "female",
            "birthDate": "1950-02-03", "meta": {"lastUpdated": updated}}


def _condition(condition_id: str, patient_id: str, updated: str) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": condition_id,
            "subject": {"reference": f"Patient/{patient_id}"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
            "meta": {"lastUpdated": updated}}


RESOURCES = {
    "Patient": [_patient("p1", "2024-01-01T00:00:00Z"), _patient("p2", "2024-03-01T00:00:00Z"),
                _patient("p3", "2024-03-05T00:00:00Z")],
    "Condition": [_condition(f"c{n}", f"p{n % 3 + 1}", f"2024-0{n % 3 + 1}-10T00:00:00Z")
                  for n in range(1, 40)],
    "Observation": [{"resourceType": "Observation", "id": f"o{n}", "status": "final",
                     "subject": {"reference": "Patient/p1"},
                     "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
                     "meta": {"lastUpdated": "2024-02-01T00:00:00Z"}} for n in range(25)],
}


def _pem(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "client.pem"
    path.write_bytes(_pem(rsa_key))
    return path


@pytest.fixture
def server(rsa_key: rsa.RSAPrivateKey) -> Iterator[BulkServer]:
    with BulkServer(RESOURCES, CLIENT, rsa_key.public_key(), groups={"g1": {"p1"}}) as running:
        yield running


def _export(server: BulkServer, key_file: Path, out: Path, **options: Any) -> Any:
    return export(server.base_url, out, client_id=CLIENT, key_file=key_file, policy=FAST,
                  **options)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def test_system_export_downloads_every_file_and_the_manifest(
        server: BulkServer, key_file: Path, tmp_path: Path) -> None:
    result = _export(server, key_file, tmp_path / "out")
    out = tmp_path / "out"
    assert sorted(result.files) == ["Condition.000.ndjson", "Observation.000.ndjson",
                                    "Patient.000.ndjson"]
    assert _lines(out / "Condition.000.ndjson") == RESOURCES["Condition"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert {entry["localFile"]: entry["count"] for entry in manifest["output"]} == {
        "Condition.000.ndjson": 39, "Observation.000.ndjson": 25, "Patient.000.ndjson": 3}
    assert not (out / STATE_NAME).exists()
    assert not list(out.glob("*.part"))
    assert all(job.deleted for job in server.jobs.values())  # the client released the job


def test_the_fetched_folder_is_one_landable_unit(
        server: BulkServer, key_file: Path, tmp_path: Path) -> None:
    _export(server, key_file, tmp_path / "out")
    source = FhirSource()
    [unit] = source.discover(tmp_path / "out")
    assert unit.rejection is None
    assert unit.detail["transaction_time"] == "2024-05-01T00:00:00+00:00"
    assert sum(batch.rows.num_rows for batch in source.read(unit)) == 67


def test_group_export_sends_only_the_groups_patients_and_the_types_asked_for(
        server: BulkServer, key_file: Path, tmp_path: Path) -> None:
    result = _export(server, key_file, tmp_path / "out", group_id="g1", level="group",
                     types=("Patient", "Condition"))
    assert sorted(result.files) == ["Condition.000.ndjson", "Patient.000.ndjson"]
    patients = _lines(tmp_path / "out" / "Patient.000.ndjson")
    assert [p["id"] for p in patients] == ["p1"]
    conditions = _lines(tmp_path / "out" / "Condition.000.ndjson")
    assert {c["subject"]["reference"] for c in conditions} == {"Patient/p1"}


def test_since_exports_only_what_changed_after_it(
        server: BulkServer, key_file: Path, tmp_path: Path) -> None:
    _export(server, key_file, tmp_path / "out", level="patient", since="2024-02-15T00:00:00Z",
            types=("Patient",))
    patients = _lines(tmp_path / "out" / "Patient.000.ndjson")
    assert [p["id"] for p in patients] == ["p2", "p3"]


def test_an_unknown_group_is_a_clear_error(
        server: BulkServer, key_file: Path, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="no Group/nope"):
        _export(server, key_file, tmp_path / "out", group_id="nope", level="group")


def test_429_at_kick_off_and_download_is_waited_out(
        server: BulkServer, key_file: Path, tmp_path: Path) -> None:
    server.behaviour = Behaviour(kickoff_429s=2, file_429s=2, retry_after="0")
    _export(server, key_file, tmp_path / "out")
    assert server.count("kickoff") == 4  # two refused, one accepted, plus this call
    assert _lines(tmp_path / "out" / "Patient.000.ndjson") == RESOURCES["Patient"]


def test_a_download_cut_half_way_resumes_where_it_stopped(
        server: BulkServer, key_file: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BulkExportClient, "chunk_size", 64)
    server.behaviour = Behaviour(cut_files_once=True)
    _export(server, key_file, tmp_path / "out", workers=2)
    for resource_type, resources in RESOURCES.items():
        assert _lines(tmp_path / "out" / f"{resource_type}.000.ndjson") == resources
    assert len(server.ranges_served) == 3  # each file resumed once, from where it broke


def test_a_download_is_restarted_when_the_server_ignores_ranges(
        server: BulkServer, key_file: Path, tmp_path: Path) -> None:
    server.behaviour = Behaviour(cut_files_once=True, ranges=False)
    _export(server, key_file, tmp_path / "out")
    assert _lines(tmp_path / "out" / "Condition.000.ndjson") == RESOURCES["Condition"]


def test_an_expired_token_is_replaced_and_the_request_repeated(
        server: BulkServer, key_file: Path, tmp_path: Path) -> None:
    server.behaviour = Behaviour(token_uses=2)
    _export(server, key_file, tmp_path / "out", workers=3)
    assert len(server.tokens) > 1
    assert _lines(tmp_path / "out" / "Observation.000.ndjson") == RESOURCES["Observation"]


def test_a_failed_export_job_stops_with_the_servers_reason(
        server: BulkServer, key_file: Path, tmp_path: Path) -> None:
    server.behaviour = Behaviour(fail_job=True)
    with pytest.raises(FetchError, match=r"the export failed: HTTP 500 .*disk full"):
        _export(server, key_file, tmp_path / "out")


def test_transient_status_failures_are_polled_through(
        server: BulkServer, key_file: Path, tmp_path: Path) -> None:
    server.behaviour = Behaviour(transient_polls=2)
    _export(server, key_file, tmp_path / "out", types=("Patient",))
    assert (tmp_path / "out" / "manifest.json").exists()


def test_an_interrupted_export_resumes_without_a_new_kick_off(
        server: BulkServer, key_file: Path, tmp_path: Path) -> None:
    server.behaviour = Behaviour(file_429s=100)
    with pytest.raises(FetchError, match="HTTP 429"):
        _export(server, key_file, tmp_path / "out")
    assert (tmp_path / "out" / STATE_NAME).exists()
    assert not (tmp_path / "out" / "manifest.json").exists()
    server.behaviour = Behaviour()
    _export(server, key_file, tmp_path / "out")
    assert len(server.jobs) == 1
    assert _lines(tmp_path / "out" / "Patient.000.ndjson") == RESOURCES["Patient"]


def test_a_key_the_server_does_not_know_is_refused(
        server: BulkServer, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    with pytest.raises(FetchError, match=r"refused client omop-etl-test.*bad signature"):
        _export(server, other, tmp_path / "out")


def test_an_ec_p384_key_signs_es384_assertions(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    key_file = tmp_path / "ec.pem"
    key_file.write_bytes(_pem(key))
    with BulkServer(RESOURCES, CLIENT, key.public_key()) as server:
        _export(server, key_file, tmp_path / "out", types=("Patient",))
    assert _lines(tmp_path / "out" / "Patient.000.ndjson") == RESOURCES["Patient"]


def test_a_client_secret_buys_a_token_as_cms_bcda_expects(
        rsa_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret\n")
    with BulkServer(RESOURCES, CLIENT, rsa_key.public_key(), client_secret="s3cret") as server:
        export(server.base_url, tmp_path / "out", client_id=CLIENT,
               client_secret_file=secret_file, token_url=server.token_url, policy=FAST,
               types=("Patient",))
        secret_file.write_text("wrong")
        with pytest.raises(FetchError, match="refused client omop-etl-test: HTTP 401"):
            export(server.base_url, tmp_path / "again", client_id=CLIENT,
                   client_secret_file=secret_file, token_url=server.token_url, policy=FAST)
    assert _lines(tmp_path / "out" / "Patient.000.ndjson") == RESOURCES["Patient"]


def test_neither_key_nor_token_reaches_the_log(
        server: BulkServer, key_file: Path, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _export(server, key_file, tmp_path / "out", types=("Patient",))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "access token for client omop-etl-test" in logged
    assert all(token not in logged for token in server.tokens)
    assert "PRIVATE KEY" not in logged


def test_fetch_command_runs_an_export(server: BulkServer, key_file: Path,
                                      tmp_path: Path) -> None:
    from etl.cli import cli

    result = CliRunner().invoke(cli, [
        "fetch", "fhir", "--server", server.base_url, "--out", str(tmp_path / "out"),
        "--client-id", CLIENT, "--key-file", str(key_file), "--type", "Patient,Condition",
    ])
    assert result.exit_code == 0, result.output
    assert "Patient.000.ndjson" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "Condition.000.ndjson", "Patient.000.ndjson", "manifest.json"]


def test_plain_http_is_only_allowed_to_this_machine() -> None:
    require_secure("http://127.0.0.1:8080/fhir")
    require_secure("https://api.bcda.cms.gov/api/v2")
    with pytest.raises(ConfigError, match="only https"):
        require_secure("http://bulk.example.org/fhir")


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0), (None, None), ("soon", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
])
def test_retry_after_reads_seconds_and_http_dates(header: str | None,
                                                  seconds: float | None) -> None:
    assert retry_after(header, now=1_445_412_480.0 + 10) == seconds
