"""Signed JWTs (JWS compact serialization) for SMART Backend Services client assertions.

SMART App Launch v2 "Backend Services" §"Authenticating to the token endpoint": the
client signs a short-lived JWT with its private key, RS384 or ES384 (RFC 7518 §3.3,
§3.4), and names the key with `kid`. Only signing is needed here (servers verify), so
this is the few lines of RFC 7515 it takes rather than a JWT library.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from etl.errors import ConfigError

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int, length: int | None = None) -> bytes:
    return value.to_bytes(length or (value.bit_length() + 7) // 8, "big")


def load_private_key(path: Path) -> PrivateKey:
    """A PEM private key (RSA of at least 2048 bits, or EC P-384) from `path`.

    The key's bytes are never logged or put in an error message; only the path is.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read the private key file {path} ({error.strerror})") from error
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError(
            f"{path} is not an unencrypted PEM private key (RSA or EC P-384)") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ConfigError(f"{path}: an RSA key must have at least 2048 bits (RFC 7518 §3.3)")
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP384R1):
        return key
    raise ConfigError(f"{path}: SMART Backend Services needs an RSA or EC P-384 key")


def algorithm(key: PrivateKey) -> str:
    return "RS384" if isinstance(key, rsa.RSAPrivateKey) else "ES384"


def public_jwk(key: PrivateKey) -> dict[str, str]:
    """The public half as a JWK (RFC 7517), as a server's JWKS would list it."""
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {"kty": "RSA", "e": b64url(_int_bytes(numbers.e)),
                "n": b64url(_int_bytes(numbers.n))}
    assert isinstance(public, ec.EllipticCurvePublicKey)
    point = public.public_numbers()
    return {"kty": "EC", "crv": "P-384", "x": b64url(_int_bytes(point.x, 48)),
            "y": b64url(_int_bytes(point.y, 48))}


def thumbprint(key: PrivateKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256), a stable default `kid`."""
    jwk = public_jwk(key)
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"),
                           sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def sign(claims: dict[str, Any], key: PrivateKey, kid: str) -> str:
    """`claims` as a compact JWS: header.payload.signature, each base64url."""
    header = {"alg": algorithm(key), "kid": kid, "typ": "JWT"}
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    ).encode("ascii")
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA384())
    else:
        # RFC 7518 §3.4: ECDSA signatures are R || S, each 48 bytes for P-384, not DER.
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA384())))
        signature = _int_bytes(r, 48) + _int_bytes(s, 48)
    return signing_input.decode("ascii") + "." + b64url(signature)
