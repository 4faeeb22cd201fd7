"""The shared request queue: with --broker, every node takes inbound 61968 requests from RabbitMQ.

Each message of the durable queue (`--broker-requests`, default `soapbus.requests`, bound to the
topic exchange `soapbus.requests` with the 61968-100 topics `<Context>.REQUESTS.<Noun>.<verb>`)
is a SOAP envelope, as it would be POSTed to the operation's endpoint, or a bare RequestMessage;
its AMQP properties `message_id`, `correlation_id` and `reply_to` are the broker's side of the
61968 MessageID, CorrelationID and ReplyAddress.

1. **On the reactor**: the node's consumer (a channel of the relay's connection, bus/broker.py:
   it reconnects by itself and attaches this consumer again) holds at most `prefetch` messages
   unacknowledged; each goes to the thread pool as a `QueuedRequest`.
2. **In the pool** (`QueueReader.answer`): read exactly as an HTTP request is (server/reading.py:
   the hardened parser, the operation its Body element names, the guard's signature check and
   decisions: I1 and I9 still need WS-Security signatures), then `Processor.process`: checks,
   the (Source, MessageID) claim, handler, journal, commit. A redelivered message meets its claim
   and gets the stored answer; nothing acts twice.
3. **On the reactor again**: the answer is published to `reply_to` (default exchange, routing
   key = reply_to) with the correlation id, persistent, with publisher confirms; the delivery is
   acknowledged only once the broker confirmed the answer, or at once for a message with nothing
   to answer (one-way, or no reply_to). A message that cannot be read (the poison message) is
   answered with the FAILED Fault (a 61968 FaultMessage), journaled and acknowledged: it is not
   redelivered forever. While the database is away the node keeps the messages it holds and tries
   them again every `RETRY_AFTER` seconds (they are not answered 5.2: the broker holds the work).

A node killed between its commit and the acknowledgement loses nothing: the broker redelivers
the message, and idempotency answers it with the stored reply (a requester may then get the same
answer twice, with the same AMQP message_id: deduplicate by it). A second delivery of one message
(the broker's `redelivered`, or this node's retry) is not refused as a replay of its signature:
its first delivery remembered it and may have died before its commit (Guard.verify).
"""
from __future__ import annotations

import logging
import os
import re
import socket
from dataclasses import dataclass, replace

from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool

from ..message import RequestMessage
from ..store import StoreUnavailable
from . import logformat
from .config import BrokerRequests
from .faults import SERVER, failed_fault, fatal
from .guard import Guard
from .memory import large_requests
from .patterns import is_async
from .pipeline import InboundCall, Outcome, Processor
from .reading import read_any_service, refuse_unread

log = logging.getLogger(__name__)

RETRY_AFTER = 5.0  # seconds before a held message is tried again while the database is away
REATTACH_AFTER = 2.0  # seconds before the consumer's channel is opened again after the broker closed it
REFUSED_SAMPLE = 64 * 1024  # bytes of a too large message the journal keeps
# The answer's Header/MessageID, for the AMQP message_id: the answers are soapbus's own serialisation
# (or its stored bytes), whose first MessageID element is the Header's.
_ANSWER_MESSAGE_ID = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?MessageID>([^<]{1,200})</")


@dataclass(frozen=True)
class QueuedRequest:
    """What the pool gets of one delivery, taken from it on the reactor."""

    body: bytes
    message_id: str | None  # the AMQP properties as the sender set them
    correlation_id: str | None
    reply_to: str | None
    user_id: str | None  # checked by RabbitMQ against the sender's login, when set
    redelivered: bool  # delivered before: by the broker (never acknowledged), or tried before by this node


@dataclass(frozen=True)
class QueueAnswer:
    """The pool's verdict on one delivery."""

    outcome: Outcome | None  # None: not processed (the database is away); tried again later
    reply_to: str | None = None  # the queue the answer is published to; None: answered nowhere
    correlation_id: str | None = None  # the AMQP correlation_id of the answer


def reply_queue(request: QueuedRequest, call: InboundCall | None) -> str | None:
    """Where the answer goes: the AMQP reply_to (a `queue:` prefix allowed), else a synchronous
    request's ReplyAddress `queue:NAME` (an asynchronous one's replies go there through the outbox;
    its acknowledgement goes only to reply_to)."""
    if request.reply_to:
        return request.reply_to.removeprefix("queue:")
    header = call.message.header if call is not None else None
    if header is None or not (header.reply_address or "").startswith("queue:"):
        return None
    if isinstance(call.message, RequestMessage) and is_async(call.message):
        return None
    return header.reply_address.removeprefix("queue:") or None


def answer_correlation(request: QueuedRequest, call: InboundCall | None) -> str | None:
    """The AMQP correlation_id of the answer: the request's correlation id, else its message id (the
    broker's and the 61968 ones alike, as a 61968 reply's CorrelationID is made)."""
    if request.correlation_id or request.message_id:
        return request.correlation_id or request.message_id
    header = call.message.header if call is not None else None
    return (header.correlation_id or header.message_id) if header is not None else None


class QueueReader:
    """In the pool: one delivery read and processed as an HTTP request would be."""

    def __init__(self, processor: Processor, guard: Guard, max_body_bytes: int, queue: str, is_ready=lambda: True):
        self.processor = processor
        self.guard = guard
        self.max_body_bytes = max_body_bytes
        self.is_ready = is_ready  # the DatabaseWatch's verdict
        self.origin = f"amqp:{queue} at node {socket.gethostname()}:{os.getpid()}"  # journaled as the peer

    def peer(self, request: QueuedRequest) -> str:
        return f"{self.origin}, user {request.user_id}" if request.user_id else self.origin

    def answer(self, request: QueuedRequest) -> QueueAnswer:
        with logformat.request_scope():
            if not self.is_ready():
                return QueueAnswer(None)
            try:
                return self._answer(request)
            except StoreUnavailable:  # the database went away under it: nothing was done
                return QueueAnswer(None)

    def _answer(self, request: QueuedRequest) -> QueueAnswer:
        peer = self.peer(request)
        if len(request.body) > self.max_body_bytes:
            refusal = refuse_unread(self.processor, request.body[:REFUSED_SAMPLE], peer, fatal("3.1", (
                f"the message is larger than this server's limit of {self.max_body_bytes} bytes; "
                "send fewer objects per message or a Compressed payload")))
            return QueueAnswer(refusal, reply_queue(request, None), answer_correlation(request, None))
        large = large_requests.started(len(request.body))
        call = None
        try:
            refusal, call = read_any_service(request.body, self.processor, self.guard, peer, request.redelivered)
            outcome = refusal if refusal is not None else self.processor.process(call)
            return QueueAnswer(outcome, reply_queue(request, call), answer_correlation(request, call))
        finally:
            call = None  # the parsed tree goes now, so that the trim can hand its memory back
            if large:
                large_requests.done()


def queued_request(received) -> QueuedRequest:
    """On the reactor: the typed values of a pika delivery (ReceivedMessage) the pool needs."""
    props = received.properties
    return QueuedRequest(body=received.body, message_id=props.message_id, correlation_id=props.correlation_id,
                         reply_to=props.reply_to, user_id=props.user_id, redelivered=received.method.redelivered)


class RequestQueue:
    """On the reactor: the consumer of the shared request queue, and the publisher of its answers."""

    def __init__(self, reactor, threadpool, reader: QueueReader, settings: BrokerRequests, timeout: float = 10.0):
        from ..bus.broker import _pika

        self.pika = _pika()
        self.reactor = reactor
        self.threadpool = threadpool
        self.reader = reader
        self.settings = settings
        self.timeout = timeout  # seconds the broker has to confirm an answer
        self._attempt = 0  # failed attempts to start consuming in a row

    # ------------------------------------------------------------ the consumer

    def attach(self, connection) -> None:
        """Open the consumer's channel on a (new) connection of the relay; errors logged, retried."""
        d = self._consume(connection)
        d.addErrback(self._attach_failed, connection)

    @defer.inlineCallbacks
    def _consume(self, connection):
        s = self.settings
        channel = yield self._queue_channel(connection)
        yield channel.confirm_delivery()
        yield channel.basic_qos(prefetch_count=s.prefetch)
        if s.topics:
            yield channel.exchange_declare(exchange=s.exchange, exchange_type="topic", durable=True)
            for topic in s.topics:
                yield channel.queue_bind(queue=s.queue, exchange=s.exchange, routing_key=topic)
        deliveries, _tag = yield channel.basic_consume(queue=s.queue, auto_ack=False)
        channel.on_closed.addBoth(self._channel_closed, connection)
        self._attempt = 0
        log.warning("taking requests from the broker's queue %s (%s; at most %d at once)", s.queue,
                    f"bound to {s.exchange} as {', '.join(s.topics)}" if s.topics else "no topic bindings",
                    s.prefetch)
        while True:
            try:
                received = yield deliveries.get()
            except Exception as exc:  # the channel closed (its unacknowledged deliveries go back to the queue),
                if channel.is_open:  # or the broker cancelled the consumer (the queue was deleted): start over
                    log.warning("the broker stopped the request queue's consumer (%s); declaring it again", exc)
                    channel.close()
                return
            self._take(received)

    @defer.inlineCallbacks
    def _queue_channel(self, connection):
        """A channel on which the queue exists: as an operator declared it (a quorum queue, a dead-letter
        exchange: its arguments are kept), else declared here, durable."""
        channel = yield connection.channel()
        try:
            yield channel.queue_declare(queue=self.settings.queue, passive=True)
            return channel
        except self.pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != 404:  # 404: not there yet; anything else (403 ...) is a real refusal
                raise
        channel = yield connection.channel()  # the broker closed the one that asked
        yield channel.queue_declare(queue=self.settings.queue, durable=True)
        return channel

    def _attach_failed(self, failure, connection) -> None:
        delay = min(REATTACH_AFTER * 2 ** self._attempt, 60.0)  # a lasting refusal is logged every minute at most
        self._attempt += 1
        log.error("cannot take requests from the broker's queue %s: %s: %s; trying again in %g s",
                  self.settings.queue, type(failure.value).__name__, failure.value, delay)
        self.reactor.callLater(delay, self._reattach, connection)

    def _channel_closed(self, reason, connection) -> None:
        """The broker closed the consumer's channel alone (the relay reattaches after a reconnect)."""
        if connection.is_open:
            problem = getattr(reason, "value", reason)
            log.warning("the broker closed the request queue's channel (%s); opening it again", problem)
            self.reactor.callLater(REATTACH_AFTER, self._reattach, connection)

    def _reattach(self, connection) -> None:
        if connection.is_open:
            self.attach(connection)

    # ------------------------------------------------------------ one delivery

    def _take(self, received) -> None:
        self._run(received, queued_request(received))

    def _run(self, received, request: QueuedRequest) -> None:
        d = deferToThreadPool(self.reactor, self.threadpool, self.reader.answer, request)
        d.addErrback(self._failed, request)
        d.addCallback(self._settle, received, request)
        d.addErrback(self._settle_failed, received)

    def _retry(self, received, request: QueuedRequest) -> None:
        """The held delivery tried again (the same message: a redelivery), unless its channel closed
        meanwhile, which gave it back to the broker."""
        if received.channel.is_open:
            self._run(received, replace(request, redelivered=True))

    def _settle_failed(self, failure, received):
        """Answering failed after the pool's work (the bus role's later answer): the message goes back to
        the queue rather than hold its place; its claim, if it was made, answers the next delivery."""
        log.error("answering a queued request failed; it goes back to the queue: %s", failure.getTraceback())
        return self._requeue_later(received, REATTACH_AFTER)

    def _failed(self, failure, request: QueuedRequest) -> QueueAnswer:
        """A failure of the server itself: answered 5.3 as over HTTP (nothing was claimed: the sender may retry)."""
        log.error("unhandled error answering a queued request: %s", failure.getTraceback())
        body = failed_fault(fatal("5.3", "the server failed while answering; the message may be sent again with "
                                         "the same MessageID"), SERVER)
        return QueueAnswer(Outcome(500, body), reply_queue(request, None), answer_correlation(request, None))

    def _settle(self, answer: QueueAnswer, received, request: QueuedRequest):
        outcome = answer.outcome
        if outcome is None:  # the database is away: held, and tried again a little later
            self.reactor.callLater(RETRY_AFTER, self._retry, received, request)
            return None
        if outcome.later is not None:  # the bus role: the backend's answer comes on the reactor
            return outcome.later().addCallback(
                lambda later: self._settle(replace(answer, outcome=later), received, request))
        if not outcome.body or answer.reply_to is None:  # one-way, or nobody to answer: done at the commit
            return self._ack(received)
        d = self._publish(received.channel, answer, outcome)
        d.addCallbacks(lambda _: self._ack(received), self._not_published, errbackArgs=(received, answer, outcome))
        return d

    def _publish(self, channel, answer: QueueAnswer, outcome: Outcome):
        found = _ANSWER_MESSAGE_ID.search(outcome.body)
        properties = self.pika.BasicProperties(
            content_type="text/xml; charset=utf-8", delivery_mode=2, correlation_id=answer.correlation_id,
            message_id=found.group(1).decode("utf-8", "replace") if found else None,
            type="fault" if outcome.status >= 500 else "reply")
        d = channel.basic_publish(exchange="", routing_key=answer.reply_to, body=outcome.body,
                                  properties=properties, mandatory=True)
        return d.addTimeout(self.timeout, self.reactor)

    def _not_published(self, failure, received, answer: QueueAnswer, outcome: Outcome):
        if isinstance(failure.value, self.pika.exceptions.UnroutableError):
            # No queue of that name: nobody waits for it. The answer is journaled and kept for a re-send.
            log.warning("no queue %r to answer a queued request in (correlation id %s); the answer is in the "
                        "journal", answer.reply_to, answer.correlation_id)
            return self._ack(received)
        problem = f"{type(failure.value).__name__}: {failure.value}"
        if outcome.status >= 500:  # a refusal: journaled; delivered again it would only be refused again
            log.warning("the broker did not confirm the refusal of a queued request (%s); it is in the journal",
                        problem)
            return self._ack(received)
        log.warning("the broker did not confirm the answer to a queued request (%s); the request goes back to the "
                    "queue, to be answered from the journal", problem)
        return self._requeue_later(received, 0.5)

    def _ack(self, received) -> None:
        try:
            received.channel.basic_ack(delivery_tag=received.method.delivery_tag)
        except Exception as exc:  # the channel closed meanwhile: the broker redelivers, idempotency answers
            log.info("could not acknowledge a queued request (%s); the broker will deliver it again", exc)

    def _requeue_later(self, received, after: float):
        def requeue():
            try:
                received.channel.basic_nack(delivery_tag=received.method.delivery_tag, requeue=True)
            except Exception:  # the channel closed meanwhile: the broker requeued it already
                pass
        d = defer.Deferred()
        self.reactor.callLater(after, lambda: (requeue(), d.callback(None)))
        return d


def take_requests(reactor, threadpool, relay, processor: Processor, guard: Guard, settings: BrokerRequests,
                  max_body_bytes: int, is_ready) -> RequestQueue:
    """Consume the shared request queue on every connection the relay makes."""
    reader = QueueReader(processor, guard, max_body_bytes, settings.queue, is_ready)
    consumer = RequestQueue(reactor, threadpool, reader, settings, timeout=relay.timeout)
    relay.when_connected(consumer.attach)
    return consumer


__all__ = ["QueuedRequest", "QueueAnswer", "QueueReader", "RequestQueue", "take_requests", "reply_queue"]
