"""The warehouse: which PostgreSQL, connections, COPY, and the one-run-at-a-time lock."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from etl.config import Settings
from etl.embedded import EmbeddedPostgres
from etl.errors import WarehouseError
from etl.pg_binary import binary_copy_chunks, binary_pair

log = logging.getLogger(__name__)

SCHEMAS = ("etl", "vocab", "omop")
_COPY_CHUNK = 8 * 1024 * 1024


def embedded_server(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(
        settings.embedded_dir, os_user=settings.pg_os_user, bin_dir=settings.pg_bin
    )


def normalise_url(url: str) -> URL:
    """Accept postgres://, postgresql:// and postgresql+psycopg:// alike."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise WarehouseError(f"DATABASE_URL must point at PostgreSQL, not {parsed.drivername}")
    return parsed.set(drivername="postgresql+psycopg")


def resolve_url(settings: Settings) -> URL:
    """DATABASE_URL when given; otherwise the embedded server, started on demand."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    server = embedded_server(settings)
    if server.start():
        log.info("started the embedded PostgreSQL in %s", server.root)
    return normalise_url(server.url())


@dataclass
class Warehouse:
    """One PostgreSQL database, reached through SQLAlchemy and, for COPY, psycopg."""

    url: URL

    @classmethod
    def from_settings(cls, settings: Settings) -> Warehouse:
        return cls(resolve_url(settings))

    @cached_property
    def engine(self) -> sa.Engine:
        return sa.create_engine(self.url, pool_pre_ping=True)

    @property
    def libpq_url(self) -> str:
        """The URL without the SQLAlchemy driver suffix (psql, psycopg, analysts)."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    @property
    def display_url(self) -> str:
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True)

    @contextmanager
    def raw_connection(self, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        """A plain psycopg connection, for COPY and DDL batches."""
        with psycopg.connect(self.libpq_url, autocommit=autocommit) as conn:
            yield conn

    def scalar(self, sql: str, **params: object) -> object:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def schema_exists(self, schema: str) -> bool:
        return bool(self.scalar(
            "select count(*) from information_schema.schemata where schema_name = :s", s=schema
        ))

    def table_counts(self, schema: str) -> dict[str, int]:
        """Exact row counts of every base table in a schema."""
        with self.engine.connect() as conn:
            tables = conn.execute(sa.text(
                "select table_name from information_schema.tables "
                "where table_schema = :s and table_type = 'BASE TABLE' order by table_name"
            ), {"s": schema}).scalars().all()
            return {
                table: int(conn.execute(sa.text(f'select count(*) from "{schema}"."{table}"'))
                           .scalar_one())
                for table in tables
            }

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


@dataclass(frozen=True)
class CopyPayload:
    """Rows encoded for `COPY table (columns) FROM STDIN`, ready to send.

    Encoding and sending are apart so that landing can encode the next batch in a worker
    thread while this one is sent (etl/landing.py).
    """

    table: str  # schema-qualified
    columns: tuple[str, ...]
    format: str  # "binary" or "csv"
    chunks: tuple[bytes | memoryview, ...]
    rows: int

    @property
    def statement(self) -> str:
        columns = ", ".join(f'"{name}"' for name in self.columns)
        return f"copy {self.table} ({columns}) from stdin with (format {self.format})"


# Column types by table, as format_type() prints them: {"parta_claims_header": {...}}.
ColumnTypes = dict[str, dict[str, str]]


def column_types(conn: psycopg.Connection, schema: str) -> ColumnTypes:
    """The type of every column of every table in `schema`, for `encode_arrow`."""
    rows = conn.execute(
        "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
        "from pg_attribute a join pg_class c on c.oid = a.attrelid "
        "join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relkind in ('r', 'p') and a.attnum > 0 "
        "and not a.attisdropped",
        (schema,),
    ).fetchall()
    types: ColumnTypes = {}
    for table, column, pg_type in rows:
        types.setdefault(str(table), {})[str(column)] = str(pg_type)
    return types


def encode_arrow(table: str, rows: pa.Table, types: dict[str, str] | None = None) -> CopyPayload:
    """Encode an Arrow table for COPY into `table` (schema-qualified), columns by name.

    With the target's column `types` (`column_types`), and when every column pairs an
    Arrow type with the PostgreSQL type it holds exactly (`pg_binary.binary_pair`), the
    rows go in PostgreSQL's binary COPY format: the server takes each value as it is
    instead of parsing text; for a CCLF5 batch that is about a quarter less server CPU
    than CSV (issue 3, item 9; benchmarks/README.md). Otherwise Arrow writes CSV, which
    PostgreSQL parses with each column's input function: nulls are unquoted empty
    fields, empty strings quoted, so the two stay apart.
    """
    columns = tuple(rows.column_names)
    if rows.num_rows == 0:
        return CopyPayload(table, columns, "csv", (), 0)
    if types is not None and all(
        binary_pair(field.type, types.get(field.name, "")) for field in rows.schema
    ):
        return CopyPayload(table, columns, "binary", binary_copy_chunks(rows), rows.num_rows)
    buffer = io.BytesIO()
    pa_csv.write_csv(rows, buffer, pa_csv.WriteOptions(include_header=False))
    return CopyPayload(table, columns, "csv", (buffer.getvalue(),), rows.num_rows)


def send_copy(conn: psycopg.Connection, payload: CopyPayload) -> int:
    """Run the COPY of an encoded payload on `conn` (in its transaction); returns its rows."""
    if payload.rows == 0:
        return 0
    with conn.cursor() as cursor, cursor.copy(payload.statement) as copy:
        for chunk in payload.chunks:
            view = memoryview(chunk)
            for start in range(0, len(view), _COPY_CHUNK):
                copy.write(view[start:start + _COPY_CHUNK])
    return payload.rows


def copy_arrow(conn: psycopg.Connection, table: str, rows: pa.Table) -> int:
    """COPY an Arrow table into `table` (schema-qualified), columns matched by name."""
    return send_copy(conn, encode_arrow(table, rows))


@contextmanager
def advisory_lock(conn: psycopg.Connection, key: int) -> Iterator[bool]:
    """Try the session-level advisory lock `key`; yields whether this session got it."""
    got = bool(conn.execute("select pg_try_advisory_lock(%s)", (key,)).fetchone()[0])
    try:
        yield got
    finally:
        if got:
            conn.execute("select pg_advisory_unlock(%s)", (key,))
