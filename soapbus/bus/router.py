"""Routing, the bus role: requests for a (noun, verb, context) go on to the backend that serves them.

Each leg is its own message: the forwarded request gets a MessageID of its own, derived
from the caller's Source and MessageID (so a re-delivery of the caller's request is
forwarded under the same leg MessageID, and the backend, idempotent by MessageID, acts once),
this bus as Source (the caller's is kept as a Property), and the conversation's
CorrelationID. The leg is written to the outbox before it is sent, so it is delivered at
least once even if this process dies; a synchronous caller's first attempt is made at once on
the reactor (no thread waits for the backend), and the caller gets the backend's answer
re-addressed to it. A caller's retries meet the same leg (a unique index), never a new one. Where the
interface requires it, the leg is signed with this server's key.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from .. import message as m
from ..message import MessageError, soap
from . import envelopes

# A fixed namespace for leg MessageIDs: uuid5(namespace, source|message_id|endpoint).
LEG_NAMESPACE = uuid.UUID("5d0c3a52-8a39-4b8e-9d0c-61968a100b05")
ORIGINAL_SOURCE = "soapbus.originalSource"


def leg_message_id(header: m.Header, endpoint: str) -> str:
    return str(uuid.uuid5(LEG_NAMESPACE, f"{header.source or ''}|{header.message_id}|{endpoint}"))


def forwarded(request: m.RequestMessage, endpoint: str, source: str) -> m.RequestMessage:
    """The request as this bus sends it on: its own MessageID and Source, the same conversation."""
    header = m.Header(**{**request.header.__dict__})
    header.message_id = leg_message_id(request.header, endpoint)
    header.correlation_id = m.correlation_for(request.header)
    header.timestamp = m.now()
    header.properties = [*request.header.properties, (ORIGINAL_SOURCE, request.header.source)]
    header.source = source
    return m.RequestMessage(header, request.request, request.payload)


@dataclass
class LegAnswer:
    reply: m.Reply
    payload: m.Payload | None
    raw: bytes | None  # the backend's answer as it came, for the journal
    header: m.Header | None = None  # its Header, for the journal's columns


def backend_answer(answer: bytes | None, error: str | None) -> LegAnswer | None:
    """The backend's ResponseMessage, or None when it did not give one."""
    if not answer:
        return None
    try:
        unwrapped = soap.unwrap(answer)
        if soap.read_fault(unwrapped.envelope) is not None:
            return None
        response = m.parse(unwrapped.message, "ResponseMessage")
    except MessageError:
        return None
    return LegAnswer(response.reply, response.payload, answer, response.header)


def best_route(routes, noun: str, verb: str, context: str | None):
    """The most specific route for a request: verb and context, then verb, then context, then noun only."""
    def rank(route) -> tuple[int, int]:
        return (route.verb is None, route.context is None)

    fitting = [r for r in routes if r.noun == noun and r.verb in (None, verb) and r.context in (None, context)]
    return min(fitting, key=rank) if fitting else None


def origin_of(header: m.Header) -> str:
    """The caller's conversation a leg belongs to: "Source|MessageID"."""
    return f"{header.source or ''}|{header.message_id}"


def queue(uow, route, request: m.RequestMessage, source: str, sign: bool):
    """The forwarded leg in the outbox: written now, or the one an earlier retry of the same caller
    message wrote (one leg per caller Source, MessageID and backend); returns it (an OutboxItem)."""
    leg = forwarded(request, route.endpoint, source)
    outbound = envelopes.request(leg, route.style)
    return uow.outbox_add_leg(origin=origin_of(request.header), destination=route.endpoint,
                              soap_action=outbound.soap_action, body=outbound.body, sign=sign or route.signed,
                              message_id=leg.header.message_id, correlation_id=leg.header.correlation_id,
                              noun=leg.header.noun, verb=leg.header.verb)


__all__ = ["best_route", "leg_message_id", "forwarded", "backend_answer", "queue", "origin_of", "LegAnswer", "ORIGINAL_SOURCE"]
