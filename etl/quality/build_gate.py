"""Gate 2: the OHDSI Data Quality Dashboard v5.4 check types on a CDM schema, in SQL.

Every check instance comes from DQD's own threshold files (etl.quality.dqd); the SQL is
this module's, written from each check's definition, and batched so a table costs a few
scans however many checks it has:

- conformance: one information_schema query for all tables (cdmTable, cdmField, and
  cdmDatatype where the column's type settles it);
- a row pass per table: nulls, zeros, value bounds and same-row date order for every
  field at once (isRequired, measureValueCompleteness, standard/sourceConceptRecord-
  Completeness, plausibleValueLow/High, plausibleStartBeforeEnd, plausibleTemporalAfter
  within the table, cdmDatatype of non-integer columns);
- a concept pass per table: one GROUPING SETS scan counts each concept column's values,
  and only those distinct values meet vocab.concept (isForeignKey to CONCEPT, fkDomain,
  fkClass, isStandardValidConcept);
- a join pass per table: the table against person (birth), death, visit_occurrence and
  every other table it points to (isForeignKey to non-concept tables, plausibleAfterBirth,
  plausibleTemporalAfter against birth, plausibleDuringLife, plausibleBeforeDeath,
  withinVisitDates);
- a source-value pass per table (sourceValueCompleteness), a primary-key pass (isPrimary-
  Key, skipped when a valid primary key constraint already guarantees it), a concept-level
  pass per table (plausibleGender, plausibleGenderUseDescendants through concept_ancestor,
  plausibleUnitConceptIds), and one query each for measurePersonCompleteness and
  measureObservationPeriodOverlap.

Status follows DQD: a check fails when its violating percent exceeds its threshold. The
checks DQD marks 'fatal' block publishing, except foreign keys into the vocabulary
(`severity_of`); every other check is a warning.
Passes run two at a time (the machine has two cores).
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from etl.omop.spec import VOCABULARY_TABLES
from etl.quality.dqd import GENDER_CONCEPTS, CheckInstance, check_instances, check_types
from etl.quality.outcome import CheckResult, GateOutcome, record_results
from etl.warehouse import Warehouse

log = logging.getLogger(__name__)

VOCAB_SCHEMA = "vocab"
PARALLEL_QUERIES = 2
# DQD's plausibleBeforeDeath allows administrative records up to 60 days after death.
DEATH_GRACE_DAYS = 60
# withinVisitDates: an event may lie up to a week either side of its visit.
VISIT_WINDOW_DAYS = 7
WORK_MEM = "256MB"
# The check types that block publishing: those DQD itself rates 'fatal' (cdmTable, cdmField,
# isRequired, cdmDatatype, isPrimaryKey, isForeignKey, measureObservationPeriodOverlap),
# except isForeignKey into a vocabulary table (see severity_of).
FATAL_CHECKS: frozenset[str] = frozenset(
    name for name, kind in check_types().items() if kind.dqd_severity == "fatal")


def severity_of(instance: CheckInstance) -> Literal["fatal", "warning"]:
    """'fatal' blocks publishing; 'warning' is recorded and reported.

    A value missing from a vocabulary table (a concept id absent from vocab.concept)
    is a warning: it means a partial vocabulary (the demo one, or an Athena download
    without a licensed vocabulary) far more often than a broken build, and the rows stay
    usable. Keys between CDM tables (person, visit, provider, care site, location...)
    stay fatal.
    """
    if instance.check not in FATAL_CHECKS:
        return "warning"
    if instance.check == "isForeignKey" and instance.params.get("fk_table") in VOCABULARY_TABLES:
        return "warning"
    return "fatal"
_INTEGER_TYPES = frozenset({"integer", "bigint", "smallint"})


def q(name: str) -> str:
    """A quoted SQL identifier (names come from the spec; quoting keeps `offset` safe)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class _Counts:
    """(violating, denominator) per instance index, or an error per instance index."""

    values: dict[int, tuple[int, int]] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    detail: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _Catalog:
    """What the schema holds: tables, column types, columns with a unique constraint."""

    schema: str
    columns: dict[str, dict[str, str]]  # table -> column -> data_type
    unique: set[tuple[str, str]]  # (table, column) with a valid single-column unique index
    size: dict[str, int]  # table -> bytes on disk, to schedule the big tables first

    def has(self, table: str, column: str | None = None) -> bool:
        if table not in self.columns:
            return False
        return column is None or column in self.columns[table]


def _catalog(conn: sa.Connection, schema: str) -> _Catalog:
    columns: dict[str, dict[str, str]] = defaultdict(dict)
    for table, column, data_type in conn.execute(sa.text(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = :s order by table_name, ordinal_position"), {"s": schema}):
        columns[table][column] = data_type
    unique = {(table, column) for table, column in conn.execute(sa.text(
        "select c.relname, a.attname from pg_index i "
        "join pg_class c on c.oid = i.indrelid "
        "join pg_namespace n on n.oid = c.relnamespace "
        "join pg_attribute a on a.attrelid = c.oid and a.attnum = i.indkey[0] "
        "where n.nspname = :s and i.indisunique and i.indisvalid and i.indnatts = 1 "
        "and i.indpred is null"), {"s": schema})}
    size = {table: int(bytes_) for table, bytes_ in conn.execute(sa.text(
        "select c.relname, pg_total_relation_size(c.oid) from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace where n.nspname = :s "
        "and c.relkind in ('r', 'p')"), {"s": schema})}
    return _Catalog(schema, dict(columns), unique, size)


def run_build_gate(warehouse: Warehouse, schema: str, run_id: int | None,
                   gate: Literal["build", "published"] = "build") -> GateOutcome:
    """Run the DQD checks on `schema` (e.g. omop_build); record results; return them.

    `outcome.passed` is False when a fatal check failed or could not run: do not publish.
    """
    started = time.perf_counter()
    instances = list(check_instances())
    with warehouse.engine.connect() as conn:
        catalog = _catalog(conn, schema)
    counts = _Counts()
    jobs = _plan(instances, catalog)
    with ThreadPoolExecutor(PARALLEL_QUERIES) as pool:
        for _, found in pool.map(lambda job: _run_job(warehouse, job), jobs):
            counts.values.update(found.values)
            counts.errors.update(found.errors)
            counts.detail.update(found.detail)
    outcome = GateOutcome(gate, run_id=run_id, schema=schema)
    outcome.results = [_result(index, instance, counts, catalog)
                       for index, instance in enumerate(instances)]
    outcome.elapsed_s = time.perf_counter() - started
    record_results(warehouse, outcome)
    log.debug("%s", outcome.summary())
    return outcome


def _run_job(warehouse: Warehouse, job: Job) -> tuple[str, _Counts]:
    """Run one pass; a database error marks each of its checks 'error', not the gate."""
    started = time.perf_counter()
    with warehouse.engine.connect() as conn:
        try:
            # Aggregates over millions of rows and hash joins against visit_occurrence stay
            # in memory with more than the server's default; LOCAL ends with the pass.
            conn.execute(sa.text(f"set local work_mem = '{WORK_MEM}'"))
            found = job.work(conn)
        except sa.exc.DBAPIError as error:
            conn.rollback()
            message = str(error.orig).splitlines()[0] if error.orig else str(error)
            log.warning("build gate: %s failed: %s", job.name, message)
            found = _Counts(errors={index: f"{job.name}: {message}" for index in job.indices})
    log.debug("build gate: %s took %.2fs", job.name, time.perf_counter() - started)
    return job.name, found


def _result(index: int, instance: CheckInstance, counts: _Counts,
            catalog: _Catalog) -> CheckResult:
    kind = check_types()[instance.check]
    severity = severity_of(instance)
    detail: dict[str, Any] = {
        "level": instance.level, "category": kind.category, "subcategory": kind.subcategory,
        "context": kind.context, "dqd_severity": kind.dqd_severity,
        "description": _describe(instance),
    }
    if instance.concept_ids:
        detail["concept_ids"] = list(instance.concept_ids)
    detail.update(counts.detail.get(index, {}))
    result = CheckResult(instance.check, instance.table, instance.field, "skipped", severity,
                         threshold_pct=instance.threshold_pct, concept_id=instance.concept_id,
                         detail=detail)
    if index in counts.errors:
        result.status = "error"
        result.detail["error"] = counts.errors[index]
        return result
    if index not in counts.values:
        needs_table = instance.check != "cdmTable"
        if needs_table and not catalog.has(instance.table):
            result.detail["reason"] = "table missing (see cdmTable)"
        elif instance.field and instance.check != "cdmField" and \
                not catalog.has(instance.table, instance.field):
            result.detail["reason"] = "field missing (see cdmField)"
        else:
            result.detail["reason"] = "not evaluated"
        return result
    violating, denominator = counts.values[index]
    result.violating_rows, result.denominator_rows = violating, denominator
    pct = 100.0 * violating / denominator if denominator else 0.0
    result.status = "failed" if pct > instance.threshold_pct else "passed"
    return result


def _describe(instance: CheckInstance) -> str:
    """DQD's description with its @parameters filled in."""
    text = check_types()[instance.check].description
    values = {"cdmTableName": instance.table, "cdmFieldName": instance.field or "",
              "conceptId": ", ".join(map(str, instance.concept_ids)),
              "conceptName": instance.params.get("concept_name", ""),
              "fkTableName": instance.params.get("fk_table", ""),
              "fkDomain": instance.params.get("fk_domain", ""),
              "fkClass": instance.params.get("fk_class", ""),
              "plausibleValueLow": instance.params.get("bound", ""),
              "plausibleValueHigh": instance.params.get("bound", ""),
              "plausibleTemporalAfterTableName": instance.params.get("other_table", ""),
              "plausibleTemporalAfterFieldName": instance.params.get("other_field", ""),
              "plausibleStartBeforeEndFieldName": instance.params.get("end_field", ""),
              "plausibleGender": instance.params.get("gender", ""),
              "plausibleGenderUseDescendants": instance.params.get("gender", ""),
              "plausibleUnitConceptIds": ", ".join(map(str, instance.params.get("units", ())))}
    return re.sub(r"@(\w+)", lambda m: str(values.get(m.group(1), m.group(0))), text)


# -- planning ----------------------------------------------------------------------------

@dataclass
class Job:
    name: str
    indices: list[int]
    work: Callable[[sa.Connection], _Counts]

_ROW_CHECKS = frozenset({
    "isRequired", "measureValueCompleteness", "standardConceptRecordCompleteness",
    "sourceConceptRecordCompleteness", "plausibleValueLow", "plausibleValueHigh",
    "plausibleStartBeforeEnd", "cdmDatatype", "plausibleTemporalAfter"})
_CONCEPT_CHECKS = frozenset({"isForeignKey", "fkDomain", "fkClass", "isStandardValidConcept"})
_JOIN_CHECKS = frozenset({"isForeignKey", "plausibleAfterBirth", "plausibleTemporalAfter",
                          "plausibleDuringLife", "plausibleBeforeDeath", "withinVisitDates"})
_CONCEPT_LEVEL = frozenset({"plausibleGender", "plausibleGenderUseDescendants",
                            "plausibleUnitConceptIds"})


def _is_birth(instance: CheckInstance) -> bool:
    return instance.params.get("other_table") == "person" and \
        instance.params.get("other_field") == "birth_datetime"


def _pass_of(instance: CheckInstance) -> str | None:
    """Which pass evaluates an instance (None: the conformance step settles it)."""
    check = instance.check
    if check in ("cdmTable", "cdmField"):
        return None
    if check == "isForeignKey":
        return "concept" if instance.params["fk_table"] == "concept" else "join"
    if check == "plausibleTemporalAfter":
        return "join" if _is_birth(instance) else "row"
    if check in _ROW_CHECKS:
        return "row"
    if check in _CONCEPT_CHECKS:
        return "concept"
    if check in _JOIN_CHECKS:
        return "join"
    if check == "sourceValueCompleteness":
        return "source_value"
    if check == "isPrimaryKey":
        return "primary_key"
    if check in _CONCEPT_LEVEL:
        return "concept_level"
    if check == "measurePersonCompleteness":
        return "person_completeness"
    if check == "measureObservationPeriodOverlap":
        return "overlap"
    raise ValueError(f"no pass for {check}")


def _plan(instances: list[CheckInstance], catalog: _Catalog) -> list[Job]:
    """Group the instances into passes; settle what needs no data scan right away."""
    conformance = _Counts()
    grouped: dict[tuple[str, str], list[tuple[int, CheckInstance]]] = defaultdict(list)
    for index, instance in enumerate(instances):
        table = instance.table
        if instance.check == "cdmTable":
            conformance.values[index] = (0 if catalog.has(table) else 1, 1)
            continue
        if instance.check == "cdmField":
            if catalog.has(table):
                conformance.values[index] = (0 if catalog.has(table, instance.field) else 1, 1)
            continue
        if not catalog.has(table) or (instance.field and not catalog.has(table, instance.field)):
            continue  # reported as skipped: cdmTable / cdmField carry the failure
        if not _inputs_present(instance, catalog):
            continue
        if instance.check == "cdmDatatype" and \
                catalog.columns[table][str(instance.field)] in _INTEGER_TYPES:
            conformance.values[index] = (0, 0)
            conformance.detail[index] = {
                "column_type": catalog.columns[table][str(instance.field)],
                "note": "the column's type is an integer type: no value can violate it"}
            continue
        kind = _pass_of(instance)
        assert kind is not None
        if kind in ("person_completeness", "overlap"):
            grouped[(kind, "")].append((index, instance))
        else:
            grouped[(kind, table)].append((index, instance))
    jobs: list[Job] = [Job("conformance", list(conformance.values), lambda conn: conformance)]
    builders: dict[str, Callable[[list[tuple[int, CheckInstance]], str, _Catalog],
                                 Callable[[sa.Connection], _Counts]]] = {
        "row": _row_pass, "concept": _concept_pass, "join": _join_pass,
        "source_value": _source_value_pass, "primary_key": _primary_key_pass,
        "concept_level": _concept_level_pass, "person_completeness": _person_completeness,
        "overlap": _overlap_pass,
    }
    # Big tables first, so the two workers finish together.
    ordered = sorted(grouped.items(), key=lambda item: -catalog.size.get(item[0][1], 0))
    for (kind, table), members in ordered:
        jobs.append(Job(f"{kind} {table}".strip(), [index for index, _ in members],
                        builders[kind](members, table, catalog)))
    return jobs


def _inputs_present(instance: CheckInstance, catalog: _Catalog) -> bool:
    """Other columns and tables an instance reads must exist (else it stays skipped)."""
    params = instance.params
    table = instance.table
    if instance.check == "plausibleStartBeforeEnd":
        return catalog.has(table, params["end_field"])
    if instance.check == "plausibleTemporalAfter":
        if _is_birth(instance):
            return catalog.has("person")
        return catalog.has(params["other_table"], params["other_field"])
    if instance.check == "sourceValueCompleteness":
        return catalog.has(table, params["concept_field"])
    if instance.check in ("plausibleAfterBirth", "plausibleGender",
                          "plausibleGenderUseDescendants"):
        return catalog.has("person") and catalog.has(table, "person_id")
    if instance.check in ("plausibleDuringLife", "plausibleBeforeDeath"):
        return catalog.has("death") and catalog.has(table, "person_id")
    if instance.check == "withinVisitDates":
        return catalog.has("visit_occurrence") and catalog.has(table, "visit_occurrence_id")
    if instance.check == "isForeignKey" and params["fk_table"] not in VOCABULARY_TABLES:
        return catalog.has(params["fk_table"], params["fk_field"])
    if instance.check == "measurePersonCompleteness":
        return catalog.has("person") and catalog.has(table, "person_id")
    if instance.check == "plausibleUnitConceptIds":
        return catalog.has(table, "unit_concept_id")
    return True


def _fetch(conn: sa.Connection, sql: str, params: dict[str, Any] | None = None
           ) -> list[sa.RowMapping]:
    return list(conn.execute(sa.text(sql), params or {}).mappings())


# -- the row pass ------------------------------------------------------------------------

_DATE_BOUND = re.compile(r"'(\d{4})(\d{2})(\d{2})'")
_TODAY_PLUS = re.compile(r"DATEADD\(dd,\s*(-?\d+),\s*GETDATE\(\)\)", re.IGNORECASE)
_YEAR_PLUS = re.compile(r"YEAR\(GETDATE\(\)\)\s*([+-])\s*(\d+)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def bound_sql(bound: str) -> str:
    """DQD's bound expressions (SQL Server dialect) as PostgreSQL expressions."""
    text = bound.strip()
    if found := _DATE_BOUND.fullmatch(text):
        return f"date '{found.group(1)}-{found.group(2)}-{found.group(3)}'"
    if found := _TODAY_PLUS.fullmatch(text):
        return f"(current_date + {int(found.group(1))})"
    if found := _YEAR_PLUS.fullmatch(text):
        return f"(extract(year from current_date)::integer {found.group(1)} {found.group(2)})"
    if _NUMBER.fullmatch(text):
        return text
    raise ValueError(f"cannot translate DQD bound {bound!r}")


class _Aggregates:
    """Named aggregate expressions of one query, shared between instances."""

    def __init__(self) -> None:
        self.expressions: dict[str, str] = {}

    def add(self, expression: str) -> str:
        name = self.expressions.get(expression)
        if name is None:
            name = f"a{len(self.expressions)}"
            self.expressions[expression] = name
        return name

    def select_list(self) -> str:
        return ",\n       ".join(f"{expr} as {name}" for expr, name in self.expressions.items())


def _row_pass(members: list[tuple[int, CheckInstance]], table: str,
              catalog: _Catalog) -> Callable[[sa.Connection], _Counts]:
    aggregates = _Aggregates()
    wanted: dict[int, tuple[str, str]] = {}  # index -> (violating name, denominator name)
    errors: dict[int, str] = {}
    rows = aggregates.add("count(*)")
    for index, instance in members:
        f = f"t.{q(str(instance.field))}"
        params = instance.params
        check = instance.check
        if check in ("isRequired", "measureValueCompleteness"):
            wanted[index] = (aggregates.add(f"count(*) filter (where {f} is null)"), rows)
        elif check in ("standardConceptRecordCompleteness", "sourceConceptRecordCompleteness"):
            wanted[index] = (aggregates.add(f"count(*) filter (where {f} = 0)"), rows)
        elif check in ("plausibleValueLow", "plausibleValueHigh"):
            try:
                bound = bound_sql(params["bound"])
            except ValueError as error:
                errors[index] = str(error)
                continue
            operator = "<" if check == "plausibleValueLow" else ">"
            wanted[index] = (aggregates.add(f"count(*) filter (where {f} {operator} {bound})"),
                             aggregates.add(f"count({f})"))
        elif check == "plausibleStartBeforeEnd":
            end = f"t.{q(params['end_field'])}"
            wanted[index] = (
                aggregates.add(f"count(*) filter (where {f} > {end})"),
                aggregates.add(f"count(*) filter (where {f} is not null and {end} is not null)"))
        elif check == "plausibleTemporalAfter":
            other = f"t.{q(params['other_field'])}"
            wanted[index] = (
                aggregates.add(f"count(*) filter (where {f} < {other})"),
                aggregates.add(f"count(*) filter (where {f} is not null and {other} is not null)"))
        elif check == "cdmDatatype":
            data_type = catalog.columns[table][str(instance.field)]
            if data_type in ("numeric", "double precision", "real"):
                bad = f"{f} <> trunc({f})"
            else:
                bad = f"{f}::text !~ '^-?[0-9]+$'"
            wanted[index] = (aggregates.add(f"count(*) filter (where {bad})"),
                             aggregates.add(f"count({f})"))
    sql = f"select {aggregates.select_list()}\nfrom {q(catalog.schema)}.{q(table)} as t"

    def run(conn: sa.Connection) -> _Counts:
        found = _Counts(errors=errors)
        row = _fetch(conn, sql)[0]
        for index, (bad, den) in wanted.items():
            found.values[index] = (int(row[bad]), int(row[den]))
        return found

    return run


# -- the concept pass --------------------------------------------------------------------

def _grouping_mask(names: list[str], name: str) -> int:
    """GROUPING(names...) for the grouping set (name): a 1 bit for every other column."""
    return sum(1 << (len(names) - 1 - i) for i, other in enumerate(names) if other != name)


def _concept_pass(members: list[tuple[int, CheckInstance]], table: str,
                  catalog: _Catalog) -> Callable[[sa.Connection], _Counts]:
    """Each concept column's distinct values, once, against vocab.concept."""
    names = sorted({str(instance.field) for _, instance in members})
    columns = ", ".join(f"t.{q(n)}" for n in names)
    value = "case g " + " ".join(
        f"when {_grouping_mask(names, n)} then {q(n)}" for n in names) + " end"
    sql = f"""
with histogram as (
    select grouping({columns}) as g, {columns}, count(*) as n
    from {q(catalog.schema)}.{q(table)} as t
    group by grouping sets ({", ".join(f"(t.{q(n)})" for n in names)})
), concept_values as (
    select g, {value} as concept_id, n from histogram
)
select v.g, v.concept_id, v.n, c.concept_id is not null as known, c.domain_id,
       c.concept_class_id, c.standard_concept, c.invalid_reason
from concept_values as v
left join {q(VOCAB_SCHEMA)}.concept as c on c.concept_id = v.concept_id"""

    def run(conn: sa.Connection) -> _Counts:
        by_field: dict[str, list[sa.RowMapping]] = defaultdict(list)
        total: dict[str, int] = defaultdict(int)
        masks = {_grouping_mask(names, n): n for n in names}
        for row in _fetch(conn, sql):
            name = masks[int(row["g"])]
            by_field[name].append(row)
            total[name] += int(row["n"])
        found = _Counts()
        for index, instance in members:
            name = str(instance.field)
            values = by_field.get(name, [])
            present = [r for r in values if r["concept_id"] is not None]
            nonzero = [r for r in present if r["concept_id"] != 0 and r["known"]]
            if instance.check == "isForeignKey":
                bad = [r for r in present if not r["known"]]
                den = total[name]
                found.detail[index] = _top_values(bad)
            elif instance.check == "fkDomain":
                bad = [r for r in nonzero if r["domain_id"] != instance.params["fk_domain"]]
                den = total[name]
            elif instance.check == "fkClass":
                bad = [r for r in nonzero
                       if r["concept_class_id"] != instance.params["fk_class"]]
                den = total[name]
            else:  # isStandardValidConcept
                bad = [r for r in nonzero
                       if r["standard_concept"] != "S" or r["invalid_reason"] is not None]
                den = sum(int(r["n"]) for r in present)
            if instance.check != "isForeignKey":
                found.detail[index] = _top_values(bad)
            found.values[index] = (sum(int(r["n"]) for r in bad), den)
        return found

    return run


def _top_values(rows: Iterable[sa.RowMapping], limit: int = 10) -> dict[str, Any]:
    """The most frequent violating concept ids (concept ids are vocabulary, not PHI)."""
    ranked = sorted(rows, key=lambda r: -int(r["n"]))[:limit]
    return {"top_violating_concepts": [{"concept_id": r["concept_id"], "rows": int(r["n"])}
                                       for r in ranked]} if ranked else {}


# -- the join pass -----------------------------------------------------------------------

def _join_pass(members: list[tuple[int, CheckInstance]], table: str,
               catalog: _Catalog) -> Callable[[sa.Connection], _Counts]:
    schema = catalog.schema
    aggregates = _Aggregates()
    wanted: dict[int, tuple[str, str]] = {}
    joins: dict[str, str] = {}
    rows = aggregates.add("count(*)")

    def join_person() -> None:
        joins.setdefault("p", f"""left join (
    select person_id, min(coalesce(birth_datetime::date,
           make_date(year_of_birth, coalesce(month_of_birth, 1), coalesce(day_of_birth, 1))))
           as birth_date
    from {q(schema)}.person group by person_id) as p on p.person_id = t.person_id""")

    def join_death() -> None:
        joins.setdefault("d", f"""left join (
    select person_id, min(death_date) as death_date
    from {q(schema)}.death group by person_id) as d on d.person_id = t.person_id""")

    def join_visit() -> None:
        visit_key = ("visit_occurrence", "visit_occurrence_id") in catalog.unique
        source = f"{q(schema)}.visit_occurrence" if visit_key else f"""(
    select visit_occurrence_id, min(visit_start_date) as visit_start_date,
           max(visit_end_date) as visit_end_date
    from {q(schema)}.visit_occurrence group by visit_occurrence_id)"""
        joins.setdefault("v", f"left join {source} as v "
                              f"on v.visit_occurrence_id = t.visit_occurrence_id")

    for index, instance in members:
        f = f"t.{q(str(instance.field))}"
        check = instance.check
        if check == "isForeignKey":
            target, key = instance.params["fk_table"], instance.params["fk_field"]
            if (target, key) == ("person", "person_id"):
                join_person()
                alias = "p"
            elif (target, key) == ("visit_occurrence", "visit_occurrence_id") and \
                    instance.field == "visit_occurrence_id":
                join_visit()
                alias = "v"
            else:
                alias = f"fk{len(joins)}"
                target_schema = VOCAB_SCHEMA if target in VOCABULARY_TABLES else schema
                keyed = (target, key) in catalog.unique and target_schema == schema
                source = f"{q(target_schema)}.{q(target)}" if keyed else \
                    f"(select distinct {q(key)} from {q(target_schema)}.{q(target)})"
                joins[alias] = f"left join {source} as {alias} on {alias}.{q(key)} = {f}"
            wanted[index] = (aggregates.add(
                f"count(*) filter (where {f} is not null and {alias}.{q(key)} is null)"), rows)
        elif check in ("plausibleAfterBirth", "plausibleTemporalAfter"):
            join_person()
            wanted[index] = (
                aggregates.add(f"count(*) filter (where {f}::date < p.birth_date)"),
                aggregates.add(f"count(*) filter (where {f} is not null "
                               f"and p.person_id is not null)"))
        elif check in ("plausibleDuringLife", "plausibleBeforeDeath"):
            join_death()
            grace = DEATH_GRACE_DAYS if check == "plausibleBeforeDeath" else 0
            wanted[index] = (
                aggregates.add(f"count(*) filter (where {f}::date > d.death_date + {grace})"),
                aggregates.add("count(*) filter (where d.death_date is not null)"))
        elif check == "withinVisitDates":
            join_visit()
            days = VISIT_WINDOW_DAYS
            wanted[index] = (
                aggregates.add(f"count(*) filter (where {f}::date < v.visit_start_date - {days} "
                               f"or {f}::date > v.visit_end_date + {days})"),
                aggregates.add("count(*) filter (where v.visit_occurrence_id is not null)"))
    sql = (f"select {aggregates.select_list()}\nfrom {q(schema)}.{q(table)} as t\n"
           + "\n".join(joins.values()))

    def run(conn: sa.Connection) -> _Counts:
        row = _fetch(conn, sql)[0]
        found = _Counts()
        for index, (bad, den) in wanted.items():
            found.values[index] = (int(row[bad]), int(row[den]))
        return found

    return run


# -- source values, primary keys ---------------------------------------------------------

def _source_value_pass(members: list[tuple[int, CheckInstance]], table: str,
                       catalog: _Catalog) -> Callable[[sa.Connection], _Counts]:
    """Distinct source values (NULL counts as one) and how many of them map to concept 0.

    count(distinct) sorts, which beats hashing for the nearly unique source values of
    some fields (a visit's claim id); the unmapped count sorts only rows with concept 0.
    """
    aggregates = _Aggregates()
    wanted: dict[int, tuple[str, str]] = {}
    for index, instance in members:
        value = f"t.{q(str(instance.field))}"
        zero = f"t.{q(str(instance.params['concept_field']))} = 0"
        wanted[index] = (
            aggregates.add(f"count(distinct {value}) filter (where {zero}) + coalesce(max("
                           f"case when {value} is null and {zero} then 1 else 0 end), 0)"),
            aggregates.add(f"count(distinct {value}) + coalesce(max("
                           f"case when {value} is null then 1 else 0 end), 0)"))
    sql = f"select {aggregates.select_list()}\nfrom {q(catalog.schema)}.{q(table)} as t"

    def run(conn: sa.Connection) -> _Counts:
        row = _fetch(conn, sql)[0]
        return _Counts(values={index: (int(row[bad]), int(row[den]))
                               for index, (bad, den) in wanted.items()})

    return run


def _primary_key_pass(members: list[tuple[int, CheckInstance]], table: str,
                      catalog: _Catalog) -> Callable[[sa.Connection], _Counts]:
    def run(conn: sa.Connection) -> _Counts:
        found = _Counts()
        for index, instance in members:
            key = str(instance.field)
            relation = f"{q(catalog.schema)}.{q(table)}"
            total = int(conn.execute(sa.text(f"select count(*) from {relation}")).scalar_one())
            if (table, key) in catalog.unique:
                found.values[index] = (0, total)
                found.detail[index] = {"note": "enforced by a valid unique index on the key"}
                continue
            repeated = conn.execute(sa.text(
                f"select coalesce(sum(n), 0) from (select count(*) as n from {relation} "
                f"group by {q(key)} having count(*) > 1) as r")).scalar_one()
            found.values[index] = (int(repeated), total)
        return found

    return run


# -- concept-level checks ----------------------------------------------------------------

def _concept_level_pass(members: list[tuple[int, CheckInstance]], table: str,
                        catalog: _Catalog) -> Callable[[sa.Connection], _Counts]:
    """plausibleGender(UseDescendants) and plausibleUnitConceptIds, one scan per kind."""
    schema = catalog.schema
    gender = [(i, x) for i, x in members if x.check != "plausibleUnitConceptIds"]
    units = [(i, x) for i, x in members if x.check == "plausibleUnitConceptIds"]
    statements: list[tuple[str, dict[str, Any]]] = []
    if gender:
        field_name = str(gender[0][1].field)
        direct = [(i, c, GENDER_CONCEPTS[x.params["gender"]]) for i, x in gender
                  if x.check == "plausibleGender" for c in x.concept_ids]
        below = [(i, c, GENDER_CONCEPTS[x.params["gender"]]) for i, x in gender
                 if x.check == "plausibleGenderUseDescendants" for c in x.concept_ids]
        parts = []
        if direct:
            parts.append("select idx, concept_id, gender from (values "
                         + ", ".join(f"({i}, {c}, {g})" for i, c, g in direct)
                         + ") as r(idx, concept_id, gender)")
        if below:
            parts.append(
                "select r.idx, a.descendant_concept_id, r.gender from (values "
                + ", ".join(f"({i}, {c}, {g})" for i, c, g in below)
                + ") as r(idx, ancestor_id, gender) "
                f"join {q(VOCAB_SCHEMA)}.concept_ancestor as a "
                "on a.ancestor_concept_id = r.ancestor_id")
        statements.append((f"""
with targets as (select distinct idx, concept_id, gender from ({" union all ".join(parts)}) x),
persons as (select person_id, min(gender_concept_id) as gender_concept_id
            from {q(schema)}.person group by person_id)
select r.idx, count(*) as denominator,
       count(*) filter (where p.gender_concept_id is distinct from r.gender) as violating
from {q(schema)}.{q(table)} as t
join targets as r on r.concept_id = t.{q(field_name)}
join persons as p on p.person_id = t.person_id
group by r.idx""", {}))
    if units:
        field_name = str(units[0][1].field)
        values = ", ".join(
            f"({i}, {x.concept_ids[0]}, array[{', '.join(map(str, x.params['units']))}]"
            f"::integer[])" for i, x in units if x.concept_ids)
        statements.append((f"""
select r.idx,
       count(*) filter (where t.unit_concept_id is null or t.unit_concept_id <> 0)
           as denominator,
       count(*) filter (where t.unit_concept_id <> 0
                        and t.unit_concept_id <> all(r.units)) as violating
from {q(schema)}.{q(table)} as t
join (values {values}) as r(idx, concept_id, units) on r.concept_id = t.{q(field_name)}
group by r.idx""", {}))

    def run(conn: sa.Connection) -> _Counts:
        found = _Counts()
        for index, _ in members:
            found.values[index] = (0, 0)
        for sql, params in statements:
            for row in _fetch(conn, sql, params):
                found.values[int(row["idx"])] = (int(row["violating"]), int(row["denominator"]))
        return found

    return run


# -- table-level checks ------------------------------------------------------------------

def _person_completeness(members: list[tuple[int, CheckInstance]], table: str,
                         catalog: _Catalog) -> Callable[[sa.Connection], _Counts]:
    """Persons without a record in each table: one pass over person, hashed subplans."""
    schema = catalog.schema
    aggregates = _Aggregates()
    wanted: dict[int, str] = {}
    persons = aggregates.add("count(*)")
    for index, instance in members:
        wanted[index] = aggregates.add(
            f"count(*) filter (where p.person_id not in (select x.person_id from "
            f"{q(schema)}.{q(instance.table)} as x where x.person_id is not null))")
    sql = f"select {aggregates.select_list()} from {q(schema)}.person as p"

    def run(conn: sa.Connection) -> _Counts:
        row = _fetch(conn, sql)[0]
        return _Counts(values={index: (int(row[name]), int(row[persons]))
                               for index, name in wanted.items()})

    return run


def _overlap_pass(members: list[tuple[int, CheckInstance]], table: str,
                  catalog: _Catalog) -> Callable[[sa.Connection], _Counts]:
    """Persons with overlapping or back-to-back observation periods."""
    sql = f"""
with ordered as (
    select person_id, observation_period_start_date as start_date,
           lag(observation_period_end_date) over (
               partition by person_id
               order by observation_period_start_date, observation_period_end_date)
           as previous_end
    from {q(catalog.schema)}.observation_period
)
select count(distinct person_id) filter (where start_date <= previous_end + 1) as violating,
       count(distinct person_id) as denominator
from ordered"""

    def run(conn: sa.Connection) -> _Counts:
        row = _fetch(conn, sql)[0]
        return _Counts(values={index: (int(row["violating"]), int(row["denominator"]))
                               for index, _ in members})

    return run
