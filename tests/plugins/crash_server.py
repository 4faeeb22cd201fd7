"""`python -m tests.plugins.crash_server serve ...`: soapbus serve, instrumented for the crash tests.

Read only here, never by soapbus itself:

* SOAPBUS_TEST_MARKERS=FILE: once a request's transaction has committed, and before its answer
  is written to the client, the line `committed <MessageID>` is appended to FILE (one write(2),
  so it survives a SIGKILL). A message with this line whose sender never got the answer proves a
  kill landed in the "committed, not yet acknowledged" window.
* SOAPBUS_TEST_MUTANT: a deliberate bug the crash test must catch.
  - `claim-always-wins`: the idempotency claim reports success even for a MessageID already
    claimed, so a re-delivered request is processed again;
  - `delivered-before-sent`: the delivery engine marks an outbox message delivered before it
    sends it, so a failed attempt (or a kill) loses it.
"""
from __future__ import annotations

import os

MUTANTS = ("claim-always-wins", "delivered-before-sent")


def _markers(path: str) -> None:
    from soapbus.server.pipeline import Processor

    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    process = Processor.process

    def process_and_mark(self, call):
        outcome = process(self, call)
        if outcome.later is None and outcome.status in (200, 202) and call.message.header.message_id:
            os.write(fd, f"committed {call.message.header.message_id}\n".encode())
        return outcome

    Processor.process = process_and_mark


def _claim_always_wins() -> None:
    from soapbus.store import idempotency

    claim = idempotency.claim

    def claim_wins(conn, source, message_id, claimed_at):
        claim(conn, source, message_id, claimed_at)  # inserts when new, nothing otherwise
        return True

    idempotency.claim = claim_wins


def _delivered_before_sent() -> None:
    from soapbus.bus.delivery import DeliveryEngine

    attempt = DeliveryEngine._attempt

    def mark_then_send(self, held):
        if held.body is None or held.probe:
            return attempt(self, held)
        d = self.in_pool(self.store.outbox_delivered, held.item.id, self.name)
        return d.addCallback(lambda _: attempt(self, held))

    DeliveryEngine._attempt = mark_then_send


def main() -> None:
    markers = os.environ.get("SOAPBUS_TEST_MARKERS")
    if markers:
        _markers(markers)
    mutant = os.environ.get("SOAPBUS_TEST_MUTANT")
    if mutant == "claim-always-wins":
        _claim_always_wins()
    elif mutant == "delivered-before-sent":
        _delivered_before_sent()
    elif mutant:
        raise SystemExit(f"SOAPBUS_TEST_MUTANT={mutant!r}: known mutants are {', '.join(MUTANTS)}")
    from soapbus.cli import main as soapbus_main

    soapbus_main()


if __name__ == "__main__":
    main()
