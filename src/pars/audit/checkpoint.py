"""Signed tree heads ("checkpoints") of the disclosure log: C2SP signed notes, with Ed25519.

A checkpoint's text is a C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint):

    <origin>\\n<tree size, decimal>\\n<base64 root hash>\\n<time, UTC, RFC 3339>\\n

the time being one extension line (the spec allows them, and PARS has signed its time since the
first checkpoint). The signed note (c2sp.org/signed-note) is that text, a blank line, and one
signature line per key:

    — <key name> <base64(4-byte key id || 64-byte Ed25519 signature over the text)>\\n

The key name is the origin (the spec says it should be); the key id is
SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]; verifiers are given the key as
"<name>+<8 hex digits of the key id>+<base64(0x01 || public key)>".

Before this format the stored key id was `legacy_key_id`, the first 16 hex digits of SHA-256 of
the raw key, and the signature was published beside the note rather than in a signature line.
The signed bytes were the same text, so an old checkpoint is also a valid signed note once its
signature line is written with the spec's key id; `verify_note` still checks the old pair.
Anyone with the public key can check either without PARS: `pars.audit.standalone` does.
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

__all__ = [
    "ED25519",
    "Checkpoint",
    "Signer",
    "legacy_key_id",
    "note_key_id",
    "open_signed_note",
    "parse_note",
    "parse_verifier_key",
    "render_note",
    "signed_note",
    "valid_key_name",
    "verifier_key",
    "verify_note",
    "verify_signed_note",
]

ED25519 = 0x01  # the signed-note signature type byte for Ed25519
EM_DASH = "\u2014"


def legacy_key_id(public_raw: bytes) -> str:
    """The key id PARS stored before checkpoints were C2SP notes (16 hex digits)."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def valid_key_name(name: str) -> bool:
    """c2sp.org/signed-note: non-empty, no Unicode spaces, no "+". (Newlines are spaces.)"""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def note_key_id(name: str, public_raw: bytes) -> bytes:
    """The spec's 4-byte key id of an Ed25519 key under `name`."""
    if not valid_key_name(name):
        raise ValueError(f"not a valid signed-note key name: {name!r}")
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_raw).digest()[:4]


def verifier_key(name: str, public_raw: bytes) -> str:
    """The verifier key string "<name>+<hex key id>+<base64(0x01 || key)>"."""
    kid = note_key_id(name, public_raw).hex()
    return f"{name}+{kid}+{base64.b64encode(bytes([ED25519]) + public_raw).decode()}"


def parse_verifier_key(vkey: str) -> tuple[str, bytes, bytes]:
    """(name, 4-byte key id, raw public key) of a verifier key string; ValueError unless it is
    a well-formed Ed25519 verifier key whose key id is the one its name and key give."""
    name, sep, rest = vkey.strip().partition("+")
    kid_hex, sep2, key_b64 = rest.partition("+")
    if not (sep and sep2 and valid_key_name(name) and len(kid_hex) == 8):
        raise ValueError("not a verifier key <name>+<8 hex digits>+<base64 key>")
    try:
        kid = bytes.fromhex(kid_hex)
        key = base64.b64decode(key_b64, validate=True)
    except ValueError as e:
        raise ValueError("not a verifier key <name>+<8 hex digits>+<base64 key>") from e
    if len(key) != 33 or key[0] != ED25519:
        raise ValueError("not an Ed25519 verifier key (type 0x01 and 32 bytes)")
    if note_key_id(name, key[1:]) != kid:
        raise ValueError("the verifier key's id does not match its name and key")
    return name, kid, key[1:]


def render_note(origin: str, size: int, root: bytes, at: datetime) -> str:
    """The checkpoint's text: the note that is signed."""
    if not valid_key_name(origin):
        # The origin is also the key name, so it must be a valid one (this excludes newlines).
        raise ValueError("the origin must be a valid key name (no spaces, no '+')")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n{instant(at)}\n"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: str  # the first extension line ("" if none)


def parse_note(note: str) -> Checkpoint:
    """The checkpoint in a note text; ValueError unless it has the tlog-checkpoint layout
    (origin, decimal size without leading zeros, 32-byte base64 root, non-empty extension
    lines, each line ended by a newline)."""
    if not note.endswith("\n"):
        raise ValueError("not a checkpoint note: it must end with a newline")
    lines = note[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        raise ValueError("not a checkpoint note: at least three non-empty lines")
    size_text = lines[1]
    if not (size_text.isascii() and size_text.isdigit()) or (
        size_text != "0" and size_text.startswith("0")
    ):
        raise ValueError("not a checkpoint note: the size is not a decimal number")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise ValueError("checkpoint root is not 32 bytes")
    return Checkpoint(lines[0], int(size_text), root, lines[3] if len(lines) > 3 else "")


def verify_note(note: str, signature: bytes, public_raw: bytes) -> bool:
    """Whether `signature` is the key's Ed25519 signature over the note text (both formats
    sign exactly these bytes)."""
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, note.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


def signed_note(note: str, name: str, key_id: bytes, signature: bytes) -> str:
    """The C2SP signed note: the text, a blank line, one signature line."""
    if not note.endswith("\n") or len(key_id) != 4 or not valid_key_name(name):
        raise ValueError("cannot form a signed note from these parts")
    return f"{note}\n{EM_DASH} {name} {base64.b64encode(key_id + signature).decode()}\n"


def open_signed_note(text: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """(note text, [(key name, 4-byte key id, signature)]) of a signed note; ValueError when it
    is malformed. Nothing is verified here."""
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise ValueError("a signed note holds no control characters but newlines")
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise ValueError("not a signed note: no blank line before the signatures")
    note, block = text[: split + 1], text[split + 2 :]
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(EM_DASH + " "):
            raise ValueError("not a signed note: a signature line starts with an em dash")
        name, _, b64 = line[2:].partition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError as e:
            raise ValueError("not a signed note: a signature is not base64") from e
        if not valid_key_name(name) or len(raw) < 5:
            raise ValueError("not a signed note: a malformed signature line")
        signatures.append((name, raw[:4], raw[4:]))
    return note, signatures


def verify_signed_note(text: str, name: str, public_raw: bytes) -> str:
    """The note text if a signature by (name, key) verifies; ValueError otherwise. Signatures
    of other keys are ignored, as the spec requires."""
    note, signatures = open_signed_note(text)
    kid = note_key_id(name, public_raw)
    mine = [s for n, k, s in signatures if n == name and k == kid]
    if not mine:
        raise ValueError(f"the note carries no signature of {name}+{kid.hex()}")
    if not all(verify_note(note, s, public_raw) for s in mine):
        raise ValueError(f"the signature of {name}+{kid.hex()} does not verify")
    return note


class Signer:
    """The log's Ed25519 key pair."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.legacy_key_id = legacy_key_id(self.public_raw)

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

    def key_id(self, name: str) -> bytes:
        """The spec's key id of this key under `name`."""
        return note_key_id(name, self.public_raw)

    def verifier_key(self, name: str) -> str:
        return verifier_key(name, self.public_raw)

    def sign(self, note: str) -> bytes:
        return self._private.sign(note.encode())
