"""The harness against soapbus's own servers: every applicable check passes, none skipped for lack of nouns,
and the run produces the three report forms."""
from __future__ import annotations

import io

from lxml import etree
from rich.console import Console

from soapbus.conformance import PASS, load_suites, run
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
    # no outcome skipped for want of a noun: only OutageRecords' delete, which soapbus does not offer
    skipped = [o.message for c in result.checks for o in c.outcomes if o.verdict == "skip"]
    assert skipped and all("delete OutageRecords" in s for s in skipped), skipped
    assert len(result.checks) == sum(len(s.checks) for s in load_suites(SERVER_SUITES))

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
    assert len(result.checks) == 8


def test_security_suite_skips_with_a_reason_without_keys(signed_server):
    result = run(service_urls(signed_server.url), ["security"])
    assert {c.verdict for c in result.checks} == {"skip"}
    assert "--client-cert" in result.checks[0].reason


def test_security_suite_skips_where_signing_is_not_required(server, security_options):
    """soapbus without keys requires no signature on I9 either: the refusal checks do not apply."""
    only_i7 = [f"{server.url}/soap/ExecuteMeterReadings", f"{server.url}/soap/GetMeterReadings"]
    result = run(only_i7, ["security"], **security_options)
    assert {c.verdict for c in result.checks} == {"skip"}
    assert "does not require signed requests" in result.checks[0].reason


def test_suites_not_offered_are_skipped_with_the_reason(server):
    result = run([f"{server.url}/soap/GetMeterReadings"], ["work-requests", "outage"])
    assert {c.verdict for c in result.checks} == {"skip"}
    assert "do not offer create WorkRequests" in result.check("work.create").reason
    assert "do not offer created EndDeviceEvents" in result.check("outage.single").reason
