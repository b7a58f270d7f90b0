"""Parsing a file in parts of whole sets (landing's path) gives what parsing it whole gives."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from etl.sources.base import UnitRejected
from etl.sources.x12 import SOURCE
from etl.sources.x12.parse import ParsedFile, parse_x12, parse_x12_parts
from etl.sources.x12.reader import ControlPolicy
from tests.unit.x12.builders import a_professional_claim, a_remittance, an_institutional_claim


def _file() -> bytes:
    """Four interchanges: three good sets and one that fails its structure."""
    bad = a_professional_claim().without("N3*2 OAK")
    return "".join(x12.text() for x12 in (
        a_professional_claim(), bad, an_institutional_claim(), a_remittance())).encode()


def _joined(parts: list[ParsedFile]) -> dict[str, list[dict[str, object]]]:
    names = parts[0].landing_tables().keys()
    return {name: pa.concat_tables([p.landing_tables()[name] for p in parts]).to_pylist()
            for name in names}


@pytest.mark.parametrize("policy", list(ControlPolicy))
@pytest.mark.parametrize(("part_segments", "count"), [(1, 4), (60, 2), (10_000, 1)])
def test_parts_hold_the_rows_verdicts_and_rejects_of_the_whole_file(
        policy: ControlPolicy, part_segments: int, count: int) -> None:
    whole = parse_x12(_file(), "f.x12", policy)
    parts = list(parse_x12_parts(_file(), "f.x12", policy, part_segments))
    assert len(parts) == count  # sets of 31, 30, 36 and 28 segments
    assert _joined(parts) == {name: rows.to_pylist()
                              for name, rows in whole.landing_tables().items()}
    assert [(s.position, s.errors, s.warnings) for p in parts for s in p.sets] == \
        [(s.position, s.errors, s.warnings) for s in whole.sets]
    assert sorted(repr(r) for p in parts for r in p.rejects()) == \
        sorted(repr(r) for r in whole.rejects())
    assert len(whole.rejected) == 1


def test_a_file_with_no_set_is_one_part_with_its_problem() -> None:
    parts = list(parse_x12_parts(b"GS*HC*X~", "f.x12"))
    assert len(parts) == 1 and not parts[0].sets
    assert "does not begin with an ISA" in parts[0].rejection_summary()


def test_a_file_rejected_in_every_part_names_every_reason(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    bad = a_professional_claim().without("N3*2 OAK")
    (tmp_path / "bad.x12").write_text(bad.text() + bad.replacing("N4*", "N4X*").text())
    monkeypatch.setattr("etl.sources.x12.source.parse_x12_parts",
                        lambda data, name, policy, **how: parse_x12_parts(data, name, policy,
                                                                          1, **how))
    unit = SOURCE.discover(tmp_path)[0]
    with pytest.raises(UnitRejected) as raised:
        list(SOURCE.read(unit))
    assert str(raised.value).count("rejected") == 2
