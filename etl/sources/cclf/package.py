"""Find CCLF deliveries in a folder and read their names.

Names (CCLF IP v38 §4.2 and the file-name notes before each Appendix B table):

- A delivery is one zip per ACO per month since January 2020, named
  `P.A1234.ACO.ZCY24.D240115.T1234567`: test (T) or production (P), the entity id
  (A: Shared Savings Program, F: VTAPM, D: ACO REACH, K/C: KCC, P: PCF), `ZC`, then
  `Y` for a monthly delivery or `R` for run-out ("R" instead of "Y" indicating
  run-out), the two-digit performance year, the date (Dyymmdd) and the time
  (Thhmmsst, t = tenths of a second). PCF zips print no Y: `ZC21`.
- The files inside carry their number after ZC: `P.A1234.ACO.ZC1Y24.D240115.T1234567`
  for CCLF1, ZC0 for the CCLF0 summary, ZCA and ZCB for CCLFA and CCLFB.
- BCDA (CMSgov/bcda-app) moves the id behind a `BCD` tag: the zip
  `T.BCD.A0001.ZCY18.D181120.T1000000` holds `T.BCD.A0001.ZC8Y18.D181120.T1000009`.
- CMS ships zips with or without a `.zip` suffix (IP v38 Appendix C), so zips are
  recognised by their first bytes.

Rejections: `discover` never raises for one bad package. Every top-level entry of
the input folder becomes a `Delivery`; one that cannot be used carries a
`rejection` message naming the package and the problem, and has no members. The
pipeline records it in the manifest, skips it and processes the others. Only a
missing or unreadable input folder raises `BadInputError`.

What counts as a delivery, at the top level of the input folder:

- a zip archive named like a delivery (with or without .zip);
- a folder named like a delivery holding the extracted files;
- loose extracted files named like CCLF files, grouped by test/production, entity,
  run-out flag, performance year and delivery date. Such a group gets a delivery
  name built from its files (the earliest time among them).

Anything else (an unexpected name, a zip named like a single CCLF file, an empty or
damaged zip, a member named unlike a CCLF file or from another entity, two files of
one number) is a rejected Delivery. Hidden entries (starting with ".") and side files
(.json, .md, .txt, .pdf, .html without a ZC tag, e.g. a synthetic truth.json) are ignored.
Discovery reads zip directories only; a damaged member is found when it is read.
"""

from __future__ import annotations

import datetime as dt
import mmap
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from etl.errors import BadInputError
from etl.sources.base import FileBytes

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # local file header; empty archive
# What a damaged zip or an unreadable file raises while being read.
# Files from this size up are mapped for landing rather than read (`read_or_map`).
_MAP_FROM_BYTES = 1024 * 1024
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError)
_FILE_NUMBERS = "0123456789AB"
_ENTITY_ID = re.compile(r"[A-Z]{1,5}[0-9]{3,6}")
_ZC_PART = re.compile(r"ZC(?P<number>[0-9AB])?(?P<kind>[YR])?(?P<year>[0-9]{2})")
_EXAMPLE = "P.A1234.ACO.ZC1Y24.D240115.T1234567"
# Documentation and metadata that may sit beside deliveries; ignored by discovery.
_SIDE_FILE_SUFFIXES = frozenset({".json", ".md", ".txt", ".pdf", ".html"})


@dataclass(frozen=True)
class CclfName:
    """What a delivery or file name says."""

    text: str
    environment: str  # "T" test, "P" production
    entity_id: str
    file_number: str | None  # "0"-"9", "A", "B"; None for a delivery (zip) name
    run_out: bool
    performance_year: int
    delivered_at: dt.datetime
    bcda_style: bool

    @property
    def is_test(self) -> bool:
        return self.environment == "T"

    @property
    def file_id(self) -> str | None:
        """'CCLF1' ... 'CCLFB', 'CCLF0'; None for a delivery name."""
        return None if self.file_number is None else f"CCLF{self.file_number}"

    @property
    def short_id(self) -> str | None:
        return None if self.file_number is None else f"ZC{self.file_number}"


def parse_name(name: str) -> CclfName:
    """Read a delivery or CCLF file name; raise BadInputError saying which part is wrong."""
    text = name[:-4] if name.lower().endswith(".zip") else name
    parts = text.split(".")
    if len(parts) != 6:
        raise BadInputError(
            f"{name}: not a CCLF name; expected six dot-separated parts like {_EXAMPLE}"
        )
    environment, first, second, zc_part, date_part, time_part = parts
    if environment not in ("T", "P"):
        raise BadInputError(
            f"{name}: starts with {environment!r}; expected T (test) or P (production)"
        )
    bcda_style = first == "BCD"
    entity_id, tag = (second, first) if bcda_style else (first, second)
    if not bcda_style and tag != "ACO":
        raise BadInputError(f"{name}: second part is {tag!r}; expected ACO after the entity id")
    if not _ENTITY_ID.fullmatch(entity_id):
        raise BadInputError(
            f"{name}: entity id {entity_id!r} should be 1-5 capital letters then 3-6 digits, "
            "like A1234"
        )
    number, kind, year = _read_zc_part(name, zc_part)
    return CclfName(
        text=text,
        environment=environment,
        entity_id=entity_id,
        file_number=number,
        run_out=kind == "R",
        performance_year=2000 + int(year),
        delivered_at=_read_timestamp(name, date_part, time_part),
        bcda_style=bcda_style,
    )


def _read_zc_part(name: str, zc_part: str) -> tuple[str | None, str | None, str]:
    found = _ZC_PART.fullmatch(zc_part)
    # Only a PCF delivery (zip) name leaves out Y/R; file names always carry it.
    if not found or (found["number"] and not found["kind"]):
        raise BadInputError(
            f"{name}: {zc_part!r} should be ZC, a file number (0-9, A, B; none for a "
            "delivery), Y (monthly) or R (run-out), and a two-digit performance year"
        )
    return found["number"], found["kind"], found["year"]


def _read_timestamp(name: str, date_part: str, time_part: str) -> dt.datetime:
    if not re.fullmatch(r"D[0-9]{6}", date_part):
        raise BadInputError(f"{name}: {date_part!r} should be D then the date as yymmdd")
    if not re.fullmatch(r"T[0-9]{7}", time_part):
        raise BadInputError(f"{name}: {time_part!r} should be T then the time as hhmmsst")
    try:
        moment = dt.datetime.strptime(date_part[1:] + time_part[1:7], "%y%m%d%H%M%S")
    except ValueError:
        raise BadInputError(
            f"{name}: {date_part}.{time_part} is not a real date and time"
        ) from None
    return moment + dt.timedelta(milliseconds=100 * int(time_part[7]))


@dataclass(frozen=True)
class MemberFile:
    """One CCLF file of a delivery, inside a zip or on disk."""

    name: str  # the file's own name, without folders
    parsed: CclfName
    size: int
    opener: Callable[[], AbstractContextManager[BinaryIO]] = field(repr=False, compare=False)
    path: Path | None = None  # where it is on disk; None inside a zip

    @property
    def file_id(self) -> str:
        file_id = self.parsed.file_id
        assert file_id is not None
        return file_id

    @property
    def short_id(self) -> str:
        return f"ZC{self.parsed.file_number}"

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """A binary stream of the file; a damaged zip member raises BadInputError.

        A zip member's checksum is verified as it is read to the end, so the error
        can come from reading rather than opening.
        """
        try:
            with self.opener() as stream:
                yield stream
        except _READ_ERRORS as error:
            raise self._unreadable(error) from error

    def read_bytes(self) -> bytes:
        with self.open() as stream:
            return stream.read()

    def read_or_map(self) -> FileBytes:
        """The bytes for landing: a large file on disk is mapped rather than read, so
        parsing starts without copying it into memory first (issue 3, item 9); its pages
        are read as the parser reaches them. A zip member is inflated into memory."""
        if self.path is None or self.size < _MAP_FROM_BYTES:
            return self.read_bytes()
        try:
            with self.path.open("rb") as stream:
                return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
        except _READ_ERRORS as error:
            raise self._unreadable(error) from error

    def _unreadable(self, error: Exception) -> BadInputError:
        return BadInputError(f"{self.short_id} in {self.name}: cannot be read ({error})")


@dataclass(frozen=True)
class Delivery:
    """One monthly or run-out delivery: its name, where it is, and its files.

    A delivery that cannot be used has `rejection` set (and no members).
    """

    name: str
    path: Path
    source: str  # "zip", "folder", "loose files"; "unknown" for an unreadable entry
    parsed: CclfName | None
    members: tuple[MemberFile, ...] = ()
    rejection: str | None = None

    @property
    def ok(self) -> bool:
        return self.rejection is None

    @property
    def delivered_at(self) -> dt.datetime | None:
        return self.parsed.delivered_at if self.parsed else None

    def member(self, file_id: str) -> MemberFile | None:
        return next((m for m in self.members if m.file_id == file_id), None)

    def error(self) -> BadInputError:
        """The rejection as the exception the CLI maps to an exit code."""
        return BadInputError(self.rejection or f"{self.name}: not rejected")


def discover(input_dir: Path | str) -> list[Delivery]:
    """Every delivery at the top level of `input_dir`, oldest first; see the module notes."""
    folder = Path(input_dir)
    if not folder.is_dir():
        raise BadInputError(f"{folder}: input folder does not exist or is not a folder")
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:
        raise BadInputError(f"{folder}: input folder cannot be listed ({error})") from error
    deliveries: list[Delivery] = []
    loose: list[tuple[Path, CclfName]] = []
    for entry in entries:
        if entry.name.startswith(".") or _is_side_file(entry):
            continue
        try:
            found = _read_entry(entry)
        except OSError as error:
            found = _unreadable(entry, error)
        if isinstance(found, Delivery):
            deliveries.append(found)
        else:
            loose.append(found)
    deliveries.extend(_group_loose_files(folder, loose))
    return sorted(deliveries, key=_oldest_first)


def _is_side_file(entry: Path) -> bool:
    """A file beside the deliveries that cannot be one: e.g. a generator's truth.json
    or a README. Names with a CCLF file tag (ZC) or zip content are never side files."""
    return (
        entry.is_file()
        and entry.suffix.lower() in _SIDE_FILE_SUFFIXES
        and "ZC" not in entry.name.upper()
        and not _is_zip(entry)
    )


def _oldest_first(delivery: Delivery) -> tuple[dt.datetime, str]:
    return (delivery.delivered_at or dt.datetime.max, delivery.name)


def _read_entry(entry: Path) -> Delivery | tuple[Path, CclfName]:
    """A delivery (maybe rejected), or a loose CCLF file to group with its siblings."""
    try:
        parsed = parse_name(entry.name)
    except BadInputError as error:
        return _rejected(entry, None, str(error))
    if entry.is_dir():
        return _read_folder(entry, parsed)
    if _is_zip(entry):
        return _read_zip(entry, parsed)
    if parsed.file_number is None:
        return _rejected(
            entry, parsed, f"{entry.name}: named like a delivery but is not a zip archive"
        )
    return entry, parsed


def _unreadable(entry: Path, error: OSError) -> Delivery:
    reason = f"{entry.name}: cannot be read ({error.strerror or error})"
    return Delivery(name=entry.name, path=entry, source="unknown", parsed=None, rejection=reason)


def _rejected(entry: Path, parsed: CclfName | None, reason: str) -> Delivery:
    source = "folder" if entry.is_dir() else "zip" if _is_zip(entry) else "loose files"
    return Delivery(name=entry.name, path=entry, source=source, parsed=parsed, rejection=reason)


def _is_zip(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as stream:
        return stream.read(4) in _ZIP_MAGIC


def _read_zip(path: Path, parsed: CclfName) -> Delivery:
    if parsed.file_number is not None:
        return _rejected(
            path,
            parsed,
            f"{path.name}: a zip named like a single CCLF file ({parsed.short_id}); a delivery "
            "zip has no file number after ZC (IP v38 §4.2)",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [info for info in archive.infolist() if not info.is_dir()]
    except _READ_ERRORS as error:
        return _rejected(path, parsed, f"{path.name}: not a readable zip archive ({error})")
    if not entries:
        return _rejected(path, parsed, f"{path.name}: the zip archive is empty")
    members = []
    for info in entries:
        inner = info.filename.rsplit("/", 1)[-1]
        if inner.startswith(".") or info.filename.startswith("__MACOSX/"):
            continue
        try:
            member_name = parse_name(inner)
        except BadInputError as error:
            return _rejected(path, parsed, f"{path.name}: holds {info.filename!r}: {error}")
        opener = _zip_member_opener(path, info.filename)
        members.append(MemberFile(inner, member_name, info.file_size, opener))
    return _delivery(path, "zip", parsed, members)


def _zip_member_opener(path: Path, member: str) -> Callable[[], AbstractContextManager[BinaryIO]]:
    @contextmanager
    def open_member() -> Iterator[BinaryIO]:
        with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
            yield stream  # type: ignore[misc]  # ZipExtFile is a binary stream

    return open_member


def _read_folder(path: Path, parsed: CclfName) -> Delivery:
    if parsed.file_number is not None:
        return _rejected(
            path, parsed, f"{path.name}: a folder named like a single CCLF file, not a delivery"
        )
    members = []
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_file():
            return _rejected(path, parsed, f"{path.name}: holds a sub-folder {entry.name!r}")
        try:
            member_name = parse_name(entry.name)
        except BadInputError as error:
            return _rejected(path, parsed, f"{path.name}: holds {entry.name!r}: {error}")
        members.append(_disk_member(entry, member_name))
    if not members:
        return _rejected(path, parsed, f"{path.name}: the folder holds no CCLF files")
    return _delivery(path, "folder", parsed, members)


def _disk_member(path: Path, parsed: CclfName) -> MemberFile:
    return MemberFile(path.name, parsed, path.stat().st_size, lambda: path.open("rb"), path)


def _delivery(path: Path, source: str, parsed: CclfName, members: list[MemberFile]) -> Delivery:
    """A delivery of these files, or a rejection when they do not belong together."""
    name = parsed.text
    problem = _membership_problem(name, parsed, members)
    if problem:
        return Delivery(name=name, path=path, source=source, parsed=parsed, rejection=problem)
    ordered = tuple(sorted(members, key=lambda m: _FILE_NUMBERS.index(m.parsed.file_number or "0")))
    return Delivery(name=name, path=path, source=source, parsed=parsed, members=ordered)


def _membership_problem(name: str, parsed: CclfName, members: list[MemberFile]) -> str | None:
    seen: dict[str, str] = {}
    for member in members:
        mine = member.parsed
        if mine.file_number is None:
            return f"{name}: holds {member.name}, which is named like a delivery, not a CCLF file"
        if (mine.environment, mine.entity_id) != (parsed.environment, parsed.entity_id):
            return (
                f"{name}: holds {member.name}, which is for {mine.environment}.{mine.entity_id}, "
                f"not {parsed.environment}.{parsed.entity_id}"
            )
        if (mine.run_out, mine.performance_year) != (parsed.run_out, parsed.performance_year):
            return (
                f"{name}: holds {member.name}, whose performance year or run-out flag "
                "differs from the delivery's"
            )
        if member.short_id in seen:
            first = seen[member.short_id]
            return f"{name}: holds two {member.short_id} files, {first} and {member.name}"
        seen[member.short_id] = member.name
    return None


def _group_loose_files(folder: Path, loose: list[tuple[Path, CclfName]]) -> list[Delivery]:
    """Extracted files lying in the input folder, one delivery per delivery date."""
    groups: dict[tuple[str, str, bool, int, dt.date], list[tuple[Path, CclfName]]] = {}
    for path, parsed in loose:
        key = (
            parsed.environment,
            parsed.entity_id,
            parsed.run_out,
            parsed.performance_year,
            parsed.delivered_at.date(),
        )
        groups.setdefault(key, []).append((path, parsed))
    return [_loose_delivery(folder, files) for files in groups.values()]


def _loose_delivery(folder: Path, files: list[tuple[Path, CclfName]]) -> Delivery:
    earliest = min((parsed for _, parsed in files), key=lambda parsed: parsed.delivered_at)
    parsed = replace(earliest, text=_delivery_name(earliest), file_number=None)
    members = [_disk_member(path, member) for path, member in files]
    return _delivery(folder, "loose files", parsed, members)


def _delivery_name(file_name: CclfName) -> str:
    """The zip name a delivery of this file would have: the file number dropped."""
    parts = file_name.text.split(".")
    parts[3] = "ZC" + parts[3][3:]
    return ".".join(parts)
