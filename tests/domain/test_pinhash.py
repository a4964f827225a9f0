"""PIN hashes: slow enough at the production cost, old hashes verify and are upgraded."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys

from bot.domain import pinhash
from bot.domain.pinhash import PinCheck, PinCost, check_pin, hash_pin, verify_pin
from tests.conftest import TEST_PIN_COST

PEPPER = b"pepper-kept-outside-the-database"


def first_build_hash(pin: str, pepper: bytes) -> str:
    """A hash as the first build stored it: scrypt N=2^14, r=8, p=1."""
    salt = bytes(range(16))
    keyed = hmac.new(pepper, pin.encode(), hashlib.sha256).digest()
    digest = hashlib.scrypt(keyed, salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def test_the_production_default_is_scrypt_at_128_mib_a_guess() -> None:
    """In a fresh process (no test's lower cost): the parameters a new hash carries. What
    a guess costs in time is machine-bound: `make bench` measures it (bench/pins.py)."""
    script = ("from bot.domain.pinhash import hash_pin\n"
              "print(hash_pin('2580', b'p'))")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60)
    assert run.stdout.split("$")[:4] == ["scrypt", str(2**17), "8", "1"]
    assert PinCost(2**17, 8, 1) == pinhash.PRODUCTION_COST
    assert pinhash.PRODUCTION_COST.memory >= 128 * 2**20


def test_the_suite_runs_at_a_lower_cost() -> None:
    assert pinhash.cost_in_effect() == TEST_PIN_COST
    assert hash_pin("2580", PEPPER).split("$")[1] == str(TEST_PIN_COST.n)


def test_a_first_build_hash_verifies_and_is_upgraded_at_the_right_pin() -> None:
    old = first_build_hash("2580", PEPPER)
    assert verify_pin("2580", old, PEPPER)
    check = check_pin("2580", old, PEPPER)
    assert check.right and check.rehashed is not None
    assert check.rehashed.split("$")[1:4] == [str(TEST_PIN_COST.n), str(TEST_PIN_COST.r),
                                              str(TEST_PIN_COST.p)]
    assert verify_pin("2580", check.rehashed, PEPPER)


def test_a_wrong_pin_is_never_upgraded() -> None:
    assert check_pin("1111", first_build_hash("2580", PEPPER), PEPPER) == PinCheck(False)


def test_a_hash_at_todays_cost_is_kept() -> None:
    assert check_pin("2580", hash_pin("2580", PEPPER), PEPPER) == PinCheck(True)


def test_a_hash_asking_for_absurd_cost_or_malformed_is_refused() -> None:
    stored = first_build_hash("2580", PEPPER).split("$")
    stored[1] = str(2**30)
    assert not verify_pin("2580", "$".join(stored), PEPPER)
    assert not verify_pin("2580", "scrypt$x$8$1$00$00", PEPPER)
    assert not verify_pin("2580", "bcrypt$1$2$3$00$00", PEPPER)


def test_the_pepper_matters() -> None:
    assert not verify_pin("2580", hash_pin("2580", PEPPER), b"another pepper")
