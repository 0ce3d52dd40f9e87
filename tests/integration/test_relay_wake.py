"""The embedded relay is woken by a commit that wrote events, not by its poll: with an hour's
poll interval, a submitted arrest still reaches the partner's queue at once."""

from __future__ import annotations

import threading
import time

from pars.services import agreements as ag
from pars.services.app import Pars
from pars.services.delivery.loop import relay_forever
from tests.conftest import Api, rows
from tests.factories import active_agreement, arrest_body


def test_a_commit_wakes_the_relay(api: Api) -> None:
    pars: Pars = api.pars
    ag.add_partner(pars, "PSP", "state_repository")
    active_agreement(pars, "PSP")
    stop = threading.Event()
    relay = threading.Thread(
        target=relay_forever, args=(pars,), kwargs={"interval": 3600, "stop": stop.is_set}
    )
    relay.start()
    try:
        time.sleep(0.5)  # let it finish its first round and wait
        before = pars.queue_generation
        r = api.as_("officer").post("/api/v1/arrests?submit=true", json=arrest_body())
        assert r.status_code == 201
        deadline = time.monotonic() + 60  # far below the hour it would otherwise sleep
        # The row is visible at the relay's COMMIT, the streams are told just after it.
        while (
            not rows(pars, "deliveries") or pars.queue_generation == before
        ) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(rows(pars, "deliveries")) == 1
        assert pars.queue_generation == before + 1  # and SSE streams were told
    finally:
        stop.set()
        pars.outbox_signal.set()
        relay.join(10)
    assert not relay.is_alive()
