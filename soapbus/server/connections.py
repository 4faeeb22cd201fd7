"""Connections at the HTTP edge: a deadline for each request, an idle timeout, a connection limit.

Twisted's HTTPChannel has one timer (TimeoutMixin), reset by every byte received: a client
sending a byte a second holds its connection, and its file descriptor, for ever, and a
thousand such clients exhaust the descriptors so that every normal request fails. Here:

* the same TimeoutMixin timer is the idle timeout between requests (`idle_timeout`, from a
  connection's opening to its first byte and after each answer on a kept-alive connection)
  and, from the first byte of a request, the deadline for the whole request: request line,
  headers and body must all have arrived within `request_deadline` seconds, and bytes do not
  extend it. A request that misses it is answered 408 and its connection closed, in one log
  line. While a request is being answered the timer is off, as in Twisted.
* `ConnectionLimit`, Twisted's `WrappingFactory` (which keeps the set of open connections),
  refuses a new connection once `max_connections` are open: the listening port closes it at
  once, before reading a byte. That is logged when it starts and then at most once a
  `report_every` seconds while it lasts, with the count refused: never a line per connection.
"""
from __future__ import annotations

import logging
import resource as rlimit
from dataclasses import dataclass
from functools import partial

from twisted.protocols.policies import WrappingFactory
from twisted.web import http

log = logging.getLogger(__name__)

DESCRIPTORS_KEPT = 128  # for the database, log files and outgoing deliveries, beyond client connections
DEFAULT_CONNECTION_CEILING = 1000


def default_max_connections() -> int:
    """min(1000, the soft descriptor limit less what the server needs besides its clients)."""
    soft, _hard = rlimit.getrlimit(rlimit.RLIMIT_NOFILE)
    if soft == rlimit.RLIM_INFINITY:
        return DEFAULT_CONNECTION_CEILING
    return max(1, min(DEFAULT_CONNECTION_CEILING, soft - DESCRIPTORS_KEPT))


@dataclass(frozen=True)
class EdgeLimits:
    request_deadline: float  # seconds from a request's first byte to its last
    idle_timeout: float  # seconds a connection may sit between requests
    max_connections: int  # open client connections; more are closed at once


class DeadlineChannel(http.HTTPChannel):
    """An HTTPChannel whose timer is a whole-request deadline while a request arrives."""

    def __init__(self, request_deadline: float):
        super().__init__()
        self.request_deadline = request_deadline
        self.idle_timeout = None
        self._request_started: float | None = None  # reactor time of the arriving request's first byte
        self._request_bytes = 0

    def connectionMade(self):
        self.idle_timeout = self.timeOut  # the site's timeout, set on us before the connection is made
        super().connectionMade()

    def dataReceived(self, data):
        if self._request_started is None and not self._handlingRequest:
            self._request_started = self._now()
            self._request_bytes = 0
            self.setTimeout(self.request_deadline)
        if self._request_started is not None:
            self._request_bytes += len(data)
        super().dataReceived(data)

    def resetTimeout(self):
        if self._request_started is None:  # idle: a byte starts a request, see dataReceived
            super().resetTimeout()
        # while a request arrives its bytes do not move its deadline

    def allContentReceived(self):
        self._request_started = None
        # HTTPChannel saves the current timeout here and restores it after the answer: the idle one
        self.setTimeout(self.idle_timeout)
        super().allContentReceived()

    def timeoutConnection(self):
        if self._request_started is not None:
            self._refuse_late_request()
        super().timeoutConnection()  # closes, and aborts if the client does not read what is left

    def connectionLost(self, reason):
        if self._request_started is not None and self._request_bytes:
            log.info("client %s went away before its request was read whole (%d bytes received); "
                     "nothing was processed", self._peer_host(), self._request_bytes)
        self._request_started = None
        super().connectionLost(reason)

    def _refuse_late_request(self):
        elapsed = self._now() - self._request_started
        log.warning("client %s sent %d bytes of a request in %.1f s without finishing it (deadline %g s); "
                    "answered 408 and closed the connection", self._peer_host(), self._request_bytes, elapsed,
                    self.request_deadline)
        body = f"the request did not arrive whole within {self.request_deadline:g} s\n".encode("ascii")
        self.transport.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
                             b"Connection: close\r\nContent-Length: " + str(len(body)).encode("ascii")
                             + b"\r\n\r\n" + body)
        self._request_started = None

    def _peer_host(self) -> str:
        return getattr(self.transport.getPeer(), "host", "?")

    def _now(self) -> float:
        return self.site.reactor.seconds()


class ConnectionLimit(WrappingFactory):
    """Twisted's WrappingFactory, refusing connections past `limit` open ones."""

    def __init__(self, wrapped_factory, limit: int, clock, report_every: float = 60.0):
        super().__init__(wrapped_factory)
        self.limit = limit
        self.clock = clock
        self.report_every = report_every
        self.refused_total = 0
        self._refused_since_report = 0
        self._report_call = None

    def buildProtocol(self, addr):
        if len(self.protocols) < self.limit:
            return super().buildProtocol(addr)
        self._refused(addr)
        return None  # the port closes the socket at once

    def doStop(self):
        if self._report_call is not None and self._report_call.active():
            self._report_call.cancel()
        self._report_call = None
        super().doStop()

    def _refused(self, addr):
        self.refused_total += 1
        if self._report_call is None:
            log.warning("connection limit reached: %d connections open (--max-connections %d); refusing new "
                        "connections, the first from %s, until some close (reported at most every %g s while "
                        "it lasts)", len(self.protocols), self.limit, getattr(addr, "host", "?"),
                        self.report_every)
            self._report_call = self.clock.callLater(self.report_every, self._report)
        else:
            self._refused_since_report += 1

    def _report(self):
        if not self._refused_since_report:
            self._report_call = None  # quiet again: the next refusal is reported at once
            return
        log.warning("connection limit still reached: refused %d more connections in the last %g s "
                    "(--max-connections %d)", self._refused_since_report, self.report_every, self.limit)
        self._refused_since_report = 0
        self._report_call = self.clock.callLater(self.report_every, self._report)


def listening_factory(site: http.HTTPFactory, limits: EdgeLimits, clock) -> ConnectionLimit:
    """What to listen with: `site` with a request deadline and an idle timeout, behind the connection limit."""
    site.timeOut = limits.idle_timeout
    # HTTP/2 would be negotiated only over TLS (ALPN), which this listener does not do: a plain channel
    site.protocol = partial(DeadlineChannel, limits.request_deadline)
    return ConnectionLimit(site, limits.max_connections, clock)


__all__ = ["EdgeLimits", "DeadlineChannel", "ConnectionLimit", "listening_factory", "default_max_connections"]
