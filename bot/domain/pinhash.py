"""PIN hashing: scrypt with a per-PIN salt and a pepper kept outside the database.

Slow on purpose (tens of milliseconds): callers run it off the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1


def hash_pin(pin: str, pepper: bytes) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(pin, pepper, salt, _N, _R, _P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str, pepper: bytes) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = _scrypt(pin, pepper, bytes.fromhex(salt), int(n), int(r), int(p))
    return hmac.compare_digest(candidate, bytes.fromhex(digest))


def _scrypt(pin: str, pepper: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    keyed = hmac.new(pepper, pin.encode(), hashlib.sha256).digest()
    return hashlib.scrypt(keyed, salt=salt, n=n, r=r, p=p, dklen=32)
