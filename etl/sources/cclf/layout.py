"""CCLF record layouts, read from data files so a new Information Packet is a new CSV.

`layouts/ip_v<version>.csv` holds one row per element of CCLF Information Packet
(IP) Appendix B, Tables 14-26: positions, length and format exactly as CMS prints
them, plus two columns this project adds:

- `column_name`: the staging column (the lower-cased field label; descriptive names
  for CCLF0, whose labels are prose).
- `kind`: how the value is typed on landing.

Typing rule (one place, applied to every file):

- `date`: format YYYY-MM-DD -> `date`. IP v38 §3.6: 1000-01-01 and 9999-12-31 mean missing.
- `amount`: a signed decimal with an explicit point (`-9(13).99`, IP v38 Appendix B
  notes: a leading "-" in the format means the first character holds the sign) ->
  `numeric(p, s)` with p = length - 2 (sign and point take one position each) and s
  the digits after the point in the format (2 when the format does not say). The
  length wins over the printed format, which matters for CCLF6 element 24. Two CCLF5
  amounts printed as X(n) are amounts too (see the `note` column).
- `integer`: a 9(n) field that is a count, a quantity, an age or an ordinal (line and
  sequence numbers), i.e. where numeric order or arithmetic means something and
  the digits carry no code meaning -> `integer` when n <= 9, `bigint` above.
- `code`: every other X(n) or 9(n) -> `text`, as received. Claim type, revenue center,
  FIPS, NDC, claim ids and reference numbers keep their leading zeros.
- `text`: free text (names, address lines, city) -> `text`.

`layouts/files.csv` gives each file's number, its CCLF0 description and its staging
table; those do not change between IP versions.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal, NamedTuple

import pyarrow as pa

from etl.errors import ConfigError

Kind = Literal["text", "code", "date", "amount", "integer"]

KINDS: frozenset[str] = frozenset({"text", "code", "date", "amount", "integer"})
DEFAULT_IP_VERSION = "38"
SUMMARY_FILE_ID = "CCLF0"

# Every staging row carries where it came from; these lead each staging table.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("load_id", "bigint not null"),
    ("file_name", "text not null"),
    ("line_number", "integer not null"),
)

_LARGEST_INTEGER_DIGITS = 9  # 9(9) fits a 4-byte integer; 9(10)..9(18) need bigint
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_SCALE_IN_FORMAT = re.compile(r"\.(9+)$")


class StagingColumn(NamedTuple):
    """One staging column, for the DDL, the gate's expectations and the docs."""

    column_name: str
    postgres_type: str
    description: str
    spec_ref: str


@dataclass(frozen=True)
class Field:
    """One element of a CCLF record; positions are 1-based and inclusive, as printed."""

    element: int
    label: str
    name: str
    column_name: str
    start: int
    end: int
    length: int
    format: str
    kind: Kind
    source_table: str
    note: str = ""

    @property
    def offset(self) -> int:
        """0-based start, for slicing."""
        return self.start - 1

    @property
    def scale(self) -> int:
        """Digits after the decimal point of an amount (0 for other kinds)."""
        if self.kind != "amount":
            return 0
        found = _SCALE_IN_FORMAT.search(self.format)
        return len(found.group(1)) if found else 2

    @property
    def precision(self) -> int:
        """Total digits of an amount: the field minus its sign and point positions."""
        return self.length - 2 if self.kind == "amount" else self.length

    @property
    def is_wide_integer(self) -> bool:
        return self.kind == "integer" and self.length > _LARGEST_INTEGER_DIGITS

    @property
    def is_digit_code(self) -> bool:
        """A 9(n) code: stored as text but must hold digits only."""
        return self.kind == "code" and self.format.startswith("9(")

    @property
    def postgres_type(self) -> str:
        if self.kind == "date":
            return "date"
        if self.kind == "amount":
            return f"numeric({self.precision},{self.scale})"
        if self.kind == "integer":
            return "bigint" if self.is_wide_integer else "integer"
        return "text"

    @property
    def arrow_type(self) -> pa.DataType:
        if self.kind == "date":
            return pa.date32()
        if self.kind == "amount":
            return pa.decimal128(self.precision, self.scale)
        if self.kind == "integer":
            return pa.int64() if self.is_wide_integer else pa.int32()
        return pa.string()

    def spec_ref(self, ip_version: str) -> str:
        """Where CMS defines the field, e.g. 'IP v38 Table 14 element 6, positions 44-53'."""
        return (
            f"IP v{ip_version} {self.source_table} element {self.element}, "
            f"positions {self.start}-{self.end}"
        )


@dataclass(frozen=True)
class FileLayout:
    """The detail record of one CCLF file (or CCLF0's header or detail record)."""

    file_id: str
    file_number: str
    name: str
    record_type: str
    fields: tuple[Field, ...]
    staging_table: str | None
    ip_version: str

    @property
    def record_length(self) -> int:
        return self.fields[-1].end

    @property
    def short_id(self) -> str:
        """The file's tag in delivery names: ZC1 ... ZC9, ZCA, ZCB, ZC0."""
        return f"ZC{self.file_number}"

    def field(self, column_name: str) -> Field:
        for candidate in self.fields:
            if candidate.column_name == column_name:
                return candidate
        raise KeyError(f"{self.file_id} has no field {column_name!r}")

    def staging_columns(self) -> list[StagingColumn]:
        """The layout's columns as landed (the lineage columns are in LINEAGE_COLUMNS)."""
        return [
            StagingColumn(
                column_name=field.column_name,
                postgres_type=field.postgres_type,
                description=_describe(field),
                spec_ref=field.spec_ref(self.ip_version),
            )
            for field in self.fields
        ]

    def arrow_schema(self) -> pa.Schema:
        """Schema of a parsed file: line_number, then one column per field."""
        return pa.schema(
            [pa.field("line_number", pa.int32(), nullable=False)]
            + [pa.field(f.column_name, f.arrow_type) for f in self.fields]
        )

    def empty_table(self) -> pa.Table:
        """No rows, in `arrow_schema()` (not Schema.empty_table(), which imports pandas)."""
        return pa.Table.from_batches([], schema=self.arrow_schema())


def _describe(field: Field) -> str:
    text = f"{field.name} ({field.label}, {field.format})"
    return f"{text}. {field.note}" if field.note else text


def layouts(ip_version: str = DEFAULT_IP_VERSION) -> dict[str, FileLayout]:
    """The eleven data files' layouts (CCLF1-9, A, B) keyed by file id.

    CCLF0 is not a data file and has no staging table; see `summary_layouts`.
    """
    return {
        file_id: layout
        for file_id, layout in _load(ip_version).items()
        if layout.record_type == "detail" and layout.file_id != SUMMARY_FILE_ID
    }


def summary_layouts(ip_version: str = DEFAULT_IP_VERSION) -> dict[str, FileLayout]:
    """CCLF0's two record layouts, keyed 'header' (IP Table 25) and 'detail' (Table 26)."""
    loaded = _load(ip_version)
    return {
        "header": loaded[f"{SUMMARY_FILE_ID}/header"],
        "detail": loaded[f"{SUMMARY_FILE_ID}/detail"],
    }


def known_ip_versions() -> list[str]:
    names = (entry.name for entry in resources.files(__package__).joinpath("layouts").iterdir())
    return sorted(m.group(1) for n in names if (m := re.fullmatch(r"ip_v(\w+)\.csv", n)))


def staging_ddl(schema: str = "stg_cclf", ip_version: str = DEFAULT_IP_VERSION) -> list[str]:
    """`create table` statements, one per data file: lineage columns, then the layout's."""
    if not _IDENTIFIER.fullmatch(schema):
        raise ConfigError(f"staging schema {schema!r} is not a plain lower-case SQL identifier")
    return [_create_table(schema, layout) for layout in layouts(ip_version).values()]


def _create_table(schema: str, layout: FileLayout) -> str:
    columns = [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS]
    columns += [f"{c.column_name} {c.postgres_type}" for c in layout.staging_columns()]
    body = ",\n    ".join(columns)
    return f"create table if not exists {schema}.{layout.staging_table} (\n    {body}\n)"


@cache
def _load(ip_version: str) -> dict[str, FileLayout]:
    """Every record layout of one IP version, keyed 'CCLF1' ... and 'CCLF0/header'."""
    if ip_version not in known_ip_versions():
        raise ConfigError(
            f"no CCLF layout for IP v{ip_version}; known versions: "
            + ", ".join(known_ip_versions())
        )
    files = _read_csv("files.csv")
    file_rows = {row["file"]: row for row in files}
    fields_by_record: dict[tuple[str, str], list[Field]] = {}
    for row in _read_csv(f"ip_v{ip_version}.csv"):
        key = (row["file"], row["record_type"])
        fields_by_record.setdefault(key, []).append(_field_from_row(row, ip_version))
    loaded: dict[str, FileLayout] = {}
    for (file_id, record_type), fields in fields_by_record.items():
        layout = _file_layout(file_id, record_type, fields, file_rows, ip_version)
        key = file_id if file_id != SUMMARY_FILE_ID else f"{file_id}/{record_type}"
        loaded[key] = layout
    return loaded


def _file_layout(
    file_id: str,
    record_type: str,
    fields: list[Field],
    file_rows: dict[str, dict[str, str]],
    ip_version: str,
) -> FileLayout:
    if file_id not in file_rows:
        raise ConfigError(f"layouts/ip_v{ip_version}.csv: {file_id} is not listed in files.csv")
    row = file_rows[file_id]
    ordered = tuple(sorted(fields, key=lambda f: f.element))
    _check_contiguous(file_id, record_type, ordered, ip_version)
    return FileLayout(
        file_id=file_id,
        file_number=row["file_number"],
        name=row["summary_description"],
        record_type=record_type,
        fields=ordered,
        staging_table=row["staging_table"] or None,
        ip_version=ip_version,
    )


def _field_from_row(row: dict[str, str], ip_version: str) -> Field:
    if row["kind"] not in KINDS:
        raise ConfigError(
            f"layouts/ip_v{ip_version}.csv: {row['file']} {row['field_label']} has kind "
            f"{row['kind']!r}; expected one of {sorted(KINDS)}"
        )
    return Field(
        element=int(row["element_num"]),
        label=row["field_label"],
        name=row["field_name"],
        column_name=row["column_name"],
        start=int(row["start_pos"]),
        end=int(row["end_pos"]),
        length=int(row["length"]),
        format=row["format"],
        kind=row["kind"],  # type: ignore[arg-type]  # checked against KINDS above
        source_table=row["source_table"],
        note=row["note"],
    )


def _check_contiguous(
    file_id: str, record_type: str, fields: tuple[Field, ...], ip_version: str
) -> None:
    """Each field starts right after the previous one; lengths agree with positions."""
    expected_start = 1
    seen: set[str] = set()
    for field in fields:
        where = f"layouts/ip_v{ip_version}.csv: {file_id} {record_type} element {field.element}"
        if field.start != expected_start or field.end - field.start + 1 != field.length:
            raise ConfigError(
                f"{where} spans {field.start}-{field.end} (length {field.length}); "
                f"expected it to start at {expected_start}"
            )
        if not _IDENTIFIER.fullmatch(field.column_name) or field.column_name in seen:
            raise ConfigError(f"{where}: column name {field.column_name!r} is invalid or repeated")
        seen.add(field.column_name)
        expected_start = field.end + 1


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath("layouts", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))
