"""The small contract every source fulfils; pipeline.py talks only to this.

A source answers four questions: which input units a folder holds (`discover`), how one
unit reads into typed Arrow batches per staging table (`read`), what its staging tables
look like (`staging_tables`, from which migrations and gate 1 are generated), and how to
write synthetic input with its truth (`etl synth <source>`, in the source's synth module).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from etl.pg_binary import EncodedRows


@dataclass(frozen=True)
class StagingColumn:
    name: str
    pg_type: str
    description: str = ""
    spec_ref: str = ""
    required: bool = False
    code_format: str | None = None  # e.g. "icd10cm", "hcpcs", "ndc", "npi", "mbi"


@dataclass(frozen=True)
class StagingTable:
    name: str
    description: str
    columns: tuple[StagingColumn, ...]

    def ddl(self, schema: str) -> str:
        lineage = ["load_id bigint not null", "file_name text not null",
                   "line_number integer not null"]
        body = ",\n    ".join(lineage + [f"{c.name} {c.pg_type}" for c in self.columns])
        return f"create table {schema}.{self.name} (\n    {body}\n)"


@dataclass
class InputFile:
    """One file of a unit: a name, where it came from, and how to read its bytes.

    `data()` reads the file once and keeps the bytes until `release()`; the sha256 and
    the size come from that same read. Landing used to read a file for its sha256, again
    for its size, and the source read it twice more (a zip member was inflated four times,
    issue 3 item 9), so a source should parse from `data()` too.
    """

    name: str
    origin: str
    read_bytes: Callable[[], bytes]
    _data: bytes | None = field(default=None, init=False, repr=False, compare=False)
    _sha256: str | None = field(default=None, init=False, repr=False, compare=False)
    _size: int | None = field(default=None, init=False, repr=False, compare=False)

    def data(self) -> bytes:
        """The file's bytes, read on first use and kept until `release()`."""
        if self._data is None:
            self._data = self.read_bytes()
            self._sha256 = hashlib.sha256(self._data).hexdigest()
            self._size = len(self._data)
        return self._data

    def release(self) -> None:
        """Drop the kept bytes (the sha256 and size stay); `data()` reads again."""
        self._data = None

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self.data()
        assert self._sha256 is not None
        return self._sha256

    @property
    def size_bytes(self) -> int:
        if self._size is None:
            self.data()
        assert self._size is not None
        return self._size


@dataclass
class Unit:
    """A delivery unit landed as a whole or not at all (a CCLF package, an X12 file)."""

    name: str
    files: list[InputFile]
    sort_key: tuple[object, ...] = ()
    # Set when discovery already knows the unit cannot be landed (bad name, corrupt zip).
    rejection: str | None = None
    # Recorded with the load (JSON), e.g. a CCLF delivery date the models read.
    detail: dict[str, object] = field(default_factory=dict)
    # The source's own handle on the unit (e.g. a CCLF Delivery); not recorded.
    handle: object = None


@dataclass(frozen=True)
class Reject:
    """A record that could not be parsed or typed; goes to etl.quarantine."""

    file_name: str
    line_number: int | None
    field: str | None
    reason: str
    raw_record: str | None = None
    record_ref: str | None = None


@dataclass
class Batch:
    """Typed rows for one staging table from one file (without the lineage columns)."""

    table: str
    file_name: str
    # Arrow, with an int `line_number` column; or rows the source wrote in binary COPY
    # form itself, lineage included (etl/pg_binary.py).
    rows: pa.Table | EncodedRows
    rejects: list[Reject] = field(default_factory=list)


class UnitRejected(Exception):
    """Raised by `read` when a unit as a whole must not land (e.g. CCLF0 disagrees)."""


class Source(Protocol):
    name: str

    @property
    def staging_schema(self) -> str: ...

    def staging_tables(self) -> list[StagingTable]: ...

    def discover(self, input_dir: Path) -> list[Unit]: ...

    def read(self, unit: Unit) -> Iterator[Batch]: ...
