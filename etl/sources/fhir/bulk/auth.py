"""Access tokens for a Bulk Data server.

SMART App Launch v2, "Backend Services": the client proves who it is with a JWT it signs
with its private key (`client_assertion`, RS384 or ES384, at most five minutes valid,
`jti` unique) and receives an access token from the token endpoint (found in the
server's /.well-known/smart-configuration). CMS BCDA's own token endpoint instead takes
the client id and secret as HTTP Basic credentials; both are supported. Tokens are
renewed shortly before they expire and when a server answers 401. Neither the key, the
secret nor a token ever reaches a log line or an error message.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from etl.errors import ConfigError
from etl.sources.fhir.bulk import jws
from etl.sources.fhir.bulk.transport import FetchError, Http, outcome_text, redact, require_secure

log = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# SMART v2 scopes for a system-level export of everything the client may read.
DEFAULT_SCOPE = "system/*.rs"
# The client assertion's lifetime; SMART Backend Services allows at most five minutes.
_ASSERTION_SECONDS = 300
# Renew a token this long before the server says it expires.
_RENEW_MARGIN = 60.0


@dataclass
class _Token:
    value: str
    expires_at: float


def token_endpoint(http: Http, base_url: str) -> str:
    """The token endpoint from the server's SMART configuration (SMART App Launch v2 §2.1)."""
    url = base_url.rstrip("/") + "/.well-known/smart-configuration"
    response = http.request("GET", url, authorize=False, headers={"Accept": "application/json"})
    try:
        endpoint = response.json().get("token_endpoint") if response.ok else None
    except ValueError:
        endpoint = None
    if not isinstance(endpoint, str) or not endpoint:
        raise ConfigError(f"{redact(url)} gives no token_endpoint ({outcome_text(response)}); "
                          "pass --token-url")
    return endpoint


class _TokenClient:
    """Fetches tokens from a token endpoint and keeps the current one."""

    def __init__(self, http: Http, token_url: str, client_id: str, scope: str,
                 clock: Callable[[], float] = time.time) -> None:
        require_secure(token_url)
        self.http = http
        self.token_url = token_url
        self.client_id = client_id
        self.scope = scope
        self.clock = clock
        self._token: _Token | None = None
        # Parallel downloads share one token; only one of them fetches a new one.
        self._lock = threading.Lock()

    def authorization(self, *, replace: str | None = None) -> str:
        with self._lock:
            token = self._token
            stale = token is not None and replace == f"Bearer {token.value}"
            if stale or token is None or self.clock() >= token.expires_at - _RENEW_MARGIN:
                token = self._token = self._fetch()
            return f"Bearer {token.value}"

    def _post(self, **kwargs: object) -> requests.Response:
        return self.http.request("POST", self.token_url, authorize=False,
                                 headers={"Accept": "application/json"}, **kwargs)

    def _request(self) -> requests.Response:
        raise NotImplementedError

    def _fetch(self) -> _Token:
        now = self.clock()
        response = self._request()
        if not response.ok:
            raise FetchError(f"the token endpoint {redact(self.token_url)} refused client "
                             f"{self.client_id}: {outcome_text(response)}")
        try:
            body = response.json()
            value = body["access_token"]
            lifetime = float(body.get("expires_in", _ASSERTION_SECONDS))
        except (ValueError, KeyError, TypeError) as error:
            raise FetchError(f"the token endpoint {redact(self.token_url)} answered without "
                             "an access_token") from error
        log.info("access token for client %s, valid %.0f s", self.client_id, lifetime)
        return _Token(str(value), now + lifetime)


class BackendServicesAuth(_TokenClient):
    """SMART Backend Services: a signed JWT client assertion buys an access token."""

    def __init__(self, http: Http, token_url: str, client_id: str, key_file: Path,
                 key_id: str | None = None, scope: str = DEFAULT_SCOPE,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(http, token_url, client_id, scope, clock)
        self._key = jws.load_private_key(key_file)
        self.key_id = key_id or jws.thumbprint(self._key)

    def client_assertion(self) -> str:
        now = int(self.clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "exp": now + _ASSERTION_SECONDS,
            "jti": secrets.token_urlsafe(24),
        }
        return jws.sign(claims, self._key, self.key_id)

    def _request(self) -> requests.Response:
        return self._post(data={
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.client_assertion(),
        })


class ClientSecretAuth(_TokenClient):
    """CMS BCDA (and other OAuth 2.0 client-credentials servers): id and secret, Basic."""

    def __init__(self, http: Http, token_url: str, client_id: str, secret_file: Path,
                 scope: str = DEFAULT_SCOPE, clock: Callable[[], float] = time.time) -> None:
        super().__init__(http, token_url, client_id, scope, clock)
        try:
            self._secret = secret_file.read_text().strip()
        except OSError as error:
            raise ConfigError(
                f"cannot read the client secret file {secret_file} ({error.strerror})") from error

    def _request(self) -> requests.Response:
        return self._post(auth=(self.client_id, self._secret),
                          data={"grant_type": "client_credentials", "scope": self.scope})
