"""Who may read what on NATS: one nkey user per partner, allowed only its own consumer.

Every partner's events are in the deployment's one stream, under `pars.partner.<id>.>`, so
isolation cannot come from the stream; it comes from the server's permissions, deny by
default. PARS creates, for each partner it publishes to, a durable pull consumer
`partner-<id>` filtered to that partner's subjects (see `JetStreamPublisher`), and the
partner's NATS user may only:

- ask for its consumer's next messages and its consumer's info
  (`$JS.API.CONSUMER.MSG.NEXT.<stream>.partner-<id>`, and `.INFO.` likewise),
- acknowledge them (`$JS.ACK.<stream>.partner-<id>.>`),
- receive on its own inbox prefix (`_INBOX_<id>.>`: connect with `inbox_prefix`), where the
  server delivers what it pulled.

Nothing else: no core subscription to `pars.partner.>` (another partner's subjects), no
consumer of its own (whose filter it would choose), no stream look-up or direct get (which
read any message by sequence), no other inbox (where another client's pulls arrive), no
publish to the partners' subjects. PARS's own user may publish to `pars.partner.>` and use the
JetStream API. Users are nkeys: the server holds public keys only, so the configuration file
`pars nats config` writes holds no secret; a partner's seed is shown once when it is made.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import nkeys

from pars.domain.errors import NotFound
from pars.services.app import Pars
from pars.store.uow import AuditEntry

__all__ = [
    "consumer_name",
    "inbox_prefix",
    "new_user_seed",
    "pars_seed",
    "public_key_of",
    "server_authorization",
    "set_nats_credentials",
]

_SUBJECT_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def consumer_name(partner_id: str) -> str:
    """The durable pull consumer PARS keeps for the partner, filtered to its subjects."""
    return f"partner-{partner_id}"


def inbox_prefix(partner_id: str) -> str:
    """The inbox prefix the partner must connect with (`nats.connect(inbox_prefix=...)`)."""
    return f"_INBOX_{partner_id}"


def new_user_seed() -> str:
    """A fresh nkey user seed (`SU...`)."""
    seed: bytes = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    return seed.decode()


def public_key_of(seed: str) -> str:
    """The public key (`U...`) of a user seed; ValueError when it is not one."""
    try:
        key: bytes = nkeys.from_seed(bytearray(seed.strip().encode())).public_key
    except (nkeys.NkeysError, ValueError, IndexError) as e:
        raise ValueError("not an nkey seed (SU...)") from e
    text = key.decode()
    if not text.startswith("U"):
        raise ValueError("not a user nkey seed (SU...)")
    return text


def pars_seed(path: Path, create: bool = False) -> tuple[str, bool]:
    """PARS's own seed from `path` (made there, readable by its owner only, when `create` and
    the file is missing); returns (seed, whether it was made now)."""
    if not path.exists():
        if not create:
            raise FileNotFoundError(f"no NATS seed at {path}: run `pars nats config` to make one")
        path.parent.mkdir(parents=True, exist_ok=True)
        seed = new_user_seed()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(seed + "\n")
        return seed, True
    seed = path.read_text().strip()
    public_key_of(seed)  # refuses a file that holds something else
    return seed, False


def set_nats_credentials(pars: Pars, name: str, by: str = "cli") -> tuple[str, str]:
    """A new NATS user for the partner (replacing any); returns (partner id, seed). The seed is
    shown only now; the partner's old user keeps working until the server's configuration is
    written again (`pars nats config`) and reloaded."""
    seed = new_user_seed()
    with pars.uow() as uow:
        partner = uow.sharing.partner(name)
        if partner is None:
            raise NotFound("no such partner")
        uow.sharing.set_nats_public_key(partner["id"], public_key_of(seed))
        uow.audit(AuditEntry(by, "partner:nats_credentials_set", subject=partner["id"]))
        uow.commit()
    return partner["id"], seed


def _user(public_key: str, publish: list[str], subscribe: list[str]) -> dict[str, Any]:
    return {
        "nkey": public_key,
        "permissions": {"publish": {"allow": publish}, "subscribe": {"allow": subscribe}},
    }


def _partner_user(public_key: str, partner_id: str, stream: str) -> dict[str, Any]:
    if not _SUBJECT_TOKEN.match(partner_id):  # ids are UUIDs; a wildcard must never get in
        raise ValueError(f"partner id {partner_id!r} cannot be a subject token")
    durable = consumer_name(partner_id)
    return _user(
        public_key,
        publish=[
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
            f"$JS.API.CONSUMER.INFO.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>",
        ],
        subscribe=[f"{inbox_prefix(partner_id)}.>"],
    )


def server_authorization(
    partners: list[dict[str, Any]], stream: str, pars_public_key: str, now: datetime
) -> str:
    """The nats-server `authorization` block: PARS's user and one user per partner that has
    NATS credentials. JSON is valid nats-server configuration syntax, so the values are
    written as JSON (no quoting of names or subjects by hand)."""
    users = [
        _user(
            pars_public_key,
            publish=["pars.partner.>", "$JS.API.>"],
            subscribe=["_INBOX.>"],
        )
    ]
    listed = []
    for p in sorted(partners, key=lambda p: str(p["id"])):
        if p.get("nats_public_key"):
            users.append(_partner_user(p["nats_public_key"], p["id"], stream))
            listed.append(p["id"])
    body = json.dumps({"users": users}, indent=2)
    header = (
        f"# Written by `pars nats config` at {now.isoformat()}; do not edit, write it again.\n"
        f"# Stream {stream}; PARS's user first, then one user per partner with NATS credentials\n"
        f"# ({len(listed)}): {', '.join(listed) or 'none'}.\n"
        "# Include it in nats-server.conf (`include pars-authorization.conf`) and reload.\n"
    )
    return header + "authorization " + body + "\n"
