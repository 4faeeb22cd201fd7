"""Running the delivery worker beside a Twisted server: polled from the reactor, work in a thread."""
from __future__ import annotations

import logging
from collections.abc import Callable

from twisted.internet import task
from twisted.internet.threads import deferToThreadPool

from ..store import StoreUnavailable

log = logging.getLogger(__name__)


class DeliveryService:
    """Every `interval` seconds, if no round is running, run the worker's `run_once` in the pool.

    A round that found work is followed at once by another, so a backlog drains at full speed
    while an idle outbox costs one cheap query per interval. While `available()` says the
    database cannot be used (an outage, or a schema not yet created) no round starts, and a
    round the database fails under ends quietly: the store logs the outage once, and an item
    leased when it struck is leased again when its lease expires.
    """

    def __init__(self, reactor, threadpool, worker, interval: float = 0.2,
                 available: Callable[[], bool] = lambda: True):
        self.reactor = reactor
        self.threadpool = threadpool
        self.worker = worker
        self.interval = interval
        self.available = available
        self._running = False
        self._loop = task.LoopingCall(self.kick)
        self._loop.clock = reactor

    def start(self) -> None:
        self._loop.start(self.interval, now=True)

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()

    def kick(self) -> None:
        if self._running or not self.available():
            return
        self._running = True
        d = deferToThreadPool(self.reactor, self.threadpool, self.worker.run_once)
        d.addCallbacks(self._done, self._failed)

    def _done(self, attempted: int) -> None:
        self._running = False
        if attempted:
            self.reactor.callLater(0, self.kick)

    def _failed(self, failure) -> None:
        self._running = False
        if failure.check(StoreUnavailable):
            log.debug("delivery round stopped: the database is unavailable: %s", failure.value.reason)
            return
        log.error("delivery round failed: %s", failure.getTraceback())
