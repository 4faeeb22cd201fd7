"""RabbitMQ as the scale-out transport: the outbox relayed through an AMQP broker (pika, on Twisted).

With `soapbus serve --broker amqp://user:password@host:5672/vhost`:

* every past-tense event is also published to the durable topic exchange `soapbus.events` with
  routing key `<Noun>.<verb>` (`EndDeviceControls.created`): at start the server subscribes the
  destination `topic:soapbus.events` to every event, so the event's outbox row is written in the
  transaction that caused it, like any subscriber's;
* an asynchronous reply, or any outbox message, whose destination is `queue:NAME` goes to that
  durable queue (declared if missing), `topic:NAME` to that topic exchange (routing key
  `<Noun>.<verb>`; replies `<Noun>.reply`);
* the message is the same SOAP envelope an HTTP receiver would get, persistent, with the
  61968 MessageID and CorrelationID as AMQP properties and the SOAPAction, noun and verb as
  headers; consumers deduplicate by message_id, as HTTP receivers do by MessageID.

The relay publishes with publisher confirms: the outbox row is marked delivered only after the
broker confirmed the message (a queue message the broker could not route is returned and retried).
While the broker cannot be reached, or a connection drops, nothing is lost: the rows stay pending,
retried by time like any delivery, and relayed when the connection is back (the relay reconnects
by itself). Nodes without --broker never lease queue:/topic: rows.
"""
from __future__ import annotations

import logging

from twisted.internet import defer, protocol

from ..store import OutboxItem
from .answers import DELIVERED, RETRY, Verdict

log = logging.getLogger(__name__)

EVENTS_EXCHANGE = "soapbus.events"
EVENTS_DESTINATION = f"topic:{EVENTS_EXCHANGE}"
RECONNECT_AFTER = (0.5, 1.0, 2.0, 5.0)  # seconds between connection attempts, the last repeated


def routing_key(item: OutboxItem) -> str:
    return f"{item.noun or 'Unknown'}.{item.verb or 'unknown'}"


def _pika():
    """pika, imported only when a broker is configured (ValueError saying how to get it otherwise)."""
    try:
        import pika
        from pika.adapters.twisted_connection import TwistedProtocolConnection  # noqa: F401 - checked here
    except ImportError:
        raise ValueError("the RabbitMQ client pika is not installed: pip install 'soapbus[broker]' (or pika)") from None
    return pika


def check_url(url: str):
    """The broker URL's parameters (pika.URLParameters), or ValueError naming what is wrong with it."""
    pika = _pika()
    if not url.startswith(("amqp://", "amqps://")):
        raise ValueError(f"{url!r} is not an AMQP URL: give amqp://user:password@host:5672/vhost")
    try:
        return pika.URLParameters(url)
    except Exception as exc:  # pika raises several types for a malformed URL
        raise ValueError(f"cannot read the broker URL: {exc}") from None


class BrokerRelay:
    def __init__(self, reactor, url: str, timeout: float = 10.0, tls_policy=None):
        """tls_policy: bus.tls.DestinationTlsPolicy, for amqps:// (its CA and client certificate for
        the broker's origin, else the defaults); pika's own TLS settings do not reach a Twisted transport."""
        self.reactor = reactor
        self.parameters = check_url(url)
        self.tls = None  # the client connection creator of an amqps:// broker
        if self.parameters.ssl_options is not None:
            if tls_policy is None:
                raise ValueError("amqps:// needs TLS support (pyOpenSSL: pip install 'Twisted[tls]')")
            self.tls = tls_policy.creator_for("amqps", self.parameters.host, self.parameters.port)
        self.safe_url = f"{'amqps' if self.tls is not None else 'amqp'}://{self.parameters.host}:{self.parameters.port}{'/' + self.parameters.virtual_host}"
        self.timeout = timeout
        self.channel = None
        self.connection = None
        self.down_since_logged = False
        self._declared: set[tuple[str, str]] = set()
        self._attempt = 0
        self._stopping = False
        self.last_problem = "not connected yet"
        self._on_connected: list = []  # called with each new connection (the request queue's consumer)

    # ------------------------------------------------------------ connection

    def start(self) -> None:
        self._connect()

    def when_connected(self, attach) -> None:
        """attach(connection) on every connection this relay makes (now too, if it is connected): a
        user of the same connection opens its own channel there, and is called again after a reconnect."""
        self._on_connected.append(attach)
        if self.channel is not None and self.connection is not None and self.connection.is_open:
            attach(self.connection)

    def stop(self) -> None:
        self._stopping = True
        if self.connection is not None and self.connection.is_open:
            self.connection.close()

    def _connect(self) -> None:
        from pika.adapters.twisted_connection import TwistedProtocolConnection

        creator = protocol.ClientCreator(self.reactor, TwistedProtocolConnection, self.parameters)
        if self.tls is not None:  # amqps://: TLS to the broker, its certificate checked against its host name
            d = creator.connectSSL(self.parameters.host, self.parameters.port, self.tls, timeout=self.timeout)
        else:
            d = creator.connectTCP(self.parameters.host, self.parameters.port, timeout=self.timeout)
        d.addCallback(lambda conn: conn.ready.addCallback(lambda _: conn))
        d.addCallback(self._open_channel)
        d.addErrback(self._lost)

    @defer.inlineCallbacks
    def _open_channel(self, connection):
        self.connection = connection
        channel = yield connection.channel()
        yield channel.confirm_delivery()
        yield channel.exchange_declare(exchange=EVENTS_EXCHANGE, exchange_type="topic", durable=True)
        self._declared = {("exchange", EVENTS_EXCHANGE)}
        self.channel = channel
        self._attempt = 0
        log.warning("message broker connected: %s", self.safe_url)
        channel.on_closed.addBoth(self._channel_closed)
        for attach in self._on_connected:
            attach(connection)

    def _channel_closed(self, reason) -> None:
        self.channel = None
        if self.connection is not None and self.connection.is_open:
            self.connection.close()
        self._lost(reason)

    def _lost(self, reason) -> None:
        self.channel = None
        if self._stopping:
            return
        problem = getattr(reason, "value", reason)
        self.last_problem = f"{type(problem).__name__}: {problem}".strip()
        delay = RECONNECT_AFTER[min(self._attempt, len(RECONNECT_AFTER) - 1)]
        self._attempt += 1
        if self._attempt == 1:
            log.warning("message broker %s not available (%s); messages for it wait in the outbox",
                        self.safe_url, self.last_problem)
        self.reactor.callLater(delay, self._connect)

    # ------------------------------------------------------------ publishing

    def publish(self, item: OutboxItem, body: bytes) -> defer.Deferred:
        """Publish one outbox message and wait for the broker's confirm; fires with a Verdict."""
        channel = self.channel
        if channel is None:
            return defer.succeed(Verdict(RETRY, None, f"message broker not connected ({self.last_problem})"))
        d = self._publish(channel, item, body)
        d.addTimeout(self.timeout, self.reactor)
        d.addCallbacks(lambda _: Verdict(DELIVERED, None),
                       lambda failure: Verdict(RETRY, None, f"the broker did not confirm it: "
                                                            f"{type(failure.value).__name__}: {failure.value}"))
        return d

    @defer.inlineCallbacks
    def _publish(self, channel, item: OutboxItem, body: bytes):
        scheme, _, name = item.destination.partition(":")
        properties = _pika().BasicProperties(
            content_type="text/xml; charset=utf-8", delivery_mode=2, message_id=item.message_id,
            correlation_id=item.correlation_id, type=item.kind,
            headers={"SOAPAction": item.soap_action or "", "noun": item.noun or "", "verb": item.verb or ""})
        if scheme == "queue":
            if ("queue", name) not in self._declared:
                yield channel.queue_declare(queue=name, durable=True)
                self._declared.add(("queue", name))
            result = yield channel.basic_publish(exchange="", routing_key=name, body=body, properties=properties,
                                                 mandatory=True)
        else:
            if ("exchange", name) not in self._declared:
                yield channel.exchange_declare(exchange=name, exchange_type="topic", durable=True)
                self._declared.add(("exchange", name))
            result = yield channel.basic_publish(exchange=name, routing_key=routing_key(item), body=body,
                                                 properties=properties)
        return result


def subscribe_events(store) -> None:
    """Make sure every event is also written for the broker's topic exchange (idempotent)."""
    from ..store import DuplicateSubscription

    try:
        store.subscription_add(EVENTS_DESTINATION)
    except DuplicateSubscription:
        pass


def keep_events_subscribed(reactor, threadpool, store, every: float = 5.0) -> None:
    """subscribe_events in the pool once the database lets it (tried again every `every` seconds)."""
    from twisted.internet.threads import deferToThreadPool

    def attempt():
        d = deferToThreadPool(reactor, threadpool, subscribe_events, store)
        d.addErrback(lambda failure: (log.debug("events subscription for the broker not made yet: %s",
                                                failure.value), reactor.callLater(every, attempt)))

    reactor.callWhenRunning(attempt)


__all__ = ["BrokerRelay", "EVENTS_EXCHANGE", "EVENTS_DESTINATION", "routing_key", "check_url", "subscribe_events",
           "keep_events_subscribed"]
