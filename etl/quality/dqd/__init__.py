"""The OHDSI Data Quality Dashboard v5.4 check definitions, read from DQD's own CSVs.

`etl/quality/dqd/` ships DQD's threshold files unchanged (see README.md there): which
check applies to which table, field or concept, with which parameters and failure
threshold, and each check type's description and severity. This module turns them into
`CheckInstance`s for the check types gate 2 implements (IMPLEMENTED); etl.quality.
build_gate turns those into set-based SQL.

Only tables DQD files under the CDM schema are checked (the vocabulary tables are loaded
from Athena, not built by a run; cohort tables are analysts' results).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

SPEC_DIR = Path(__file__).resolve().parent
CHECK_DESCRIPTIONS_CSV = SPEC_DIR / "OMOP_CDMv5.4_Check_Descriptions.csv"
FIELD_LEVEL_CSV = SPEC_DIR / "OMOP_CDMv5.4_Field_Level.csv"
TABLE_LEVEL_CSV = SPEC_DIR / "OMOP_CDMv5.4_Table_Level.csv"
CONCEPT_LEVEL_CSV = SPEC_DIR / "OMOP_CDMv5.4_Concept_Level.csv"

# DQD's gender names -> the standard Gender concepts (OMOP: 8507 MALE, 8532 FEMALE).
GENDER_CONCEPTS = {"Male": 8507, "Female": 8532}
# plausibleUnitConceptIds: DQD writes -1 for "no unit" in its lists of plausible units.
NO_UNIT = -1

IMPLEMENTED: tuple[str, ...] = (
    # table level
    "cdmTable", "measurePersonCompleteness", "measureObservationPeriodOverlap",
    # field level
    "cdmField", "isRequired", "cdmDatatype", "isPrimaryKey", "isForeignKey", "fkDomain",
    "fkClass", "isStandardValidConcept", "measureValueCompleteness",
    "standardConceptRecordCompleteness", "sourceConceptRecordCompleteness",
    "sourceValueCompleteness", "plausibleValueLow", "plausibleValueHigh",
    "plausibleTemporalAfter", "plausibleDuringLife", "plausibleAfterBirth",
    "plausibleBeforeDeath", "plausibleStartBeforeEnd", "withinVisitDates",
    # concept level
    "plausibleGender", "plausibleGenderUseDescendants", "plausibleUnitConceptIds",
)

Level = Literal["TABLE", "FIELD", "CONCEPT"]


@dataclass(frozen=True)
class CheckType:
    """One row of DQD's check descriptions."""

    name: str
    level: Level
    description: str
    context: str
    category: str
    subcategory: str
    dqd_severity: str  # fatal | convention | characterization


@dataclass(frozen=True)
class CheckInstance:
    """One check on one table, field or concept, with its threshold and parameters."""

    check: str
    level: Level
    table: str
    field: str | None
    threshold_pct: float
    concept_ids: tuple[int, ...] = ()
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    notes: str = ""

    @property
    def concept_id(self) -> int | None:
        return self.concept_ids[0] if self.concept_ids else None

    def key(self) -> tuple[object, ...]:
        return (self.check, self.table, self.field, self.concept_ids,
                tuple(sorted((k, str(v)) for k, v in self.params.items())))


def _rows(path: Path) -> list[dict[str, str]]:
    # newline="": the CSVs hold line breaks inside quoted cells.
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _value(text: str | None) -> str:
    text = (text or "").strip()
    return "" if text == "NA" else text


def _yes(text: str | None) -> bool:
    return _value(text).lower() == "yes"


def _threshold(text: str | None) -> float:
    value = _value(text)
    return float(value) if value else 0.0


def _ident(text: str) -> str:
    return _value(text).strip('"').lower()


@cache
def check_types() -> dict[str, CheckType]:
    return {
        row["checkName"]: CheckType(
            row["checkName"], row["checkLevel"],  # type: ignore[arg-type]
            " ".join(row["checkDescription"].split()), row["kahnContext"],
            row["kahnCategory"], row["kahnSubcategory"], row["severity"])
        for row in _rows(CHECK_DESCRIPTIONS_CSV)
    }


@cache
def cdm_tables() -> tuple[str, ...]:
    """Tables DQD files under the CDM schema, in its order."""
    return tuple(_ident(row["cdmTableName"]) for row in _rows(TABLE_LEVEL_CSV)
                 if _value(row["schema"]).upper() == "CDM")


@cache
def cdm_fields() -> dict[str, tuple[dict[str, str], ...]]:
    """Field-level rows of the CDM tables, by table, in DQD's order."""
    tables = set(cdm_tables())
    by_table: dict[str, list[dict[str, str]]] = {}
    for row in _rows(FIELD_LEVEL_CSV):
        table = _ident(row["cdmTableName"])
        if table in tables:
            by_table.setdefault(table, []).append(row)
    return {table: tuple(rows) for table, rows in by_table.items()}


def _field_instances(table: str, row: dict[str, str]) -> list[CheckInstance]:
    name = _ident(row["cdmFieldName"])
    found = [CheckInstance("cdmField", "FIELD", table, name, 0.0)]

    def add(check: str, threshold_column: str | None = None, **params: Any) -> None:
        found.append(CheckInstance(check, "FIELD", table, name,
                                   _threshold(row.get(threshold_column or f"{check}Threshold")),
                                   params=params, notes=_value(row.get(f"{check}Notes"))))

    if _yes(row["isRequired"]):
        add("isRequired")
    if _value(row["cdmDatatype"]).lower() == "integer":
        add("cdmDatatype")
    if _yes(row["isPrimaryKey"]):
        add("isPrimaryKey")
    if _yes(row["isForeignKey"]):
        fk_table, fk_field = _ident(row["fkTableName"]), _ident(row["fkFieldName"])
        add("isForeignKey", fk_table=fk_table, fk_field=fk_field)
        if _value(row["fkDomain"]):
            add("fkDomain", fk_domain=_value(row["fkDomain"]))
        if _value(row["fkClass"]):
            add("fkClass", fk_class=_value(row["fkClass"]))
    for check in ("isStandardValidConcept", "measureValueCompleteness",
                  "standardConceptRecordCompleteness", "sourceConceptRecordCompleteness",
                  "plausibleDuringLife", "plausibleAfterBirth", "plausibleBeforeDeath",
                  "withinVisitDates"):
        if _yes(row.get(check)):
            add(check)
    if _yes(row["sourceValueCompleteness"]):
        add("sourceValueCompleteness",
            concept_field=_ident(row["standardConceptFieldName"]))
    if _value(row["plausibleValueLow"]):
        add("plausibleValueLow", bound=_value(row["plausibleValueLow"]))
    if _value(row["plausibleValueHigh"]):
        add("plausibleValueHigh", bound=_value(row["plausibleValueHigh"]))
    if _yes(row["plausibleTemporalAfter"]):
        add("plausibleTemporalAfter", other_table=_ident(row["plausibleTemporalAfterTableName"]),
            other_field=_ident(row["plausibleTemporalAfterFieldName"]))
    if _yes(row["plausibleStartBeforeEnd"]):
        add("plausibleStartBeforeEnd",
            end_field=_ident(row["plausibleStartBeforeEndFieldName"]))
    return found


def _concept_ids(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.split(r"[,\s]+", _value(text)) if part)


def _concept_instances(row: dict[str, str]) -> list[CheckInstance]:
    table, name = _ident(row["cdmTableName"]), _ident(row["cdmFieldName"])
    found = []
    if _value(row["plausibleGender"]):
        found.append(CheckInstance(
            "plausibleGender", "CONCEPT", table, name,
            _threshold(row["plausibleGenderThreshold"]), _concept_ids(row["conceptId"]),
            params={"gender": _value(row["plausibleGender"]),
                    "concept_name": _value(row["conceptName"])},
            notes=_value(row["plausibleGenderNotes"])))
    if _value(row["plausibleGenderUseDescendants"]):
        found.append(CheckInstance(
            "plausibleGenderUseDescendants", "CONCEPT", table, name,
            _threshold(row["plausibleGenderUseDescendantsThreshold"]),
            _concept_ids(row["conceptId"]),
            params={"gender": _value(row["plausibleGenderUseDescendants"]),
                    "concept_name": _value(row["conceptName"])}))
    if _value(row["plausibleUnitConceptIdsThreshold"]):
        found.append(CheckInstance(
            "plausibleUnitConceptIds", "CONCEPT", table, name,
            _threshold(row["plausibleUnitConceptIdsThreshold"]), _concept_ids(row["conceptId"]),
            params={"units": _concept_ids(row["plausibleUnitConceptIds"]),
                    "concept_name": _value(row["conceptName"])},
            notes=_value(row["plausibleUnitConceptIdsNotes"])))
    return found


@cache
def check_instances() -> tuple[CheckInstance, ...]:
    """Every instance of the implemented check types, tables first, then fields, concepts."""
    tables = set(cdm_tables())
    found: list[CheckInstance] = []
    for row in _rows(TABLE_LEVEL_CSV):
        table = _ident(row["cdmTableName"])
        if table not in tables:
            continue
        found.append(CheckInstance("cdmTable", "TABLE", table, None, 0.0))
        if _yes(row["measurePersonCompleteness"]):
            found.append(CheckInstance(
                "measurePersonCompleteness", "TABLE", table, None,
                _threshold(row["measurePersonCompletenessThreshold"]),
                notes=_value(row["measurePersonCompletenessNotes"])))
        if _yes(row.get("measureObservationPeriodOverlap")):
            found.append(CheckInstance(
                "measureObservationPeriodOverlap", "TABLE", table, None,
                _threshold(row["measureObservationPeriodOverlapThreshold"])))
    for table, rows in cdm_fields().items():
        for row in rows:
            found += _field_instances(table, row)
    for row in _rows(CONCEPT_LEVEL_CSV):
        if _ident(row["cdmTableName"]) in tables:
            found += _concept_instances(row)
    return tuple(instance for instance in found if instance.check in IMPLEMENTED)
