"""Gate 1: the staging rows of newly landed loads, checked before anything is built.

The checks are generated, never hand-written per column: each source's rules
(etl.quality.rules, a CSV expanded against the source's catalog) become

1. per staging table, one SQL pass over all the gate's loads, grouped by load_id, for
   the row-wise rules, and one GROUPING SETS pass for the code-format rules, which checks
   each distinct code once (codes repeat: a few thousand distinct values per million
   rows). The first pass also counts the rows of each file, for the control totals
   against etl.manifest. These per-load counts decide: they go to etl.dq_result (gate
   'landing', with load_id and the load's run_id), and a load with a failed fatal check
   is listed in `GateOutcome.failed_loads`;
2. a Great Expectations suite per staging table (`build_suites`), validated by Great
   Expectations' SQL engine on a `load_id` partition of the table: the newest load of
   the gate (a nightly run's one load), or every load with `gx_loads="all"`. Its results
   make the Data Docs written to `data_docs_dir`, and are cross-checked against the SQL
   pass: both must count the same violations for every rule, else check `gx_agreement`
   reports an error.

Why both: Great Expectations spends ~60 ms of Python per expectation evaluation, so the
~180 CCLF rules cost ~10 s per load whatever its size; a 13-load backfill would take
minutes, while the SQL passes cost two scans per table for all loads. The rules, the
regular expressions and the NPI check-digit expression are shared, so the two cannot
drift apart silently.

Counts and row ids only: failing examples are (load_id, file_name, line_number); Great
Expectations runs with the BASIC result format and no unexpected values, so neither
etl.dq_result nor the Data Docs carry a source value (PHI).
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from etl.quality.catalog import landing_rules
from etl.quality.formats import FORMATS
from etl.quality.outcome import CheckResult, GateOutcome, record_results
from etl.quality.rule_sql import rule_columns, rule_conditions
from etl.quality.rules import LINEAGE, Rule, check_defaults
from etl.sources.registry import get_source
from etl.warehouse import Warehouse

log = logging.getLogger(__name__)

EXAMPLES_PER_CHECK = 10
DATA_DOCS_SITE = "landing_gate"
PARALLEL_QUERIES = 2
GxLoads = Literal["newest", "all"]
# BASIC gives counts; no unexpected values are fetched or kept (PHI stays in the warehouse).
RESULT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 0,
                                 "exclude_unexpected_values": True}


@dataclass(frozen=True)
class _File:
    """A landed file as etl.manifest recorded it."""

    name: str
    table: str | None  # the table the manifest names (the file's last batch's table)
    landed: int  # rows staged, over every staging table the file fed
    quarantined: int


@dataclass
class _LoadFacts:
    load_id: int
    run_id: int | None
    detail: dict[str, Any]
    files: list[_File] = field(default_factory=list)


def _load_facts(warehouse: Warehouse, source_name: str, load_ids: list[int]) -> list[_LoadFacts]:
    with warehouse.engine.connect() as conn:
        loads = conn.execute(sa.text(
            "select load_id, run_id, detail from etl.load "
            "where load_id = any(:ids) and source = :source order by load_id"
        ), {"ids": list(load_ids), "source": source_name}).all()
        files = conn.execute(sa.text(
            "select load_id, staging_table, file_name, rows_landed, rows_quarantined "
            "from etl.manifest where load_id = any(:ids) order by file_name"
        ), {"ids": list(load_ids)}).all()
    facts = {row.load_id: _LoadFacts(row.load_id, row.run_id, row.detail or {}) for row in loads}
    for row in files:
        if row.load_id in facts:
            facts[row.load_id].files.append(_File(row.file_name, row.staging_table,
                                                  int(row.rows_landed),
                                                  int(row.rows_quarantined)))
    return list(facts.values())


def _group(rules: list[Rule]) -> dict[str, list[Rule]]:
    by_table: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        by_table[rule.table].append(rule)
    return dict(by_table)


def build_suites(source_name: str, rules: list[Rule] | None = None) -> dict[str, Any]:
    """One Great Expectations suite per staging table, one expectation per rule."""
    import great_expectations as gx

    from etl.quality.expectations import to_expectation

    if rules is None:
        rules = landing_rules(get_source(source_name))
    return {
        table: gx.ExpectationSuite(
            name=f"{source_name}.{table}",
            expectations=[to_expectation(rule) for rule in table_rules],
            meta={"generated_from": sorted({rule.origin for rule in table_rules})})
        for table, table_rules in sorted(_group(rules).items())
    }


def run_landing_gate(warehouse: Warehouse, source_name: str, load_ids: list[int],
                     data_docs_dir: Path, *, gx_loads: GxLoads = "newest") -> GateOutcome:
    """Check the staging rows of `load_ids`; record the results; write Data Docs.

    The SQL pass covers every load. Great Expectations validates, per table, the newest
    of the loads (`gx_loads="newest"`, the one load of a nightly run) or each of them
    (`"all"`: complete Data Docs, ~10 s of Python per load).

    No load's status changes here: the caller rejects `outcome.failed_loads` (see
    etl.quality.reject_failed_loads) before building.
    """
    started = time.perf_counter()
    source = get_source(source_name)
    schema = source.staging_schema
    outcome = GateOutcome("landing", load_ids=sorted(load_ids))
    loads = [load for load in _load_facts(warehouse, source_name, load_ids) if load.files]
    if loads:
        rules = landing_rules(source, warehouse)
        by_table = _group(rules)
        tables = _staging_tables(warehouse, schema)
        counts = _count_all(warehouse, schema, tables, by_table, [x.load_id for x in loads])
        for load in loads:
            outcome.results += _load_results(load, tables, by_table, counts)
        _add_examples(warehouse, schema, outcome.results, by_table)
        gx_found = _validate_with_gx(warehouse, source_name, schema, rules, counts, loads,
                                     data_docs_dir, gx_loads)
        outcome.results += _agreement(gx_found, counts, by_table)
        outcome.data_docs = data_docs_dir / "index.html"
        record_results(warehouse, outcome, run_ids={load.load_id: load.run_id for load in loads})
    outcome.elapsed_s = time.perf_counter() - started
    log.debug("%s", outcome.summary())
    return outcome


def _staging_tables(warehouse: Warehouse, schema: str) -> list[str]:
    """Every table of the staging schema that carries the lineage columns."""
    with warehouse.engine.connect() as conn:
        return list(conn.execute(sa.text(
            "select table_name from information_schema.columns where table_schema = :s "
            "and column_name in ('load_id', 'file_name', 'line_number') "
            "group by table_name having count(*) = 3 order by table_name"),
            {"s": schema}).scalars())


# -- the per-load SQL pass ---------------------------------------------------------------

@dataclass
class _TableCounts:
    files: dict[tuple[int, str], int]  # (load_id, file_name) -> rows staged in this table
    rules: dict[int, list[tuple[int, int]]]  # load_id -> [(counted, violating)] per rule

    def rows(self, load_id: int) -> int:
        return sum(n for (load, _), n in self.files.items() if load == load_id)


def _staging_table(schema: str, table: str, rules: list[Rule]) -> sa.TableClause:
    names = set(LINEAGE)
    for rule in rules:
        names |= rule_columns(rule)
    return sa.table(table, *(sa.column(name) for name in sorted(names)), schema=schema)


def _per_value(rule: Rule) -> bool:
    """Whether the rule is checked once per distinct value rather than once per row."""
    if rule.check == "format":
        return FORMATS[rule.argument].per_value
    return rule.check == "regex"


def _row_query(schema: str, table: str, rules: list[Rule], load_ids: list[int]) -> sa.Select:
    """Rows per load and file, and every row-wise rule's (counted, violating): one scan."""
    staged = _staging_table(schema, table, rules)
    columns: list[Any] = [staged.c.load_id, staged.c.file_name, sa.func.count().label("rows")]
    for index, rule in enumerate(rules):
        counted, bad = rule_conditions(rule, staged)
        columns += [sa.func.count().filter(counted).label(f"c{index}"),
                    sa.func.count().filter(bad).label(f"v{index}")]
    return (sa.select(*columns).where(staged.c.load_id.in_(load_ids))
            .group_by(staged.c.load_id, staged.c.file_name))


def _value_query(schema: str, table: str, rules: list[Rule], load_ids: list[int]) -> sa.Select:
    """Per-value rules: one scan counts each distinct (load, when value, value); each rule's
    condition is then evaluated once per distinct value, weighted by its count.

    The distinct values come from GROUPING SETS, one set per (column, when column); the
    GROUPING() bit mask tells the sets apart.
    """
    staged = _staging_table(schema, table, rules)
    sets: list[tuple[str, ...]] = []
    for rule in rules:
        key = (rule.when.column, rule.column) if rule.when else (rule.column,)
        if key not in sets:
            sets.append(key)
    names = sorted({name for key in sets for name in key})
    histogram = (
        sa.select(staged.c.load_id, sa.func.grouping(*(staged.c[n] for n in names)).label("g"),
                  *(staged.c[n] for n in names), sa.func.count().label("n"))
        .where(staged.c.load_id.in_(load_ids))
        .group_by(sa.func.grouping_sets(*(
            sa.tuple_(staged.c.load_id, *(staged.c[n] for n in key)) for key in sets)))
        .cte("distinct_values"))
    columns: list[Any] = [histogram.c.load_id]
    for index, rule in enumerate(rules):
        key = (rule.when.column, rule.column) if rule.when else (rule.column,)
        mask = sum(1 << (len(names) - 1 - i) for i, name in enumerate(names) if name not in key)
        counted, bad = rule_conditions(rule, histogram)
        in_set = histogram.c.g == mask
        columns += [
            sa.func.coalesce(sa.func.sum(histogram.c.n).filter(in_set, counted), 0)
            .label(f"c{index}"),
            sa.func.coalesce(sa.func.sum(histogram.c.n).filter(in_set, bad), 0)
            .label(f"v{index}")]
    return sa.select(*columns).group_by(histogram.c.load_id)


def _count_all(warehouse: Warehouse, schema: str, tables: list[str],
               by_table: dict[str, list[Rule]], load_ids: list[int]) -> dict[str, _TableCounts]:
    """Every rule's per-load counts: a row pass and, for code checks, a value pass per table.

    The passes run PARALLEL_QUERIES at a time on their own connections.
    """
    jobs: list[tuple[str, bool, list[Rule]]] = []
    for table in tables:
        rules = by_table.get(table, [])
        jobs.append((table, False, [r for r in rules if not _per_value(r)]))
        by_value = [r for r in rules if _per_value(r)]
        if by_value:
            jobs.append((table, True, by_value))

    def run(job: tuple[str, bool, list[Rule]]) -> tuple[str, list[Rule], list[Any]]:
        table, by_value, rules = job
        query = (_value_query if by_value else _row_query)(schema, table, rules, load_ids)
        with warehouse.engine.connect() as conn:
            return table, rules, list(conn.execute(query).mappings())

    counts = {table: _TableCounts({}, {}) for table in tables}
    per_rule: dict[tuple[str, int], dict[str, tuple[int, int]]] = {}
    with ThreadPoolExecutor(PARALLEL_QUERIES) as pool:
        for table, rules, rows in pool.map(run, jobs):
            for row in rows:
                load_id = int(row["load_id"])
                if "rows" in row:
                    counts[table].files[(load_id, str(row["file_name"]))] = int(row["rows"])
                found = per_rule.setdefault((table, load_id), {})
                for index, rule in enumerate(rules):
                    counted, bad = found.get(rule.describe(), (0, 0))
                    found[rule.describe()] = (counted + int(row[f"c{index}"]),
                                              bad + int(row[f"v{index}"]))
    for (table, load_id), found in per_rule.items():
        counts[table].rules[load_id] = [found.get(rule.describe(), (0, 0))
                                        for rule in by_table.get(table, [])]
    return counts


def _load_results(load: _LoadFacts, tables: list[str], by_table: dict[str, list[Rule]],
                  counts: dict[str, _TableCounts]) -> list[CheckResult]:
    """Every rule on every table the load staged rows in, then the per-file checks."""
    results = []
    for table in tables:
        if not counts[table].rows(load.load_id):
            continue
        for rule, (counted, bad) in zip(by_table.get(table, []),
                                       counts[table].rules.get(load.load_id, []), strict=True):
            pct = 100.0 * bad / counted if counted else 0.0
            results.append(CheckResult(
                rule.name, table, rule.column,
                "failed" if pct > rule.threshold_pct else "passed", rule.severity, bad,
                counted, rule.threshold_pct, load_id=load.load_id,
                detail={"rule": rule.describe(), "origin": rule.origin}))
    return results + _file_checks(load, counts)


def _file_checks(load: _LoadFacts, counts: dict[str, _TableCounts]) -> list[CheckResult]:
    """Per file: rows staged = rows the manifest recorded (over every table the file fed);
    the share of its records quarantined; and the source's own control total if it
    recorded one (`control_totals` in the load's detail: file name -> records)."""
    defaults = check_defaults()
    rate, control = defaults["quarantine_rate"], defaults["control_total"]
    reported = load.detail.get("control_totals")
    results = []
    for file in load.files:
        if not file.landed and not file.quarantined and not file.table:
            continue  # a file that feeds no staging table (CCLF0, the summary)
        staged = {table: n for table, found in counts.items()
                  if (n := found.files.get((load.load_id, file.name), 0))}
        # The manifest names one table per file; a file that fed several has none here.
        table = next(iter(staged)) if len(staged) == 1 else (file.table if not staged else None)
        where = {"file_name": file.name}
        total_staged = sum(staged.values())
        results.append(CheckResult(
            "control_total", table, None,
            "passed" if total_staged == file.landed else "failed", control.severity,
            abs(total_staged - file.landed), file.landed, 0.0, load_id=load.load_id,
            detail={**where, "staged_rows": staged, "manifest_rows": file.landed,
                    "rule": "rows staged = rows the manifest recorded"}))
        total = file.landed + file.quarantined
        pct = 100.0 * file.quarantined / total if total else 0.0
        results.append(CheckResult(
            "quarantine_rate", table, None,
            "failed" if pct > rate.threshold_pct else "passed", rate.severity,
            file.quarantined, total, rate.threshold_pct, load_id=load.load_id, detail=where))
        if isinstance(reported, dict) and file.name in reported:
            expected = int(reported[file.name])
            results.append(CheckResult(
                "control_total", table, None, "passed" if expected == total else "failed",
                control.severity, abs(expected - total), expected, 0.0, load_id=load.load_id,
                detail={**where, "reported_records": expected, "landed": file.landed,
                        "quarantined": file.quarantined,
                        "rule": "records landed + quarantined = the source's control total "
                                "(etl.load.detail.control_totals)"}))
    return results


def _add_examples(warehouse: Warehouse, schema: str, results: list[CheckResult],
                  by_table: dict[str, list[Rule]]) -> None:
    """Row ids (load_id, file_name, line_number) of up to 10 violating rows per result.

    One scan per table that has violations, for all its violated rules and loads (a query
    per rule would rescan the table for each, all of it when violations are rare).
    """
    rules = {(r.table, r.describe()): r for rs in by_table.values() for r in rs}
    wanted: dict[str, list[Rule]] = defaultdict(list)
    for result in results:
        rule = rules.get((str(result.table_name), str(result.detail.get("rule"))))
        if rule is not None and result.violating_rows and rule not in wanted[rule.table]:
            wanted[rule.table].append(rule)
    found: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    load_ids = sorted({r.load_id for r in results if r.load_id is not None})
    with warehouse.engine.connect() as conn:
        for table, table_rules in wanted.items():
            staged = _staging_table(schema, table, table_rules)
            order = (staged.c.file_name, staged.c.line_number)
            columns: list[Any] = [staged.c.load_id]
            for index, rule in enumerate(table_rules):
                _, bad = rule_conditions(rule, staged)
                for name, column in (("f", staged.c.file_name), ("l", staged.c.line_number)):
                    aggregated = sa.func.array_agg(aggregate_order_by(column, *order))
                    columns.append(aggregated.filter(bad)[1:EXAMPLES_PER_CHECK]
                                   .label(f"{name}{index}"))
            query = (sa.select(*columns).where(staged.c.load_id.in_(load_ids))
                     .group_by(staged.c.load_id))
            for row in conn.execute(query).mappings():
                for index, rule in enumerate(table_rules):
                    files, lines = row[f"f{index}"] or [], row[f"l{index}"] or []
                    found[(table, int(row["load_id"]), rule.describe())] = [
                        {"load_id": int(row["load_id"]), "file_name": file_name,
                         "line_number": int(line)}
                        for file_name, line in zip(files, lines, strict=True)]
    for result in results:
        key = (str(result.table_name), int(result.load_id or 0), str(result.detail.get("rule")))
        if found.get(key):
            result.detail["examples"] = found[key]


# -- Great Expectations ------------------------------------------------------------------

@contextmanager
def _quiet_gx() -> Iterator[None]:
    """Great Expectations logs routine steps at INFO/WARNING and warns about its own API
    changes (`schema_name` on table assets); keep the gate's log to what matters."""
    logger = logging.getLogger("great_expectations")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning,
                                    module=r"great_expectations\..*")
            yield
    finally:
        logger.setLevel(level)


def _context(data_docs_dir: Path) -> Any:
    """An in-memory Great Expectations context with one Data Docs site: data_docs_dir."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        data_docs_sites={DATA_DOCS_SITE: {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(data_docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }},
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _gx_batches(counts: dict[str, _TableCounts], loads: list[_LoadFacts], gx_loads: GxLoads,
                tables: set[str]) -> dict[int, list[str]]:
    """load_id -> the tables (with a suite) Great Expectations validates for that load."""
    batches: dict[int, list[str]] = defaultdict(list)
    newest: dict[str, int] = {}
    for load in sorted(loads, key=lambda x: x.load_id):
        for table in sorted(tables):
            if counts[table].rows(load.load_id):
                if gx_loads == "all":
                    batches[load.load_id].append(table)
                newest[table] = load.load_id
    if gx_loads == "newest":
        for table, load_id in newest.items():
            batches[load_id].append(table)
    return dict(batches)


def _validate_with_gx(warehouse: Warehouse, source_name: str, schema: str, rules: list[Rule],
                      counts: dict[str, _TableCounts], loads: list[_LoadFacts],
                      data_docs_dir: Path, gx_loads: GxLoads
                      ) -> dict[tuple[str, int], dict[str, int | None]]:
    """Run the suites on (table, load) batches; build Data Docs; return the counts.

    Returns (table, load_id) -> rule description -> unexpected count (None when the
    expectation raised).
    """
    import great_expectations as gx
    from great_expectations.core.partitioners import PartitionerColumnValue

    suites = build_suites(source_name, rules)
    batches = _gx_batches(counts, loads, gx_loads, set(suites) & set(counts))
    data_docs_dir.mkdir(parents=True, exist_ok=True)
    found: dict[tuple[str, int], dict[str, int | None]] = {}
    with _quiet_gx():
        context = _context(data_docs_dir)
        datasource = context.data_sources.add_postgres(
            "warehouse", connection_string=warehouse.url.render_as_string(hide_password=False))
        definitions = {}
        for table in sorted({t for tables in batches.values() for t in tables}):
            asset = datasource.add_table_asset(table, table_name=table, schema_name=schema)
            partition = asset.add_batch_definition(
                "load", partitioner=PartitionerColumnValue(column_name="load_id"),
                validate_partitioner=False)  # that check wants a date column
            suite = context.suites.add(suites[table])
            definitions[table] = context.validation_definitions.add(
                gx.ValidationDefinition(name=suite.name, data=partition, suite=suite))
        for load_id, tables in sorted(batches.items()):
            checkpoint = context.checkpoints.add(gx.Checkpoint(
                name=f"{source_name}.landing_gate.load_{load_id}",
                validation_definitions=[definitions[t] for t in tables],
                result_format=RESULT_FORMAT))
            run = checkpoint.run(batch_parameters={"load_id": load_id})
            for suite_result in run.run_results.values():
                table = suite_result.suite_name.split(".", 1)[1]
                unexpected: dict[str, int | None] = {}
                for result in suite_result.results:
                    meta = result.expectation_config.meta or {}
                    outcome = result.result or {}
                    count = outcome.get("unexpected_count")
                    if count is None and outcome.get("element_count") == 0:
                        count = 0  # nothing in the rule's domain: SQL sums over no rows
                    raised = _raised(result.exception_info or {})
                    unexpected[str(meta.get("rule"))] = None if raised or count is None \
                        else int(count)
                found[(table, load_id)] = unexpected
        context.build_data_docs(site_names=[DATA_DOCS_SITE])
    return found


def _raised(info: dict[str, Any]) -> bool:
    """Whether Great Expectations caught an exception (one record, or one per metric)."""
    records = [info] if "raised_exception" in info else \
        [value for value in info.values() if isinstance(value, dict)]
    return any(record.get("raised_exception") for record in records)


def _agreement(gx_found: dict[tuple[str, int], dict[str, int | None]],
               counts: dict[str, _TableCounts],
               by_table: dict[str, list[Rule]]) -> list[CheckResult]:
    """Per validated batch: Great Expectations and the SQL pass count the same violations."""
    results = []
    for (table, load_id), found in sorted(gx_found.items()):
        rules = by_table.get(table, [])
        ours = counts[table].rules.get(load_id, [(0, 0)] * len(rules))
        disagreements = [
            {"rule": rule.describe(), "sql": bad, "gx": found.get(rule.describe())}
            for rule, (_, bad) in zip(rules, ours, strict=True)
            if found.get(rule.describe()) != bad
        ]
        results.append(CheckResult(
            "gx_agreement", table, None, "error" if disagreements else "passed", "warning",
            len(disagreements), len(rules), 0.0, load_id=load_id,
            detail={"disagreements": disagreements[:20],
                    "rule": "Great Expectations and the per-load SQL pass find the same "
                            "number of violations for every rule"}))
    return results
