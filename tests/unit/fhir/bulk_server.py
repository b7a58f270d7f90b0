"""A small FHIR Bulk Data server for the client's tests, on 127.0.0.1 only.

It follows the Bulk Data Access IG v2 closely enough to be a fair opponent: SMART
Backend Services token endpoint (signed JWT client assertions, checked with the
client's public key), $export kick-off at system, Patient and Group level with
`_type` and `_since`, status polling with X-Progress and Retry-After, manifest with
`requiresAccessToken`, file downloads with byte ranges, and DELETE of the job. A few
switches make it misbehave the way real servers do: answer 429 first, cut a file
download half-way, fail the job, expire tokens early.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Job:
    level: str
    types: tuple[str, ...]
    since: str | None
    polls_left: int
    failed: bool = False
    deleted: bool = False


@dataclass
class Behaviour:
    """How the server misbehaves; the defaults are a well-behaved server."""

    polls_before_done: int = 2
    retry_after: str = "0"
    kickoff_429s: int = 0  # answer the first kick-offs with 429 Too Many Requests
    file_429s: int = 0  # the first file requests get 429
    cut_files_once: bool = False  # each file's first download stops half-way
    fail_job: bool = False  # the export fails (500 + OperationOutcome)
    transient_polls: int = 0  # status polls that fail with a `transient` issue first
    token_uses: int | None = None  # a token stops working after this many requests
    token_lifetime: int = 300
    requires_token: bool = True
    ranges: bool = True  # honour Range requests


@dataclass
class BulkServer:
    """Serve `resources` (type -> resources) to the client whose public key is given."""

    resources: dict[str, list[dict[str, Any]]]
    client_id: str
    public_key: Any
    groups: dict[str, set[str]] = field(default_factory=dict)  # group id -> patient ids
    client_secret: str | None = None  # also take HTTP Basic client credentials (CMS BCDA)
    behaviour: Behaviour = field(default_factory=Behaviour)
    jobs: dict[str, Job] = field(default_factory=dict)
    tokens: dict[str, list[float]] = field(default_factory=dict)  # token -> [expiry, uses]
    seen_jtis: set[str] = field(default_factory=set)
    log: list[str] = field(default_factory=list)
    ranges_served: list[str] = field(default_factory=list)  # "<job>/<type> from <byte>"
    _counts: dict[str, int] = field(default_factory=dict)
    _cut: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/fhir"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/auth/token"

    def __enter__(self) -> BulkServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def count(self, key: str) -> int:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]

    # -- SMART Backend Services ------------------------------------------------------------
    def verify_assertion(self, assertion: str) -> str | None:
        """None when the JWT is a valid client assertion, else why not."""
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            header = json.loads(_unb64(header_b64))
            claims = json.loads(_unb64(claims_b64))
            signature = _unb64(signature_b64)
        except ValueError:
            return "malformed JWT"
        signed = f"{header_b64}.{claims_b64}".encode()
        try:
            if header.get("alg") == "RS384" and isinstance(self.public_key, rsa.RSAPublicKey):
                self.public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA384())
            elif header.get("alg") == "ES384" and isinstance(self.public_key,
                                                             ec.EllipticCurvePublicKey):
                der = encode_dss_signature(int.from_bytes(signature[:48], "big"),
                                           int.from_bytes(signature[48:], "big"))
                self.public_key.verify(der, signed, ec.ECDSA(hashes.SHA384()))
            else:
                return f"unexpected alg {header.get('alg')}"
        except InvalidSignature:
            return "bad signature"
        now = time.time()
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            return "unknown client"
        if claims.get("aud") != self.token_url:
            return "wrong audience"
        if not (now < claims.get("exp", 0) <= now + 310):
            return "expired or too long-lived assertion"
        if not header.get("kid") or claims.get("jti") in self.seen_jtis:
            return "kid missing or jti reused"
        self.seen_jtis.add(claims["jti"])
        return None

    def issue_token(self) -> dict[str, Any]:
        token = uuid.uuid4().hex
        with self._lock:
            self.tokens[token] = [time.time() + self.behaviour.token_lifetime, 0]
        return {"access_token": token, "token_type": "bearer",
                "expires_in": self.behaviour.token_lifetime, "scope": "system/*.rs"}

    def token_ok(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        with self._lock:
            entry = self.tokens.get(authorization.removeprefix("Bearer "))
            if entry is None or entry[0] < time.time():
                return False
            entry[1] += 1
            limit = self.behaviour.token_uses
            return limit is None or entry[1] <= limit

    # -- export ----------------------------------------------------------------------------
    def selected(self, job: Job) -> dict[str, list[dict[str, Any]]]:
        chosen = {t: rs for t, rs in self.resources.items() if not job.types or t in job.types}
        if job.since:
            chosen = {t: [r for r in rs if r.get("meta", {}).get("lastUpdated", "") > job.since]
                      for t, rs in chosen.items()}
        if job.level.startswith("Group/"):
            members = self.groups[job.level.removeprefix("Group/")]
            chosen = {t: [r for r in rs if _patient_of(r) in members] for t, rs in chosen.items()}
        return {t: rs for t, rs in chosen.items() if rs}

    def manifest(self, job_id: str, job: Job) -> dict[str, Any]:
        host = self.base_url.removesuffix("/fhir")
        return {
            "transactionTime": "2024-05-01T00:00:00Z",
            "request": f"{self.base_url}/{job.level}",
            "requiresAccessToken": self.behaviour.requires_token,
            "output": [{"type": t, "url": f"{host}/files/{job_id}/{t}.ndjson", "count": len(rs)}
                       for t, rs in sorted(self.selected(job).items())],
            "error": [],
        }

    def file_bytes(self, job_id: str, resource_type: str) -> bytes:
        job = self.jobs[job_id]
        resources = self.selected(job).get(resource_type, [])
        return b"".join(json.dumps(r).encode() + b"\n" for r in resources)


def _patient_of(resource: dict[str, Any]) -> str | None:
    if resource.get("resourceType") == "Patient":
        return resource.get("id")
    for element in ("subject", "patient", "beneficiary"):
        reference = resource.get(element, {}).get("reference", "")
        if reference.startswith("Patient/"):
            return reference.removeprefix("Patient/")
    return None


def _outcome(code: str, text: str) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}]}


class _Handler(BaseHTTPRequestHandler):
    server_state: BulkServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        self.server_state.log.append(format % args)

    def _send(self, status: int, body: object = None, headers: dict[str, str] | None = None,
              content_type: str = "application/fhir+json") -> None:
        data = b"" if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.server_state.token_ok(self.headers.get("Authorization")):
            return True
        self._send(401, _outcome("login", "token missing, invalid or expired"),
                   {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return False

    def do_POST(self) -> None:
        state = self.server_state
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path != "/auth/token":
            self._send(404, _outcome("not-found", self.path))
            return
        basic = self.headers.get("Authorization", "")
        if state.client_secret and basic.startswith("Basic "):
            given = base64.b64decode(basic.removeprefix("Basic ")).decode()
            if given == f"{state.client_id}:{state.client_secret}":
                self._send(200, state.issue_token(), content_type="application/json")
            else:
                self._send(401, {"error": "invalid_client"}, content_type="application/json")
            return
        if form.get("grant_type") != "client_credentials" \
                or form.get("client_assertion_type") != ASSERTION_TYPE:
            self._send(400, {"error": "invalid_request"}, content_type="application/json")
            return
        problem = state.verify_assertion(form.get("client_assertion", ""))
        if problem:
            self._send(401, {"error": "invalid_client", "error_description": problem},
                       content_type="application/json")
            return
        self._send(200, state.issue_token(), content_type="application/json")

    def do_GET(self) -> None:
        state, behaviour = self.server_state, self.server_state.behaviour
        url = urlsplit(self.path)
        path, query = url.path, {k: v[0] for k, v in parse_qs(url.query).items()}
        if path == "/fhir/.well-known/smart-configuration":
            self._send(200, {"token_endpoint": state.token_url,
                             "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                             "token_endpoint_auth_signing_alg_values_supported": ["RS384",
                                                                                  "ES384"]},
                       content_type="application/json")
        elif path.endswith("/$export"):
            self._kick_off(path.removeprefix("/fhir/").removesuffix("/$export") or "system",
                           query)
        elif path.startswith("/fhir/jobs/"):
            self._status(path.removeprefix("/fhir/jobs/"))
        elif path.startswith("/files/"):
            if behaviour.requires_token and not self._authorized():
                return
            if state.count("file") <= behaviour.file_429s:
                self._send(429, _outcome("throttled", "slow down"),
                           {"Retry-After": behaviour.retry_after})
                return
            job_id, name = path.removeprefix("/files/").split("/")
            self._file(job_id, name.removesuffix(".ndjson"))
        else:
            self._send(404, _outcome("not-found", path))

    def _kick_off(self, level: str, query: dict[str, str]) -> None:
        state, behaviour = self.server_state, self.server_state.behaviour
        if not self._authorized():
            return
        if state.count("kickoff") <= behaviour.kickoff_429s:
            self._send(429, _outcome("throttled", "too many exports"),
                       {"Retry-After": behaviour.retry_after})
            return
        if self.headers.get("Prefer") != "respond-async":
            self._send(400, _outcome("invalid", "Prefer: respond-async is required"))
            return
        if level.startswith("Group/") and level.removeprefix("Group/") not in state.groups:
            self._send(404, _outcome("not-found", f"no {level}"))
            return
        job_id = uuid.uuid4().hex
        types = tuple(t for t in query.get("_type", "").split(",") if t)
        state.jobs[job_id] = Job(level, types, query.get("_since"),
                                 behaviour.polls_before_done, failed=behaviour.fail_job)
        self._send(202, None, {"Content-Location": f"{state.base_url}/jobs/{job_id}"})

    def _status(self, job_id: str) -> None:
        state, behaviour = self.server_state, self.server_state.behaviour
        if not self._authorized():
            return
        job = state.jobs.get(job_id)
        if job is None or job.deleted:
            self._send(404, _outcome("not-found", "no such export"))
        elif job.failed:
            self._send(500, _outcome("exception", "the export job failed: disk full"))
        elif state.count(f"transient:{job_id}") <= behaviour.transient_polls:
            self._send(503, _outcome("transient", "busy, ask again"),
                       {"Retry-After": behaviour.retry_after})
        elif job.polls_left > 0:
            job.polls_left -= 1
            self._send(202, None, {"X-Progress": f"{50 // (job.polls_left + 1)}% done",
                                   "Retry-After": behaviour.retry_after})
        else:
            self._send(200, state.manifest(job_id, job), content_type="application/json")

    def _file(self, job_id: str, resource_type: str) -> None:
        state, behaviour = self.server_state, self.server_state.behaviour
        data = state.file_bytes(job_id, resource_type)
        start = 0
        requested = self.headers.get("Range", "")
        if behaviour.ranges and requested.startswith("bytes="):
            start = int(requested.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self._send(416, None, {"Content-Range": f"bytes */{len(data)}"})
                return
        key = f"{job_id}/{resource_type}"
        if behaviour.cut_files_once and key not in state._cut and len(data) > 10:
            # Promise the whole file, send half of it, and drop the connection.
            state._cut.add(key)
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+ndjson")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        headers = {}
        status = 200
        if start:
            state.ranges_served.append(f"{key} from {start}")
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        self._send(status, data[start:], headers, content_type="application/fhir+ndjson")

    def do_DELETE(self) -> None:
        state = self.server_state
        job = state.jobs.get(urlsplit(self.path).path.removeprefix("/fhir/jobs/"))
        if job is None or not self._authorized():
            if job is None:
                self._send(404, _outcome("not-found", "no such export"))
            return
        job.deleted = True
        self._send(202, None)
