"""What a suite is once loaded, and what a run produces."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

PASS, FAIL, SKIP, ERROR = "pass", "fail", "skip", "error"
VERDICTS = (PASS, FAIL, SKIP, ERROR)
# How a check's many outcomes combine: the worst one wins; a check that only skipped is skipped.
_RANK = {SKIP: 0, PASS: 1, ERROR: 2, FAIL: 3}


@dataclass(frozen=True)
class CheckSpec:
    id: str
    rule: str  # one line: what the target must do
    source: str  # where the rule comes from


@dataclass
class Assertion:
    check: str  # a CheckSpec id
    kind: str  # one of checks.KINDS
    params: dict  # the assertion's fields, unrendered (${...} evaluated when it runs)
    where: str  # "suite envelope, step create, expect[2]": for messages about this assertion


@dataclass
class Step:
    id: str
    title: str
    action: str  # send | raw | replay | wait_event | wait_replies
    spec: dict  # the action's fields, unrendered
    expect: list[Assertion]
    needs: dict
    vars: dict
    where: str


@dataclass
class Suite:
    name: str
    title: str
    description: str
    role: str  # server (the harness is the client) | client (the harness hosts a mock endpoint)
    checks: dict[str, CheckSpec]
    steps: list[Step]
    needs: dict
    vars: dict
    every_reply: list[Assertion]
    every_event: list[Assertion]
    path: str
    mock: dict = field(default_factory=dict)  # role client: canned replies and what to expect


@dataclass
class Outcome:
    """One assertion evaluated once: its verdict, why, and the evidence a person needs to judge it."""

    verdict: str
    message: str
    step: str | None = None
    evidence: dict = field(default_factory=dict)  # xpath, expected, found ...
    exchange: object | None = None  # the exchange.Exchange it was evaluated on


@dataclass
class CheckResult:
    spec: CheckSpec
    suite: str
    outcomes: list[Outcome] = field(default_factory=list)
    skip_reason: str | None = None  # set when the whole check could not run

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def verdict(self) -> str:
        if not self.outcomes:
            return SKIP
        return max((o.verdict for o in self.outcomes), key=_RANK.__getitem__)

    @property
    def reason(self) -> str:
        """The one line that explains the verdict: the first failure, error, or the skip reason."""
        verdict = self.verdict
        if verdict == SKIP:
            reasons = [o.message for o in self.outcomes if o.message] or [self.skip_reason or "not run"]
            return reasons[0]
        first = next(o for o in self.outcomes if o.verdict == verdict)
        return first.message

    @property
    def elapsed(self) -> float:
        seen, total = set(), 0.0
        for o in self.outcomes:
            ex = o.exchange
            if ex is not None and id(ex) not in seen:
                seen.add(id(ex))
                total += getattr(ex, "elapsed", 0.0) or 0.0
        return total


@dataclass
class RunResult:
    targets: list[str]
    suites: list[str]
    checks: list[CheckResult]
    started: datetime
    finished: datetime
    role: str = "server"
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {v: 0 for v in VERDICTS}
        for c in self.checks:
            out[c.verdict] += 1
        return out

    @property
    def ok(self) -> bool:
        counts = self.counts()
        return counts[FAIL] == 0 and counts[ERROR] == 0

    def by_verdict(self, verdict: str) -> list[CheckResult]:
        return [c for c in self.checks if c.verdict == verdict]

    def failing_ids(self) -> set[str]:
        return {c.id for c in self.checks if c.verdict in (FAIL, ERROR)}

    def check(self, check_id: str) -> CheckResult:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    @property
    def seconds(self) -> float:
        return (self.finished - self.started).total_seconds()


__all__ = ["PASS", "FAIL", "SKIP", "ERROR", "VERDICTS", "CheckSpec", "Assertion", "Step", "Suite", "Outcome",
           "CheckResult", "RunResult"]
