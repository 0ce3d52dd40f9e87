"""What leaves PARS for partners, in one place.

- `relay`: reads the outbox in order and queues each event's projection for every agreement
  in force that covers it; withholds what may no longer leave.
- `in_force`: whether an agreement may disclose now (every path below checks it again).
- `disclosure`: the disclosure log entries written before anything leaves.
- `feed` (pull, the HTTP feed and SSE), `push` (what webhooks and NATS share: the write-ahead
  round, isolation of a failing partner), `webhooks`, `nats`; `outbound`: which webhook
  addresses may be reached at all.
- `lookup`: exact-identifier look-ups by partners.
- `loop`: `pars relay`, which runs the relay, the withholding and the pushes.

Dependencies point one way: `loop` -> transports -> `push` -> `in_force`/`disclosure`; the
relay knows no transport.
"""
