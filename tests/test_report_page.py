"""The HTML conformance report in headless chromium: a failure found by two suites is one thing to fix,
"failures only" hides the passing checks without any script, and a wide envelope wraps instead of
making the page scroll sideways."""
from __future__ import annotations

import pytest

from datetime import datetime, timezone

from soapbus.conformance.exchange import Exchange
from soapbus.conformance.model import FAIL, PASS, CheckResult, CheckSpec, Outcome, RunResult
from soapbus.conformance.reports.html import fixes, render_html

from .browser import headless_chromium

WIDE = ("<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'><soapenv:Body><x>"
        + "A" * 3000 + "</x></soapenv:Body></soapenv:Envelope>").encode()


@pytest.fixture(scope="module")
def browser():
    with headless_chromium("--window-size=1200,900") as driver:
        yield driver


def _run() -> RunResult:
    schema = CheckSpec("envelope.reply-schema", "Every reply validates against Message.xsd", "61968-100 §5")
    zone = CheckSpec("envelope.timestamp-zone", "Timestamps carry a zone", "61968-100 §5.3")
    exchange = Exchange(step="create", url="http://vendor.example/ws", request=WIDE, response=WIDE, status=200)
    failure = "Reply/Result is missing"

    def failed(suite, step):
        return CheckResult(schema, suite, [Outcome(FAIL, f"{step}: {failure}", step=step, exchange=exchange,
                                                   evidence={"found": "B" * 3000})])

    checks = [failed("envelope", "create"), CheckResult(zone, "envelope", [Outcome(PASS, "create: ok", step="create")]),
              failed("verbs", "change")]
    now = datetime.now(timezone.utc)
    return RunResult(["http://vendor.example/ws"], ["envelope", "verbs"], checks, now, now)


def test_one_failure_found_by_two_suites_is_one_thing_to_fix():
    [fix] = fixes(_run())
    assert fix.check.id == "envelope.reply-schema" and fix.suites == ["envelope", "verbs"]
    assert fix.findings == ["create: Reply/Result is missing"]


def test_failures_only_view_and_wrapped_envelopes(browser, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_html(_run()), encoding="utf-8")
    browser.set_window_size(1200, 900)
    browser.get(page.as_uri())
    fix_items = browser.execute_script("return [...document.querySelectorAll('.fix')].map(e => e.textContent)")
    assert len(fix_items) == 1 and fix_items[0].count("Reply/Result is missing") == 1

    def shown_rows():
        return browser.execute_script(
            "return [...document.querySelectorAll('tr.check')].filter(r => getComputedStyle(r).display !== 'none')"
            ".map(r => r.id)")

    assert shown_rows() == ["envelope.reply-schema", "envelope.timestamp-zone", "envelope.reply-schema"]
    browser.get(page.as_uri() + "#failures-only")
    assert shown_rows() == ["envelope.reply-schema", "envelope.reply-schema"]  # the passing check is hidden
    browser.get(page.as_uri() + "#all-checks")
    assert len(shown_rows()) == 3
    assert browser.execute_script("return document.querySelectorAll('script').length") == 0
    widths = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
