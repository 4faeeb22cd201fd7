"""N nodes on one PostgreSQL and one RabbitMQ: a node killed and the broker connection dropped mid-run.

Two and three `soapbus serve` processes share a PostgreSQL schema and a RabbitMQ (through a TCP
proxy the test cuts for two seconds). Senders spread asynchronous creates over the live nodes,
every tenth sent again to another node at once (a duplicate race across nodes). A third of the
way in, one node is killed with SIGKILL and not restarted: the others take over what it held
when its leases lapse. Two thirds of the way in, the broker connection drops. At the end nothing
is lost (every reply at its ReplyAddress, every event on the topic exchange soapbus.events) and
nothing acted twice (one distinct reply and one distinct event per request, every object once at
version 1). Re-sent copies of one MessageID (at-least-once delivery) are counted and printed.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
from collections import defaultdict

import pytest
import requests

from soapbus import message as m
from soapbus.store import Store

from .conftest import skip_or_fail
from .helpers import header, meter_readings, start_server, typed_envelope
from .tcp_proxy import TcpProxy
from .test_broker import Consumer, broker_via
from .test_crash import CrashReceiver

REQUESTS = 150


def pg_schema_url(name: str) -> tuple[str, Store]:
    base = os.environ.get("SOAPBUS_TEST_PG_URL")
    if not base:
        skip_or_fail("set SOAPBUS_TEST_PG_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) "
                     "to run the multi-node tests on PostgreSQL")
    schema = f"soapbus_{name}_{os.getpid()}"
    admin = Store(base)
    with admin.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", admin


class Senders:
    def __init__(self, bodies, nodes):
        self.queue = list(reversed(bodies))
        self.nodes = nodes  # the live ones; the test removes a killed node
        self.acked: set[str] = set()
        self.lock = threading.Lock()
        self.turn = itertools.count()
        self.duplicates = {mid for i, (mid, _) in enumerate(bodies) if i % 10 == 0}

    def node(self):
        with self.lock:
            return self.nodes[next(self.turn) % len(self.nodes)]

    def run(self) -> None:
        session = requests.Session()
        while True:
            with self.lock:
                if not self.queue:
                    return
                mid, body = self.queue.pop()
            if self.post(session, self.node(), body):
                with self.lock:
                    self.acked.add(mid)
                if mid in self.duplicates:
                    self.post(session, self.node(), body)  # the same message at (likely) another node
            else:
                with self.lock:
                    self.queue.insert(0, (mid, body))
                time.sleep(0.05)

    @staticmethod
    def post(session, node, body) -> bool:
        try:
            resp = session.post(f"{node.url}/soap/ExecuteMeterReadings", data=body,
                                headers={"Content-Type": "text/xml"}, timeout=30)
        except requests.RequestException:
            return False
        return resp.status_code == 200 and b"<m:code>0.3</m:code>" in resp.content


@pytest.mark.parametrize("node_count", [2, 3])
def test_nodes_killed_and_broker_dropped_lose_nothing_and_act_once(tmp_path, node_count):
    url, admin = pg_schema_url(f"nodes{node_count}")
    events = Consumer("soapbus.events", "MeterReadings.created")
    proxy = TcpProxy("127.0.0.1", 5672)
    receiver = CrashReceiver()
    nodes = []
    try:
        args = ["--broker", broker_via(proxy), "--delivery-lease", "3", "--delivery-base-delay", "0.05",
                "--delivery-max-delay", "1"]
        nodes = [start_server(tmp_path / f"node{i}", url, args) for i in range(node_count)]
        bodies = []
        for i in range(REQUESTS):
            req = m.RequestMessage(header("create", "MeterReadings", async_reply_flag=True, reply_address=receiver.url),
                                   None, m.Payload(documents=[meter_readings(f"node-{i}")]))
            bodies.append((req.header.message_id, typed_envelope("CreateMeterReadings", "MeterReadings", req)))
        senders = Senders(bodies, list(nodes))
        threads = [threading.Thread(target=senders.run) for _ in range(4)]
        for t in threads:
            t.start()
        wait(lambda: len(senders.acked) >= REQUESTS // 3, 60, "a third acknowledged")
        victim = nodes[1]
        with senders.lock:
            senders.nodes.remove(victim)
        victim.process.kill()  # SIGKILL: its requests, leases and broker publishes in flight
        victim.process.wait()
        wait(lambda: len(senders.acked) >= 2 * REQUESTS // 3, 60, "two thirds acknowledged")
        proxy.cut()  # every node's broker connection drops
        time.sleep(2)
        proxy.restore()
        for t in threads:
            t.join(90)
        assert len(senders.acked) == REQUESTS

        ids = {mid for mid, _ in bodies}
        store = Store(url)
        try:
            wait(lambda: ids <= set(receiver.replies) and store.outbox_counts()["pending"] == 0
                 and ids <= {props.correlation_id for _, props, _ in events.drain()}, 60,
                 "every reply and event delivered and recorded")
            with store.unit_of_work() as uow:
                objects = uow.object_list("MeterReadings")
            counts = store.outbox_counts()
        finally:
            store.close()
        by_request = defaultdict(set)
        for _, props, _ in events.messages:
            by_request[props.correlation_id].add(props.message_id)
        with receiver.lock:
            replies = dict(receiver.replies)
            resent = sum(len(lives) - 1 for lives in receiver.lives.values())
        lost = len(ids - set(replies)) + len(ids - set(by_request))
        acted_twice = sum(1 for mids in list(replies.values()) + list(by_request.values()) if len(mids) != 1)
        broker_copies = len(events.messages) - sum(len(mids) for mids in by_request.values())
        print(f"\n{node_count} nodes, one killed, broker dropped 2 s: {REQUESTS} requests, lost {lost}, "
              f"acted twice {acted_twice}; copies re-sent by at-least-once delivery: {resent} over HTTP, "
              f"{broker_copies} on the broker; outbox {counts}")
        assert lost == 0 and acted_twice == 0
        assert sorted(o.key for o in objects) == sorted(f"node-{i}" for i in range(REQUESTS))
        assert {o.version for o in objects} == {1}
        assert counts["dead"] == 0
    finally:
        for node in nodes:
            if node.process.poll() is None:
                node.stop()
        receiver.close()
        proxy.close()
        events.close()
        schema = url.rsplit("%3D", 1)[1]
        with admin.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.mark.alone  # a lease of 2 s renewed in time while the receiver takes 3 s
def test_two_nodes_send_each_reply_once_to_a_slow_receiver(tmp_path):
    """Leases shorter than the receiver's answer: renewed while in flight, so the other node keeps off."""
    from .receivers import Answer, Receiver, wait_until

    url, admin = pg_schema_url("slow")
    receiver = Receiver(lambda path: Answer(delay=3.0))
    nodes = []
    try:
        args = ["--delivery-lease", "2", "--delivery-timeout", "30"]
        nodes = [start_server(tmp_path / f"node{i}", url, args) for i in range(2)]
        for i in range(8):
            req = m.RequestMessage(header("create", "MeterReadings", async_reply_flag=True,
                                          reply_address=f"{receiver.url}/cb"),
                                   None, m.Payload(documents=[meter_readings(f"slow-{i}")]))
            assert b"0.3" in nodes[i % 2].post("ExecuteMeterReadings",
                                               typed_envelope("CreateMeterReadings", "MeterReadings", req)).content
        wait_until(lambda: len(receiver.distinct()) == 8, 20, "eight replies")
        store = Store(url)
        try:
            wait_until(lambda: store.outbox_counts()["delivered"] == 8, 20, "eight deliveries recorded")
        finally:
            store.close()
        print(f"\ntwo nodes, 2 s leases, a receiver taking 3 s: {receiver.count()} deliveries of 8 replies")
        assert not receiver.repeats() and receiver.count() == 8
    finally:
        for node in nodes:
            node.stop()
        receiver.close()
        schema = url.rsplit("%3D", 1)[1]
        with admin.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()
