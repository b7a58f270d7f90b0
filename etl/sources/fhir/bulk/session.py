"""One `etl fetch fhir`: the HTTP session, the authentication and the client, wired."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from etl.errors import ConfigError
from etl.sources.fhir.bulk.auth import BackendServicesAuth, ClientSecretAuth, token_endpoint
from etl.sources.fhir.bulk.client import BulkExportClient, ExportRequest, ExportResult
from etl.sources.fhir.bulk.transport import Http, RetryPolicy

log = logging.getLogger(__name__)


def http_session(workers: int) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(4, workers + 2), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "omop-etl bulk-data-client"
    return session


def export(base_url: str, out_dir: Path, *, level: str = "system", group_id: str | None = None,
           since: str | None = None, types: tuple[str, ...] = (), client_id: str | None = None,
           key_file: Path | None = None, key_id: str | None = None,
           client_secret_file: Path | None = None, token_url: str | None = None,
           scope: str = "system/*.rs", workers: int = 4, policy: RetryPolicy | None = None,
           progress: Callable[[str], None] = log.info) -> ExportResult:
    """Run one export into `out_dir`; see client.py for the flow and what is resumed."""
    request = ExportRequest(level, group_id, since, types)
    http = Http(http_session(workers), policy or RetryPolicy())
    client = BulkExportClient(base_url, http, workers=workers, progress=progress)
    if key_file and client_secret_file:
        raise ConfigError("give --key-file or --client-secret-file, not both")
    if (key_file or client_secret_file) and not client_id:
        raise ConfigError("--client-id is needed with --key-file or --client-secret-file")
    if client_id:
        if not (key_file or client_secret_file):
            raise ConfigError("--client-id needs --key-file or --client-secret-file")
        endpoint = token_url or token_endpoint(http, base_url)
        if key_file:
            http.auth = BackendServicesAuth(http, endpoint, client_id, key_file, key_id, scope)
        else:
            assert client_secret_file is not None
            http.auth = ClientSecretAuth(http, endpoint, client_id, client_secret_file, scope)
    try:
        return client.export(request, out_dir)
    finally:
        http.session.close()
