"""Tamper-evident audit log: an append-only RFC 6962 Merkle tree over disclosures and audit events.

`pars.audit.merkle` is the pure core (hashing, cached subtree store, proofs, verifiers); it uses
the standard library only and knows nothing about databases or signing.
"""
