"""Signed tree heads ("checkpoints") of the disclosure log, with Ed25519.

A checkpoint is a short text note, signed as it stands:

    <origin>\\n<size>\\n<base64 root hash>\\n<time, UTC, RFC 3339>\\n

(the layout of a C2SP transparency-log checkpoint, with the time as an extension line). The key
id is the first 8 bytes, in hex, of SHA-256 of the raw 32-byte public key. Anyone with the public
key can check a note without PARS: `pars.audit.standalone` does exactly that.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pars.audit.entries import instant

__all__ = ["Checkpoint", "Signer", "key_id", "parse_note", "render_note", "verify_note"]


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def render_note(origin: str, size: int, root: bytes, at: datetime) -> str:
    if "\n" in origin or not origin:
        raise ValueError("origin must be one non-empty line")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n{instant(at)}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: str


def parse_note(note: str) -> Checkpoint:
    """ValueError unless `note` is exactly a checkpoint's four lines."""
    lines = note.split("\n")
    if len(lines) != 5 or lines[4] != "" or not lines[1].isdigit():
        raise ValueError("not a checkpoint note")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise ValueError("checkpoint root is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root, lines[3])


def verify_note(note: str, signature: bytes, public_raw: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, note.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


class Signer:
    """The log's Ed25519 key pair."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id(self.public_raw)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed_b64: str) -> Signer:
        try:
            seed = base64.b64decode(seed_b64.strip(), validate=True)
        except ValueError as e:
            raise ValueError("audit signing key: not base64") from e
        if len(seed) != 32:
            raise ValueError("audit signing key: must be a 32-byte Ed25519 seed")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def load(cls, spec: str | None, data_dir: Path, create: bool = False) -> Signer:
        """From the setting if given, else from <data_dir>/audit-signing.key (created if asked).
        FileNotFoundError names the fix when there is none."""
        if spec:
            return cls.from_seed(spec)
        path = data_dir / "audit-signing.key"
        if not path.exists():
            if not create:
                raise FileNotFoundError(
                    f"no audit signing key at {path}: run `pars keys generate` "
                    "or set PARS_AUDIT_SIGNING_KEY"
                )
            signer = cls.generate()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(signer.seed_b64() + "\n")
            return signer
        return cls.from_seed(path.read_text())

    def seed_b64(self) -> str:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        raw = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return base64.b64encode(raw).decode()

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode()

    def sign(self, note: str) -> bytes:
        return self._private.sign(note.encode())
