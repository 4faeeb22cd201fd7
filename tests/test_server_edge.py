"""The server's HTTP edge over real sockets: slow clients, the connection limit, idle connections,
and clients that hang up before their answer."""
from __future__ import annotations

import logging
import select
import socket
import time

import pytest
import requests

from soapbus import message as m
from soapbus.message import soap
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
    """Clients that each start a request and then send one byte every DRIBBLE_EVERY seconds."""

    def __init__(self, server, count: int):
        _, body = _create("slow")
        self.request = _post_bytes(server, "ExecuteMeterReadings", body)
        self.sockets = [socket.create_connection(_address(server), timeout=5) for _ in range(count)]
        self.started = {}
        self.sent = {s: 0 for s in self.sockets}
        self.answers: dict[socket.socket, tuple[bytes, float]] = {}  # what came back, seconds after the 1st byte

    def run(self, seconds: float) -> None:
        """Dribble until every socket is closed by the server, or for `seconds`."""
        until = time.monotonic() + seconds
        while time.monotonic() < until and len(self.answers) < len(self.sockets):
            for sock in self.sockets:
                if sock in self.answers:
                    continue
                try:
                    sock.send(self.request[self.sent[sock]:self.sent[sock] + 1])
                except OSError:
                    pass  # closed under us: read below
                self.started.setdefault(sock, time.monotonic())
                self.sent[sock] += 1
            open_ones = [s for s in self.sockets if s not in self.answers]
            readable, _, _ = select.select(open_ones, [], [], DRIBBLE_EVERY)
            for sock in readable:
                self._read_until_closed(sock)

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


def test_slow_clients_are_cut_at_the_deadline_and_cannot_starve_others(guarded):
    attack = Slowloris(guarded, MAX_CONNECTIONS)
    try:
        attack.run(0.5)  # every slot taken, each sending
        late = socket.create_connection(_address(guarded), timeout=5)
        closed = _closed_within(late, 2.0)
        late.close()
        assert closed is not None, "a connection past the limit was kept open"
        assert closed[0] == b"" and closed[1] < 1.0  # closed at once, nothing read or answered

        attack.run(DEADLINE + 3)
        assert len(attack.answers) == MAX_CONNECTIONS
        for data, after in attack.answers.values():
            assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), data[:80]
            assert b"did not arrive whole within 2 s" in data
            assert DEADLINE - 0.2 <= after <= DEADLINE + 1.5, after  # the deadline, not a per-byte timeout
        # they kept sending the whole time: each byte would have reset Twisted's own timeout
        assert min(attack.sent.values()) >= DEADLINE / DRIBBLE_EVERY * 0.8
    finally:
        attack.close()

    # positive control: with the slow ones cut, a normal client is served, and correctly
    mrid = m.new_message_id()
    req, body = _create(mrid)
    reply = response_message(guarded.post("ExecuteMeterReadings", body))
    assert reply.reply.result == "OK" and reply.header.correlation_id == req.header.message_id
    get = m.RequestMessage(header("get", "MeterReadings"), m.Request(ids=[m.ID(mrid)]))
    got = response_message(guarded.post("GetMeterReadings", typed_envelope("GetMeterReadings", "MeterReadings", get)))
    assert [el.text for doc in got.payload.documents for el in doc.iter(f"{{{MR_NS}}}mRID")] == [mrid]

    time.sleep(0.3)  # the server's log lines reach us through a pipe
    assert len(_lines(guarded, "connection limit reached")) == 1  # one line, not one per refused connection
    assert len(_lines(guarded, "answered 408 and closed the connection")) == MAX_CONNECTIONS
    assert not _lines(guarded, "Traceback")


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


def test_the_limit_is_logged_when_it_starts_then_at_most_once_an_interval(caplog):
    """The log arithmetic on Twisted's deterministic clock (the live test above shows the first line)."""
    from twisted.internet.address import IPv4Address
    from twisted.internet.protocol import Factory, Protocol
    from twisted.internet.task import Clock
    from twisted.internet.testing import StringTransport
    from twisted.python.failure import Failure

    from soapbus.server.connections import ConnectionLimit

    clock = Clock()
    limit = ConnectionLimit(Factory.forProtocol(Protocol), 2, clock, report_every=60)

    def connect():
        wrapper = limit.buildProtocol(IPv4Address("TCP", "10.0.0.9", 40000))
        if wrapper is not None:
            wrapper.makeConnection(StringTransport())
        return wrapper

    first, second = connect(), connect()
    assert first is not None and second is not None
    with caplog.at_level(logging.WARNING, logger="soapbus.server.connections"):
        assert [connect() for _ in range(100)] == [None] * 100
        assert [r.getMessage() for r in caplog.records] == [
            "connection limit reached: 2 connections open (--max-connections 2); refusing new connections, the "
            "first from 10.0.0.9, until some close (reported at most every 60 s while it lasts)"]
        clock.advance(60)
        assert caplog.records[-1].getMessage() == ("connection limit still reached: refused 99 more connections "
                                                   "in the last 60 s (--max-connections 2)")
        clock.advance(60)  # a quiet interval: no line, and the next refusal is reported at once
        assert len(caplog.records) == 2
        first.connectionLost(Failure(ConnectionError("gone")))
        assert connect() is not None  # the freed slot is used
        assert connect() is None and len(caplog.records) == 3
        assert caplog.records[-1].getMessage().startswith("connection limit reached")
    limit.doStop()
    assert not clock.getDelayedCalls()


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
    fast = [_create(m.new_message_id()) for _ in range(5)]
    for _req, body in fast:
        _send_and_hang_up(plugged, "ExecuteMeterReadings", _post_bytes(plugged, "ExecuteMeterReadings", body))
    slow_mrids = [m.new_message_id() for _ in range(2)]
    for mrid in slow_mrids:  # the handler sleeps: the client is long gone when the answer is ready
        _send_and_hang_up(plugged, "ExecuteEndDeviceControls",
                          _post_bytes(plugged, "ExecuteEndDeviceControls", controls_create_body(mrid)))

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
