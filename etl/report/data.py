"""What a run report shows, read from the warehouse: counts, codes, table and file names.

Two kinds of figures:

- recorded with the run, exact for it however old it is: its header, loads, files,
  quarantine, gate results, the OMOP row counts taken when it published
  (`etl.run.stats`), and the identifiers it added to the person crosswalk;
- read from the warehouse as it is now: the published `omop` schema and the dbt
  intermediate tables (per-source split, mapping coverage, events per month) and the
  crosswalk totals. These describe the run only while it is the latest run and its
  publication is still the live one; otherwise `ReportData.live_caveats` says why not,
  and the page says so above those sections.

No query here selects a person-level column: no names, dates of birth, addresses,
member ids or raw records (etl.quarantine.raw_record is never read).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from etl.errors import EtlError
from etl.linkage.report import linkage_summary
from etl.report.privacy import QUOTED_VALUE, VALUE_PLACEHOLDER, scrub, scrub_error
from etl.warehouse import Warehouse

PUBLISHED = "omop"
INTERMEDIATE = "dbt_intermediate"

# The OMOP table each clinical-event domain of int_events goes to.
DOMAIN_TABLES = {
    "Condition": "condition_occurrence",
    "Procedure": "procedure_occurrence",
    "Drug": "drug_exposure",
    "Device": "device_exposure",
    "Measurement": "measurement",
    "Observation": "observation",
}
EVENT_TABLES = tuple(DOMAIN_TABLES.values())

# Intermediate tables with one row per OMOP row and a `source` column.
SPLIT_MODELS = {
    "person": "int_persons",
    "visit_occurrence": "int_visits",
    "visit_detail": "int_visit_details",
}

# The date that places a row of each OMOP event table in time.
EVENT_DATES = {
    "visit_occurrence": "visit_start_date",
    "visit_detail": "visit_detail_start_date",
    "condition_occurrence": "condition_start_date",
    "procedure_occurrence": "procedure_date",
    "drug_exposure": "drug_exposure_start_date",
    "device_exposure": "device_exposure_start_date",
    "measurement": "measurement_date",
    "observation": "observation_date",
    "specimen": "specimen_date",
    "note": "note_date",
    "death": "death_date",
}

TOP_UNMAPPED_PER_VOCABULARY = 10
MAX_MONTHS = 120
MAX_QUARANTINE_GROUPS = 200


@dataclass
class RunInfo:
    run_id: int
    command: str
    source: str | None
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    inputs: list[str]
    published: bool
    error: str
    hostname: str | None
    omop_counts: dict[str, int]
    stage_seconds: dict[str, float]
    stats_loads: list[dict[str, Any]]

    @property
    def duration(self) -> dt.timedelta | None:
        return self.ended_at - self.started_at if self.ended_at else None


@dataclass
class TableRows:
    table: str
    recorded: int | None  # rows when this run published (None: it did not)
    live: int | None  # rows in the published schema now
    by_source: dict[str, int] = field(default_factory=dict)
    inferred: bool = False  # by_source assumed from the build having a single source

    @property
    def attributed(self) -> int:
        return sum(self.by_source.values())


@dataclass
class Coverage:
    source: str
    code_system: str
    records: int
    mapped: int
    codes: int
    unmapped_codes: int

    @property
    def unmapped(self) -> int:
        return self.records - self.mapped

    @property
    def mapped_codes(self) -> int:
        return self.codes - self.unmapped_codes

    @property
    def record_share(self) -> float:
        return self.mapped / self.records if self.records else 0.0

    @property
    def code_share(self) -> float:
        return self.mapped_codes / self.codes if self.codes else 0.0


@dataclass
class UnmappedCode:
    source: str
    code_system: str
    code: str
    records: int
    tables: str


@dataclass
class GateResult:
    gate: str
    check_name: str
    table_name: str | None
    field_name: str | None
    concept_id: int | None
    severity: str
    status: str
    violating_rows: int | None
    denominator_rows: int | None
    violating_pct: float | None
    threshold_pct: float | None


@dataclass
class Identifiers:
    source: str
    id_system: str
    link_method: str
    identifiers: int
    persons: int
    added_by_run: int


@dataclass
class Linkage:
    persons: int = 0
    persons_in_several_sources: int = 0
    persons_per_source: dict[str, int] = field(default_factory=dict)
    identifiers: list[Identifiers] = field(default_factory=list)
    # From etl.linkage.report.linkage_summary: persons by the set of sources that know
    # them ("cclf+fhir"), cross-source persons by how they were linked, reviews pending.
    source_combinations: dict[str, int] = field(default_factory=dict)
    linked_by_method: dict[str, int] = field(default_factory=dict)
    reviews_pending: dict[str, int] = field(default_factory=dict)

    @property
    def added_by_run(self) -> int:
        return sum(row.added_by_run for row in self.identifiers)


@dataclass
class Load:
    load_id: int | None
    source: str
    unit: str
    status: str
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    rows_landed: int
    rows_quarantined: int
    reason: str
    files: int
    files_skipped: int


@dataclass
class LandedFile:
    load_id: int
    file_name: str
    staging_table: str | None
    size_bytes: int
    rows_landed: int
    rows_quarantined: int
    status: str


@dataclass
class QuarantineGroup:
    file_name: str
    field: str
    reason: str
    records: int


@dataclass
class ReportData:
    run: RunInfo
    written_at: dt.datetime
    latest_run_id: int | None
    live_caveats: list[str]
    vocabulary_version: str | None
    sources: list[str]
    tables: list[TableRows]
    intermediate_found: bool
    coverage: list[Coverage]
    top_unmapped: list[UnmappedCode]
    gates: list[GateResult]
    linkage: Linkage
    loads: list[Load]
    files: list[LandedFile]
    quarantine: list[QuarantineGroup]
    quarantine_total: int
    quarantine_groups_total: int
    months: list[dt.date]
    monthly: dict[str, dict[dt.date, int]]
    monthly_outside: dict[str, int]

    @property
    def describes_run(self) -> bool:
        return not self.live_caveats

    def table(self, name: str) -> TableRows | None:
        return next((row for row in self.tables if row.table == name), None)

    def rows_of(self, name: str) -> int:
        row = self.table(name)
        if row is None:
            return 0
        value = row.recorded if row.recorded is not None else row.live
        return value or 0


def _relations(conn: sa.Connection, schema: str) -> dict[str, set[str]]:
    """Tables (and views) of a schema with their columns; empty when it does not exist."""
    found: dict[str, set[str]] = defaultdict(set)
    for table, column in conn.execute(sa.text(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = :s"
    ), {"s": schema}):
        found[table].add(column)
    return dict(found)


def _quote(*parts: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def _resolve_run(conn: sa.Connection, run_id: int | None) -> RunInfo:
    if run_id is None:
        row = conn.execute(sa.text(
            "select * from etl.run where command = 'run' order by run_id desc limit 1"
        )).mappings().first()
        if row is None:
            raise EtlError("no run is recorded yet: `etl run` first")
    else:
        row = conn.execute(sa.text("select * from etl.run where run_id = :r"),
                           {"r": run_id}).mappings().first()
        if row is None:
            raise EtlError(f"run {run_id} is not recorded in etl.run (see `etl runs`)")
    stats = row["stats"] or {}
    inputs = row["inputs"] or []
    return RunInfo(
        run_id=int(row["run_id"]),
        command=row["command"],
        source=row["source"],
        status=row["status"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        inputs=[scrub(str(item)) for item in inputs],
        published=bool(row["published"]),
        error=scrub_error(row["error"]),
        hostname=row["hostname"],
        omop_counts={str(k): int(v) for k, v in (stats.get("omop_counts") or {}).items()},
        stage_seconds={str(k): float(v) for k, v in (stats.get("stage_seconds") or {}).items()},
        stats_loads=list(stats.get("loads") or []),
    )


def _live_caveats(conn: sa.Connection, run: RunInfo, latest: int | None,
                  live: dict[str, int]) -> list[str]:
    caveats = []
    if latest is not None and latest != run.run_id:
        caveats.append(f"run {latest:,} ran after run {run.run_id:,} and rebuilt the "
                       "intermediate tables")
    if run.status == "running":
        caveats.append(f"run {run.run_id:,} is still running")
    if not run.published:
        last = conn.execute(sa.text(
            "select max(run_id) from etl.run where published and run_id < :r"
        ), {"r": run.run_id}).scalar()
        caveats.append(f"run {run.run_id:,} did not publish; the published tables are "
                       + (f"those of run {last:,}" if last else "not from any recorded run"))
    elif not live:
        caveats.append("there is no published omop schema now")
    elif latest == run.run_id and any(live.get(t) != n for t, n in run.omop_counts.items()):
        caveats.append("the published tables no longer hold the rows counted when run "
                       f"{run.run_id:,} published (a rollback since?)")
    return caveats


def _live_counts(conn: sa.Connection, tables: dict[str, set[str]]) -> dict[str, int]:
    return {
        table: int(conn.execute(sa.text(f"select count(*) from {_quote(PUBLISHED, table)}"))
                   .scalar_one())
        for table in sorted(tables)
    }


def _split(conn: sa.Connection, intermediate: dict[str, set[str]]) -> dict[str, dict[str, int]]:
    """Rows per OMOP table and source, from the intermediate tables that carry a source."""
    split: dict[str, dict[str, int]] = defaultdict(dict)
    if {"source", "target_domain"} <= intermediate.get("int_events", set()):
        for domain, source, rows in conn.execute(sa.text(
            f"select target_domain, source, count(*) from {_quote(INTERMEDIATE, 'int_events')} "
            "group by 1, 2"
        )):
            table = DOMAIN_TABLES.get(domain)
            if table:
                split[table][source] = int(rows)
    for table, model in SPLIT_MODELS.items():
        if "source" in intermediate.get(model, set()):
            for source, rows in conn.execute(sa.text(
                f"select source, count(*) from {_quote(INTERMEDIATE, model)} group by 1"
            )):
                split[table][source] = int(rows)
    return split


def _tables(run: RunInfo, live: dict[str, int],
            split: dict[str, dict[str, int]]) -> tuple[list[TableRows], list[str]]:
    sources = sorted({source for per in split.values() for source in per})
    names = sorted(set(run.omop_counts) | set(live))
    rows = []
    for name in names:
        row = TableRows(name, run.omop_counts.get(name) if run.published else None,
                        live.get(name), dict(split.get(name, {})))
        total = row.live or 0
        if not row.by_source and len(sources) == 1 and total:
            row.by_source = {sources[0]: total}
            row.inferred = True
        rows.append(row)
    return rows, sources


def _coverage(conn: sa.Connection,
              intermediate: dict[str, set[str]]) -> tuple[list[Coverage], list[UnmappedCode]]:
    needed = {"source", "code_system", "source_code", "concept_id", "target_domain"}
    if not needed <= intermediate.get("int_events", set()):
        return [], []
    events = _quote(INTERMEDIATE, "int_events")
    coverage = [
        Coverage(source, code_system, int(records), int(mapped), int(codes), int(unmapped))
        for source, code_system, records, mapped, codes, unmapped in conn.execute(sa.text(
            "select source, coalesce(code_system, '(none)'), count(*), "
            "count(*) filter (where concept_id <> 0), count(distinct source_code), "
            "count(distinct source_code) filter (where concept_id = 0) "
            f"from {events} group by 1, 2 order by 1, 2"
        ))
    ]
    top = conn.execute(sa.text(
        "select source, code_system, source_code, records, domains from ("
        "  select source, coalesce(code_system, '(none)') as code_system, source_code,"
        "    count(*) as records,"
        "    string_agg(distinct target_domain, ',' order by target_domain) as domains,"
        "    row_number() over (partition by source, coalesce(code_system, '(none)')"
        "      order by count(*) desc, source_code) as rank"
        f"  from {events} where concept_id = 0 group by 1, 2, 3"
        ") as ranked where rank <= :top order by source, code_system, rank"
    ), {"top": TOP_UNMAPPED_PER_VOCABULARY})
    unmapped = [
        UnmappedCode(source, code_system, code if code is not None else "(blank)", int(n),
                     ", ".join(DOMAIN_TABLES.get(d, d) for d in (domains or "").split(",") if d))
        for source, code_system, code, n, domains in top
    ]
    return coverage, unmapped


def _gates(conn: sa.Connection, run_id: int) -> list[GateResult]:
    rows = conn.execute(sa.text(
        "select gate, check_name, table_name, field_name, concept_id, severity, status, "
        "violating_rows, denominator_rows, violating_pct, threshold_pct from etl.dq_result "
        "where run_id = :r or load_id in (select load_id from etl.load where run_id = :r) "
        "order by case status when 'failed' then 0 when 'error' then 1 when 'skipped' then 2 "
        "else 3 end, case severity when 'fatal' then 0 else 1 end, gate, check_name, "
        "table_name nulls first, field_name nulls first, dq_result_id"
    ), {"r": run_id})
    return [
        GateResult(
            r.gate, r.check_name, r.table_name, r.field_name, r.concept_id, r.severity,
            r.status, r.violating_rows, r.denominator_rows,
            None if r.violating_pct is None else float(r.violating_pct),
            None if r.threshold_pct is None else float(r.threshold_pct),
        )
        for r in rows
    ]


def _linkage(conn: sa.Connection, run_id: int) -> Linkage:
    linkage = Linkage()
    linkage.persons, linkage.persons_in_several_sources = (int(v or 0) for v in conn.execute(
        sa.text(
            "select count(*), count(*) filter (where sources > 1) from ("
            "  select person_id, count(distinct source) as sources"
            "  from etl.person_crosswalk group by person_id) as people"
        )).one())
    linkage.persons_per_source = {
        source: int(n) for source, n in conn.execute(sa.text(
            "select source, count(distinct person_id) from etl.person_crosswalk "
            "group by 1 order by 1"
        ))
    }
    linkage.identifiers = [
        Identifiers(source, id_system, method, int(ids), int(persons), int(added))
        for source, id_system, method, ids, persons, added in conn.execute(sa.text(
            "select source, id_system, link_method, count(*), count(distinct person_id), "
            "count(*) filter (where first_run_id = :r) from etl.person_crosswalk "
            "group by 1, 2, 3 order by 1, 2, 3"
        ), {"r": run_id})
    ]
    return linkage


def _with_summary(linkage: Linkage, summary: dict[str, Any]) -> Linkage:
    linkage.source_combinations = summary["source_combinations"]
    linkage.linked_by_method = summary["linked_by_method"]
    linkage.reviews_pending = summary["reviews"]["pending"]
    return linkage


def _loads(conn: sa.Connection, run: RunInfo) -> tuple[list[Load], list[LandedFile]]:
    loads = []
    for r in conn.execute(sa.text(
        "select l.load_id, l.source, l.unit_name, l.status, l.started_at, l.ended_at, "
        "l.rows_landed, l.rows_quarantined, l.detail ->> 'reason' as reason, "
        "coalesce(jsonb_array_length(case jsonb_typeof(l.detail -> 'skipped_files') "
        "  when 'array' then l.detail -> 'skipped_files' end), 0) as skipped, "
        "(select count(*) from etl.manifest m where m.load_id = l.load_id) as files "
        "from etl.load l where l.run_id = :r order by l.load_id"
    ), {"r": run.run_id}):
        loads.append(Load(r.load_id, r.source, r.unit_name, r.status, r.started_at, r.ended_at,
                          int(r.rows_landed), int(r.rows_quarantined), scrub(r.reason),
                          int(r.files), int(r.skipped)))
    # Units skipped whole (every file landed before) have no etl.load row: the run's stats
    # keep them.
    for entry in run.stats_loads:
        if entry.get("status") == "skipped":
            loads.append(Load(None, run.source or "", str(entry.get("unit", "")), "skipped",
                              None, None, 0, 0, scrub(entry.get("reason")), 0, 0))
    files = [
        LandedFile(r.load_id, r.file_name, r.staging_table, int(r.size_bytes),
                   int(r.rows_landed), int(r.rows_quarantined), r.status)
        for r in conn.execute(sa.text(
            "select m.load_id, m.file_name, m.staging_table, m.size_bytes, m.rows_landed, "
            "m.rows_quarantined, m.status from etl.manifest m "
            "join etl.load l using (load_id) where l.run_id = :r order by m.load_id, m.file_name"
        ), {"r": run.run_id})
    ]
    return loads, files


def _quarantine(conn: sa.Connection, run_id: int) -> tuple[list[QuarantineGroup], int]:
    """Quarantined records per file, field and reason, values masked before grouping."""
    grouped: dict[tuple[str, str, str], int] = defaultdict(int)
    for file_name, field_name, reason, n in conn.execute(sa.text(
        "select q.file_name, coalesce(q.field, ''), "
        "regexp_replace(q.reason, :pattern, :placeholder, 'g'), count(*) "
        "from etl.quarantine q join etl.load l using (load_id) where l.run_id = :r "
        "group by 1, 2, 3"
    ), {"r": run_id, "pattern": QUOTED_VALUE, "placeholder": VALUE_PLACEHOLDER}):
        grouped[(file_name, field_name, scrub(reason))] += int(n)
    groups = [QuarantineGroup(f, fld, reason, n) for (f, fld, reason), n in grouped.items()]
    groups.sort(key=lambda g: (-g.records, g.file_name, g.field, g.reason))
    return groups, sum(g.records for g in groups)


def _monthly(conn: sa.Connection, published: dict[str, set[str]]
             ) -> tuple[list[dt.date], dict[str, dict[dt.date, int]], dict[str, int]]:
    """Rows per month of each OMOP event table, over at most MAX_MONTHS recent months."""
    series: dict[str, dict[dt.date, int]] = {}
    for table, column in EVENT_DATES.items():
        if column not in published.get(table, set()):
            continue
        counts = {
            month: int(n) for month, n in conn.execute(sa.text(
                f"select cast(date_trunc('month', {_quote(column)}) as date), count(*) "
                f"from {_quote(PUBLISHED, table)} where {_quote(column)} is not null group by 1"
            ))
        }
        if counts:
            series[table] = counts
    if not series:
        return [], {}, {}
    first = min(min(counts) for counts in series.values())
    last = max(max(counts) for counts in series.values())
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    months = months[-MAX_MONTHS:]
    outside = {
        table: sum(n for m, n in counts.items() if m < months[0])
        for table, counts in series.items()
    }
    return months, series, {t: n for t, n in outside.items() if n}


def collect(warehouse: Warehouse, run_id: int | None) -> ReportData:
    """Everything the page shows for one run (None: the latest `etl run`)."""
    with warehouse.engine.connect() as conn:
        run = _resolve_run(conn, run_id)
        latest = conn.execute(sa.text(
            "select max(run_id) from etl.run where command = 'run'"
        )).scalar()
        published = _relations(conn, PUBLISHED)
        intermediate = _relations(conn, INTERMEDIATE)
        base_tables = set(conn.execute(sa.text(
            "select table_name from information_schema.tables "
            "where table_schema = :s and table_type = 'BASE TABLE'"
        ), {"s": PUBLISHED}).scalars())
        live = _live_counts(conn, {t: published[t] for t in published if t in base_tables})
        caveats = _live_caveats(conn, run, latest, live)
        vocabulary_version = None
        if "vocabulary" in _relations(conn, "vocab"):
            vocabulary_version = conn.execute(sa.text(
                "select vocabulary_version from vocab.vocabulary where vocabulary_id = 'None'"
            )).scalar()
        tables, sources = _tables(run, live, _split(conn, intermediate))
        coverage, top_unmapped = _coverage(conn, intermediate)
        loads, files = _loads(conn, run)
        quarantine, quarantine_total = _quarantine(conn, run.run_id)
        months, monthly, outside = _monthly(conn, published)
        return ReportData(
            run=run,
            written_at=dt.datetime.now(dt.UTC),
            latest_run_id=latest,
            live_caveats=caveats,
            vocabulary_version=vocabulary_version,
            sources=sources,
            tables=tables,
            intermediate_found=bool(intermediate),
            coverage=coverage,
            top_unmapped=top_unmapped,
            gates=_gates(conn, run.run_id),
            linkage=_with_summary(_linkage(conn, run.run_id), linkage_summary(warehouse)),
            loads=loads,
            files=files,
            quarantine=quarantine[:MAX_QUARANTINE_GROUPS],
            quarantine_total=quarantine_total,
            quarantine_groups_total=len(quarantine),
            months=months,
            monthly=monthly,
            monthly_outside=outside,
        )
