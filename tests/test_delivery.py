"""Delivery at scale over real HTTP: concurrent per destination, retries by time, re-drive.

Each test runs `soapbus serve` in a child process against loopback receivers (tests/receivers.py)
and prints the figure it measures (`-s` shows them).
"""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

from soapbus import message as m
from soapbus.bus import envelopes
from soapbus.store import Store

from .helpers import header, meter_readings, start_server, typed_envelope
from .receivers import HANG, Answer, Receiver, wait_until


def async_create(reply_address: str, mrid: str | None = None) -> tuple[str, bytes]:
    req = m.RequestMessage(header("create", "MeterReadings", async_reply_flag=True, reply_address=reply_address),
                           None, m.Payload(documents=[meter_readings(mrid or m.new_message_id())]))
    return req.header.message_id, typed_envelope("CreateMeterReadings", "MeterReadings", req)


def acknowledged(server, body: bytes) -> None:
    resp = server.post("ExecuteMeterReadings", body)
    assert resp.status_code == 200 and b"<m:code>0.3</m:code>" in resp.content, resp.content[-300:]


def subscribe(server, endpoint: str) -> None:
    req = urllib.request.Request(f"{server.url}/admin/subscriptions", method="POST", data=json.dumps(
        {"endpoint": endpoint, "noun": "MeterReadings", "verb": "created"}).encode())
    urllib.request.urlopen(req, timeout=10).read()


@pytest.mark.alone  # a bound on its time
def test_a_hanging_receiver_delays_a_healthy_one_by_under_a_second(tmp_path):
    hanging = Receiver(lambda path: HANG)
    healthy = Receiver()
    server = start_server(tmp_path, extra_args=["--delivery-timeout", "60"])
    try:
        for _ in range(3):  # three replies owed to a receiver that never answers, in flight first
            acknowledged(server, async_create(f"{hanging.url}/cb")[1])
        wait_until(lambda: hanging.count() == 3, 10, "the three replies in flight to the hanging receiver")
        message_id, body = async_create(f"{healthy.url}/cb")
        sent = time.monotonic()
        acknowledged(server, body)
        wait_until(lambda: healthy.count() == 1, 10, "the healthy receiver's reply")
        delay = healthy.arrivals[0].at - sent
        print(f"\nhead-of-line: healthy receiver's reply {delay * 1000:.0f} ms after its request "
              f"(3 replies hanging elsewhere)")
        assert healthy.arrivals[0].correlation_id == message_id
        assert delay < 1.0
        assert hanging.count() == 3  # the hanging ones are still in flight, not re-sent meanwhile
    finally:
        server.stop()
        hanging.close()
        healthy.close()


@pytest.mark.alone  # a bound on its time
def test_one_event_reaches_100_subscribers_within_a_second_each_once(tmp_path):
    subscribers = Receiver(lambda path: Answer(empty=True))  # a healthy subscriber answering 200, no body
    server = start_server(tmp_path)
    try:
        for i in range(100):
            subscribe(server, f"{subscribers.url}/sub/{i}")
        sent = time.monotonic()
        acknowledged(server, async_create(f"{subscribers.url}/replies")[1])
        wait_until(lambda: subscribers.count() >= 101, 10, "the event at all 100 subscribers")
        last = max(a.at for a in subscribers.arrivals if a.path.startswith("/sub/"))
        fan_out = last - sent
        time.sleep(2)  # time enough for any repeat to show
        per_path = {f"/sub/{i}": subscribers.count(f"/sub/{i}") for i in range(100)}
        print(f"\nfan-out: one event at 100 subscribers {fan_out * 1000:.0f} ms after the request; "
              f"deliveries per subscriber: {set(per_path.values())}")
        assert set(per_path.values()) == {1}, {p: n for p, n in per_path.items() if n != 1}
        assert fan_out < 1.0
        store = Store(server.database_url)
        try:
            wait_until(lambda: store.outbox_counts()["delivered"] == 101, 10, "every delivery recorded")
        finally:
            store.close()
    finally:
        server.stop()
        subscribers.close()


def seed_replies(database_url: str, reply_address: str, count: int) -> None:
    """A backlog written straight into the outbox, as a burst of asynchronous requests would leave it."""
    store = Store(database_url)
    try:
        store.create_schema()
        with store.unit_of_work() as uow:
            for _ in range(count):
                answer = m.reply_to(header("create", "MeterReadings"), m.ok(), source="soapbus")
                outbound = envelopes.reply(answer)
                uow.outbox_add(destination=reply_address, soap_action=outbound.soap_action, body=outbound.body,
                               sign=False, kind="reply", message_id=answer.header.message_id,
                               correlation_id=answer.header.correlation_id, noun="MeterReadings", verb="reply",
                               sequence_key=f"{reply_address}|{answer.header.correlation_id}")
    finally:
        store.close()


@pytest.mark.alone  # a bound on its time
def test_deliveries_per_second_to_a_receiver_taking_45_ms(tmp_path):
    receiver = Receiver(lambda path: Answer(delay=0.045))
    count = 300
    seed_replies(f"sqlite:///{(tmp_path / 'soapbus.db').resolve()}", f"{receiver.url}/cb", count)
    server = start_server(tmp_path)
    try:
        wait_until(lambda: len(receiver.distinct()) == count, 30, "every reply delivered")
        arrivals = sorted(a.at for a in receiver.arrivals)
        rate = (count - 1) / (arrivals[-1] - arrivals[0])
        print(f"\nthroughput: {rate:.0f} deliveries/s to one receiver taking 45 ms "
              f"({count} replies queued, 8 in flight at most)")
        assert not receiver.repeats()
        assert rate > 60  # 22/s when one worker sent one message at a time
    finally:
        server.stop()
        receiver.close()


def test_retries_run_on_time_not_count_and_a_receiver_back_gets_its_dead_letters(tmp_path):
    absent = Receiver()
    port = absent.port
    absent.close()  # nobody listens on this port for now
    server = start_server(tmp_path, extra_args=["--delivery-budget", "2", "--delivery-base-delay", "0.05",
                                                "--delivery-max-delay", "0.2", "--dead-letter-probe", "1"])
    store = Store(server.database_url)
    receiver = None
    try:
        ids = [async_create(f"http://127.0.0.1:{port}/cb") for _ in range(3)]
        started = time.monotonic()
        for _, body in ids:
            acknowledged(server, body)
        wait_until(lambda: store.outbox_counts()["dead"] == 3, 20, "three dead letters")
        spent = time.monotonic() - started
        dead = store.dead_letters()
        assert all(d.dead_cause == "expired" and "retry budget of 2 s spent" in d.last_error for d in dead)
        assert spent >= 2.0  # the budget, not a number of attempts, decided
        receiver = Receiver(port=port)  # the receiver is back: a probe gets through, the rest follow
        took = wait_until(lambda: len(receiver.distinct()) == 3, 15, "the dead letters re-driven")
        print(f"\nre-drive: 3 dead letters delivered {took:.1f} s after their receiver came back")
        assert {a.correlation_id for a in receiver.arrivals} == {mid for mid, _ in ids}
        wait_until(lambda: store.outbox_counts()["delivered"] == 3, 10, "the re-driven deliveries recorded")
        assert store.outbox_counts()["dead"] == 0
    finally:
        store.close()
        server.stop()
        if receiver is not None:
            receiver.close()


def test_a_soap_failed_answer_is_delivered_and_recorded_5_x_is_retried(tmp_path):
    failed_once = []

    def behaviour(path):
        if path == "/busy" and not failed_once:
            failed_once.append(True)
            return Answer(status=503, headers=(("Retry-After", "0"),))
        return Answer()

    receiver = Receiver(behaviour)
    server = start_server(tmp_path)
    store = Store(server.database_url)
    try:
        acknowledged(server, async_create(f"{receiver.url}/busy")[1])
        wait_until(lambda: store.outbox_counts()["delivered"] == 1, 10, "delivery after a 503")
        item = store.outbox_get(1)
        assert receiver.count("/busy") == 2 and item.attempts == 1 and item.last_status == 200
    finally:
        store.close()
        server.stop()
        receiver.close()
