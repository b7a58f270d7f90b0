"""A gate's results as a report people read: Markdown, or HTML when the path ends .html."""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from pathlib import Path

from etl.quality.outcome import CheckResult, GateOutcome

_ORDER = {"failed": 0, "error": 1, "skipped": 2, "passed": 3}


def _pct(result: CheckResult) -> str:
    pct = result.violating_pct
    return "" if pct is None else f"{pct:g}"


def _row(result: CheckResult) -> list[str]:
    examples = result.detail.get("examples") or []
    shown = ", ".join(f"{e['file_name']}:{e['line_number']}" for e in examples[:3])
    if len(examples) > 3:
        shown += f" (+{len(examples) - 3})"
    note = result.detail.get("error") or result.detail.get("reason") or ""
    return [
        result.status, result.severity, result.check_name, result.table_name or "",
        result.field_name or "", "" if result.concept_id is None else str(result.concept_id),
        "" if result.load_id is None else str(result.load_id),
        "" if result.violating_rows is None else f"{result.violating_rows:,}",
        "" if result.denominator_rows is None else f"{result.denominator_rows:,}",
        _pct(result), "" if result.threshold_pct is None else f"{result.threshold_pct:g}",
        shown or str(note)[:120],
    ]


_HEADER = ["status", "severity", "check", "table", "field", "concept", "load",
           "violating", "denominator", "%", "threshold %", "examples / note"]


def _sections(outcome: GateOutcome) -> list[tuple[str, list[CheckResult]]]:
    """Blocking checks, then warnings that failed, then per check type a summary table."""
    ordered = sorted(outcome.results, key=lambda r: (_ORDER[r.status], r.check_name,
                                                     r.table_name or "", r.field_name or ""))
    blocking = [r for r in ordered if r.blocks]
    warnings = [r for r in ordered if not r.blocks and r.status in ("failed", "error")]
    return [("Fatal checks that failed", blocking), ("Warnings", warnings),
            ("Every check", ordered)]


def _by_check(outcome: GateOutcome) -> list[list[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    severity: dict[str, str] = {}
    for result in outcome.results:
        counts[result.check_name][result.status] += 1
        severity[result.check_name] = result.severity
    return [[name, severity[name]] + [str(counts[name][s]) for s in
                                      ("passed", "failed", "error", "skipped")]
            for name in sorted(counts)]


def _markdown(outcome: GateOutcome) -> str:
    lines = [f"# Gate {outcome.gate}: {'PASSED' if outcome.passed else 'FAILED'}", "",
             "```", outcome.summary(), "```", "", "## Check types", "",
             "| check | severity | passed | failed | error | skipped |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    lines += ["| " + " | ".join(row) + " |" for row in _by_check(outcome)]
    for title, results in _sections(outcome):
        lines += ["", f"## {title} ({len(results)})", ""]
        if not results:
            lines.append("None.")
            continue
        lines.append("| " + " | ".join(_HEADER) + " |")
        lines.append("|" + " --- |" * len(_HEADER))
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _row(r)) + " |"
                  for r in results]
    return "\n".join(lines) + "\n"


def _html(outcome: GateOutcome) -> str:
    def table(header: list[str], rows: list[list[str]]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    verdict = "PASSED" if outcome.passed else "FAILED"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Gate {html.escape(outcome.gate)}: {verdict}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-bottom:2em}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}"
        "th{background:#eee}</style></head><body>",
        f"<h1>Gate {html.escape(outcome.gate)}: {verdict}</h1>",
        f"<pre>{html.escape(outcome.summary())}</pre>",
        "<h2>Check types</h2>",
        table(["check", "severity", "passed", "failed", "error", "skipped"],
              _by_check(outcome)),
    ]
    for title, results in _sections(outcome):
        parts.append(f"<h2>{html.escape(title)} ({len(results)})</h2>")
        parts.append(table(_HEADER, [_row(r) for r in results]) if results else "<p>None.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_gate_report(outcome: GateOutcome, path: Path) -> Path:
    """Write the report (HTML for a .html/.htm path, Markdown otherwise); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = _html(outcome) if path.suffix.lower() in (".html", ".htm") else _markdown(outcome)
    path.write_text(text, encoding="utf-8")
    return path
