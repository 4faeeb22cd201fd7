"""The 61968 exchange patterns over real HTTP, with real subscriber and callback servers on loopback."""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from soapbus import message as m
from soapbus.client import CallbackListener, Client
from soapbus.message import soap
from soapbus.store import Store

from .helpers import MR_NS, header, meter_readings, response_message, start_server, typed_envelope


def wait_for(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("patterns"), extra_args=["--page-size", "3", "--max-items", "50"])
    yield proc
    proc.stop()


@pytest.fixture
def listener():
    with CallbackListener() as lst:
        yield lst


def subscribe(server, endpoint, **filters):
    body = json.dumps({"endpoint": endpoint, **filters}).encode()
    req = urllib.request.Request(f"{server.url}/admin/subscriptions", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201
        return json.loads(resp.read())


def unsubscribe(server, sub_id):
    req = urllib.request.Request(f"{server.url}/admin/subscriptions/{sub_id}", method="DELETE")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 204


def test_transaction_publishes_its_past_tense_event_to_subscribers(server, listener):
    sub = subscribe(server, listener.url, noun="MeterReadings", verb="created")
    try:
        client = Client(f"{server.url}/soap/ExecuteMeterReadings", source="MDMS")
        mrid = m.new_message_id()
        created = client.create("MeterReadings", meter_readings(mrid), correlation_id="conv-evt")
        wait_for(lambda: any(e.header.correlation_id == "conv-evt" for e in listener.events), what="created event")
        event = next(e for e in listener.events if e.header.correlation_id == "conv-evt")
        assert event.header.verb == "created" and event.header.noun == "MeterReadings"
        assert [el.text for el in event.payload.documents[0].iter(f"{{{MR_NS}}}mRID")] == [mrid]
        assert created.correlation_id == "conv-evt"
        # a change is not a 'created': this subscriber gets nothing for it
        before = len(listener.events)
        client.change("MeterReadings", meter_readings(mrid, value="1.0"))
        time.sleep(1.0)
        assert len(listener.events) == before
    finally:
        unsubscribe(server, sub["id"])


def test_events_published_to_us_are_fanned_out(server, listener):
    sub = subscribe(server, listener.url, noun="MeterReadings")
    try:
        client = Client(f"{server.url}/soap/ReceiveMeterReadings", source="HES")
        mrid = m.new_message_id()
        client.publish("created", "MeterReadings", meter_readings(mrid), correlation_id="from-hes")
        wait_for(lambda: any(e.header.correlation_id == "from-hes" for e in listener.events), what="fanned-out event")
    finally:
        unsubscribe(server, sub["id"])


def test_typed_subscriber_gets_receive_noun_operations(server):
    """A second soapbus acts as the subscriber, through its typed ReceiveMeterReadings service."""
    import tempfile
    from pathlib import Path

    other = start_server(Path(tempfile.mkdtemp(prefix="subscriber-")))
    try:
        sub = subscribe(server, f"{other.url}/soap/ReceiveMeterReadings", noun="MeterReadings", verb="created",
                        style="typed")
        mrid = m.new_message_id()
        Client(f"{server.url}/soap/ExecuteMeterReadings", source="MDMS").create("MeterReadings", meter_readings(mrid))
        mirror = Client(f"{other.url}/soap/GetMeterReadings", raise_on_failed=False)
        wait_for(lambda: mirror.get("MeterReadings", mrid).result == "OK", what="event mirrored at the subscriber")
        unsubscribe(server, sub["id"])
    finally:
        other.stop()


def test_async_get_answers_0_3_then_partial_pages_then_ok(server, listener):
    client = Client(f"{server.url}/soap/ExecuteMeterReadings", f"{server.url}/soap/GetMeterReadings", source="MDMS")
    mrids = [m.new_message_id() for _ in range(7)]
    client.create("MeterReadings", meter_readings(*mrids))
    future = client.get_async("MeterReadings", *mrids, listener=listener)
    answer = future.result(timeout=20)
    assert [r.reply.result for r in answer.replies] == ["PARTIAL", "PARTIAL", "OK"]  # page size 3
    assert [r.reply.errors[0].code for r in answer.replies] == ["0.1", "0.1", "0.2"]
    got = [el.text for doc in answer.payload for el in doc.iter(f"{{{MR_NS}}}mRID")]
    assert sorted(got) == sorted(mrids)


def test_async_acknowledgement_is_0_3(server, listener):
    req = m.RequestMessage(header("create", "MeterReadings", async_reply_flag=True, reply_address=listener.url),
                           None, m.Payload(documents=[meter_readings(m.new_message_id())]))
    future = listener.expect(req.header.message_id)
    ack = response_message(server.post("ExecuteMeterReadings",
                                       typed_envelope("CreateMeterReadings", "MeterReadings", req)))
    assert ack.reply.result == "OK" and ack.reply.errors[0].code == "0.3"
    final = future.result(timeout=20)
    assert final.result == "OK" and final.replies[0].header.correlation_id == req.header.message_id


def test_async_failure_arrives_as_failed(server, listener):
    client = Client(f"{server.url}/soap/GetMeterReadings", source="MDMS")
    answer = client.get_async("MeterReadings", "no-such-reading", listener=listener).result(timeout=20)
    assert answer.result == "FAILED" and answer.errors[0].code == "2.4"


def test_get_matching_too_many_answers_3_1(server):
    client = Client(f"{server.url}/soap/ExecuteMeterReadings", f"{server.url}/soap/GetMeterReadings",
                    raise_on_failed=False)
    client.create("MeterReadings", meter_readings(*[m.new_message_id() for _ in range(51)]))
    result = client.get("MeterReadings")  # everything: more than --max-items 50
    assert result.result == "FAILED" and result.errors[0].code == "3.1"


def test_fire_and_forget_is_one_way_journaled_and_idempotent(server):
    mrid = m.new_message_id()
    req = m.RequestMessage(header("create", "MeterReadings", ack_required=False), None,
                           m.Payload(documents=[meter_readings(mrid)]))
    body = typed_envelope("CreateMeterReadings", "MeterReadings", req)
    first = server.post("ExecuteMeterReadings", body)
    second = server.post("ExecuteMeterReadings", body)
    assert (first.status_code, first.content) == (202, b"")
    assert (second.status_code, second.content) == (202, b"")
    store = Store(server.database_url)
    try:
        outcomes = sorted(e.outcome for e in store.journal_by_message_id(req.header.message_id))
        assert outcomes == ["duplicate", "processed"]
        with store.unit_of_work() as uow:
            assert uow.object_get("MeterReadings", mrid) is not None
    finally:
        store.close()


class FlakyReceiver:
    """A receiver that answers 'busy' a given number of times (5.1, or 503 with Retry-After)."""

    def __init__(self, busy_times: int, how: str):
        self.busy_left = busy_times
        self.how = how
        self.arrivals: list[float] = []
        self.accepted: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.arrivals.append(time.monotonic())
                msg = m.parse(soap.unwrap(body).message)
                if receiver.busy_left > 0:
                    receiver.busy_left -= 1
                    if receiver.how == "503":
                        self.send_response(503)
                        self.send_header("Retry-After", "1")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    answer = m.reply_to(msg.header, m.failed("5.1", "busy, try later"))
                else:
                    receiver.accepted.append(body)
                    answer = m.reply_to(msg.header, m.ok())
                data = soap.to_bytes(soap.envelope(m.to_element(answer)))
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/callback"

    def close(self):
        self.httpd.shutdown()


@pytest.mark.parametrize("how", ["5.1", "503"])
def test_busy_receiver_is_retried(server, how):
    receiver = FlakyReceiver(busy_times=2, how=how)
    try:
        req = m.RequestMessage(header("create", "MeterReadings", async_reply_flag=True, reply_address=receiver.url),
                               None, m.Payload(documents=[meter_readings(m.new_message_id())]))
        server.post("ExecuteMeterReadings", typed_envelope("CreateMeterReadings", "MeterReadings", req))
        wait_for(lambda: receiver.accepted, timeout=30, what="delivery after busy answers")
        assert len(receiver.arrivals) == 3
        if how == "503":  # Retry-After: 1 was honoured
            assert receiver.arrivals[1] - receiver.arrivals[0] >= 0.9
    finally:
        receiver.close()


def test_unreachable_receiver_ends_as_a_dead_letter_that_can_be_replayed(tmp_path):
    proc = start_server(tmp_path / "dead", extra_args=["--delivery-budget", "1", "--delivery-base-delay", "0.05"])
    try:
        dead_end = "http://127.0.0.1:9/nobody-listens"
        req = m.RequestMessage(header("create", "MeterReadings", async_reply_flag=True, reply_address=dead_end),
                               None, m.Payload(documents=[meter_readings(m.new_message_id())]))
        proc.post("ExecuteMeterReadings", typed_envelope("CreateMeterReadings", "MeterReadings", req))
        store = Store(proc.database_url)
        try:
            wait_for(lambda: store.outbox_counts()["dead"] == 1, what="dead letter")
            dead = store.dead_letters()[0]
            assert dead.attempts >= 2 and dead.destination == dead_end
            assert "retry budget of 1 s spent" in dead.last_error and "cannot reach" in dead.last_error
            # replay puts it back in the queue; the address is still unreachable, so it dies again
            assert store.dead_letter_replay(dead.id)
            wait_for(lambda: store.outbox_counts()["pending"] == 0 and store.outbox_counts()["dead"] == 1,
                     what="dead again after replay")
            assert store.outbox_get(dead.id).attempts >= 2 and store.outbox_get(dead.id).dead_cause == "expired"
            assert store.dead_letter_purge(dead.id) == 1
            assert store.outbox_counts()["dead"] == 0
        finally:
            store.close()
    finally:
        proc.stop()


def test_admin_api_refuses_bad_input(server):
    for body, status in ((b"not json", 400), (b'{"endpoint": "ftp://x"}', 400),
                         (b'{"endpoint": "http://x", "colour": "red"}', 400)):
        resp = requests.post(f"{server.url}/admin/subscriptions", data=body, timeout=10)
        assert resp.status_code == status and "error" in resp.json()


def _reading_of_meter(mrid: str, meter: str):
    from lxml import etree

    doc = meter_readings(mrid)
    item = doc[0]
    meter_el = etree.Element(f"{{{MR_NS}}}Meter")
    etree.SubElement(meter_el, f"{{{MR_NS}}}mRID").text = meter
    item.insert(1, meter_el)  # after mRID, before Readings, as the profile orders them
    return doc


def test_get_query_element_finds_the_readings_of_a_meter_and_overrides_simple_filters(server):
    from lxml import etree

    client = Client(f"{server.url}/soap/ExecuteMeterReadings", f"{server.url}/soap/GetMeterReadings", source="MDMS")
    meter = f"METER-{m.new_message_id()[:8]}"
    mine = [m.new_message_id() for _ in range(2)]
    client.create("MeterReadings", _reading_of_meter(mine[0], meter))
    client.create("MeterReadings", _reading_of_meter(mine[1], meter))
    client.create("MeterReadings", _reading_of_meter(m.new_message_id(), "SOME-OTHER-METER"))
    query_ns = "http://iec.ch/TC57/2011/GetMeterReadings#"
    query = etree.Element(f"{{{query_ns}}}GetMeterReadings", nsmap={None: query_ns})
    etree.SubElement(etree.SubElement(query, f"{{{query_ns}}}EndDevice"), f"{{{query_ns}}}mRID").text = meter
    # the Request/ID below names another object: the query overrides it
    result = client.get("MeterReadings", "ignored-because-of-the-query", query=query)
    got = sorted(el.text for doc in result.payload for el in doc.iter(f"{{{MR_NS}}}mRID")
                 if el.getparent().tag == f"{{{MR_NS}}}MeterReading")
    assert got == sorted(mine)


def test_page_size_option(server, listener):
    client = Client(f"{server.url}/soap/ExecuteMeterReadings", f"{server.url}/soap/GetMeterReadings", source="MDMS")
    mrids = [m.new_message_id() for _ in range(4)]
    client.create("MeterReadings", meter_readings(*mrids))
    answer = client.get_async("MeterReadings", *mrids, listener=listener, options={"pageSize": "2"}).result(timeout=20)
    assert [r.reply.result for r in answer.replies] == ["PARTIAL", "OK"]
