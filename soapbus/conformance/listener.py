"""The harness's callback listener: asynchronous replies and subscribed events arrive here.

Unlike the SDK's CallbackListener it keeps every delivery as evidence (exact bytes, arrival
time) and never drops a repeat: the checks judge what the target sent, repeats included.
Every POST is answered with a 61968 ResponseMessage (OK 0.0), as a receiver must.
"""
from __future__ import annotations

import threading
import time

from .. import message as m
from ..client.http_server import BackgroundHTTPServer
from ..message import MessageError, soap
from .errors import ConformanceError
from .exchange import Exchange

PATH = "/soapbus/conformance/callback"


class Listener:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, advertised_host: str | None = None):
        try:
            self._http = BackgroundHTTPServer(host, port, lambda path, body, headers: (200, self.take(body)),
                                              name="conformance-callbacks")
        except OSError as exc:
            raise ConformanceError(f"cannot listen for callbacks on {host}:{port}: {exc.strerror or exc}") from None
        self._advertised = advertised_host or host
        self._lock = threading.Condition()
        self.received: list[Exchange] = []

    @property
    def url(self) -> str:
        return f"http://{self._advertised}:{self._http.address[1]}{PATH}"

    def start(self) -> "Listener":
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def take(self, body: bytes) -> bytes:
        exchange = Exchange(step="(callback)", response=body, label="received", status=200)
        with self._lock:
            self.received.append(exchange)
            self._lock.notify_all()
        try:
            msg = m.parse(soap.unwrap(body).message)
            header = msg.header if not isinstance(msg, m.FaultMessage) else m.Header(verb="reply", noun="")
        except MessageError:
            header = m.Header(verb="reply", noun="")
        return soap.to_bytes(soap.envelope(m.to_element(m.reply_to(header, m.ok(), source="soapbus-conformance"))))

    def wait(self, predicate, timeout: float, since: int = 0) -> list[Exchange]:
        """Deliveries (from index `since` on) for which predicate holds, once `predicate` is satisfied
        by the list, or when timeout passes; predicate takes the whole matching list."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = self.matching(predicate.matches, since)
                if predicate.done(found) or time.monotonic() >= deadline:
                    return found
                self._lock.wait(min(0.1, max(0.0, deadline - time.monotonic())))

    def matching(self, match, since: int = 0) -> list[Exchange]:
        return [ex for ex in self.received[since:] if match(ex)]

    def mark(self) -> int:
        with self._lock:
            return len(self.received)


def parse_host_port(value: str) -> tuple[str, int]:
    host, sep, port = (value or "").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConformanceError(f"--callback-host wants HOST:PORT (e.g. 10.0.0.5:8099), not {value!r}")
    return host.strip("[]"), int(port)


__all__ = ["Listener", "PATH", "parse_host_port"]
