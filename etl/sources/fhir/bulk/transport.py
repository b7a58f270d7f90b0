"""HTTP for the Bulk Data client: bounded retries, Retry-After, bearer tokens.

Bulk Data Access IG v2: servers answer 429 (too many requests) and 5xx with an optional
Retry-After (RFC 9110 §10.2.3: seconds or an HTTP date); a client waits and tries again,
a bounded number of times. A 401 on a request with a token means the token expired or
was revoked: a new token (unless another download already got one), and another try.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import requests

from etl.errors import ConfigError, EtlError

log = logging.getLogger(__name__)

RETRYABLE = frozenset({429, 500, 502, 503, 504})
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class FetchError(EtlError):
    """A Bulk Data export could not be started, finished or downloaded."""

    exit_code = 8


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often the client waits; every loop is bounded by these."""

    attempts: int = 6  # per request, for 429, 5xx and dropped connections
    backoff: float = 2.0  # first wait when the server gives no Retry-After, doubled after
    max_backoff: float = 120.0
    poll_interval: float = 10.0  # status polls when the server gives no Retry-After
    max_poll_interval: float = 300.0
    max_wait: float = 12 * 3600.0  # an export still running after this is abandoned
    timeout: float = 120.0  # connect and read timeout of one request

    def wait_before(self, attempt: int) -> float:
        return min(self.backoff * 2 ** (attempt - 1), self.max_backoff)


class TokenSource(Protocol):
    def authorization(self, *, replace: str | None = None) -> str:
        """The Authorization header value; a new token when `replace` is the current one."""
        ...


def redact(url: str) -> str:
    """A URL fit for a log line: no query string (pre-signed file URLs carry credentials
    there), no user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def require_secure(url: str) -> None:
    """Tokens and health data travel over TLS; plain http only to this machine."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return
    raise ConfigError(f"{redact(url)}: only https URLs (or http on this machine) are fetched")


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def outcome_text(response: requests.Response) -> str:
    """What an error response says: its OperationOutcome's diagnostics, else its status."""
    detail = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        issues = body.get("issue") if body.get("resourceType") == "OperationOutcome" else None
        if isinstance(issues, list):
            detail = "; ".join(
                str(issue.get("diagnostics") or issue.get("details", {}).get("text")
                    or issue.get("code"))
                for issue in issues if isinstance(issue, dict))
        elif body.get("error"):  # OAuth 2.0 (RFC 6749 §5.2) error responses
            detail = f"{body['error']}: {body.get('error_description', '')}".rstrip(": ")
    return f"HTTP {response.status_code}" + (f" ({detail})" if detail else "")


def is_transient(response: requests.Response) -> bool:
    """Bulk Data IG v2, status request: an OperationOutcome whose issue code is
    `transient` reports a polling failure, not a failed export."""
    try:
        body = response.json()
    except ValueError:
        return False
    issues = body.get("issue") if isinstance(body, dict) else None
    return isinstance(issues, list) and any(
        isinstance(issue, dict) and issue.get("code") == "transient" for issue in issues)


class Http:
    """requests with the retry policy and, when given, a bearer token."""

    def __init__(self, session: requests.Session, policy: RetryPolicy,
                 auth: TokenSource | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.session = session
        self.policy = policy
        self.auth = auth
        self.sleep = sleep

    def request(self, method: str, url: str, *, authorize: bool = True,
                retry_on: frozenset[int] = RETRYABLE, headers: dict[str, str] | None = None,
                **kwargs: Any) -> requests.Response:
        for attempt in range(1, self.policy.attempts + 1):
            sent = dict(headers or {})
            if authorize and self.auth is not None:
                sent["Authorization"] = self.auth.authorization()
            try:
                response = self.session.request(method, url, headers=sent,
                                                timeout=self.policy.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                if attempt == self.policy.attempts:
                    raise FetchError(f"{method} {redact(url)}: no answer after {attempt} tries "
                                     f"({type(error).__name__})") from error
                self._wait(self.policy.wait_before(attempt), f"{method} {redact(url)}: no answer")
                continue
            if response.status_code == 401 and authorize and self.auth \
                    and attempt < self.policy.attempts:
                # The token expired or was revoked: a new one, then the same request.
                response.close()
                self.auth.authorization(replace=sent["Authorization"])
                continue
            if response.status_code in retry_on and attempt < self.policy.attempts:
                wait = retry_after(response.headers.get("Retry-After"))
                response.close()
                self._wait(min(wait if wait is not None else self.policy.wait_before(attempt),
                               self.policy.max_backoff),
                           f"{method} {redact(url)}: HTTP {response.status_code}")
                continue
            return response
        raise FetchError(
            f"{method} {redact(url)}: still refused after {self.policy.attempts} tries")

    def _wait(self, seconds: float, why: str) -> None:
        log.info("%s; trying again in %.1f s", why, seconds)
        self.sleep(seconds)
