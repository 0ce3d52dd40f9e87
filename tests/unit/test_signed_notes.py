"""Checkpoints as C2SP signed notes, without a database: the Go note package's published example
(golang.org/x/mod/sumdb/note, the package documentation's "PeterNeumann" key, text and signed
note, copied exactly) as a vector for PARS's signer and for the stand-alone verifier; the
stand-alone verifier's pure-Python Ed25519 against `cryptography`; and the checkpoint route's
content negotiation."""

from __future__ import annotations

import base64
import hashlib
import random
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pars.audit import standalone as sv
from pars.audit.checkpoint import (
    Signer,
    open_signed_note,
    parse_note,
    parse_verifier_key,
    signed_note,
    valid_key_name,
    verify_signed_note,
)
from pars.web.api.audit import prefers_json

# golang.org/x/mod/sumdb/note, package documentation ("Example"), as published.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
GO_NOTE = GO_TEXT + "\n\u2014 PeterNeumann " + GO_SIG + "\n"
# The documentation's doubly-signed example: a second, unknown key's line must be ignored.
GO_ENOCH = "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"  # noqa: E501


def _go_signer() -> Signer:
    # "PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>"; the base64 may itself hold "+".
    key = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert key[0] == 1 and len(key) == 33
    return Signer.from_seed(base64.b64encode(key[1:]).decode())


def test_pars_signs_the_go_example_byte_for_byte() -> None:
    signer = _go_signer()
    assert signer.verifier_key("PeterNeumann") == GO_VKEY
    assert signer.key_id("PeterNeumann").hex() == "c74f20a3"
    note = signed_note(GO_TEXT, "PeterNeumann", signer.key_id("PeterNeumann"), signer.sign(GO_TEXT))
    assert note == GO_NOTE  # Ed25519 is deterministic (RFC 8032)
    name, kid, public = parse_verifier_key(GO_VKEY)
    assert (name, kid, public) == ("PeterNeumann", bytes.fromhex("c74f20a3"), signer.public_raw)
    assert verify_signed_note(GO_NOTE, "PeterNeumann", public) == GO_TEXT
    assert verify_signed_note(GO_NOTE + GO_ENOCH, "PeterNeumann", public) == GO_TEXT
    with pytest.raises(ValueError, match="does not verify"):
        verify_signed_note(GO_NOTE.replace("cryptography", "cryptographY"), "PeterNeumann", public)


def test_the_standalone_verifier_opens_the_go_example() -> None:
    key = sv.parse_key(GO_VKEY)
    assert key.name == "PeterNeumann"
    assert sv.verify_signed_note(GO_NOTE, key) == GO_TEXT
    assert sv.verify_signed_note(GO_NOTE + GO_ENOCH, key) == GO_TEXT
    # Given only the raw key, the line is recognised by its key id.
    assert sv.verify_signed_note(GO_NOTE, sv.LogKey(key.public_key)) == GO_TEXT
    with pytest.raises(ValueError, match="does not verify"):
        sv.verify_signed_note(GO_NOTE.replace("problem,", "problem;"), key)
    with pytest.raises(ValueError, match="no signature line is by the log's key"):
        sv.verify_signed_note(GO_TEXT + "\n" + GO_ENOCH, key)
    raw = base64.b64decode(GO_SIG)
    assert sv.ed25519_verify_pure(key.public_key, GO_TEXT.encode(), raw[4:])
    assert not sv.ed25519_verify_pure(key.public_key, GO_TEXT.encode()[:-1], raw[4:])


@pytest.mark.parametrize(
    "vkey",
    [
        GO_VKEY.replace("c74f20a3", "c74f20a4"),  # the id does not match
        GO_VKEY.replace("PeterNeumann", "Peter Neumann"),  # a space in the name
        GO_VKEY.replace("+ARpc", "+AhRpc"),  # not type 0x01 / not 32 bytes
        "PeterNeumann+c74f20a3",
        "",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(ValueError, match="verifier key"):
        parse_verifier_key(vkey)
    with pytest.raises(ValueError, match=r"verifier key|public key"):
        sv.parse_key(vkey)


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT + "\u2014 PeterNeumann " + GO_SIG + "\n",  # no blank line
        GO_TEXT + "\n- PeterNeumann " + GO_SIG + "\n",  # a hyphen, not an em dash
        GO_TEXT + "\n\u2014 PeterNeumann " + GO_SIG,  # no final newline
        GO_TEXT + "\n\u2014 Peter+Neumann " + GO_SIG + "\n",  # "+" in the name
        GO_TEXT.replace("\n", "\r\n", 1) + "\n\u2014 PeterNeumann " + GO_SIG + "\n",
        GO_TEXT + "\n\u2014 PeterNeumann AAAA\n",  # shorter than a key id and one byte
    ],
)
def test_malformed_signed_notes_are_refused(note: str) -> None:
    with pytest.raises(ValueError, match="signed note"):
        open_signed_note(note)
    with pytest.raises(ValueError, match=r"signed note|signature"):
        sv.open_signed_note(note)


def test_key_names_follow_the_spec() -> None:
    assert valid_key_name("urn:pars:philadelphia-pa/disclosure-log")
    for bad in ("", "a b", "a+b", "a\nb", "a\u00a0b", "a\u2003b"):
        assert not valid_key_name(bad) and not sv.valid_key_name(bad)


def test_a_checkpoint_text_has_the_tlog_checkpoint_layout() -> None:
    root = base64.b64encode(bytes(32)).decode()
    assert parse_note(f"example.com/log\n0\n{root}\n").size == 0
    assert parse_note(f"example.com/log\n12\n{root}\next\n").time == "ext"
    for bad in (f"o\n012\n{root}\n", f"o\n1\n{root}", f"o\n1\n{root}\n\n", f"o\n-1\n{root}\n"):
        with pytest.raises(ValueError, match="checkpoint note"):
            parse_note(bad)
        with pytest.raises(ValueError, match="note"):
            sv._parse_note(bad)


def test_pure_ed25519_agrees_with_cryptography() -> None:
    rng = random.Random(13)
    for n in range(12):
        private = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
        public = Signer(private).public_raw
        message = rng.randbytes(n * 7)
        signature = private.sign(message)
        assert sv.ed25519_verify_pure(public, message, signature)
        assert sv._ed25519_verify_cryptography(public, message, signature)
        bad = bytearray(signature)
        bad[n % 64] ^= 1 << (n % 8)
        assert not sv.ed25519_verify_pure(public, message, bytes(bad))
        assert not sv._ed25519_verify_cryptography(public, message, bytes(bad))
        assert not sv.ed25519_verify_pure(public, message + b"x", signature)
    # S at or above the group order is refused (RFC 8032 §5.1.7), as are short signatures.
    private = Ed25519PrivateKey.from_private_bytes(bytes(32))
    public, signature = Signer(private).public_raw, private.sign(b"m")
    s = int.from_bytes(signature[32:], "little") + sv._L
    assert not sv.ed25519_verify_pure(public, b"m", signature[:32] + s.to_bytes(32, "little"))
    assert not sv.ed25519_verify_pure(public, b"m", signature[:63])


def test_key_ids() -> None:
    signer = _go_signer()
    raw = signer.public_raw
    assert signer.legacy_key_id == hashlib.sha256(raw).hexdigest()[:16] == sv.legacy_key_id(raw)
    assert sv.note_key_id("PeterNeumann", raw) == signer.key_id("PeterNeumann")


def test_split_signed_notes() -> None:
    two = GO_NOTE + "\n" + GO_NOTE.replace("\n\u2014", "\n\u2014", 1) + GO_ENOCH
    notes = sv.split_signed_notes(two)
    assert notes == [GO_NOTE, GO_NOTE + GO_ENOCH]
    assert sv.checkpoint_items(two) == notes


@pytest.mark.parametrize(
    ("accept", "json"),
    [
        (None, False),
        ("*/*", False),
        ("text/plain", False),
        ("text/*", False),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("application/json", True),
        ("application/*", True),
        ("application/json, text/plain;q=0.5", True),
        ("application/json;q=0.4, text/plain", False),
        ("application/json, text/plain, */*", True),  # axios: both named, JSON first
        ("text/plain, application/json", False),
        ("application/json;q=0", False),
        ("application/json;q=nonsense", False),
    ],
)
def test_the_checkpoint_route_negotiates(accept: str | None, json: bool) -> None:
    assert prefers_json(accept) is json


def test_the_example_in_the_api_docs_verifies() -> None:
    """docs/api.md shows a checkpoint and its verifier key; both must stay true."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    section = doc[doc.index("**Checkpoints** are signed tree heads") :]
    start = section.index("```\n") + 4
    block = section[start : section.index("\n```", start) + 1]
    vkey = re.search(r"`(urn:pars:[^`+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+)`", section)
    assert vkey is not None
    name, _, public = parse_verifier_key(vkey.group(1))
    note = verify_signed_note(block, name, public)
    assert parse_note(note).size == 1234 and name == parse_note(note).origin
    seed = base64.b64encode(bytes(32)).decode()
    assert Signer.from_seed(seed).verifier_key(name) == vkey.group(1)
