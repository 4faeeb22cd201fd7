"""Building the answers a request gets: replies, acknowledgements, events."""
from __future__ import annotations

from . import codes
from .envelope import (Error, EventMessage, Header, Payload, Reply, RequestMessage, ResponseMessage,
                       new_message_id, now)
from .verbs import REPLY_VERB, event_for


def correlation_for(request: Header) -> str | None:
    """A reply's CorrelationID: the request's CorrelationID, else its MessageID."""
    return request.correlation_id or request.message_id


def reply_header(request: Header, source: str | None) -> Header:
    return Header(verb=REPLY_VERB, noun=request.noun, revision=request.revision, context=request.context,
                  timestamp=now(), source=source, message_id=new_message_id(),
                  correlation_id=correlation_for(request))


def reply_to(request: Header, reply: Reply, payload: Payload | None = None,
             source: str | None = None) -> ResponseMessage:
    return ResponseMessage(reply_header(request, source), reply, payload)


def failed(code: str, reason: str, **error_fields) -> Reply:
    return Reply(result=codes.FAILED, errors=[Error(code=code, level="FATAL", reason=reason, **error_fields)])


def ok(*ids) -> Reply:
    return Reply(result=codes.OK, errors=[Error(code="0.0")], ids=list(ids))


def acknowledgement() -> Reply:
    return Reply(result=codes.OK, errors=[Error(code="0.3", level="INFORM", reason="accepted, reply follows")])


def event_for_request(request: RequestMessage, source: str | None) -> EventMessage | None:
    """The past-tense event a successful transaction publishes, with the request's payload."""
    verb = event_for(request.header.verb)
    if verb is None:
        return None
    header = Header(verb=verb, noun=request.header.noun, context=request.header.context, timestamp=now(),
                    source=source, message_id=new_message_id(),
                    correlation_id=correlation_for(request.header))
    return EventMessage(header, request.payload)
