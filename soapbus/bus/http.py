"""Outbound HTTP on Twisted's asynchronous client: no thread is held while a receiver answers.

One `HttpSender` per server: an `Agent` over a persistent `HTTPConnectionPool`, so deliveries
to one receiver reuse their connections (up to the per-destination limit). Each POST has a
deadline for the whole exchange (connect, send, answer); when it passes, the request is
cancelled and its connection closed. An answer larger than `max_answer` is cut off and counted
as a failed attempt rather than held in memory.
"""
from __future__ import annotations

from dataclasses import dataclass

from twisted.internet import defer, protocol
from twisted.internet.error import TimeoutError as TwistedTimeout
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.web.client import (Agent, BrowserLikePolicyForHTTPS, HTTPConnectionPool, ResponseDone,
                                _StandardEndpointFactory)
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgentEndpointFactory, IBodyProducer
from zope.interface import implementer

from .tls import tls_failure_reason

DEFAULT_MAX_ANSWER = 64 * 1024 * 1024


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]  # lower-case names, the first value of each
    body: bytes

    def get(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class AnswerTooLarge(Exception):
    pass


@implementer(IBodyProducer)
class _Bytes:
    def __init__(self, data: bytes):
        self.body = data
        self.length = len(data)

    def startProducing(self, consumer):  # noqa: N802 - Twisted's interface
        consumer.write(self.body)
        return defer.succeed(None)

    def pauseProducing(self):  # noqa: N802
        pass

    def resumeProducing(self):  # noqa: N802
        pass

    def stopProducing(self):  # noqa: N802
        pass


class _Collect(protocol.Protocol):
    def __init__(self, finished: defer.Deferred, limit: int):
        self.finished, self.limit, self.parts, self.size = finished, limit, [], 0

    def dataReceived(self, data):  # noqa: N802
        self.size += len(data)
        if self.size > self.limit:
            self.transport.stopProducing()  # closes the connection; connectionLost follows
            return
        self.parts.append(data)

    def connectionLost(self, reason=protocol.connectionDone):  # noqa: N802
        if self.finished is None:
            return
        finished, self.finished = self.finished, None
        if self.size > self.limit:
            finished.errback(AnswerTooLarge(f"answer larger than {self.limit} bytes"))
        elif reason.check(ResponseDone, PotentialDataLoss):
            finished.callback(b"".join(self.parts))
        else:
            finished.errback(reason)


@implementer(IAgentEndpointFactory)
class _NoDelayEndpoints:
    """Twisted's own endpoints, with Nagle's algorithm off: a request's head and body go out as two
    writes, and with Nagle on the body waits for the receiver's delayed ACK (40 ms on Linux)."""

    def __init__(self, standard):
        self.standard = standard

    def endpointForURI(self, uri):  # noqa: N802 - Twisted's interface
        return _NoDelay(self.standard.endpointForURI(uri))


@implementer(IStreamClientEndpoint)
class _NoDelay:
    def __init__(self, endpoint):
        self.endpoint = endpoint

    def connect(self, factory):
        def no_delay(proto):
            transport = getattr(proto, "transport", None)
            if transport is not None and hasattr(transport, "setTcpNoDelay"):
                transport.setTcpNoDelay(True)
            return proto

        return self.endpoint.connect(factory).addCallback(no_delay)


class HttpSender:
    def __init__(self, reactor, per_destination: int = 8, max_answer: int = DEFAULT_MAX_ANSWER,
                 connect_timeout: float = 10.0, tls_policy=None):
        """tls_policy: the IPolicyForHTTPS of https destinations (bus/tls.py: per-origin CA and client
        certificate); None: Twisted's default (the system's trust store, no client certificate)."""
        self.reactor = reactor
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.pool.maxPersistentPerHost = per_destination
        self.pool.cachedConnectionTimeout = 60
        endpoints = _NoDelayEndpoints(_StandardEndpointFactory(reactor, tls_policy or BrowserLikePolicyForHTTPS(),
                                                               connect_timeout, None))
        self.agent = Agent.usingEndpointFactory(reactor, endpoints, pool=self.pool)
        self.max_answer = max_answer

    def post(self, url: str, soap_action: str | None, body: bytes, timeout: float) -> defer.Deferred:
        """POST a SOAP 1.1 envelope; fires with an HttpAnswer, or fails (TimeoutError on the deadline)."""
        headers = Headers({b"Content-Type": [b"text/xml; charset=utf-8"],
                           b"SOAPAction": [f'"{soap_action or ""}"'.encode("latin-1", "replace")]})
        try:
            d = self.agent.request(b"POST", url.encode("ascii", "strict"), headers, _Bytes(body))
        except (UnicodeEncodeError, ValueError) as exc:
            return defer.fail(ValueError(f"not a usable http(s) URL: {exc}"))
        d.addCallback(self._read)
        d.addTimeout(timeout, self.reactor)
        return d

    def _read(self, response) -> defer.Deferred:
        finished: defer.Deferred = defer.Deferred()
        response.deliverBody(_Collect(finished, self.max_answer))
        headers = {name.decode("latin-1").lower(): values[0].decode("latin-1")
                   for name, values in response.headers.getAllRawHeaders()}
        return finished.addCallback(lambda body: HttpAnswer(response.code, headers, body))

    def close(self) -> defer.Deferred:
        return self.pool.closeCachedConnections()


def describe_failure(failure) -> str:
    """A one-line reason for a failed POST."""
    if failure.check(TwistedTimeout, defer.TimeoutError, defer.CancelledError):
        return "no answer within the timeout"
    value = failure.value
    tls = tls_failure_reason(value)
    if tls is not None:
        return tls
    reasons = getattr(value, "reasons", None)  # ResponseFailed / RequestTransmissionFailed wrap failures
    if reasons:
        return "; ".join(describe_failure(r) for r in reasons)
    return f"{type(value).__name__}: {value}".strip()


__all__ = ["HttpSender", "HttpAnswer", "AnswerTooLarge", "describe_failure"]
