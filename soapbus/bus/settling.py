"""Recording delivery outcomes: in batches, one transaction each, off the reactor.

Outcomes arrive on the reactor as attempts end; while one batch is being written (in the thread
pool) the next gathers, so a burst of deliveries costs a few transactions instead of one each.
A batch writes, for each message, its settlement (which acts only while this worker still holds
the lease: a worker that lost it records nothing) and, for what was delivered or given up, the
journal row of the message as sent; and re-drives the expired dead letters of destinations that
just accepted a delivery. If the database fails under a batch, the batch is kept and written
when it answers again; the messages stay leased meanwhile (or are retaken by another worker once
their leases lapse, and sent again: receivers deduplicate by MessageID).
"""
from __future__ import annotations

import logging

from twisted.internet.threads import deferToThreadPool

from .. import message as m
from ..message import MessageError, soap
from ..store import StoreUnavailable

log = logging.getLogger(__name__)

RETRY_WRITE_AFTER = 1.0  # seconds before a batch the database failed under is written again
_KIND = {"event": "EventMessage", "reply": "ResponseMessage", "request": "RequestMessage"}


class Settler:
    def __init__(self, reactor, threadpool, store, journal: bool, on_recorded):
        self.reactor = reactor
        self.threadpool = threadpool
        self.store = store
        self.journal = journal
        self.on_recorded = on_recorded  # (held) -> None, on the reactor, once its outcome is written
        self._queued: list = []  # (held, settlement, redrive destination?)
        self._writing = False
        self._ids: set[int] = set()

    def add(self, held, settlement, redrive: bool) -> None:
        self._queued.append((held, settlement, redrive))
        self._ids.add(held.item.id)
        self._flush()

    def has(self, item_id: int) -> bool:
        return item_id in self._ids

    def _flush(self) -> None:
        if self._writing or not self._queued:
            return
        batch, self._queued = self._queued, []
        self._writing = True
        d = deferToThreadPool(self.reactor, self.threadpool, self._write, batch)
        d.addCallbacks(self._written, self._failed, callbackArgs=(batch,), errbackArgs=(batch,))

    def _write(self, batch) -> list[bool]:
        """In the pool: every settlement of the batch, its journal rows and re-drives, one transaction."""
        recorded = []
        redrive = {held.item.destination for held, _, again in batch if again}
        with self.store.unit_of_work() as uow:
            for held, settlement, _ in batch:
                ok = uow.outbox_settle(settlement)
                recorded.append(ok)
                if ok and self.journal and settlement.outcome != "retry" and held.body is not None:
                    outcome = "dead" if settlement.outcome == "dead" else "delivered"
                    uow.journal("out", held.body, header=_header_of(held.body), kind=_KIND[held.item.kind],
                                peer=held.item.destination, outcome=outcome, reason=settlement.error,
                                reply_code=None)
            for destination in sorted(redrive):
                again = uow.outbox_redrive(destination)
                if again:
                    log.warning("%s accepts deliveries again: %d dead letter(s) to it queued again", destination,
                                again)
        return recorded

    def _written(self, recorded: list[bool], batch) -> None:
        self._writing = False
        for (held, settlement, _), ok in zip(batch, recorded):
            self._ids.discard(held.item.id)
            if not ok:
                log.info("outbox %s: its lease was taken over before the outcome (%s) was recorded",
                         held.item.id, settlement.outcome)
            self.on_recorded(held)
        self._flush()

    def _failed(self, failure, batch) -> None:
        self._writing = False
        if failure.check(StoreUnavailable):
            log.debug("delivery outcomes not recorded yet, the database is unavailable: %s", failure.value.reason)
        else:
            log.error("recording delivery outcomes failed: %s", failure.getTraceback())
        self._queued = batch + self._queued
        self.reactor.callLater(RETRY_WRITE_AFTER, self._flush)


def _header_of(body: bytes):
    try:
        return m.parse(soap.unwrap(body).message).header
    except MessageError:
        return None


__all__ = ["Settler"]

