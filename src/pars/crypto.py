"""Encryption at rest for protected fields: AES-256-GCM with key ids, so keys can rotate.

A sealed value is ``b"v1:" + key_id + b":" + nonce(12) + ciphertext+tag``. The associated data
binds a ciphertext to its record, so a value copied onto another record does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["DecryptionError", "KeyRing", "new_key_line"]


class DecryptionError(Exception):
    pass


def new_key_line() -> str:
    """A fresh key as 'key-id:base64', ready to put first in PARS_ENCRYPTION_KEYS."""
    kid = secrets.token_hex(4)
    return f"{kid}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


class KeyRing:
    """Keys by id; the first one encrypts, any one decrypts."""

    def __init__(self, spec: str) -> None:
        self._keys: dict[str, AESGCM] = {}
        self.current: str = ""
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            kid, sep, b64 = part.partition(":")
            if not sep or not kid.isalnum():
                raise ValueError("encryption key must be 'key-id:base64' with an alphanumeric id")
            try:
                raw = base64.b64decode(b64, validate=True)
            except ValueError as e:
                raise ValueError(f"encryption key {kid}: not base64") from e
            if len(raw) not in (16, 32):
                raise ValueError(f"encryption key {kid}: must be 16 or 32 bytes")
            self._keys[kid] = AESGCM(raw)
            self.current = self.current or kid
        if not self._keys:
            raise ValueError("no encryption key configured")

    @classmethod
    def load(cls, spec: str | None, data_dir: Path, create: bool = False) -> KeyRing:
        """From the setting if given, else from <data_dir>/encryption.keys (created if asked)."""
        if spec:
            return cls(spec)
        path = data_dir / "encryption.keys"
        if not path.exists():
            if not create:
                raise ValueError(
                    "no encryption key: set PARS_ENCRYPTION_KEYS or run `pars init` "
                    f"to create {path}"
                )
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(new_key_line() + "\n")
        return cls(",".join(path.read_text().split()))

    def derived_keys(self, label: bytes) -> list[tuple[str, bytes]]:
        """(key id, 32-byte key for `label`) per key of the ring, the current one first, for
        keyed hashes (blind indexes) that must rotate with the encryption keys. Each is SHA-256
        of AES-GCM over `label` under the all-zero nonce: a pseudo-random function of the AES
        key, which itself never leaves the ring (sealing draws random nonces)."""
        order = [self.current, *(k for k in self._keys if k != self.current)]
        return [
            (kid, hashlib.sha256(self._keys[kid].encrypt(b"\0" * 12, label, None)).digest())
            for kid in order
        ]

    def encrypt(self, value: dict[str, Any], aad: str) -> bytes:
        nonce = os.urandom(12)
        body = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
        ct = self._keys[self.current].encrypt(nonce, body, aad.encode())
        return b"v1:" + self.current.encode() + b":" + nonce + ct

    def decrypt(self, blob: bytes, aad: str) -> dict[str, Any]:
        try:
            version, kid, rest = blob.split(b":", 2)
        except ValueError as e:
            raise DecryptionError("malformed ciphertext") from e
        key = self._keys.get(kid.decode())
        if version != b"v1" or key is None:
            raise DecryptionError(f"no key {kid.decode()!r} to decrypt with")
        try:
            body = key.decrypt(rest[:12], rest[12:], aad.encode())
        except InvalidTag as e:
            raise DecryptionError("ciphertext does not authenticate") from e
        result: dict[str, Any] = json.loads(body)
        return result
