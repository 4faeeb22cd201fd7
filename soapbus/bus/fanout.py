"""Publish/subscribe: an event goes to every subscriber whose filters match, through the outbox.

Called inside the unit of work of the change that caused the event, so the event is queued
if and only if the change commits. Subscriptions live in the database (`soapbus
subscriptions ...`, or the admin API), so every worker process fans out the same way.
"""
from __future__ import annotations

from .. import message as m
from ..message import verbs
from ..profiles import get as get_noun
from . import envelopes


def publish(uow, event: m.EventMessage, signed_interfaces=frozenset()) -> list[int]:
    """Queue `event` for each matching subscriber; returns the outbox ids."""
    verb = verbs.normalize(event.header.verb)
    noun = get_noun(event.header.noun)
    must_sign = noun is not None and noun.interface in signed_interfaces
    queued = []
    for sub in uow.subscriptions_matching(event.header.noun, verb, event.header.context):
        outbound = envelopes.event(event, sub.style)
        queued.append(uow.outbox_add(
            destination=sub.endpoint, soap_action=outbound.soap_action, body=outbound.body,
            sign=must_sign or sub.signed, kind="event", message_id=event.header.message_id,
            correlation_id=event.header.correlation_id, noun=event.header.noun, verb=verb,
            sequence_key=f"{sub.endpoint}|{event.header.noun}"))
    return queued


__all__ = ["publish"]
