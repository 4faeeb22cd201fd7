"""What an answer means for a delivery, the circuit breaker's states, retry budgets, dead-letter replay.

Pure functions and a fake clock where the behaviour is a rule; the CLI through a real database.
"""
from __future__ import annotations

import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from soapbus import message as m
from soapbus.bus.answers import DELIVERED, REFUSED, RETRY, classify, parse_retry_after
from soapbus.bus.lanes import CLOSED, HALF_OPEN, OPEN, BreakerSettings, CircuitBreaker, Lane
from soapbus.bus.policy import DestinationBudget, RetryPolicy, parse_destination_budget, parse_duration
from soapbus.message import Error, FaultMessage, Reply, codes, soap
from soapbus.store import Settlement, Store

from .helpers import header


def response(result: str, *codes_: str) -> bytes:
    reply = Reply(result=result, errors=[Error(code=c, level="FATAL", reason=f"because {c}") for c in codes_])
    return soap.to_bytes(soap.envelope(m.to_element(m.reply_to(header("create", "MeterReadings"), reply))))


def fault(faultcode: str, code: str) -> bytes:
    detail = m.to_element(FaultMessage(Reply(result=codes.FAILED, errors=[Error(code=code, level="FATAL",
                                                                                reason="said so")])))
    return soap.to_bytes(soap.fault(faultcode, f"{code}: said so", detail))


@pytest.mark.parametrize("status, body, outcome, error_has", [
    (200, b"", DELIVERED, None),  # a healthy subscriber answering an empty 200
    (202, b"", DELIVERED, None),
    (204, b"", DELIVERED, None),
    (200, response(codes.OK), DELIVERED, None),
    (200, response(codes.FAILED, "2.5"), DELIVERED, "FAILED 2.5 because 2.5"),  # recorded, not retried
    (200, response(codes.FAILED, "5.1"), RETRY, "FAILED 5.1"),
    (200, response(codes.FAILED, "5.3"), RETRY, "FAILED 5.3"),
    (200, b"<not-soap/>", DELIVERED, "not a 61968 ResponseMessage"),
    (503, b"", RETRY, "busy (HTTP 503)"),
    (429, b"", RETRY, "busy (HTTP 429)"),
    (500, fault("soapenv:Server", "5.2"), RETRY, "5.2"),
    (500, fault("soapenv:Client", "1.8"), REFUSED, "1.8"),
    (500, fault("soapenv:Client", "5.1"), RETRY, "5.1"),
    (400, b"bad", REFUSED, "HTTP 400"),
    (415, b"", REFUSED, "HTTP 415"),
    (404, b"", RETRY, "HTTP 404"),
    (502, b"", RETRY, "HTTP 502"),
])
def test_what_an_answer_means(status, body, outcome, error_has):
    verdict = classify(status, {}, body)
    assert verdict.outcome == outcome and verdict.status == status
    if error_has is None:
        assert verdict.error is None
    else:
        assert error_has in verdict.error


def test_retry_after_in_seconds_or_as_a_date():
    assert classify(503, {"Retry-After": "7"}, b"").retry_after == 7.0
    later = (datetime.now(timezone.utc) + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 25 < parse_retry_after(later) <= 30
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_the_circuit_opens_after_failures_half_opens_and_closes_on_success():
    now = [0.0]
    breaker = CircuitBreaker(BreakerSettings(failures=3, open_seconds=2, max_open_seconds=5), lambda: now[0])
    assert not breaker.failed("x") and not breaker.failed("x") and breaker.allows()
    assert breaker.failed("x") and breaker.state == OPEN and not breaker.allows()
    now[0] = 2.0
    assert breaker.allows() and breaker.state == HALF_OPEN
    assert breaker.failed("again") and breaker.state == OPEN and breaker.seconds_until_probe() == 4  # doubled
    now[0] = 6.0
    assert breaker.allows() and breaker.succeeded() and breaker.state == CLOSED and breaker.failures == 0


def test_a_lane_lets_limit_in_flight_and_one_probe_when_half_open():
    from twisted.internet import defer

    now = [0.0]
    lane = Lane("http://r/", 2, CircuitBreaker(BreakerSettings(failures=1, open_seconds=1), lambda: now[0]))
    pending = [defer.Deferred() for _ in range(3)]
    for d in pending:
        lane.submit(lambda d=d: d)
    assert lane.in_flight == 2 and len(lane.waiting) == 1 and lane.room() == 0
    lane.breaker.failed("down")
    pending[0].callback(None)  # finishing one starts none: the circuit is open
    assert lane.in_flight == 1 and len(lane.waiting) == 1
    now[0] = 1.0  # half-open: one probe at a time
    pending[1].callback(None)
    assert lane.in_flight == 1 and not lane.waiting
    assert lane.try_now(lambda: defer.Deferred()) is None


def test_budgets_by_time_per_destination_prefix():
    policy = RetryPolicy(budget=86400, destination_budgets=(DestinationBudget("http://billing", 60),
                                                            DestinationBudget("http://billing:8080/slow", 7200)))
    assert policy.budget_for("http://oms/cb") == 86400
    assert policy.budget_for("http://billing:8080/cb") == 60
    assert policy.budget_for("http://billing:8080/slow/x") == 7200
    assert parse_duration("2h") == 7200 and parse_duration("90") == 90 and parse_duration("1d") == 86400
    assert parse_destination_budget("queue:billing=30m") == DestinationBudget("queue:billing", 1800)
    for bad in ("nothing", "=5", "http://x=-1", "http://x=soon"):
        with pytest.raises(ValueError):
            parse_destination_budget(bad)
    rng = random.Random(1)
    delays = [RetryPolicy(base_delay=1, max_delay=8).backoff(n, rng) for n in range(1, 30)]
    assert all(0 <= d <= 8 for d in delays) and max(delays) > 4  # capped, and jittered up to the cap


def test_outbox_replay_by_destination_and_all_from_the_cli(tmp_path):
    store = Store(f"sqlite:///{(tmp_path / 'soapbus.db').resolve()}")
    store.create_schema()
    ids = []
    with store.unit_of_work() as uow:
        for destination in ("http://a/cb", "http://a/cb", "http://b/cb"):
            ids.append(uow.outbox_add(destination=destination, soap_action="x", body=b"<x/>", sign=False,
                                      kind="reply", message_id=m.new_message_id(), correlation_id=None,
                                      noun="MeterReadings", verb="reply"))
    leased = store.outbox_lease("w", limit=10)
    assert len(leased) == 3
    now = datetime.now(timezone.utc)
    assert store.outbox_settle([Settlement(i, "w", "dead", now, 503, "gone", cause="expired") for i in ids]) == \
        [True] * 3

    def soapbus(*args):
        return subprocess.run([sys.executable, "-m", "soapbus", "outbox", *args, "--data", str(tmp_path)],
                              capture_output=True, text=True, timeout=60)

    listed = soapbus("dead")
    assert listed.stdout.count("expired") == 3 and "cause" in listed.stdout.splitlines()[0]
    assert "2 dead letter(s) queued again" in soapbus("replay", "--destination", "http://a/cb").stdout
    missing = soapbus("replay", "--destination", "http://nowhere/")
    assert missing.returncode != 0 and "no dead letter to http://nowhere/" in missing.stderr
    assert "1 dead letter(s) queued again" in soapbus("replay", "--all").stdout
    both = soapbus("replay", "1", "--all")
    assert both.returncode != 0 and "give one of" in both.stderr
    not_dead = soapbus("replay", str(ids[0]))
    assert not_dead.returncode != 0 and "it is pending" in not_dead.stderr
    item = store.outbox_get(ids[0])
    assert item.status == "pending" and item.attempts == 0 and item.retry_since is not None
    store.close()
