"""Discovery of X12 files and what reading one yields (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.sources.base import UnitRejected
from etl.sources.x12 import SOURCE, X12Source
from etl.sources.x12.options import X12Options
from etl.sources.x12.reader import ControlPolicy
from tests.unit.x12.builders import a_professional_claim, a_remittance


def test_discovery_orders_files_by_group_date_and_skips_side_files(tmp_path: Path) -> None:
    later = a_remittance().text().replace("20240110*1200", "20240301*0900")
    (tmp_path / "a_remit.x12").write_text(later)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "z_claims.837").write_text(a_professional_claim().text())
    for side in ("truth.json", "README.md", "LICENSE", ".hidden.x12"):
        (tmp_path / side).write_text("not x12")
    units = SOURCE.discover(tmp_path)
    assert [unit.name for unit in units] == ["sub/z_claims.837", "a_remit.x12"]
    assert units[0].detail == {"created_at": "202401101200"}


def test_reading_yields_batches_with_segment_positions(tmp_path: Path) -> None:
    (tmp_path / "c.x12").write_text(a_professional_claim().text())
    unit = SOURCE.discover(tmp_path)[0]
    batches = {batch.table: batch for batch in SOURCE.read(unit)}
    assert set(batches) == {"transaction_sets", "claims", "claim_codes", "service_lines"}
    claims = batches["claims"].rows
    assert claims.column_names[0] == "line_number"
    assert claims["line_number"].to_pylist() == claims["claim_position"].to_pylist()


def test_a_file_whose_sets_all_fail_is_rejected_whole(tmp_path: Path) -> None:
    (tmp_path / "bad.x12").write_text(a_professional_claim().without("N3*2 OAK").text())
    unit = SOURCE.discover(tmp_path)[0]
    with pytest.raises(UnitRejected, match=r"N3 \(Billing Provider Address\) is required"):
        list(SOURCE.read(unit))


def test_the_control_policy_comes_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    claim = a_professional_claim()
    (tmp_path / "se.x12").write_text(type(claim)(claim.body, se_count=2).text())
    unit = SOURCE.discover(tmp_path)[0]
    with pytest.raises(UnitRejected, match="SE01"):
        list(SOURCE.read(unit))
    monkeypatch.setenv("ETL_X12_CONTROL", "lenient")
    sets = next(b for b in SOURCE.read(unit) if b.table == "transaction_sets").rows
    assert "SE01" in sets["warnings"][0].as_py()


def test_options_given_to_the_source_win_over_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ETL_X12_CONTROL", "strict")
    source = X12Source(X12Options(ControlPolicy.LENIENT))
    assert source.options.control is ControlPolicy.LENIENT


def test_a_bad_policy_name_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.errors import ConfigError

    monkeypatch.setenv("ETL_X12_CONTROL", "sometimes")
    with pytest.raises(ConfigError, match="strict or lenient"):
        X12Options.from_env()


def test_staging_tables_start_with_their_keys() -> None:
    for table in SOURCE.staging_tables():
        assert table.columns[0].name == "set_position"
        assert "line_number integer not null" in table.ddl("stg_x12")
