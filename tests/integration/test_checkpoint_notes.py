"""Checkpoints as C2SP signed notes, as the server serves them.

`spec_open` below is a signed-note verifier written in this test from c2sp.org/signed-note and
c2sp.org/tlog-checkpoint, with nothing of PARS's parsing or key ids: what a witness or monitor of
the transparency-log ecosystem would do with the answer of `GET /api/v1/audit/checkpoint` and the
verifier key of `GET /api/v1/audit/public-key`. Then the stand-alone verifier is fed the raw
answer of every checkpoint endpoint and the CLI's files, and a checkpoint made the old way
(legacy key id, note and bare signature) stays verifiable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pars.audit import standalone as sv
from pars.audit.checkpoint import Signer, render_note
from pars.audit.merkle import MerkleLog
from pars.services import audit
from pars.services.audit_verify import verify, verify_given
from pars.services.transparency import report as transparency_report
from pars.store import audit as log
from tests.conftest import Api
from tests.factories import arrest_body
from tests.integration.cli import run_cli

JSON = {"Accept": "application/json"}
EM_DASH_SPACE = "\u2014 "

# ---------------------------------------------------------------------------------------------
# An independent verifier, from the spec text.


def spec_key_id(name: str, key: bytes) -> bytes:
    # "key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]"
    return hashlib.sha256(name.encode() + b"\x0a" + b"\x01" + key).digest()[:4]


def spec_verifier_key(vkey: str) -> tuple[str, bytes, bytes]:
    name, kid_hex, key_b64 = vkey.split("+", 2)
    key = base64.b64decode(key_b64, validate=True)
    assert name and not re.search(r"\s|\+", name)
    assert len(kid_hex) == 8 and len(key) == 33 and key[0] == 0x01
    assert spec_key_id(name, key[1:]) == bytes.fromhex(kid_hex)
    return name, bytes.fromhex(kid_hex), key[1:]


def spec_open(message: str, vkey: str) -> str:
    """The note text when the key's signature verifies (AssertionError or InvalidSignature
    otherwise); other keys' signatures are ignored."""
    name, kid, key = spec_verifier_key(vkey)
    assert not re.search(r"[\x00-\x09\x0b-\x1f]", message)
    split = message.rindex("\n\n")
    text, block = message[: split + 1], message[split + 2 :]
    assert block.endswith("\n")
    verified = 0
    for line in block[:-1].split("\n"):
        assert line.startswith(EM_DASH_SPACE), line
        line_name, b64 = line[len(EM_DASH_SPACE) :].split(" ", 1)
        blob = base64.b64decode(b64, validate=True)
        if line_name == name and blob[:4] == kid:
            Ed25519PublicKey.from_public_bytes(key).verify(blob[4:], text.encode())
            verified += 1
    assert verified, "no signature by the key"
    return text


def spec_checkpoint(text: str) -> tuple[str, int, bytes, list[str]]:
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) >= 4
    lines = lines[:-1]
    assert all(lines)
    origin, size, root_b64, *extensions = lines
    assert re.fullmatch(r"0|[1-9][0-9]*", size)
    root = base64.b64decode(root_b64, validate=True)
    assert len(root) == 32
    return origin, int(size), root, extensions


# ---------------------------------------------------------------------------------------------


def _submit(api: Api, n: int = 1) -> None:
    for _ in range(n):
        r = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body())
        assert r.status_code == 201, r.text


def _sign(api: Api) -> dict[str, Any]:
    r = api.as_("auditor").post("/api/v1/audit/checkpoint")
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_the_served_checkpoint_is_a_c2sp_signed_note(api: Api, backend: str) -> None:
    _submit(api, 2)
    signed = _sign(api)
    api.client.headers.pop("Authorization", None)
    key = api.client.get("/api/v1/audit/public-key").json()
    r = api.client.get("/api/v1/audit/checkpoint")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert "accept" in r.headers["vary"].lower()

    text = spec_open(r.text, key["verifier_key"])
    origin, size, root, extensions = spec_checkpoint(text)
    name, kid, public = spec_verifier_key(key["verifier_key"])
    # The key name is the origin, derived from the jurisdiction; the key is the published one.
    assert origin == name == key["key_name"] == "urn:pars:philadelphia-pa/disclosure-log"
    assert base64.b64decode(key["public_key"]) == public
    assert key["key_id"] == kid.hex() == spec_key_id(name, public).hex()
    assert (size, base64.b64encode(root).decode()) == (signed["size"], signed["root_hash"])
    assert len(extensions) == 1  # the signing time, RFC 3339 in UTC
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", extensions[0])
    # One signature line, by the log.
    assert r.text == text + "\n" + EM_DASH_SPACE + name + " " + r.text.split(" ")[-1]

    # The JSON view keeps its fields and adds the note; it is the same checkpoint.
    view = api.client.get("/api/v1/audit/checkpoint", headers=JSON)
    assert view.headers["content-type"].startswith("application/json")
    body = view.json()
    assert {"id", "size", "root_hash", "time", "key_id", "note", "signature"} <= set(body)
    assert body == signed and body["signed_note"] == r.text and body["note"] == text
    assert body["key_id"] == kid.hex() and body["key_name"] == name
    sig = base64.b64decode(r.text.split(" ")[-1])
    assert base64.b64decode(body["signature"]) == sig[4:]

    # A changed byte anywhere in the text fails the independent check.
    with pytest.raises(Exception):  # noqa: B017,PT011 - InvalidSignature or AssertionError
        spec_open(r.text.replace(origin, origin[:-1] + "X", 1), key["verifier_key"])
    # Every stored checkpoint's note verifies the same way.
    _submit(api)
    _sign(api)
    api.client.headers.pop("Authorization", None)
    items = api.client.get("/api/v1/audit/checkpoints").json()["items"]
    assert len(items) == 2
    for item in items:
        assert spec_open(item["signed_note"], key["verifier_key"]) == item["note"]


def test_no_checkpoint_is_a_problem_in_either_form(api: Api) -> None:
    for headers in ({}, JSON):
        r = api.client.get("/api/v1/audit/checkpoint", headers=headers)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")


def _old_way(pars: Any, signer: Signer, size: int | None = None) -> int:
    """A checkpoint as PARS stored one before checkpoints were signed notes: the key id was the
    first 16 hex digits of SHA-256 of the raw key, the signature the bare Ed25519 signature."""
    with pars.uow() as uow:
        n = log.log_size(uow.conn) if size is None else size
        root = log.prefetched(uow.conn, n, MerkleLog.root)
        now = pars.clock.now()
        note = render_note(f"{pars.source}/disclosure-log", n, root, now)
        row = {
            "size": n,
            "root": root,
            "at": now,
            "key_id": hashlib.sha256(signer.public_raw).hexdigest()[:16],
            "note": note,
            "signature": signer.sign(note),
        }
        cid = log.add_checkpoint(uow.conn, row)
        uow.commit()
    return cid


def test_a_checkpoint_signed_the_old_way_stays_verifiable(
    api: Api, backend: str, tmp_path: Path
) -> None:
    _submit(api, 2)
    _old_way(api.pars, api.pars.signer)
    _submit(api)
    _sign(api)
    api.client.headers.pop("Authorization", None)
    items = api.client.get("/api/v1/audit/checkpoints").json()["items"]
    old, new = items
    key = api.client.get("/api/v1/audit/public-key").json()
    assert old["key_id"] == key["legacy_key_id"] and len(old["key_id"]) == 16
    assert new["key_id"] == key["key_id"] and len(new["key_id"]) == 8
    # `pars audit verify` checks both; so does a check of them as given from outside.
    report = verify(api.pars)
    assert report.ok, report.problems
    assert report.checkpoints == 2
    assert verify_given(api.pars, items).ok
    # The old checkpoint signed the same bytes, so it is also a valid signed note.
    assert spec_open(old["signed_note"], key["verifier_key"]) == old["note"]
    # The old JSON form (note and bare signature, no signed note) still verifies stand-alone.
    legacy = {k: v for k, v in old.items() if k not in ("signed_note", "key_name")}
    checked = sv.read_checkpoints([legacy, new], sv.parse_key(key["verifier_key"]))
    assert [c.problem for c in checked] == [None, None]
    assert [
        c.problem for c in sv.read_checkpoints([legacy], base64.b64decode(key["public_key"]))
    ] == [None]
    # The transparency page sees the latest checkpoint's key as the log's.
    assert transparency_report(api.pars)["log"]["key_matches"] is True

    # An old checkpoint under another key is named, and stands out in `pars audit verify`.
    other = Signer.generate()
    _old_way(api.pars, other)
    report = verify(api.pars)
    assert not report.ok
    assert any("does not verify" in p for p in report.problems)
    stray = api.client.get("/api/v1/audit/checkpoint", headers=JSON).json()
    assert stray["signed_note"] is None  # its key's spec id cannot be known
    r = api.client.get("/api/v1/audit/checkpoint")
    assert r.status_code == 404 and "Accept: application/json" in r.json()["detail"]
    bad = sv.read_checkpoints([stray], base64.b64decode(key["public_key"]))[0]
    assert bad.problem is not None and "names key" in bad.problem


def _export(api: Api, path: Path) -> None:
    path.write_text("".join(audit.export_lines(api.pars, api.principal("auditor"))))


def test_the_standalone_verifier_takes_every_checkpoint_answer_as_served(
    api: Api, backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _submit(api, 2)
    posted = api.as_("auditor").post("/api/v1/audit/checkpoint")
    _submit(api, 3)
    _sign(api)
    api.client.headers.pop("Authorization", None)
    answers = {
        "note.txt": api.client.get("/api/v1/audit/checkpoint"),
        "latest.json": api.client.get("/api/v1/audit/checkpoint", headers=JSON),
        "list.json": api.client.get("/api/v1/audit/checkpoints"),
        "posted.json": posted,
        "key.json": api.client.get("/api/v1/audit/public-key"),
    }
    for name, r in answers.items():
        assert r.status_code in (200, 201), name
        (tmp_path / name).write_bytes(r.content)  # as served, byte for byte
    key = answers["key.json"].json()
    (tmp_path / "cli.json").write_text(json.dumps(audit.all_checkpoints(api.pars), indent=2))
    (tmp_path / "notes.txt").write_text(
        "\n".join(item["signed_note"] for item in answers["list.json"].json()["items"])
    )
    export = tmp_path / "log.jsonl"
    _export(api, export)
    capsys.readouterr()

    keys = [key["verifier_key"], key["public_key"], str(tmp_path / "key.json")]
    for file in ("note.txt", "latest.json", "list.json", "posted.json", "cli.json", "notes.txt"):
        for k in keys:
            args = ["--log", str(export), "--checkpoints", str(tmp_path / file), "--public-key", k]
            assert sv.main(args) == 0, (file, k, capsys.readouterr())
            out = capsys.readouterr().out
            assert "RESULT: OK" in out and "0 not covered" in out, (file, out)
            assert "correctly signed, " in out and " 0 correctly signed" not in out
    # All of them at once.
    files = [a for f in answers if f != "key.json" for a in ("--checkpoints", str(tmp_path / f))]
    assert sv.main(["--log", str(export), *files, "--public-key", key["verifier_key"]]) == 0
    assert "5 given, 5 correctly signed, 5 matched" in capsys.readouterr().out

    # A proof checked against the served signed note.
    size = answers["latest.json"].json()["size"]
    proof = api.client.get("/api/v1/audit/proof/inclusion", params={"index": 1})
    (tmp_path / "proof.json").write_bytes(proof.content)
    args = ["--inclusion", str(tmp_path / "proof.json"), "--checkpoints"]
    args += [str(tmp_path / "note.txt"), "--public-key", key["verifier_key"], "--require-all"]
    assert sv.main(args) == 0, capsys.readouterr()
    assert f"the root of size {size:,} is the signed root" in capsys.readouterr().out

    # A note altered in transit fails; a key of another name does not vouch for it.
    note = answers["note.txt"].text
    (tmp_path / "bad.txt").write_text(note.replace(f"\n{size}\n", f"\n{size + 1}\n", 1))
    args = ["--log", str(export), "--checkpoints", str(tmp_path / "bad.txt")]
    assert sv.main([*args, "--public-key", key["verifier_key"]]) == 1
    assert "BAD SIGNATURE OR NOTE" in capsys.readouterr().out
    other = Signer.generate().verifier_key(key["key_name"])
    assert sv.main([*args[:-1], str(tmp_path / "note.txt"), "--public-key", other]) == 1
    assert "no signature line is by the log's key" in capsys.readouterr().out
    # Something that is no checkpoint at all is a usage error.
    (tmp_path / "junk.txt").write_text("hello\n")
    assert sv.main([*args[:-1], str(tmp_path / "junk.txt"), "--public-key", other]) == 2


def test_the_copied_verifier_needs_no_dependency(api: Api, tmp_path: Path) -> None:
    """Copied alone and run where `cryptography` cannot be imported, it verifies with its pure
    Ed25519."""
    _submit(api, 2)
    _sign(api)
    api.client.headers.pop("Authorization", None)
    (tmp_path / "note.txt").write_bytes(api.client.get("/api/v1/audit/checkpoint").content)
    vkey = api.client.get("/api/v1/audit/public-key").json()["verifier_key"]
    _export(api, tmp_path / "log.jsonl")
    shutil.copy(sv.__file__, tmp_path / "standalone.py")
    block = (
        "import sys, runpy; sys.modules['cryptography'] = None; "
        "sys.argv = ['standalone.py', *sys.argv[1:]]; "
        "mod = runpy.run_path('standalone.py', run_name='verifier'); "
        "assert mod['ed25519_verify'] is mod['ed25519_verify_pure']; "
        "sys.exit(mod['main'](sys.argv[1:]))"
    )
    args = ["--log", "log.jsonl", "--checkpoints", "note.txt", "--public-key", vkey]
    done = subprocess.run(
        [sys.executable, "-I", "-c", block, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "RESULT: OK" in done.stdout and "1 matched" in done.stdout
    forged = (tmp_path / "note.txt").read_text().replace("disclosure-log", "disclosure-lag", 1)
    (tmp_path / "note.txt").write_text(forged)
    done = subprocess.run(
        [sys.executable, "-I", "-c", block, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "BAD SIGNATURE OR NOTE" in done.stdout


def test_pars_audit_verify_takes_notes_and_json_files(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pars.cli.support import load_app

    assert run_cli(monkeypatch, "init") == 0
    assert run_cli(monkeypatch, "audit", "checkpoint") == 0
    assert run_cli(monkeypatch, "audit", "checkpoints") == 0
    capsys.readouterr()
    pars = load_app()
    items = audit.all_checkpoints(pars)
    (env / "cli.json").write_text(json.dumps(items))
    (env / "list.json").write_text(json.dumps({"items": items}))
    (env / "note.txt").write_text(items[-1]["signed_note"])
    for file in ("cli.json", "list.json", "note.txt"):
        assert (
            run_cli(monkeypatch, "audit", "verify", "--quiet", "--checkpoints", str(env / file))
            == 0
        )
        assert "1 given checkpoint(s) match" in capsys.readouterr().out
    # A note kept outside whose root the log no longer has: the log was rewritten.
    note = items[-1]["note"]
    other = Signer.load(None, env)  # the log's own key, so only the root is wrong
    origin, size, _root, time = note.split("\n")[:4]
    fake = f"{origin}\n{size}\n{base64.b64encode(bytes(32)).decode()}\n{time}\n"
    kid = other.key_id(origin)
    sig = base64.b64encode(kid + other.sign(fake)).decode()
    (env / "fake.txt").write_text(f"{fake}\n\u2014 {origin} {sig}\n")
    assert (
        run_cli(monkeypatch, "audit", "verify", "--quiet", "--checkpoints", str(env / "fake.txt"))
        == 1
    )
    assert "rewritten or forked" in capsys.readouterr().err
    (env / "junk.txt").write_text("not a checkpoint\n")
    with pytest.raises(SystemExit, match="cannot read checkpoints"):
        run_cli(monkeypatch, "audit", "verify", "--quiet", "--checkpoints", str(env / "junk.txt"))
