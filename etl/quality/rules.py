"""Gate 1's metadata: which check applies to which staging column, as data.

A source's rules live in `etl/quality/rulesets/<source>.csv`, one row per rule:

    table,column,check,argument,when,severity,threshold_pct,note

- `table`: a staging table, or a glob over the source's tables (`*`, `parta_*`).
- `column`: a column, a glob over column names (`*npi_num`, `clm_dgns_*_cd`), or
  `kind:<kind>` for every column of that kind in the source's catalog (`kind:date`).
- `check`: one of the checks in `rulesets/checks.csv` (not_null, format, regex, in_set,
  date_range, not_before); `argument` is the check's parameter (a format name,
  a regex, `a|b|c`, `min..max`, another column).
- `when`: optional `column=value` or `column=v1|v2`: the check applies to the rows
  where it holds (e.g. `dgns_prcdr_icd_ind=0`: ICD-10 codes only). A rule whose `when`
  column is absent from a table does not apply to that table.
- `severity` (`fatal` or `warning`, or `off` to drop a rule that an earlier row made)
  and `threshold_pct` (the largest percent of violating rows that still passes) default
  to the check's row in `rulesets/checks.csv`.

Rows expand against the source's catalog (its staging tables and columns with their
kinds: from the CCLF layout for CCLF, from information_schema for any other source), in
order; a later row for the same table, column, check, argument and `when` replaces an
earlier one, so a specific row after a glob row overrides it. A source without a CSV
still gets the generic rules of its `staging_tables()` (required columns and declared
code formats).
"""

from __future__ import annotations

import csv
import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Literal

from etl.errors import ConfigError
from etl.quality.formats import FORMATS

Severity = Literal["fatal", "warning"]
COLUMN_CHECKS = ("not_null", "format", "regex", "in_set", "date_range", "not_before")
LOAD_CHECKS = ("control_total", "quarantine_rate")
LINEAGE = frozenset({"load_id", "file_name", "line_number"})
_RULE_FIELDS = ("table", "column", "check", "argument", "when", "severity", "threshold_pct",
                "note")


@dataclass(frozen=True)
class CatalogColumn:
    """A staging column as the rules see it: its table, name and kind."""

    table: str
    column: str
    kind: str  # text, code, date, amount, integer (the CCLF layout's kinds) or the SQL type


@dataclass(frozen=True)
class Condition:
    """`column` in `values`: the rows a rule looks at."""

    column: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Condition | None:
        text = text.strip()
        if not text:
            return None
        found = re.fullmatch(r"([a-z_][a-z0-9_]*)\s*=\s*(.+)", text)
        if not found:
            raise ConfigError(f"a rule's `when` must read column=value[|value...], not {text!r}")
        return cls(found.group(1), tuple(v.strip() for v in found.group(2).split("|")))

    def __str__(self) -> str:
        return f"{self.column}={'|'.join(self.values)}"


@dataclass(frozen=True)
class CheckDefault:
    check: str
    severity: Severity
    threshold_pct: float
    description: str


@dataclass(frozen=True)
class RuleRow:
    """One row of a rules CSV, before expansion against the catalog."""

    table: str
    column: str
    check: str
    argument: str = ""
    when: str = ""
    severity: str = ""
    threshold_pct: str = ""
    note: str = ""
    origin: str = ""


@dataclass(frozen=True)
class Rule:
    """One check on one staging column, ready to become an expectation."""

    table: str
    column: str
    check: str
    argument: str
    when: Condition | None
    severity: Severity
    threshold_pct: float
    note: str = ""
    origin: str = ""

    @property
    def name(self) -> str:
        """The check's name in etl.dq_result, e.g. `format:npi`, `not_null`."""
        return f"format:{self.argument}" if self.check == "format" else self.check

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.table, self.column, self.check, self.argument, str(self.when or ""))

    @property
    def mostly(self) -> float:
        """Great Expectations' `mostly`: the share of rows that must pass."""
        return max(0.0, min(1.0, 1 - self.threshold_pct / 100))

    def describe(self) -> str:
        text = f"{self.column} {self.name}"
        if self.argument and self.check != "format":
            text += f" {self.argument}"
        if self.when:
            text += f" when {self.when}"
        return text


@cache
def check_defaults() -> dict[str, CheckDefault]:
    rows = _read_csv("checks.csv")
    defaults = {}
    for row in rows:
        severity = row["severity"]
        if severity not in ("fatal", "warning"):
            raise ConfigError(f"rulesets/checks.csv: {row['check']} has severity {severity!r}")
        defaults[row["check"]] = CheckDefault(row["check"], severity,  # type: ignore[arg-type]
                                              float(row["threshold_pct"]), row["description"])
    missing = set(COLUMN_CHECKS + LOAD_CHECKS) - set(defaults)
    if missing:
        raise ConfigError(f"rulesets/checks.csv lacks {sorted(missing)}")
    return defaults


def source_rule_rows(source_name: str) -> list[RuleRow]:
    """The rows of rulesets/<source>.csv (none when the source has no file)."""
    name = f"{source_name}.csv"
    if not resources.files(__package__).joinpath("rulesets", name).is_file():
        return []
    return parse_rule_rows(_read_csv(name), origin=f"rulesets/{name}")


def parse_rule_rows(rows: Iterable[dict[str, str]], origin: str) -> list[RuleRow]:
    parsed = []
    for number, row in enumerate(rows, start=2):
        values = {key: (row.get(key) or "").strip() for key in _RULE_FIELDS}
        if not values["table"] or not values["column"] or not values["check"]:
            raise ConfigError(f"{origin} line {number}: table, column and check are required")
        parsed.append(RuleRow(**values, origin=f"{origin}:{number}"))
    return parsed


def expand_rules(rows: Sequence[RuleRow], catalog: Sequence[CatalogColumn],
                 today: date | None = None) -> list[Rule]:
    """Every (table, column) each row selects, later rows overriding earlier ones."""
    today = today or date.today()
    defaults = check_defaults()
    columns_by_table: dict[str, dict[str, CatalogColumn]] = {}
    for entry in catalog:
        if entry.column not in LINEAGE:
            columns_by_table.setdefault(entry.table, {})[entry.column] = entry
    rules: dict[tuple[str, ...], Rule | None] = {}
    for row in rows:
        _validate_row(row, defaults)
        when = Condition.parse(row.when)
        for table, columns in columns_by_table.items():
            if not fnmatch.fnmatchcase(table, row.table):
                continue
            if when and when.column not in columns:
                continue
            if row.check == "not_before" and row.argument not in columns:
                continue
            for column in _select_columns(row.column, columns):
                rule = _make_rule(row, table, column, when, defaults, today)
                rules[rule.key] = None if row.severity == "off" else rule
    return [rule for rule in rules.values() if rule is not None]


def _select_columns(selector: str, columns: dict[str, CatalogColumn]) -> list[str]:
    if selector.startswith("kind:"):
        kind = selector.removeprefix("kind:")
        return [name for name, entry in columns.items() if entry.kind == kind]
    return [name for name in columns if fnmatch.fnmatchcase(name, selector)]


def _validate_row(row: RuleRow, defaults: dict[str, CheckDefault]) -> None:
    where = row.origin or "a rule"
    if row.check not in COLUMN_CHECKS:
        raise ConfigError(f"{where}: unknown check {row.check!r}; known: {COLUMN_CHECKS}")
    if row.severity not in ("", "fatal", "warning", "off"):
        raise ConfigError(f"{where}: severity must be fatal, warning or off")
    if row.check == "format" and row.argument not in FORMATS:
        raise ConfigError(f"{where}: unknown code format {row.argument!r}")
    if row.check in ("regex", "in_set", "date_range", "not_before") and not row.argument:
        raise ConfigError(f"{where}: {row.check} needs an argument")
    if row.check == "date_range":
        parse_date_range(row.argument, date.today())
    if row.threshold_pct:
        try:
            float(row.threshold_pct)
        except ValueError as error:
            raise ConfigError(f"{where}: threshold_pct must be a number") from error


def _make_rule(row: RuleRow, table: str, column: str, when: Condition | None,
               defaults: dict[str, CheckDefault], today: date) -> Rule:
    default = defaults[row.check]
    severity = row.severity if row.severity in ("fatal", "warning") else default.severity
    threshold = float(row.threshold_pct) if row.threshold_pct else default.threshold_pct
    argument = row.argument
    if row.check == "date_range":
        low, high = parse_date_range(argument, today)
        argument = f"{low.isoformat()}..{high.isoformat()}"
    return Rule(table, column, row.check, argument, when, severity,  # type: ignore[arg-type]
                threshold, row.note, row.origin)


_RELATIVE = re.compile(r"today(?:([+-])(\d+)([dmy]))?")


def parse_date_range(text: str, today: date) -> tuple[date, date]:
    """`1900-01-01..today+1y` -> two dates; `today`, `today+Nd/m/y`, `today-N...` understood."""
    parts = text.split("..")
    if len(parts) != 2:
        raise ConfigError(f"a date range reads min..max, not {text!r}")
    low, high = (_parse_date(part.strip(), today) for part in parts)
    if low > high:
        raise ConfigError(f"date range {text!r} ends before it starts")
    return low, high


def _parse_date(text: str, today: date) -> date:
    relative = _RELATIVE.fullmatch(text)
    if relative:
        sign, amount, unit = relative.groups()
        if not sign:
            return today
        count = int(amount) * (1 if sign == "+" else -1)
        if unit == "d":
            return today + timedelta(days=count)
        months = count * (12 if unit == "y" else 1)
        year, month = divmod(today.month - 1 + months, 12)
        day = min(today.day, 28)
        return date(today.year + year, month + 1, day)
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise ConfigError(f"{text!r} is neither a YYYY-MM-DD date nor today[+-N(d|m|y)]") \
            from error


def generic_rule_rows(tables: Iterable[object]) -> list[RuleRow]:
    """Rules a source declares in its StagingTable columns (required, code_format)."""
    rows = []
    for table in tables:
        for column in getattr(table, "columns", ()):
            name = getattr(table, "name", "")
            if getattr(column, "required", False):
                rows.append(RuleRow(name, column.name, "not_null", origin="staging_tables()"))
            code = getattr(column, "code_format", None)
            if code:
                rows.append(RuleRow(name, column.name, "format", code,
                                    origin="staging_tables()"))
    return rows


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath("rulesets", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))
