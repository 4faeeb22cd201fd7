"""RabbitMQ as the transport: events on the topic exchange, replies to queue:NAME, a dropped connection.

Runs against the machine's RabbitMQ (SOAPBUS_TEST_AMQP_URL, default amqp://guest:guest@127.0.0.1:5672/);
skipped without it on a laptop, a failure under CI. The server reaches the broker through a TCP
proxy the test can cut, so a dropped broker connection is real without stopping the shared broker.
"""
from __future__ import annotations

import os
import time
import uuid

import pytest

from soapbus import message as m
from soapbus.message import soap
from soapbus.store import Store

from .conftest import skip_or_fail
from .helpers import header, meter_readings, start_server, typed_envelope
from .receivers import wait_until
from .tcp_proxy import TcpProxy

AMQP_URL = os.environ.get("SOAPBUS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


class Consumer:
    """A test-side queue (exclusive, auto-deleted) bound to an exchange, read with basic_get."""

    def __init__(self, exchange: str | None = None, binding: str = "#", queue: str | None = None):
        try:
            import pika
        except ImportError:
            skip_or_fail("the RabbitMQ client pika is not installed (pip install -c constraints.txt pika)")
        try:
            self.connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        except Exception as exc:  # noqa: BLE001 - any failure to reach it means the same to the test
            skip_or_fail(f"RabbitMQ not reachable at {AMQP_URL} ({type(exc).__name__}); start rabbitmq-server "
                         "or set SOAPBUS_TEST_AMQP_URL")
        self.channel = self.connection.channel()
        if queue is None:
            self.queue = self.channel.queue_declare(queue="", exclusive=True).method.queue
        else:
            self.queue = queue
            self.channel.queue_declare(queue=queue, durable=True)
            self.channel.queue_purge(queue)
        if exchange is not None:
            self.channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
            self.channel.queue_bind(queue=self.queue, exchange=exchange, routing_key=binding)
        self.messages: list = []

    def drain(self) -> list:
        while True:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return self.messages
            self.messages.append((method.routing_key, properties, body))

    def close(self, delete: bool = False) -> None:
        if delete:
            self.channel.queue_delete(self.queue)
        self.connection.close()


def broker_via(proxy: TcpProxy) -> str:
    host, port = proxy.address
    return f"amqp://guest:guest@{host}:{port}/%2F"


def create(mrid: str, **kw) -> tuple[str, bytes]:
    req = m.RequestMessage(header("create", "MeterReadings", **kw), None, m.Payload(documents=[meter_readings(mrid)]))
    return req.header.message_id, typed_envelope("CreateMeterReadings", "MeterReadings", req)


@pytest.fixture()
def proxy():
    proxy = TcpProxy("127.0.0.1", 5672)
    yield proxy
    proxy.close()


def test_events_reach_the_topic_exchange_once_each_with_noun_verb_keys(tmp_path, proxy):
    events = Consumer("soapbus.events", "MeterReadings.created")
    other = Consumer("soapbus.events", "EndDeviceControls.*")  # a binding for another noun gets nothing
    server = start_server(tmp_path, extra_args=["--broker", broker_via(proxy)])
    try:
        sent = [create(m.new_message_id()) for _ in range(5)]
        for _, body in sent:
            assert server.post("ExecuteMeterReadings", body).status_code == 200
        wait_until(lambda: len(events.drain()) >= 5, 15, "five events on soapbus.events")
        time.sleep(1)
        got = events.drain()
        assert [key for key, _, _ in got] == ["MeterReadings.created"] * 5
        assert {props.correlation_id for _, props, _ in got} == {mid for mid, _ in sent}
        assert len({props.message_id for _, props, _ in got}) == 5
        first = m.parse(soap.unwrap(got[0][2]).message)
        assert isinstance(first, m.EventMessage) and first.header.verb == "created"
        assert got[0][1].delivery_mode == 2 and got[0][1].headers["noun"] == "MeterReadings"
        assert other.drain() == []
        store = Store(server.database_url)
        try:
            wait_until(lambda: store.outbox_counts()["pending"] == 0, 10, "the relay's rows marked sent")
            assert store.outbox_counts()["delivered"] == 5
        finally:
            store.close()
    finally:
        server.stop()
        events.close()
        other.close()


def test_an_async_reply_to_queue_name_goes_to_that_queue(tmp_path, proxy):
    name = f"soapbus-test-replies-{uuid.uuid4().hex[:8]}"
    replies = Consumer(queue=name)
    server = start_server(tmp_path, extra_args=["--broker", broker_via(proxy)])
    try:
        message_id, body = create(m.new_message_id(), async_reply_flag=True, reply_address=f"queue:{name}")
        ack = server.post("ExecuteMeterReadings", body)
        assert b"<m:code>0.3</m:code>" in ack.content
        wait_until(lambda: len(replies.drain()) == 1, 15, "the reply in the queue")
        _, props, raw = replies.messages[0]
        reply = m.parse(soap.unwrap(raw).message)
        assert isinstance(reply, m.ResponseMessage) and reply.header.correlation_id == message_id
        assert props.correlation_id == message_id and props.type == "reply"
    finally:
        server.stop()
        replies.close(delete=True)


def test_a_dropped_broker_connection_loses_nothing(tmp_path, proxy):
    events = Consumer("soapbus.events", "MeterReadings.created")
    server = start_server(tmp_path, extra_args=["--broker", broker_via(proxy), "--delivery-base-delay", "0.1",
                                                "--delivery-max-delay", "1"])
    store = Store(server.database_url)
    try:
        before = [create(m.new_message_id()) for _ in range(5)]
        for _, body in before:
            server.post("ExecuteMeterReadings", body)
        wait_until(lambda: len(events.drain()) >= 5, 15, "the first events")
        proxy.cut()  # the broker connection drops; new ones are refused
        during = [create(m.new_message_id()) for _ in range(20)]
        for _, body in during:
            assert server.post("ExecuteMeterReadings", body).status_code == 200
        time.sleep(1.5)
        assert store.outbox_counts()["pending"] == 20  # kept, not marked sent, not lost
        proxy.restore()
        wait_until(lambda: len(events.drain()) >= 25, 30, "every event relayed after the broker came back")
        time.sleep(1)
        got = events.drain()
        correlations = [props.correlation_id for _, props, _ in got]
        assert set(correlations) == {mid for mid, _ in before + during}
        assert len(correlations) == len(set(correlations)) == 25  # none published twice
        wait_until(lambda: store.outbox_counts()["pending"] == 0, 10, "every row marked sent")
    finally:
        store.close()
        server.stop()
        events.close()
