"""The run report: one self-contained HTML page per run, its figures checked against SQL,
no PHI on it, and a real browser renders its tables and charts."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from etl import manifest
from etl.config import Settings
from etl.errors import EtlError
from etl.linkage.report import linkage_summary
from etl.paths import project_folder
from etl.pipeline import RunResult, run
from etl.report import write_run_report
from etl.report.charts import BAR
from etl.report.privacy import scrub, scrub_error
from etl.sources.cclf.layout import layouts
from etl.sources.cclf.synth import generate
from etl.vocab.load import load_vocabulary
from etl.warehouse import Warehouse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BAD_BIRTH_DATE = "1951-13-45"
EMPTY_PACKAGE = "P.A9999.ACO.ZCY24.D240715.T0100000.zip"


# --- the HTML, as tables per section -------------------------------------------------

class _Tables(HTMLParser):
    """Every <table> of the page as rows of cell texts, keyed by its <section> id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[list[str]]]] = {}
        self._section = ""
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self._section = dict(attrs).get("id") or ""
        elif tag == "table":
            self._rows = []
            self.tables.setdefault(self._section, []).append(self._rows)
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._rows:
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._rows = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _tables(html: str) -> dict[str, list[list[list[str]]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def _row(table: list[list[str]], *first: str) -> list[str]:
    """The row whose leading cells are `first`."""
    matches = [row for row in table if row[: len(first)] == list(first)]
    assert len(matches) == 1, f"expected one row starting {first}, found {matches}"
    return matches[0]


def _n(value: int) -> str:
    return f"{value:,}"


# --- a run with a quarantined record and a rejected package --------------------------

def _corrupt_a_birth_date(package: Path) -> None:
    """Give the third CCLF8 record of a package an impossible birth date (same length,
    so the CCLF0 record counts still reconcile and only that record is quarantined)."""
    dob = layouts()["CCLF8"].field("bene_dob")
    with zipfile.ZipFile(package) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, body in members:
            if re.search(r"\.ZC8[YR]\d\d\.", info.filename):
                lines = body.split(b"\n")
                record = bytearray(lines[2])
                record[dob.offset: dob.offset + dob.length] = BAD_BIRTH_DATE.encode()
                lines[2] = bytes(record)
                body = b"\n".join(lines)
            archive.writestr(info, body)


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cclf")
    generate(folder, beneficiaries=80, months=3, seed=23)
    monthly = sorted(p for p in folder.iterdir() if p.suffix == ".zip" and ".ZCY" in p.name)
    _corrupt_a_birth_date(monthly[0])
    with zipfile.ZipFile(folder / EMPTY_PACKAGE, "w"):
        pass  # an empty zip: a rejected delivery
    return folder


@pytest.fixture(scope="module")
def reported(warehouse: Warehouse, settings: Settings, deliveries: Path,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, Path, str]:
    load_vocabulary(warehouse, project_folder("vocab") / "demo")
    result = run(settings, "cclf", deliveries)
    page = write_run_report(warehouse, None, tmp_path_factory.mktemp("reports"))
    return result, page, page.read_text(encoding="utf-8")


def _rows(warehouse: Warehouse, sql: str, **params: object) -> list[sa.Row]:
    with warehouse.engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


# --- the page ------------------------------------------------------------------------

def test_the_page_is_named_after_the_run_and_is_self_contained(
    reported: tuple[RunResult, Path, str], deliveries: Path
) -> None:
    result, page, html = reported
    assert page.name == f"run-{result.run_id}.html"
    assert f"<title>ETL run {result.run_id} (rejected)" in html  # one package was rejected
    assert str(deliveries) in html
    assert "published to <code>omop</code>" in html
    lowered = html.lower()
    for external in ("<script", "<link", "<img", "<iframe", " src=", "http://", "https://",
                     "@import", "url("):
        assert external not in lowered, external
    assert "<style>" in html and html.count("<svg") >= 3


def test_rows_per_omop_table_match_the_published_schema(
    reported: tuple[RunResult, Path, str], warehouse: Warehouse
) -> None:
    _, _, html = reported
    [table] = _tables(html)["tables"]
    assert table[0][:3] == ["Table", f"Rows published by run {reported[0].run_id}", "cclf"]
    counts = warehouse.table_counts("omop")
    for name, rows in counts.items():
        if rows:
            assert _row(table, name)[1] == _n(rows)
    visits = _rows(warehouse, "select count(*) from dbt_intermediate.int_visits "
                              "where source = 'cclf'")[0][0]
    conditions = _rows(warehouse, "select count(*) from dbt_intermediate.int_events "
                                  "where source = 'cclf' and target_domain = 'Condition'")[0][0]
    assert _row(table, "visit_occurrence")[2] == _n(visits) == _n(counts["visit_occurrence"])
    assert _row(table, "condition_occurrence")[2] == _n(conditions)
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", row[1]) for row in table[1:])


def test_events_per_month_match_the_published_tables(
    reported: tuple[RunResult, Path, str], warehouse: Warehouse
) -> None:
    _, _, html = reported
    [table] = _tables(html)["months"]
    column = table[0].index("visit_occurrence")
    months = _rows(warehouse, "select to_char(visit_start_date, 'Mon YYYY'), count(*) "
                              "from omop.visit_occurrence group by 1")
    assert months
    for month, rows in months:
        assert _row(table, month)[column] == _n(rows)
    assert html.count('<svg class="chart"') == len(table[0]) - 1  # one chart per table


def test_mapping_coverage_and_top_unmapped_codes_match_int_events(
    reported: tuple[RunResult, Path, str], warehouse: Warehouse
) -> None:
    _, _, html = reported
    coverage, unmapped = _tables(html)["mapping"]
    expected = _rows(warehouse, """
        select source, code_system, count(*) as records,
               sum(case when concept_id = 0 then 0 else 1 end) as mapped,
               count(distinct source_code) as codes,
               count(distinct case when concept_id = 0 then source_code end) as unmapped_codes
        from dbt_intermediate.int_events group by 1, 2""")
    assert len(expected) >= 3  # ICD-10-CM, HCPCS, NDC at least
    for source, system, records, mapped, codes, unmapped_codes in expected:
        row = _row(coverage, source, system)
        assert row[2:5] == [_n(records), _n(mapped), _n(records - mapped)]
        assert row[5] == f"{mapped / records:.1%}"
        assert row[6:9] == [_n(codes), _n(codes - unmapped_codes), _n(unmapped_codes)]
    top = _rows(warehouse, """
        select distinct on (source, code_system) source, code_system, source_code, count(*)
        from dbt_intermediate.int_events where concept_id = 0
        group by 1, 2, 3 order by source, code_system, count(*) desc, source_code""")
    assert top
    for source, system, code, records in top:
        assert _row(unmapped, source, system, code)[3] == _n(records)


def test_the_run_lists_its_gate_results(
    reported: tuple[RunResult, Path, str], warehouse: Warehouse
) -> None:
    result, _, html = reported
    summary = _tables(html)["gates"][0]
    recorded = _rows(warehouse, "select gate, count(*) from etl.dq_result "
                                "where run_id = :r group by 1", r=result.run_id)
    assert {gate for gate, _ in recorded} == {"landing", "build"}
    for gate, checks in recorded:
        assert _row(summary, gate)[1] == _n(checks)


def test_no_gate_results_is_said_plainly_and_recorded_results_are_listed(
    reported: tuple[RunResult, Path, str], warehouse: Warehouse, tmp_path: Path
) -> None:
    bare = manifest.start_run(warehouse, "run", "cclf", [])  # a run that checked nothing
    manifest.finish_run(warehouse, bare, "failed", {}, error="stopped before its gates")
    html = write_run_report(warehouse, bare, tmp_path).read_text()
    assert f"No gate results recorded for run {bare}." in html
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text(
            "insert into etl.dq_result (run_id, gate, check_name, table_name, field_name, "
            "violating_rows, denominator_rows, violating_pct, threshold_pct, severity, status) "
            "values (:r, 'build', 'isForeignKey', 'condition_occurrence', 'visit_occurrence_id',"
            " 1234, 56789, 2.17, 0, 'fatal', 'failed'), "
            "(:r, 'build', 'measurePersonCompleteness', 'person', null, 0, 80, 0, 0, "
            " 'fatal', 'passed')"
        ), {"r": bare})
    gates = _tables(write_run_report(warehouse, bare, tmp_path).read_text())["gates"]
    summary, failed = gates[0], gates[1]
    assert _row(summary, "build")[1:4] == ["2", "1", "1"]
    row = _row(failed, "build", "isForeignKey")
    assert row[2] == "condition_occurrence.visit_occurrence_id"
    assert row[3:] == ["fatal", "failed", "1,234", "56,789", "2.17%", "0%"]


def test_linkage_figures_match_the_person_crosswalk(
    reported: tuple[RunResult, Path, str], warehouse: Warehouse
) -> None:
    result, _, html = reported
    per_source, identifiers, combinations, *_ = _tables(html)["linkage"]
    summary = linkage_summary(warehouse)
    for sources, persons in summary["source_combinations"].items():
        assert _row(combinations, sources)[1] == _n(persons)
    assert summary["source_combinations"]
    if not summary["reviews"]["pending"]:
        assert "No linkage conflict is pending review." in html
    for source, persons in _rows(warehouse, "select source, count(distinct person_id) "
                                            "from etl.person_crosswalk group by 1"):
        assert _row(per_source, source)[1] == _n(persons)
    methods = _rows(warehouse, "select source, id_system, link_method, count(*), "
                               "count(*) filter (where first_run_id = :r) "
                               "from etl.person_crosswalk group by 1, 2, 3", r=result.run_id)
    assert {m[2] for m in methods} >= {"source_key"}
    for source, system, method, ids, added in methods:
        row = _row(identifiers, source, system, method)
        assert (row[3], row[5]) == (_n(ids), _n(added))


def test_loads_and_quarantine_match_the_manifest(
    reported: tuple[RunResult, Path, str], warehouse: Warehouse
) -> None:
    result, _, html = reported
    loads = _tables(html)["loads"][0]
    recorded = _rows(warehouse, "select load_id, unit_name, status, rows_landed, "
                                "rows_quarantined from etl.load where run_id = :r",
                     r=result.run_id)
    assert {r.status for r in recorded} == {"landed", "rejected"}
    for load_id, unit, status, landed, quarantined in recorded:
        row = _row(loads, str(load_id), unit, status)
        assert (row[4], row[5]) == (_n(landed), _n(quarantined))
    rejected = _row(loads, *[str(r.load_id) for r in recorded if r.status == "rejected"])
    assert "the zip archive is empty" in rejected[6]
    total = sum(r.rows_landed for r in recorded)
    assert _row(loads, "All loads")[1] == _n(total) and total >= 1000

    [quarantine] = _tables(html)["quarantine"]
    groups = _rows(warehouse, "select q.file_name, q.field, count(*) from etl.quarantine q "
                              "join etl.load l using (load_id) where l.run_id = :r "
                              "group by 1, 2", r=result.run_id)
    assert [(g.field, g[2]) for g in groups] == [("BENE_DOB", 1)]
    row = _row(quarantine, groups[0].file_name, "BENE_DOB")
    assert row[2:] == ["‹value› is not a date in YYYY-MM-DD form", "1"]


def test_no_phi_reaches_the_page(
    reported: tuple[RunResult, Path, str], warehouse: Warehouse
) -> None:
    _, _, html = reported
    people = _rows(warehouse, "select bene_mbi_id, bene_1st_name, bene_last_name, bene_dob, "
                              "bene_line_1_adr from stg_cclf.beneficiary_demographics")
    assert len(people) > 50
    secrets: set[str] = {BAD_BIRTH_DATE}
    for mbi, first, last, dob, address in people:
        secrets.update(value for value in (mbi, first, last, address) if value)
        if dob:
            secrets.add(dob.isoformat())
    secrets.update(value for (value,) in _rows(warehouse,
                                               "select id_value from etl.person_crosswalk"))
    secrets.update(value for (value,) in _rows(
        warehouse, "select raw_record from etl.quarantine where raw_record is not null"))
    leaked = sorted(s for s in secrets if re.search(rf"(?<!\w){re.escape(s)}(?!\w)", html))
    assert leaked == []


def test_a_later_run_marks_the_warehouse_figures_as_current_not_the_runs(
    reported: tuple[RunResult, Path, str], warehouse: Warehouse, tmp_path: Path
) -> None:
    result, _, _ = reported
    later = manifest.start_run(warehouse, "run", "cclf", ["elsewhere"])
    try:
        html = write_run_report(warehouse, result.run_id, tmp_path).read_text()
    finally:
        manifest.finish_run(warehouse, later, "failed", {}, error="stopped by the test")
    assert f"run {later:,} ran after run {result.run_id:,}" in html
    assert "warehouse now" in html
    with pytest.raises(EtlError, match="run 999999 is not recorded"):
        write_run_report(warehouse, 999_999, tmp_path)


def test_free_text_loses_quoted_values_and_member_ids() -> None:
    assert scrub("'1951-13-45' is not a date") == "‹value› is not a date"
    assert scrub('"O\'HARA" too long; member 1EG4TE5MK73 or 123456789A') == (
        "‹value› too long; member ‹id› or ‹id›")
    assert scrub("P.A9999.ACO.ZC8Y24.D240215.T0100000 NDC 00093721401") == (
        "P.A9999.ACO.ZC8Y24.D240215.T0100000 NDC 00093721401")
    assert scrub_error("insert failed\nDETAIL: Failing row contains (1EG4TE5MK73, SMITH)") == (
        "insert failed")


# --- in a browser --------------------------------------------------------------------

def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=180, check=False,
    )


def _paeth(left: int, up: int, corner: int) -> int:
    guess = left + up - corner
    near_left, near_up, near_corner = abs(guess - left), abs(guess - up), abs(guess - corner)
    if near_left <= near_up and near_left <= near_corner:
        return left
    return up if near_up <= near_corner else corner


def _png_rgb(path: Path) -> np.ndarray:
    """The pixels of an 8-bit RGB or RGBA PNG as a (height, width, 3) array."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position: position + 8])
        if kind == b"IHDR":
            header = data[position + 8: position + 8 + length]
        elif kind == b"IDAT":
            idat += data[position + 8: position + 8 + length]
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and not interlace, (depth, colour, interlace)
    size = 3 if colour == 2 else 4
    stride = width * size
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, stride + 1)
    pixels = np.zeros((height, stride), np.uint8)
    previous = np.zeros(stride, np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: a running sum per channel
            row = (np.cumsum(line.reshape(width, size), axis=0, dtype=np.uint64) % 256)
            row = row.astype(np.uint8).reshape(stride)
        elif kind == 2:  # Up
            row = line + previous
        else:  # Average or Paeth: sequential within the row
            out, up = bytearray(line.tobytes()), previous.tobytes()
            for x in range(stride):
                left = out[x - size] if x >= size else 0
                corner = up[x - size] if x >= size else 0
                predictor = (left + up[x]) // 2 if kind == 3 else _paeth(left, up[x], corner)
                out[x] = (out[x] + predictor) & 0xFF
            row = np.frombuffer(bytes(out), np.uint8)
        pixels[y] = row
        previous = row
    return pixels.reshape(height, width, size)[:, :, :3]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                    "(apt-get install -y chromium; .ci/run installs it)")
def test_chromium_renders_the_tables_and_charts(
    reported: tuple[RunResult, Path, str], tmp_path: Path
) -> None:
    result, page, html = reported
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert f"ETL run {result.run_id}" in dom.stdout
    assert dom.stdout.count("<table") == html.count("<table") >= 10
    assert dom.stdout.count("<svg") == html.count("<svg") >= 3
    assert dom.stdout.count("<rect") >= 10

    shot = tmp_path / "report.png"
    taken = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,3000",
                      page.as_uri())
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    pixels = _png_rgb(shot)
    assert pixels.shape == (3000, 1280, 3)
    colours = np.unique(pixels[::4, ::4].reshape(-1, 3), axis=0)
    assert len(colours) > 20, "the screenshot is blank or nearly so"
    inked = np.any(pixels != 255, axis=2).mean()
    assert inked > 0.03, f"only {inked:.1%} of the screenshot is not white"
    bar = np.frombuffer(bytes.fromhex(BAR[1:]), np.uint8)
    assert np.all(pixels == bar, axis=2).any(), "no chart bar in the first 3000 pixels"
