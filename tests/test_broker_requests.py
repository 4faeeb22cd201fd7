"""The shared request queue of --broker: nodes take 61968 requests from RabbitMQ and answer to reply_to.

Runs against the machine's RabbitMQ (SOAPBUS_TEST_AMQP_URL) and, for the multi-node tests,
PostgreSQL (SOAPBUS_TEST_PG_URL); skipped without them on a laptop, a failure under CI. Each test
uses a queue and an exchange of its own, deleted afterwards. The requester is a plain pika client:
it publishes SOAP envelopes with message_id, correlation_id and reply_to, and reads the answers from
an exclusive queue of its own.
"""
from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest

from soapbus import message as m
from soapbus.message import soap
from soapbus.security import SigningKey, pki, sign_envelope
from soapbus.server.broker_requests import RETRY_AFTER
from soapbus.store import Store

from .conftest import skip_or_fail
from .helpers import header, meter_readings, start_server, typed_envelope
from .test_broker import AMQP_URL
from .test_db_outage import pg  # noqa: F401 - the fixture: PostgreSQL behind a proxy the test cuts
from .test_multinode import pg_schema_url, wait
from .test_server_security import create_controls

REQUESTS = 200


class Requester:
    """A test-side AMQP client: publishes requests with reply_to, collects the answers by correlation id."""

    def __init__(self, queue: str, exchange: str, arguments: dict | None = None):
        try:
            import pika
        except ImportError:
            skip_or_fail("the RabbitMQ client pika is not installed (pip install -c constraints.txt pika)")
        self.pika = pika
        try:
            self.connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        except Exception as exc:  # noqa: BLE001 - any failure to reach it means the same to the test
            skip_or_fail(f"RabbitMQ not reachable at {AMQP_URL} ({type(exc).__name__}); start rabbitmq-server "
                         "or set SOAPBUS_TEST_AMQP_URL")
        self.channel = self.connection.channel()
        self.queue, self.exchange = queue, exchange
        # Declared first, as an operator would (with `arguments`: the nodes take the queue as it is).
        self.channel.queue_declare(queue=queue, durable=True, arguments=arguments)
        self.replies = self.channel.queue_declare(queue="", exclusive=True).method.queue
        self.answers: dict[str, list] = {}  # correlation id -> [(properties, body)] in arrival order
        self.channel.basic_consume(self.replies, self._answered, auto_ack=True)

    def _answered(self, _channel, _method, properties, body) -> None:
        self.answers.setdefault(properties.correlation_id, []).append((properties, body))

    def send(self, body: bytes, correlation_id: str | None = None, message_id: str | None = None,
             reply: bool = True, routing_key: str | None = None) -> None:
        properties = self.pika.BasicProperties(message_id=message_id, correlation_id=correlation_id,
                                               reply_to=self.replies if reply else None, delivery_mode=2)
        exchange = self.exchange if routing_key else ""
        self.channel.basic_publish(exchange, routing_key or self.queue, body, properties)

    def pump(self, seconds: float = 0.05) -> None:
        self.connection.process_data_events(time_limit=seconds)

    def wait_for(self, correlation_ids, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not set(correlation_ids) <= set(self.answers):
            if time.monotonic() > deadline:
                missing = len(set(correlation_ids) - set(self.answers))
                raise AssertionError(f"timed out after {timeout} s waiting for {what}: {missing} not answered")
            self.pump()

    def consumers(self) -> int:
        return self.channel.queue_declare(queue=self.queue, durable=True, passive=True).method.consumer_count

    def waiting(self) -> int:
        """Messages in the queue not yet delivered to a consumer."""
        return self.channel.queue_declare(queue=self.queue, durable=True, passive=True).method.message_count

    def wait_consumers(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while self.consumers() < count:
            assert time.monotonic() < deadline, f"{count} node(s) never consumed {self.queue}"
            self.pump(0.1)

    def close(self) -> None:
        self.channel.queue_delete(self.queue)
        self.channel.exchange_delete(self.exchange)
        self.connection.close()


def creates(prefix: str, count: int, key: SigningKey | None = None) -> list[tuple[str, bytes]]:
    """(MessageID, envelope) of `count` CreateMeterReadings, one object each; signed with `key` if given."""
    out = []
    for i in range(count):
        req = m.RequestMessage(header("create", "MeterReadings"), None,
                               m.Payload(documents=[meter_readings(f"{prefix}-{i}")]))
        body = typed_envelope("CreateMeterReadings", "MeterReadings", req)
        if key is not None:
            body = soap.to_bytes(sign_envelope(m.parse_bytes(body), key))
        out.append((req.header.message_id, body))
    return out


def send_all(requester: Requester, requests) -> float:
    """Publish every request (correlation id = MessageID) and wait for every answer; requests per second."""
    started = time.monotonic()
    for message_id, body in requests:
        requester.send(body, correlation_id=message_id, message_id=message_id)
    requester.wait_for([mid for mid, _ in requests], 60, f"{len(requests)} answers")
    return len(requests) / (time.monotonic() - started)


def answer_of(properties_and_body):
    _, body = properties_and_body
    return m.parse(soap.unwrap(body).message)


def journal_in(url: str) -> list[tuple[str, str, str]]:
    """(MessageID, peer, outcome) of every request the journal holds."""
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(
                "SELECT message_id, peer, outcome FROM journal WHERE direction = 'in'")]
    finally:
        store.close()


def objects_of(url: str, noun: str = "MeterReadings") -> list:
    store = Store(url)
    try:
        with store.unit_of_work() as uow:
            return uow.object_list(noun)
    finally:
        store.close()


def node_args(queue: str, exchange: str, *extra: str) -> list[str]:
    return ["--broker", AMQP_URL, "--broker-requests", queue, "--broker-request-exchange", exchange,
            "--broker-request-topic", "TESTING.REQUESTS.*.*", *extra]


@pytest.fixture()
def names():
    tag = uuid.uuid4().hex[:8]
    return f"soapbus-test-requests-{tag}", f"soapbus-test-requests-x-{tag}"


@pytest.fixture()
def pg_url():
    url, admin = pg_schema_url("queue")
    yield url
    schema = url.rsplit("%3D", 1)[1]
    with admin.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.close()


def test_two_nodes_share_the_queue_and_act_once_per_request(tmp_path, names, pg_url):
    queue, exchange = names
    requester = Requester(queue, exchange)
    nodes = []
    try:
        nodes.append(start_server(tmp_path / "a", pg_url, node_args(queue, exchange)))
        requester.wait_consumers(1)
        warm_up = creates("warm", 40)  # each node's first requests load the profiles' schemas: not measured
        send_all(requester, warm_up[:20])
        alone = creates("one", REQUESTS)
        one_node = send_all(requester, alone)
        nodes.append(start_server(tmp_path / "b", pg_url, node_args(queue, exchange)))
        requester.wait_consumers(2)
        send_all(requester, warm_up[20:])
        shared = creates("two", REQUESTS)
        two_nodes = send_all(requester, shared)
        print(f"\nthrough the queue: {one_node:.0f} requests/s with 1 node, {two_nodes:.0f} with 2 nodes "
              f"({REQUESTS} creates each, PostgreSQL)")

        for message_id, _ in warm_up + alone + shared:  # one answer each: OK, correlated by AMQP and by 61968
            (properties, body), = requester.answers[message_id]
            answer = answer_of((properties, body))
            assert answer.reply.result == "OK" and answer.header.correlation_id == message_id
            assert properties.message_id == answer.header.message_id and properties.type == "reply"
        objects = objects_of(pg_url)
        assert sorted(o.key for o in objects) == sorted(
            [f"warm-{i}" for i in range(40)] + [f"{phase}-{i}" for phase in ("one", "two") for i in range(REQUESTS)])
        assert {o.version for o in objects} == {1}
        journal = journal_in(pg_url)
        processed = Counter(mid for mid, _, outcome in journal if outcome == "processed")
        assert set(processed) == {mid for mid, _ in warm_up + alone + shared} and set(processed.values()) == {1}
        by_node = Counter(str(node.process.pid) for mid, peer, _ in journal for node in nodes
                          if peer.endswith(f":{node.process.pid}") and mid in dict(shared))
        print(f"the {REQUESTS} requests sent to two nodes: {dict(by_node)} by node pid")
        assert len(by_node) == 2 and sum(by_node.values()) == REQUESTS  # both took a share
    finally:
        for node in nodes:
            node.stop()
        requester.close()


def test_a_node_killed_mid_run_loses_nothing_and_acts_once(tmp_path, names, pg_url, test_pki):
    """Signed requests: a message the broker delivers again after the kill was remembered against
    replays by the dead node, and is still processed (or answered from the journal), never refused."""
    queue, exchange = names
    requester = Requester(queue, exchange)
    key = SigningKey.load(test_pki.mdms.key, test_pki.mdms.cert)
    nodes = []
    try:
        nodes = [start_server(tmp_path / f"n{i}", pg_url, node_args(queue, exchange, "--trust-ca", str(
            test_pki.ca.cert), "--server-key", str(test_pki.server.key), "--server-cert", str(test_pki.server.cert)))
            for i in range(2)]
        requester.wait_consumers(2)
        send_all(requester, creates("warm", 40))  # both nodes past their first requests: the kill meets one at work
        requests = creates("kill", REQUESTS, key)
        for message_id, body in requests:
            requester.send(body, correlation_id=message_id, message_id=message_id)
        deadline = time.monotonic() + 60
        while len(requester.answers) < REQUESTS // 3:
            assert time.monotonic() < deadline, "a third never answered"
            requester.pump(0.01)
        victim = nodes[1]
        victim.process.kill()  # SIGKILL: what it held unacknowledged goes back to the queue
        victim.process.wait()
        assert requester.waiting() > 0  # killed mid-run: work was still queued
        requester.wait_for([mid for mid, _ in requests], 60, "every request answered after the kill")

        time.sleep(0.5)
        requester.pump()
        faults = [body for mid, _ in requests for props, body in requester.answers[mid] if props.type != "reply"]
        assert not faults, f"{len(faults)} refused, the first: {faults[0][:800]!r}" if faults else ""
        answers = {mid: [answer_of(a) for a in requester.answers[mid]] for mid, _ in requests}
        assert all(a.reply.result == "OK" and a.header.correlation_id == mid
                   for mid, repeated in answers.items() for a in repeated)
        repeated = {mid for mid, got in answers.items() if len(got) > 1}
        assert all(len({a.header.message_id for a in answers[mid]}) == 1 for mid in repeated)  # the stored answer
        objects = objects_of(pg_url)
        assert sorted(o.key for o in objects if o.key.startswith("kill-")) == sorted(
            f"kill-{i}" for i in range(REQUESTS))
        assert {o.version for o in objects} == {1}
        journal = journal_in(pg_url)
        processed = Counter(mid for mid, _, outcome in journal if outcome == "processed")
        sent = {mid for mid, _ in requests}
        assert sent <= set(processed) and set(processed.values()) == {1}
        by_victim = sum(1 for mid, peer, outcome in journal
                        if outcome == "processed" and mid in sent and peer.endswith(f":{victim.process.pid}"))
        duplicates = sum(1 for _, _, outcome in journal if outcome == "duplicate")
        print(f"\none of two nodes killed mid-run: {REQUESTS} requests, 0 lost, 0 acted twice; the killed node "
              f"processed {by_victim}; redelivered after their commit and answered from the journal: {duplicates}; "
              f"answered twice: {len(repeated)}")
        assert 0 < by_victim < REQUESTS
    finally:
        for node in nodes:
            if node.process.poll() is None:
                node.stop()
        requester.close()


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory):
    return pki.init(tmp_path_factory.mktemp("pki"))


def test_poison_unsigned_and_bare_messages_on_one_node(tmp_path, names, test_pki):
    queue, exchange = names
    requester = Requester(queue, exchange, arguments={"x-max-length": 10_000})  # an operator's queue, kept as is
    server = start_server(tmp_path, extra_args=node_args(
        queue, exchange, "--server-key", str(test_pki.server.key), "--server-cert", str(test_pki.server.cert),
        "--trust-ca", str(test_pki.ca.cert)))
    try:
        requester.wait_consumers(1)
        # A poison message: answered with the FAILED Fault and its FaultMessage, journaled, not redelivered.
        requester.send(b"<not-xml", correlation_id="poison")
        requester.wait_for(["poison"], 15, "the poison message's answer")
        (properties, body), = requester.answers["poison"]
        fault = soap.read_fault(m.parse_bytes(body))
        assert properties.type == "fault" and fault.code.endswith("Client")
        assert b"FaultMessage" in body and b"<m:code>1.8</m:code>" in body
        # An unsigned I9 request: the security fault, as over HTTP; nothing created.
        _, unsigned = create_controls("CTL-UNSIGNED")
        requester.send(soap.to_bytes(unsigned), correlation_id="unsigned")
        # Its positive control: the same request signed is processed, and its answer is signed.
        request, signed = create_controls("CTL-SIGNED")
        key = SigningKey.load(test_pki.mdms.key, test_pki.mdms.cert)
        requester.send(soap.to_bytes(sign_envelope(signed, key)), correlation_id="signed",
                       message_id=request.header.message_id)
        # A bare RequestMessage (no SOAP envelope) through the 61968 topic, and a one-way create.
        bare = m.RequestMessage(header("create", "MeterReadings"), None, m.Payload(documents=[meter_readings("BARE")]))
        one_way = m.RequestMessage(header("create", "MeterReadings", ack_required=False), None,
                                   m.Payload(documents=[meter_readings("ONE-WAY")]))
        requester.send(typed_envelope("CreateMeterReadings", "MeterReadings", one_way), reply=False,
                       correlation_id="one-way")
        requester.wait_for(["unsigned", "signed"], 15, "the I9 answers")
        refused = soap.read_fault(m.parse_bytes(requester.answers["unsigned"][0][1]))
        assert refused.code == "wsse:InvalidSecurity" and "I9 requires a WS-Security signed request" in refused.reason
        signed_answer = requester.answers["signed"][0][1]
        assert answer_of(requester.answers["signed"][0]).reply.result == "OK" and b"wsse:Security" in signed_answer
        requester.send(soap.to_bytes(m.to_element(bare)), correlation_id="bare",
                       routing_key="TESTING.REQUESTS.MeterReadings.create")
        requester.wait_for(["bare"], 15, "the bare request's answer")
        got = answer_of(requester.answers["bare"][0])
        assert got.reply.result == "OK" and got.header.correlation_id == bare.header.message_id

        wait(lambda: requester.waiting() == 0, 10, "the queue emptied")
        time.sleep(1.0)  # time for a redelivery, were anything left unacknowledged
        requester.pump()
        assert {cid: len(a) for cid, a in requester.answers.items()} == {
            "poison": 1, "unsigned": 1, "signed": 1, "bare": 1}  # none redelivered; the one-way answered nowhere
        server.stop()  # what it held unacknowledged would go back to the queue now
        wait(lambda: requester.consumers() == 0, 10, "the node's consumer gone")
        assert requester.waiting() == 0  # every one acknowledged: the poison and the refused one included
        journal = journal_in(server.database_url)
        assert sorted(outcome for _, _, outcome in journal) == ["processed"] * 3 + ["rejected"] * 2
        assert all(peer.startswith(f"amqp:{queue} at node ") for _, peer, _ in journal)
        assert {o.key for o in objects_of(server.database_url)} == {"ONE-WAY", "BARE"}
        assert {o.key for o in objects_of(server.database_url, "Controls")} == {"CTL-SIGNED"}
    finally:
        server.stop()
        requester.close()


@pytest.mark.pg
def test_while_the_database_is_away_queued_requests_wait_and_are_answered_once_it_is_back(tmp_path, names, pg):
    queue, exchange = names
    requester = Requester(queue, exchange)
    server = start_server(tmp_path, pg.proxied_url, node_args(queue, exchange))
    try:
        requester.wait_consumers(1)
        before = creates("before", 1)
        send_all(requester, before)  # the positive control: answered while the database answers
        pg.proxy.cut()
        held_back = creates("held", 5)
        for message_id, body in held_back:
            requester.send(body, correlation_id=message_id, message_id=message_id)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            requester.pump(0.1)
        assert set(requester.answers) == {before[0][0]}  # no 5.2 answers: the messages wait in the broker
        with Store(pg.direct_url) as look:
            assert all(look.journal_by_message_id(mid) == [] for mid, _ in held_back)
        pg.proxy.restore()
        requester.wait_for([mid for mid, _ in held_back], 30, "the held-back requests answered")
        assert all(answer_of(requester.answers[mid][0]).reply.result == "OK" for mid, _ in held_back)
        assert {o.key for o in objects_of(pg.direct_url)} == {"before-0"} | {f"held-{i}" for i in range(5)}
        assert Counter(outcome for _, _, outcome in journal_in(pg.direct_url)) == {"processed": 6}
    finally:
        server.stop()
        requester.close()


@pytest.mark.pg
def test_a_signed_request_whose_transaction_died_is_processed_when_the_broker_delivers_it_again(
        tmp_path, names, pg, test_pki):
    """The signature was verified (and remembered against replays) before the database went away in
    the handler: the broker's second delivery of the same message is no replay, and acts once."""
    from .plugins.database_dies import CUT_PREFIX

    queue, exchange = names
    requester = Requester(queue, exchange)
    server = start_server(tmp_path, pg.proxied_url, node_args(
        queue, exchange, "--handlers", "tests.plugins.database_dies", "--trust-ca", str(test_pki.ca.cert),
        "--server-key", str(test_pki.server.key), "--server-cert", str(test_pki.server.cert)),
        env={"SOAPBUS_TEST_CUT_PORT": str(pg.proxy.cut_switch())})
    key = SigningKey.load(test_pki.mdms.key, test_pki.mdms.cert)
    try:
        requester.wait_consumers(1)
        mrid = f"{CUT_PREFIX}{uuid.uuid4()}"
        request = m.RequestMessage(header("create", "MeterReadings"), None, m.Payload(documents=[meter_readings(mrid)]))
        signed = soap.to_bytes(sign_envelope(m.parse_bytes(
            typed_envelope("CreateMeterReadings", "MeterReadings", request)), key))
        requester.send(signed, correlation_id="cut", message_id=request.header.message_id)
        wait(lambda: "database went away" in server.log_text(), 15, "the handler cutting the database off")
        time.sleep(RETRY_AFTER + 1)  # the held message tried again while the database is away
        pg.proxy.restore()
        requester.wait_for(["cut"], 30, "the answer after the database came back")
        (properties, body), = requester.answers["cut"]
        assert properties.type == "reply" and answer_of((properties, body)).reply.result == "OK", body[:600]
        with Store(pg.direct_url) as look, look.unit_of_work() as uow:
            assert uow.object_get("MeterReadings", mrid).version == 1
        assert Counter(outcome for _, _, outcome in journal_in(pg.direct_url)) == {"processed": 1}
        # An exact copy published afresh is still a replay: refused, as over HTTP.
        requester.send(signed, correlation_id="copy", message_id=request.header.message_id)
        requester.wait_for(["copy"], 15, "the copy's answer")
        refused = soap.read_fault(m.parse_bytes(requester.answers["copy"][0][1]))
        assert refused.code == "wsse:InvalidSecurity" and "replay" in refused.reason
    finally:
        server.stop()
        requester.close()


def test_a_queued_request_for_a_routed_noun_is_answered_with_the_backends_answer(tmp_path, names):
    """The bus role through the queue: the Outcome's later answer (the backend's, awaited on the
    reactor) is what goes to reply_to; the backend gets the request once."""
    from .receivers import Receiver
    from .test_routing import store_route

    queue, exchange = names
    requester = Requester(queue, exchange)
    backend = Receiver()
    bus = start_server(tmp_path, extra_args=node_args(queue, exchange))
    try:
        store_route(bus, "MeterReadings", f"{backend.url}/soap/Operations", verb="create")  # before any request
        requester.wait_consumers(1)
        (message_id, body), = creates("routed", 1)
        requester.send(body, correlation_id=message_id, message_id=message_id)
        requester.wait_for([message_id], 15, "the routed request's answer")
        (properties, raw), = requester.answers[message_id]
        answer = answer_of((properties, raw))
        assert properties.type == "reply" and answer.reply.result == "OK" and answer.header.correlation_id == message_id
        assert backend.count() == 1 and objects_of(bus.database_url) == []  # the backend acted, not the bus
        assert sorted(outcome for _, _, outcome in journal_in(bus.database_url)) == ["processed", "routed"]
    finally:
        bus.stop()
        backend.close()
        requester.close()
