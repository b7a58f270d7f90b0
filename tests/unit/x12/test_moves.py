"""The walk as a table of moves (moves.py) places every segment where the reference
walker (loops.py) does, and gives a set with a problem the walker's exact errors and
warnings: each check the moves leave to afterwards is made to fail once here."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.sources.x12.guide import guide_for
from etl.sources.x12.loops import place_set
from etl.sources.x12.moves import walk_sets
from etl.sources.x12.placed import PlacedSegments
from etl.sources.x12.reader import TransactionSet, read_x12
from etl.sources.x12.synth import generate
from tests.unit.x12.builders import X12, a_professional_claim, a_remittance, an_institutional_claim


def _compare(sets: list[TransactionSet]) -> int:
    """Both walks of every set agree: keys, errors and warnings. Returns how many
    problems the walker found."""
    problems = 0
    by_guide: dict[object, list[TransactionSet]] = {}
    for tset in sets:
        guide = guide_for(tset.transaction_code, tset.implementation_guide)
        assert guide is not None
        by_guide.setdefault(guide, []).append(tset)
    for guide, guided in by_guide.items():
        gathered = PlacedSegments()
        for tset in guided:
            gathered.add(tset)
        keys, walks = walk_sets(guide, gathered.frame(), guided)  # type: ignore[arg-type]
        offset = 0
        for tset in guided:
            expected, expected_keys = place_set(guide, tset.elements(),  # type: ignore[arg-type]
                                                tset.position, tset.delimiters.component)
            count = len(tset.segments)
            assert keys[offset:offset + count] == expected_keys, tset.label
            assert (walks[tset.position].errors, walks[tset.position].warnings) == \
                (expected.errors, expected.warnings), tset.label
            problems += len(expected.errors) + len(expected.warnings)
            offset += count
    return problems


def _sets(x12: X12) -> list[TransactionSet]:
    return read_x12(x12.bytes(), "t.x12").sets


VARIANTS = {
    "837P": a_professional_claim(),
    "837I": an_institutional_claim(),
    "835": a_remittance(),
    "a required segment missing": a_professional_claim().without("N3*2 OAK AVE"),
    "a required segment of a line missing": a_professional_claim().without("SV1*HC:J3420"),
    "a required loop missing": a_professional_claim().without("NM1*PR*2"),
    "a segment used too often": a_professional_claim().adding("REF*EI*123456789",
                                                              "REF*EI*123456789"),
    "a loop repeated too often": a_remittance().adding("N4*HARRISBURG", "N1*PR*AGAIN"),
    "a required element empty": a_professional_claim().replacing(
        "NM1*85*2*ELM PRACTICE*****XX*1003000126", "NM1*85*2"),
    "HL02 naming no enclosing level": a_professional_claim().replacing(
        "HL*2*1*22*0", "HL*2*7*22*0"),
    "HL01 used twice": a_professional_claim().replacing("HL*2*1*22*0", "HL*1*1*22*0"),
    "an unknown segment": a_professional_claim().adding("N4*BALTIMORE*MD*21201", "ZZZ*1"),
    "a segment out of order": a_remittance().adding("CAS*PR*1*5", "NM1*QC*1*DOE*JANE"),
    "a payment without its claim": a_remittance().without("CLP*PCN1"),
}


def test_a_segment_id_holding_another_separator_is_no_segment_of_the_guide() -> None:
    """With `|` between elements, `REF*EI` is one (invalid) id, not REF with REF01 EI,
    even when the elements after it fill what REF*EI requires."""
    text = a_professional_claim().text().replace("*", "|")
    text = text.replace("REF|EI|123456789", "REF*EI|123456789|X", 1)
    assert _compare(read_x12(text.encode(), "t.x12").sets) > 0


@pytest.mark.parametrize(("name", "x12"), VARIANTS.items(), ids=VARIANTS.keys())
def test_the_moves_walk_as_the_walker_does(name: str, x12: X12) -> None:
    problems = _compare(_sets(x12))
    assert (problems == 0) == (name in ("837P", "837I", "835"))


def test_the_moves_walk_synthetic_files_as_the_walker_does(tmp_path: Path) -> None:
    generate(tmp_path, claims=60, seed=3)
    sets = [tset for path in sorted(tmp_path.glob("*.x12"))
            for tset in read_x12(path.read_bytes(), path.name).sets]
    assert len(sets) > 5
    assert _compare(sets) == 0
