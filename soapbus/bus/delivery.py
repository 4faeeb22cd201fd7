"""The delivery engine: sends what the outbox holds, at least once, concurrently per destination.

Every outbound message (asynchronous replies, events, forwarded requests) was written to the
outbox in the same transaction as the change that caused it. The engine runs on the reactor and
never holds a thread while a receiver answers:

* a lease round (database work, in the thread pool) takes due messages, skipping destinations
  that have no room now or whose circuit is open, and signs those that must be signed;
* each message goes to its destination's lane (`lanes.py`): at most `per_destination` in flight
  there, a circuit breaker, and nothing shared with other destinations, so one slow or dead
  receiver delays no other;
* the POST is made with Twisted's asynchronous client (`http.py`), or published to the message
  broker for `queue:` and `topic:` destinations (`broker.py`);
* the outcome (`answers.py`) is recorded in batches, each in one transaction (`settling.py`),
  together with the journal row of what was sent;
* while a message is held, its lease is renewed every `renew_every` seconds, so the lease can be
  short: a worker killed mid-delivery loses its messages to another worker within
  `lease_seconds`. A message whose lease could not be renewed in time is not sent (fenced off):
  another worker may have it by now. Recording an outcome acts only while the worker still holds
  the lease, so a worker that lost it cannot overwrite the new holder's result.

Retries are by time (`policy.py`): capped exponential backoff with full jitter until the
destination's retry budget (24 h by default) runs out; a receiver that asks for time (5.1,
Retry-After) gets it. Dead letters whose budget ran out are queued again by themselves when
their destination next accepts a delivery. Receivers deduplicate by MessageID, so a message
sent twice (a worker killed between the POST and the bookkeeping) acts once.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from lxml import etree
from twisted.internet import defer, task
from twisted.internet.threads import deferToThreadPool

from .. import message as m
from ..message import soap
from ..store import OutboxItem, Settlement, StoreUnavailable
from ..store.outbox import BROKER_SCHEMES
from .answers import DELIVERED, REFUSED, Verdict, classify, unreachable
from .http import HttpSender, describe_failure
from .lanes import BreakerSettings, Lanes
from .policy import RetryPolicy
from .settling import Settler

log = logging.getLogger(__name__)

LEASE_BATCH = 200  # messages one lease round takes at most
FENCE_MARGIN = 1.0  # seconds of lease a message must have left for its attempt to start
REDRIVE_EVERY = 60.0  # seconds between two re-drives of one destination's expired dead letters


@dataclass
class Held:
    """A message this worker holds the lease of, and its envelope as it will be sent."""

    item: OutboxItem
    body: bytes | None  # signed if it must be; None when it could not be prepared
    held_until: float  # the engine's clock: the lease is ours until then (renewals move it)
    problem: str | None = None  # why it could not be prepared
    sending: bool = False
    probe: bool = False  # a dead letter tried once more: is its destination back?
    lost: bool = False  # a renewal found the lease taken over
    watchers: list = field(default_factory=list)  # Deferreds fired with the attempt's Verdict (or None)
    told: bool = False  # the attempt is over (its outcome may not be recorded yet)
    verdict: Verdict | None = None

    def tell(self, verdict: Verdict | None) -> None:
        self.told, self.verdict = True, verdict
        watchers, self.watchers = self.watchers, []
        for watcher in watchers:
            watcher.callback(verdict)


def worker_name() -> str:
    """Unique among live workers: host, process and a random part (process ids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def is_broker_destination(destination: str) -> bool:
    return destination.startswith(BROKER_SCHEMES)


class DeliveryEngine:
    def __init__(self, reactor, threadpool, store, policy: RetryPolicy | None = None, *,
                 signer: Callable[[etree._Element], etree._Element] | None = None, name: str | None = None,
                 sender: HttpSender | None = None, tls_policy=None, broker=None, journal: bool = True,
                 available: Callable[[], bool] = lambda: True, interval: float = 0.2,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic):
        self.reactor = reactor
        self.threadpool = threadpool
        self.store = store
        self.policy = policy or RetryPolicy()
        self.signer = signer
        self.name = name or worker_name()
        self.broker = broker  # bus.broker.BrokerRelay, or None: queue:/topic: destinations are left to others
        self.available = available
        self.interval = interval
        self.rng = rng or random.Random()
        self.clock = clock
        self.sender = sender or HttpSender(reactor, per_destination=self.policy.per_destination,
                                           connect_timeout=min(10.0, self.policy.timeout),
                                           tls_policy=tls_policy)  # bus/tls.py: per-origin CA, client cert
        breaker = BreakerSettings(self.policy.breaker_failures, self.policy.breaker_open, self.policy.breaker_max_open)
        self.lanes = Lanes(self.policy.per_destination, breaker, clock)
        self.held: dict[int, Held] = {}
        self.settler = Settler(reactor, threadpool, store, journal, on_recorded=self._recorded)
        self._leasing = False
        self._renewing = False
        self._last_redrive: dict[str, float] = {}
        self._poll = task.LoopingCall(self.kick)
        self._poll.clock = reactor
        self._renew = task.LoopingCall(self.renew)
        self._renew.clock = reactor
        self._probing = False
        self._probe = task.LoopingCall(self.probe_dead_letters)
        self._probe.clock = reactor

    # ------------------------------------------------------------ running

    def start(self) -> None:
        self._poll.start(self.interval, now=True)
        self._renew.start(self.policy.renew_every, now=False)
        self._probe.start(self.policy.probe_every, now=False)

    def stop(self) -> None:
        for loop in (self._poll, self._renew, self._probe):
            if loop.running:
                loop.stop()

    def kick(self) -> None:
        """Start a lease round unless one is running, the database is away or this worker is full."""
        room = self.policy.max_in_flight - len(self.held)
        if self._leasing or room <= 0 or not self.available():
            return
        self._leasing = True
        skip = self.lanes.full()
        started = self.clock()
        d = deferToThreadPool(self.reactor, self.threadpool, self._lease, skip, min(room, LEASE_BATCH))
        d.addCallbacks(self._leased, self._lease_failed, callbackArgs=(started,))

    def _lease(self, skip: list[str], limit: int) -> list[tuple[OutboxItem, bytes | None, str | None]]:
        """In the pool: lease due messages and sign those that must be."""
        items = self.store.outbox_lease(self.name, None, limit, self.policy.lease_seconds, skip,
                                        broker=self.broker is not None)
        return [(item, *self.prepare(item)) for item in items]

    def prepare(self, item: OutboxItem) -> tuple[bytes | None, str | None]:
        """The envelope to send (signed where it must be), or why there is none. In the pool."""
        if not item.sign:
            return item.body, None
        if self.signer is None:
            return None, "this message must be signed but the server has no signing key (--server-key)"
        try:
            return soap.to_bytes(self.signer(m.parse_bytes(item.body, "outbox message"))), None
        except Exception as exc:  # a key or message the signer cannot use: recorded, retried
            return None, f"cannot sign it: {type(exc).__name__}: {exc}"

    def _leased(self, prepared, started: float) -> None:
        self._leasing = False
        for item, body, problem in prepared:
            if item.id in self.held:  # ours already (its lease had lapsed and we took it again)
                self.held[item.id].held_until = started + self.policy.lease_seconds
                continue
            held = Held(item, body, started + self.policy.lease_seconds, problem)
            self.held[item.id] = held
            lane = self.lanes.get(item.destination)
            if not lane.breaker.allows():  # not sent; its retry budget runs on as if it had failed
                self._record(held, Verdict("retry", None, f"not sent: the destination's circuit is open "
                                                          f"({lane.breaker.last_error})"),
                             datetime.now(timezone.utc), lane.breaker.seconds_until_probe())
                continue
            lane.submit(_Job(held, self._attempt))
        self.lanes.forget_idle()
        if prepared:  # a backlog drains at full speed; an idle outbox costs one query per interval
            self.reactor.callLater(0, self.kick)

    def _lease_failed(self, failure) -> None:
        self._leasing = False
        if failure.check(StoreUnavailable):
            log.debug("lease round stopped: the database is unavailable: %s", failure.value.reason)
            return
        log.error("lease round failed: %s", failure.getTraceback())

    # ------------------------------------------------------------ one attempt

    def _attempt(self, held: Held) -> defer.Deferred:
        if held.lost or self.clock() > held.held_until - FENCE_MARGIN:
            # Our lease may be another worker's by now: do not send. It is taken again when it lapses.
            self.held.pop(held.item.id, None)
            held.tell(None)
            return defer.succeed(None)
        if held.body is None:
            return defer.succeed(self._settle(held, Verdict("retry", None, held.problem)))
        held.sending = True
        return self.send(held).addCallback(lambda verdict: self._settle(held, verdict))

    def send(self, held: Held, timeout: float | None = None) -> defer.Deferred:
        """One attempt; fires with a Verdict, never fails."""
        item = held.item
        if is_broker_destination(item.destination):
            if self.broker is None:
                return defer.succeed(unreachable(item.destination, "this server has no --broker"))
            return self.broker.publish(item, held.body)
        d = self.sender.post(item.destination, item.soap_action, held.body, timeout or self.policy.timeout)
        d.addCallbacks(lambda answer: classify(answer.status, answer, answer.body),
                       lambda failure: unreachable(item.destination, describe_failure(failure)))
        return d

    def _settle(self, held: Held, verdict: Verdict) -> Verdict:
        """Judge the attempt, tell the destination's breaker, and queue the record of it."""
        item = held.item
        lane = self.lanes.get(item.destination)
        now = datetime.now(timezone.utc)
        if verdict.outcome in (DELIVERED, REFUSED):  # the receiver is there and answering
            lane.breaker.succeeded()
        elif held.body is not None and lane.breaker.failed(verdict.error):
            log.warning("delivery to %s paused for %.1f s after %d failed attempts in a row: %s", item.destination,
                        lane.breaker.seconds_until_probe(), lane.breaker.failures, verdict.error)
            not_sent = Verdict("retry", None, f"not sent: the destination's circuit is open ({verdict.error})")
            for job in lane.drain_waiting():
                self._record(job.held, not_sent, now, lane.breaker.seconds_until_probe())
                job.held.tell(not_sent)
        self._record(held, verdict, now, lane.breaker.seconds_until_probe())
        held.tell(verdict)
        return verdict

    def _record(self, held: Held, verdict: Verdict, now: datetime, pause: float) -> None:
        item = held.item
        if held.probe:  # a dead letter stays dead unless its probe got through; then the rest follow
            if verdict.delivered:
                log.warning("%s accepts deliveries again (dead letter %s delivered)", item.destination, item.id)
                self._last_redrive[item.destination] = self.clock()
                self.settler.add(held, Settlement(item.id, self.name, "revived", now, verdict.status, verdict.error,
                                                  answer=verdict.answer if item.kind == "request" else None), True)
            return
        settlement = self._settlement(item, verdict, now, pause)
        if settlement.outcome == "dead":
            log.warning("outbox %s to %s is a dead letter (%s): %s", item.id, item.destination,
                        settlement.cause, verdict.error)
        self.settler.add(held, settlement, self._redrive_due(item.destination, verdict))

    def _settlement(self, item: OutboxItem, verdict: Verdict, now: datetime, pause: float) -> Settlement:
        if verdict.outcome == DELIVERED:
            answer = verdict.answer if item.kind == "request" else None
            return Settlement(item.id, self.name, "delivered", now, verdict.status, verdict.error, answer=answer)
        if verdict.outcome == REFUSED:
            return Settlement(item.id, self.name, "dead", now, verdict.status, verdict.error, cause="refused")
        delay = verdict.retry_after if verdict.retry_after is not None else \
            self.policy.backoff(item.attempts + 1, self.rng)
        budget_ends = item.budget_start + timedelta(seconds=self.policy.budget_for(item.destination))
        next_at = min(now + timedelta(seconds=max(delay, pause)), budget_ends)  # the last try when it ends
        if now >= budget_ends:
            return Settlement(item.id, self.name, "dead", now, verdict.status,
                              f"retry budget of {self.policy.budget_for(item.destination):g} s spent; "
                              f"last: {verdict.error}", cause="expired")
        return Settlement(item.id, self.name, "retry", now, verdict.status, verdict.error, next_attempt_at=next_at)

    def probe_dead_letters(self) -> None:
        """Try one expired dead letter per destination again (every `probe_every` seconds): a
        destination that accepts it is back, and its other expired dead letters are queued again."""
        if self._probing or not self.available():
            return
        self._probing = True
        d = deferToThreadPool(self.reactor, self.threadpool, self._claim_probes)
        d.addCallbacks(self._probes_claimed, self._probes_failed)

    def _claim_probes(self):
        items = self.store.outbox_probes(LEASE_BATCH, self.policy.probe_every)
        return [(item, *self.prepare(item)) for item in items
                if self.broker is not None or not is_broker_destination(item.destination)]

    def _probes_claimed(self, prepared) -> None:
        self._probing = False
        for item, body, problem in prepared:
            if body is None:
                continue
            held = Held(item, body, self.clock() + self.policy.lease_seconds, problem, probe=True)
            self.lanes.get(item.destination).submit(_Job(held, self._attempt))

    def _probes_failed(self, failure) -> None:
        self._probing = False
        if not failure.check(StoreUnavailable):
            log.error("probing dead letters failed: %s", failure.getTraceback())

    def _redrive_due(self, destination: str, verdict: Verdict) -> bool:
        if not verdict.delivered:
            return False
        now = self.clock()
        if now - self._last_redrive.get(destination, float("-inf")) < REDRIVE_EVERY:
            return False
        self._last_redrive[destination] = now
        return True

    def _recorded(self, held: Held) -> None:
        self.held.pop(held.item.id, None)
        if held.item.sequence_key is not None:  # its successor in the key may go now, not at the next poll
            self.reactor.callLater(0, self.kick)

    # ------------------------------------------------------------ leases

    def renew(self) -> None:
        """Extend the leases of every message held; mark those another worker took over."""
        if self._renewing or not self.held:
            return
        self._renewing = True
        ids = list(self.held)
        started = self.clock()
        d = deferToThreadPool(self.reactor, self.threadpool, self.store.outbox_renew, self.name, ids,
                              self.policy.lease_seconds)
        d.addCallbacks(self._renewed, self._renew_failed, callbackArgs=(ids, started))

    def _renewed(self, still: set[int], ids: list[int], started: float) -> None:
        self._renewing = False
        for item_id in ids:
            held = self.held.get(item_id)
            if held is None:
                continue
            if item_id in still:
                held.held_until = started + self.policy.lease_seconds
            elif not self.settler.has(item_id):  # not recorded yet, and no longer ours
                held.lost = True
                if not held.sending:
                    self.held.pop(item_id, None)

    def _renew_failed(self, failure) -> None:
        self._renewing = False
        if not failure.check(StoreUnavailable):
            log.error("lease renewal failed: %s", failure.getTraceback())

    # ------------------------------------------------------------ the bus role

    def in_pool(self, function, *args) -> defer.Deferred:
        """Run `function(*args)` in the thread pool (database work); a Deferred of its result."""
        return deferToThreadPool(self.reactor, self.threadpool, function, *args)

    def circuit_open(self, destination: str) -> str | None:
        """Why attempts to `destination` are paused now, or None if they are not."""
        lane = self.lanes.get(destination)
        if lane.breaker.allows():
            return None
        return (f"{lane.breaker.failures} attempts in a row failed (last: {lane.breaker.last_error}); "
                f"the next in {lane.breaker.seconds_until_probe():.1f} s")

    def watch(self, item_id: int) -> defer.Deferred | None:
        """A Deferred of the Verdict of this worker's attempt at `item_id` under way (None: not sent,
        fenced off); None when this worker is not sending it."""
        held = self.held.get(item_id)
        if held is None or held.lost:
            return None
        if held.told:  # over already, its outcome on its way to the database
            return defer.succeed(held.verdict)
        watcher: defer.Deferred = defer.Deferred()
        held.watchers.append(watcher)
        return watcher

    def send_now(self, item: OutboxItem, body: bytes, timeout: float) -> defer.Deferred | None:
        """On the reactor: one attempt at `item` (leased to this worker) right now, through its lane,
        recorded like any other. None when the lane has no room or its circuit is open."""
        held = Held(item, body, self.clock() + self.policy.lease_seconds)

        def attempt() -> defer.Deferred:
            held.sending = True
            return self.send(held, timeout).addCallback(lambda verdict: self._settle(held, verdict))

        started = self.lanes.get(item.destination).try_now(attempt)
        if started is not None:
            self.held[item.id] = held
        return started


class _Job:
    """A lane's unit of work: one held message's attempt."""

    def __init__(self, held: Held, attempt: Callable[[Held], defer.Deferred]):
        self.held = held
        self._attempt = attempt

    def __call__(self) -> defer.Deferred:
        return self._attempt(self.held)


__all__ = ["DeliveryEngine", "Held", "worker_name", "is_broker_destination"]
