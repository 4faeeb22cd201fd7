"""The harness against soapbus's own servers: every applicable check passes, every noun soapbus serves is
judged (none left out for want of a template), and the run produces the three report forms."""
from __future__ import annotations

import io

from lxml import etree
from rich.console import Console

from soapbus.conformance import NOT_APPLICABLE, PASS, SKIPPED, load_suites, run
from soapbus.profiles import NOUNS
from soapbus.conformance.reports import TerminalProgress, print_summary, write_reports

from .conftest import free_port, service_urls, subscribe, unsubscribe

SERVER_SUITES = [s.name for s in load_suites() if s.name != "security"]


def test_every_server_suite_passes_against_soapbus_with_three_reports(server, tmp_path):
    port = free_port()
    listener = f"http://127.0.0.1:{port}/soapbus/conformance/callback"
    sub = subscribe(server.url, listener)  # out of band, as a vendor would be asked to
    console = Console(file=io.StringIO(), width=160, force_terminal=False)
    try:
        result = run(service_urls(server.url), SERVER_SUITES, callback_host=f"127.0.0.1:{port}", subscribed=True,
                     progress=TerminalProgress(console))
    finally:
        unsubscribe(server.url, sub["id"])
    not_passing = {c.id: f"{c.verdict}: {c.reason}" for c in result.checks if c.verdict != PASS}
    assert not_passing == {}
    assert result.exit_code == 0 and result.judged == len(result.checks)
    # what was not judged says why: an operation soapbus does not offer, or a noun it serves signed only
    others = [(o.verdict, o.message) for c in result.checks for o in c.outcomes if o.verdict != PASS]
    assert {v for v, _ in others} <= {NOT_APPLICABLE, SKIPPED}, others
    assert all("offer" in text for v, text in others if v == NOT_APPLICABLE), others
    assert all("unsigned" in text for v, text in others if v == SKIPPED), others
    # every noun soapbus serves unsigned, with or without a shipped template, was created by the verbs suite
    created = {o.step for o in result.check("verbs.transaction-ok").outcomes if o.verdict == PASS}
    unsigned = [n for n, noun in NOUNS.items() if not noun.signed_by_default and "create" in noun.transactions
                and "Execute" in noun.roles]
    assert {f"create_{n}" for n in unsigned} <= created, created
    # the prerequisite (a valid request is accepted) is reported first, one outcome per noun probed
    assert result.checks[0].id == "prerequisite.accepted"
    assert len(result.checks) == sum(len(s.checks) for s in load_suites(SERVER_SUITES)) + 1

    paths = write_reports(result, tmp_path / "report")
    print_summary(result, console, paths)
    terminal = console.file.getvalue()
    assert "envelope.reply-schema" in terminal and "0 fail" in terminal and "PASS" in terminal

    junit = etree.parse(str(paths["junit"])).getroot()
    cases = junit.findall(".//testcase")
    assert len(cases) == len(result.checks)
    assert junit.get("failures") == "0" and junit.get("errors") == "0"
    first = cases[0]
    props = {p.get("name"): p.get("value") for p in first.findall("properties/property")}
    assert props["rule"] and props["source"].startswith(("IEC", "EPRI", "soapbus", "OASIS"))

    html = paths["html"].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<link" not in html and "<script" not in html
    assert 'src="http' not in html and "href=\"http" not in html
    for check in result.checks:
        assert check.id in html
    assert "&lt;soapenv:Envelope" in html  # evidence: envelopes escaped


def test_security_suite_passes_against_a_signed_soapbus(signed_server, security_options):
    result = run(service_urls(signed_server.url), ["security"], **security_options)
    assert {c.id: c.verdict for c in result.checks if c.verdict != PASS} == {}
    assert len(result.checks) == 9  # the suite's 8 and the prerequisite


def test_security_suite_is_skipped_with_a_reason_without_keys(signed_server):
    """No keys given: the user left message security out, so its checks are skipped, and the run judged nothing."""
    result = run(service_urls(signed_server.url), ["security"])
    assert {c.verdict for c in result.checks} == {SKIPPED}
    assert "--client-cert" in result.checks[0].reason
    assert result.exit_code == 3 and "Nothing was judged" in result.conclusion()


def test_security_suite_does_not_apply_where_signing_is_not_required(server, security_options):
    """Only MeterReadings (I7) offered, which soapbus does not require signed: the refusal checks do not apply."""
    only_i7 = [f"{server.url}/soap/ExecuteMeterReadings", f"{server.url}/soap/GetMeterReadings"]
    result = run(only_i7, ["security"], **security_options)
    assert {c.verdict for c in result.checks} == {NOT_APPLICABLE}
    assert "does not require signed requests" in result.checks[0].reason


def test_suites_not_offered_are_not_applicable_with_the_reason(server):
    result = run([f"{server.url}/soap/GetMeterReadings"], ["work-requests", "outage"])
    assert {c.verdict for c in result.checks} == {NOT_APPLICABLE}
    assert "do not offer create WorkRequests" in result.check("work.create").reason
    assert "do not offer created EndDeviceEvents" in result.check("outage.single").reason
    assert result.judged == 0 and result.exit_code == 3
