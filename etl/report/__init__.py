"""One self-contained HTML page per run: what landed, what was published, how well codes
mapped, what the gates said, how persons linked, and what was quarantined (no PHI)."""

from etl.report.build import render_run_report, report_file_name, write_run_report
from etl.report.data import ReportData, collect

__all__ = ["ReportData", "collect", "render_run_report", "report_file_name",
           "write_run_report"]
