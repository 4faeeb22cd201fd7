"""`/metrics`: what the server does, in the Prometheus text format (prometheus_client).

Each server keeps its own registry (several servers in one process do not mix). What is counted,
and where it is taken from (wrapped from outside, so that the pipeline carries no metrics code):

* `soapbus_requests_total{interface, noun, verb, code, outcome}`: every inbound message, counted
  when its journal entry commits (so refusals, duplicates and faults are in it too, each with the
  reply code it was answered with). Nouns and verbs soapbus does not know are counted as `other`,
  so a caller cannot grow the label set.
* `soapbus_stage_seconds{stage}`: time per request in each stage, exclusive of the stages nested in
  it: `parse` (envelope and 61968 message, in the WSGI front), `verify` (signature, Source binding,
  ReplayDetection), `handle` (checks, handler, building the answer), `commit` (the transactions'
  commits), `sign` (signing the answer).
* `soapbus_deliveries_total{destination, outcome}` (outcome: delivered, retry, dead, revived; the
  destination as scheme://host:port), from the delivery worker's settlements.
* `soapbus_replay_refusals_total`: signatures and ReplayDetection Nonces seen before (refused).
* read at scrape time from the store: `soapbus_outbox_messages{status}`, `soapbus_outbox_oldest_pending_age_seconds`,
  `soapbus_dead_letters`, and `soapbus_database_up`.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from urllib.parse import urlsplit

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, disable_created_metrics,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily
from twisted.internet.threads import deferToThreadPool
from twisted.web import resource
from twisted.web.server import NOT_DONE_YET

from ..message import verbs
from ..profiles import NOUNS

STAGES = ("parse", "verify", "handle", "commit", "sign")
OTHER = "other"
MAX_DESTINATIONS = 200  # distinct destination labels kept; later ones are counted as "other"
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StageClock:
    """Per-thread time spent in each stage of one request, each stage exclusive of those inside it."""

    def __init__(self, histogram: Histogram | None):
        self.histogram = histogram
        self._local = threading.local()

    @contextmanager
    def request(self):
        """One request: the stages timed inside are observed once each when it ends."""
        self._local.totals, self._local.stack = {}, []
        try:
            yield
        finally:
            totals, self._local.totals = self._local.totals, None
            if self.histogram is not None:
                for stage, seconds in totals.items():
                    self.histogram.labels(stage).observe(seconds)

    @contextmanager
    def timing(self, stage: str):
        totals = getattr(self._local, "totals", None)
        if totals is None or self.histogram is None:  # outside a request (delivery, admin): not a request stage
            yield
            return
        stack = self._local.stack
        stack.append(0.0)  # time spent in stages nested inside this one
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            nested = stack.pop()
            totals[stage] = totals.get(stage, 0.0) + elapsed - nested
            if stack:
                stack[-1] += elapsed


NO_STAGES = StageClock(None)


def stages_of(processor) -> StageClock:
    """The stage clock of the server a processor belongs to (a no-op one where no metrics are kept)."""
    metrics = getattr(processor, "metrics", None)
    return metrics.stages if metrics is not None else NO_STAGES


class Metrics:
    def __init__(self):
        disable_created_metrics()  # no *_created series: process-wide, and soapbus wants none of them
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("soapbus_requests", "Inbound messages by interface, noun, verb, reply code and outcome",
                                ("interface", "noun", "verb", "code", "outcome"), registry=self.registry)
        self.stage_seconds = Histogram("soapbus_stage_seconds", "Seconds per request spent in each stage",
                                       ("stage",), buckets=STAGE_BUCKETS, registry=self.registry)
        self.deliveries = Counter("soapbus_deliveries", "Delivery attempts by destination and outcome",
                                  ("destination", "outcome"), registry=self.registry)
        self.replay_refusals = Counter("soapbus_replay_refusals",
                                       "Signatures or ReplayDetection Nonces seen before, refused as replays",
                                       registry=self.registry)
        self.stages = StageClock(self.stage_seconds)
        self._destinations: set[str] = set()
        self._destinations_lock = threading.Lock()

    # ------------------------------------------------------------ wiring (from outside the pipeline)

    def instrument(self, processor, guard) -> None:
        """Time and count what the processor and the guard do; the WSGI front times parse and verify."""
        processor.metrics = self
        processor.store = MeasuredStore(processor.store, self)
        process = processor.process

        def timed_process(call):
            with self.stages.timing("handle"):
                return process(call)

        processor.process = timed_process
        for name in ("verify", "authorize"):  # signature, binding and ReplayDetection: the verify stage
            setattr(guard, name, self._timed("verify", getattr(guard, name)))
        signer_for = guard.signer_for

        def timed_signer_for(*args, **kwargs):
            sign = signer_for(*args, **kwargs)
            if sign is None:
                return None

            def timed_sign(envelope):
                with self.stages.timing("sign"):
                    return sign(envelope)
            return timed_sign

        guard.signer_for = timed_signer_for
        # A signed request's memories are written in its own transaction (Processor.replay_refused
        # says when one was seen before); a memory the verifier writes itself (62325 Nonces) is counted here.
        processor.replay_refused = self.replay_refusals.inc
        if guard.verifier is not None and guard.verifier.replay is not None:
            guard.verifier.replay = CountingReplayMemory(guard.verifier.replay, self.replay_refusals)

    def _timed(self, stage: str, function):
        def timed(*args, **kwargs):
            with self.stages.timing(stage):
                return function(*args, **kwargs)
        return timed

    def watch_delivery(self, delivery) -> None:
        """Count each settled delivery attempt by its destination's origin and outcome."""
        settler = getattr(delivery, "settler", None)
        if settler is None:
            return
        add = settler.add

        def counted_add(held, settlement, *args, **kwargs):
            self.deliveries.labels(self.destination_label(held.item.destination), settlement.outcome).inc()
            return add(held, settlement, *args, **kwargs)

        settler.add = counted_add

    # ------------------------------------------------------------ labels

    def count_request(self, noun: str | None, verb: str | None, code: str | None, outcome: str) -> None:
        known = NOUNS.get(noun) if noun else None
        normalized = verbs.normalize(verb) if verb else None
        self.requests.labels(known.interface if known else ("none" if noun is None else OTHER),
                             known.name if known else (OTHER if noun else "none"),
                             normalized if normalized in verbs.ALL_VERBS else (OTHER if verb else "none"),
                             code or "none", outcome).inc()

    def destination_label(self, destination: str) -> str:
        parts = urlsplit(destination)
        label = f"{parts.scheme}://{parts.netloc}" if parts.netloc else parts.scheme or OTHER
        with self._destinations_lock:
            if label in self._destinations:
                return label
            if len(self._destinations) >= MAX_DESTINATIONS:
                return OTHER
            self._destinations.add(label)
            return label

    # ------------------------------------------------------------ the page

    def render(self, store) -> bytes:
        """The exposition text, the store's gauges read now (in the caller's thread: the pool)."""
        registry = CollectorRegistry(auto_describe=True)
        registry.register(_RegistryView(self.registry))
        registry.register(_OutboxCollector(store))
        return generate_latest(registry)

    def resource(self, reactor, threadpool, store) -> resource.Resource:
        return MetricsPage(self, reactor, threadpool, store)


class MeasuredStore:
    """The processor's store, its units of work timed at commit and their inbound journal entries counted."""

    def __init__(self, store, metrics: Metrics):
        self._store = store
        self._metrics = metrics

    def __getattr__(self, name):
        return getattr(self._store, name)

    @contextmanager
    def unit_of_work(self):
        counted: list[tuple] = []
        context = self._store.unit_of_work()
        uow = context.__enter__()
        try:
            yield _CountingUnit(uow, counted)
        except BaseException as exc:
            if not context.__exit__(type(exc), exc, exc.__traceback__):
                raise
        else:
            with self._metrics.stages.timing("commit"):
                context.__exit__(None, None, None)
            for entry in counted:
                self._metrics.count_request(*entry)


class _CountingUnit:
    def __init__(self, uow, counted: list):
        self._uow = uow
        self._counted = counted

    def __getattr__(self, name):
        return getattr(self._uow, name)

    def journal(self, direction, raw, *, header=None, kind=None, outcome=None, reply_code=None, **kw):
        entry_id = self._uow.journal(direction, raw, header=header, kind=kind, outcome=outcome,
                                     reply_code=reply_code, **kw)
        if direction == "in":
            self._counted.append((header.noun if header else None, header.verb if header else None, reply_code,
                                  outcome or "none"))
        return entry_id


class CountingReplayMemory:
    """The verifier's replay memory, counting what it had seen before (each a refusal as a replay)."""

    def __init__(self, memory, counter: Counter):
        self._memory = memory
        self._counter = counter

    def __getattr__(self, name):
        return getattr(self._memory, name)

    def remember_once(self, scope, key, expires_at) -> bool:
        first = self._memory.remember_once(scope, key, expires_at)
        if not first:
            self._counter.inc()
        return first

    def remember_each(self, memories) -> list[bool]:
        found = self._memory.remember_each(memories)
        self._counter.inc(sum(1 for first in found if not first))
        return found


class _RegistryView:
    """The server's own registry, collected into the page's (which adds the store's gauges)."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


class _OutboxCollector:
    def __init__(self, store):
        self.store = store

    def collect(self):
        up = GaugeMetricFamily("soapbus_database_up", "1 when the database answered the scrape's queries")
        try:
            counts = self.store.outbox_counts()
            oldest = self.store.outbox_oldest_pending()
        except Exception:  # an outage (or any database error) must not break the page: say it is down
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_status = GaugeMetricFamily("soapbus_outbox_messages", "Outbox messages by status", labels=["status"])
        for status, n in sorted(counts.items()):
            by_status.add_metric([status], n)
        yield by_status
        yield GaugeMetricFamily("soapbus_dead_letters", "Outbox messages given up on (dead letters)",
                                value=counts.get("dead", 0))
        age = (datetime.now(timezone.utc) - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("soapbus_outbox_oldest_pending_age_seconds",
                                "Age of the oldest message waiting for delivery (0 when none waits)", value=max(age, 0.0))


class MetricsPage(resource.Resource):
    """GET /metrics: rendered in the thread pool (the outbox gauges query the database)."""

    isLeaf = True

    def __init__(self, metrics: Metrics, reactor, threadpool, store):
        super().__init__()
        self.metrics, self.reactor, self.threadpool, self.store = metrics, reactor, threadpool, store

    def render_GET(self, request):
        finished = []
        request.notifyFinish().addBoth(finished.append)

        def write(body: bytes):
            if not finished:
                request.setHeader(b"content-type", CONTENT_TYPE_LATEST.encode("ascii"))
                request.write(body)
                request.finish()

        def failed(failure):
            if not finished:
                request.setResponseCode(500)
                request.setHeader(b"content-type", b"text/plain; charset=utf-8")
                request.write(f"metrics could not be collected: {failure.getErrorMessage()}\n".encode())
                request.finish()

        deferToThreadPool(self.reactor, self.threadpool, self.metrics.render, self.store).addCallbacks(write, failed)
        return NOT_DONE_YET


__all__ = ["Metrics", "StageClock", "stages_of", "NO_STAGES", "MeasuredStore", "STAGES"]
