"""Inline SVG charts drawn here: no script, no external asset, readable when printed."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from markupsafe import Markup, escape

BAR = "#3b6ea5"
MAPPED = "#2f855a"
UNMAPPED = "#dd6b20"
GRID = "#d9dee5"
INK = "#1f2933"
MUTED = "#616e7c"
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\""


def nice_ticks(maximum: int, most: int = 5) -> list[int]:
    """Round tick values from 0 to at least `maximum`, at most `most` + 1 of them."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / most
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def _fmt(value: float) -> str:
    return f"{value:,.0f}"


def monthly_bars(table: str, months: Sequence[dt.date], counts: dict[dt.date, int]) -> Markup:
    """A bar chart of one table's rows per month, over a month axis shared by all tables."""
    width, height = 460, 190
    left, right, top, bottom = 54, 12, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [counts.get(month, 0) for month in months]
    ticks = nice_ticks(max(values, default=0))
    scale = plot_h / ticks[-1]
    slot = plot_w / max(len(months), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" {FONT} '
        f'aria-label="{escape(table)}: rows per month">'
    ]
    for tick in ticks:
        y = top + plot_h - tick * scale
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="{MUTED}">{_fmt(tick)}</text>')
    bar_w = max(slot * 0.78, 1.0)
    for index, (month, value) in enumerate(zip(months, values, strict=True)):
        if not value:
            continue
        x = left + index * slot + (slot - bar_w) / 2
        bar_h = max(value * scale, 1.0)
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{bar_w:.1f}" '
            f'height="{bar_h:.1f}" fill="{BAR}"><title>{month:%Y-%m}: {_fmt(value)} rows'
            f"</title></rect>"
        )
    every = max(1, math.ceil(len(months) / 7))
    for index, month in enumerate(months):
        if index % every:
            continue
        x = left + index * slot + slot / 2
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                     f'font-size="11" fill="{MUTED}">{month:%Y-%m}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" '
                 f'y2="{top + plot_h}" stroke="{MUTED}" stroke-width="1"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped or numeric


def coverage_bars(rows: Sequence[tuple[str, int, int]]) -> Markup:
    """Mapped and unmapped records per (label, mapped, unmapped), one stacked bar each."""
    width, label_w, value_w, row_h = 900, 220, 190, 30
    height = row_h * len(rows) + 34
    bar_w = width - label_w - value_w
    parts = [
        f'<svg class="chart wide" viewBox="0 0 {width} {height}" role="img" {FONT} '
        'aria-label="mapped and unmapped records per vocabulary and source">'
    ]
    for index, (label, mapped, unmapped) in enumerate(rows):
        total = mapped + unmapped
        y = index * row_h + 6
        share = mapped / total if total else 0.0
        mapped_w = bar_w * share
        parts.append(f'<text x="{label_w - 10}" y="{y + 15}" text-anchor="end" font-size="13" '
                     f'fill="{INK}">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{mapped_w:.1f}" height="20" '
                     f'fill="{MAPPED}"><title>{escape(label)}: {_fmt(mapped)} mapped</title>'
                     "</rect>")
        parts.append(f'<rect x="{label_w + mapped_w:.1f}" y="{y}" '
                     f'width="{bar_w - mapped_w:.1f}" height="20" fill="{UNMAPPED}">'
                     f"<title>{escape(label)}: {_fmt(unmapped)} unmapped</title></rect>")
        parts.append(f'<text x="{label_w + bar_w + 10}" y="{y + 15}" font-size="13" '
                     f'fill="{INK}">{share:.1%} of {_fmt(total)}</text>')
    legend_y = len(rows) * row_h + 14
    parts.append(f'<rect x="{label_w}" y="{legend_y}" width="12" height="12" fill="{MAPPED}"/>'
                 f'<text x="{label_w + 18}" y="{legend_y + 11}" font-size="12" fill="{MUTED}">'
                 "mapped to a standard concept</text>")
    parts.append(f'<rect x="{label_w + 230}" y="{legend_y}" width="12" height="12" '
                 f'fill="{UNMAPPED}"/><text x="{label_w + 248}" y="{legend_y + 11}" '
                 f'font-size="12" fill="{MUTED}">unmapped (concept_id 0)</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped or numeric
