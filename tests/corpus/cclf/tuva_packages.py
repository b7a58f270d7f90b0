"""Turn the Tuva CCLF fixture seeds (one CSV per CCLF file) into real delivery zips.

The seeds in ../shared/corpus/cclf/tuva_seeds/integration_tests/seeds/ hold one row per
CCLF record with the values as they sit in the fixed-width file (zero-padded amounts,
YYYY-MM-DD dates, `~` placeholders, the 1000-01-01 sentinel) plus FILE_NAME and
FILE_DATE, the file the record was delivered in. Every seed column is an IP v38 layout
column, so each row becomes one fixed-width record through `format_record`.

One zip per delivery, as IP v38 §4.2 packages them since 2020: the file names in the
seeds (`P.A0000.ACO.ZC1Y25.D251110.T1200000`) give the delivery
(`P.A0000.ACO.ZCY25.D251110.T1200000`); each zip holds all eleven data files, empty
when the seeds have no row for that delivery, and a CCLF0 that lists every file with
its record count and the layout's record length.
"""

from __future__ import annotations

import csv
import zipfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from etl.sources.cclf.layout import FileLayout, layouts
from etl.sources.cclf.package import parse_name
from etl.sources.cclf.records import Value, format_file, format_summary

SEED_FILES = {
    "CCLF1": "parta_claims_header.csv",
    "CCLF2": "parta_claims_revenue_center_detail.csv",
    "CCLF3": "parta_procedure_code.csv",
    "CCLF4": "parta_diagnosis_code.csv",
    "CCLF5": "partb_physicians.csv",
    "CCLF6": "partb_dme.csv",
    "CCLF7": "partd_claims.csv",
    "CCLF8": "beneficiary_demographics.csv",
    "CCLF9": "beneficiary_xref.csv",
    "CCLFA": "parta_demo_codes.csv",
    "CCLFB": "partb_demo_codes.csv",
}
# Where each seed row was delivered; not CCLF fields.
_DELIVERY_COLUMNS = ("file_name", "file_date")
# Fixed zip entry time, so the same seeds always give the same bytes.
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)


def _value(layout: FileLayout, column: str, text: str) -> Value:
    """A seed cell as format_record wants it: None for blank, Decimal for amounts,
    int for counts (zero-padded to the field), the text itself otherwise."""
    if text == "":
        return None
    kind = layout.field(column).kind
    if kind == "amount" and text != "~":
        return Decimal(text)
    if kind == "integer" and text.isdigit():
        return int(text)
    return text


def _delivery_name(file_name: str) -> str:
    """The zip a file belongs in: its name without the file number after ZC."""
    parts = file_name.split(".")
    parts[3] = "ZC" + parts[3][3:]
    return ".".join(parts)


def read_seed_rows(seed_dir: Path) -> dict[str, dict[str, list[dict[str, Value]]]]:
    """Delivery name -> file id -> records (layout column -> value), in seed order."""
    deliveries: dict[str, dict[str, list[dict[str, Value]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    all_layouts = layouts()
    for file_id, seed in SEED_FILES.items():
        layout = all_layouts[file_id]
        with (seed_dir / seed).open(newline="", encoding="utf-8") as stream:
            for row in csv.DictReader(stream):
                file_name = row["FILE_NAME"]
                assert parse_name(file_name).file_id == file_id, (seed, file_name)
                record = {
                    column.lower(): _value(layout, column.lower(), text)
                    for column, text in row.items()
                    if column.lower() not in _DELIVERY_COLUMNS
                }
                deliveries[_delivery_name(file_name)][file_id].append(record)
    return deliveries


def _file_name(delivery: str, file_id: str) -> str:
    parts = delivery.split(".")
    parts[3] = f"ZC{file_id[-1]}" + parts[3][2:]
    return ".".join(parts)


def write_deliveries(seed_dir: Path, out_dir: Path) -> list[Path]:
    """One zip per delivery in `out_dir`, oldest first; returns their paths."""
    all_layouts = layouts()
    written = []
    for delivery, files in sorted(read_seed_rows(seed_dir).items(), key=lambda kv: kv[0]):
        contents: dict[str, bytes] = {}
        counts: dict[str, tuple[int, int]] = {}
        for file_id in SEED_FILES:
            layout = all_layouts[file_id]
            rows = files.get(file_id, [])
            contents[_file_name(delivery, file_id)] = format_file(layout, rows)
            counts[file_id] = (len(rows), layout.record_length)
        summary = format_summary(counts).encode("ascii")
        path = out_dir / delivery
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in [(_file_name(delivery, "CCLF0"), summary), *contents.items()]:
                archive.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data)
        written.append(path)
    return sorted(written, key=lambda path: parse_name(path.name).delivered_at)
