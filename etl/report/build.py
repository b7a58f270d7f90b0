"""Render a run's report as one self-contained HTML page and write it to a folder."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from etl.omop import spec
from etl.report import charts
from etl.report.data import (
    EVENT_DATES,
    EVENT_TABLES,
    TOP_UNMAPPED_PER_VOCABULARY,
    ReportData,
    TableRows,
    collect,
)
from etl.warehouse import Warehouse

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "run_report.html.j2"
_NOW_TAG = Markup(' <span class="tag">warehouse now</span>')
_NO_TABLE = "(no staging table)"


def report_file_name(run_id: int) -> str:
    return f"run-{run_id}.html"


def _num(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{int(value):,}"  # type: ignore[call-overload]


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share:.1%}"


def _plain_pct(value: float | None) -> str:
    """A value already in percent (0-100), as gates record them."""
    return "" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".") + "%"


def _when(value: dt.datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S %Z}".strip()


def _duration(value: dt.timedelta | None) -> str:
    if value is None:
        return ""
    seconds = round(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


def _month(value: dt.date) -> str:
    return f"{value:%b %Y}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=_num, pct=_pct, plain_pct=_plain_pct, when=_when,
                       duration=_duration, month=_month)
    return env


@dataclass
class _GateSummary:
    gate: str
    checks: int = 0
    passed: int = 0
    failed: int = 0
    fatal: int = 0
    error: int = 0
    skipped: int = 0


def _table_order(rows: list[TableRows]) -> list[TableRows]:
    order = {name: index for index, name in enumerate(spec.cdm_tables())}
    return sorted(rows, key=lambda row: (order.get(row.table, len(order)), row.table))


def _context(d: ReportData) -> dict[str, Any]:
    run = d.run
    tables = _table_order(d.tables)
    filled = [row for row in tables if (row.recorded or row.live)]
    show_live = (not run.published) or (
        not d.describes_run and any(row.live != row.recorded for row in tables))

    gates: dict[str, _GateSummary] = {}
    for result in d.gates:
        summary = gates.setdefault(result.gate, _GateSummary(result.gate))
        summary.checks += 1
        if result.status == "passed":
            summary.passed += 1
        elif result.status == "failed":
            summary.failed += 1
            summary.fatal += result.severity == "fatal"
        elif result.status == "error":
            summary.error += 1
        else:
            summary.skipped += 1

    staged: dict[str, dict[str, int]] = defaultdict(lambda: {"files": 0, "rows": 0,
                                                              "quarantined": 0})
    for file in d.files:
        entry = staged[file.staging_table or _NO_TABLE]
        entry["files"] += 1
        entry["rows"] += file.rows_landed
        entry["quarantined"] += file.rows_quarantined

    monthly = []
    for table in EVENT_DATES:
        counts = d.monthly.get(table)
        if counts:
            monthly.append({
                "table": table,
                "total": sum(counts.values()),
                "outside": d.monthly_outside.get(table, 0),
                "svg": charts.monthly_bars(table, d.months, counts),
            })

    records = sum(c.records for c in d.coverage)
    mapped = sum(c.mapped for c in d.coverage)
    coverage_chart = charts.coverage_bars(
        [(f"{c.source} · {c.code_system}", c.mapped, c.unmapped) for c in d.coverage]
    ) if d.coverage else Markup("")

    return {
        "d": d,
        "run": run,
        "now_tag": Markup("") if d.describes_run else _NOW_TAG,
        "cards_now": "" if run.published else " (warehouse now)",
        "clinical_events": sum(d.rows_of(table) for table in EVENT_TABLES),
        "landed": sum(load.rows_landed for load in d.loads),
        "quarantined_in_loads": sum(load.rows_quarantined for load in d.loads),
        "rejected_units": sum(load.status == "rejected" for load in d.loads),
        "coverage_total": {"records": records, "mapped": mapped,
                           "share": mapped / records if records else None},
        "coverage_chart": coverage_chart,
        "top_n": TOP_UNMAPPED_PER_VOCABULARY,
        "gate_summary": sorted(gates.values(), key=lambda g: g.gate),
        "gates_failed": sum(g.failed for g in gates.values()),
        "gates_not_passed": [g for g in d.gates if g.status != "passed"],
        "filled": filled,
        "empty_tables": [row.table for row in tables if not (row.recorded or row.live)],
        "show_live": show_live,
        "unattributed": any(
            row.by_source and not row.inferred and row.live is not None
            and row.live != row.attributed for row in filled),
        "any_inferred": any(row.inferred for row in filled),
        "staged": [{"table": name, **entry} for name, entry in sorted(
            staged.items(), key=lambda item: (item[0] == _NO_TABLE, item[0]))],
        "stages": sorted(run.stage_seconds.items(), key=lambda item: -item[1]),
        "unmapped_of": {(c.source, c.code_system): c.unmapped for c in d.coverage},
        "monthly_charts": monthly,
    }


def render_run_report(data: ReportData) -> str:
    """The HTML page for collected report data."""
    return _environment().get_template(TEMPLATE).render(_context(data))


def write_run_report(warehouse: Warehouse, run_id: int | None, out_dir: Path) -> Path:
    """Write `run-<id>.html` for run `run_id` (None: the latest `etl run`) into out_dir.

    Returns the page's path. The page is self-contained (inline CSS and SVG, no script)
    and carries counts, codes, table and file names only. Raises EtlError when the run
    is not recorded. Replaces an earlier page for the same run atomically.
    """
    data = collect(warehouse, run_id)
    page = render_run_report(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / report_file_name(data.run.run_id)
    handle, temporary = tempfile.mkstemp(dir=out_dir, prefix=".run-", suffix=".html.tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(page)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
