"""RFC 6962 Merkle tree core for the PARS disclosure log.

What this module promises:

* Hashes are exactly RFC 6962 / RFC 9162 with SHA-256, so any Certificate Transparency tool
  can check a PARS checkpoint: leaves are SHA-256(0x00 || entry), interior nodes
  SHA-256(0x01 || left || right), the empty tree SHA-256(""), and a tree of n > 1 leaves
  splits at the largest power of two < n.
* `MerkleLog` never re-reads the whole log. It caches the hash of every *complete* perfect
  subtree (these never change in an append-only log) in a `NodeStore`, and answers roots and
  proofs with O(log n) store reads.
* `verify_inclusion` and `verify_consistency` are the iterative algorithms of RFC 9162
  §2.1.3.2 and §2.1.4.2, deliberately not sharing code with the generators, so a bug in one
  side is caught by the other. They return False on anything malformed and never raise.

Standard library only; no database, no signing (those live in the layers that use this).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MemoryNodeStore",
    "MerkleLog",
    "MissingNodeError",
    "NodeStore",
    "compute_root",
    "leaf_hash",
    "node_hash",
    "nodes_needed",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree (RFC 6962 §2.1): SHA-256 of the empty string."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 || entry): the domain-separated hash of one log entry."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): an interior node; the prefix stops it posing as a leaf."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """RFC 6962's k: the largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def compute_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The MTH of `leaf_hashes`, straight from the RFC 6962 §2.1 definition.

    O(n) hashing and O(n log n) copying: a reference for tests and small trees, not for the log.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return bytes(leaf_hashes[0])
    k = _split(n)
    return node_hash(compute_root(leaf_hashes[:k]), compute_root(leaf_hashes[k:]))


class NodeStore(Protocol):
    """Where the hashes of complete perfect subtrees live.

    (level, index) names the subtree of 2**level leaves covering
    [index * 2**level, (index + 1) * 2**level); level 0 holds the leaf hashes. Only complete
    subtrees are ever stored, so an entry, once written, must never change.
    """

    def get(self, level: int, index: int) -> bytes | None:
        """The stored hash, or None if that subtree was never stored."""
        ...

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Store (level, index, hash) triples; one call per appended batch, so it can be atomic."""
        ...


class MemoryNodeStore:
    """A dict-backed `NodeStore` for tests, benchmarks and in-memory logs.

    It refuses to overwrite a node with a different hash: in an append-only log that can only
    mean a caller bug or tampering, and silently accepting it would hide either.
    """

    def __init__(self) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}

    def get(self, level: int, index: int) -> bytes | None:
        return self._nodes.get((level, index))

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        nodes = self._nodes
        for level, index, value in items:
            old = nodes.setdefault((level, index), value)
            if old != value:
                raise ValueError(f"node ({level}, {index}) is already stored with another hash")

    def __len__(self) -> int:
        return len(self._nodes)


class MissingNodeError(LookupError):
    """The store lacks a subtree that a log of this size must have: it is out of step or damaged."""


class MerkleLog:
    """An append-only RFC 6962 tree of `size` leaves whose subtree hashes live in a `NodeStore`.

    The object holds only the store and the size; open it again over the same store with the
    size recorded alongside (e.g. in the latest checkpoint) to continue a log. It does no
    locking: callers serialise appends (one writer, e.g. under a database row lock).
    """

    def __init__(self, store: NodeStore, size: int = 0) -> None:
        if size < 0:
            raise ValueError("size must be >= 0")
        self._store = store
        self._size = size

    @property
    def size(self) -> int:
        """How many leaves the log holds."""
        return self._size

    def append(self, leaf_hashes: Sequence[bytes]) -> int:
        """Append a batch of leaf hashes (already `leaf_hash`ed) and return the new size.

        Writes each leaf and every perfect subtree the batch completes in ONE `put_many` call:
        at most 2 * len(batch) + log2(size) nodes, reading at most log2(size) earlier nodes
        (the left siblings on the right edge of the tree). The size only moves once the store
        has accepted the batch, so a failed write leaves the log unchanged.
        """
        for h in leaf_hashes:
            if not _is_hash(h):
                raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes")
        if not leaf_hashes:
            return self._size
        pending: dict[tuple[int, int], bytes] = {}
        for offset, value in enumerate(leaf_hashes):
            level, index, current = 0, self._size + offset, bytes(value)
            pending[(0, index)] = current
            # An odd index is a right child: its arrival completes the parent, and so on up
            # while the new node is itself a right child.
            while index & 1:
                sibling = pending.get((level, index - 1))
                if sibling is None:
                    sibling = self._node(level, index - 1)
                current = node_hash(sibling, current)
                level, index = level + 1, index >> 1
                pending[(level, index)] = current
        self._store.put_many([(lvl, idx, h) for (lvl, idx), h in pending.items()])
        self._size += len(leaf_hashes)
        return self._size

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` leaves (default: all), from popcount(size) store reads.

        [0, size) decomposes into perfect subtrees by the bits of size, largest first; RFC 6962
        splits at the largest power of two < n, which is exactly that first subtree, so the MTH
        is those subtree hashes folded from the right: H(t1, H(t2, ... H(t_{j-1}, t_j))).
        """
        size = self._size if size is None else self._check_size(size)
        return EMPTY_ROOT if size == 0 else self.subtree(0, size)

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end). An aligned perfect subtree is one store read; any other
        range recurses at the largest power of two < its length, as RFC 6962 defines."""
        if not 0 <= start < end <= self._size:
            raise ValueError(f"range [{start}, {end}) is not inside a log of size {self._size}")
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            return self._node(n.bit_length() - 1, start // n)
        k = _split(n)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 6962 §2.1.1 PATH(index, D[0:size]), leaf to root, in O(log size) store reads."""
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"index {index} is not a leaf of a tree of size {size}")
        return self._path(index, 0, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """RFC 6962 §2.1.2 PROOF(old_size, D[0:new_size]), in O(log new_size) store reads.

        Empty when old_size is 0 or equals new_size: nothing needs proving then.
        """
        self._check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise ValueError(f"old size {old_size} is not within 0..{new_size}")
        if old_size in (0, new_size):
            return []
        return self._subproof(old_size, 0, new_size, True)

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        # PATH(m, D[start:end]) with m relative to start.
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*self._path(m, start, start + k), self.subtree(start + k, end)]
        return [*self._path(m - k, start + k, end), self.subtree(start, start + k)]

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        # SUBPROOF(m, D[start:end], b); `complete` is b: whether D[start:start+m] is a subtree
        # whose hash the verifier already has (the old root itself).
        n = end - start
        if m == n:
            return [] if complete else [self.subtree(start, end)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, complete), self.subtree(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self.subtree(start, start + k)]

    def _node(self, level: int, index: int) -> bytes:
        value = self._store.get(level, index)
        if value is None:
            raise MissingNodeError(f"subtree ({level}, {index}) is missing from the store")
        return value

    def _check_size(self, size: int) -> int:
        if not 0 <= size <= self._size:
            raise ValueError(f"size {size} is not within 0..{self._size}")
        return size


class _KeyRecorder:
    """A store that answers every read with a dummy hash and remembers what was asked."""

    def __init__(self) -> None:
        self.keys: set[tuple[int, int]] = set()

    def get(self, level: int, index: int) -> bytes | None:
        self.keys.add((level, index))
        return bytes(HASH_SIZE)

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        raise TypeError("a key recorder stores nothing")


def nodes_needed(size: int, operation: Callable[[MerkleLog], object]) -> set[tuple[int, int]]:
    """The (level, index) subtrees `operation` reads from a log of `size` leaves.

    Which nodes a root or proof reads depends only on the indices, never on the hashes, so a
    database store can fetch them all in one query and then run `operation` from memory.
    """
    recorder = _KeyRecorder()
    operation(MerkleLog(recorder, size))
    return recorder.keys


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True iff `proof` shows the leaf hash at `index` in the tree of `size` leaves with `root`.

    RFC 9162 §2.1.3.2, step by step. fn/sn walk the leaf's and the last leaf's positions up the
    tree; when fn == sn the node has no right sibling at this level and is carried up unchanged.
    """
    if not (_is_hash(leaf_hash) and _is_hash(root) and all(_is_hash(p) for p in proof)):
        return False
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            return False  # more proof than tree
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True iff `proof` shows the tree (new_size, new_root) extends (old_size, old_root).

    RFC 9162 §2.1.4.2: rebuild both roots at once from the proof. Equal sizes need equal roots
    and an empty proof; every tree extends the empty one, whose root must be `EMPTY_ROOT`.
    """
    if not (_is_hash(old_root) and _is_hash(new_root) and all(_is_hash(p) for p in proof)):
        return False
    if not 0 <= old_size <= new_size:
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT and (new_size > 0 or new_root == EMPTY_ROOT)
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is one perfect subtree of the new one; the proof omits its hash.
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False  # more proof than tree
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
