"""The server's HTTP edge over real sockets: slow clients, the connection limit, idle connections,
and clients that hang up before their answer."""
from __future__ import annotations

import logging
import select
import socket
import threading
import time

import pytest
import requests

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.web import resource, server

from soapbus import message as m
from soapbus.message import soap
from soapbus.server.connections import EdgeLimits, listening_factory
from soapbus.store import Store

from .helpers import MR_NS, header, meter_readings, response_message, start_server, typed_envelope
from .plugins.slow_dms import SLOW_SECONDS
from .test_server_plugins import _create_body as controls_create_body

MAX_CONNECTIONS = 50
DEADLINE = 2.0
IDLE = 1.0
DRIBBLE_EVERY = 0.2  # seconds between the bytes a slow client sends: far inside any per-byte timeout


def _address(server) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _post_bytes(server, service: str, body: bytes, content_length: int | None = None) -> bytes:
    host, port = _address(server)
    return (f"POST /soap/{service} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: text/xml; charset=utf-8\r\n"
            f"SOAPAction: \"\"\r\nContent-Length: {len(body) if content_length is None else content_length}\r\n\r\n"
            ).encode("ascii") + body


def _create(mrid: str) -> tuple[m.RequestMessage, bytes]:
    req = m.RequestMessage(header("create", "MeterReadings"), None, m.Payload(documents=[meter_readings(mrid)]))
    return req, typed_envelope("CreateMeterReadings", "MeterReadings", req)


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bytes, float] | None:
    """What the server sent before closing, and when it closed; None if still open after `seconds`."""
    started, received = time.monotonic(), b""
    sock.settimeout(seconds)
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received, time.monotonic() - started


def _reply_of(http_answer: bytes):
    """The 61968 message in one raw HTTP answer (status line, headers, SOAP body)."""
    return m.parse(soap.unwrap(http_answer.partition(b"\r\n\r\n")[2]).message)


def _lines(server, text: str) -> list[str]:
    return [line for line in server.output if text in line]


# ------------------------------------------------------------------ slow clients and the connection limit

@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("edge"), extra_args=[
        "--max-connections", str(MAX_CONNECTIONS), "--request-deadline", str(DEADLINE), "--idle-timeout", str(IDLE)])
    yield proc
    proc.stop()


class Slowloris:
    """Clients that each start a request and then send one byte every DRIBBLE_EVERY seconds;
    with `reconnect`, each one the server closes is replaced at once by a new one."""

    def __init__(self, server, count: int, reconnect: bool = False):
        _, body = _create("slow")
        self.address = _address(server)
        self.request = _post_bytes(server, "ExecuteMeterReadings", body)
        self.reconnect = reconnect
        self.sockets = [socket.create_connection(self.address, timeout=5) for _ in range(count)]
        self.started: dict[socket.socket, float] = {}
        self.sent = {s: 0 for s in self.sockets}
        self.answers: dict[socket.socket, tuple[bytes, float]] = {}  # what came back, seconds after the 1st byte
        self.stop = threading.Event()

    def run(self, seconds: float) -> None:
        """Dribble for `seconds`, or until `stop`, or (without reconnecting) until the server closed them all."""
        until = time.monotonic() + seconds
        while time.monotonic() < until and not self.stop.is_set():
            open_ones = [s for s in self.sockets if s not in self.answers]
            if not open_ones:
                return
            for sock in open_ones:
                try:
                    sock.send(self.request[self.sent[sock]:self.sent[sock] + 1])
                except OSError:
                    pass  # closed under us: read below
                self.started.setdefault(sock, time.monotonic())
                self.sent[sock] += 1
            readable, _, _ = select.select(open_ones, [], [], DRIBBLE_EVERY)
            for sock in readable:
                self._read_until_closed(sock)
                if self.reconnect:
                    fresh = socket.create_connection(self.address, timeout=5)
                    self.sockets.append(fresh)
                    self.sent[fresh] = 0

    def answered(self, status_line: bytes) -> list[tuple[socket.socket, bytes, float]]:
        return [(sock, data, after) for sock, (data, after) in self.answers.items() if data.startswith(status_line)]

    def _read_until_closed(self, sock) -> None:
        data = b""
        try:
            sock.settimeout(1)
            while chunk := sock.recv(65536):
                data += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        self.answers[sock] = (data, time.monotonic() - self.started[sock])

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def _create_and_get(server) -> float:
    """A normal client's create, then its get, both answered correctly; returns the seconds taken."""
    started = time.monotonic()
    mrid = m.new_message_id()
    req, body = _create(mrid)
    reply = response_message(server.post("ExecuteMeterReadings", body))
    assert reply.reply.result == "OK" and reply.header.correlation_id == req.header.message_id
    get = m.RequestMessage(header("get", "MeterReadings"), m.Request(ids=[m.ID(mrid)]))
    got = response_message(server.post("GetMeterReadings", typed_envelope("GetMeterReadings", "MeterReadings", get)))
    assert [el.text for doc in got.payload.documents for el in doc.iter(f"{{{MR_NS}}}mRID")] == [mrid]
    return time.monotonic() - started


@pytest.mark.alone
def test_slow_clients_are_cut_at_the_deadline_and_cannot_keep_others_out(guarded):
    attack = Slowloris(guarded, MAX_CONNECTIONS)
    try:
        attack.run(0.5)  # every place taken, each client sending
        assert not attack.answers
        # a normal client is served at once: it takes the place of the slow client that has waited longest
        assert _create_and_get(guarded) < DEADLINE / 2
        attack.run(DEADLINE + 3)
        assert len(attack.answers) == MAX_CONNECTIONS
        displaced = attack.answered(b"HTTP/1.1 503 Service Unavailable\r\n")
        cut = attack.answered(b"HTTP/1.1 408 Request Timeout\r\n")
        # the create took a slow client's place; the get too, unless the create's closed connection left one free
        assert len(displaced) in (1, 2) and len(cut) == MAX_CONNECTIONS - len(displaced)
        assert all(b"Retry-After: 1" in data and after < DEADLINE / 2 for _, data, after in displaced)
        for sock, data, after in cut:
            assert b"did not arrive whole within 2 s" in data
            assert DEADLINE - 0.2 <= after <= DEADLINE + 1.5, after  # the deadline, not a per-byte timeout
            # it kept sending the whole time: each byte would have reset Twisted's own timeout
            assert attack.sent[sock] >= DEADLINE / DRIBBLE_EVERY * 0.8
    finally:
        attack.close()

    assert _create_and_get(guarded) < 1.0  # and afterwards, of course
    time.sleep(0.3)  # the server's log lines reach us through a pipe
    assert len(_lines(guarded, "connection limit reached")) == 1  # one line, not one per connection
    assert len(_lines(guarded, "answered 408 and closed the connection")) == len(cut)
    assert not _lines(guarded, "Traceback")


@pytest.mark.alone
def test_slow_clients_reconnecting_as_fast_as_they_are_cut_cannot_keep_others_out(guarded):
    attack = Slowloris(guarded, MAX_CONNECTIONS, reconnect=True)
    dribbler = threading.Thread(target=attack.run, args=(30,), daemon=True)
    dribbler.start()
    try:
        time.sleep(0.5)
        took = [_create_and_get(guarded) for _ in range(6)]  # every one served, none kept waiting
        assert max(took) < DEADLINE / 2, took
    finally:
        attack.stop.set()
        dribbler.join(5)
        attack.close()
    assert len(attack.answered(b"HTTP/1.1 503")) >= 6  # the creates (at least) took slow clients' places
    time.sleep(0.3)
    assert len(_lines(guarded, "connection limit reached")) == 1  # still the one line of the module's server
    assert not _lines(guarded, "Traceback")


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("busy"), extra_args=[
        "--max-connections", "2", "--handlers", "tests.plugins.slow_dms"])
    yield proc
    proc.stop()


@pytest.mark.alone
def test_past_the_limit_a_connection_is_refused_at_once_when_every_one_is_being_answered(busy):
    answers: list[requests.Response] = []
    senders = [threading.Thread(target=lambda mrid=mrid: answers.append(
        busy.post("ExecuteEndDeviceControls", controls_create_body(mrid)))) for mrid in ("EDC-1", "EDC-2")]
    for sender in senders:
        sender.start()
    time.sleep(SLOW_SECONDS / 4)  # both requests received: both connections are being answered
    late = socket.create_connection(_address(busy), timeout=5)
    closed = _closed_within(late, 2.0)
    late.close()
    for sender in senders:
        sender.join(SLOW_SECONDS * 3)
    assert closed is not None, "a connection past the limit was kept open"
    assert closed[0] == b"" and closed[1] < 1.0  # closed at once, nothing read or answered
    assert sorted(response_message(a).reply.result for a in answers) == ["OK"] * 2  # neither was disturbed
    time.sleep(0.3)
    assert len(_lines(busy, "connection limit reached")) == 1


@pytest.mark.alone
def test_an_idle_connection_is_closed(guarded):
    silent = socket.create_connection(_address(guarded), timeout=5)
    closed = _closed_within(silent, IDLE + 3)
    silent.close()
    assert closed is not None and closed[0] == b"" and IDLE - 0.2 <= closed[1] <= IDLE + 1.5

    # a kept-alive connection: answered, then closed once idle
    req, body = _create(m.new_message_id())
    kept = socket.create_connection(_address(guarded), timeout=5)
    kept.sendall(_post_bytes(guarded, "ExecuteMeterReadings", body))
    closed = _closed_within(kept, 10)
    kept.close()
    assert closed is not None
    answer, after = closed
    assert answer.startswith(b"HTTP/1.1 200 OK")
    reply = _reply_of(answer)
    assert reply.reply.result == "OK" and reply.header.correlation_id == req.header.message_id
    assert after >= IDLE - 0.2


@pytest.mark.alone
def test_a_request_sent_in_time_at_a_slow_pace_is_served(guarded):
    """The deadline is for the whole request, so a slow but steady sender within it is answered."""
    req, body = _create(m.new_message_id())
    raw = _post_bytes(guarded, "ExecuteMeterReadings", body)
    sock = socket.create_connection(_address(guarded), timeout=5)
    try:
        pieces = 8
        size = len(raw) // pieces + 1
        for start in range(0, len(raw), size):  # ~1.2 s in all, well past the idle timeout between pieces
            sock.sendall(raw[start:start + size])
            time.sleep(0.15)
        closed = _closed_within(sock, 5)
    finally:
        sock.close()
    assert closed is not None  # answered, then closed when idle
    assert closed[0].startswith(b"HTTP/1.1 200 OK")
    reply = _reply_of(closed[0])
    assert reply.reply.result == "OK" and reply.header.correlation_id == req.header.message_id


class _Hold(resource.Resource):
    """Answers nothing until told: a request being answered."""

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.held = []

    def render(self, request):
        self.held.append(request)
        return server.NOT_DONE_YET


def test_the_limit_in_order_and_its_log_on_twisteds_clock(caplog):
    """Who gives way, and the log's arithmetic, on Twisted's deterministic clock and in-memory transports
    (the live tests above show the same over sockets, within the first minute)."""
    clock, hold = Clock(), _Hold()
    listening = listening_factory(server.Site(hold, reactor=clock), EdgeLimits(30, 15, 2), clock)

    def connect(port: int):
        wrapper = listening.buildProtocol(IPv4Address("TCP", "10.0.0.9", port))
        transport = StringTransport()
        if wrapper is not None:
            wrapper.makeConnection(transport)
        return wrapper, transport

    with caplog.at_level(logging.WARNING, logger="soapbus.server.connections"):
        (idle, idle_t), (slow, slow_t) = connect(1), connect(2)
        clock.advance(1)
        slow.dataReceived(b"POST /x HTTP/1.1\r\nHost: a\r\n")  # a request still arriving
        third, _ = connect(3)  # displaces the connection waiting longest: the idle one
        assert idle_t.disconnecting and not slow_t.disconnecting and third is not None
        idle.connectionLost(Failure(ConnectionDone()))  # as the reactor does once the close completes
        fourth, _ = connect(4)  # then the slow one, answered 503
        assert slow_t.value().startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and slow_t.disconnecting
        slow.connectionLost(Failure(ConnectionDone()))
        third.dataReceived(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        fourth.dataReceived(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert len(hold.held) == 2  # both being answered: nobody gives way now
        assert [connect(5 + n)[0] for n in range(100)] == [None] * 100
        assert [r.getMessage() for r in caplog.records] == [
            "connection limit reached (--max-connections 2): a new connection (the first from 10.0.0.9) takes the place of the one idle or still sending its request the longest, and is refused "
            "when every one is being answered (reported at most every 60 s while it lasts)"]
        clock.advance(60)
        assert caplog.records[-1].getMessage() == (
            "connection limit still reached: in the last 60 s 1 more connections took the place of waiting ones "
            "and 100 were refused (--max-connections 2)")
        clock.advance(60)  # a quiet interval: no line, and the next time the limit acts is reported at once
        assert len(caplog.records) == 2
        hold.held.pop().finish()  # answered: kept alive, idle, so it gives way to the next newcomer
        assert connect(200)[0] is not None and len(caplog.records) == 3
        assert caplog.records[-1].getMessage().startswith("connection limit reached")
    assert (listening.displaced_total, listening.refused_total) == (3, 100)
    listening.doStop()


# ------------------------------------------------------------------ clients that hang up

@pytest.fixture(scope="module")
def plugged(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("hangup"), extra_args=[
        "--handlers", "tests.plugins.slow_dms", "--log-level", "INFO"])
    yield proc
    proc.stop()


def _send_and_hang_up(server, service: str, raw: bytes) -> None:
    with socket.create_connection(_address(server), timeout=5) as sock:
        sock.sendall(raw)
    # closed at once: no answer read


def _conversation(store: Store, message_id: str) -> list:
    """The journal rows of one request (by its MessageID) and of its answer (by CorrelationID)."""
    rows = {r.id: r for r in store.journal_by_message_id(message_id)}
    rows.update((r.id, r) for r in store.journal_by_correlation_id(message_id))
    return [rows[k] for k in sorted(rows)]


def _wait_for(condition, seconds: float):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    return condition()


def test_a_client_that_hangs_up_gets_its_request_processed_whole(plugged):
    slow_mrids = [m.new_message_id() for _ in range(2)]
    for mrid in slow_mrids:  # the handler sleeps: the client is long gone when the answer is ready
        _send_and_hang_up(plugged, "ExecuteEndDeviceControls",
                          _post_bytes(plugged, "ExecuteEndDeviceControls", controls_create_body(mrid)))
    # sent while the slow ones hold the database: by the time their answers are ready, these clients are gone too
    fast = [_create(m.new_message_id()) for _ in range(5)]
    for _req, body in fast:
        _send_and_hang_up(plugged, "ExecuteMeterReadings", _post_bytes(plugged, "ExecuteMeterReadings", body))

    store = Store(plugged.database_url)
    try:
        expected = len(fast) + len(slow_mrids)
        gone = _wait_for(lambda: len(_lines(plugged, "went away before its answer")) >= expected, SLOW_SECONDS * 3 + 5)
        assert gone, plugged.log_text()[-3000:]
        for req, _body in fast:
            rows = _conversation(store, req.header.message_id)
            assert sorted((r.direction, r.outcome) for r in rows) == [("in", "processed"), ("out", "replied")], rows
            assert rows[0].raw and b"CreateMeterReadings" in rows[0].raw  # the request's bytes, whole
            mrid = req.payload.documents[0].findtext(f"{{{MR_NS}}}MeterReading/{{{MR_NS}}}mRID")
            with store.unit_of_work() as uow:
                assert uow.object_get("MeterReadings", mrid) is not None
        with store.unit_of_work() as uow:
            for mrid in slow_mrids:
                assert uow.object_get("EndDeviceControls", mrid) is not None
    finally:
        store.close()
    lines = _lines(plugged, "went away before its answer")
    assert len(lines) == expected
    assert sum("/soap/ExecuteEndDeviceControls (HTTP 200" in line for line in lines) == len(slow_mrids)
    assert "I/O operation on closed file" not in plugged.log_text() and not _lines(plugged, "Traceback")


def test_a_client_that_hangs_up_mid_request_leaves_nothing(plugged):
    req, body = _create(m.new_message_id())
    whole = _post_bytes(plugged, "ExecuteMeterReadings", body)
    _send_and_hang_up(plugged, "ExecuteMeterReadings", whole[:len(whole) - 40])  # the body cut short
    assert _wait_for(lambda: _lines(plugged, "went away before its request was read whole"), 5)

    # positive control: the same request sent whole is processed, so the absence above means something
    reply = response_message(plugged.post("ExecuteMeterReadings", body))
    assert reply.reply.result == "OK"
    store = Store(plugged.database_url)
    try:
        rows = _conversation(store, req.header.message_id)
        assert sorted((r.direction, r.outcome) for r in rows) == [("in", "processed"), ("out", "replied")]
        assert len([r for r in rows if r.direction == "in"]) == 1  # the cut one left no row of its own
    finally:
        store.close()
    assert not _lines(plugged, "Traceback")
