"""Verdicts a vendor can trust, shown on real soapbus servers and mutants of them: one root failure for a
target that refuses everything, the checks a create-only target can show, optional patterns and
operations not offered judged not applicable, a signed re-delivery, and a run that judged nothing
never passing (exit code 3)."""
from __future__ import annotations

from click.testing import CliRunner
from lxml import etree

from soapbus.cli import cli
from soapbus.conformance import BLOCKED, FAIL, NOT_APPLICABLE, PASS, SKIPPED, load_suites, run

from . import mutants
from .conftest import free_port, service_urls


def verdicts(result) -> dict[str, str]:
    return {c.id: c.verdict for c in result.checks}


def test_a_target_refusing_every_request_shows_one_root_failure_and_the_rest_blocked(mutant_proxy):
    with mutant_proxy.acting(on_response=mutants.refusing_every_request):
        result = run(service_urls(mutant_proxy.url), ["envelope", "verbs", "robustness"])
    failed = [c for c in result.checks if c.verdict == FAIL]
    assert [c.id for c in failed] == ["prerequisite.accepted"], verdicts(result)
    assert "FAILED 1.8" in failed[0].reason
    rest = {cid: v for cid, v in verdicts(result).items() if cid != "prerequisite.accepted"}
    assert set(rest.values()) == {BLOCKED}, rest
    # each blocked check names the one root cause, not a failure of its own
    for check in result.checks[1:]:
        assert "prerequisite.accepted failed for" in check.reason, (check.id, check.reason)
    assert result.exit_code == 1 and result.judged == 1


def test_a_target_that_creates_but_cannot_get_gets_the_envelope_checks(server):
    result = run([f"{server.url}/soap/ExecuteMeterReadings"], ["envelope"])
    envelope = {s for s in load_suites(["envelope"])[0].checks}
    assert {cid: v for cid, v in verdicts(result).items() if cid in envelope} == dict.fromkeys(envelope, PASS)
    # the steps that need get are not applicable, with the reason; they did not fail
    not_applicable = [o.message for c in result.checks for o in c.outcomes if o.verdict == NOT_APPLICABLE]
    assert not_applicable and all("get MeterReadings" in text for text in not_applicable), not_applicable
    assert result.exit_code == 0


def test_a_target_answering_asynchronous_requests_synchronously_makes_the_async_checks_not_applicable(mutant_proxy):
    port = free_port()
    with mutant_proxy.acting(on_request=mutants.synchronous_only):
        result = run(service_urls(mutant_proxy.url), ["async-events"], callback_host=f"127.0.0.1:{port}")
    found = verdicts(result)
    async_checks = {cid: v for cid, v in found.items() if cid.startswith("async.")}
    assert set(async_checks.values()) == {NOT_APPLICABLE}, {c.id: c.reason for c in result.checks}
    ack = result.check("async.acknowledged-0.3")
    assert "answered the asynchronous request synchronously" in ack.reason
    assert ack.outcomes[0].exchange is not None  # the synchronous answer is the evidence
    assert all(found[cid] == SKIPPED for cid in found if cid.startswith("events."))  # no --subscribed
    assert FAIL not in found.values()


def test_a_verb_answered_not_offered_is_not_applicable(server):
    """Through the generic service soapbus answers delete OutageRecords with 2.9: not offered, not a failure."""
    result = run([f"{server.url}/soap/Operations"], ["verbs"], variables={})
    assert result.check("verbs.transaction-ok").verdict == PASS, result.check("verbs.transaction-ok").reason
    said = [o.message for o in result.check("verbs.transaction-ok").outcomes if o.verdict == NOT_APPLICABLE]
    assert any("delete OutageRecords with FAILED 2.9" in text for text in said), said
    assert result.exit_code == 0


def test_a_signed_run_re_delivers_a_duplicate_with_a_fresh_signature(signed_server, security_options):
    result = run(service_urls(signed_server.url), ["robustness"], **security_options)
    assert result.check("robustness.duplicate-once").verdict == PASS, result.check("robustness.duplicate-once").reason
    second = next(o.exchange for o in result.check("robustness.duplicate-once").outcomes
                  if o.step == "second_delivery")
    first = next(o.exchange for o in result.check("robustness.duplicate-once").outcomes if o.step == "first_delivery")
    assert second.request != first.request  # re-signed, not the same bytes
    assert "fresh wsu:Timestamp and signature" in " ".join(second.notes)
    sent = [etree.fromstring(ex.request).findtext(".//{*}MessageID") for ex in (first, second)]
    assert sent[0] == sent[1]  # the same message
    assert result.failing_ids() == set(), {c.id: c.reason for c in result.checks if c.verdict == FAIL}


def test_a_run_that_judged_nothing_exits_3_and_never_says_it_passed(server, tmp_path):
    out = CliRunner().invoke(cli, ["conformance", "run", "--target", f"{server.url}/soap/GetMeterReadings",
                                   "--suite", "work-requests", "--report", str(tmp_path / "r")],
                             catch_exceptions=False)
    assert out.exit_code == 3, out.output
    assert "Nothing was judged" in out.output
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "no check failed" not in html and "Nothing was judged" in html
    junit = etree.parse(str(tmp_path / "r" / "junit.xml")).getroot()
    skipped = [case.find("skipped").get("message") for case in junit.iter("testcase")]
    assert skipped and all(text.startswith("not applicable: ") for text in skipped), skipped


def test_min_checks_asks_for_more_than_was_judged(server, tmp_path):
    args = ["conformance", "run", "--target", f"{server.url}/soap/ExecuteMeterReadings", "--target",
            f"{server.url}/soap/GetMeterReadings", "--suite", "ondemand-read", "--report", str(tmp_path / "r")]
    enough = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert enough.exit_code == 0, enough.output
    too_few = CliRunner().invoke(cli, [*args, "--min-checks", "40"], catch_exceptions=False)
    assert too_few.exit_code == 3 and "fewer than the 40 asked for" in too_few.output


def test_findings_that_say_the_same_are_reported_once(mutant_proxy):
    with mutant_proxy.acting(on_response=mutants.no_correlation_echo):
        result = run(service_urls(mutant_proxy.url), ["verbs"])
    assert result.failing_ids() == set()  # verbs does not judge correlation: the control
    with mutant_proxy.acting(on_response=mutants.invalid_envelope):
        result = run(service_urls(mutant_proxy.url), ["envelope"])
    check = result.check("envelope.reply-schema")
    failures = [o for o in check.outcomes if o.verdict == FAIL]
    assert len(failures) == 4 and len(check.findings()) == 1  # four replies, one finding
    assert "and 3 more like it" in check.reason
