"""The small contract every source fulfils; pipeline.py talks only to this.

A source answers four questions: which input units a folder holds (`discover`), how one
unit reads into typed Arrow batches per staging table (`read`), what its staging tables
look like (`staging_tables`, from which migrations and gate 1 are generated), and how to
write synthetic input with its truth (`etl synth <source>`, in the source's synth module).
"""

from __future__ import annotations

import hashlib
import mmap
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from etl.errors import BadInputError
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


# A file's bytes as a source reads them: in memory, or mapped from disk (mmap.mmap has
# the bytes methods parsing uses: find, slicing, indexing, the buffer protocol).
FileBytes = bytes | mmap.mmap

# sha256 is computed beside the parse: hashlib lets go of the GIL on large buffers.
_HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")


@dataclass
class InputFile:
    """One file of a unit: a name, where it came from, and how to read its bytes.

    `data()` reads the file once and keeps the bytes until `release()`; the size and the
    sha256 come from that same read, the sha256 in a worker thread while the source
    parses. (Landing used to read a file for its sha256, again for its size, and the
    source read it twice more: a zip member was inflated four times, issue 3 item 9.)

    `size_hint` is the size discovery saw (a directory entry or a zip's central
    directory); landing uses it to know, before any read, that a file cannot have been
    landed before. Bytes read must match it, or the file changed since discovery.
    """

    name: str
    origin: str
    read_bytes: Callable[[], FileBytes]
    size_hint: int | None = None
    _data: FileBytes | None = field(default=None, init=False, repr=False, compare=False)
    _sha256: str | None = field(default=None, init=False, repr=False, compare=False)
    _hashing: Future[str] | None = field(default=None, init=False, repr=False, compare=False)
    _size: int | None = field(default=None, init=False, repr=False, compare=False)

    def data(self) -> FileBytes:
        """The file's bytes, read on first use and kept until `release()`."""
        if self._data is None:
            data = self.read_bytes()
            if self.size_hint is not None and len(data) != self.size_hint:
                raise BadInputError(
                    f"{self.name}: {len(data)} bytes read, {self.size_hint} when the run found "
                    f"it: the file changed while it was being landed")
            self._data, self._size = data, len(data)
            if self._sha256 is None and self._hashing is None:
                self._hashing = _HASHING.submit(_sha256_of, data)
        return self._data

    def release(self) -> None:
        """Drop the kept bytes (the sha256 and size stay); `data()` reads again."""
        self._data = None

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            if self._hashing is None:
                self.data()
            assert self._hashing is not None
            self._sha256, self._hashing = self._hashing.result(), None
        return self._sha256

    @property
    def size_bytes(self) -> int:
        """The size read; before the first read, the size discovery saw (when known)."""
        if self._size is None and self.size_hint is None:
            self.data()
        size = self._size if self._size is not None else self.size_hint
        assert size is not None
        return size


def _sha256_of(data: FileBytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
