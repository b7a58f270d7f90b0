"""FHIR R4 as a source of the pipeline: export folders in, rows of stg_fhir.resources out."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

from etl.sources.base import Batch, StagingTable, Unit, UnitRejected
from etl.sources.fhir.discover import Export, FhirFile, discover
from etl.sources.fhir.prefetch import prefetched
from etl.sources.fhir.read import NotR4Error, ReadBatch, read_json, read_ndjson
from etl.sources.fhir.tables import RESOURCES, STAGING_TABLES

_NOT_R4 = (
    "this source reads FHIR R4 (4.0.1) only; ask the server for R4 output "
    "(BCDA /api/v2 or /api/v3, Blue Button 2.0 /v2) and land that instead"
)


def _read_file(file: FhirFile, export: Export) -> Iterator[ReadBatch]:
    if not file.is_ndjson:
        yield from read_json(file.content(), file.name)
        return
    opener = gzip.open if file.gzipped else open
    with opener(file.path, "rb") as stream:
        yield from read_ndjson(stream, file.name, deletions=file.holds_deletions,
                               deleted_at=export.transaction_time)


class FhirSource:
    """Bulk Data exports (NDJSON, with or without manifest) and Bundles → stg_fhir."""

    name = "fhir"
    staging_schema = "stg_fhir"

    def staging_tables(self) -> list[StagingTable]:
        return list(STAGING_TABLES)

    def discover(self, input_dir: Path) -> list[Unit]:
        """One unit per folder of FHIR files, oldest export first (see discover.py)."""
        return [export.unit() for export in discover(input_dir)]

    def read(self, unit: Unit) -> Iterator[Batch]:
        """Every new file of the unit, in batches; STU3 content or a damaged or short file
        rejects the unit, a malformed line only goes to quarantine. Batches are read one
        or two ahead in a thread, so parsing overlaps PostgreSQL's COPY of the last one."""
        yield from prefetched(self._batches(unit))

    def _batches(self, unit: Unit) -> Iterator[Batch]:
        export = unit.handle
        assert isinstance(export, Export)
        wanted = {file.name for file in unit.files}
        for file in export.files:
            if file.name not in wanted:
                continue
            counted = 0
            try:
                for batch in _read_file(file, export):
                    counted += batch.rows.num_rows + len(batch.rejects)
                    yield Batch(RESOURCES.name, file.name, batch.rows, batch.rejects)
            except NotR4Error as error:
                raise UnitRejected(f"{error}: {_NOT_R4}") from error
            except (OSError, EOFError, zlib.error) as error:
                raise UnitRejected(f"{file.name}: cannot be read to the end ({error})") from error
            if file.expected_count is not None and counted != file.expected_count:
                raise UnitRejected(
                    f"{file.name}: the export manifest says {file.expected_count} resources, "
                    f"the file holds {counted} (an incomplete download?)")
