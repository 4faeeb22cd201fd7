"""Deliberately broken endpoints, one per check family: each fault is caught by the check meant for it,
and no other check fails."""
from __future__ import annotations

import pytest

from soapbus.conformance import run

from ..receivers import wait_until
from . import mutants
from .conftest import free_port, service_urls, subscribe, unsubscribe


def failing(result) -> set[str]:
    return result.failing_ids()


@pytest.fixture(scope="module")
def baseline_ok(server):
    """The same suites against the real server: nothing fails, so any failure below is the mutant's."""
    result = run(service_urls(server.url), ["envelope", "robustness"])
    assert failing(result) == set()
    return True


@pytest.mark.parametrize("mutant, suite, caught", [
    (mutants.no_correlation_echo, "envelope", {"envelope.correlation-echo", "envelope.correlation-from-message-id"}),
    (mutants.invalid_envelope, "envelope", {"envelope.reply-schema", "envelope.noun-schema"}),
    (mutants.wrong_reply_code, "robustness", {"robustness.unknown-verb"}),
])
def test_answer_mutants_are_caught_by_their_check(mutant_proxy, baseline_ok, mutant, suite, caught):
    with mutant_proxy.acting(on_response=mutant):
        result = run(service_urls(mutant_proxy.url), [suite])
    assert failing(result) == caught, {c.id: c.reason for c in result.checks if c.verdict in ("fail", "error")}


def test_duplicate_acted_twice_is_caught(mutant_proxy, baseline_ok):
    twice = mutants.ActsTwice()
    with mutant_proxy.acting(on_request=twice.on_request, on_response=twice.on_response):
        result = run(service_urls(mutant_proxy.url), ["robustness"])
    assert twice.renamed, "the mutant never saw the duplicate"
    assert failing(result) == {"robustness.duplicate-once"}
    assert "6.1" in result.check("robustness.duplicate-once").reason


def test_missing_event_is_caught(server):
    port = free_port()
    sink = mutants.EventSink()  # subscribed instead of the harness's listener: events go nowhere
    sub = subscribe(server.url, sink.url)
    try:
        # No event can reach the harness, so each of its three waits runs to the end: 1 s, where a
        # delivered event takes milliseconds (the sink's count below shows they were sent).
        result = run(service_urls(server.url), ["async-events"], callback_host=f"127.0.0.1:{port}", subscribed=True,
                     variables={"event_timeout": 1})
        wait_until(lambda: sink.count > 0, 10, "the events at the sink")
    finally:
        unsubscribe(server.url, sub["id"])
        sink.close()
    assert failing(result) == {"events.past-tense"}
    assert result.check("async.partial-then-final").verdict == "pass"


@pytest.mark.parametrize("name, caught", [
    ("unsigned response", {"security.response-signed"}),
    ("replay accepted", {"security.replay-refused"}),
    ("tampered body accepted", {"security.tampered-refused"}),
])
def test_security_mutants_are_caught_by_their_check(signed_mutant_proxy, security_options, server_key, name, caught):
    on_response = {"unsigned response": mutants.unsigned_response,
                   "replay accepted": mutants.accepting(server_key, "replay"),
                   "tampered body accepted": mutants.accepting(server_key, "wsse:FailedCheck")}[name]
    with signed_mutant_proxy.acting(on_response=on_response):
        result = run(service_urls(signed_mutant_proxy.url), ["security"], **security_options)
    assert failing(result) == caught, {c.id: c.reason for c in result.checks if c.verdict in ("fail", "error")}
