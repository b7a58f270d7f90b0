"""X12 as a source of the pipeline: files in, typed stg_x12 batches out.

A delivery unit is one file. Discovery walks the input folder (sub-folders too, as
clearinghouse drops are often sorted into them), skips hidden entries and side files
(README, LICENSE, *.json, *.md, *.csv, ...), and orders files by the date and time of
their first functional group (GS04/GS05, else ISA09/ISA10), then by path: oldest first.
Reading a file rejects the transaction sets that fail (they go to quarantine with
their segment position and reason) and lands the others; a file none of whose sets
can land is rejected as a whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from etl.errors import BadInputError
from etl.sources.base import Batch, InputFile, StagingTable, Unit, UnitRejected
from etl.sources.x12 import strict
from etl.sources.x12.options import X12Options
from etl.sources.x12.parse import ParsedFile, parse_x12, parse_x12_parts
from etl.sources.x12.tables import SCHEMA, TABLES, staging_tables

# Beside the X12 files but never X12 themselves (a generator's truth.json, licences).
SIDE_FILE_SUFFIXES = frozenset({".json", ".md", ".csv", ".pdf", ".html", ".htm", ".xlsx",
                                ".yml", ".yaml", ".py", ".sh"})
SIDE_FILE_NAMES = ("readme", "license", "licence", "notice", "copying")
_HEAD_BYTES = 4096


def _is_side_file(path: Path) -> bool:
    name = path.name.lower()
    return path.suffix.lower() in SIDE_FILE_SUFFIXES or name.startswith(SIDE_FILE_NAMES)


def _created_at(path: Path) -> str:
    """CCYYMMDDHHMM of the first GS (or ISA) in the file's head; '' when none is found."""
    with path.open("rb") as stream:
        head = stream.read(_HEAD_BYTES).decode("latin-1")
    start = head.find("ISA")
    if start < 0:
        return ""
    separator = head[start + 3:start + 4]
    group = head.find("GS" + separator, start)
    if separator and group > 0:
        parts = head[group:group + 200].split(separator)
        if len(parts) > 5 and parts[4].isdigit() and len(parts[4]) == 8:
            return parts[4] + parts[5][:4]
    isa = head[start:start + 106].split(separator) if separator else []
    if len(isa) > 10 and len(isa[9]) == 6 and isa[9].isdigit():
        return ("19" if isa[9][:2] >= "70" else "20") + isa[9] + isa[10][:4]
    return ""


def discover_files(input_dir: Path) -> list[Unit]:
    folder = Path(input_dir)
    if not folder.is_dir():
        raise BadInputError(f"{folder}: input folder does not exist or is not a folder")
    units = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if not path.is_file() or _is_side_file(path):
            continue
        name = relative.as_posix()
        try:
            created = _created_at(path)
        except OSError as error:
            units.append(Unit(name, [], ("", name), rejection=f"{name}: cannot be read "
                              f"({error.strerror or error})"))
            continue
        file = InputFile(name=name, origin=str(path), read_bytes=path.read_bytes,
                         size_hint=path.stat().st_size)
        units.append(Unit(name, [file], (created, name), detail={"created_at": created}))
    return sorted(units, key=lambda unit: unit.sort_key)


class X12Source:
    """ASC X12 5010 837P, 837I and 835 files → stg_x12.*."""

    name = "x12"
    staging_schema = SCHEMA

    def __init__(self, options: X12Options | None = None) -> None:
        self._options = options

    @property
    def options(self) -> X12Options:
        """Given at construction, else read from the environment at each use."""
        return self._options or X12Options.from_env()

    def staging_tables(self) -> list[StagingTable]:
        return staging_tables()

    def discover(self, input_dir: Path) -> list[Unit]:
        """Files oldest first (module notes); an unreadable file carries a rejection."""
        return discover_files(input_dir)

    def parse(self, file: InputFile) -> ParsedFile:
        options = self.options
        data = _contents(file)
        parsed = parse_x12(data, file.name, options.control)
        if options.validate_ig:
            parsed.file_problems += strict.apply_report(parsed.sets, strict.validate(data))
        return parsed

    def parts(self, file: InputFile) -> Iterator[ParsedFile]:
        """The file parsed in parts of whole sets (parse.parse_x12_parts), in order as
        landing asks for batches: landing reads ahead in a worker thread, and a big
        file's parts are parsed in worker processes (workers.py), so parts are parsed
        while the previous ones are COPYed. Strict validation (pyx12) judges the whole
        file at once, so it parses the file in one part."""
        options = self.options
        if options.validate_ig:
            return iter([self.parse(file)])
        return parse_x12_parts(_contents(file), file.name, options.control,
                               processes=options.workers)

    def read(self, unit: Unit) -> Iterator[Batch]:
        """Batches per part and table. A file none of whose sets is accepted is rejected
        when its last part is read; landing then rolls back what its parts sent."""
        for file in unit.files:
            accepted = False
            summaries = []
            for parsed in self.parts(file):
                accepted = accepted or bool(parsed.accepted)
                summaries.append(parsed.rejection_summary())
                tables = parsed.landing_tables()
                rejects = parsed.rejects()
                for table in TABLES:
                    rows = tables[table.name]
                    if rows.num_rows or rejects:
                        yield Batch(table.name, file.name, rows, rejects)
                        rejects = []
            if not accepted:
                raise UnitRejected("; ".join(summaries))


def _contents(file: InputFile) -> bytes:
    try:
        return bytes(file.data())
    except (OSError, BadInputError) as error:
        raise UnitRejected(f"{file.name}: cannot be read ({error})") from error
