"""The warehouse: which PostgreSQL, connections, COPY, and the one-run-at-a-time lock."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pgpq
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from etl.config import Settings
from etl.embedded import EmbeddedPostgres
from etl.errors import WarehouseError

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
    chunks: tuple[bytes, ...]
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
    Arrow type with the PostgreSQL type it holds exactly (`_binary_pairs`), the rows go
    in PostgreSQL's binary COPY format: the server then takes each value as it is
    instead of parsing text; for a CCLF5 batch that is about a quarter less server CPU
    than CSV (issue 3, item 9; benchmarks/README.md). Otherwise Arrow writes CSV, which
    PostgreSQL parses with each column's input function: nulls are unquoted empty
    fields, empty strings quoted, so the two stay apart.
    """
    columns = tuple(rows.column_names)
    if rows.num_rows == 0:
        return CopyPayload(table, columns, "csv", (), 0)
    if types is not None and all(
        _binary_pair(field.type, types.get(field.name, "")) for field in rows.schema
    ):
        return CopyPayload(table, columns, "binary", _binary_chunks(rows), rows.num_rows)
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


# -- PostgreSQL's binary COPY format (docs: COPY, "Binary Format") --------------------------
# pgpq writes the file header, each row's field count and each field's length and value
# for Arrow's integer, date, boolean, float and string types. PostgreSQL's numeric has
# no Arrow counterpart there: its values are written here, in numeric's binary form, into
# a binary column that pgpq sends as it is.

_BINARY_ROWS = 16_384  # rows per encoder call: short calls keep the COPY thread responsive
_NUMERIC_POSITIVE, _NUMERIC_NEGATIVE = 0x0000, 0x4000
_NBASE_DIGITS = 4  # numeric's digits are base 10000: four decimal digits each
# Arrow types whose binary values are exactly those of a PostgreSQL type (decimals aside).
_BINARY_TYPES = {
    pa.int16(): "smallint", pa.int32(): "integer", pa.int64(): "bigint",
    pa.date32(): "date", pa.bool_(): "boolean", pa.float64(): "double precision",
    pa.string(): "text", pa.large_string(): "text",
}


def _binary_pair(arrow_type: pa.DataType, pg_type: str) -> bool:
    """Whether values of `arrow_type` go into a `pg_type` column in binary form unchanged."""
    if pa.types.is_decimal128(arrow_type):
        return pg_type.startswith("numeric") and arrow_type.scale >= 0
    return _BINARY_TYPES.get(arrow_type) == pg_type


def _binary_chunks(rows: pa.Table) -> tuple[bytes, ...]:
    """The rows in binary COPY format: header, rows a batch at a time, trailer."""
    rows = _numerics_as_binary(rows)
    encoder = pgpq.ArrowToPostgresBinaryEncoder(rows.schema)
    chunks = [encoder.write_header()]
    chunks += [encoder.write_batch(batch)
               for batch in rows.to_batches(max_chunksize=_BINARY_ROWS)]
    chunks.append(encoder.finish())
    return tuple(bytes(chunk) for chunk in chunks)


def _numerics_as_binary(rows: pa.Table) -> pa.Table:
    for index, field in enumerate(rows.schema):
        if pa.types.is_decimal128(field.type):
            values = rows.column(index).combine_chunks()
            rows = rows.set_column(index, field.name, numeric_binary(values))
    return rows


def numeric_binary(values: pa.Array) -> pa.Array:
    """Decimals as PostgreSQL numeric in binary form (nulls stay null).

    numeric's binary form is ndigits, weight, sign and dscale (int16 each), then ndigits
    base-10000 digits (int16), most significant first; the value is the sum of
    digit[i] * 10000^(weight - i). Every value of a column gets the same digit count
    (enough for its precision); numeric_recv drops leading and trailing zero digits.
    """
    if values.offset:
        values = pa.concat_arrays([values])  # a copy starting at offset 0
    scale = values.type.scale
    fraction_digits = -(-scale // _NBASE_DIGITS)
    whole_digits = max(1, -(-(values.type.precision - scale) // _NBASE_DIGITS))
    digits = whole_digits + fraction_digits
    # The unscaled value times 10^pad counts units of the last base-10000 digit.
    pad = _NBASE_DIGITS * fraction_digits - scale
    small, wide = _unscaled(values, limit=2**63 // 10**pad)
    encoded = np.empty((len(values), 4 + digits), dtype=">i2")
    encoded[:, 0] = digits
    encoded[:, 1] = whole_digits - 1  # weight of the first digit
    encoded[:, 2] = np.where(small < 0, _NUMERIC_NEGATIVE, _NUMERIC_POSITIVE)
    encoded[:, 3] = scale
    remaining = np.abs(small) * 10**pad
    for position in range(digits - 1, -1, -1):
        remaining, digit = np.divmod(remaining, 10_000)
        encoded[:, 4 + position] = digit
    for row, unscaled in wide.items():
        encoded[row, 2:] = _wide_numeric(unscaled, pad, digits, scale)
    width = encoded.shape[1] * 2
    offsets = np.arange(0, len(values) * width + 1, width, dtype=np.int32)
    buffers = [values.buffers()[0], pa.py_buffer(offsets), pa.py_buffer(encoded)]
    return pa.Array.from_buffers(pa.binary(), len(values), buffers, values.null_count)


def _unscaled(values: pa.Array, limit: int) -> tuple[np.ndarray, dict[int, int]]:
    """A decimal128 array's unscaled values: int64 where |value| < limit (0 elsewhere),
    and the others as Python ints by row (rare: beyond 18 digits)."""
    words = np.frombuffer(values.buffers()[1], dtype=np.int64, count=2 * len(values))
    low, high = words[0::2], words[1::2]
    fits = (high == (low >> 63)) & (low > -limit) & (low < limit)
    wide = {
        int(row): (int(high[row]) << 64) | (int(low[row]) & (2**64 - 1))
        for row in np.flatnonzero(~fits)
    }
    return np.where(fits, low, 0), wide


def _wide_numeric(unscaled: int, pad: int, digits: int, scale: int) -> list[int]:
    """Sign, dscale and digits of one value too large for the int64 arithmetic."""
    remaining = abs(unscaled) * 10**pad
    groups = []
    for _ in range(digits):
        remaining, digit = divmod(remaining, 10_000)
        groups.append(digit)
    sign = _NUMERIC_NEGATIVE if unscaled < 0 else _NUMERIC_POSITIVE
    return [sign, scale, *reversed(groups)]


@contextmanager
def advisory_lock(conn: psycopg.Connection, key: int) -> Iterator[bool]:
    """Try the session-level advisory lock `key`; yields whether this session got it."""
    got = bool(conn.execute("select pg_try_advisory_lock(%s)", (key,)).fetchone()[0])
    try:
        yield got
    finally:
        if got:
            conn.execute("select pg_advisory_unlock(%s)", (key,))
