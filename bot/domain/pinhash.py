"""PIN hashing: scrypt with a per-PIN salt and a pepper kept outside the database.

Slow on purpose: with the database and the pepper together, every guess at a 4-digit
PIN costs an attacker what it costs the bot (about 0.3 s and 128 MiB here), so the
whole space takes a core most of an hour rather than minutes. Callers run it off
the event loop.

scrypt rather than argon2id: it is in the standard library (no native dependency to
build or trust), memory-hard like argon2id, and N=2^17, r=8, p=1 is OWASP's
recommended minimum for it; argon2id at the same time and memory gives no more.

A stored hash names its own parameters, so a hash made at an older cost still
verifies; `check_pin` hands back a new hash at today's cost to store in its place.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

SCHEME = "scrypt"


@dataclass(frozen=True, slots=True)
class PinCost:
    """scrypt's parameters: CPU/memory cost `n` (a power of 2), block size `r`, lanes `p`."""

    n: int
    r: int
    p: int

    @property
    def memory(self) -> int:
        """Bytes scrypt needs for one hash."""
        return 128 * self.r * (self.n + self.p)


PRODUCTION_COST = PinCost(2**17, 8, 1)  # ≥ 250 ms a guess here (bench/pins.py)
_MAX_N = 2**20  # a stored hash asking for more is refused, not computed (1 GiB)
# Each hash holds `memory` bytes while it runs: two at a time keeps the bot's peak at
# 256 MiB however many officers unlock at once (the rest wait their turn).
_AT_ONCE = threading.BoundedSemaphore(2)
_in_effect = PRODUCTION_COST


def use_cost(cost: PinCost) -> None:
    """Hash new PINs at `cost` from now on: for tests and benchmarks, which hash
    thousands of PINs and prove nothing by waiting. The bot never calls it."""
    global _in_effect
    _in_effect = cost


def cost_in_effect() -> PinCost:
    return _in_effect


@dataclass(frozen=True, slots=True)
class PinCheck:
    """The verdict on a PIN; `rehashed` is set when a right PIN's hash should be replaced
    by one at today's cost."""

    right: bool
    rehashed: str | None = None


def hash_pin(pin: str, pepper: bytes, cost: PinCost | None = None) -> str:
    cost = cost or _in_effect
    salt = secrets.token_bytes(16)
    digest = _scrypt(pin, pepper, salt, cost)
    return f"{SCHEME}${cost.n}${cost.r}${cost.p}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str, pepper: bytes) -> bool:
    parsed = _parse(stored)
    if parsed is None:
        return False
    cost, salt, digest = parsed
    return hmac.compare_digest(_scrypt(pin, pepper, salt, cost), digest)


def check_pin(pin: str, stored: str, pepper: bytes) -> PinCheck:
    """`verify_pin`, and for a right PIN hashed at another cost, its hash at today's."""
    if not verify_pin(pin, stored, pepper):
        return PinCheck(False)
    parsed = _parse(stored)
    if parsed is not None and parsed[0] == _in_effect:
        return PinCheck(True)
    return PinCheck(True, hash_pin(pin, pepper))


def _parse(stored: str) -> tuple[PinCost, bytes, bytes] | None:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        cost = PinCost(int(n), int(r), int(p))
        parsed = (cost, bytes.fromhex(salt), bytes.fromhex(digest))
    except ValueError:
        return None
    if scheme != SCHEME or not 1 < cost.n <= _MAX_N or cost.r < 1 or cost.p < 1:
        return None
    return parsed


def _scrypt(pin: str, pepper: bytes, salt: bytes, cost: PinCost) -> bytes:
    keyed = hmac.new(pepper, pin.encode(), hashlib.sha256).digest()
    with _AT_ONCE:
        return hashlib.scrypt(keyed, salt=salt, n=cost.n, r=cost.r, p=cost.p, dklen=32,
                              maxmem=2 * cost.memory + 2**20)
