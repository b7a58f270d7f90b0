"""A Bulk Data Access IG v2 client: kick-off, status polling, parallel resumable downloads.

    client = BulkExportClient("https://server/fhir", http)
    client.export(ExportRequest("group", group_id="42", types=("Patient",)), out_dir)

The flow (Bulk Data Access IG v2.0.0, "Bulk Data Export Operation Request Flow"):
1. kick-off: GET [base]/$export, [base]/Patient/$export or [base]/Group/[id]/$export
   with `Prefer: respond-async`; 202 Accepted names the status URL in Content-Location.
2. status: GET it until 200 (the manifest); 202 means "still running" (X-Progress says
   how far, Retry-After when to ask again); 4xx/5xx with an OperationOutcome means the
   export failed, unless the issue code is `transient`.
3. files: GET each manifest URL, with the access token only when the manifest says
   `requiresAccessToken` (otherwise the URLs may be pre-signed storage a token must not
   reach). Files download in parallel; a connection that drops resumes with a Range
   request where it stopped. Plain bytes are requested (Accept-Encoding: identity) so
   byte ranges always refer to the file as saved.
4. DELETE the status URL, which tells the server the files may go.

Everything the client learns is kept in `.export-state.json` in the output folder, so
running the same command again after a crash resumes polling or downloading the same
export instead of starting another. Files are written as `<name>.part` and renamed,
with `manifest.json` (the server's manifest plus each file's `localFile`) last, only
when every file is complete: `etl run` never sees half an export.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from etl.errors import ConfigError
from etl.sources.fhir.bulk.transport import (
    FetchError,
    Http,
    is_transient,
    outcome_text,
    redact,
    require_secure,
    retry_after,
)
from etl.sources.fhir.discover import MANIFEST_NAME

log = logging.getLogger(__name__)

STATE_NAME = ".export-state.json"
LEVELS = ("system", "patient", "group")
# Status polls per export at most; with the policy's max_wait this bounds the loop twice.
MAX_POLLS = 20_000


@dataclass(frozen=True)
class ExportRequest:
    """What to export: the level, a group for group level, `_since` and `_type`."""

    level: str = "system"
    group_id: str | None = None
    since: str | None = None
    types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ConfigError(f"export level {self.level!r}: one of {', '.join(LEVELS)}")
        if (self.level == "group") != bool(self.group_id):
            raise ConfigError("a group-level export needs a group id, and only it takes one")

    @property
    def path(self) -> str:
        return {"system": "$export", "patient": "Patient/$export",
                "group": f"Group/{self.group_id}/$export"}[self.level]

    @property
    def parameters(self) -> dict[str, str]:
        parameters = {"_outputFormat": "application/fhir+ndjson"}
        if self.since:
            parameters["_since"] = self.since
        if self.types:
            parameters["_type"] = ",".join(self.types)
        return parameters


@dataclass
class _State:
    """What survives a crash: the request, the status URL, the manifest, finished files."""

    request: dict[str, Any] | None = None
    status_url: str | None = None
    manifest: dict[str, Any] | None = None
    completed: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, folder: Path) -> _State:
        path = folder / STATE_NAME
        if not path.is_file():
            return cls()
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as error:
            raise FetchError(f"{path} is damaged; delete it to start a new export") from error

    def save(self, folder: Path) -> None:
        path = folder / STATE_NAME
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=1))
        temporary.replace(path)


@dataclass(frozen=True)
class _File:
    section: str  # output | deleted | error
    resource_type: str
    url: str
    local_name: str


@dataclass
class ExportResult:
    folder: Path
    transaction_time: str
    files: dict[str, int]  # local file name -> bytes


def _planned_files(manifest: dict[str, Any]) -> list[_File]:
    """Every file of the manifest with its local name, `<type>.<nnn>.ndjson`."""
    files: list[_File] = []
    counters: dict[tuple[str, str], int] = {}
    for section, infix in (("output", ""), ("deleted", ".deleted"), ("error", ".error")):
        for entry in manifest.get(section) or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
                raise FetchError(f"the manifest's {section} list has an entry without a url")
            resource_type = str(entry.get("type") or "OperationOutcome")
            if not resource_type.isalnum():
                raise FetchError(f"the manifest names a file of type {resource_type!r}")
            number = counters.get((section, resource_type), 0)
            counters[(section, resource_type)] = number + 1
            files.append(_File(section, resource_type, entry["url"],
                               f"{resource_type}{infix}.{number:03d}.ndjson"))
    return files


def _check_manifest(manifest: object) -> dict[str, Any]:
    if not (isinstance(manifest, dict) and isinstance(manifest.get("transactionTime"), str)
            and isinstance(manifest.get("output"), list)):
        raise FetchError("the completed export's manifest has no transactionTime or output "
                         "list (Bulk Data Access IG v2, 'Response - Complete Status')")
    return manifest


class BulkExportClient:
    """Runs one export from kick-off to files on disk; see the module notes."""

    # Bytes read per write: a dropped connection loses at most the chunk being read.
    chunk_size = 1 << 20

    def __init__(self, base_url: str, http: Http, *, workers: int = 4,
                 progress: Callable[[str], None] = log.info) -> None:
        require_secure(base_url)
        self.base_url = base_url.rstrip("/") + "/"
        self.http = http
        self.workers = max(1, workers)
        self.progress = progress
        self._lock = threading.Lock()

    # -- 1. kick-off ---------------------------------------------------------------------
    def kick_off(self, request: ExportRequest) -> str:
        url = urljoin(self.base_url, request.path)
        response = self.http.request(
            "GET", url, params=request.parameters,
            headers={"Accept": "application/fhir+json", "Prefer": "respond-async"})
        with response:
            location = response.headers.get("Content-Location")
            if response.status_code != 202 or not location:
                raise FetchError(f"the server refused the export {redact(url)}: "
                                 f"{outcome_text(response)}")
        status_url = urljoin(url, location)
        require_secure(status_url)
        self.progress(f"export started at {redact(url)}")
        return status_url

    # -- 2. status -----------------------------------------------------------------------
    def wait(self, status_url: str) -> dict[str, Any]:
        policy = self.http.policy
        interval = policy.poll_interval
        waited = 0.0
        for _ in range(MAX_POLLS):
            response = self.http.request("GET", status_url, retry_on=frozenset({429}),
                                         headers={"Accept": "application/json"})
            with response:
                status = response.status_code
                if status == 200:
                    try:
                        return _check_manifest(response.json())
                    except ValueError as error:
                        raise FetchError("the completed export's manifest is not JSON") from error
                if status == 202 or (status >= 500 and is_transient(response)):
                    progress = (response.headers.get("X-Progress") or "in progress")[:100]
                    told = retry_after(response.headers.get("Retry-After"))
                else:
                    raise FetchError(f"the export failed: {outcome_text(response)}")
            pause = min(told if told is not None else interval, policy.max_poll_interval)
            if waited + pause > policy.max_wait:
                raise FetchError(
                    f"the export still runs after {waited / 60:.0f} min; run the same command "
                    "again to keep waiting for it")
            self.progress(f"export {progress}; next status check in {pause:.0f} s")
            self.http.sleep(pause)
            waited += pause
            interval = min(interval * 1.5, policy.max_poll_interval)
        raise FetchError(f"the export was not finished after {MAX_POLLS} status checks")

    # -- 3. files ------------------------------------------------------------------------
    def _download(self, file: _File, folder: Path, with_token: bool) -> int:
        require_secure(file.url)
        part = folder / (file.local_name + ".part")
        attempts = self.http.policy.attempts
        for attempt in range(1, attempts + 1):
            offset = part.stat().st_size if part.exists() else 0
            headers = {"Accept": "application/fhir+ndjson", "Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            response = self.http.request("GET", file.url, authorize=with_token,
                                         headers=headers, stream=True)
            with response:
                resumed = response.status_code == 206
                if response.status_code == 416 or (resumed and not _starts_at(response, offset)):
                    part.unlink(missing_ok=True)  # what we hold does not fit: start over
                    continue
                if response.status_code not in (200, 206):
                    raise FetchError(f"{file.local_name} ({redact(file.url)}): "
                                     f"{outcome_text(response)}")
                try:
                    with part.open("ab" if resumed else "wb") as handle:
                        for chunk in response.iter_content(self.chunk_size):
                            handle.write(chunk)
                except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError,
                        requests.Timeout) as error:
                    if attempt == attempts:
                        raise FetchError(f"{file.local_name}: the download broke off "
                                         f"{attempts} times ({type(error).__name__})") from error
                    self.progress(f"{file.local_name}: connection lost at "
                                  f"{part.stat().st_size:,} bytes; resuming")
                    self.http.sleep(self.http.policy.wait_before(attempt))
                    continue
            return part.stat().st_size
        raise FetchError(f"{file.local_name}: could not be downloaded in {attempts} tries")

    def download(self, manifest: dict[str, Any], folder: Path, state: _State) -> dict[str, int]:
        files = _planned_files(manifest)
        with_token = bool(manifest.get("requiresAccessToken"))
        sizes: dict[str, int] = {}

        def fetch(file: _File) -> None:
            if file.local_name in state.completed:
                done = folder / (file.local_name + ".part")
                sizes[file.local_name] = (done if done.exists() else folder / file.local_name
                                          ).stat().st_size
                return
            size = self._download(file, folder, with_token)
            with self._lock:
                sizes[file.local_name] = size
                state.completed.append(file.local_name)
                state.save(folder)
            self.progress(f"downloaded {file.local_name} ({size:,} bytes)")

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for future in [pool.submit(fetch, file) for file in files]:
                future.result()
        return sizes

    # -- the whole flow ------------------------------------------------------------------
    def export(self, request: ExportRequest, folder: Path) -> ExportResult:
        folder.mkdir(parents=True, exist_ok=True)
        if (folder / MANIFEST_NAME).exists():
            raise FetchError(f"{folder} already holds a finished export; use a new folder")
        state = _State.load(folder)
        wanted = {"base_url": self.base_url, **asdict(request)}
        wanted["types"] = list(request.types)
        if state.request is not None and state.request != wanted:
            raise FetchError(f"{folder} holds an unfinished export of another request; "
                             "use a new folder, or repeat that request to finish it")
        if state.manifest is None:
            if state.status_url is None:
                state.request, state.status_url = wanted, self.kick_off(request)
                state.save(folder)
            else:
                self.progress("resuming the unfinished export of this folder")
            state.manifest = self.wait(state.status_url)
            state.save(folder)
        sizes = self.download(state.manifest, folder, state)
        self._publish(state.manifest, folder)
        self._release(state.status_url)
        (folder / STATE_NAME).unlink(missing_ok=True)
        return ExportResult(folder, state.manifest["transactionTime"], sizes)

    def _publish(self, manifest: dict[str, Any], folder: Path) -> None:
        """Rename every file into place, then write manifest.json with local names."""
        local = {(f.section, f.url): f.local_name for f in _planned_files(manifest)}
        for name in local.values():
            part = folder / (name + ".part")
            if part.exists():  # else renamed by an earlier run that stopped half-way
                part.replace(folder / name)
        saved = json.loads(json.dumps(manifest))
        for section in ("output", "deleted", "error"):
            for entry in saved.get(section) or []:
                entry["localFile"] = local[(section, entry["url"])]
        temporary = folder / (MANIFEST_NAME + ".part")
        temporary.write_text(json.dumps(saved, indent=1))
        temporary.replace(folder / MANIFEST_NAME)

    def _release(self, status_url: str | None) -> None:
        """Tell the server the files were fetched (IG v2: the client SHOULD DELETE)."""
        if not status_url:
            return
        try:
            self.http.request("DELETE", status_url, retry_on=frozenset()).close()
        except FetchError as error:
            log.info("the server did not take the export's deletion: %s", error)


def _starts_at(response: requests.Response, offset: int) -> bool:
    """Content-Range `bytes <first>-<last>/<length>` starts where the part file ends."""
    content_range = response.headers.get("Content-Range", "")
    try:
        first = int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return False
    return first == offset
