"""The TOTP second factor (RFC 6238) and its single-use recovery codes, as pure helpers.

A code is accepted for the current 30-second step or one step either side (clock drift), and
only for a step later than the last one accepted for that user: a code, once used, is refused
even within its own 30 seconds. Secrets are encrypted with the key ring, bound to the user.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp

from pars.crypto import KeyRing

__all__ = [
    "RECOVERY_CODES",
    "accepted_step",
    "decrypt_secret",
    "encrypt_secret",
    "new_recovery_codes",
    "new_secret",
    "normalise_code",
    "provisioning_uri",
    "recovery_hash",
]

RECOVERY_CODES = 10
_DRIFT_STEPS = 1
# Unambiguous letters and digits (no 0/O, 1/I/L) so a code read off paper is typed right.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def normalise_code(code: str) -> str:
    """The code as typed, without spaces or dashes, upper-cased."""
    return "".join(ch for ch in code if ch.isalnum()).upper()


def accepted_step(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The time step `code` is valid for at `now` (within one step of drift), or None when it
    is wrong or that step (or a later one) was already used."""
    code = normalise_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - _DRIFT_STEPS, current + _DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def encrypt_secret(keys: KeyRing, secret: str, bound_to: str) -> bytes:
    return keys.encrypt({"totp": secret}, aad=f"totp:{bound_to}")


def decrypt_secret(keys: KeyRing, blob: bytes, bound_to: str) -> str:
    return str(keys.decrypt(blob, aad=f"totp:{bound_to}")["totp"])


def new_recovery_codes() -> list[str]:
    """Ten random codes shown once, like `7KQ4-M2XP-9TZC` (about 64 bits each)."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def recovery_hash(code: str) -> str:
    """What is stored of a recovery code. The codes are random, so a plain hash suffices."""
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()
