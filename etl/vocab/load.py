"""Load an OHDSI Athena vocabulary download into the `vocab` schema.

The flow (DESIGN.md, "Vocabulary"): read each file's header, COPY every file into a
fresh schema `vocab_load` that has the spec's tables but no keys or indexes, check the
rows COPY took against the lines read, build the primary keys and indexes, then swap
`vocab_load` in for `vocab`. All of it runs in one transaction, so a failure at any
point (a bad row, a missing file, a duplicate key, a lost connection) leaves the
previous `vocab` exactly as it was and leaves no half-built schema behind.

PostgreSQL parses the rows itself, streamed from the file in large chunks: Python
only counts line ends, so a full download (tens of millions of rows) loads at COPY
speed. When COPY rejects a row, the line it reports is read back from the file and
checked field by field in Python to say which field is wrong and why.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

import psycopg
from psycopg import sql

from etl.access import carry_grants_sql
from etl.errors import BadInputError, LockHeldError
from etl.omop import spec
from etl.warehouse import Warehouse

log = logging.getLogger(__name__)

TARGET_SCHEMA = spec.VOCABULARY_SCHEMA
LOAD_SCHEMA = f"{TARGET_SCHEMA}_load"
PREVIOUS_SCHEMA = f"{TARGET_SCHEMA}_prev"
SUFFIXES = (".csv", ".tsv")
REQUIRED_TABLES = ("concept",)

# Athena's tab-delimited files do not quote: a double quote inside a concept name is a
# literal character. COPY's CSV format needs some quote byte, so it gets one that text
# never contains; a file that does contain it is refused rather than misread.
_NO_QUOTE = b"\x01"
_CHUNK_BYTES = 8 * 1024 * 1024
_HEADER_LIMIT = 64 * 1024
# One vocabulary load at a time per database (a key of our own, not the run lock).
_LOCK_KEY = 0x766F636162  # "vocab"
_COPY_CONTEXT = re.compile(r"line (\d+)(?:, column ([^:]+))?")
_DUPLICATE_KEY = re.compile(r"Key \((?P<columns>[^)]*)\)=\((?P<values>.*)\) is duplicated")
_INTEGER = re.compile(r"[+-]?\d+")
_INT4_MAX = 2**31 - 1

Progress = Callable[[str, int, int], None]
"""on_progress(step, done, total): bytes of a file during COPY, tables while indexing."""


@dataclass(frozen=True)
class VocabFile:
    """One vocabulary file and how to read it, learned from its header line."""

    path: Path
    table: str
    delimiter: str
    # Spec column names, in the file's column order.
    columns: tuple[str, ...]

    @property
    def quoted(self) -> bool:
        """Comma-separated files quote fields the CSV way; Athena's tab files never do."""
        return self.delimiter == ","

    def where(self, line: int | None = None, field: str | None = None) -> str:
        """`<path>, line 7, field concept_id`: the start of every message about this file."""
        parts = [str(self.path)]
        if line is not None:
            parts.append(f"line {line}")
        if field is not None:
            parts.append(f"field {field}")
        return ", ".join(parts)


# ---------------------------------------------------------------- finding the files


def find_vocabulary_files(directory: Path) -> dict[str, Path]:
    """Map each vocabulary table to its file in `directory`.

    File names match the table name in any case, ending in .csv or .tsv (CONCEPT.csv,
    concept_relationship.tsv). Other files (Athena's CONCEPT_CPT4.csv, cpt4.jar,
    readme.txt, a CDM_SOURCE.csv) are ignored. CONCEPT is required.
    """
    if not directory.is_dir():
        raise BadInputError(f"{directory}: not a folder; expected an Athena vocabulary download")
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        table = path.stem.lower()
        if not path.is_file() or path.suffix.lower() not in SUFFIXES:
            continue
        if table not in spec.VOCABULARY_TABLES:
            log.info("vocabulary load ignores %s: not a vocabulary table", path.name)
            continue
        if table in found:
            raise BadInputError(
                f"{directory}: both {found[table].name} and {path.name} hold table {table}"
            )
        found[table] = path
    missing = [table for table in REQUIRED_TABLES if table not in found]
    if missing:
        names = ", ".join(f"{table.upper()}.csv" for table in missing)
        raise BadInputError(f"{directory}: no {names}; is this an Athena vocabulary download?")
    return found


def read_layout(path: Path, table: str) -> VocabFile:
    """Read the header line: delimiter (tab or comma) and the columns, matched by name.

    Names match the spec's in any case and may be double-quoted. A column the spec does
    not know, a repeated column or a missing required column is an error; a missing
    optional column loads as NULL.
    """
    header = _header_text(path)
    delimiter = "\t" if "\t" in header else ","
    names = [name.strip().strip('"').strip().lower() for name in header.split(delimiter)]
    known = {field.name: field for field in spec.fields(table)}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise BadInputError(
            f"{path}, line 1: column(s) {', '.join(map(repr, unknown))} are not in the "
            f"OMOP CDM v5.4 {table} table (expected {', '.join(known)})"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BadInputError(f"{path}, line 1: column(s) {', '.join(repeated)} appear twice")
    missing = [name for name, field in known.items() if field.required and name not in names]
    if missing:
        raise BadInputError(
            f"{path}, line 1: required column(s) {', '.join(missing)} are missing"
        )
    return VocabFile(path=path, table=table, delimiter=delimiter, columns=tuple(names))


def _header_text(path: Path) -> str:
    with path.open("rb") as handle:
        raw = handle.readline(_HEADER_LIMIT)
    if not raw.strip():
        raise BadInputError(f"{path}, line 1: empty; expected a header line of column names")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadInputError(f"{path}, line 1: not UTF-8 ({error.reason})") from error
    text = text.rstrip("\r\n")
    if "\t" not in text and "," not in text:
        raise BadInputError(
            f"{path}, line 1: no tab or comma in the header; expected column names"
        )
    return text


def plan_load(directory: Path) -> dict[str, VocabFile]:
    """Every file's layout, checked before the database is touched."""
    return {
        table: read_layout(path, table)
        for table, path in find_vocabulary_files(directory).items()
    }


# ---------------------------------------------------------------- checking one row


def parse_vocab_date(text: str) -> date:
    """Athena writes dates as YYYYMMDD; Eunomia's CSV exports as YYYY-MM-DD. Both are read."""
    digits = text.replace("-", "") if len(text) == 10 and text[4::3] == "--" else text
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError(f"{text!r} is not a date written YYYYMMDD or YYYY-MM-DD")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError as error:
        raise ValueError(f"{text!r} is not a real date ({error})") from error


def field_problem(datatype: str, required: bool, value: str) -> str | None:
    """Why `value` cannot go into a column of this CDM datatype, or None when it can."""
    kind = datatype.strip().lower()
    if value == "":
        # An empty required text field loads as '' (see _copy_statement).
        empty_ok = not required or kind.startswith("varchar")
        return None if empty_ok else "is empty, but the column is required"
    if kind in ("integer", "bigint"):
        if not _INTEGER.fullmatch(value):
            return f"{value!r} is not an integer"
        if kind == "integer" and abs(int(value)) > _INT4_MAX:
            return f"{value} is outside the integer range"
    elif kind == "float":
        try:
            float(value)
        except ValueError:
            return f"{value!r} is not a number"
    elif kind == "date":
        try:
            parse_vocab_date(value)
        except ValueError as error:
            return str(error)
    elif kind.startswith("varchar("):
        limit = int(kind[len("varchar("):-1])
        if len(value) > limit:
            return f"is {len(value)} characters long; the column holds {limit}"
    return None


def row_problem(layout: VocabFile, values: list[str]) -> tuple[str, str] | None:
    """(field, reason) for the first thing wrong with one data row, or None."""
    expected = len(layout.columns)
    if len(values) < expected:
        return layout.columns[len(values)], (
            f"missing: the row has {len(values)} fields, the header has {expected}"
        )
    if len(values) > expected:
        return f"#{expected + 1}", (
            f"unexpected: the row has {len(values)} fields, the header has {expected}"
        )
    specs = {field.name: field for field in spec.fields(layout.table)}
    for name, value in zip(layout.columns, values, strict=True):
        problem = field_problem(specs[name].datatype, specs[name].required, value)
        if problem:
            return name, problem
    return None


def _reader(layout: VocabFile, handle: io.TextIOBase) -> Iterator[list[str]]:
    if layout.quoted:
        return csv.reader(handle, delimiter=",")
    return csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)


def read_row(layout: VocabFile, line: int) -> list[str] | None:
    """The fields of the record on `line` (1-based, the header is line 1), or None.

    Records are counted as COPY counts them: a quoted field spanning lines is one record.
    """
    with layout.path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return next(itertools.islice(_reader(layout, handle), line - 1, None), None)


def bad_row_error(
    layout: VocabFile, line: int, field: str | None = None, reason: str | None = None
) -> BadInputError:
    """The error for the row on `line`, naming the file, the line and the field.

    The row is checked in Python; when that finds nothing (PostgreSQL objected to
    something the check does not cover), the given field and reason are used.
    """
    values = read_row(layout, line)
    problem = row_problem(layout, values) if values is not None else None
    if problem:
        return BadInputError(f"{layout.where(line, problem[0])}: {problem[1]}")
    return BadInputError(f"{layout.where(line, field)}: {reason or 'rejected by PostgreSQL'}")


def first_bad_row(layout: VocabFile) -> BadInputError | None:
    """Scan the whole file in Python: the error for its first malformed row, or None.

    Slow next to COPY; used only to explain a failure COPY could not place on a line.
    """
    with layout.path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        rows = _reader(layout, handle)
        next(rows, None)
        for line, values in enumerate(rows, start=2):
            problem = row_problem(layout, values)
            if problem:
                return BadInputError(f"{layout.where(line, problem[0])}: {problem[1]}")
    return None


def lines_holding(layout: VocabFile, columns: list[str], values: list[str]) -> list[int]:
    """Line numbers whose `columns` hold `values` (to place a duplicate key)."""
    positions = [layout.columns.index(column) for column in columns]
    found = []
    with layout.path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        rows = _reader(layout, handle)
        next(rows, None)
        for line, row in enumerate(rows, start=2):
            if len(row) > max(positions) and [row[i] for i in positions] == values:
                found.append(line)
    return found


# ---------------------------------------------------------------- streaming a file


def data_chunks(handle: BinaryIO, size: int = _CHUNK_BYTES) -> Iterator[bytes]:
    """The rest of the file in chunks, with any blank lines at its very end dropped.

    COPY would read a trailing blank line as a row with every field missing; one line
    end is kept so the last row stays terminated as the others are (CRLF or LF).
    """
    pending = b""
    while chunk := handle.read(size):
        body = chunk.rstrip(b"\r\n")
        if not body:
            pending += chunk
            continue
        if pending:
            yield pending
        yield body
        pending = chunk[len(body):]
    if pending:
        yield b"\r\n" if pending.startswith(b"\r\n") else pending[:1]


@dataclass
class LineCounter:
    """Counts the data lines streamed, as COPY will count rows."""

    lines: int = 0
    last: bytes = b"\n"
    offset: int = 0

    def see(self, chunk: bytes) -> None:
        self.lines += chunk.count(b"\n")
        self.last = chunk[-1:]
        self.offset += len(chunk)

    @property
    def rows(self) -> int:
        """A last line without a line end is a row too."""
        return self.lines + (0 if self.last in (b"\n", b"") else 1)


# ---------------------------------------------------------------- the database side


def _text_required(layout: VocabFile) -> list[str]:
    return [
        field.name for field in spec.fields(layout.table)
        if field.required and field.name in layout.columns
        and spec.pg_type(field.datatype).startswith("varchar")
    ]


def _identifiers(names: list[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _copy_statement(layout: VocabFile) -> sql.Composed:
    """COPY in CSV format: no backslash escapes, and an empty field is NULL...

    ...except in a required text column, where it loads as '': Athena writes no NULL
    marker, and real downloads have empty required text (CPT4 concepts that Athena's
    cpt4 tool could not name, OHDSI/Athena #138 and #258; the demo's placeholder rows
    have an empty concept_code). An empty required number or date is still an error.
    """
    options = [
        sql.SQL("format csv, header true, null '', encoding 'UTF8', freeze true"),
        sql.SQL("delimiter {}").format(sql.Literal(layout.delimiter)),
    ]
    text_required = _text_required(layout)
    if text_required:
        options.append(sql.SQL("force_not_null ({})").format(_identifiers(text_required)))
    if layout.quoted:
        # "" in a quoted CSV (Eunomia writes standard_concept as "") means no value.
        optional = [name for name in layout.columns if name not in text_required]
        if optional:
            options.append(sql.SQL("force_null ({})").format(_identifiers(optional)))
    else:
        options.append(sql.SQL("quote {}").format(sql.Literal(_NO_QUOTE.decode())))
    return sql.SQL("copy {}.{} ({}) from stdin with ({})").format(
        sql.Identifier(LOAD_SCHEMA),
        sql.Identifier(layout.table),
        _identifiers(list(layout.columns)),
        sql.SQL(", ").join(options),
    )


def _reserved_byte_error(layout: VocabFile, counter: LineCounter, chunk: bytes) -> BadInputError:
    # Line 1 is the header; the lines already streamed precede this chunk.
    line = 2 + counter.lines + chunk[: chunk.index(_NO_QUOTE)].count(b"\n")
    return BadInputError(
        f"{layout.where(line)}: holds the control byte 0x01, which an Athena file never "
        "contains; is this file binary or damaged?"
    )


def copy_file(cursor: psycopg.Cursor, layout: VocabFile, progress: Progress) -> int:
    """COPY one file into the load schema; returns the rows loaded (= data lines read)."""
    total = layout.path.stat().st_size
    counter = LineCounter()
    try:
        with layout.path.open("rb") as handle, cursor.copy(_copy_statement(layout)) as copy:
            header = handle.readline(_HEADER_LIMIT)
            copy.write(header.removeprefix(b"\xef\xbb\xbf"))
            for chunk in data_chunks(handle):
                if not layout.quoted and _NO_QUOTE in chunk:
                    raise _reserved_byte_error(layout, counter, chunk)
                counter.see(chunk)
                copy.write(chunk)
                progress(layout.path.name, len(header) + counter.offset, total)
    except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as error:
        # Malformed fields, rows and encodings (class 22) and empty required fields (23502).
        raise _copy_error(layout, error) from error
    loaded = cursor.rowcount
    if loaded != counter.rows:
        raise BadInputError(
            f"{layout.where()}: {counter.rows} data lines read but COPY loaded {loaded} rows"
            + ("; does a quoted field span lines?" if layout.quoted else "")
        )
    return loaded


def _copy_error(layout: VocabFile, error: psycopg.Error) -> BadInputError:
    """Translate COPY's complaint ("COPY concept, line 7, column concept_id: ...")."""
    reason = error.diag.message_primary or str(error)
    where = _COPY_CONTEXT.search(error.diag.context or "")
    if where is None:
        return first_bad_row(layout) or BadInputError(f"{layout.where()}: {reason}")
    column = error.diag.column_name or where.group(2)
    return bad_row_error(layout, int(where.group(1)), column, reason)


def _duplicate_key_error(layout: VocabFile, error: psycopg.Error) -> BadInputError:
    key = _DUPLICATE_KEY.search(error.diag.message_detail or "")
    if key is None:
        return BadInputError(f"{layout.where()}: {error.diag.message_primary or error}")
    columns = [name.strip().strip('"') for name in key["columns"].split(",")]
    values = [value.strip() for value in key["values"].split(",")]
    lines = lines_holding(layout, columns, values)
    on_lines = f" (lines {', '.join(map(str, lines))})" if lines else ""
    return BadInputError(
        f"{layout.where(lines[1] if len(lines) > 1 else None, ', '.join(columns))}: "
        f"{', '.join(values)} is repeated{on_lines}; it is the primary key of {layout.table}"
    )


def _take_lock(cursor: psycopg.Cursor) -> None:
    cursor.execute("select pg_try_advisory_xact_lock(%s)", (_LOCK_KEY,))
    row = cursor.fetchone()
    if not row or not row[0]:
        raise LockHeldError("another vocabulary load is running on this database")


def _create_load_schema(cursor: psycopg.Cursor) -> None:
    """The spec's tables without keys or indexes: those are built after the data is in."""
    cursor.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(LOAD_SCHEMA)))
    cursor.execute(sql.SQL("create schema {}").format(sql.Identifier(LOAD_SCHEMA)))
    for table in spec.VOCABULARY_TABLES:
        cursor.execute(spec.create_table_sql(LOAD_SCHEMA, table))


def _build_keys_and_indexes(
    cursor: psycopg.Cursor, layouts: dict[str, VocabFile], progress: Progress
) -> None:
    # Official DDL order: primary keys first, then indexes.
    for done, table in enumerate(spec.VOCABULARY_TABLES):
        progress(f"keys and indexes of {table}", done, len(spec.VOCABULARY_TABLES))
        key = spec.primary_key_sql(LOAD_SCHEMA, table)
        if key:
            try:
                cursor.execute(key)
            except psycopg.errors.UniqueViolation as error:
                raise _duplicate_key_error(layouts[table], error) from error
        for statement in spec.index_sql(LOAD_SCHEMA, table):
            cursor.execute(statement)
        cursor.execute(sql.SQL("analyze {}.{}").format(
            sql.Identifier(LOAD_SCHEMA), sql.Identifier(table)
        ))
    progress("keys and indexes", len(spec.VOCABULARY_TABLES), len(spec.VOCABULARY_TABLES))


def _dependents_outside(cursor: psycopg.Cursor, schema: str) -> list[str]:
    """Views and foreign keys elsewhere that point into `schema` (dropped with it)."""
    cursor.execute(
        """
        select distinct format('%%I.%%I', view_ns.nspname, view.relname)
        from pg_depend dep
        join pg_rewrite rule on dep.classid = 'pg_rewrite'::regclass and dep.objid = rule.oid
        join pg_class view on view.oid = rule.ev_class
        join pg_namespace view_ns on view_ns.oid = view.relnamespace
        join pg_class ref on dep.refclassid = 'pg_class'::regclass and dep.refobjid = ref.oid
        join pg_namespace ref_ns on ref_ns.oid = ref.relnamespace
        where ref_ns.nspname = %(schema)s and view_ns.nspname <> %(schema)s
        union
        select format('%%I.%%I (foreign key %%I)', ns.nspname, tab.relname, con.conname)
        from pg_constraint con
        join pg_class tab on tab.oid = con.conrelid
        join pg_namespace ns on ns.oid = tab.relnamespace
        join pg_class ref on ref.oid = con.confrelid
        join pg_namespace ref_ns on ref_ns.oid = ref.relnamespace
        where con.contype = 'f' and ref_ns.nspname = %(schema)s and ns.nspname <> %(schema)s
        order by 1
        """,
        {"schema": schema},
    )
    return [row[0] for row in cursor.fetchall()]


def _swap_in(cursor: psycopg.Cursor) -> None:
    """Replace `vocab` by `vocab_load` inside the load's transaction.

    Readers see the old vocabulary until the commit and the new one after it. The old
    schema is dropped rather than kept (a full vocabulary is ~10 GB); views elsewhere
    that read it go with it, and are named in the log (dbt rebuilds its own on the
    next run).
    """
    target, previous = sql.Identifier(TARGET_SCHEMA), sql.Identifier(PREVIOUS_SCHEMA)
    cursor.execute(sql.SQL("drop schema if exists {} cascade").format(previous))
    cursor.execute(
        "select count(*) from pg_namespace where nspname = %s", (TARGET_SCHEMA,)
    )
    row = cursor.fetchone()
    if row and row[0]:
        dependents = _dependents_outside(cursor, TARGET_SCHEMA)
        if dependents:
            log.warning(
                "replacing schema %s drops what depends on it: %s",
                TARGET_SCHEMA, ", ".join(dependents),
            )
        # Analysts granted read on the vocabulary keep it (etl grant analyst).
        cursor.execute(carry_grants_sql(TARGET_SCHEMA, LOAD_SCHEMA))
        cursor.execute(sql.SQL("alter schema {} rename to {}").format(target, previous))
    cursor.execute(sql.SQL("alter schema {} rename to {}").format(
        sql.Identifier(LOAD_SCHEMA), target
    ))
    cursor.execute(sql.SQL("drop schema if exists {} cascade").format(previous))


def _no_progress(step: str, done: int, total: int) -> None:
    """The default on_progress: report nothing."""


def load_vocabulary(
    warehouse: Warehouse, directory: Path, on_progress: Progress | None = None
) -> dict[str, int]:
    """Replace the `vocab` schema with the vocabulary files in `directory`.

    `directory` is an unzipped Athena download: tab-delimited CONCEPT.csv,
    CONCEPT_RELATIONSHIP.csv, ... with a header row and YYYYMMDD dates. The
    comma-separated form of Eunomia's exports (quoted fields, YYYY-MM-DD dates) is read
    too; the header decides which. Columns are matched to the spec by name, in any order.

    CONCEPT is required. Every other vocabulary table is optional: a table whose file is
    absent is created empty. Files that are not vocabulary tables are ignored.

    Returns the rows loaded per table (all ten tables, 0 for those absent). The
    vocabulary versions loaded are in the `vocabulary` table itself.

    Raises BadInputError (naming file, line and field) for a malformed file or row,
    and LockHeldError when another load runs; `vocab` is then unchanged.
    """
    progress = on_progress or _no_progress
    layouts = plan_load(directory)
    counts = dict.fromkeys(spec.VOCABULARY_TABLES, 0)
    with warehouse.raw_connection() as conn, conn.cursor() as cursor:
        _take_lock(cursor)
        # Index builds on tens of millions of rows are faster with more sort memory.
        cursor.execute("set local maintenance_work_mem = '1GB'")
        _create_load_schema(cursor)
        for table, layout in layouts.items():
            counts[table] = copy_file(cursor, layout, progress)
            log.info("vocabulary: %s rows from %s", f"{counts[table]:,}", layout.path.name)
        _build_keys_and_indexes(cursor, layouts, progress)
        _swap_in(cursor)
        conn.commit()
    log.info("vocabulary release loaded: %s", _release(warehouse))
    return counts


def _release(warehouse: Warehouse) -> str:
    """The release Athena records in the VOCABULARY row of vocabulary 'None'."""
    version = warehouse.scalar(
        f"select vocabulary_version from {TARGET_SCHEMA}.vocabulary "
        "where vocabulary_id = 'None'"
    )
    return str(version) if version else "unknown (no 'None' row in VOCABULARY)"
