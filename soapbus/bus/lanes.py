"""One lane per destination: a limit on what is in flight there, and a circuit breaker.

Deliveries to different destinations never wait for each other: each destination has its own
lane, with at most `limit` messages in flight and the rest waiting in that lane only. A lane
whose receiver keeps failing opens its circuit after `failures` failed attempts in a row: no
further attempt is made there until the circuit half-opens (after `open_seconds`, doubled each
time it opens again, up to a cap); then one attempt is let through as a probe, and the circuit
closes when it succeeds. Runs on the reactor only.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from twisted.internet import defer

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass
class BreakerSettings:
    failures: int = 5
    open_seconds: float = 2.0
    max_open_seconds: float = 30.0


class CircuitBreaker:
    def __init__(self, settings: BreakerSettings, clock: Callable[[], float]):
        self.settings = settings
        self.clock = clock
        self.failures = 0
        self.opened_until = 0.0
        self.open_for = settings.open_seconds
        self.state = CLOSED
        self.last_error: str | None = None

    def allows(self) -> bool:
        """May an attempt start now? (Half-open: one probe at a time, which the lane enforces.)"""
        if self.state == OPEN and self.clock() >= self.opened_until:
            self.state = HALF_OPEN
        return self.state != OPEN

    def succeeded(self) -> bool:
        """Returns True when this success closed a circuit that had opened."""
        reopened = self.state != CLOSED
        self.failures, self.state, self.open_for = 0, CLOSED, self.settings.open_seconds
        return reopened

    def failed(self, error: str | None) -> bool:
        """Returns True when this failure opened the circuit."""
        self.failures += 1
        self.last_error = error
        if self.state == HALF_OPEN or (self.state == CLOSED and self.failures >= self.settings.failures):
            if self.state == HALF_OPEN:
                self.open_for = min(self.settings.max_open_seconds, self.open_for * 2)
            self.state, self.opened_until = OPEN, self.clock() + self.open_for
            return True
        return False

    def seconds_until_probe(self) -> float:
        return max(0.0, self.opened_until - self.clock()) if self.state == OPEN else 0.0


class Lane:
    """The queue and in-flight count of one destination."""

    def __init__(self, destination: str, limit: int, breaker: CircuitBreaker):
        self.destination = destination
        self.limit = limit
        self.breaker = breaker
        self.in_flight = 0
        self.waiting: deque = deque()  # (job, cancelled) pairs: job() -> Deferred

    def room(self) -> int:
        """How many more it can take without any waiting longer than one round (an open circuit
        takes any number: they are settled at once, unsent, which keeps their retry budget running)."""
        if not self.breaker.allows():
            return 1
        return max(0, self._limit_now() - self.in_flight - len(self.waiting))

    def _limit_now(self) -> int:
        return 1 if self.breaker.state == HALF_OPEN else self.limit

    def submit(self, job: Callable[[], defer.Deferred]) -> None:
        self.waiting.append(job)
        self.pump()

    def try_now(self, job: Callable[[], defer.Deferred]) -> defer.Deferred | None:
        """Start `job` at once if the lane has room and its circuit allows; None otherwise."""
        if not self.breaker.allows() or self.in_flight >= self._limit_now():
            return None
        return self._start(job)

    def pump(self) -> None:
        while self.waiting and self.breaker.allows() and self.in_flight < self._limit_now():
            self._start(self.waiting.popleft())

    def drain_waiting(self) -> list:
        """Take every waiting job out (the circuit opened: they are settled without an attempt)."""
        jobs, self.waiting = list(self.waiting), deque()
        return jobs

    def _start(self, job) -> defer.Deferred:
        self.in_flight += 1
        d = defer.maybeDeferred(job)
        d.addBoth(self._finished)
        return d

    def _finished(self, result):
        self.in_flight -= 1
        self.pump()
        return result

    def idle(self) -> bool:
        return not self.in_flight and not self.waiting


class Lanes:
    def __init__(self, limit: int, settings: BreakerSettings, clock: Callable[[], float]):
        self.limit, self.settings, self.clock = limit, settings, clock
        self._lanes: dict[str, Lane] = {}

    def get(self, destination: str) -> Lane:
        lane = self._lanes.get(destination)
        if lane is None:
            lane = self._lanes[destination] = Lane(destination, self.limit, CircuitBreaker(self.settings, self.clock))
        return lane

    def full(self) -> list[str]:
        """Destinations a lease must skip now: no room."""
        return [name for name, lane in self._lanes.items() if lane.room() == 0]

    def forget_idle(self) -> None:
        """Drop lanes with nothing in them and a closed circuit (destinations come and go)."""
        for name in [n for n, lane in self._lanes.items() if lane.idle() and lane.breaker.state == CLOSED]:
            del self._lanes[name]

    def __iter__(self):
        return iter(list(self._lanes.values()))


__all__ = ["Lane", "Lanes", "CircuitBreaker", "BreakerSettings", "CLOSED", "OPEN", "HALF_OPEN"]
