"""What a suite is once loaded, and what a run produces."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the record is soapbus.client's; this module stays free of imports at run time
    from ..client.discovery import Discovery

# The verdicts a check (and each of its outcomes) can have:
PASS = "pass"  # judged: the target kept the rule
FAIL = "fail"  # judged: the target broke the rule
BLOCKED = "blocked"  # not judged: a step it needs failed first (the reason names that root cause)
NOT_APPLICABLE = "not applicable"  # not judged: the target does not offer what it is about (with the evidence)
ERROR = "error"  # not judged: the harness could not run it (a suite or run problem, not the target's)
SKIPPED = "skipped"  # not judged: the user left it out (no --client-cert, no --subscribed ...)
SKIP = SKIPPED  # the name before verdict kinds were split
VERDICTS = (PASS, FAIL, BLOCKED, NOT_APPLICABLE, ERROR, SKIPPED)
JUDGED = (PASS, FAIL)
# How a check's many outcomes combine: the worst one wins. Blocked outranks pass: a check some of
# whose steps could not run was not judged in full.
_RANK = {SKIPPED: 0, NOT_APPLICABLE: 1, PASS: 2, BLOCKED: 3, ERROR: 4, FAIL: 5}


def rank(verdict: str) -> int:
    """How bad a verdict is, for combining several into one (fail is worst, skipped least)."""
    return _RANK[verdict]


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Exit status of a run (the CLI's, and `RunResult.exit_code`):
EXIT_PASSED = 0  # every judged check passed, and at least --min-checks were judged
EXIT_FAILED = 1  # a check failed, or the harness could not run one (error)
EXIT_USAGE = 2  # the run could not start as given (options, suite files, targets, keys)
EXIT_TOO_LITTLE = 3  # fewer checks judged than --min-checks (nothing failed, but too little was shown)


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
    requires: list = field(default_factory=list)  # step ids (templated) whose success this step needs
    # A foreach whose values are only known at run time (`{noun: "${nouns()}"}`): the step is a pattern,
    # expanded by the runner once the target is known; None for an ordinary (or already expanded) step.
    foreach: dict | None = None


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
class Finding:
    """Outcomes of one check that say the same thing (steps and identifiers aside), reported once."""

    verdict: str
    outcomes: list[Outcome]

    @property
    def message(self) -> str:
        return self.outcomes[0].message

    @property
    def steps(self) -> list[str]:
        return list(dict.fromkeys(o.step for o in self.outcomes if o.step))

    def text(self) -> str:
        if len(self.outcomes) == 1:
            return self.message
        others = [s for s in self.steps if s != self.outcomes[0].step]
        where = f" at {', '.join(others[:6])}{' ...' if len(others) > 6 else ''}" if others else ""
        return f"{self.message} (and {len(self.outcomes) - 1} more like it{where})"


def finding_key(message: str, step: str | None) -> str:
    """What makes two outcome messages the same finding: the text without its step and identifiers."""
    if step and message.startswith(f"{step}: "):
        message = message[len(step) + 2:]
    return _UUID.sub("<id>", message)


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
            return SKIPPED
        return max((o.verdict for o in self.outcomes), key=_RANK.__getitem__)

    @property
    def judged(self) -> bool:
        return self.verdict in JUDGED

    def findings(self, verdict: str | None = None) -> list[Finding]:
        """The outcomes of one verdict (the check's own by default), de-duplicated, first seen first."""
        verdict = verdict or self.verdict
        grouped: dict[str, Finding] = {}
        for outcome in self.outcomes:
            if outcome.verdict == verdict:
                key = finding_key(outcome.message, outcome.step)
                grouped.setdefault(key, Finding(verdict, [])).outcomes.append(outcome)
        return list(grouped.values())

    @property
    def reason(self) -> str:
        """The one line that explains the verdict: its first finding (with how many more say the same)."""
        found = self.findings()
        if not found:
            return self.skip_reason or "not run"
        text = found[0].text()
        return text if len(found) == 1 else f"{text}; and {len(found) - 1} other finding(s)"

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
    min_checks: int = 1  # fewer judged checks than this and the run proves too little (exit 3)
    discovery: Discovery | None = None  # what the targets' WSDLs offer, as the run read them (server role)

    def counts(self) -> dict[str, int]:
        out = {v: 0 for v in VERDICTS}
        for c in self.checks:
            out[c.verdict] += 1
        return out

    @property
    def judged(self) -> int:
        return sum(1 for c in self.checks if c.judged)

    @property
    def exit_code(self) -> int:
        counts = self.counts()
        if counts[FAIL] or counts[ERROR]:
            return EXIT_FAILED
        if self.judged < self.min_checks:
            return EXIT_TOO_LITTLE
        return EXIT_PASSED

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_PASSED

    def conclusion(self) -> str:
        """One sentence on the run as a whole; never 'nothing failed' when nothing was judged."""
        counts = self.counts()
        if counts[FAIL] or counts[ERROR]:
            parts = [f"{counts[FAIL]} check(s) failed" if counts[FAIL] else "",
                     f"{counts[ERROR]} could not be run by the harness" if counts[ERROR] else "",
                     f"{counts[BLOCKED]} blocked by a failure before them" if counts[BLOCKED] else ""]
            return "; ".join(p for p in parts if p) + f" ({self.judged} judged)."
        if self.judged == 0:
            return ("Nothing was judged: no check could be run against this target (see each check's reason); "
                    "this is not a pass.")
        if self.judged < self.min_checks:
            return (f"Only {self.judged} check(s) were judged, fewer than the {self.min_checks} asked for "
                    "(--min-checks): no check failed, but the run shows too little to pass.")
        return f"Every judged check passed ({self.judged} judged)."

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


__all__ = ["PASS", "FAIL", "BLOCKED", "NOT_APPLICABLE", "ERROR", "SKIPPED", "SKIP", "VERDICTS", "JUDGED",
           "EXIT_PASSED", "EXIT_FAILED", "EXIT_USAGE", "EXIT_TOO_LITTLE", "CheckSpec", "Assertion", "Step", "Suite",
           "Outcome", "Finding", "CheckResult", "RunResult", "finding_key", "rank"]
