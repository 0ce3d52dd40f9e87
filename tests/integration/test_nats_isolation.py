"""Issue 13 item 4: each partner has its own NATS user, which reads its own events and nothing
else. A real `nats-server` runs with the configuration `pars nats config` writes; partner A,
connected with its own seed, reads its consumer and is refused every way to B's events."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from nats.js.api import ConsumerConfig

from pars.domain.clock import FakeClock
from pars.services import agreements as ag
from pars.services.app import Pars, Principal
from pars.services.arrests import create_arrest
from pars.services.delivery.nats import JetStreamPublisher, deliver_nats
from pars.services.delivery.nats_access import (
    consumer_name,
    inbox_prefix,
    pars_seed,
    public_key_of,
    server_authorization,
    set_nats_credentials,
)
from pars.services.delivery.relay import relay_once
from pars.services.inputs import ArrestIn
from tests.conftest import KEYS, rows
from tests.factories import active_agreement, arrest_body
from tests.integration.cli import run_cli
from tests.natsd import NatsServer

STREAM = "PARS"
OFFICER = Principal("officer1", "officer")


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {"webhook_timeout_seconds": 1.0, "nats_seed_file": tmp_path / "pars-nats.seed"}


class Isolated:
    def __init__(self, pars: Pars, tmp_path: Path) -> None:
        self.pars = pars
        self.a, self.seed_a = self._partner("Court Records", "court")
        self.b, self.seed_b = self._partner("DA Case Management", "prosecutor")
        seed_file = pars.settings.nats_seed_file
        assert seed_file is not None
        pars_key, made = pars_seed(Path(seed_file), create=True)
        assert made and Path(seed_file).stat().st_mode & 0o077 == 0  # the owner's alone
        with pars.reader() as uow:
            partners = uow.sharing.partners()
        auth = tmp_path / "pars-authorization.conf"
        auth.write_text(
            server_authorization(partners, STREAM, public_key_of(pars_key), pars.clock.now())
        )
        conf = tmp_path / "nats-server.conf"
        conf.write_text(f"include {auth.name}\n")
        store = tmp_path / "nats"
        store.mkdir()
        self.server = NatsServer(store, conf)
        self.server.start()
        self.publisher = JetStreamPublisher(self.server.url, STREAM, 120, str(seed_file))

    def _partner(self, name: str, partner_class: str) -> tuple[str, str]:
        partner_id, _ = ag.add_partner(self.pars, name, partner_class)
        active_agreement(self.pars, name, transport="nats")
        _, seed = set_nats_credentials(self.pars, name)
        return partner_id, seed

    def close(self) -> None:
        self.publisher.close()
        self.server.stop()


@pytest.fixture
def iso(pars: Pars, tmp_path: Path) -> Iterator[Isolated]:
    setup = Isolated(pars, tmp_path)
    try:
        yield setup
    finally:
        setup.close()


def _deliver(iso: Isolated, clock: FakeClock, arrests: int) -> None:
    for _ in range(arrests):
        create_arrest(iso.pars, OFFICER, ArrestIn.model_validate(arrest_body()), submit=True)
    relay_once(iso.pars)
    for _ in range(50):
        if not any(d["status"] == "queued" for d in rows(iso.pars, "deliveries")):
            break
        if not deliver_nats(iso.pars, iso.publisher):
            clock.advance(timedelta(minutes=5))
    statuses = {d["status"] for d in rows(iso.pars, "deliveries")}
    assert statuses == {"delivered"}, rows(iso.pars, "deliveries")


async def _connect(iso: Isolated, partner_id: str, seed: str, errors: list[str]) -> Any:
    async def collect(e: Exception) -> None:
        errors.append(str(e))

    return await nats.connect(
        iso.server.url,
        nkeys_seed_str=seed,
        inbox_prefix=inbox_prefix(partner_id),
        error_cb=collect,
        allow_reconnect=False,
    )


async def _own_events(iso: Isolated, partner_id: str, seed: str) -> list[dict[str, Any]]:
    errors: list[str] = []
    nc = await _connect(iso, partner_id, seed, errors)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe_bind(consumer_name(partner_id), STREAM)
        got: list[dict[str, Any]] = []
        while True:
            try:
                msgs = await sub.fetch(10, timeout=1.5)
            except (TimeoutError, nats.errors.TimeoutError):
                break  # nats-py raises either when the consumer has nothing more
            for m in msgs:
                got.append({"subject": m.subject, "event": json.loads(m.data)})
                await m.ack()
        assert not errors, errors
        return got
    finally:
        await nc.close()


def test_each_partner_reads_its_own_events_only(iso: Isolated, clock: FakeClock) -> None:
    _deliver(iso, clock, arrests=2)
    for partner_id, seed in ((iso.a, iso.seed_a), (iso.b, iso.seed_b)):
        got = asyncio.run(_own_events(iso, partner_id, seed))
        assert len(got) == 2, got
        assert {m["subject"].split(".")[2] for m in got} == {partner_id}
        assert {m["event"]["parsagreement"].split("/")[0] for m in got} == {
            d["agreement_id"] for d in rows(iso.pars, "deliveries") if d["partner_id"] == partner_id
        }


def test_partner_a_is_refused_every_way_to_bs_events(iso: Isolated, clock: FakeClock) -> None:
    _deliver(iso, clock, arrests=1)
    b_subjects = f"pars.partner.{iso.b}.>"

    async def attempts() -> tuple[list[str], dict[str, str]]:
        errors: list[str] = []
        outcome: dict[str, str] = {}
        nc = await _connect(iso, iso.a, iso.seed_a, errors)
        try:
            # 1. a plain subscription to B's subjects, and to every inbox
            received: list[Any] = []

            async def keep(msg: Any) -> None:
                received.append(msg)

            await nc.subscribe(b_subjects, cb=keep)
            await nc.subscribe("_INBOX.>", cb=keep)
            await nc.flush()
            js = nc.jetstream(timeout=1.5)
            # 2. pulling from B's consumer
            try:
                sub = await js.pull_subscribe_bind(consumer_name(iso.b), STREAM)
                msgs = await sub.fetch(1, timeout=1.5)
                outcome["pull B"] = f"got {len(msgs)}"
            except (TimeoutError, nats.errors.TimeoutError):
                outcome["pull B"] = "refused"
            # 3. a consumer of its own on B's subjects, and a direct read by sequence
            for what, call in (
                (
                    "consumer on B",
                    js.add_consumer(STREAM, ConsumerConfig(filter_subject=b_subjects)),
                ),
                ("direct get", js.get_msg(STREAM, 1)),
                ("stream info", js.stream_info(STREAM)),
            ):
                try:
                    await call
                    outcome[what] = "answered"
                except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
                    outcome[what] = "refused"
            # 4. publishing an event into a partner's subjects
            await nc.publish(f"pars.partner.{iso.a}.pars.arrest.submitted", b"{}")
            await nc.flush()
            await asyncio.sleep(0.5)  # let the server's -ERR lines arrive
            outcome["received"] = str(len(received))
        finally:
            await nc.close()
        return errors, outcome

    errors, outcome = asyncio.run(attempts())
    assert outcome == {
        "pull B": "refused",
        "consumer on B": "refused",
        "direct get": "refused",
        "stream info": "refused",
        "received": "0",
    }, (outcome, errors)
    text = "\n".join(errors).lower()
    assert "permissions violation" in text, errors
    for refused in (
        f'subscription to "{b_subjects}"',
        'subscription to "_inbox.>"',
        f'publish to "$js.api.consumer.msg.next.{STREAM.lower()}.{consumer_name(iso.b)}"',
        f'publish to "pars.partner.{iso.a}.pars.arrest.submitted"',
    ):
        assert refused in text, (refused, errors)
    # and A still reads its own event afterwards
    assert len(asyncio.run(_own_events(iso, iso.a, iso.seed_a))) == 1


def test_no_credentials_and_an_old_seed_are_refused(iso: Isolated) -> None:
    async def connect(**kw: Any) -> str:
        try:
            nc = await nats.connect(
                iso.server.url, allow_reconnect=False, max_reconnect_attempts=0, **kw
            )
        except Exception as e:  # the client raises its own error classes for auth failures
            return type(e).__name__ + ": " + str(e)
        await nc.close()
        return "connected"

    assert asyncio.run(connect()) != "connected"
    _, new_seed = set_nats_credentials(iso.pars, "Court Records")  # a rotation
    assert new_seed != iso.seed_a
    # The server still has the old user until the configuration is written again and reloaded;
    # the new one is in what `pars nats config` writes now, the old one is not.
    with iso.pars.reader() as uow:
        partners = uow.sharing.partners()
    written = server_authorization(partners, STREAM, "UPARS", iso.pars.clock.now())
    assert public_key_of(new_seed) in written and public_key_of(iso.seed_a) not in written
    assert "partner:nats_credentials_set" in [a["action"] for a in rows(iso.pars, "audit_log")]


def test_the_command_writes_a_configuration_the_server_accepts(
    pars: Pars,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key in [k for k in os.environ if k.startswith("PARS_") and not k.startswith("PARS_TEST_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PARS_DATABASE_URL", pars.settings.sqlalchemy_url)
    monkeypatch.setenv("PARS_ENCRYPTION_KEYS", KEYS)
    monkeypatch.setenv("PARS_DATA_DIR", str(tmp_path))
    ag.add_partner(pars, "Court Records", "court")
    target = tmp_path / "auth.conf"
    assert run_cli(monkeypatch, "nats", "config", "--out", str(target)) == 2  # no seed file set
    assert "PARS_NATS_SEED_FILE" in capsys.readouterr().err
    monkeypatch.setenv("PARS_NATS_SEED_FILE", str(tmp_path / "keys" / "pars.seed"))
    assert run_cli(monkeypatch, "partners", "add", "Probation", "--class", "court", "--nats") == 0
    out = capsys.readouterr().out
    assert "inbox_prefix _INBOX_" in out
    seed = out.split("NATS seed (shown once, give it to the partner securely): ")[1].split()[0]
    assert run_cli(monkeypatch, "nats", "config", "--out", str(target)) == 0
    assert "made PARS's NATS key" in capsys.readouterr().err
    text = target.read_text()
    assert public_key_of(seed) in text
    assert text.count('"nkey"') == 2  # PARS and Probation; Court Records has no NATS user
    assert seed not in text and pars_seed(tmp_path / "keys" / "pars.seed")[0] not in text
    assert run_cli(monkeypatch, "nats", "credentials", "Nobody") == 1  # no such partner
    conf = tmp_path / "server.conf"
    conf.write_text(f"include {target.name}\n")
    store = tmp_path / "nats"
    store.mkdir()
    server = NatsServer(store, conf)
    server.start()  # raises if nats-server refuses the file
    server.stop()
