"""Finding FHIR delivery units in an input folder, and reading them as a source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from etl.sources.base import UnitRejected
from etl.sources.fhir.source import FhirSource

SOURCE = FhirSource()


def _ndjson(path: Path, *resources: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in resources))
    return path


def _patient(patient_id: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": patient_id}


def _manifest(folder: Path, *outputs: dict[str, Any], when: str = "2024-03-01T00:00:00Z",
              deleted: tuple[dict[str, Any], ...] = ()) -> None:
    (folder / "manifest.json").write_text(json.dumps({
        "transactionTime": when, "request": "https://x.org/fhir/$export",
        "requiresAccessToken": True, "output": list(outputs), "deleted": list(deleted),
        "error": []}))


def _rows(unit: Any) -> int:
    return sum(batch.rows.num_rows for batch in SOURCE.read(unit))


def test_each_folder_is_a_unit_oldest_export_first(tmp_path: Path) -> None:
    _ndjson(tmp_path / "b" / "Patient.000.ndjson", _patient("p1"))
    _manifest(tmp_path / "b", {"type": "Patient", "url": "https://x/Patient.000.ndjson"},
              when="2024-01-01T00:00:00Z")
    _ndjson(tmp_path / "a" / "Patient.000.ndjson", _patient("p2"))
    _manifest(tmp_path / "a", {"type": "Patient", "url": "https://x/Patient.000.ndjson"},
              when="2024-02-01T00:00:00Z")
    _ndjson(tmp_path / "loose.ndjson", _patient("p3"))
    units = SOURCE.discover(tmp_path)
    assert [unit.name for unit in units] == [tmp_path.name, "b", "a"]
    assert [unit.detail.get("transaction_time") for unit in units] == [
        None, "2024-01-01T00:00:00+00:00", "2024-02-01T00:00:00+00:00"]


def test_manifest_counts_are_checked_against_the_files(tmp_path: Path) -> None:
    _ndjson(tmp_path / "Patient.000.ndjson", _patient("p1"), _patient("p2"))
    _manifest(tmp_path, {"type": "Patient", "url": "https://x/a/Patient.000.ndjson", "count": 3})
    [unit] = SOURCE.discover(tmp_path)
    with pytest.raises(UnitRejected, match="manifest says 3 resources, the file holds 2"):
        _rows(unit)


def test_a_file_the_manifest_lists_but_the_folder_lacks_rejects_the_unit(tmp_path: Path) -> None:
    _ndjson(tmp_path / "Patient.000.ndjson", _patient("p1"))
    _manifest(tmp_path, {"type": "Patient", "url": "https://x/Patient.000.ndjson"},
              {"type": "Condition", "url": "https://x/Condition.000.ndjson"})
    [unit] = SOURCE.discover(tmp_path)
    assert unit.rejection and "Condition.000.ndjson" in unit.rejection


def test_local_file_names_in_the_manifest_win_over_urls(tmp_path: Path) -> None:
    _ndjson(tmp_path / "Patient.000.ndjson", _patient("p1"))
    _manifest(tmp_path, {"type": "Patient", "url": "https://storage/abc?sig=1",
                         "localFile": "Patient.000.ndjson", "count": 1})
    [unit] = SOURCE.discover(tmp_path)
    assert unit.rejection is None and _rows(unit) == 1


def test_deleted_files_become_deletions(tmp_path: Path) -> None:
    _ndjson(tmp_path / "Patient.000.ndjson", _patient("p1"))
    _ndjson(tmp_path / "del.ndjson", {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "DELETE", "url": "Patient/p0"}}]})
    _manifest(tmp_path, {"type": "Patient", "url": "https://x/Patient.000.ndjson"},
              deleted=({"type": "Bundle", "url": "https://x/del.ndjson"},))
    [unit] = SOURCE.discover(tmp_path)
    rows = [r for batch in SOURCE.read(unit) for r in batch.rows.to_pylist()]
    assert [(r["resource_id"], r["is_deleted"]) for r in rows] == [("p1", False), ("p0", True)]


def test_export_logs_partial_downloads_hidden_and_side_files_are_not_read(tmp_path: Path) -> None:
    _ndjson(tmp_path / "Patient.000.ndjson", _patient("p1"))
    _ndjson(tmp_path / "log.ndjson", {"exportId": "e1", "eventId": "kickoff", "timestamp": "x"})
    _ndjson(tmp_path / "Condition.000.ndjson.part", _patient("p2"))
    _ndjson(tmp_path / ".hidden" / "Patient.000.ndjson", _patient("p3"))
    (tmp_path / "truth.json").write_text("{}")
    [unit] = SOURCE.discover(tmp_path)
    assert [file.name for file in unit.files] == ["Patient.000.ndjson"]
    assert unit.detail["export_log"] == "log.ndjson"


def test_linked_folders_are_followed_once(tmp_path: Path) -> None:
    _ndjson(tmp_path / "data" / "Patient.000.ndjson", _patient("p1"))
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "export").symlink_to(tmp_path / "data")
    (tmp_path / "data" / "loop").symlink_to(tmp_path / "data")
    units = SOURCE.discover(tmp_path / "input")
    assert [unit.name for unit in units] == ["export"]


def test_stu3_content_rejects_the_whole_unit(tmp_path: Path) -> None:
    _ndjson(tmp_path / "Patient.ndjson", _patient("p1"))
    _ndjson(tmp_path / "Coverage.ndjson", {"resourceType": "Coverage", "id": "c1",
                                           "grouping": {"subPlan": "Part A"}})
    [unit] = SOURCE.discover(tmp_path)
    with pytest.raises(UnitRejected, match=r"Coverage\.grouping is FHIR STU3.*FHIR R4"):
        _rows(unit)


def test_a_damaged_gzip_file_rejects_the_unit(tmp_path: Path) -> None:
    (tmp_path / "Patient.000.ndjson.gz").write_bytes(b"\x1f\x8b\x08\x00broken")
    [unit] = SOURCE.discover(tmp_path)
    with pytest.raises(UnitRejected, match="cannot be read to the end"):
        _rows(unit)
