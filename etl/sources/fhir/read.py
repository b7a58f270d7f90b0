"""FHIR files → rows of stg_fhir.resources: Bulk Data NDJSON lines and Bundle entries.

Each resource is parsed once with orjson, which also validates it: a line PostgreSQL
could not store as jsonb must not reach COPY, or the whole delivery would fail. The
resource lands as the text it arrived in (NDJSON) or as orjson writes it (Bundle
entries), next to its type, id, meta.lastUpdated and meta.versionId. A line that is not
a resource goes to quarantine with its file, line and reason; the rest lands. A resource
carrying an STU3-only element stops the delivery (`NotR4Error`): see versions.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from etl.sources.base import Reject
from etl.sources.fhir.versions import stu3_marker

BATCH_ROWS = 20_000
# Quarantined records keep this much of the raw text: enough to recognise the record.
RAW_LIMIT = 2_000
_BOM = b"\xef\xbb\xbf"

SCHEMA = pa.schema([
    ("line_number", pa.int32()),
    ("resource_type", pa.string()),
    ("resource_id", pa.string()),
    ("last_updated", pa.string()),
    ("version_id", pa.string()),
    ("is_deleted", pa.bool_()),
    ("resource", pa.large_string()),
])

# FHIR R4 §2.1.3 (RESTful API, "Resource Identity"): [type]/[id], optionally absolute and
# versioned (/_history/[vid]); Bundle.entry.request.url of a DELETE uses the same form.
_TYPE_AND_ID = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$"
)
# Bundle.entry.fullUrl of a resource without an id: urn:uuid:<uuid> or an absolute URL.
_LAST_SEGMENT = re.compile(r"([^/:]+)(?:/_history/[^/]*)?$")


class NotR4Error(Exception):
    """A resource is FHIR STU3 (or older): the delivery as a whole must not land."""


@dataclass
class ReadBatch:
    """Rows for stg_fhir.resources (SCHEMA) and the records sent to quarantine."""

    rows: pa.Table
    rejects: list[Reject] = field(default_factory=list)


class _Rows:
    """Column lists for one batch; cheaper than a row object per resource."""

    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self._reset()

    def _reset(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
        self.rejects: list[Reject] = []

    def __len__(self) -> int:
        return len(self.columns["line_number"])

    @property
    def pending(self) -> bool:
        return bool(len(self) or self.rejects)

    def add(self, line: int, resource_type: str, resource_id: str, last_updated: str | None,
            version_id: str | None, deleted: bool, text: str | None) -> None:
        columns = self.columns
        columns["line_number"].append(line)
        columns["resource_type"].append(resource_type)
        columns["resource_id"].append(resource_id)
        columns["last_updated"].append(last_updated)
        columns["version_id"].append(version_id)
        columns["is_deleted"].append(deleted)
        columns["resource"].append(text)

    def reject(self, line: int | None, reason: str, raw: str | bytes | None,
               element: str | None = None) -> None:
        if isinstance(raw, bytes):
            raw = raw[:RAW_LIMIT].decode("utf-8", "replace")
        self.rejects.append(Reject(self.file_name, line, element, reason,
                                   raw[:RAW_LIMIT] if raw else None))

    def take(self) -> ReadBatch:
        batch = ReadBatch(pa.table(self.columns, schema=SCHEMA), self.rejects)
        self._reset()
        return batch


def instant(value: object) -> str | None:
    """meta.lastUpdated as an ISO instant PostgreSQL reads, or None when it is not one.

    FHIR R4 `instant` always carries a zone; one without is read as UTC. Servers put
    placeholders here (BFD test responses say `IGNORED_FIELD`), which mean "unknown".
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat()


def _contains_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def _add_resource(rows: _Rows, line: int, resource: object, text: str, *,
                  fallback_id: str | None = None, last_modified: object = None) -> None:
    """One resource, or its quarantine record. Raises NotR4Error for STU3 content."""
    if not isinstance(resource, dict):
        rows.reject(line, "not a JSON object, so not a FHIR resource", text)
        return
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        rows.reject(line, "no resourceType, so not a FHIR resource", text, "resourceType")
        return
    resource_id = resource.get("id", fallback_id)
    if not isinstance(resource_id, str) or not resource_id.strip():
        rows.reject(line, f"{resource_type} without an id", text, f"{resource_type}.id")
        return
    marker = stu3_marker(resource)
    if marker:
        raise NotR4Error(f"{rows.file_name} line {line}: {marker}")
    # PostgreSQL's jsonb cannot hold U+0000; FHIR R4 strings may not contain it either
    # (§2.24.0.1 "string": no control characters other than tab, CR and LF).
    if "\\u0000" in text and _contains_nul(resource):
        rows.reject(line, f"{resource_type}/{resource_id} contains the character U+0000, "
                    "which FHIR strings may not hold", text)
        return
    meta = resource.get("meta")
    last_updated = version_id = None
    if isinstance(meta, dict):
        last_updated = instant(meta.get("lastUpdated"))
        version = meta.get("versionId")
        version_id = version if isinstance(version, str) else None
    rows.add(line, resource_type, resource_id, last_updated or instant(last_modified),
             version_id, False, text)


def _add_deletion(rows: _Rows, line: int, url: object, when: object, raw: object) -> None:
    match = _TYPE_AND_ID.search(url) if isinstance(url, str) else None
    if match is None:
        rows.reject(line, f"DELETE of {url!r}: only [type]/[id] deletions can be applied "
                    "(a conditional delete names no resource)", orjson.dumps(raw).decode(),
                    "Bundle.entry.request.url")
        return
    rows.add(line, match["type"], match["id"], instant(when), None, True, None)


def _add_entry(rows: _Rows, line: int, entry: object, deleted_at: str | None) -> None:
    """One Bundle.entry: a resource, a deletion (request.method DELETE), or a reject."""
    if not isinstance(entry, dict):
        rows.reject(line, "Bundle.entry is not a JSON object", orjson.dumps(entry).decode())
        return
    request = entry.get("request") if isinstance(entry.get("request"), dict) else {}
    response = entry.get("response") if isinstance(entry.get("response"), dict) else {}
    resource = entry.get("resource")
    if request.get("method") == "DELETE":
        _add_deletion(rows, line, request.get("url"), response.get("lastModified") or deleted_at,
                      entry)
        return
    if resource is None:
        rows.reject(line, "Bundle.entry without a resource", orjson.dumps(entry).decode(),
                    "Bundle.entry.resource")
        return
    full_url = entry.get("fullUrl")
    match = _LAST_SEGMENT.search(full_url) if isinstance(full_url, str) else None
    _add_resource(rows, line, resource, orjson.dumps(resource).decode(),
                  fallback_id=match.group(1) if match else None,
                  last_modified=response.get("lastModified"))


def _add_bundle(rows: _Rows, bundle: dict[str, Any], file_line: int | None,
                deleted_at: str | None) -> Iterator[ReadBatch]:
    """A Bundle's entries; `file_line` is the NDJSON line holding it, or None for a .json
    Bundle, whose entries are numbered by their 1-based position instead."""
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        rows.reject(file_line, "Bundle.entry is not a list", None, "Bundle.entry")
        return
    for position, entry in enumerate(entries, 1):
        _add_entry(rows, file_line or position, entry, deleted_at)
        if len(rows) >= BATCH_ROWS:
            yield rows.take()


def read_ndjson(lines: Iterable[bytes], file_name: str, *, deletions: bool = False,
                deleted_at: str | None = None) -> Iterator[ReadBatch]:
    """Bulk Data NDJSON: one resource per line (Bulk Data Access IG, "Bulk Data Output
    File Format"). With `deletions` the file is one of the manifest's `deleted` files:
    each line a Bundle whose entries are DELETEs, dated `deleted_at` (the export's
    transactionTime) unless an entry's response says when."""
    rows = _Rows(file_name)
    for number, raw_line in enumerate(lines, 1):
        line = raw_line[3:] if number == 1 and raw_line.startswith(_BOM) else raw_line
        line = line.strip()
        if not line:
            continue
        try:
            parsed = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            rows.reject(number, f"not valid JSON: {error}", line)
            continue
        if not deletions:
            _add_resource(rows, number, parsed, line.decode())
        elif isinstance(parsed, dict) and parsed.get("resourceType") == "Bundle":
            yield from _add_bundle(rows, parsed, number, deleted_at)
        else:
            rows.reject(number, "a line of a `deleted` file must be a Bundle of DELETE "
                        "entries (Bulk Data Access IG v2)", line)
        if len(rows) >= BATCH_ROWS:
            yield rows.take()
    if rows.pending:
        yield rows.take()


def read_json(data: bytes, file_name: str) -> Iterator[ReadBatch]:
    """A .json file: a Bundle (collection, transaction, batch, searchset, history, ...)
    whose entries land one by one, or a single resource."""
    rows = _Rows(file_name)
    try:
        parsed = orjson.loads(data[3:] if data.startswith(_BOM) else data)
    except orjson.JSONDecodeError as error:
        rows.reject(None, f"not valid JSON: {error}", data)
        yield rows.take()
        return
    if isinstance(parsed, dict) and parsed.get("resourceType") == "Bundle":
        yield from _add_bundle(rows, parsed, None, None)
    else:
        _add_resource(rows, 1, parsed, orjson.dumps(parsed).decode())
    if rows.pending:
        yield rows.take()
