"""The path of one inbound 61968 message: check, deduplicate, handle, answer, journal.

Runs in a worker thread (never on the reactor). Everything a message causes — the journal
rows for the request and the answer, the idempotency claim, the handler's changes — is
written in one database transaction that commits before the answer leaves, so a crash can
lose neither half.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Callable

from lxml import etree

from ..message import (HEADER_FIELDS, Error, Header, MessageError, Payload, Reply, RequestMessage,
                       ResponseMessage, codes, parse_bytes, soap, verbs)
from ..message import envelope as env
from ..message.envelope import DEFAULT_MAX_INFLATED
from ..message.xml import DEFAULT_LIMITS, ParseLimits
from ..message.replies import acknowledgement, reply_to
from ..profiles import Noun, Operation, Service
from ..profiles import get as get_noun
from ..profiles import validate_documents, verb_allowed
from ..profiles.stream import STREAM_FROM_BYTES, StreamedDocument
from ..bus import router
from ..handlers import TRY_AGAIN_CODES, HandlerRegistry, HandlerResult, Identity
from ..handlers.contract import StreamedDocuments
from ..security import PendingMemories, SecurityFault
from ..store import StoreUnavailable
from . import patterns
from .tls import PeerCertificate
from .calling import HandlerCrashed
from .faults import CLIENT, failed_fault, fatal
from .dispatch import Dispatcher

log = logging.getLogger(__name__)

ROUTES_TTL = 2.0  # seconds a worker keeps the routing table before reading it again
MAX_ID_LENGTH = 200  # MessageIDs are indexed; PostgreSQL b-tree entries must stay well under 2.7 kB


@dataclass
class InboundCall:
    raw: bytes
    envelope: etree._Element  # the SOAP envelope as it arrived (Spyne dispatches on its Body)
    message: RequestMessage | ResponseMessage | EventMessage  # the one reading every decision is taken from
    service: Service
    operation: Operation
    peer: str | None  # the caller's address; over mutual TLS followed by "(TLS client <subject>)"
    sign: Callable[[etree._Element], etree._Element] | None = None  # signs the answer envelope, if it must be
    carrier_ns: str | None = None  # the Body operation element's namespace: typed answers are written in it
    tls_client: PeerCertificate | None = None  # the client certificate the TLS handshake verified (mutual TLS)
    signer: str | None = None  # RFC 4514 subject of the verified signing certificate; None when unsigned
    # What the replay memory learns of a signed request: written in the first unit of work the
    # request commits (see Processor._unit_of_work), not in a transaction of its own
    replay: PendingMemories | None = None


@dataclass
class Outcome:
    status: int  # HTTP status
    body: bytes  # a whole SOAP envelope
    journal_id: int | None = None
    # Not answered yet (the bus role waits for a backend on the reactor): called on the reactor,
    # returns a Deferred that fires with the Outcome to send instead of this one.
    later: Callable[[], object] | None = None
    headers: tuple[tuple[str, str], ...] = ()  # HTTP headers beside Content-Type and Content-Length (Retry-After)


class Rejection(Exception):
    """A message refused before any handler ran; carries the 61968 Error that says why."""

    def __init__(self, error: Error):
        super().__init__(error.reason)
        self.error = error


def _error(code: str, reason: str, **kw) -> Error:
    return Error(code=code, level="FATAL", reason=reason, **kw)


def _from_message_error(exc: MessageError) -> Error:
    details = exc.details or (f"at {exc.xpath}" if exc.xpath else None)
    return _error(exc.code, exc.reason, details=details)


class Processor:
    def __init__(self, store, registry: HandlerRegistry, source: str, required_header_fields=("MessageID",),
                 pattern_config: patterns.PatternConfig | None = None,
                 parse_limits: ParseLimits = DEFAULT_LIMITS, max_inflated: int = DEFAULT_MAX_INFLATED,
                 stream_from: int = STREAM_FROM_BYTES):
        self.store = store
        self.stream_from = stream_from  # inflated bytes from which a Compressed payload is read as a stream
        self.replay_refused: Callable[[], None] | None = None  # told of each request refused as a replay
        self.parse_limits = parse_limits  # what an inflated Compressed payload may cost to parse
        self.max_inflated = max_inflated
        self.registry = registry
        self.source = source
        self.required_header_fields = tuple(required_header_fields)
        self.patterns = pattern_config or patterns.PatternConfig()
        self.dispatcher = Dispatcher(registry, source, self.patterns)  # handlers, middleware, OperationSets
        self.delivery = None  # the DeliveryEngine, set by the server: forwarded requests need it
        self.forward_timeout = 10.0  # seconds a synchronous caller's forwarded request may take
        self._routes: list = []
        self._routes_read_at = float("-inf")

    # ------------------------------------------------------------ entry

    def process(self, call: InboundCall) -> Outcome:
        try:
            return self._process(call)
        except _Replayed as replayed:  # its transaction rolled back: the WS-Security fault, journaled alone
            if self.replay_refused is not None:
                self.replay_refused()
            fault = replayed.fault
            return self.journal_refusal(call.raw, call.peer, soap.to_bytes(fault.fault_envelope()),
                                        fatal(fault.code, fault.reason), 500)

    def _process(self, call: InboundCall) -> Outcome:
        msg = call.message
        try:
            noun = self._check(call, msg)
        except Rejection as rej:
            return self._answer_rejected(call, msg, rej.error)
        try:
            route = self._route_for(msg)
            if route is not None:
                return self._forward(call, msg, noun, route)
            return self._handle(call, msg, noun)
        except Rejection as rej:  # payload problems found while handling (compressed, OperationSet)
            return self._answer_rejected(call, msg, rej.error)

    @contextmanager
    def _unit_of_work(self, call: InboundCall):
        """The store's unit of work for one request, its replay memories written first (the
        signature's SignedInfo digest, its Nonce): a repeat of an accepted signed message rolls the
        transaction back and is refused with the WS-Security fault; what the request commits, the
        memory commits with it, in one transaction instead of one of its own."""
        pending = call.replay
        with self.store.unit_of_work() as uow:
            if pending is not None and not pending.remembered:
                try:
                    pending.write(uow)
                except SecurityFault as fault:
                    raise _Replayed(fault) from None
            yield uow
        if pending is not None:
            pending.remembered = True

    # ------------------------------------------------------------ checks

    def _check(self, call: InboundCall, msg) -> Noun | None:
        header: Header = msg.header
        for name in self.required_header_fields:
            if not getattr(header, HEADER_FIELDS[name], None):
                raise Rejection(_error("1.5", f"mandatory Header/{name} is missing", details=f"at Header/{name}"))
        if header.message_id and len(header.message_id) > MAX_ID_LENGTH:
            raise Rejection(_error("1.8", f"Header/MessageID is {len(header.message_id)} characters long; "
                                          f"at most {MAX_ID_LENGTH} are accepted (a UUID has 36)",
                                   details="at Header/MessageID"))
        verb = verbs.normalize(header.verb)
        if verb not in verbs.ALL_VERBS:
            raise Rejection(_error("2.9", f"{header.verb!r} is not a 61968 verb", details="at Header/Verb"))
        if not _verb_fits(call.operation, verb, msg):
            raise Rejection(_error("2.9", f"verb {verb!r} does not belong in operation {call.operation.name}",
                                   details="at Header/Verb"))
        payload = getattr(msg, "payload", None)
        if payload is not None and payload.operation_set is not None and verb != "execute":
            raise Rejection(_error("1.8", f"a Payload/OperationSet is carried by execute, not by {verb}",
                                   details="at Payload/OperationSet"))
        if isinstance(msg, ResponseMessage):
            return get_noun(header.noun)
        if header.noun == "OperationSet" and verb == "execute":
            # Each Operation names its noun and the set's handler checks it; on a typed Execute<Noun>
            # service the set keeps to that service's noun, which is what this returns.
            if msg.payload is None or msg.payload.operation_set is None:
                raise Rejection(_error("1.7", "Header/Noun OperationSet needs a Payload/OperationSet",
                                       details="at Payload/OperationSet"))
            return get_noun(call.service.noun) if call.service.noun else None
        noun = get_noun(header.noun)
        if noun is None or (call.service.noun and call.service.noun != header.noun):
            served = call.service.noun or "the nouns listed at /endpoints.json"
            raise Rejection(_error("2.5", f"noun {header.noun!r} is not served here (this endpoint serves {served})",
                                   details="at Header/Noun"))
        if not verb_allowed(noun, verb):
            raise Rejection(_error("2.9", f"verb {verb!r} is not offered for noun {noun.name!r}",
                                   details="at Header/Verb"))
        if isinstance(msg, RequestMessage):
            spec = verbs.REQUEST_VERBS[verb]
            if spec.carries_payload and (msg.payload is None or _is_empty(msg.payload)):
                raise Rejection(_error("1.7", f"{verb} needs a Payload with a {noun.name} document",
                                       details="at Payload"))
        return noun

    # ------------------------------------------------------------ handling

    def _handle(self, call: InboundCall, msg, noun: Noun | None) -> Outcome:
        documents = self._documents(msg, noun)
        header = msg.header
        try:
            with self._unit_of_work(call) as uow:
                _claim(uow, header)
                result = self._run_handler(uow, call, msg, noun, documents)
                _refuse_to_keep_try_again(result)
                reply, payload = patterns.limit_items(noun, result.reply, result.payload, self.patterns)
                payload = _shaped_payload(msg, payload)
                patterns.publish_follow_up_event(uow, msg, reply, self.source, self.patterns)
                if patterns.is_async(msg):  # the answer goes to ReplyAddress; the caller gets 0.3 now
                    patterns.queue_async_replies(uow, msg, noun, reply, payload, self.source, self.patterns)
                    answer = reply_to(header, acknowledgement(), source=self.source)
                else:
                    answer = reply_to(header, reply, payload, source=self.source)
                in_id = uow.journal("in", call.raw, header=header, kind=msg.kind, peer=call.peer,
                                    outcome="processed", reply_code=_first_code(reply))
                if patterns.is_one_way(msg):  # no answer on the wire, and none for a re-delivery
                    if header.message_id:
                        uow.set_reply(header.source, header.message_id, b"", in_id)
                    return Outcome(202, b"", in_id)
                body, out_id = self._record_answer(uow, call, msg, answer, _first_code(answer.reply), in_id)
            return Outcome(200, body, out_id)
        except _AlreadyClaimed:  # another worker claimed it between our look-up and our insert
            return self._answer_already_claimed(call, msg)
        except HandlerCrashed as crash:  # rolled back and not claimed: the sender may retry
            return self._answer_rejected(call, msg, _error("5.3", crash.reason), outcome="failed")
        except _TryAgain as again:  # likewise: nothing was done, the same message may come again
            return self._answer_rejected(call, msg, again.error, outcome="failed")

    def _record_answer(self, uow, call: InboundCall, msg, answer, reply_code, related_id) -> tuple[bytes, int]:
        """Journal the answer and keep it, unsigned, for re-delivery; returns the bytes for the wire."""
        body, unsigned = self._answer_bytes(call, answer)
        out_id = uow.journal("out", body, header=answer.header, kind=answer.kind, peer=call.peer,
                             outcome="replied", reply_code=reply_code, related_id=related_id)
        if msg.header.message_id:  # kept unsigned: a re-delivery gets it signed afresh
            uow.set_reply(msg.header.source, msg.header.message_id, unsigned, out_id)
        return body, out_id

    def _answer_already_claimed(self, call: InboundCall, msg) -> Outcome:
        previous = self.store.stored_reply(msg.header.source, msg.header.message_id)
        if previous is None:  # the other worker has not committed its answer yet
            return self._answer_rejected(call, msg, _error(
                "5.1", "a message with this MessageID is being processed right now; send it again shortly"),
                outcome="busy")
        return self._answer_duplicate(call, msg, previous)

    def _run_handler(self, uow, call: InboundCall, msg, noun: Noun | None, documents) -> HandlerResult:
        """The handler's (or the OperationSet's) answer, its middleware around it (server/dispatch.py)."""
        identity = Identity(source=msg.header.source, signer=call.signer, peer=call.peer,
                            interface=noun.interface if noun is not None else call.service.interface)
        return self.dispatcher.respond(uow, identity, msg, noun, documents)

    # ------------------------------------------------------------ routing (the bus role)

    def _route_for(self, msg):
        if not isinstance(msg, RequestMessage) or self.delivery is None:
            return None
        now = time.monotonic()
        if now - self._routes_read_at > ROUTES_TTL:  # routes change rarely; every worker re-reads them soon
            self._routes, self._routes_read_at = self.store.route_list(), now
        return router.best_route(self._routes, msg.header.noun, verbs.normalize(msg.header.verb), msg.header.context)

    def _forward(self, call: InboundCall, msg: RequestMessage, noun: Noun | None, route) -> Outcome:
        """Send the request on to its backend through the outbox; a synchronous caller gets its answer.

        One leg per (caller Source, MessageID, backend), however often the caller retries. The
        attempt is made on the reactor (no thread waits for the backend): this returns an Outcome
        whose `later` gives the answer. The caller is answered 5.1 at once while the backend's
        circuit is open or its leg is in flight elsewhere; the leg stays queued and is delivered."""
        self._documents(msg, noun)  # the bus refuses what the backend would: invalid payloads stop here
        header = msg.header
        previous = self.store.stored_reply(header.source, header.message_id) if header.message_id else None
        if previous is not None:  # answered before: repeat it rather than send another leg
            return self._answer_duplicate(call, msg, previous)
        sign = noun is not None and noun.interface in self.patterns.signed_interfaces
        if patterns.is_async(msg):  # the backend answers the caller's ReplyAddress itself
            try:
                with self._unit_of_work(call) as uow:
                    _claim(uow, header)
                    router.queue(uow, route, msg, self.source, sign)
                    in_id = uow.journal("in", call.raw, header=header, kind=msg.kind, peer=call.peer,
                                        outcome="routed", reason=f"forwarded to {route.endpoint}")
                    answer = reply_to(header, acknowledgement(), source=self.source)
                    body, out_id = self._record_answer(uow, call, msg, answer, "0.3", in_id)
                return Outcome(200, body, out_id)
            except _AlreadyClaimed:
                return self._answer_already_claimed(call, msg)
        with self._unit_of_work(call) as uow:
            leg = router.queue(uow, route, msg, self.source, sign)
            uow.journal("in", call.raw, header=header, kind=msg.kind, peer=call.peer, outcome="routed",
                        reason=f"forwarded to {route.endpoint} (outbox {leg.id})")
        if leg.status == "delivered" and leg.answer:  # delivered meanwhile: the backend's answer is kept
            answered = router.backend_answer(leg.answer, None)
            if answered is not None:
                return self._answer_from_backend(call, msg, route, leg, answered)
        engine = self.delivery
        not_now = _leg_not_sendable(leg) or engine.circuit_open(route.endpoint)
        if not_now is not None:
            return self._backend_unavailable(call, msg, route, not_now)
        if not self.store.outbox_take(leg.id, engine.name, engine.policy.lease_seconds):  # in flight already
            return Outcome(200, b"", later=lambda: self._await_leg(call, msg, route, leg))
        body, problem = engine.prepare(leg)
        if body is None:
            self.store.outbox_release(leg.id, engine.name)
            return self._backend_unavailable(call, msg, route, problem)
        return Outcome(200, b"", later=lambda: self._forward_now(call, msg, route, leg, body))

    def _forward_now(self, call: InboundCall, msg: RequestMessage, route, leg, body: bytes):
        """On the reactor: the leg's attempt; fires with the caller's Outcome (made in the pool)."""
        engine = self.delivery
        started = engine.send_now(leg, body, self.forward_timeout)
        if started is None:  # the backend's lane filled up or its circuit opened since
            def busy():
                self.store.outbox_release(leg.id, engine.name)
                return self._backend_unavailable(call, msg, route, engine.circuit_open(route.endpoint)
                                                 or "as many requests as allowed are in flight to it")
            return engine.in_pool(busy)
        return started.addCallback(lambda verdict: engine.in_pool(self._forward_answered, call, msg, route, leg,
                                                                  verdict))

    def _await_leg(self, call: InboundCall, msg: RequestMessage, route, leg):
        """On the reactor: the caller's retry meets its leg in flight here; its answer is the caller's."""
        engine = self.delivery
        watching = engine.watch(leg.id)
        if watching is None:  # another node holds it
            return engine.in_pool(self._backend_unavailable, call, msg, route,
                                  "this request's leg is being sent to it right now")
        watching.addTimeout(self.forward_timeout, engine.reactor)
        watching.addErrback(lambda _failure: None)
        return watching.addCallback(lambda verdict: engine.in_pool(
            self._forward_answered, call, msg, route, leg, verdict) if verdict is not None else engine.in_pool(
            self._backend_unavailable, call, msg, route, "no answer within the forwarding timeout"))

    def _forward_answered(self, call: InboundCall, msg: RequestMessage, route, leg, verdict) -> Outcome:
        answered = router.backend_answer(verdict.answer, verdict.error) if verdict.delivered else None
        try:
            if answered is None:
                return self._backend_unavailable(call, msg, route, verdict.error or "no 61968 reply")
            return self._answer_from_backend(call, msg, route, leg, answered)
        except StoreUnavailable:  # the database went away under the answer: 5.2 (server/outage.py)
            from .outage import outage_outcome

            return outage_outcome()

    def _answer_from_backend(self, call: InboundCall, msg: RequestMessage, route, leg, answered) -> Outcome:
        """The caller's answer re-addressed from the backend's; the conversation's other legs close."""
        header = msg.header
        try:
            with self._unit_of_work(call) as uow:
                _claim(uow, header)
                back_id = uow.journal("in", answered.raw, header=answered.header, kind="ResponseMessage",
                                      peer=route.endpoint,
                                      outcome="processed", reply_code=_first_code(answered.reply),
                                      reason="the backend's answer to a forwarded request")
                answer = reply_to(header, answered.reply, answered.payload, source=self.source)
                body, out_id = self._record_answer(uow, call, msg, answer, _first_code(answered.reply), back_id)
                uow.outbox_close_legs(leg.origin, leg.id, f"the conversation was answered through outbox {leg.id}")
            return Outcome(200, body, out_id)
        except _AlreadyClaimed:
            return self._answer_already_claimed(call, msg)

    def _backend_unavailable(self, call: InboundCall, msg, route, why: str) -> Outcome:
        return self._answer_rejected(call, msg, _error("5.1", (
            f"the system behind this bus ({route.endpoint}) did not answer: {why}; the request stays queued "
            "and will be delivered; send it again later with the same MessageID for the answer")),
            outcome="routed-pending")

    # ------------------------------------------------------------ answers that skip the handler

    def _answer_rejected(self, call: InboundCall, msg, error: Error, outcome: str = "rejected") -> Outcome:
        response = reply_to(msg.header, Reply(result=codes.FAILED, errors=[error]), source=self.source)
        body, _ = self._answer_bytes(call, response)
        return self._journal_pair(call.raw, call.peer, msg.header, msg.kind, body, response.header,
                                  "ResponseMessage", outcome, error, 200, call)

    def refuse_unparsed(self, raw: bytes, peer: str | None, service: Service, exc: MessageError) -> Outcome:
        """No usable message: answer a SOAP Fault carrying a 61968 FaultMessage, as the standard says."""
        error = _from_message_error(exc)
        body = failed_fault(error, CLIENT, lambda fault: _wrap(service, fault))
        return self._journal_pair(raw, peer, None, "unparsed", body, None, "SOAPFault", "rejected", error, 500)

    def _answer_duplicate(self, call: InboundCall, msg, previous: bytes) -> Outcome:
        if not previous:  # a one-way message: no answer the first time, none now
            with self._unit_of_work(call) as uow:
                in_id = uow.journal("in", call.raw, header=msg.header, kind=msg.kind, peer=call.peer,
                                    outcome="duplicate", reason="MessageID already processed (one-way)")
            return Outcome(202, b"", in_id)
        if call.sign is not None:  # same answer, fresh Timestamp and signature
            previous = soap.to_bytes(call.sign(parse_bytes(previous, "stored reply")))
        earlier = _stored_answer(previous)  # our own bytes: for the journal's columns only
        with self._unit_of_work(call) as uow:
            in_id = uow.journal("in", call.raw, header=msg.header, kind=msg.kind, peer=call.peer,
                                outcome="duplicate", reason="MessageID already processed; earlier reply repeated")
            out_id = uow.journal("out", previous, header=earlier.header if earlier else None, kind="ResponseMessage",
                                 peer=call.peer, outcome="replied", reason="repeat of the earlier reply",
                                 reply_code=_first_code(earlier.reply) if earlier else None, related_id=in_id)
        return Outcome(200, previous, out_id)

    def journal_refusal(self, raw: bytes, peer, body: bytes, error: Error, status: int) -> Outcome:
        """Record a request refused before it could be read as a 61968 message, and its answer."""
        return self._journal_pair(raw, peer, None, "unparsed", body, None, "SOAPFault", "rejected", error, status)

    def _journal_pair(self, raw, peer, header, kind, body, out_header, out_kind, outcome, error, status,
                      call: InboundCall | None = None) -> Outcome:
        with (self._unit_of_work(call) if call is not None else self.store.unit_of_work()) as uow:
            in_id = uow.journal("in", raw, header=header, kind=kind, peer=peer, outcome=outcome,
                                reply_code=error.code, reason=error.reason)
            out_id = uow.journal("out", body, header=out_header, kind=out_kind, peer=peer, outcome="replied",
                                 reply_code=error.code, reason=error.reason, related_id=in_id)
        return Outcome(status, body, out_id)

    # ------------------------------------------------------------ shapes on the wire

    def _answer_bytes(self, call: InboundCall, message) -> tuple[bytes, bytes]:
        """(bytes for the wire, bytes to keep for re-delivery): signed and unsigned where signing applies."""
        envelope = soap.envelope(_wrap(call.service, message, call.carrier_ns))
        unsigned = soap.to_bytes(envelope)
        if call.sign is None:
            return unsigned, unsigned
        return soap.to_bytes(call.sign(envelope)), unsigned

    def _documents(self, msg, noun: Noun | None) -> Sequence[etree._Element]:
        """The payload's documents, validated; a large Compressed one validated as a stream and kept
        as one (profiles/stream.py), so that a handler reading its items never makes it a tree."""
        payload = getattr(msg, "payload", None)
        if payload is None or noun is None or payload.operation_set is not None:
            return []
        try:
            stream = (StreamedDocument.of(noun, payload.compressed, self.max_inflated, self.parse_limits,
                                          self.stream_from)
                      if payload.compressed is not None else None)
            if stream is not None:
                errors = stream.check()
                documents = StreamedDocuments(stream)
            else:
                documents = payload.expanded_documents(self.max_inflated, self.parse_limits)
                errors = validate_documents(noun.name, documents)
        except MessageError as exc:
            raise Rejection(_from_message_error(exc)) from None
        if errors:
            raise Rejection(errors[0] if len(errors) == 1 else _several(errors))
        return documents


def _wrap(service: Service, message, carrier_ns: str | None = None) -> etree._Element:
    """Typed services answer `<Noun>ResponseMessage` in the per-noun namespace the request's carrier
    used (a 2015 WSDL's caller is answered in 2015's); the generic one plain."""
    if service.noun is None:
        return env.to_element(message)
    ns = carrier_ns or service.message_ns
    return env.to_element(message, wrapper=f"{{{ns}}}{service.noun}{message.kind}", part_ns=ns)


def _stored_answer(stored: bytes) -> ResponseMessage | None:
    """The ResponseMessage of an answer this server stored for re-delivery (None if it was a fault)."""
    try:
        unwrapped = soap.unwrap(stored)
        if soap.read_fault(unwrapped.envelope) is not None:
            return None
        return env.parse(unwrapped.message, "ResponseMessage")
    except MessageError:
        return None


class _AlreadyClaimed(Exception):
    pass


class _Replayed(Exception):
    """A signed request the replay memory had seen: refused with `fault` (InvalidSecurity)."""

    def __init__(self, fault: SecurityFault):
        super().__init__(fault.reason)
        self.fault = fault


def _claim(uow, header: Header) -> None:
    """Take (Source, MessageID) for this transaction; a second delivery of it cannot."""
    if header.message_id and not uow.claim(header.source, header.message_id):
        raise _AlreadyClaimed()


class _TryAgain(Exception):
    """An answer that only says "not now" (TRY_AGAIN_CODES): not kept, so the same message may come again."""

    def __init__(self, error: Error):
        super().__init__(error.reason)
        self.error = error


def _refuse_to_keep_try_again(result: HandlerResult) -> None:
    reply = result.reply
    failures = [e for e in reply.errors if not codes.is_success(e.code)]
    if reply.result == codes.FAILED and failures and all(e.code in TRY_AGAIN_CODES for e in failures):
        raise _TryAgain(failures[0])


def _leg_not_sendable(leg) -> str | None:
    """Why a caller's leg is not sent now, whatever its backend: it was given up or closed."""
    if leg.status == "dead":
        return f"delivery was given up ({leg.dead_cause}: {leg.last_error}); `soapbus outbox replay {leg.id}` " \
               "queues it again"
    if leg.status in ("delivered", "closed"):
        return f"its leg is {leg.status} but no 61968 answer was kept ({leg.last_error or 'none given'})"
    return None


def _first_code(reply: Reply) -> str | None:
    if reply.errors:
        return reply.errors[0].code
    return "0.0" if reply.result == codes.OK else None


def _several(errors: list[Error]) -> Error:
    first = errors[0]
    first.reason = f"{first.reason} (and {len(errors) - 1} more schema errors)"
    return first


def _shaped_payload(msg, payload: Payload | None) -> Payload | None:
    if payload is None or len(payload.documents) != 1 or not patterns.wants_compressed(msg):
        return payload
    return Payload.compress(payload.documents[0], payload.format)


def _is_empty(payload: Payload) -> bool:
    return not (payload.documents or payload.operation_set is not None or payload.compressed or payload.ids)


def expected_kind(service: Service, operation: Operation) -> str:
    """Which message kind an operation carries: the generic operations say it, typed roles imply it."""
    if service.role == "Generic":
        return {"Request": "RequestMessage", "Response": "ResponseMessage",
                "PublishEvent": "EventMessage"}[operation.name]
    return "EventMessage" if service.role == "Receive" else "RequestMessage"


def _verb_fits(operation: Operation, verb: str, msg) -> bool:
    if operation.verb == "*request":
        return verb in verbs.REQUEST_VERBS
    if operation.verb == "*event":
        return verb in verbs.EVENT_VERBS
    return verb == operation.verb
