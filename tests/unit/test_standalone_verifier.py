"""The stand-alone verifier (`pars.audit.standalone`): RFC 6962 vectors, exports built the way
PARS builds them, and every kind of damage an auditor must be told about, with the first bad
entry named.

The module may not import PARS, so the exports here are built with PARS's own code
(`encode_entry`, `MerkleLog`, `Signer`) and checked by the module's independent one.
"""

from __future__ import annotations

import ast
import base64
import json
import random
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pars.audit import standalone as sv
from pars.audit.checkpoint import Signer, render_note
from pars.audit.entries import encode_entry
from pars.audit.merkle import MemoryNodeStore, MerkleLog, compute_root, leaf_hash

# The Certificate Transparency reference tree (leaves "", 00, 10, 2021, 3031, 40414243,
# 5051525354555657, 606162636465666768696a6b6c6d6e6f). test_merkle.py holds the values as
# published in transparency-dev/merkle proof/verify_test.go (`leaves`, `roots`,
# `inclusionProofs`, `consistencyProofs`; commit 02194e9, the same values as Trillian and
# certificate-transparency-go); they were re-checked against that file for this module.
from tests.unit.test_merkle import CONSISTENCY, DATA, INCLUSION, ROOTS

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
ORIGIN = "pars.test/disclosure-log"
MODULE = Path(sv.__file__)


# ---------------------------------------------------------------------------------------------
# Building exports the way PARS does.


def _entry(i: int, actor: str = "clerk.adams") -> bytes:
    actions = ["disclosure:delivered", "arrest:submit", "disclosure:lookup", "disclosure:withheld"]
    action = actions[i % len(actions)]
    disclosure = action.startswith("disclosure:")
    return encode_entry(
        index=i,
        at=T0 + timedelta(hours=i),
        actor=actor,
        role="clerk",
        action=action,
        subject="partner-north" if disclosure else f"arrest-{i}",
        outcome="success",
        agreement="agr-7/v2" if disclosure else None,
        record=f"rec-{i:04d}" if disclosure else None,
        classes=["case", "identity"] if disclosure else [],
        payload_hash=f"{i:064x}" if disclosure else None,
        details={"n": i, "note": "metadata only"},
    )


def _checkpoint(signer: Signer, log: MerkleLog, size: int, at: datetime) -> dict[str, Any]:
    root = log.root(size)
    note = render_note(ORIGIN, size, root, at)
    return {
        "id": size,
        "size": size,
        "root_hash": base64.b64encode(root).decode(),
        "time": at.isoformat(),
        "key_id": signer.legacy_key_id,
        "note": note,
        "signature": base64.b64encode(signer.sign(note)).decode(),
    }


def _line(i: int, entry: bytes) -> str:
    return json.dumps({"index": i, "entry": entry.decode()}) + "\n"


class Log:
    """A log of `entries` with checkpoints signed at `sizes`."""

    def __init__(self, signer: Signer, entries: Sequence[bytes], sizes: Sequence[int]) -> None:
        self.entries = list(entries)
        self.log = MerkleLog(MemoryNodeStore())
        self.log.append([leaf_hash(e) for e in self.entries])
        self.checkpoints = [
            _checkpoint(signer, self.log, s, T0 + timedelta(days=1, minutes=s)) for s in sizes
        ]
        self.lines = [_line(i, e) for i, e in enumerate(self.entries)]


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.from_seed(base64.b64encode(b"v" * 32).decode())


N = 21


@pytest.fixture(scope="module")
def every(signer: Signer) -> Log:
    """Checkpoints at every size: damage is pinned to one entry."""
    return Log(signer, [_entry(i) for i in range(N)], range(N + 1))


@pytest.fixture(scope="module")
def sparse(signer: Signer) -> Log:
    return Log(signer, [_entry(i) for i in range(N)], [5, 8, 16, N])


def _verify(log: Log, signer: Signer, lines: Sequence[str] | None = None, **kw: Any) -> sv.Report:
    return sv.verify_export(
        log.lines if lines is None else lines, log.checkpoints, signer.public_raw, **kw
    )


# ---------------------------------------------------------------------------------------------
# (1) RFC 6962: published vectors, and agreement with pars.audit.merkle.


def _unhex(values: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


CT_LEAVES = [sv.hash_leaf(d) for d in DATA]


def _ct_log() -> MerkleLog:
    log = MerkleLog(MemoryNodeStore())
    log.append([leaf_hash(d) for d in DATA])
    return log


def test_published_roots_agree_with_both_implementations() -> None:
    log = _ct_log()
    assert [leaf_hash(d) for d in DATA] == CT_LEAVES
    assert sv.EMPTY_TREE.hex() == ROOTS[0]
    for n, want in enumerate(ROOTS):
        assert sv.tree_hash(CT_LEAVES[:n]).hex() == want, n
        assert log.root(n).hex() == want == compute_root(CT_LEAVES[:n]).hex(), n


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_published_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    want = _unhex(proof)
    assert _ct_log().inclusion_proof(index, size) == want
    assert sv.root_from_inclusion(index, size, CT_LEAVES[index], want) == bytes.fromhex(ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_published_consistency_proofs(old: int, new: int, proof: list[str]) -> None:
    want = _unhex(proof)
    assert _ct_log().consistency_proof(old, new) == want
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert sv.root_from_consistency(old, new, old_root, want) == new_root


def _flip(value: bytes, at: int) -> bytes:
    return value[:at] + bytes([value[at] ^ 0x01]) + value[at + 1 :]


def test_proofs_of_every_shape_agree_and_tampering_fails() -> None:
    rng = random.Random(6962)
    leaves = [sv.hash_leaf(rng.randbytes(rng.randrange(20))) for _ in range(70)]
    log = MerkleLog(MemoryNodeStore())
    log.append(leaves)
    for size in range(1, len(leaves) + 1):
        root = log.root(size)
        assert sv.tree_hash(leaves[:size]) == root
        for index in range(size):
            proof = log.inclusion_proof(index, size)
            assert sv.root_from_inclusion(index, size, leaves[index], proof) == root
            bad = [
                (index ^ 1, size, leaves[index], proof),
                (index, size + 1 << 1, leaves[index], proof),
                (index, size, _flip(leaves[index], 3), proof),
                (index, size, leaves[index], [*proof, root]),
                *(
                    (index, size, leaves[index], [*proof[:j], _flip(p, j)])
                    for j, p in enumerate(proof)
                ),
            ]
            for args in bad:
                if args[0] < args[1]:
                    assert sv.root_from_inclusion(*args) != root, (args[0], args[1])
        for old in range(1, size + 1):
            proof = log.consistency_proof(old, size)
            old_root = log.root(old)
            assert sv.root_from_consistency(old, size, old_root, proof) == root
            if proof:
                assert sv.root_from_consistency(old, size, _flip(old_root, 0), proof) != root
                assert sv.root_from_consistency(old, size, old_root, proof[:-1]) != root
                assert sv.root_from_consistency(old, size, old_root, [*proof, root]) != root
                for j, p in enumerate(proof):
                    tampered = [*proof[:j], _flip(p, j), *proof[j + 1 :]]
                    assert sv.root_from_consistency(old, size, old_root, tampered) != root


def test_garbage_never_raises() -> None:
    h = CT_LEAVES[0]
    assert sv.root_from_inclusion(0, 0, h, []) is None
    assert sv.root_from_inclusion(-1, 2, h, [h]) is None
    assert sv.root_from_inclusion(0, 2, h[:31], [h]) is None
    assert sv.root_from_inclusion(0, 2, h, [b"x"]) is None
    assert sv.root_from_consistency(2, 1, h, []) is None
    assert sv.root_from_consistency(0, 5, h, []) is None
    assert sv.root_from_consistency(0, 5, sv.EMPTY_TREE, [h]) is None
    assert sv.root_from_consistency(3, 3, h, [h]) is None
    assert sv.root_from_consistency(3, 5, h, []) is None


# ---------------------------------------------------------------------------------------------
# (2) Exports.


def test_a_valid_export_verifies(signer: Signer, every: Log, sparse: Log) -> None:
    for log in (every, sparse):
        report = _verify(log, signer, require_all=True)
        assert report.ok, report.render()
        assert report.entries == N
        assert report.root == log.log.root()
        assert len(report.matched) == len(log.checkpoints)
        assert "RESULT: OK" in report.render(signer.public_raw)


def test_the_command_line_on_files(signer: Signer, sparse: Log, tmp_path: Path) -> None:
    export, cps = tmp_path / "export.jsonl", tmp_path / "checkpoints.json"
    export.write_text("".join(sparse.lines))
    cps.write_text(json.dumps(sparse.checkpoints))
    args = ["--log", str(export), "--checkpoints", str(cps), "--public-key", signer.public_b64]
    assert sv.main(args) == 0
    export.write_text(
        "".join([*sparse.lines[:9], _line(9, _entry(9, "clerk.adamz")), *sparse.lines[10:]])
    )
    assert sv.main(args) == 1
    # A copy of the single file, run by path from elsewhere, does the same.
    copy = tmp_path / "standalone.py"
    shutil.copy(MODULE, copy)
    done = subprocess.run(
        [sys.executable, str(copy), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "RESULT: FAILED" in done.stdout and "entries 8..15" in done.stdout


def test_usage_errors_exit_2(signer: Signer, sparse: Log, tmp_path: Path) -> None:
    cps = tmp_path / "cps.json"
    cps.write_text(json.dumps(sparse.checkpoints))
    key = signer.public_b64
    assert sv.main([]) == 2
    assert (
        sv.main(
            ["--log", str(tmp_path / "missing"), "--checkpoints", str(cps), "--public-key", key]
        )
        == 2
    )
    assert sv.main(["--log", str(cps), "--checkpoints", str(cps), "--public-key", "abc"]) == 2
    assert sv.main(["--log", str(cps), "--checkpoints", str(cps)]) == 2
    assert (
        sv.main(
            [
                "--log",
                str(cps),
                "--checkpoints",
                str(cps),
                "--public-key",
                key,
                "--agreement",
                "agr-7",
            ]
        )
        == 2
    )
    with pytest.raises(SystemExit) as exit_:
        sv.main(["--no-such-option"])
    assert exit_.value.code == 2


ENTRIES_TO_FLIP = [0, 1, 4, 9, 13, N - 1]


def test_any_flipped_byte_is_detected_and_named(signer: Signer, every: Log) -> None:
    for i in ENTRIES_TO_FLIP:
        entry = every.entries[i]
        for at in sorted(
            {0, 1, 7, len(entry) // 3, len(entry) // 2, len(entry) - 2, len(entry) - 1}
        ):
            lines = list(every.lines)
            lines[i] = _line(i, _flip(entry, at))
            report = _verify(every, signer, lines)
            assert not report.ok, (i, at)
            first = report.first_bad_entry
            assert first is not None and first.index == i, (i, at, report.render())
            assert f"entry {i}" in report.render()


def test_a_flip_between_sparse_checkpoints_is_pinned_to_their_span(
    signer: Signer, sparse: Log
) -> None:
    spans = [(0, 5), (5, 8), (8, 16), (16, N)]
    for i in ENTRIES_TO_FLIP:
        lo, hi = next(s for s in spans if s[0] <= i < s[1])
        entry = sparse.entries[i]
        # A digit inside "details": the entry stays well-formed, so only the roots can tell.
        at = entry.index(b'"n":') + 4
        lines = list(sparse.lines)
        lines[i] = _line(i, entry[:at] + b"7" + entry[at + 1 :])
        report = _verify(sparse, signer, lines)
        assert not report.ok
        assert report.first_bad_entry is None
        assert f"entries {lo}..{hi - 1} is not what was logged" in str(report.problems[0])


def test_truncation(signer: Signer, every: Log) -> None:
    # At the end: the checkpoints beyond the export are not covered (a warning, an error
    # with require_all).
    report = _verify(every, signer, every.lines[:17])
    assert report.ok and report.entries == 17
    assert len(report.not_covered) == N - 17
    assert any("not covered by this export" in w for w in report.warnings)
    strict = _verify(every, signer, every.lines[:17], require_all=True)
    assert not strict.ok and "not covered by this export" in str(strict.problems[0])
    # A line cut short.
    report = _verify(every, signer, [*every.lines[:12], every.lines[12][:40]])
    assert report.first_bad_entry is not None and report.first_bad_entry.index == 12
    assert "cannot be read" in report.first_bad_entry.message
    # At the front.
    report = _verify(every, signer, every.lines[2:])
    first = report.first_bad_entry
    assert first is not None and first.index == 0 and "does not start at index 0" in first.message


def test_a_gap(signer: Signer, every: Log) -> None:
    report = _verify(every, signer, every.lines[:6] + every.lines[7:])
    first = report.first_bad_entry
    assert first is not None and (first.index, first.line) == (6, 7)
    assert "a gap (entry 6 missing here" in first.message
    report = _verify(every, signer, every.lines[:6] + every.lines[9:])
    assert "entries 6..8 missing" in str(report.first_bad_entry)


def test_reordering_and_duplicates(signer: Signer, every: Log) -> None:
    lines = list(every.lines)
    lines[4], lines[5] = lines[5], lines[4]
    report = _verify(every, signer, lines)
    first = report.first_bad_entry
    assert first is not None and first.index == 4 and first.line == 5
    assert any("holds index 4 after index 5: lines out of order" in str(p) for p in report.problems)
    # An entry moved to another line with its "index" rewritten to fit: its own "i" betrays it.
    lines = list(every.lines)
    lines[4], lines[5] = _line(4, every.entries[5]), _line(5, every.entries[4])
    first = _verify(every, signer, lines).first_bad_entry
    assert first is not None and first.index == 4 and '"i": 5' in first.message
    report = _verify(every, signer, [*every.lines[:8], every.lines[7], *every.lines[8:]])
    assert report.first_bad_entry is not None and report.first_bad_entry.line == 9
    assert "out of order or duplicated" in report.first_bad_entry.message


def test_a_forked_log_is_caught_by_the_older_checkpoint(signer: Signer) -> None:
    honest = Log(signer, [_entry(i) for i in range(12)], [3, 4, 12])
    rewritten = [*honest.entries[:3], _entry(3, actor="someone.else"), *honest.entries[4:]]
    # The operator rewrites entry 3, rebuilds the tree and signs a new, later checkpoint with
    # the same key; the export and the new checkpoint agree with each other.
    forged = Log(signer, rewritten, [12])
    forged_cp = _checkpoint(signer, forged.log, 12, T0 + timedelta(days=3))
    checkpoints = [*honest.checkpoints[:2], forged_cp]
    report = sv.verify_export(forged.lines, checkpoints, signer.public_raw)
    assert not report.ok
    first = report.first_bad_entry
    assert first is not None and first.index == 3
    assert "checkpoint #2 (size 4" in first.message
    assert [c.size for c in report.matched] == [3, 12]
    # Given the honest checkpoint of size 12 as well: two signed roots for one size.
    report = sv.verify_export(forged.lines, [*honest.checkpoints, forged_cp], signer.public_raw)
    assert any("different roots: the log was forked" in str(p) for p in report.problems)


def test_bad_signatures_and_notes(signer: Signer, sparse: Log) -> None:
    cps = [dict(c) for c in sparse.checkpoints]
    sig = base64.b64decode(cps[1]["signature"])
    cps[1]["signature"] = base64.b64encode(_flip(sig, 10)).decode()
    report = sv.verify_export(sparse.lines, cps, signer.public_raw)
    assert not report.ok
    assert "checkpoint #2 (size 8" in str(report.problems[0])
    assert "signature does not verify" in str(report.problems[0])
    # The note edited (another size) under the old signature.
    cps = [dict(c) for c in sparse.checkpoints]
    cps[0]["note"] = cps[0]["note"].replace("\n5\n", "\n6\n")
    assert not sv.verify_export(sparse.lines, cps, signer.public_raw).ok
    # The unsigned "size" beside the note changed.
    cps = [dict(c) for c in sparse.checkpoints]
    cps[0]["size"] = 6
    assert "differs from the signed note" in str(
        sv.verify_export(sparse.lines, cps, signer.public_raw).problems[0]
    )
    # Another key.
    other = Signer.generate()
    report = sv.verify_export(sparse.lines, sparse.checkpoints, other.public_raw)
    assert not report.ok and len(report.problems) == len(sparse.checkpoints)
    assert f"names key {signer.legacy_key_id}" in str(report.problems[0])


def test_disclosures_after_the_agreement_ended(
    signer: Signer, sparse: Log, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ended = T0 + timedelta(hours=12, minutes=30)
    late = [
        i
        for i in range(13, N)
        if i % 4 in (0, 2)  # delivered, lookup; not withheld
    ]
    report = _verify(sparse, signer, agreement="agr-7", ended_at=ended)
    assert report.late_disclosures == late and not report.ok
    assert not report.problems  # the log itself is sound
    assert _verify(sparse, signer, agreement="agr-8", ended_at=ended).ok
    assert _verify(sparse, signer, agreement="agr-7", ended_at=T0 + timedelta(days=2)).ok
    export, cps = tmp_path / "e.jsonl", tmp_path / "c.json"
    export.write_text("".join(sparse.lines))
    cps.write_text(json.dumps(sparse.checkpoints))
    code = sv.main(
        [
            "--log",
            str(export),
            "--checkpoints",
            str(cps),
            "--public-key",
            signer.public_b64,
            "--agreement",
            "agr-7",
            "--ended-at",
            "2026-11-01T20:30:00Z",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert f"dated after its end (2026-11-01T20:30:00+00:00): {len(late)}" in out


# ---------------------------------------------------------------------------------------------
# Proofs from the API and receipts.


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def test_inclusion_and_consistency_answers(signer: Signer, sparse: Log, tmp_path: Path) -> None:
    log, size = sparse.log, 16
    checkpoints = sv.read_checkpoints(sparse.checkpoints, signer.public_raw)
    inclusion = {
        "index": 9,
        "tree_size": size,
        "leaf_hash": _b64(log.subtree(9, 10)),
        "root_hash": _b64(log.root(size)),
        "proof": [_b64(p) for p in log.inclusion_proof(9, size)],
    }
    assert sv.check_inclusion_file(inclusion, checkpoints).ok
    assert not sv.check_inclusion_file({**inclusion, "index": 8}, checkpoints).ok
    assert not sv.check_inclusion_file({**inclusion, "proof": inclusion["proof"][:-1]}).ok
    assert not sv.check_inclusion_file({**inclusion, "proof": "x"}).ok
    unbound = sv.check_inclusion_file(inclusion)
    assert unbound.ok and "not checked against a signed checkpoint" in unbound.render()
    assert not sv.check_inclusion_file(inclusion, require_all=True).ok
    # A root nobody signed, with a proof that fits it: caught by the checkpoint of that size.
    other = MerkleLog(MemoryNodeStore())
    other.append([leaf_hash(e) for e in [*sparse.entries[:3], b"x", *sparse.entries[4:]]])
    forged = {
        **inclusion,
        "root_hash": _b64(other.root(size)),
        "proof": [_b64(p) for p in other.inclusion_proof(9, size)],
    }
    assert sv.check_inclusion_file(forged).ok
    assert not sv.check_inclusion_file(forged, checkpoints).ok

    receipt = {
        "index": 9,
        "entry": sparse.entries[9].decode(),
        "salt": _b64(b"s" * 16),
        "checkpoint": sparse.checkpoints[2],
        "inclusion": inclusion,
    }
    assert sv.check_inclusion_file(receipt, None, signer.public_raw, require_all=True).ok
    bad = {**receipt, "entry": sparse.entries[8].decode()}
    assert "does not hash to the proof's leaf" in sv.check_inclusion_file(bad).render()

    consistency = {
        "first": 5,
        "second": size,
        "first_root_hash": _b64(log.root(5)),
        "second_root_hash": _b64(log.root(size)),
        "proof": [_b64(p) for p in log.consistency_proof(5, size)],
    }
    assert sv.check_consistency_file(consistency, checkpoints, require_all=True).ok
    assert not sv.check_consistency_file({**consistency, "first": 6}, checkpoints).ok
    swapped = {**consistency, "first_root_hash": consistency["second_root_hash"]}
    assert not sv.check_consistency_file(swapped).ok

    (tmp_path / "i.json").write_text(json.dumps(inclusion))
    (tmp_path / "c.json").write_text(json.dumps(consistency))
    (tmp_path / "cps.json").write_text(json.dumps(sparse.checkpoints))
    key = ["--checkpoints", str(tmp_path / "cps.json"), "--public-key", signer.public_b64]
    assert sv.main(["--inclusion", str(tmp_path / "i.json"), *key]) == 0
    assert sv.main(["--consistency", str(tmp_path / "c.json"), *key, "--require-all"]) == 0
    (tmp_path / "c.json").write_text(json.dumps(swapped))
    assert sv.main(["--consistency", str(tmp_path / "c.json"), *key]) == 1


# ---------------------------------------------------------------------------------------------
# The one-file promise.


def test_the_module_imports_only_the_standard_library() -> None:
    """`cryptography` is optional: imported only inside a function or a `try` that falls back
    to the pure-Python Ed25519 (tests/integration/test_checkpoint_notes.py runs it without)."""
    tree = ast.parse(MODULE.read_text())
    top_level = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            assert node.module is not None
            top_level.add(node.module.split(".")[0])
    assert top_level <= sys.stdlib_module_names, top_level
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module is not None
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            pytest.fail("no dynamic imports")
    assert roots - {"cryptography"} <= sys.stdlib_module_names, roots
    guarded = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Try)
        and any(getattr(h.type, "id", None) == "ImportError" for h in node.handlers)
    ]
    assert guarded, "the cryptography import falls back when it is missing"
