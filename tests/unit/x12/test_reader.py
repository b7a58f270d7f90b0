"""Delimiters from the ISA and the envelope checks of TR3 Appendix B."""

from __future__ import annotations

import pickle

from etl.sources.x12.reader import ControlPolicy, TransactionSet, isa_delimiters, read_x12
from tests.unit.x12.builders import a_professional_claim


def _normalized(tset: TransactionSet) -> list[list[str]]:
    """Segments with the set's component separator written as ':'."""
    component = tset.delimiters.component
    return [[element.replace(component, ":") for element in segment]
            for segment in tset.elements()]


def test_delimiters_come_from_the_isa() -> None:
    text = a_professional_claim().text()
    delimiters, problem = isa_delimiters(text)
    assert problem is None
    assert delimiters is not None
    assert (delimiters.element, delimiters.component, delimiters.repetition,
            delimiters.segment) == ("*", ":", "^", "~")


def test_other_delimiters_and_line_breaks_read_the_same_segments() -> None:
    plain = _normalized(read_x12(a_professional_claim().bytes(), "a.x12").sets[0])
    other = a_professional_claim()
    other = type(other)(other.body, element="|", component=">", terminator="_",
                        line_break="\r\n")
    assert _normalized(read_x12(other.bytes(), "b.x12").sets[0]) == plain


def test_newline_as_segment_terminator() -> None:
    claim = a_professional_claim()
    claim = type(claim)(claim.body, terminator="\n")
    result = read_x12(claim.bytes(), "n.x12")
    assert not result.file_problems
    assert not result.sets[0].errors


def test_an_isa_element_of_the_wrong_width_is_named() -> None:
    text = a_professional_claim().text().replace("*          *00", "*         *00", 1)
    result = read_x12(text.encode(), "bad.x12")
    assert not result.sets
    assert "ISA02 is 9 characters" in result.file_problems[0]


def test_a_file_without_isa_is_refused() -> None:
    text = a_professional_claim().text()
    result = read_x12(text[text.index("GS*"):].encode(), "nois.x12")
    assert not result.sets
    assert "does not begin with an ISA" in result.file_problems[0]


def test_a_wrong_se_count_rejects_the_set_by_default() -> None:
    result = read_x12(a_professional_claim().__class__(
        a_professional_claim().body, se_count=3).bytes(), "se.x12")
    assert any("SE01" in error for error in result.sets[0].errors)


def test_a_wrong_se_count_is_a_warning_when_lenient() -> None:
    claim = a_professional_claim()
    result = read_x12(type(claim)(claim.body, se_count=3).bytes(), "se.x12",
                      ControlPolicy.LENIENT)
    assert not result.sets[0].errors
    assert any("SE01" in warning for warning in result.sets[0].warnings)


def test_a_wrong_se_control_number_always_rejects() -> None:
    text = a_professional_claim().text().replace("*0001~GE", "*0002~GE")
    result = read_x12(text.encode(), "ctl.x12", ControlPolicy.LENIENT)
    assert any("SE02" in error for error in result.sets[0].errors)


def test_a_set_without_se_is_rejected_and_the_next_set_still_reads() -> None:
    claim = a_professional_claim()
    text = type(claim)(claim.body, sets=2).text()
    first_se = text.index("~SE*") + 1
    text = text[:first_se] + text[text.index("~", first_se) + 1:]
    result = read_x12(text.encode(), "trunc.x12", ControlPolicy.LENIENT)
    assert len(result.sets) == 2
    assert "has no SE trailer" in result.sets[0].errors[0]
    assert not result.sets[1].errors


def test_group_and_interchange_counts_and_controls_are_checked() -> None:
    claim = a_professional_claim()
    text = type(claim)(claim.body, sets=2).text().replace("GE*2*7", "GE*3*7")
    result = read_x12(text.encode(), "ge.x12")
    assert all(any("GE01" in e for e in s.errors) for s in result.sets)
    text = claim.text().replace("IEA*1*000000001", "IEA*1*000000002")
    result = read_x12(text.encode(), "iea.x12", ControlPolicy.LENIENT)
    assert any("IEA02" in error for error in result.sets[0].errors)


def test_a_missing_iea_is_a_control_problem() -> None:
    claim = a_professional_claim()
    text = type(claim)(claim.body, trailers=("GE",)).text()
    assert read_x12(text.encode(), "x.x12").sets[0].errors
    assert not read_x12(text.encode(), "x.x12", ControlPolicy.LENIENT).sets[0].errors


def test_a_bare_set_is_read_only_when_lenient() -> None:
    text = a_professional_claim().text()
    bare = text[text.index("ST*"):text.index("GE*")]
    strict = read_x12(bare.encode(), "bare.x12")
    lenient = read_x12(bare.encode(), "bare.x12", ControlPolicy.LENIENT)
    assert any("no ISA/GS envelope" in e for e in strict.sets[0].errors)
    assert not lenient.sets[0].errors
    assert lenient.sets[0].elements()[1][0] == "BHT"


def test_two_interchanges_with_their_own_delimiters() -> None:
    claim = a_professional_claim()
    other = type(claim)(claim.body, element="|", component=">", terminator="!")
    result = read_x12((claim.text() + "\n" + other.text()).encode(), "two.x12")
    assert len(result.sets) == 2
    assert _normalized(result.sets[0]) == _normalized(result.sets[1])
    assert result.sets[1].position == len(claim.text().split("~")) - 1 + 3


def test_set_digest_ignores_delimiters() -> None:
    claim = a_professional_claim()
    other = type(claim)(claim.body, element="|", component=">")
    first = read_x12(claim.bytes(), "a").sets[0]
    second = read_x12(other.bytes(), "b").sets[0]
    assert first.digest() == second.digest()


def test_a_set_pickled_for_a_worker_keeps_its_segments_and_verdict() -> None:
    claim = a_professional_claim()
    text = type(claim)(claim.body, terminator="\n", se_count=3).text()
    tset = read_x12(text.encode(), "p.x12").sets[0]
    copy = pickle.loads(pickle.dumps(tset))  # noqa: S301 - our own bytes
    assert copy.segments == tset.segments and copy.errors == tset.errors
    assert copy.label == tset.label and copy.digest() == tset.digest()
