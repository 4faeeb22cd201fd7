"""How long and how hard the bus tries: retry budgets by time, backoff, per-destination limits.

A message is retried until it is delivered or its retry budget (default 24 h, counted from
when it was queued or last replayed) runs out; then it is a dead letter. Attempts are spaced by
capped exponential backoff with full jitter, or as the receiver asked (Retry-After, 5.1). The
budget can differ per destination (`--destination-budget PREFIX=SECONDS`, longest prefix wins).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

DAY = 24 * 3600.0


@dataclass(frozen=True)
class DestinationBudget:
    prefix: str  # a destination URL, or its beginning (http://host:port/)
    seconds: float


def parse_destination_budget(text: str) -> DestinationBudget:
    """`PREFIX=SECONDS` (SECONDS may end in s, m, h or d): the retry budget of matching destinations."""
    prefix, sep, amount = text.rpartition("=")
    if not sep or not prefix:
        raise ValueError(f"{text!r}: give PREFIX=SECONDS, e.g. http://dms:8080/=3600 or queue:billing=2h")
    return DestinationBudget(prefix, parse_duration(amount))


def parse_duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = text.strip().lower()
    scale = units.get(value[-1:], None)
    number = value[:-1] if scale else value
    try:
        seconds = float(number) * (scale or 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration: give seconds, or a number ending in s, m, h or d") from None
    if not seconds > 0:
        raise ValueError(f"{text!r}: a duration must be positive")
    return seconds


@dataclass
class RetryPolicy:
    budget: float = DAY  # seconds a message is retried before it becomes a dead letter
    base_delay: float = 0.5  # seconds: the backoff's first ceiling, doubled after each attempt
    max_delay: float = 300.0  # the ceiling's cap
    timeout: float = 10.0  # seconds one HTTP attempt (connect, send, answer) may take
    lease_seconds: float = 10.0  # a dead worker's messages are taken over this long after its last renewal
    renew_every: float = 3.0  # how often a worker renews the leases of what it holds
    per_destination: int = 8  # messages in flight to one destination at once
    max_in_flight: int = 512  # messages one worker holds at once, all destinations together
    breaker_failures: int = 5  # consecutive failed attempts that open a destination's circuit
    breaker_open: float = 2.0  # seconds a circuit stays open at first; doubled each time it opens again
    breaker_max_open: float = 30.0
    probe_every: float = 60.0  # seconds between two probes of a destination that has expired dead letters
    destination_budgets: tuple[DestinationBudget, ...] = field(default_factory=tuple)

    def budget_for(self, destination: str) -> float:
        fitting = [b for b in self.destination_budgets if destination.startswith(b.prefix)]
        return max(fitting, key=lambda b: len(b.prefix)).seconds if fitting else self.budget

    def backoff(self, attempts: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**(attempts - 1))]."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** min(max(attempts - 1, 0), 60)))
        return rng.uniform(0, ceiling)


__all__ = ["RetryPolicy", "DestinationBudget", "parse_destination_budget", "parse_duration", "DAY"]
