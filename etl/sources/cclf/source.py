"""CCLF as a source of the pipeline: deliveries in, typed staging batches out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

from etl.errors import BadInputError
from etl.sources.base import Batch, FileBytes, InputFile, Reject, Unit, UnitRejected
from etl.sources.cclf.layout import DEFAULT_IP_VERSION, SUMMARY_FILE_ID, layouts
from etl.sources.cclf.package import Delivery, MemberFile, discover
from etl.sources.cclf.parse import iter_landing_batches
from etl.sources.cclf.summary import SummaryEntry, reconcile_with_summary


def _unit(delivery: Delivery) -> Unit:
    parsed = delivery.parsed
    detail: dict[str, object] = {"container": delivery.source}
    if parsed is not None:
        detail |= {
            "delivery_date": parsed.delivered_at.date().isoformat(),
            "delivered_at": parsed.delivered_at.isoformat(),
            "is_runout": parsed.run_out,
            "aco_id": parsed.entity_id,
            "performance_year": parsed.performance_year,
            "environment": parsed.environment,
        }
    files = [
        InputFile(name=member.name, origin=f"{delivery.path}:{member.name}",
                  read_bytes=member.read_or_map, size_hint=member.size)
        for member in delivery.members
    ]
    sort_key = (parsed.delivered_at.isoformat() if parsed else "", delivery.name)
    return Unit(delivery.name, files, sort_key, delivery.rejection or _lacks_data(delivery),
                detail, delivery)


def _lacks_data(delivery: Delivery) -> str | None:
    """A delivery must hold data, not only its CCLF0 summary (IP §2.7 lists the files)."""
    if not delivery.ok:
        return None
    if not any(member.file_id != SUMMARY_FILE_ID for member in delivery.members):
        # Reading a lone CCLF0 is cheap; its own problems say more than "no data".
        summary_problems = reconcile_with_summary(delivery, ip_version=None).problems
        return "; ".join(summary_problems) or (
            f"{delivery.name}: holds no CCLF data file (BCDA deliveries need at least "
            f"CCLF8), only its CCLF0 summary")
    if delivery.parsed and delivery.parsed.bcda_style and delivery.member("CCLF8") is None:
        return f"{delivery.name}: a BCDA-style delivery without its CCLF8 (ZC8) file"
    return None


# BCDA's attribution deliveries carry CCLF0, 8 and sometimes 9 (CMSgov/bcda-app); their
# CCLF0 still lists every file, so only the demographics must be there when it has records.
BCDA_FILES = ("CCLF8",)


def _missing_bcda_files(delivery: Delivery, summary: dict[str, SummaryEntry]) -> list[str]:
    return [
        f"{delivery.name}: CCLF0 lists {entry.file_id} with {entry.record_count} records, "
        f"but the delivery has no ZC{entry.file_id[-1]} file"
        for entry in summary.values()
        if entry.file_id in BCDA_FILES and entry.record_count > 0
        and delivery.member(entry.file_id) is None
    ]


# Lines per landed batch. Landing COPYs one batch while the next is parsed (etl/landing.py):
# smaller batches start the server sooner and keep it fed, at a few milliseconds each.
LANDING_BATCH_LINES = 65_536


class CclfSource:
    """Monthly CCLF zip packages (or extracted files) → stg_cclf.*."""

    name = "cclf"
    staging_schema = "stg_cclf"

    def __init__(self, ip_version: str = DEFAULT_IP_VERSION) -> None:
        self.ip_version = ip_version

    def discover(self, input_dir: Path) -> list[Unit]:
        """Deliveries oldest first (IP v38 §4.2 names); unusable ones carry a rejection."""
        return [_unit(delivery) for delivery in discover(input_dir)]

    def read(self, unit: Unit) -> Iterator[Batch]:
        """Reconcile with CCLF0 (§2.7), then parse each file into typed batches.

        Both read the unit's files through `InputFile.data()`, so a file (or zip member)
        is read once for its sha256, the CCLF0 count and the parse; its bytes are let go
        once it is parsed.
        """
        delivery = unit.handle
        assert isinstance(delivery, Delivery)
        files = {file.name: file for file in unit.files}
        _read_side_by_side(unit.files)
        read = _reader(files)
        bcda_style = bool(delivery.parsed and delivery.parsed.bcda_style)
        # BCDA-style deliveries carry CCLF0, 8 and 9 only; CCLF0 still lists the rest.
        reconciliation = reconcile_with_summary(
            delivery, ip_version=None if bcda_style else self.ip_version,
            require_listed_files=not bcda_style, read=read,
        )
        problems = list(reconciliation.problems)
        if bcda_style:
            problems += _missing_bcda_files(delivery, reconciliation.summary)
        if problems:
            raise UnitRejected("; ".join(problems))
        file_layouts = layouts(self.ip_version)
        for member in delivery.members:
            if member.file_id == SUMMARY_FILE_ID or member.name not in files:
                continue
            layout = file_layouts[member.file_id]
            try:
                data = read(member)
            except BadInputError as error:
                raise UnitRejected(str(error)) from error
            files[member.name].release()  # the batches below keep what they need
            for batch in iter_landing_batches(data, layout, member.name, LANDING_BATCH_LINES):
                yield Batch(
                    table=str(layout.staging_table),
                    file_name=member.name,
                    rows=batch.rows,
                    rejects=[Reject(member.name, r.line_number, r.field, r.reason, r.raw)
                             for r in batch.rejects],
                )
            del data


def _read_side_by_side(files: list[InputFile]) -> None:
    """Read every file of the unit at once, two at a time: the CCLF0 reconciliation
    needs them all before the first COPY, and zip members inflate side by side (zlib
    lets go of the interpreter lock). A file that cannot be read is left for the
    reconciliation to report."""
    def read(file: InputFile) -> None:
        with suppress(BadInputError):
            file.data()

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="cclf-read") as pool:
        list(pool.map(read, files))


def _reader(files: dict[str, InputFile]) -> Callable[[MemberFile], FileBytes]:
    """A member's bytes: from the unit's InputFile when it has one (read once, shared with
    the sha256), else from the delivery (a file landed before, still counted for CCLF0)."""
    def read(member: MemberFile) -> FileBytes:
        file = files.get(member.name)
        return file.data() if file is not None else member.read_bytes()

    return read
