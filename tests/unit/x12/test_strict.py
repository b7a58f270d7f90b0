"""Opt-in full implementation-guide validation with pyx12 (ETL_X12_STRICT=1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.sources.base import UnitRejected
from etl.sources.x12 import X12Source, strict
from etl.sources.x12.options import X12Options
from tests.unit.x12.builders import a_professional_claim, an_institutional_claim

pytestmark = pytest.mark.skipif(not strict.pyx12_available(), reason="pyx12 is not installed")


def _read(tmp_path: Path, text: str, validate_ig: bool) -> list[str]:
    (tmp_path / "f.x12").write_text(text)
    source = X12Source(X12Options(validate_ig=validate_ig))
    unit = source.discover(tmp_path)[0]
    return [batch.table for batch in source.read(unit)]


def test_a_set_pyx12_accepts_lands(tmp_path: Path) -> None:
    assert "claims" in _read(tmp_path, a_professional_claim().text(), validate_ig=True)


def test_what_only_the_full_guide_forbids_rejects_in_strict_mode(tmp_path: Path) -> None:
    # 837I loop 2010AA N403 must be a nine-digit ZIP: the reader's structural checks let
    # the five-digit one through, pyx12's element checks do not.
    text = an_institutional_claim().text()
    assert "claims" in _read(tmp_path, text, validate_ig=False)
    with pytest.raises(UnitRejected, match=r"strict validation \(pyx12\).*Postal Zone"):
        _read(tmp_path, text, validate_ig=True)


def test_a_guide_pyx12_has_no_map_for_is_rejected_in_strict_mode(tmp_path: Path) -> None:
    text = a_professional_claim().text().replace("005010X222A1", "005010X222A2")
    with pytest.raises(UnitRejected, match="pyx12 cannot validate the file"):
        _read(tmp_path, text, validate_ig=True)
