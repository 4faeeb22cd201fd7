"""One self-contained HTML file per run: inline CSS, no scripts or assets from anywhere else.

It opens with the counts and "what the vendor must fix" (the failures grouped by rule), then
every suite's checks with their verdicts; each check unfolds to its outcomes and their
evidence: the failing XPath, the value found and the one expected, the timings, and the
request and response envelopes, pretty-printed.

The page is the Jinja2 template `templates/report.html.j2`, rendered with autoescaping: every
value from a run (a vendor's answer, its fault strings, the URLs it was given) is escaped by
the template engine, none is pasted into markup here.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..exchange import Exchange, pretty
from ..model import ERROR, FAIL, PASS, SKIP, VERDICTS, CheckResult, Outcome, RunResult, finding_key

TEMPLATE = "report.html.j2"
EVIDENCE_KEYS = ("xpath", "expected", "found", "problems", "messages")
ANSWER_LABELS = {"callback": "asynchronous reply received at the callback listener",
                 "event": "event received at the callback listener",
                 "received": "message received at the callback listener"}


@dataclass(frozen=True)
class OutcomeView:
    outcome: Outcome
    index: int
    full_exchange: bool  # its exchange is shown in full (envelopes), else as one line


def outcome_views(check: CheckResult) -> list[OutcomeView]:
    """A failing outcome shows its exchange in full; of the passing ones only the first does."""
    views, shown = [], 0
    for index, outcome in enumerate(check.outcomes):
        full = outcome.exchange is not None and (outcome.verdict in (FAIL, ERROR) or shown < 1)
        shown += full
        views.append(OutcomeView(outcome, index, full))
    return views


@dataclass
class Fix:
    """One rule the vendor broke: its check (every suite's run of it together) and the findings, each once."""

    check: CheckResult
    suites: list[str]
    findings: list[str]


def fixes(result: RunResult) -> list[Fix]:
    """The failed checks for "what the vendor must fix": a check run by several suites (the same id)
    is one entry, and a finding said by several of them is listed once."""
    by_id: dict[str, Fix] = {}
    seen: dict[str, set[str]] = {}
    for check in result.checks:
        if check.verdict != FAIL:
            continue
        fix = by_id.setdefault(check.id, Fix(check, [], []))
        if check.suite not in fix.suites:
            fix.suites.append(check.suite)
        for finding in check.findings(FAIL):
            key = finding_key(finding.message, finding.outcomes[0].step)
            if key not in seen.setdefault(check.id, set()):
                seen[check.id].add(key)
                fix.findings.append(finding.text())
    return list(by_id.values())


def evidence_rows(evidence: dict) -> list[tuple[str, str]]:
    """The evidence worth a row, in a fixed order; lists one item a line."""
    rows = []
    for key in EVIDENCE_KEYS:
        value = evidence.get(key)
        if value in (None, [], ""):
            continue
        rows.append((key, "\n".join(map(str, value)) if isinstance(value, list) else str(value)))
    return rows


def answer_label(ex: Exchange) -> str:
    if ex.label == "response":
        return f"response: HTTP {ex.status}, {ex.elapsed * 1000:.0f} ms"
    return ANSWER_LABELS.get(ex.label, ex.label)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("soapbus.conformance.reports", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
                      undefined=StrictUndefined)
    env.globals.update(PASS=PASS, FAIL=FAIL, SKIP=SKIP, ERROR=ERROR, VERDICTS=VERDICTS, pretty=pretty,
                       evidence_rows=evidence_rows, fixes=fixes,
                       outcome_views=outcome_views, answer_label=answer_label)
    return env


def render_html(result: RunResult) -> str:
    return _environment().get_template(TEMPLATE).render(result=result)


def write_html(result: RunResult, path: Path) -> Path:
    Path(path).write_text(render_html(result), encoding="utf-8")
    return Path(path)


__all__ = ["render_html", "write_html"]
