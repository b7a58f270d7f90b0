"""One X12 file from bytes to typed staging rows, with a verdict for every transaction set.

Steps: read the envelopes (reader.py), pick the TR3 guide of each set from ST01 and
ST03/GS08, place the segments of the sets of each guide in their loops (moves.py, with
loops.py for a set that has a problem), read the rows of those sets at once
(placed.py; parse_837.py, parse_835.py), type them (typed.py). A set with an envelope
or structure error is rejected whole; a claim (or claim payment) with a value that
fails is quarantined and the rest of its set lands. `ParsedFile.landing_tables()` gives
what may land, `ParsedFile.rejects()` what goes to quarantine and why.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import tee

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from etl.sources.base import Reject
from etl.sources.x12 import workers
from etl.sources.x12.guide import Guide, guide_for, load_guides
from etl.sources.x12.moves import segment_keys, walk_sets
from etl.sources.x12.parse_835 import read_remittances
from etl.sources.x12.parse_837 import read_claims
from etl.sources.x12.placed import PlacedSegments, table_frame
from etl.sources.x12.reader import ControlPolicy, TransactionSet, read_x12
from etl.sources.x12.rows import Failure, value
from etl.sources.x12.tables import TABLES, TRANSACTION_SETS, X12Table, kind_of
from etl.sources.x12.typed import TypeFailure, arrow_schema, type_rows

_TYPES = {"837P": "837P", "837I": "837I", "835": "835"}
_READERS = {"837P": read_claims, "837I": read_claims, "835": read_remittances}
# The segments a set's row reads after ST (BHT, 1000A/1000B NM1).
_HEAD_SEGMENTS = 12
# Errors of a set named in a rejection message (the quarantine row lists them all).
_SHOWN_ERRORS = 5
# Segments per part of `parse_x12_parts` (about 2.5 MB of X12): large enough that the
# per-part costs (typing and COPYing each table once more) stay small, small enough to
# bound memory and let landing COPY one part while the next is parsed.
PART_SEGMENTS = 100_000
# Segments per part when parts are parsed in worker processes (workers.py), about 3 MB:
# a part costs about 45 ms more than its segments (the polars operations of reading and
# typing a part, whatever its size), so a file of up to twice this is one part per
# worker. Measured on 2 cores (benchmarks/README.md, issue 4, session 5), parse + land
# alternated with 60,000: 837P (2 parts instead of 4) 10-20% faster, 837I and 835 (the
# same parts, or about as many) within the machine's spread.
POOL_PART_SEGMENTS = 120_000
# Files with fewer segments (about 1 MB) are parsed in this process: the pool would not
# pay for handing their parts over (and would start for nothing).
POOL_MIN_SEGMENTS = 40_000


@dataclass
class ParsedFile:
    file_name: str
    sets: list[TransactionSet]
    file_problems: list[str]
    tables: dict[str, pa.Table]  # typed rows of every set, accepted or not
    failures: list[Failure] = field(default_factory=list)  # claim or payment level
    segment_count: int = 0

    @property
    def accepted(self) -> list[TransactionSet]:
        return [tset for tset in self.sets if not tset.errors]

    @property
    def rejected(self) -> list[TransactionSet]:
        return [tset for tset in self.sets if tset.errors]

    def failed_owners(self) -> set[int]:
        return {failure.owner for failure in self.failures}

    def landing_tables(self) -> dict[str, pa.Table]:
        """Rows of accepted sets, without the claims and payments that failed."""
        keep_sets = pa.array([tset.position for tset in self.accepted], pa.int32())
        failed = pa.array(sorted(self.failed_owners()), pa.int32())
        landing = {}
        for table in TABLES:
            rows = self.tables[table.name]
            mask = pc.is_in(rows["set_position"], value_set=keep_sets)
            if table.owner != "set_position" and len(failed):
                mask = pc.and_(mask, pc.invert(pc.is_in(rows[table.owner], value_set=failed)))
            landing[table.name] = rows.filter(mask)
        return landing

    def rejects(self) -> list[Reject]:
        """Quarantine entries: problems outside sets, rejected sets, failed claims."""
        found = [Reject(self.file_name, None, None, problem) for problem in self.file_problems]
        for tset in self.rejected:
            found.append(Reject(
                self.file_name, tset.position, None,
                f"{tset.label} (to segment {tset.last_position}) rejected: "
                + "; ".join(tset.errors),
                record_ref=f"ST02={tset.control_number}"))
        if not self.failures:
            return found
        accepted = {tset.position for tset in self.accepted}
        owners = _owner_labels(self.tables, self.failed_owners())
        by_owner: dict[int, list[Failure]] = {}
        for failure in self.failures:
            by_owner.setdefault(failure.owner, []).append(failure)
        for owner, failures in by_owner.items():
            label = owners.get(owner)
            if label is None or label[0] not in accepted:
                continue
            reasons = "; ".join(f"segment {f.position}: {f.reason}" for f in failures)
            found.append(Reject(self.file_name, failures[0].position, failures[0].field,
                                f"{label[1]} quarantined: {reasons}", record_ref=label[1]))
        return found

    def rejection_summary(self) -> str:
        """Why nothing of the file can land (no set was accepted)."""
        reasons = list(self.file_problems)
        reasons += [f"{tset.label} rejected: " + "; ".join(tset.errors[:_SHOWN_ERRORS])
                    + (f"; and {len(tset.errors) - _SHOWN_ERRORS} more"
                       if len(tset.errors) > _SHOWN_ERRORS else "")
                    for tset in self.rejected]
        return "; ".join(reasons) or f"{self.file_name}: holds no transaction set"


def _owner_labels(tables: dict[str, pa.Table], owners: set[int]
                  ) -> dict[int, tuple[int, str]]:
    """owner position -> (set position, `CLM01=... at segment N` / `CLP01=...`), for the
    given owners (claims and claim payments that failed)."""
    wanted = pa.array(sorted(owners), pa.int32())
    labels: dict[int, tuple[int, str]] = {}
    for name, key, column, what in (("claims", "claim_position", "patient_control_number",
                                     "claim CLM01"),
                                    ("claim_payments", "clp_position",
                                     "patient_control_number", "claim payment CLP01")):
        rows = tables[name]
        rows = rows.filter(pc.is_in(rows[key], value_set=wanted))
        for set_position, owner, number in zip(rows["set_position"].to_pylist(),
                                               rows[key].to_pylist(),
                                               rows[column].to_pylist(), strict=True):
            labels[owner] = (set_position, f"{what}={number!r} at segment {owner}")
    return labels


def _guide(tset: TransactionSet) -> Guide | None:
    found = guide_for(tset.transaction_code, tset.implementation_guide)
    if found is None and tset.transaction_code == "835" and not tset.implementation_guide:
        # One 835 guide exists; a set that names none (no ST03, no GS) is read by it.
        tset.warnings.append(f"{tset.label} names no implementation guide (ST03/GS08); "
                             "read as 005010X221A1")
        found = next(g for g in load_guides() if g.name == "835")
    if found is None:
        supported = ", ".join(v for g in load_guides() for v in g.versions)
        tset.errors.append(f"{tset.label}: transaction {tset.transaction_code!r} with guide "
                           f"{tset.implementation_guide!r} is not supported ({supported})")
    return found


def _timestamp(date: str | None, time: str | None, century: bool) -> str | None:
    """CCYYMMDDHHMMSS from an X12 date (YYMMDD when `century` is False) and HHMM[SS]."""
    if not date:
        return None
    if not century:
        if len(date) != 6:
            return date  # fails typing with the value shown
        # X12 ISA09 has a two-digit year; 70-99 are read as 19xx.
        date = ("19" if date[:2] >= "70" else "20") + date
    digits = (time or "")[:6]
    return date + digits.ljust(6, "0")


def _set_row(tset: TransactionSet, guide: Guide | None) -> dict[str, object]:
    segments = [text.split(tset.delimiters.element)
                for text in tset.segments[:_HEAD_SEGMENTS]]
    envelope = tset.envelope
    row: dict[str, object] = {
        "set_position": tset.position,
        "transaction_type": _TYPES.get(guide.name) if guide else tset.transaction_code,
        "implementation_guide": tset.implementation_guide or None,
        "set_control_number": tset.control_number,
        "declared_segment_count": tset.declared_count,
        "segment_count": len(tset.segments),
        "last_position": tset.last_position,
        "set_digest": tset.digest(),
        "interchange_control_number": envelope.interchange_control,
        "interchange_sender_qualifier": envelope.sender_qualifier,
        "interchange_sender_id": envelope.sender_id,
        "interchange_receiver_qualifier": envelope.receiver_qualifier,
        "interchange_receiver_id": envelope.receiver_id,
        "interchange_created_at": _timestamp(envelope.interchange_date,
                                             envelope.interchange_time, century=False),
        "usage_indicator": envelope.usage_indicator,
        "group_control_number": envelope.group_control,
        "functional_id": envelope.functional_id,
        "application_sender": envelope.application_sender,
        "application_receiver": envelope.application_receiver,
        "group_created_at": _timestamp(envelope.group_date, envelope.group_time, century=True),
        "warnings": "; ".join(tset.warnings) or None,
    }
    for elements in segments[1:4]:
        if elements[0] == "BHT":
            row.update(bht_purpose=value(elements, 2), bht_reference=value(elements, 3),
                       bht_created_at=_timestamp(value(elements, 4), value(elements, 5),
                                                 century=True),
                       bht_claim_type=value(elements, 6))
    for elements in segments[1:12]:
        if elements[0] == "NM1" and value(elements, 1) in ("41", "40"):
            prefix = "submitter" if elements[1] == "41" else "receiver"
            row[f"{prefix}_name"] = value(elements, 3)
            row[f"{prefix}_id"] = value(elements, 9)
    return row


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Parsing allocates hundreds of thousands of small lists and dicts and no reference
    cycles; Python's cycle collector would scan them again and again as they pile up
    (measured: parsing 1.5-2x slower). It is paused while a file is parsed."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_x12(data: bytes, file_name: str,
              policy: ControlPolicy = ControlPolicy.STRICT) -> ParsedFile:
    """Read, check, place and type one file (module notes)."""
    with _without_cycle_collection():
        read = read_x12(data, file_name, policy)
        return _parse_sets(file_name, read.sets, read.file_problems, read.segment_count)


@dataclass
class _Part:
    """Whole sets of one file, to parse on their own (here or in a worker process)."""

    file_name: str
    sets: list[TransactionSet]
    file_problems: list[str]
    segment_count: int  # of the file


def _parse_part(part: _Part) -> ParsedFile:
    with _without_cycle_collection():
        return _parse_sets(part.file_name, part.sets, part.file_problems, part.segment_count)


def parse_x12_parts(data: bytes, file_name: str,
                    policy: ControlPolicy = ControlPolicy.STRICT,
                    part_segments: int | None = None,
                    processes: int | None = None) -> Iterator[ParsedFile]:
    """`parse_x12` in parts of whole transaction sets, about `part_segments` segments
    each, so that one part can land while the next is parsed. Envelopes are checked for
    the whole file first, here; every set is in exactly one part, with the same verdict
    and rows as `parse_x12` gives it, and parts come in file order. The first part
    carries the file's problems (and is the only one, empty, when the file holds no set).

    `processes` (default: one per core) > 1: a file of at least POOL_MIN_SEGMENTS
    segments is parsed in that many worker processes (workers.py), in parts of
    POOL_PART_SEGMENTS unless `part_segments` says otherwise; other files are parsed
    here, in parts of PART_SEGMENTS."""
    with _without_cycle_collection():
        read = read_x12(data, file_name, policy)
    processes = processes or workers.count()
    parallel = processes > 1 and read.segment_count >= POOL_MIN_SEGMENTS
    size = part_segments or (_pool_part_size(read.segment_count, processes) if parallel
                             else PART_SEGMENTS)
    parts = (_Part(file_name, sets, read.file_problems if number == 0 else [],
                   read.segment_count)
             for number, sets in enumerate(_parts(read.sets, size)))
    if not parallel:
        yield from map(_parse_part, parts)
        return
    submitted, sent = tee(parts)
    for parsed, part in zip(workers.ordered(_parse_part, submitted, processes), sent,
                            strict=True):
        for tset in part.sets:  # this process's copies: their segments are parsed
            tset.release()
        yield parsed


def _pool_part_size(segments: int, processes: int) -> int:
    """About POOL_PART_SEGMENTS, so that the parts are a multiple of the processes and
    of even size: every worker is busy until the end of the file."""
    parts = -(-segments // POOL_PART_SEGMENTS)
    parts += -parts % processes
    return -(-segments // parts)


def _parts(sets: list[TransactionSet], part_segments: int) -> Iterator[list[TransactionSet]]:
    """Whole sets; a part ends with the set that reaches the next multiple of
    `part_segments` segments, so parts are of about that size and as many as the file
    holds multiples of it (no small part left over when sets are large)."""
    part: list[TransactionSet] = []
    seen, limit = 0, part_segments
    for tset in sets:
        part.append(tset)
        seen += len(tset.segments)
        if seen >= limit:
            yield part
            part = []
            limit = (seen // part_segments + 1) * part_segments
    if part or not sets:
        yield part


def _parse_sets(file_name: str, sets: list[TransactionSet], file_problems: list[str],
                segment_count: int) -> ParsedFile:
    """Place, read and type the given sets of one file (read by read_x12): each set is
    walked on its own, the rows of all the sets read by one guide at once (placed.py)."""
    placed: dict[Guide, PlacedSegments] = {}
    heads: list[tuple[TransactionSet, Guide | None]] = []
    for tset in sets:
        guide = _guide(tset)
        if guide is not None:
            placed.setdefault(guide, PlacedSegments()).add(tset)
        heads.append((tset, guide))
    read = []
    for guide, gathered in placed.items():
        frame = gathered.frame()
        keys, walks = walk_sets(guide, frame, gathered.sets)
        for tset in gathered.sets:
            tset.errors.extend(walks[tset.position].errors)
            tset.warnings.extend(walks[tset.position].warnings)
        frame = frame.with_columns(key=pl.Series(keys, dtype=segment_keys(guide))).filter(
            pl.col("key").is_not_null())
        read.append(_READERS[guide.name](frame, guide))
    by_position = {tset.position: tset for tset in sets}
    for rows in read:
        for position, warnings in rows.warnings.items():
            by_position[position].warnings.extend(warnings)
    frames: dict[str, list[pl.DataFrame]] = {
        TRANSACTION_SETS.name: [_sets_frame([_set_row(tset, guide) for tset, guide in heads])]}
    for rows in read:
        for name, frame in rows.tables.items():
            frames.setdefault(name, []).append(frame)
    tables, failures = _typed_tables(frames, [f for rows in read for f in rows.failures])
    _reject_failed_sets(sets, failures)
    for tset in sets:
        tset.release()
    return ParsedFile(file_name, sets, file_problems, tables, failures, segment_count)


def _sets_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    columns = [c.name for c in TRANSACTION_SETS.table.columns]
    return table_frame(TRANSACTION_SETS, pl.DataFrame(
        {"line_number": [row["set_position"] for row in rows],
         **{name: [row.get(name) for row in rows] for name in columns}},
        schema={"line_number": pl.Int32, **{
            c.name: pl.Int32 if kind_of(c) == "int" else pl.String
            for c in TRANSACTION_SETS.table.columns}}))


def _typed_tables(frames: dict[str, list[pl.DataFrame]], read_failures: list[Failure]
                  ) -> tuple[dict[str, pa.Table], list[Failure]]:
    """Every table typed; the failures of the readers, then those of typing."""
    tables: dict[str, pa.Table] = {}
    failures = list(read_failures)
    for table in TABLES:
        found = [frame for frame in frames.get(table.name, ()) if frame.height]
        if not found:  # e.g. the 835 tables of an 837: nothing to type
            # Not Schema.empty_table(): it imports pandas (0.2 s in a new worker process).
            tables[table.name] = pa.Table.from_batches([], schema=arrow_schema(table))
            continue
        rows = found[0] if len(found) == 1 else \
            pl.concat(found).sort("line_number", maintain_order=True)
        typed, problems = type_rows(table, rows)
        tables[table.name] = typed
        failures += _row_failures(table, rows, problems)
    return tables, failures


def _row_failures(table: X12Table, rows: pl.DataFrame,
                  problems: list[TypeFailure]) -> list[Failure]:
    owners = rows.get_column(table.owner)
    lines = rows.get_column("line_number")
    return [Failure(int(owners[p.row]), int(lines[p.row]), p.column,
                    f"{table.name}.{p.column}: {p.reason}") for p in problems]


def _reject_failed_sets(sets: list[TransactionSet], failures: list[Failure]) -> None:
    """A failure owned by a set itself (remittance header, PLB, envelope dates) rejects it."""
    by_position = {tset.position: tset for tset in sets}
    for failure in failures:
        tset = by_position.get(failure.owner)
        if tset is not None:
            tset.errors.append(f"segment {failure.position}: {failure.field}: {failure.reason}")
