"""Which FHIR deliveries an input folder holds.

A delivery unit is one folder with FHIR files in it: the output of one Bulk Data export
(NDJSON files, one or more per resource type, plain or gzipped, with or without the
export's manifest) and/or Bundles (`.json`). Folders are found recursively; each lands
as a whole or not at all, oldest export first (manifest `transactionTime`).

Bulk Data Access IG v2 ("Response - Complete Status"): the manifest lists `output`,
`deleted` and `error` files by URL with an optional resource `count`. `etl fetch fhir`
saves it as `manifest.json` and adds the local name of each file (`localFile`); a
manifest saved by another client is matched by the last segment of each URL. A listed
file that is missing, or whose line count disagrees with `count`, rejects the unit, as
a truncated download would otherwise land silently.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import orjson

from etl.errors import BadInputError
from etl.sources.base import InputFile, Unit
from etl.sources.fhir.read import instant

MANIFEST_NAME = "manifest.json"
# A manifest is small; a larger .json file is read as a Bundle without being opened here.
_MANIFEST_MAX_BYTES = 5 * 1024 * 1024
# Files beside the exports that are not FHIR: the synthetic generators' expected results.
_SIDE_FILES = {"truth.json"}
# Suffixes of files still being written (etl fetch fhir writes `.part` until complete).
_PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".download")


@dataclass(frozen=True)
class FhirFile:
    path: Path
    is_ndjson: bool
    # Listed in the manifest's `deleted` array: Bundles of DELETE entries.
    holds_deletions: bool = False
    expected_count: int | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def gzipped(self) -> bool:
        return self.path.name.lower().endswith(".gz")

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()

    def content(self) -> bytes:
        """The file's bytes, decompressed when gzipped."""
        data = self.read_bytes()
        return gzip.decompress(data) if self.gzipped else data


@dataclass
class Export:
    """One folder of FHIR files: the handle of a Unit."""

    folder: Path
    name: str
    files: list[FhirFile] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    export_log: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def transaction_time(self) -> str | None:
        """The manifest's transactionTime as an ISO instant (None when absent or invalid)."""
        return instant((self.manifest or {}).get("transactionTime"))

    def unit(self) -> Unit:
        detail: dict[str, object] = {
            "folder": str(self.folder),
            "format": _format(self.files),
            "files": len(self.files),
        }
        if self.manifest is not None:
            detail |= {"transaction_time": self.transaction_time,
                       "request": self.manifest.get("request")}
        if self.export_log:
            detail["export_log"] = self.export_log
        files = [InputFile(name=f.name, origin=str(f.path), read_bytes=f.read_bytes)
                 for f in self.files]
        rejection = "; ".join(self.problems) if self.problems else None
        return Unit(self.name, files, (self.transaction_time or "", self.name), rejection,
                    detail, self)


def _format(files: list[FhirFile]) -> str:
    kinds = {file.is_ndjson for file in files}
    if len(kinds) > 1:
        return "mixed"
    return "bulk ndjson" if kinds == {True} else "bundles"


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.startswith(".") or name.endswith(_PARTIAL_SUFFIXES) or name in _SIDE_FILES:
        return None
    for suffix, kind in ((".ndjson", "ndjson"), (".ndjson.gz", "ndjson"), (".json", "json"),
                         (".json.gz", "json")):
        if name.endswith(suffix):
            return kind
    return None


def _load_small_json(path: Path) -> object:
    if path.stat().st_size > _MANIFEST_MAX_BYTES or path.name.lower().endswith(".gz"):
        return None
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return None  # read later as a Bundle, and quarantined there with the reason


def _is_manifest(document: object) -> bool:
    return (isinstance(document, dict) and "transactionTime" in document
            and isinstance(document.get("output"), list))


def _is_export_log(path: Path) -> bool:
    """The SMART bulk export log (log.ndjson: exportId/eventId events), not resources."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as stream:
            first_line = next((line for line in stream if line.strip()), b"")
        first = orjson.loads(first_line) if first_line else None
    except (OSError, EOFError, zlib.error, orjson.JSONDecodeError):
        return False  # reading it as resources will say what is wrong with it
    return (isinstance(first, dict) and "resourceType" not in first
            and {"exportId", "eventId"} <= first.keys())


def _listed_name(entry: dict[str, Any]) -> str | None:
    local = entry.get("localFile")
    if isinstance(local, str) and local:
        return PurePosixPath(local).name
    url = entry.get("url")
    if isinstance(url, str) and url:
        return PurePosixPath(urlparse(url).path).name or None
    return None


def _apply_manifest(export: Export, candidates: dict[str, FhirFile]) -> None:
    """Mark deletion files, take expected counts, and note listed files that are absent."""
    manifest = export.manifest or {}
    for section in ("output", "deleted", "error"):
        entries = manifest.get(section) or []
        if not isinstance(entries, list):
            export.problems.append(f"{MANIFEST_NAME}: `{section}` is not a list")
            continue
        for entry in entries:
            name = _listed_name(entry) if isinstance(entry, dict) else None
            if name is None:
                export.problems.append(f"{MANIFEST_NAME}: a `{section}` entry names no file")
                continue
            found = candidates.get(name)
            if found is None:
                export.problems.append(
                    f"the manifest lists {section} file {name} "
                    f"({entry.get('type', 'no type')}), which is not in {export.folder}")
                continue
            count = entry.get("count")
            candidates[name] = FhirFile(
                found.path, found.is_ndjson, holds_deletions=section == "deleted",
                expected_count=count if isinstance(count, int) and section != "deleted"
                else None)


def _read_folder(folder: Path, files: list[Path], input_dir: Path) -> Export:
    relative = folder.relative_to(input_dir).as_posix()
    export = Export(folder, input_dir.name if relative == "." else relative)
    candidates: dict[str, FhirFile] = {}
    manifests: list[tuple[Path, dict[str, Any]]] = []
    for path in files:
        kind = _kind(path)
        if kind == "json":
            document = _load_small_json(path)
            if _is_manifest(document):
                assert isinstance(document, dict)
                manifests.append((path, document))
                continue
        elif kind == "ndjson" and _is_export_log(path):
            export.export_log = path.name
            continue
        candidates[path.name] = FhirFile(path, kind == "ndjson")
    if len(manifests) > 1:
        names = ", ".join(path.name for path, _ in manifests)
        export.problems.append(f"{folder} holds more than one export manifest ({names})")
    elif manifests:
        export.manifest = manifests[0][1]
        _apply_manifest(export, candidates)
    export.files = [candidates[name] for name in sorted(candidates)]
    return export


def _folders(input_dir: Path) -> Iterator[tuple[Path, list[Path]]]:
    """Each folder under `input_dir` with its candidate files; symlinked folders are
    followed, each real folder visited once (a link loop cannot recurse forever)."""
    seen: set[Path] = set()
    for root, dirs, names in os.walk(input_dir, followlinks=True):
        folder = Path(root)
        real = folder.resolve()
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        files = [folder / name for name in sorted(names) if _kind(folder / name)]
        if files:
            yield folder, [path for path in files if path.is_file()]


def discover(input_dir: Path) -> list[Export]:
    """Every folder under `input_dir` (itself included) holding FHIR files, oldest first."""
    if not input_dir.is_dir():
        raise BadInputError(f"{input_dir}: input folder does not exist or is not a folder")
    exports = []
    try:
        for folder, files in _folders(input_dir):
            try:
                exports.append(_read_folder(folder, files, input_dir))
            except OSError as error:
                exports.append(Export(folder, folder.name,
                                      problems=[f"{folder} cannot be read ({error})"]))
    except OSError as error:
        raise BadInputError(f"{input_dir}: input folder cannot be listed ({error})") from error
    exports = [export for export in exports if export.files or export.problems]
    return sorted(exports, key=lambda e: (e.transaction_time or "", e.name))
