"""Code formats: NPI check digit, MBI positions, and the code regexes, in Python."""

from __future__ import annotations

import random

import pytest

from etl.quality.formats import FORMATS, code_format, is_valid_mbi, is_valid_npi, npi_check_digit
from etl.synth import fake


def test_npi_check_digit_of_the_cms_example() -> None:
    # CMS's worked example: 123456789 -> 80840123456789 -> check digit 3.
    assert npi_check_digit("123456789") == 3
    assert is_valid_npi("1234567893")


@pytest.mark.parametrize("value", ["1234567890", "123456789", "12345678933", "12345678a3",
                                   "", " 234567893"])
def test_npi_rejects_wrong_check_digit_length_or_characters(value: str) -> None:
    assert not is_valid_npi(value)


def test_npi_agrees_with_the_synthetic_generator() -> None:
    """An independent implementation (etl.synth.fake) produces only valid NPIs, and
    changing the check digit of any of them makes it invalid."""
    rng = random.Random(5)
    for _ in range(2000):
        value = fake.npi(rng, organization=rng.random() < 0.5)
        assert is_valid_npi(value)
        wrong = value[:9] + str((int(value[9]) + rng.randint(1, 9)) % 10)
        assert not is_valid_npi(wrong)


@pytest.mark.parametrize("value", ["1EG4TE5MK73", "9AA0A00AA00", "1A00A00AA00",
                                   "1EG4T05MK73"])  # positions 3 and 6 may be digits
def test_mbi_valid(value: str) -> None:
    assert is_valid_mbi(value)


@pytest.mark.parametrize("value", [
    "0EG4TE5MK73",   # position 1 must be 1-9
    "1SG4TE5MK73",   # S is never used
    "1EG4TE5MK7",    # 10 characters
    "1EG4TE5MK733",  # 12 characters
    "1EGATE5MK73",   # position 4 numeric
    "1EG4TE5M173",   # position 9 alphabetic
    "1eg4te5mk73",   # lower case
    "1EG4-TE5-MK73",  # dashes are print formatting, not part of the identifier
])
def test_mbi_invalid(value: str) -> None:
    assert not is_valid_mbi(value)


def test_mbi_agrees_with_the_synthetic_generator() -> None:
    rng = random.Random(9)
    for _ in range(2000):
        value = fake.mbi(rng)
        assert is_valid_mbi(value) and fake.is_mbi(value)


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("icd10cm", ["E119", "I10", "M545", "Z3A01", "S72001A", "C7A010", "U071"],
     ["E11.9", "1E19", "EE19", "I1", "S72001AA", "e119"]),
    ("icd9cm", ["250", "25000", "V5861", "E8889", "4019"], ["2500000", "V5", "E88", "A001"]),
    ("icd10pcs", ["0BP1X2Z", "01BL4ZZ", "3E0336Z"], ["0BP1X2", "0BI1X2Z", "0BO1X2Z", "0bp1x2z"]),
    ("icd9pcs", ["4513", "99", "123"], ["1", "12345", "45.13"]),
    ("hcpcs", ["99213", "J1100", "G0439", "0001U"], ["9921", "992130", "J11.0", "j1100"]),
    ("ndc", ["00002140701", "45545000104"], ["0002-1407-01", "0002140701", "000021407011"]),
])
def test_code_formats(name: str, good: list[str], bad: list[str]) -> None:
    fmt = code_format(name)
    assert [v for v in good if not fmt.is_valid(v)] == []
    assert [v for v in bad if fmt.is_valid(v)] == []


def test_unknown_format_is_named() -> None:
    with pytest.raises(KeyError, match="icd10cm"):
        code_format("icd11")


def test_identifiers_are_checked_per_row_and_codes_per_value() -> None:
    assert not FORMATS["mbi"].per_value
    assert all(FORMATS[name].per_value for name in FORMATS if name != "mbi")
