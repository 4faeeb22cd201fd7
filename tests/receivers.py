"""Loopback 61968 receivers for delivery tests: they record every POST and answer as told.

A `Receiver` listens on one port and serves any path (so one receiver can stand for many
subscribers, one per path). Each arrival is kept with its time, path and 61968 header; what it
answers is chosen per request by `behaviour(path)`: an `Answer` (status, empty or a
ResponseMessage OK, a delay before answering) or `HANG` (never answer until the receiver closes).
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from soapbus import message as m
from soapbus.message import soap


@dataclass(frozen=True)
class Answer:
    status: int = 200
    empty: bool = False  # an empty body instead of a ResponseMessage OK
    delay: float = 0.0  # seconds before answering
    headers: tuple[tuple[str, str], ...] = ()


HANG = "hang"


@dataclass(frozen=True)
class Arrival:
    at: float  # time.monotonic()
    path: str
    kind: str
    message_id: str | None
    correlation_id: str | None


class Receiver:
    def __init__(self, behaviour=lambda path: Answer(), port: int = 0):
        self.behaviour = behaviour
        self.arrivals: list[Arrival] = []
        self.lock = threading.Lock()
        self.closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # the answer's head and body are two writes

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                msg = m.parse(soap.unwrap(body).message)
                with receiver.lock:
                    receiver.arrivals.append(Arrival(time.monotonic(), self.path, msg.kind, msg.header.message_id,
                                                     msg.header.correlation_id))
                how = receiver.behaviour(self.path)
                if how == HANG:
                    receiver.closing.wait(120)
                    self.close_connection = True
                    return
                if how.delay:
                    time.sleep(how.delay)
                data = b"" if how.empty else soap.to_bytes(soap.envelope(m.to_element(
                    m.reply_to(msg.header, m.ok()))))
                self.send_response(how.status)
                for name, value in how.headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

            def handle_error(self, request, client_address):  # a sender hanging up is no test failure
                pass

        self.httpd = Server(("127.0.0.1", port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.port = self.httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}"

    def count(self, path: str | None = None) -> int:
        with self.lock:
            return sum(1 for a in self.arrivals if path is None or a.path == path)

    def distinct(self) -> set[str]:
        with self.lock:
            return {a.message_id for a in self.arrivals}

    def repeats(self) -> Counter:
        """MessageIDs that arrived more than once, with how often."""
        with self.lock:
            seen = Counter(a.message_id for a in self.arrivals)
        return Counter({mid: n for mid, n in seen.items() if n > 1})

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_until(predicate, timeout: float, what: str, step: float = 0.02) -> float:
    """Wait for `predicate()`; returns the time it took, or fails naming `what`."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)
    return time.monotonic() - started
