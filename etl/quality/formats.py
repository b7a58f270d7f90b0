"""Code formats the landing gate checks: one definition, used three ways.

Each format is a regular expression (POSIX-compatible, so PostgreSQL's `~` runs it) plus,
for NPI, a check digit. The same definition yields:

- a Python predicate (`is_valid`), for unit tests and small in-memory checks;
- a SQLAlchemy boolean expression (`sql_condition`), which Great Expectations runs inside
  its one aggregate query per table and which the gate reuses to list failing row ids;
- documentation (`FORMATS[name].description`, rendered into docs/quality.md).

Sources of the rules:
- ICD-10-CM: CMS/NCHS code structure, 3-7 characters without the dot: a letter, a digit,
  then letters or digits (C7A, M1A and Z3A have a letter in third position).
- ICD-9-CM: diagnoses 3-5 digits, V codes V + 2-4 digits, E codes E + 3-4 digits;
  procedures (volume 3) 2-4 digits.
- ICD-10-PCS: exactly 7 characters from digits and letters other than I and O.
- HCPCS (level I CPT and level II): 5 characters, letters or digits.
- NDC in claims: the 11-digit 5-4-2 form without hyphens.
- NPI: 10 digits whose last digit is the Luhn check digit computed over the card-issuer
  prefix 80840 followed by the first nine digits (CMS, "Requirements for the NPI check
  digit"); the prefix contributes a constant 24 to the Luhn sum.
- MBI: CMS "Understanding the MBI format": 11 characters; position 1 a digit 1-9,
  2/5/8/9 letters, 4/7/10/11 digits, 3 and 6 a letter or digit; letters exclude S, L, O,
  I, B and Z.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

_L = "[AC-HJKMNP-RT-Y]"  # an MBI letter: A-Z without B, I, L, O, S and Z
_AN = "[AC-HJKMNP-RT-Y0-9]"  # an MBI letter or a digit
MBI_REGEX = f"^[1-9]{_L}{_AN}[0-9]{_L}{_AN}[0-9]{_L}{_L}[0-9][0-9]$"

NPI_REGEX = "^[0-9]{10}$"
# Luhn over "80840" + the NPI's first nine digits: the prefix's share of the sum.
_NPI_PREFIX_SUM = 24


def npi_check_digit(first_nine: str) -> int:
    """The Luhn check digit of an NPI whose first nine digits are `first_nine`."""
    total = _NPI_PREFIX_SUM
    for position, char in enumerate(reversed(first_nine)):
        digit = int(char)
        if position % 2 == 0:  # the rightmost payload digit and every second one leftwards
            digit = digit * 2 - 9 if digit >= 5 else digit * 2
        total += digit
    return (10 - total % 10) % 10


def is_valid_npi(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{10}", value)) and npi_check_digit(value[:9]) == int(value[9])


def _npi_condition(column: ColumnElement[str]) -> ColumnElement[bool]:
    """True when `column` is ten digits with a correct check digit (set-based, no UDF).

    Digits come from integer arithmetic on the number (cheaper than ten substrings); a
    doubled digit d contributes 2d - 9 when d >= 5, i.e. 2d - 9 * (d / 5) in integers.
    """
    number = sa.cast(column, sa.BigInteger)
    total: ColumnElement[int] = sa.literal(_NPI_PREFIX_SUM)
    for position in range(1, 11):
        digit = sa.func.mod(number.op("/")(10 ** (10 - position)), 10)
        if position % 2 == 1 and position < 10:  # positions 1,3,5,7,9 are doubled
            digit = digit * 2 - digit.op("/")(5) * 9
        total = total + digit
    return sa.case((column.regexp_match(NPI_REGEX), sa.func.mod(total, 10) == 0), else_=False)


@dataclass(frozen=True)
class CodeFormat:
    name: str
    description: str
    regex: str
    # Extra condition beyond the regex (NPI's check digit), as SQL and as Python.
    extra_sql: Callable[[ColumnElement[str]], ColumnElement[bool]] | None = None
    extra_python: Callable[[str], bool] | None = None
    # Codes repeat (a few thousand distinct values per million rows), so the gate checks
    # each distinct value once; identifiers (MBI) are nearly unique and checked per row.
    per_value: bool = True

    def is_valid(self, value: str) -> bool:
        if not re.search(self.regex, value):
            return False
        return self.extra_python(value) if self.extra_python else True

    def sql_condition(self, column: ColumnElement[str]) -> ColumnElement[bool]:
        """A boolean SQL expression, true for valid values (nulls are the caller's concern)."""
        if self.extra_sql is not None:
            return self.extra_sql(column)
        return column.regexp_match(self.regex)


FORMATS: dict[str, CodeFormat] = {
    f.name: f
    for f in (
        CodeFormat("icd10cm", "ICD-10-CM diagnosis, 3-7 characters, no dot",
                   "^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$"),
        CodeFormat("icd9cm", "ICD-9-CM diagnosis (numeric, V or E code), no dot",
                   "^([0-9]{3}[0-9]{0,2}|V[0-9]{2}[0-9]{0,2}|E[0-9]{3}[0-9]?)$"),
        CodeFormat("icd10pcs", "ICD-10-PCS procedure, 7 characters without I and O",
                   "^[0-9A-HJ-NP-Z]{7}$"),
        CodeFormat("icd9pcs", "ICD-9-CM procedure (volume 3), 2-4 digits, no dot",
                   "^[0-9]{2}[0-9]{0,2}$"),
        CodeFormat("hcpcs", "HCPCS level I (CPT) or level II, 5 letters or digits",
                   "^[A-Z0-9]{5}$"),
        CodeFormat("ndc", "NDC, 11 digits (5-4-2 without hyphens)", "^[0-9]{11}$"),
        CodeFormat("npi", "NPI, 10 digits with the Luhn check digit over prefix 80840",
                   NPI_REGEX, extra_sql=_npi_condition, extra_python=is_valid_npi),
        CodeFormat("mbi", "Medicare Beneficiary Identifier, 11 characters by position",
                   MBI_REGEX, per_value=False),
    )
}


def is_valid_mbi(value: str) -> bool:
    return FORMATS["mbi"].is_valid(value)


def code_format(name: str) -> CodeFormat:
    if name not in FORMATS:
        raise KeyError(f"unknown code format {name!r}; known: {', '.join(sorted(FORMATS))}")
    return FORMATS[name]
