"""Every X12 file of the shared corpus (../shared/corpus/x12, SOURCES.md §2) is handled:
each lands or is rejected with the reason its defect deserves.

Verdicts under the default (strict) control policy and under ETL_X12_CONTROL=lenient:
- imsweb valid/: every file states SE01 = 25 whatever the set's length (some also GE01
  or IEA01 = 1 for several sets or groups), so strict control checks reject them;
  lenient ones land them. Their HI segments split the qualifier and the code into two elements
  (HI*BK*8901), which is not X12 syntax: those claims are quarantined, each with that
  reason; x12_writer_test and x223-test use proper composites and land their claim.
- imsweb invalid/: every file is rejected, each for its own defect (named below), also
  when lenient, except x12_ambiguous_loop: upstream's own test treats it as valid (its
  NM1*82 must resolve to loop 2420A), and apart from its SE01 it is.
- LinuxForHealth 837s land; seven of them write composites with '>' while their ISA16
  declares ':', so their claims are quarantined with that reason.
- 835s land, except blue_cross_nc_sample (no envelope, SE01 off by one, an SVC without
  its required SVC02/SVC03); cob-contractural-adjustment and secondary-payment land with
  their '>'-composite payments quarantined.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.sources.x12.parse import parse_x12
from etl.sources.x12.reader import ControlPolicy

IMSWEB = "837/imsweb_x12-parser"
LFH_837P = "837/linuxforhealth_x12/837_005010X222A2"
LFH_837I = "837/linuxforhealth_x12/837_005010X223A3"
LFH_835 = "835/linuxforhealth_x12/835_005010X221A1"

# invalid/ file -> what its rejection must say (besides any control-count problem).
INVALID = {
    "x12_bad_first_line.txt": ["ISA02 is 9 characters where X12 fixes it at 10"],
    "x12_bad_segment_identifier.txt": ["'' is not an X12 segment identifier",
                                       "'Nd4' is not an X12 segment identifier"],
    "x12_bad_valid_code.txt": ["NM1*117 is not expected in loop 2000A"],
    "x12_loop_errors1_exceeds_max_1_parent.txt": [
        "loop 2010AA (Billing Provider Name) appears more than 1 time(s) in loop 2000A"],
    "x12_loop_errors2_exceeds_max_repeats_multiple_parents.txt": [
        "loop 2010AA (Billing Provider Name) appears more than 1 time(s) in loop 2000A"],
    "x12_loop_errors3_missing_loops.txt": [
        "loop 2010AA (Billing Provider Name) is required in loop 2000A"],
    "x12_missing_elements.txt": ["NM1*40 in loop 1000B (Receiver Name) lacks NM102",
                                 "CLM in loop 2300 (Claim Information) lacks CLM05"],
    "x12_missing_required_loop_in_one_repeat.txt": [
        "loop 2010BA (Subscriber Name) is required in loop 2000B"],
    "x12_missing_required_loops_mult_repeats.txt": [
        "SV1*HC:478330:25 is not expected in loop 2300",
        "loop 2400 (Service Line Number) is required in loop 2300"],
    "x12_no_isa_line.txt": ["does not begin with an ISA interchange header"],
    "x12_segment_errors.txt": [
        "REF*EI/SY (Billing Provider Tax Identification) appears more than 1 time(s)",
        "N3 (Billing Provider Address) is required in loop 2010AA", "HI (Health Care"],
    "x12_segments_out_of_order.txt": ["N4 is out of order in loop 2010AA",
                                      "N3 is out of order in loop 2010AB"],
}
# Files whose claims (837) or claim payments (835) are all quarantined, with the reason.
QUARANTINED = {
    **{f"{LFH_837P}/{name}": "ISA16 declares ':'" for name in (
        "demo.cob.2ndary.example4.837", "demo.example11.837", "demo.example12.837",
        "demo.example6.837", "demo.example9.837")},
    **{f"{LFH_837I}/{name}": "ISA16 declares ':'" for name in (
        "out-of-network-repriced-claim.837i", "ppo-repriced-claim.837i")},
    f"{LFH_835}/cob-contractural-adjustment.835": "ISA16 declares ':'",
}


def _corpus_files(corpus: Path) -> list[Path]:
    root = corpus / "x12"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".csv"
                  and "LICENSE" not in p.name)


@pytest.fixture(scope="module")
def x12_corpus(corpus_dir: Path) -> Path:
    root = corpus_dir / "x12"
    if not root.is_dir():
        pytest.skip(f"no x12 folder in the corpus at {corpus_dir}")
    return root


def _verdict(path: Path, policy: ControlPolicy) -> tuple[bool, str]:
    parsed = parse_x12(path.read_bytes(), path.name, policy)
    reasons = " | ".join(r.reason for r in parsed.rejects())
    return bool(parsed.accepted), reasons


def test_the_corpus_has_the_files_this_test_knows(x12_corpus: Path) -> None:
    names = {p.relative_to(x12_corpus).as_posix() for p in _corpus_files(x12_corpus.parent)}
    assert {f"{IMSWEB}/invalid/{name}" for name in INVALID} <= names
    assert len(names) == 55


@pytest.mark.parametrize("name", sorted(INVALID))
@pytest.mark.parametrize("policy", list(ControlPolicy))
def test_every_invalid_file_is_rejected_for_its_defect(x12_corpus: Path, name: str,
                                                       policy: ControlPolicy) -> None:
    landed, reasons = _verdict(x12_corpus / IMSWEB / "invalid" / name, policy)
    assert not landed
    for expected in INVALID[name]:
        assert expected in reasons


def test_the_ambiguous_loop_file_fails_only_its_control_count(x12_corpus: Path) -> None:
    path = x12_corpus / IMSWEB / "invalid" / "x12_ambiguous_loop.txt"
    landed, reasons = _verdict(path, ControlPolicy.STRICT)
    assert not landed and "SE01" in reasons
    assert _verdict(path, ControlPolicy.LENIENT) == (True, "")


def test_imsweb_valid_files_fail_only_their_control_counts_by_default(x12_corpus: Path) -> None:
    for path in sorted((x12_corpus / IMSWEB / "valid").iterdir()):
        parsed = parse_x12(path.read_bytes(), path.name, ControlPolicy.STRICT)
        assert not parsed.accepted, path.name
        for tset in parsed.sets:
            assert any("SE01" in error for error in tset.errors), path.name
            assert all(any(count in error for count in ("SE01", "GE01", "IEA01"))
                       for error in tset.errors), path.name


def test_imsweb_valid_files_land_when_control_counts_are_lenient(x12_corpus: Path) -> None:
    for path in sorted((x12_corpus / IMSWEB / "valid").iterdir()):
        landed, reasons = _verdict(path, ControlPolicy.LENIENT)
        assert landed, path.name
        if path.name in ("x12_writer_test.txt", "x223-test.txt"):
            assert reasons == "", path.name
        else:
            assert "is not an HI code list qualifier" in reasons, path.name


def test_linuxforhealth_files_land(x12_corpus: Path) -> None:
    for folder in (LFH_837P, LFH_837I, LFH_835):
        for path in sorted((x12_corpus / folder).iterdir()):
            if "LICENSE" in path.name:
                continue
            relative = f"{folder}/{path.name}"
            landed, reasons = _verdict(path, ControlPolicy.STRICT)
            assert landed, relative
            if relative in QUARANTINED:
                assert QUARANTINED[relative] in reasons, relative
            elif path.name != "secondary-payment.835":
                assert reasons == "", (relative, reasons)


def test_other_835s_land_except_the_bare_blue_cross_sample(x12_corpus: Path) -> None:
    for path in [*sorted((x12_corpus / "835" / "keironstoddart_edi-835-parser").glob("*.txt")),
                 x12_corpus / "835" / "pyx12" / "835_mult_loops.txt"]:
        landed, reasons = _verdict(path, ControlPolicy.LENIENT)
        if path.name == "blue_cross_nc_sample.txt":
            assert not landed
            assert "lacks SVC02, SVC03" in reasons
            assert not _verdict(path, ControlPolicy.STRICT)[0]
        else:
            assert landed and reasons == "", path.name
            assert _verdict(path, ControlPolicy.STRICT) == (True, ""), path.name
