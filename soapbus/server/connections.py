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
  holds at most `max_connections`. At the limit a new connection takes the place of the open
  one that has waited longest without giving the server work: idle, or still sending its
  request (that one is answered 503). Only when every open connection is being answered is
  the new one refused, closed by the listening port before a byte is read. So clients that
  hold connections open cannot keep a client that sends its request promptly out, even when
  they reconnect as fast as they are cut. It is logged when it starts and then at most once a
  `report_every` seconds while it lasts, with the counts: never a line per connection.
"""
from __future__ import annotations

import logging
import resource as rlimit
from collections import OrderedDict
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
    max_connections: int  # open client connections; more displace waiting ones or are refused


class WaitingConnections:
    """The open connections giving the server no work (idle, or a request still arriving), oldest first."""

    def __init__(self):
        self._since: OrderedDict[EdgeChannel, None] = OrderedDict()

    def waiting(self, channel: EdgeChannel) -> None:
        """`channel` starts waiting now (it goes to the back of the line)."""
        self._since.pop(channel, None)
        self._since[channel] = None

    def busy(self, channel: EdgeChannel) -> None:
        """`channel` is being answered, closing or gone: it does not give way."""
        self._since.pop(channel, None)

    def take_oldest(self) -> EdgeChannel | None:
        return self._since.popitem(last=False)[0] if self._since else None

    def __len__(self) -> int:
        return len(self._since)


class EdgeChannel(http.HTTPChannel):
    """An HTTPChannel with a whole-request deadline, that can give its place to a new connection."""

    def __init__(self, request_deadline: float, waiting: WaitingConnections):
        super().__init__()
        self.request_deadline = request_deadline
        self.idle_timeout = None
        self.waiting = waiting
        self._request_started: float | None = None  # reactor time of the arriving request's first byte
        self._request_bytes = 0

    def connectionMade(self):
        self.idle_timeout = self.timeOut  # the site's timeout, set on us before the connection is made
        super().connectionMade()
        self.waiting.waiting(self)

    def dataReceived(self, data):
        if self._request_started is None and not self._handlingRequest:
            self._request_started = self._now()
            self._request_bytes = 0
            self.setTimeout(self.request_deadline)
            self.waiting.waiting(self)
        if self._request_started is not None:
            self._request_bytes += len(data)
        super().dataReceived(data)

    def resetTimeout(self):
        if self._request_started is None:  # idle: a byte starts a request, see dataReceived
            super().resetTimeout()
        # while a request arrives its bytes do not move its deadline

    def allContentReceived(self):
        self._request_started = None
        self.waiting.busy(self)
        # HTTPChannel saves the current timeout here and restores it after the answer: the idle one
        self.setTimeout(self.idle_timeout)
        super().allContentReceived()

    def requestDone(self, request):
        super().requestDone(request)
        if self.persistent and not self._handlingRequest and self._request_started is None:
            self.waiting.waiting(self)  # answered, kept alive, idle again

    def timeoutConnection(self):
        self.waiting.busy(self)
        if self._request_started is not None:
            self._refuse_late_request()
        super().timeoutConnection()  # closes, and aborts if the client does not read what is left

    def connectionLost(self, reason):
        self.waiting.busy(self)
        if self._request_started is not None and self._request_bytes:
            log.info("client %s went away before its request was read whole (%d bytes received); "
                     "nothing was processed", self._peer_host(), self._request_bytes)
        self._request_started = None
        super().connectionLost(reason)

    def give_way(self) -> None:
        """Close to make room for a new connection; a request still arriving is answered 503."""
        self.waiting.busy(self)
        if self._request_started is not None:
            self._request_started = None
            self._answer_and_close(503, b"Service Unavailable", b"Retry-After: 1\r\n",
                                   "the server is at its connection limit and this request had not arrived "
                                   "whole; send it again\n")
        else:
            self.loseConnection()

    def _refuse_late_request(self):
        elapsed = self._now() - self._request_started
        log.warning("client %s sent %d bytes of a request in %.1f s without finishing it (deadline %g s); "
                    "answered 408 and closed the connection", self._peer_host(), self._request_bytes, elapsed,
                    self.request_deadline)
        self._request_started = None
        self._answer_and_close(408, b"Request Timeout", b"",
                               f"the request did not arrive whole within {self.request_deadline:g} s\n",
                               close=False)  # HTTPChannel.timeoutConnection closes, with its abort timer

    def _answer_and_close(self, status: int, phrase: bytes, extra_headers: bytes, text: str, close=True) -> None:
        body = text.encode("utf-8")
        self.transport.write(b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
                             b"%sContent-Length: %d\r\n\r\n%s" % (status, phrase, extra_headers, len(body), body))
        if close:
            self.loseConnection()

    def _peer_host(self) -> str:
        return getattr(self.transport.getPeer(), "host", "?")

    def _now(self) -> float:
        return self.site.reactor.seconds()


class ConnectionLimit(WrappingFactory):
    """Twisted's WrappingFactory, holding at most `limit` connections (see the module's docstring)."""

    def __init__(self, wrapped_factory, limit: int, waiting: WaitingConnections, clock, report_every: float = 60.0):
        super().__init__(wrapped_factory)
        self.limit = limit
        self.waiting = waiting
        self.clock = clock
        self.report_every = report_every
        self.displaced_total = 0  # connections that took the place of a waiting one
        self.refused_total = 0  # connections closed at once, every open one being answered
        self._reported = (0, 0)  # the two totals at the last report
        self._report_call = None

    def buildProtocol(self, addr):
        if len(self.protocols) >= self.limit:
            oldest = self.waiting.take_oldest()
            if oldest is None:
                self.refused_total += 1
                self._limit_acted(addr)
                return None  # every connection is being answered: the port closes this one at once
            self.protocols.pop(oldest.transport, None)  # its place is taken now, whenever its close completes
            oldest.give_way()
            self.displaced_total += 1
            self._limit_acted(addr)
        return super().buildProtocol(addr)

    def unregisterProtocol(self, p):
        self.protocols.pop(p, None)  # a displaced connection was unregistered when it gave way

    def doStop(self):
        if self._report_call is not None and self._report_call.active():
            self._report_call.cancel()
        self._report_call = None
        super().doStop()

    def _limit_acted(self, addr) -> None:
        if self._report_call is None:
            log.warning("connection limit reached (--max-connections %d): a new connection (the first from %s) "
                        "takes the place of the one idle or still sending its request the longest, and is refused "
                        "when every one is being answered (reported at most every %g s while it lasts)",
                        self.limit, getattr(addr, "host", "?"), self.report_every)
            self._reported = (self.displaced_total, self.refused_total)
            self._report_call = self.clock.callLater(self.report_every, self._report)

    def _report(self):
        displaced = self.displaced_total - self._reported[0]
        refused = self.refused_total - self._reported[1]
        if not displaced and not refused:
            self._report_call = None  # quiet again: the next time the limit acts is reported at once
            return
        log.warning("connection limit still reached: in the last %g s %d more connections took the place of "
                    "waiting ones and %d were refused (--max-connections %d)", self.report_every, displaced,
                    refused, self.limit)
        self._reported = (self.displaced_total, self.refused_total)
        self._report_call = self.clock.callLater(self.report_every, self._report)


def listening_factory(site: http.HTTPFactory, limits: EdgeLimits, clock) -> ConnectionLimit:
    """What to listen with: `site` with a request deadline and an idle timeout, behind the connection limit."""
    waiting = WaitingConnections()
    site.timeOut = limits.idle_timeout
    # HTTP/2 would be negotiated only over TLS (ALPN), which this listener does not do: a plain channel
    site.protocol = partial(EdgeChannel, limits.request_deadline, waiting)
    return ConnectionLimit(site, limits.max_connections, waiting, clock)


__all__ = ["EdgeLimits", "EdgeChannel", "WaitingConnections", "ConnectionLimit", "listening_factory",
           "default_max_connections"]
