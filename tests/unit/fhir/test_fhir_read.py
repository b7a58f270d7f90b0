"""Reading NDJSON lines and Bundle entries into rows of stg_fhir.resources."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from etl.sources.fhir.read import NotR4Error, ReadBatch, instant, read_json, read_ndjson
from etl.sources.fhir.versions import stu3_marker


def _lines(*resources: Any) -> list[bytes]:
    return [r if isinstance(r, bytes) else json.dumps(r).encode() + b"\n" for r in resources]


def _one(batches: list[ReadBatch]) -> ReadBatch:
    assert len(batches) == 1
    return batches[0]


PATIENT = {"resourceType": "Patient", "id": "p1",
           "meta": {"lastUpdated": "2024-01-02T03:04:05.678-05:00", "versionId": "3"}}


def test_each_line_lands_with_its_type_id_version_and_line_number() -> None:
    lines = _lines(PATIENT, {**PATIENT, "id": "p2", "meta": {}})
    batch = _one(list(read_ndjson(lines, "P.ndjson")))
    rows = batch.rows.to_pylist()
    assert [(r["line_number"], r["resource_type"], r["resource_id"]) for r in rows] == [
        (1, "Patient", "p1"), (2, "Patient", "p2")]
    assert rows[0]["last_updated"] == "2024-01-02T03:04:05.678000-05:00"
    assert rows[0]["version_id"] == "3"
    assert rows[1]["last_updated"] is None
    assert json.loads(rows[0]["resource"]) == PATIENT


def test_a_malformed_line_is_quarantined_and_the_rest_lands() -> None:
    lines = _lines(PATIENT, b'{"resourceType": "Patient", "id": \n', {**PATIENT, "id": "p3"})
    batch = _one(list(read_ndjson(lines, "Patient.000.ndjson")))
    assert batch.rows.column("resource_id").to_pylist() == ["p1", "p3"]
    [reject] = batch.rejects
    assert (reject.file_name, reject.line_number) == ("Patient.000.ndjson", 2)
    assert reject.reason.startswith("not valid JSON")
    assert reject.raw_record == '{"resourceType": "Patient", "id":'


@pytest.mark.parametrize(("line", "reason"), [
    (b"[1, 2]\n", "not a JSON object"),
    (b'{"id": "x"}\n', "no resourceType"),
    (b'{"resourceType": "Patient"}\n', "Patient without an id"),
    (b'{"resourceType": "Patient", "id": "x", "name": [{"text": "a\\u0000b"}]}\n', "U+0000"),
])
def test_lines_that_are_not_storable_resources_are_quarantined(line: bytes, reason: str) -> None:
    batch = _one(list(read_ndjson([line], "x.ndjson")))
    assert batch.rows.num_rows == 0
    assert reason in batch.rejects[0].reason


def test_blank_lines_and_a_byte_order_mark_are_not_records() -> None:
    lines = [b"\xef\xbb\xbf" + json.dumps(PATIENT).encode() + b"\r\n", b"\n", b"   \n"]
    batch = _one(list(read_ndjson(lines, "P.ndjson")))
    assert batch.rows.num_rows == 1 and not batch.rejects


def test_a_placeholder_last_updated_is_unknown_not_an_error() -> None:
    assert instant("IGNORED_FIELD") is None
    assert instant("2024-01-01T00:00:00Z") == "2024-01-01T00:00:00+00:00"
    assert instant("2024-01-01T00:00:00") == "2024-01-01T00:00:00+00:00"  # UTC when unzoned


def test_bundle_entries_land_with_their_position_and_ids_from_full_urls() -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:1f9c7e2e-0000-4000-8000-000000000001",
         "resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "https://x.org/fhir/Condition/c9",
         "resource": {"resourceType": "Condition", "id": "c9"},
         "response": {"lastModified": "2024-02-02T00:00:00Z"}},
        {"request": {"method": "DELETE", "url": "Observation/o7"}},
        {"fullUrl": "urn:uuid:no-resource"},
    ]}
    batch = _one(list(read_json(json.dumps(bundle).encode(), "b.json")))
    rows = batch.rows.to_pylist()
    assert [(r["line_number"], r["resource_type"], r["resource_id"], r["is_deleted"])
            for r in rows] == [
        (1, "Patient", "1f9c7e2e-0000-4000-8000-000000000001", False),
        (2, "Condition", "c9", False),
        (3, "Observation", "o7", True),
    ]
    assert rows[1]["last_updated"] == "2024-02-02T00:00:00+00:00"
    assert rows[2]["resource"] is None
    assert [(r.line_number, r.reason) for r in batch.rejects] == [
        (4, "Bundle.entry without a resource")]


@pytest.mark.parametrize("bundle_type", ["collection", "searchset", "batch", "transaction",
                                         "history", "document"])
def test_bundles_of_every_type_land_entry_by_entry(bundle_type: str) -> None:
    entries: list[dict[str, Any]] = [
        {"fullUrl": "https://x.org/fhir/Patient/p1", "resource": PATIENT,
         "search": {"mode": "match"}},
        {"fullUrl": "https://x.org/fhir/Condition/c1",
         "resource": {"resourceType": "Condition", "id": "c1", "subject": {
             "reference": "Patient/p1"}}, "search": {"mode": "include"}},
    ]
    if bundle_type == "history":  # an older version of the Patient, and a deletion
        entries += [
            {"resource": {**PATIENT, "meta": {"versionId": "2"}},
             "response": {"status": "200", "lastModified": "2024-01-01T00:00:00Z"}},
            {"request": {"method": "DELETE", "url": "Condition/c0"},
             "response": {"status": "204", "lastModified": "2024-01-03T00:00:00Z"}},
        ]
    bundle = {"resourceType": "Bundle", "type": bundle_type, "entry": entries}
    batch = _one(list(read_json(json.dumps(bundle).encode(), f"{bundle_type}.json")))
    rows = batch.rows.to_pylist()
    assert not batch.rejects
    assert [(r["line_number"], r["resource_type"], r["resource_id"]) for r in rows][:2] == [
        (1, "Patient", "p1"), (2, "Condition", "c1")]
    if bundle_type == "history":
        assert [(r["resource_id"], r["version_id"], r["last_updated"], r["is_deleted"])
                for r in rows[2:]] == [
            ("p1", "2", "2024-01-01T00:00:00+00:00", False),
            ("c0", None, "2024-01-03T00:00:00+00:00", True)]
    else:
        assert len(rows) == 2


def test_a_conditional_delete_is_quarantined() -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "DELETE", "url": "Patient?identifier=123"}}]}
    batch = _one(list(read_json(json.dumps(bundle).encode(), "b.json")))
    assert "conditional delete" in batch.rejects[0].reason


def test_a_json_file_with_one_resource_is_line_one() -> None:
    batch = _one(list(read_json(json.dumps(PATIENT).encode(), "patientRead.json")))
    assert batch.rows.column("line_number").to_pylist() == [1]


def test_a_json_file_that_does_not_parse_is_one_quarantine_record() -> None:
    batch = _one(list(read_json(b'{"resourceType": "Bundle", ', "broken.json")))
    assert batch.rows.num_rows == 0
    assert batch.rejects[0].line_number is None


def test_deleted_file_bundles_become_deletions_at_the_export_time() -> None:
    line = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "DELETE", "url": "Patient/p1"}},
        {"request": {"method": "DELETE", "url": "Condition/c1"}}]}
    batch = _one(list(read_ndjson(_lines(line, PATIENT), "del.ndjson", deletions=True,
                                  deleted_at="2024-05-01T00:00:00+00:00")))
    rows = batch.rows.to_pylist()
    assert [(r["line_number"], r["resource_type"], r["resource_id"], r["is_deleted"],
             r["last_updated"]) for r in rows] == [
        (1, "Patient", "p1", True, "2024-05-01T00:00:00+00:00"),
        (1, "Condition", "c1", True, "2024-05-01T00:00:00+00:00")]
    assert [(r.line_number, "must be a Bundle" in r.reason) for r in batch.rejects] == [(2, True)]


def test_gzipped_lines_read_like_plain_ones(tmp_path: Any) -> None:
    path = tmp_path / "Patient.000.ndjson.gz"
    path.write_bytes(gzip.compress(b"".join(_lines(PATIENT, {**PATIENT, "id": "p2"}))))
    with gzip.open(path, "rb") as stream:
        batch = _one(list(read_ndjson(stream, path.name)))
    assert batch.rows.num_rows == 2


@pytest.mark.parametrize(("resource", "element"), [
    ({"resourceType": "Coverage", "id": "c", "grouping": {"subPlan": "Part A"}},
     "Coverage.grouping"),
    ({"resourceType": "Condition", "id": "c", "clinicalStatus": "active"},
     "Condition.clinicalStatus as a code"),
    ({"resourceType": "MedicationRequest", "id": "m", "context": {"reference": "Encounter/1"}},
     "MedicationRequest.context"),
    ({"resourceType": "ExplanationOfBenefit", "id": "e", "information": []},
     "ExplanationOfBenefit.information"),
])
def test_stu3_content_stops_the_file(resource: dict[str, Any], element: str) -> None:
    assert element in (stu3_marker(resource) or "")
    with pytest.raises(NotR4Error, match=f"x.ndjson line 1: {element}"):
        list(read_ndjson(_lines(resource), "x.ndjson"))


def test_r4_resources_carry_no_stu3_marker() -> None:
    assert stu3_marker({"resourceType": "Coverage", "class": [{"value": "Part A"}]}) is None
    assert stu3_marker({"resourceType": "Condition",
                        "clinicalStatus": {"coding": [{"code": "active"}]}}) is None
