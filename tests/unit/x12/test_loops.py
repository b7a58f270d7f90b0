"""Loop placement and the structural checks of the TR3 loops (loops.py, guides/*.txt)."""

from __future__ import annotations

import pytest

from etl.sources.x12.guide import guide_for, load_guides, parse_guide
from etl.sources.x12.loops import place_set
from etl.sources.x12.parse import parse_x12
from etl.sources.x12.reader import read_x12
from tests.unit.x12.builders import (
    X12,
    a_professional_claim,
    a_remittance,
    an_institutional_claim,
)


def _errors(x12: X12) -> list[str]:
    return parse_x12(x12.bytes(), "t.x12").sets[0].errors


def _loops(x12: X12) -> dict[str, str | None]:
    tset = read_x12(x12.bytes(), "t.x12").sets[0]
    guide = guide_for(tset.transaction_code, tset.implementation_guide)
    assert guide is not None
    segments = tset.elements()
    _, keys = place_set(guide, segments, tset.position, tset.delimiters.component)
    return {"*".join(segment[:2]): key.split("/")[0] if key else None for segment, key in
            zip(segments, keys, strict=True)}


@pytest.mark.parametrize("x12", [a_professional_claim(), an_institutional_claim(),
                                 a_remittance()], ids=["837P", "837I", "835"])
def test_the_builders_valid_sets_have_no_errors(x12: X12) -> None:
    assert _errors(x12) == []


def test_the_guides_cover_three_transactions() -> None:
    assert sorted(guide.name for guide in load_guides()) == ["835", "837I", "837P"]


def test_nm1_82_after_a_line_is_the_line_rendering_provider() -> None:
    claim = a_professional_claim().adding("REF*6R*L1", "NM1*82*1*LINE*DOC****XX*1245319599")
    loops = _loops(claim)
    assert loops["NM1*82"] == "2420A"  # the last NM1*82 (the claim's is 2310B)
    assert _loops(a_professional_claim())["NM1*82"] == "2310B"


def test_segments_out_of_order_are_reported() -> None:
    claim = a_professional_claim().without("N3*2 OAK").adding("REF*EI", "N3*2 OAK AVE")
    errors = _errors(claim)
    assert any("N3 is out of order in loop 2010AA" in e for e in errors)


def test_a_missing_required_segment_is_reported() -> None:
    errors = _errors(a_professional_claim().without("N3*2 OAK"))
    assert any("N3 (Billing Provider Address) is required in loop 2010AA" in e
               for e in errors)


def test_a_missing_required_loop_is_reported() -> None:
    errors = _errors(a_professional_claim().without("NM1*IL"))
    assert any("loop 2010BA (Subscriber Name) is required in loop 2000B" in e for e in errors)


def test_a_loop_used_too_often_is_reported_once() -> None:
    claim = a_professional_claim().adding("REF*EI", "NM1*85*2*AGAIN*****XX*1003000126",
                                          "N3*X", "N4*Y*MD*21201", "REF*EI*1")
    errors = _errors(claim)
    assert errors == [e for e in errors if "2010AA" in e]
    assert len(errors) == 1 and "appears more than 1 time" in errors[0]


def test_a_missing_required_element_is_reported() -> None:
    errors = _errors(a_professional_claim().replacing("CLM*", "CLM*PCN1*150****Y*A*Y*Y"))
    assert any("lacks CLM05" in e for e in errors)


def test_an_unknown_segment_id_is_reported() -> None:
    errors = _errors(a_professional_claim().adding("HI*", "Xy1*1"))
    assert any("'Xy1' is not an X12 segment identifier" in e for e in errors)


def test_a_service_line_without_lx_is_not_expected() -> None:
    errors = _errors(a_professional_claim().without("LX*1"))
    assert any("SV1*HC:99213:25 is not expected" in e for e in errors)


def test_hl_numbering_problems_are_warnings() -> None:
    parsed = parse_x12(a_professional_claim().replacing("HL*2*1", "HL*2*9*22*0").bytes(), "t")
    assert not parsed.sets[0].errors
    assert any("HL02" in w for w in parsed.sets[0].warnings)


def test_guide_grammar_errors_name_the_line() -> None:
    with pytest.raises(ValueError, match="guide:2"):
        parse_guide("guide X 1\nNM1 R\n", "guide")
