"""How an outbound message is addressed: which Body element and soapAction a receiver expects.

A receiver is either a generic 61968 endpoint (PublishEvent, Response, Request of the
`http://iec.ch/TC57/2011/abstract` WSDL: the message itself in the Body) or a strongly typed
one (`Receive<Noun>` with `Created<Noun>` ..., the per-noun carrier elements).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import message as m
from ..message import soap, verbs
from ..profiles import GENERIC, get as get_noun

GENERIC_STYLE = "generic"
TYPED_STYLE = "typed"
STYLES = (GENERIC_STYLE, TYPED_STYLE)

_GENERIC_ACTION = {op.name: op.soap_action for op in GENERIC.operations}


@dataclass(frozen=True)
class Outbound:
    soap_action: str
    body: bytes  # an unsigned SOAP envelope; signing happens at send time


def _typed(msg, operation: str) -> Outbound:
    noun = get_noun(msg.header.noun)
    if noun is None:
        raise ValueError(f"no typed service for noun {msg.header.noun!r}; deliver it in the generic style")
    for service in noun.services():
        for op in service.operations:
            if op.name == operation:
                element = m.to_element(msg, wrapper=f"{{{noun.message_ns}}}{operation}", part_ns=noun.message_ns)
                return Outbound(op.soap_action, soap.to_bytes(soap.envelope(element)))
    raise ValueError(f"{noun.name} has no operation {operation}")


def event(msg: m.EventMessage, style: str) -> Outbound:
    """An event for a subscriber: its PublishEvent, or `<Verb><Noun>` of its Receive<Noun> service."""
    if style == TYPED_STYLE:
        return _typed(msg, f"{verbs.normalize(msg.header.verb).capitalize()}{msg.header.noun}")
    return Outbound(_GENERIC_ACTION["PublishEvent"], soap.to_bytes(soap.envelope(m.to_element(msg))))


def reply(msg: m.ResponseMessage) -> Outbound:
    """An asynchronous reply for a ReplyAddress: the generic Response operation."""
    return Outbound(_GENERIC_ACTION["Response"], soap.to_bytes(soap.envelope(m.to_element(msg))))


def request(msg: m.RequestMessage, style: str) -> Outbound:
    """A request forwarded to a backend: its generic Request, or `<Verb><Noun>` / `Get<Noun>` typed."""
    if style == TYPED_STYLE:
        return _typed(msg, f"{verbs.normalize(msg.header.verb).capitalize()}{msg.header.noun}")
    return Outbound(_GENERIC_ACTION["Request"], soap.to_bytes(soap.envelope(m.to_element(msg))))


__all__ = ["Outbound", "event", "reply", "request", "STYLES", "GENERIC_STYLE", "TYPED_STYLE"]
