"""Fake, PHI-shaped identifiers and demographics for synthetic input.

Nothing here identifies anyone, yet every value has the shape the parsers and the
gates expect: an MBI follows CMS's format, an NPI carries a valid check digit, a
name fills a name field, an address has a street line, a city, a state, a ZIP+4
and a county. All draws come from the caller's `random.Random`, so a seed fixes
the output.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# CMS "Understanding the Medicare Beneficiary Identifier (MBI) Format": 11 characters;
# letters exclude S, L, O, I, B and Z so they cannot be read as digits.
MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"
_DIGITS = "0123456789"
# Position classes: C = 1-9, A = letter, N = 0-9, X = letter or digit.
_MBI_POSITIONS = "CAXNAXNAANN"
_MBI_CLASSES = {"C": "123456789", "A": MBI_LETTERS, "N": _DIGITS, "X": MBI_LETTERS + _DIGITS}
_MBI_PATTERN = re.compile(
    "".join(f"[{_MBI_CLASSES[position]}]" for position in _MBI_POSITIONS) + r"\Z"
)

# NPI check digit (CMS, "Requirements for Check Digit Algorithm for the NPI"): the Luhn
# formula over the 9 leading digits prefixed with 80840, the card issuer prefix that
# the standard assigns to US health identifiers. The prefix's own share of the sum is 24.
_NPI_PREFIX_SUM = 24
_NPI_PATTERN = re.compile(r"[12]\d{9}\Z")


def mbi(rng: random.Random) -> str:
    """A random identifier in CMS's MBI format (not a real beneficiary's, by chance only)."""
    return "".join(rng.choice(_MBI_CLASSES[position]) for position in _MBI_POSITIONS)


def is_mbi(text: str) -> bool:
    return bool(_MBI_PATTERN.match(text))


def npi_check_digit(first_nine: str) -> int:
    """The tenth digit of an NPI whose first nine digits are `first_nine`."""
    total = _NPI_PREFIX_SUM
    # Luhn: from the right of the payload, every other digit starting with the last is doubled.
    for position, char in enumerate(reversed(first_nine)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10


def npi(rng: random.Random, *, organization: bool = False) -> str:
    """A random NPI: 1 for individuals, 2 for organizations, then 8 digits and the check digit."""
    first_nine = ("2" if organization else "1") + "".join(rng.choice(_DIGITS) for _ in range(8))
    return first_nine + str(npi_check_digit(first_nine))


def is_npi(text: str) -> bool:
    return bool(_NPI_PATTERN.match(text)) and npi_check_digit(text[:9]) == int(text[9])


@dataclass(frozen=True)
class Place:
    """A city with its USPS state, 5-digit ZIP and FIPS state and county codes."""

    city: str
    state: str
    zip5: str
    fips_state: str
    fips_county: str


@dataclass(frozen=True)
class Address:
    line_1: str
    line_2: str | None
    place: Place
    zip4: str


@dataclass(frozen=True)
class Name:
    first: str
    middle: str
    last: str


# Public geography (city, state, ZIP, county FIPS); who lives there is made up.
PLACES: tuple[Place, ...] = (
    Place("BALTIMORE", "MD", "21201", "24", "510"),
    Place("TOWSON", "MD", "21204", "24", "005"),
    Place("COLUMBIA", "MD", "21044", "24", "027"),
    Place("FREDERICK", "MD", "21701", "24", "021"),
    Place("ANNAPOLIS", "MD", "21401", "24", "003"),
    Place("ROCKVILLE", "MD", "20850", "24", "031"),
    Place("HAGERSTOWN", "MD", "21740", "24", "043"),
    Place("SALISBURY", "MD", "21801", "24", "045"),
    Place("CUMBERLAND", "MD", "21502", "24", "001"),
    Place("WILMINGTON", "DE", "19801", "10", "003"),
    Place("NEWARK", "DE", "19711", "10", "003"),
    Place("DOVER", "DE", "19901", "10", "001"),
    Place("YORK", "PA", "17401", "42", "133"),
    Place("LANCASTER", "PA", "17602", "42", "071"),
    Place("HARRISBURG", "PA", "17101", "42", "043"),
    Place("GETTYSBURG", "PA", "17325", "42", "001"),
    Place("ARLINGTON", "VA", "22201", "51", "013"),
    Place("ALEXANDRIA", "VA", "22314", "51", "510"),
    Place("RICHMOND", "VA", "23219", "51", "760"),
    Place("MARTINSBURG", "WV", "25401", "54", "003"),
)

_FIRST_NAMES = {
    "1": (
        "JAMES",
        "ROBERT",
        "JOHN",
        "MICHAEL",
        "WILLIAM",
        "DAVID",
        "RICHARD",
        "JOSEPH",
        "THOMAS",
        "CHARLES",
        "DONALD",
        "GEORGE",
        "KENNETH",
        "RAYMOND",
        "FRANK",
        "HAROLD",
    ),
    "2": (
        "MARY",
        "PATRICIA",
        "LINDA",
        "BARBARA",
        "ELIZABETH",
        "JENNIFER",
        "MARIA",
        "SUSAN",
        "MARGARET",
        "DOROTHY",
        "NANCY",
        "KAREN",
        "BETTY",
        "HELEN",
        "SANDRA",
        "CAROL",
    ),
}
_LAST_NAMES = (
    "SMITH",
    "JOHNSON",
    "WILLIAMS",
    "BROWN",
    "JONES",
    "GARCIA",
    "MILLER",
    "DAVIS",
    "RODRIGUEZ",
    "MARTINEZ",
    "HERNANDEZ",
    "LOPEZ",
    "GONZALEZ",
    "WILSON",
    "ANDERSON",
    "THOMAS",
    "TAYLOR",
    "MOORE",
    "JACKSON",
    "MARTIN",
    "LEE",
    "PEREZ",
    "THOMPSON",
    "WHITE",
    "HARRIS",
    "SANCHEZ",
    "CLARK",
    "RAMIREZ",
    "LEWIS",
    "ROBINSON",
    "WALKER",
    "YOUNG",
    "ALLEN",
    "KING",
    "WRIGHT",
    "SCOTT",
    "TORRES",
    "NGUYEN",
    "HILL",
    "FLORES",
)
_STREETS = (
    "MAPLE",
    "OAK",
    "CEDAR",
    "ELM",
    "PINE",
    "WALNUT",
    "CHESTNUT",
    "HICKORY",
    "BIRCH",
    "SPRUCE",
    "WILLOW",
    "MAGNOLIA",
    "LAUREL",
    "SYCAMORE",
    "POPLAR",
    "DOGWOOD",
)
_STREET_KINDS = ("ST", "AVE", "RD", "DR", "LN", "CT", "WAY", "BLVD")


def name(rng: random.Random, sex_code: str) -> Name:
    """A name that fits the sex code (1 male, 2 female; anything else draws from both)."""
    firsts = _FIRST_NAMES.get(sex_code, _FIRST_NAMES["1"] + _FIRST_NAMES["2"])
    return Name(
        first=rng.choice(firsts),
        middle=rng.choice("ABCDEFGHJKLMNPRSTW"),
        last=rng.choice(_LAST_NAMES),
    )


def address(rng: random.Random, place: Place | None = None) -> Address:
    """A street address in `place` (or a random one of PLACES)."""
    street = f"{rng.randint(1, 9999)} {rng.choice(_STREETS)} {rng.choice(_STREET_KINDS)}"
    unit = f"APT {rng.randint(1, 40)}" if rng.random() < 0.15 else None
    return Address(
        line_1=street,
        line_2=unit,
        place=place or rng.choice(PLACES),
        zip4=f"{rng.randint(1, 9999):04d}",
    )
