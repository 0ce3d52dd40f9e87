"""Stand-alone verifier for the PARS disclosure log: one file, the Python 3.11+ standard library.

Copy this file anywhere and run it against what PARS publishes; it imports nothing from PARS and
shares no code with it (the tree below is written from RFC 6962 afresh, the notes from C2SP's
signed-note and tlog-checkpoint). Ed25519 uses `cryptography` when it is installed and a pure
Python RFC 8032 check when it is not:

    python standalone.py --log EXPORT.jsonl --checkpoints CHECKPOINTS --public-key KEY
    python standalone.py --inclusion PROOF.json [--checkpoints CHECKPOINTS --public-key KEY]
    python standalone.py --consistency PROOF.json [--checkpoints ... --public-key ...]

(or `python -m pars.audit.standalone ...` where PARS is installed). Inputs:

* EXPORT.jsonl: the log as JSON lines {"index": i, "entry": "<entry text>"} (`pars audit export`),
  lines in index order from 0. An entry's text is canonical JSON (sorted keys, no spaces, ASCII)
  holding "i", its own index; its leaf hash is SHA-256(0x00 || the entry's UTF-8 bytes).
* CHECKPOINTS (one or more files, --checkpoints given again for each): what the server gives,
  as it gives it. Signed notes (c2sp.org/signed-note), one or more in a file, as
  `GET /api/v1/audit/checkpoint` answers by default: the text "<origin>\n<size>\n<base64
  root>\n<time>\n", a blank line, and "— <key name> <base64(4-byte key id || Ed25519
  signature)>\n" lines; signature lines of other keys are ignored. Or JSON: the answer of
  `GET /api/v1/audit/checkpoints` ({"items": [...]}), of `GET /api/v1/audit/checkpoint` with
  `Accept: application/json` (one object), the output of `pars audit checkpoints` (a list), or a
  receipt. A JSON checkpoint is checked through its "signed_note" when it has one; checkpoints
  signed before PARS wrote signed notes have only "note" and "signature" (base64 Ed25519 over
  the note's UTF-8 bytes) and are checked that way.
* KEY: the verifier key "<name>+<8 hex digits>+<base64(0x01 || key)>" (`verifier_key` of
  `GET /api/v1/audit/public-key`, and on /transparency), or the raw 32-byte Ed25519 key in
  base64, or a file holding either or that JSON answer. The key id of a signature line is
  SHA-256(name || 0x0A || 0x01 || key)[:4]; with a raw key, a line is the log's when its id is
  the one its name gives. (Checkpoints of before name the legacy id, SHA-256(key)[:8] in hex.)
* PROOF.json: the answer of `GET /api/v1/audit/proof/inclusion` ({"index", "tree_size",
  "leaf_hash", "root_hash", "proof"}) or of `.../proof/consistency` ({"first", "second",
  "first_root_hash", "second_root_hash", "proof"}); for --inclusion also a partner's receipt
  ({"index", "entry", "salt", "checkpoint", "inclusion"}), whose entry is hashed here.

What it checks: every checkpoint's signature; that line k holds index k and an entry whose "i"
is k (so truncation at the front, gaps, duplicates and reordering are named at the first line
where they show); that each entry is canonical JSON; and that the RFC 6962 root of the first n
entries equals the signed root of every checkpoint of size n, so a log rewritten or forked under
an older checkpoint is caught. What it cannot do: a changed entry that is still well-formed is
only visible through the roots, so it is pinned down to the entries between the last checkpoint
that matches and the first that does not (exactly, when those checkpoints are one entry apart).
Checkpoints larger than the export are reported as not covered (an error with --require-all).

With --agreement ID --ended-at ISO it also counts disclosures under that agreement (entry field
"agreement" = "ID/vN"; actions "disclosure:*" except withheld and acknowledged) dated after the
agreement's end; any such entry fails the run.

Exit status: 0 all good, 1 something is wrong (the report names the first bad entry), 2 usage
error (missing or unreadable input). Memory stays O(log n) in the size of the export.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "Checkpoint",
    "LogKey",
    "Problem",
    "ProofReport",
    "Report",
    "StreamingTree",
    "check_consistency_file",
    "check_inclusion_file",
    "checkpoint_items",
    "ed25519_verify",
    "ed25519_verify_pure",
    "key_id",
    "legacy_key_id",
    "main",
    "note_key_id",
    "open_signed_note",
    "parse_key",
    "read_checkpoints",
    "root_from_consistency",
    "root_from_inclusion",
    "split_signed_notes",
    "tree_hash",
    "verify_export",
    "verify_signed_note",
]

HASH_BYTES = 32
EMPTY_TREE = hashlib.sha256(b"").digest()  # RFC 6962 §2.1: MTH({}) = SHA-256()
NOT_DISCLOSURES = frozenset({"disclosure:withheld", "disclosure:acknowledged"})
MAX_LISTED = 50  # problems printed in full; the rest are counted


class UsageError(Exception):
    """Bad arguments or unreadable input: exit status 2."""


# ---------------------------------------------------------------------------------------------
# RFC 6962 §2.1, written from the RFC.


def hash_leaf(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


class StreamingTree:
    """The Merkle Tree Hash of a growing list of leaves, in O(log n) memory.

    It keeps one hash per set bit of the leaf count: the roots of the perfect subtrees the
    count decomposes into, largest (leftmost) first. A new leaf merges with its equal-sized
    neighbours; the MTH folds the kept hashes from the right, which is RFC 6962's split at the
    largest power of two below n applied over and over.
    """

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[bytes] = []

    def add(self, leaf_hash: bytes) -> None:
        node, carry = leaf_hash, self.size
        while carry & 1:
            node = hash_children(self._peaks.pop(), node)
            carry >>= 1
        self._peaks.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_TREE
        node = self._peaks[-1]
        for left in reversed(self._peaks[:-1]):
            node = hash_children(left, node)
        return node


def tree_hash(leaf_hashes: Iterable[bytes]) -> bytes:
    tree = StreamingTree()
    for leaf in leaf_hashes:
        tree.add(leaf)
    return tree.root()


def _valid_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_BYTES


def root_from_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes | None:
    """The root that PATH(index, D[0:size]) (RFC 6962 §2.1.1) leads to from `leaf_hash`, or None
    if the proof cannot be one for that index and size.

    Replays the definition top-down to learn on which side each sibling lies: below a node of
    n leaves split at k, the leaf is on the left when index < k, and the sibling is MTH of the
    right part, else the other way round. The proof lists the siblings from the leaf upwards.
    """
    if not (0 <= index < size and _valid_hash(leaf_hash) and all(map(_valid_hash, proof))):
        return None
    sibling_on_right: list[bool] = []
    m, n = index, size
    while n > 1:
        k = _largest_power_of_two_below(n)
        if m < k:
            sibling_on_right.append(True)
            n = k
        else:
            sibling_on_right.append(False)
            m, n = m - k, n - k
    if len(proof) != len(sibling_on_right):
        return None
    node = leaf_hash
    for sibling, on_right in zip(proof, reversed(sibling_on_right), strict=True):
        node = hash_children(node, sibling) if on_right else hash_children(sibling, node)
    return node


def root_from_consistency(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> bytes | None:
    """The new root that PROOF(old_size, D[0:new_size]) (RFC 6962 §2.1.2) leads to, provided it
    also rebuilds `old_root`; None if it does not or cannot be such a proof.

    SUBPROOF(m, D[n], b): when m == n it is [] if b (the verifier holds that hash: the old root)
    else [MTH(D[n])]; when m <= k it is SUBPROOF(m, D[0:k], b) : MTH(D[k:n]); otherwise
    SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]). So walk the splits down recording which side
    each later proof element sits on, then climb back hashing the old and new trees together:
    a left sibling belongs to both trees, a right sibling only to the new one.
    """
    if not (_valid_hash(old_root) and all(map(_valid_hash, proof))):
        return None
    if not 0 <= old_size <= new_size:
        return None
    if old_size == 0:
        # Every tree extends the empty tree; there is nothing to prove or rebuild.
        return None if proof or old_root != EMPTY_TREE else b""
    if old_size == new_size:
        return old_root if not proof else None
    left_siblings: list[bool] = []  # per split, top-down: is the proof element on the left?
    m, n, whole_old_tree = old_size, new_size, True
    while m != n:
        k = _largest_power_of_two_below(n)
        if m <= k:
            left_siblings.append(False)
            n = k
        else:
            left_siblings.append(True)
            m, n, whole_old_tree = m - k, n - k, False
    items = list(proof)
    if whole_old_tree:
        start = old_root
    elif items:
        start = items.pop(0)
    else:
        return None
    if len(items) != len(left_siblings):
        return None
    old_node = new_node = start
    for sibling, on_left in zip(items, reversed(left_siblings), strict=True):
        if on_left:
            old_node = hash_children(sibling, old_node)
            new_node = hash_children(sibling, new_node)
        else:
            new_node = hash_children(new_node, sibling)
    return new_node if old_node == old_root else None


# ---------------------------------------------------------------------------------------------
# Ed25519 (RFC 8032 §5.1.7, verification only). `cryptography` is used when it is installed;
# without it the same check runs in pure Python, written from the RFC (slower, about a hundredth
# of a second per signature, and enough for checkpoints). Only public data is handled, so the
# pure version need not be constant-time.

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z


def _point_add(a: _Point, b: _Point) -> _Point:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa, bb = (y1 - x1) * (y2 - x2) % _P, (y1 + x1) * (y2 + x2) % _P
    cc, dd = 2 * t1 * t2 * _D % _P, 2 * z1 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _point_mul(scalar: int, point: _Point) -> _Point:
    out: _Point = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            out = _point_add(out, point)
        point = _point_add(point, point)
        scalar >>= 1
    return out


def _point_equal(a: _Point, b: _Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


def _point_decode(data: bytes) -> _Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P or (x == 0 and sign):
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y, 1, x * y % _P


_BASE = _point_decode((4 * pow(5, _P - 2, _P) % _P).to_bytes(32, "little"))


def ed25519_verify_pure(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 §5.1.7: [S]B = R + [SHA-512(R || A || M)]A, with S below the group order."""
    assert _BASE is not None
    if len(signature) != 64:
        return False
    a, r = _point_decode(public_key), _point_decode(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    digest = hashlib.sha512(signature[:32] + public_key + message).digest()
    h = int.from_bytes(digest, "little") % _L
    return _point_equal(_point_mul(s, _BASE), _point_add(r, _point_mul(h, a)))


def _ed25519_verify_cryptography(public_key: bytes, message: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


try:
    import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401

    ed25519_verify = _ed25519_verify_cryptography
except ImportError:  # pragma: no cover - exercised by the tests through ed25519_verify_pure
    ed25519_verify = ed25519_verify_pure


# ---------------------------------------------------------------------------------------------
# Checkpoints: C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint), and the
# earlier form, a note with its bare signature beside it in JSON.

SIGNATURE_PREFIX = "\u2014 "  # em dash, space
ED25519_TYPE = b"\x01"


def legacy_key_id(public_key: bytes) -> str:
    """The key id of checkpoints signed before they were signed notes: SHA-256(key)[:8], hex."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def key_id(public_key: bytes) -> str:
    """Kept for callers of earlier versions: the legacy key id."""
    return legacy_key_id(public_key)


def valid_key_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def note_key_id(name: str, public_key: bytes) -> bytes:
    """c2sp.org/signed-note: SHA-256(key name || 0x0A || 0x01 || 32-byte key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + public_key).digest()[:4]


@dataclass(frozen=True)
class LogKey:
    """The key checkpoints must be signed with; `name` when given as a verifier key string."""

    public_key: bytes
    name: str | None = None

    def describe(self) -> str:
        if self.name is None:
            return f"public key {_b64(self.public_key)}"
        kid = note_key_id(self.name, self.public_key).hex()
        return f"{self.name}+{kid}+{_b64(ED25519_TYPE + self.public_key)}"


def parse_key(text: str) -> LogKey:
    """A raw 32-byte Ed25519 key in base64, or a verifier key string
    "<name>+<8 hex digits>+<base64(0x01 || key)>" (its id is checked). ValueError otherwise."""
    text = text.strip()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 32:  # 44 characters ending in "=": never a verifier key (33 bytes, no "=")
        return LogKey(raw)
    name, _, rest = text.partition("+")
    kid_hex, _, key_b64 = rest.partition("+")
    if not (valid_key_name(name) and len(kid_hex) == 8 and key_b64):
        raise ValueError(
            "not an Ed25519 public key: give the raw 32-byte key in base64 or the verifier key "
            "<name>+<key id>+<base64 key>"
        )
    key = _unb64(key_b64, "the verifier key's key")
    if len(key) != 33 or key[:1] != ED25519_TYPE:
        raise ValueError("the verifier key is not an Ed25519 key (type 0x01, 32 bytes)")
    try:
        kid = bytes.fromhex(kid_hex)
    except ValueError as e:
        raise ValueError("the verifier key's id is not 8 hex digits") from e
    if note_key_id(name, key[1:]) != kid:
        raise ValueError("the verifier key's id does not match its name and key")
    return LogKey(key[1:], name)


def _as_key(key: bytes | LogKey) -> LogKey:
    return key if isinstance(key, LogKey) else LogKey(bytes(key))


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise ValueError(f"{what} is not a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"{what} is not valid base64") from e


def _unb64_hash(text: object, what: str) -> bytes:
    value = _unb64(text, what)
    if len(value) != HASH_BYTES:
        raise ValueError(f"{what} is {len(value)} bytes, not {HASH_BYTES}")
    return value


@dataclass(frozen=True)
class Checkpoint:
    """One signed tree head as given; `problem` is None when its signature and text are good."""

    position: int  # 1-based place in the checkpoints file
    origin: str
    size: int
    root: bytes
    time: str
    problem: str | None

    @property
    def valid(self) -> bool:
        return self.problem is None

    def label(self) -> str:
        return f"checkpoint #{self.position} (size {self.size:,}, {self.time or 'no time'})"


def _parse_note(note: str) -> tuple[str, int, bytes, str]:
    """(origin, size, root, first extension line or "") of a tlog-checkpoint note text."""
    if not note.endswith("\n"):
        raise ValueError("the note does not end with a newline")
    lines = note[:-1].split("\n")
    if len(lines) < 3:
        raise ValueError("the note has fewer than three lines (origin, size, root)")
    if not all(lines):
        raise ValueError("the note has an empty line")
    origin, size_text, root_text = lines[:3]
    if not (size_text.isascii() and size_text.isdigit()) or (
        size_text.startswith("0") and size_text != "0"
    ):
        raise ValueError(f"the note's size line {size_text!r} is not a decimal number")
    time = lines[3] if len(lines) > 3 else ""
    return origin, int(size_text), _unb64_hash(root_text, "the note's root"), time


def open_signed_note(text: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """(note text, [(key name, 4-byte key id, signature)]) of a signed note; ValueError if it is
    not one. Nothing is verified here."""
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise ValueError("the signed note holds control characters other than newline")
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise ValueError("not a signed note: no blank line before signature lines")
    note, block = text[: split + 1], text[split + 2 : -1]
    signatures = []
    for line in block.split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise ValueError("not a signed note: a signature line must start with an em dash")
        name, _, b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
        raw = _unb64(b64, "a signature")
        if not valid_key_name(name) or len(raw) < 5:
            raise ValueError("not a signed note: a malformed signature line")
        signatures.append((name, raw[:4], raw[4:]))
    return note, signatures


def verify_signed_note(text: str, key: bytes | LogKey) -> str:
    """The note text when the log's key signed it; ValueError otherwise. Signature lines of
    other keys (witnesses' cosignatures, say) are ignored, as the spec requires. Given a bare
    key, a line is the log's when its key id is the one its name and the key give."""
    key = _as_key(key)
    note, signatures = open_signed_note(text)
    ours = [
        (name, sig)
        for name, kid, sig in signatures
        if (key.name is None or name == key.name) and kid == note_key_id(name, key.public_key)
    ]
    if not ours:
        named = ", ".join(f"{n}+{k.hex()}" for n, k, _ in signatures)
        raise ValueError(f"no signature line is by the log's key ({key.describe()}): {named}")
    for name, sig in ours:
        if not ed25519_verify(key.public_key, note.encode("utf-8"), sig):
            raise ValueError(f"the signature of {name} does not verify with the public key")
    return note


def split_signed_notes(text: str) -> list[str]:
    """The signed notes in a text holding one or more, one after another (blank lines between
    them are allowed)."""
    notes: list[str] = []
    current: list[str] = []
    in_signatures = after_blank = False
    for line in text.splitlines(keepends=True):
        if in_signatures and not line.startswith(SIGNATURE_PREFIX):
            notes.append("".join(current))
            current, in_signatures = [], False
        if not current and not line.strip():
            continue
        if after_blank and line.startswith(SIGNATURE_PREFIX):
            in_signatures = True
        current.append(line)
        after_blank = line == "\n" and not in_signatures
    if current:
        notes.append("".join(current))
    return notes


def _check_item(item: object, key: LogKey) -> tuple[str, int, bytes, str]:
    """Verify one checkpoint: a signed note (text), a JSON view holding "signed_note", or the
    earlier JSON form holding "note" and a bare "signature"."""
    if isinstance(item, str):
        return _parse_note(verify_signed_note(item, key))
    if not isinstance(item, Mapping):
        raise ValueError("it is neither a signed note nor a JSON object")
    signed = item.get("signed_note")
    if isinstance(signed, str):
        note = verify_signed_note(signed, key)
        if "note" in item and item["note"] != note:
            raise ValueError('its "note" differs from the text of its signed note')
    else:
        bare = item.get("note")
        if not isinstance(bare, str):
            raise ValueError('it has no "signed_note" and no "note" text')
        note = bare
        signature = _unb64(item.get("signature"), "its signature")
        if not ed25519_verify(key.public_key, note.encode("utf-8"), signature):
            claimed = item.get("key_id")
            known = {legacy_key_id(key.public_key)}
            origin = note.split("\n", 1)[0]
            if valid_key_name(origin):
                known.add(note_key_id(origin, key.public_key).hex())
            other = (
                f" (it names key {claimed}, not {' or '.join(sorted(known))})"
                if isinstance(claimed, str) and claimed not in known
                else ""
            )
            raise ValueError(f"the signature does not verify with the public key{other}")
    origin, size, root, time = _parse_note(note)
    # The unsigned fields beside the note must say what the signed note says.
    if "size" in item and item["size"] != size:
        raise ValueError(f'its "size" {item["size"]!r} differs from the signed note')
    if "root_hash" in item and item["root_hash"] != _b64(root):
        raise ValueError('its "root_hash" differs from the signed note')
    return origin, size, root, time


def _claimed(item: object) -> tuple[str, int, bytes, str] | None:
    """What an unverified checkpoint says, if it can be read at all."""
    try:
        if isinstance(item, Mapping) and isinstance(item.get("signed_note"), str):
            item = item["signed_note"]
        if isinstance(item, str):
            return _parse_note(open_signed_note(item)[0])
        if isinstance(item, Mapping) and isinstance(item.get("note"), str):
            return _parse_note(item["note"])
    except ValueError:
        pass
    return None


def read_checkpoints(items: Sequence[object], public_key: bytes | LogKey) -> list[Checkpoint]:
    """Parse and check every checkpoint (signed notes as text, or JSON objects as the API and
    `pars audit checkpoints` give them); a bad one comes back with its `problem` set."""
    key = _as_key(public_key)
    out: list[Checkpoint] = []
    for position, item in enumerate(items, start=1):
        origin, size, root, time = "", -1, b"", ""
        problem: str | None = None
        try:
            origin, size, root, time = _check_item(item, key)
        except ValueError as e:
            problem = str(e)
            # Label a bad checkpoint by what it claims, when that can be read.
            origin, size, root, time = _claimed(item) or (origin, size, root, time)
        out.append(Checkpoint(position, origin, size, root, time, problem))
    return out


def checkpoint_items(text: str) -> list[object]:
    """The checkpoints in a file's text: JSON (a list; {"items": [...]} as
    GET /api/v1/audit/checkpoints answers; {"checkpoints": [...]}; one checkpoint object, as
    GET /api/v1/audit/checkpoint answers with Accept: application/json, or a receipt holding
    one) or one or more signed notes, as GET /api/v1/audit/checkpoint answers by default.
    ValueError when it is none of these."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        doc = json.loads(text)
        if isinstance(doc, list):
            return list(doc)
        if isinstance(doc, dict):
            for name in ("items", "checkpoints"):
                if isinstance(doc.get(name), list):
                    return list(doc[name])
            if "note" in doc or "signed_note" in doc:
                return [doc]
            if isinstance(doc.get("checkpoint"), Mapping):
                return [doc["checkpoint"]]
        raise ValueError("the JSON holds no checkpoints (a list, or an object with items)")
    notes = split_signed_notes(text)
    if not notes:
        raise ValueError("the file holds no checkpoint")
    for note in notes:
        open_signed_note(note)  # malformed text is a usage error, not a bad checkpoint
    return list(notes)


# ---------------------------------------------------------------------------------------------
# The export.


@dataclass(frozen=True)
class Problem:
    """Something wrong. `index` is the entry it names exactly, when it names one; `line` the
    1-based line of the export."""

    message: str
    index: int | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = []
        if self.index is not None:
            where.append(f"entry {self.index}")
        if self.line is not None:
            where.append(f"line {self.line}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass
class Report:
    entries: int = 0
    root: bytes = EMPTY_TREE
    checkpoints: list[Checkpoint] = field(default_factory=list)
    matched: list[Checkpoint] = field(default_factory=list)
    not_covered: list[Checkpoint] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    agreement: str | None = None
    ended_at: datetime | None = None
    late_disclosures: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.late_disclosures

    @property
    def first_bad_entry(self) -> Problem | None:
        """The first problem that names one entry exactly."""
        return next((p for p in self.problems if p.index is not None), None)

    def render(self, public_key: bytes | LogKey | None = None) -> str:
        out = ["PARS disclosure log: stand-alone verification"]
        if public_key is not None:
            key = _as_key(public_key)
            out.append(f"key: {key.describe()} (legacy key id {legacy_key_id(key.public_key)})")
        last = f"indexes 0..{self.entries - 1}" if self.entries else "empty"
        out.append(f"export: {self.entries:,} entries ({last}), root {_b64(self.root)}")
        good = sum(c.valid for c in self.checkpoints)
        out.append(
            f"checkpoints: {len(self.checkpoints)} given, {good} correctly signed, "
            f"{len(self.matched)} matched by the export, {len(self.not_covered)} not covered"
        )
        for c in self.checkpoints:
            if c.problem is not None:
                state = "BAD SIGNATURE OR NOTE"
            elif c in self.matched:
                state = "ok, root matches"
            elif c in self.not_covered:
                state = "not covered by this export"
            else:
                state = "ROOT DIFFERS"
            out.append(f"  {c.label()}: {state}")
        if self.agreement is not None and self.ended_at is not None:
            shown = ", ".join(str(i) for i in self.late_disclosures[:10])
            more = " ..." if len(self.late_disclosures) > 10 else ""
            out.append(
                f"disclosures under agreement {self.agreement} dated after its end "
                f"({self.ended_at.isoformat()}): {len(self.late_disclosures)}"
                + (f" (entries {shown}{more})" if self.late_disclosures else "")
            )
        for w in self.warnings:
            out.append(f"warning: {w}")
        if self.ok:
            out.append("RESULT: OK")
            return "\n".join(out) + "\n"
        first = self.first_bad_entry
        if first is not None:
            out.append(f"RESULT: FAILED. First bad entry: {first}")
        elif self.problems:
            out.append(f"RESULT: FAILED. {self.problems[0]}")
        else:
            out.append("RESULT: FAILED. Disclosures after the agreement's end.")
        if self.problems:
            out.append(f"problems ({len(self.problems)}):")
            out.extend(f"  {p}" for p in self.problems[:MAX_LISTED])
            if len(self.problems) > MAX_LISTED:
                out.append(f"  ... and {len(self.problems) - MAX_LISTED} more")
        return "\n".join(out) + "\n"


def _parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; "Z" accepted on every Python 3; no zone means UTC."""
    value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# Entries are canonical JSON: sorted keys, no insignificant whitespace, ASCII only.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
_DECODE = json.JSONDecoder().raw_decode


class _Export:
    """The running state of one pass over the export."""

    def __init__(self, report: Report, agreement: str | None, ended_at: datetime | None) -> None:
        self.report = report
        self.tree = StreamingTree()
        self.expected = 0  # the index the next line must hold
        self.highest = -1
        self.broken_at: int | None = None  # line after which the tree no longer means anything
        self.agreement = agreement
        self.ended_at = ended_at

    def problem(self, message: str, index: int | None, line: int) -> None:
        self.report.problems.append(Problem(message, index, line))

    def unreadable(self, number: int, raw: bytes | str) -> None:
        """A line that gives no entry: name it; the tree cannot go on past it."""
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            item = json.loads(text)
            if not isinstance(item, dict):
                reason = "it is not a JSON object"
            elif not isinstance(item.get("entry"), str):
                reason = 'it has no "entry" text'
            else:
                reason = 'it has no non-negative integer "index"'
        except UnicodeDecodeError:
            reason = "not UTF-8"
        except ValueError:
            reason = "not JSON"
        self.problem(
            f"cannot be read ({reason}): damaged or cut short; no root after it is checked",
            self.expected,
            number,
        )
        self.broken_at = number

    def sequence(self, number: int, index: int) -> None:
        expected = self.expected
        if index > expected:
            missing = (
                f"entry {expected}" if index == expected + 1 else f"entries {expected}..{index - 1}"
            )
            what = "the export does not start at index 0" if expected == 0 else "a gap"
            self.problem(
                f"holds index {index} where {expected} was due: {what} ({missing} missing here; "
                "lost, or moved later)",
                expected,
                number,
            )
        elif index < expected:
            self.problem(
                f"holds index {index} after index {self.highest}: lines out of order or duplicated",
                index,
                number,
            )
        self.highest = max(self.highest, index)
        self.expected = max(expected, index + 1)

    def entry_problem(self, number: int, index: int, entry: str, value: object) -> None:
        if value is None:
            self.problem("the entry is not JSON (damaged or altered)", index, number)
        elif not isinstance(value, dict):
            self.problem("the entry is not a JSON object", index, number)
        elif value.get("i") != index or type(value.get("i")) is not int:
            self.problem(
                f'the entry says "i": {value.get("i")!r}, not {index}: it belongs elsewhere in '
                "the log or was altered",
                index,
                number,
            )
        else:
            self.problem(
                "the entry is not in canonical form (sorted keys, no spaces, ASCII): its text "
                "was altered",
                index,
                number,
            )
        if isinstance(value, dict) and self.agreement is not None:
            self.check_agreement(index, value)

    def check_agreement(self, index: int, value: dict[str, Any]) -> None:
        action, agreement, at = value.get("action"), value.get("agreement"), value.get("at")
        if not (isinstance(action, str) and action.startswith("disclosure:")):
            return
        if action in NOT_DISCLOSURES or not isinstance(agreement, str):
            return
        agreement_id, sep, version = agreement.rpartition("/v")
        if not (sep and version.isdigit() and agreement_id == self.agreement):
            return
        assert self.ended_at is not None
        try:
            when = _parse_instant(at) if isinstance(at, str) else None
        except ValueError:
            when = None
        if when is None:
            self.report.problems.append(
                Problem(f'a disclosure under {agreement} has no valid "at" time', index)
            )
        elif when > self.ended_at:
            self.report.late_disclosures.append(index)


def _checkpoints_by_size(report: Report) -> dict[int, list[Checkpoint]]:
    by_size: dict[int, list[Checkpoint]] = {}
    for c in report.checkpoints:
        if c.problem is not None:
            report.problems.append(Problem(f"{c.label()}: {c.problem}"))
        else:
            by_size.setdefault(c.size, []).append(c)
    for size, same in sorted(by_size.items()):
        if len({c.root for c in same}) > 1:
            report.problems.append(
                Problem(
                    f"checkpoints {', '.join(f'#{c.position}' for c in same)} are all signed for "
                    f"size {size:,} but with different roots: the log was forked"
                )
            )
    return by_size


def _compare_roots(report: Report, state: _Export, due: list[Checkpoint], last_match: int) -> int:
    """Compare the export's root now (size = state.tree.size) with the checkpoints of that
    size; returns the size of the last checkpoint the export matches."""
    size, root = state.tree.size, state.tree.root()
    for c in due:
        if c.root == root:
            report.matched.append(c)
            last_match = max(last_match, size)
            continue
        if size and last_match == size - 1:
            before = (
                f", while entries 0..{size - 2} match the checkpoint of size {size - 1}"
                if size > 1
                else ""
            )
            report.problems.append(
                Problem(
                    "is not the entry that was logged: with it the export's root differs from "
                    f"the signed root of {c.label()}{before} (altered, or the log was rewritten)",
                    size - 1,
                )
            )
        else:
            since = f" (entries 0..{last_match - 1} match a checkpoint)" if last_match else ""
            report.problems.append(
                Problem(
                    f"{c.label()}: the export's first {size:,} entries give root {_b64(root)}, "
                    f"not the signed {_b64(c.root)}: at least one of entries "
                    f"{last_match}..{size - 1} is not what was logged{since}, or the log was "
                    "rewritten or forked after this checkpoint was signed"
                )
            )
    return last_match


def verify_export(
    lines: Iterable[bytes | str],
    checkpoints: Sequence[object],
    public_key: bytes | LogKey,
    *,
    require_all: bool = False,
    agreement: str | None = None,
    ended_at: datetime | None = None,
) -> Report:
    """Check an export (its lines, in file order) against signed checkpoints; see the module
    docstring. Never raises on bad data: everything wrong is in the report's `problems`."""
    if (agreement is None) != (ended_at is None):
        raise ValueError("agreement and ended_at go together")
    report = Report(agreement=agreement, ended_at=ended_at)
    report.checkpoints = read_checkpoints(checkpoints, public_key)
    by_size = _checkpoints_by_size(report)
    state = _Export(report, agreement, ended_at)
    last_match = _compare_roots(report, state, by_size.get(0, []), 0)
    # The loop does the checks of a good line inline (a million lines should take seconds);
    # whatever fails goes to the _Export methods, which say what is wrong.
    decode, encode, add, by_size_get = _DECODE, _CANONICAL.encode, state.tree.add, by_size.get
    for number, raw in enumerate(lines, start=1):
        if state.broken_at is not None or not raw.strip():
            continue
        try:
            text = (raw if isinstance(raw, str) else raw.decode("utf-8")).strip()
            item, end = decode(text)
            if end != len(text):
                raise ValueError("trailing data")
            index, entry = item["index"], item["entry"]
            if type(index) is not int or type(entry) is not str or index < 0:
                raise TypeError
        except (ValueError, KeyError, TypeError, IndexError):
            state.unreadable(number, raw)
            continue
        if index == state.expected and index > state.highest:
            state.expected = index + 1
            state.highest = index
        else:
            state.sequence(number, index)
        add(hash_leaf(entry.encode("utf-8")))
        try:
            value, end = decode(entry)
            fine = (
                end == len(entry)
                and type(value) is dict
                and type(value.get("i")) is int
                and value["i"] == index
            )
            fine = fine and encode(value) == entry
        except ValueError:
            value, fine = None, False
        if not fine:
            state.entry_problem(number, index, entry, value)
        elif agreement is not None:
            state.check_agreement(index, value)
        due = by_size_get(state.tree.size)
        if due:
            last_match = _compare_roots(report, state, due, last_match)
    report.entries = state.tree.size
    report.root = state.tree.root()
    for size in sorted(by_size):
        if size <= report.entries:
            continue  # compared above
        for c in by_size[size]:
            report.not_covered.append(c)
            if state.broken_at is not None:
                continue  # unread because of the damaged line, which is a problem already
            message = (
                f"{c.label()} is not covered by this export (it holds "
                f"{report.entries:,} entries): truncated, or taken before it was signed"
            )
            if require_all:
                report.problems.append(Problem(message))
            else:
                report.warnings.append(message)
    signed = [c.size for c in report.checkpoints if c.valid]
    if not signed:
        message = "no correctly signed checkpoint: nothing binds these entries to the log"
        if require_all:
            report.problems.append(Problem(message))
        else:
            report.warnings.append(message)
    elif max(signed) < report.entries and state.broken_at is None:
        report.warnings.append(
            f"entries {max(signed)}..{report.entries - 1} are not covered by any checkpoint "
            "(not signed yet): they are read but not verified"
        )
    return report


# ---------------------------------------------------------------------------------------------
# Proofs from the API (a partner's receipt).


@dataclass
class ProofReport:
    kind: str
    ok: bool
    lines: list[str] = field(default_factory=list)

    def render(self) -> str:
        verdict = "OK" if self.ok else "FAILED"
        return "\n".join([f"{self.kind}: {verdict}", *(f"  {x}" for x in self.lines)]) + "\n"


def _bind_root(
    report: ProofReport,
    size: int,
    root: bytes,
    checkpoints: list[Checkpoint] | None,
    require_all: bool,
) -> None:
    """Whether a signed checkpoint vouches for (size, root)."""
    if checkpoints is None:
        report.lines.append(
            f"warning: the root of size {size:,} is not checked against a signed checkpoint "
            "(give --checkpoints and --public-key)"
        )
        report.ok = report.ok and not require_all
        return
    same = [c for c in checkpoints if c.valid and c.size == size]
    if any(c.root == root for c in same):
        report.lines.append(f"the root of size {size:,} is the signed root of a checkpoint")
    elif same:
        report.lines.append(
            f"the root of size {size:,} is NOT the signed root of the checkpoint of that size"
        )
        report.ok = False
    else:
        report.lines.append(f"warning: no correctly signed checkpoint of size {size:,} given")
        report.ok = report.ok and not require_all


def _proof_hashes(value: object) -> list[bytes]:
    if not isinstance(value, list):
        raise ValueError('"proof" is not a list')
    return [_unb64_hash(p, f"proof[{i}]") for i, p in enumerate(value)]


def _int_field(doc: Mapping[str, Any], name: str) -> int:
    value = doc.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f'"{name}" is not an integer')
    return value


def check_inclusion_file(
    doc: object,
    checkpoints: list[Checkpoint] | None = None,
    public_key: bytes | LogKey | None = None,
    require_all: bool = False,
) -> ProofReport:
    """Check an inclusion proof answer, or a receipt (its entry is hashed and must be the
    proof's leaf; its own checkpoint is checked with `public_key` when given)."""
    report = ProofReport("inclusion proof", True)
    try:
        if not isinstance(doc, Mapping):
            raise ValueError("not a JSON object")
        proof_doc: object = doc
        if "inclusion" in doc and "entry" in doc:
            report.kind = "receipt"
            proof_doc = doc["inclusion"]
            if proof_doc is None:
                raise ValueError("the receipt has no inclusion proof yet (no checkpoint covers it)")
            if not isinstance(proof_doc, Mapping):
                raise ValueError('"inclusion" is not a JSON object')
            entry = doc["entry"]
            if not isinstance(entry, str):
                raise ValueError('"entry" is not text')
            leaf = hash_leaf(entry.encode("utf-8"))
            if _unb64_hash(proof_doc.get("leaf_hash"), '"leaf_hash"') != leaf:
                report.ok = False
                report.lines.append("the receipt's entry does not hash to the proof's leaf hash")
            if _int_field(doc, "index") != _int_field(proof_doc, "index"):
                report.ok = False
                report.lines.append("the receipt's index differs from the proof's")
            if isinstance(doc.get("checkpoint"), Mapping) and public_key is not None:
                own = read_checkpoints([doc["checkpoint"]], public_key)
                checkpoints = [*(checkpoints or []), *own]
                if own[0].problem is not None:
                    report.ok = False
                    report.lines.append(f"the receipt's checkpoint: {own[0].problem}")
        assert isinstance(proof_doc, Mapping)
        index, size = _int_field(proof_doc, "index"), _int_field(proof_doc, "tree_size")
        leaf = _unb64_hash(proof_doc.get("leaf_hash"), '"leaf_hash"')
        root = _unb64_hash(proof_doc.get("root_hash"), '"root_hash"')
        proof = _proof_hashes(proof_doc.get("proof"))
    except ValueError as e:
        return ProofReport(report.kind, False, [*report.lines, f"malformed: {e}"])
    if root_from_inclusion(index, size, leaf, proof) == root:
        report.lines.append(f"leaf {index} is in the tree of size {size:,} with root {_b64(root)}")
    else:
        report.ok = False
        report.lines.append(
            f"the proof does NOT lead from leaf {index} to root {_b64(root)} at size {size:,}"
        )
    _bind_root(report, size, root, checkpoints, require_all)
    return report


def check_consistency_file(
    doc: object, checkpoints: list[Checkpoint] | None = None, require_all: bool = False
) -> ProofReport:
    report = ProofReport("consistency proof", True)
    try:
        if not isinstance(doc, Mapping):
            raise ValueError("not a JSON object")
        first, second = _int_field(doc, "first"), _int_field(doc, "second")
        old_root = _unb64_hash(doc.get("first_root_hash"), '"first_root_hash"')
        new_root = _unb64_hash(doc.get("second_root_hash"), '"second_root_hash"')
        proof = _proof_hashes(doc.get("proof"))
    except ValueError as e:
        return ProofReport(report.kind, False, [f"malformed: {e}"])
    rebuilt = root_from_consistency(first, second, old_root, proof)
    if rebuilt is not None and (first == 0 or rebuilt == new_root):
        report.lines.append(f"the tree of size {second:,} extends the tree of size {first:,}")
    else:
        report.ok = False
        report.lines.append(
            f"the proof does NOT show that the tree of size {second:,} extends the tree of size "
            f"{first:,}"
        )
    if first:
        _bind_root(report, first, old_root, checkpoints, require_all)
    _bind_root(report, second, new_root, checkpoints, require_all)
    return report


# ---------------------------------------------------------------------------------------------
# Command line.


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror or e}") from e
    except ValueError as e:
        raise UsageError(f"{what} {path} is not JSON: {e}") from e


def _read_checkpoints_file(path: str) -> list[object]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot read checkpoints {path}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise UsageError(f"checkpoints {path} is not UTF-8 text") from e
    try:
        return checkpoint_items(text)
    except ValueError as e:
        raise UsageError(
            f"checkpoints {path} is neither JSON checkpoints nor signed notes: {e}"
        ) from e


def _public_key(value: str) -> LogKey:
    """--public-key: the key itself (raw base64 or a verifier key string), or a file holding
    it or the JSON answer of GET /api/v1/audit/public-key."""
    text = value
    path = Path(value)
    if not value.strip().endswith("=") and "\n" not in value and path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"cannot read the public key file {value}: {e}") from e
        if text.lstrip().startswith("{"):
            try:
                doc = json.loads(text)
            except ValueError as e:
                raise UsageError(f"the public key file {value} is not JSON: {e}") from e
            found = (
                doc.get("verifier_key") or doc.get("public_key") if isinstance(doc, dict) else None
            )
            if not isinstance(found, str):
                raise UsageError(
                    f'the public key file {value} has no "verifier_key" or "public_key"'
                )
            text = found
    try:
        return parse_key(text)
    except ValueError as e:
        raise UsageError(f"--public-key: {e}") from e


def _export_lines(path: str) -> Iterator[bytes]:
    try:
        with Path(path).open("rb") as f:
            yield from f
    except OSError as e:
        raise UsageError(f"cannot read the export {path}: {e.strerror or e}") from e


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="standalone.py",
        description="Check a PARS disclosure-log export, or a proof, against signed checkpoints.",
    )
    p.add_argument("--log", metavar="EXPORT.jsonl", help="the export to verify")
    p.add_argument(
        "--checkpoints",
        metavar="FILE",
        action="append",
        help="signed checkpoints: signed notes, or JSON as the API or `pars audit checkpoints` "
        "give them (may be given more than once)",
    )
    p.add_argument(
        "--public-key",
        metavar="KEY",
        help="the log's key: its verifier key <name>+<id>+<base64>, the raw key in base64, or "
        "a file holding either or the answer of GET /api/v1/audit/public-key",
    )
    p.add_argument(
        "--require-all",
        action="store_true",
        help="fail when a checkpoint is not covered by the export (or a proof's root by one)",
    )
    p.add_argument("--agreement", metavar="ID", help="count its disclosures after --ended-at")
    p.add_argument("--ended-at", metavar="ISO", help="when the agreement ended (ISO 8601)")
    p.add_argument("--inclusion", metavar="PROOF.json", help="check an inclusion proof/receipt")
    p.add_argument("--consistency", metavar="PROOF.json", help="check a consistency proof")
    return p


def _run(args: argparse.Namespace) -> int:
    if not (args.log or args.inclusion or args.consistency):
        raise UsageError("nothing to check: give --log, --inclusion or --consistency")
    if args.log and not (args.checkpoints and args.public_key):
        raise UsageError("--log needs --checkpoints and --public-key")
    if bool(args.agreement) != bool(args.ended_at) or (args.agreement and not args.log):
        raise UsageError("--agreement and --ended-at go together, with --log")
    if args.checkpoints and not args.public_key:
        raise UsageError("--checkpoints needs --public-key")
    key = _public_key(args.public_key) if args.public_key else None
    items: list[object] | None = None
    if args.checkpoints:
        items = [item for path in args.checkpoints for item in _read_checkpoints_file(path)]
    ended_at = None
    if args.ended_at:
        try:
            ended_at = _parse_instant(args.ended_at)
        except ValueError as e:
            raise UsageError(f"--ended-at {args.ended_at!r} is not an ISO 8601 time") from e
    ok = True
    if args.log:
        assert key is not None and items is not None
        report = verify_export(
            _export_lines(args.log),
            items,
            key,
            require_all=args.require_all,
            agreement=args.agreement,
            ended_at=ended_at,
        )
        sys.stdout.write(report.render(key))
        ok = report.ok
    checkpoints = read_checkpoints(items, key) if items is not None and key is not None else None
    if args.inclusion:
        doc = _read_json(args.inclusion, "inclusion proof")
        proof_report = check_inclusion_file(doc, checkpoints, key, args.require_all)
        sys.stdout.write(proof_report.render())
        ok = ok and proof_report.ok
    if args.consistency:
        doc = _read_json(args.consistency, "consistency proof")
        proof_report = check_consistency_file(doc, checkpoints, args.require_all)
        sys.stdout.write(proof_report.render())
        ok = ok and proof_report.ok
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # exits with 2 on bad arguments
    try:
        return _run(args)
    except UsageError as e:
        print(f"standalone.py: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
