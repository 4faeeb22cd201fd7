"""What follows a handled message, by exchange pattern: events, asynchronous replies, pages.

All of it is written to the outbox inside the request's unit of work, so it happens if and
only if the request's effects commit, and the delivery worker sends it at least once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from .. import message as m
from ..bus import envelopes, fanout
from ..message import Error, Payload, Reply, codes, verbs
from ..profiles import SIGNED_INTERFACES, Noun, objects
from ..profiles.stream import compressed_item_count


@dataclass
class PatternConfig:
    page_size: int = 100  # objects per PARTIAL page of an asynchronous get
    max_items: int = 10_000  # a get finding more answers 3.1
    signed_interfaces: frozenset[str] = field(default_factory=lambda: SIGNED_INTERFACES)


def is_async(msg) -> bool:
    header = msg.header
    return isinstance(msg, m.RequestMessage) and bool(header.async_reply_flag) and bool(header.reply_address)


def wants_compressed(msg) -> bool:
    """A caller asks for a Compressed answer by sending Compressed, or with Request Option compress=true."""
    payload = getattr(msg, "payload", None)
    if payload is not None and payload.compressed is not None:
        return True
    request = getattr(msg, "request", None)
    return any(name.lower() == "compress" and (value or "").lower() in ("true", "1", "gzip")
               for name, value in (request.options if request else []))


def is_one_way(msg) -> bool:
    """AckRequired=false makes transactions, events and replies fire-and-forget (HTTP 202, no body).

    Never a query: a `get` exists to bring its data back, so it is answered whatever AckRequired
    says (asynchronously at ReplyAddress when it asked for that, else on the wire).
    """
    if msg.header.ack_required is not False:
        return False
    spec = verbs.REQUEST_VERBS.get(verbs.normalize(msg.header.verb))
    return not (isinstance(msg, m.RequestMessage) and spec is not None and spec.kind == "query")


def _item_count(noun: Noun, payload: Payload | None) -> int:
    if payload is None or noun is None:
        return 0
    return sum(len(objects.items(noun, doc)) for doc in payload.documents)


def limit_items(noun: Noun | None, reply: Reply, payload: Payload | None, config: PatternConfig):
    """A get that found more than the limit answers 3.1 instead of a payload nobody can handle
    (the items of a Compressed payload counted as a stream: profiles/stream.py)."""
    count = _item_count(noun, payload)
    if noun is not None and payload is not None and payload.compressed is not None:
        count += compressed_item_count(noun, payload.compressed)
    if count <= config.max_items:
        return reply, payload
    return Reply(result=codes.FAILED, errors=[Error(
        code="3.1", level="FATAL", reason=f"the request matches {count} {noun.item} objects; at most "
                                          f"{config.max_items} are answered: narrow it with Request/ID or "
                                          "StartTime/EndTime")]), None


def pages(noun: Noun | None, reply: Reply, payload: Payload | None, page_size: int) -> list[tuple[Reply, Payload]]:
    """A successful get's answer cut into pages: PARTIAL 0.1 while more follow, the last OK with 0.2."""
    if reply.result == codes.FAILED or noun is None or _item_count(noun, payload) <= page_size:
        return [(reply, payload)]
    items = [item for doc in payload.documents for item in objects.items(noun, doc)]
    chunks = [items[i:i + page_size] for i in range(0, len(items), page_size)]
    out = []
    for number, chunk in enumerate(chunks, start=1):
        last = number == len(chunks)
        # objects of several editions stay in a document of their own edition each
        docs = objects.documents(noun, [etree.fromstring(etree.tostring(item)) for item in chunk])
        if last:
            page_reply = Reply(result=codes.OK, errors=[Error(
                code="0.2", level="INFORM", reason=f"last part ({number} of {len(chunks)})")])
        else:
            page_reply = Reply(result=codes.PARTIAL, errors=[Error(
                code="0.1", level="INFORM", reason=f"part {number} of {len(chunks)}, more follow")])
        out.append((page_reply, Payload(documents=docs, format=payload.format)))
    return out


def page_size_for(request: m.RequestMessage, default: int) -> int:
    """Request Option pageSize=N asks for smaller (or larger) pages than the server's default."""
    for name, value in (request.request.options if request.request else []):
        if name.lower() == "pagesize" and (value or "").strip().isdigit() and int(value) > 0:
            return int(value)
    return default


def queue_async_replies(uow, request: m.RequestMessage, noun: Noun | None, reply: Reply, payload: Payload | None,
                        source: str, config: PatternConfig) -> int:
    """The real answers of an asynchronous request, in order, for its ReplyAddress."""
    header = request.header
    sign = noun is not None and noun.interface in config.signed_interfaces
    queued = 0
    for page_reply, page_payload in pages(noun, reply, payload, page_size_for(request, config.page_size)):
        answer = m.reply_to(header, page_reply, page_payload, source=source)
        outbound = envelopes.reply(answer)
        uow.outbox_add(destination=header.reply_address, soap_action=outbound.soap_action, body=outbound.body,
                       sign=sign, kind="reply", message_id=answer.header.message_id,
                       correlation_id=answer.header.correlation_id, noun=header.noun, verb="reply",
                       sequence_key=f"{header.reply_address}|{answer.header.correlation_id}")
        queued += 1
    return queued


def publish_follow_up_event(uow, msg, reply: Reply, source: str, config: PatternConfig) -> m.EventMessage | None:
    """After a successful transaction its past-tense event; an event received is passed on to subscribers."""
    if reply.result != codes.OK:
        return None
    if isinstance(msg, m.RequestMessage):
        event = m.event_for_request(msg, source)
    elif isinstance(msg, m.EventMessage):
        # passed on as an intermediary: a fresh MessageID, the conversation's CorrelationID kept
        header = m.Header(**{**msg.header.__dict__, "message_id": m.new_message_id(),
                             "correlation_id": m.correlation_for(msg.header)})
        event = m.EventMessage(header, msg.payload)
    else:
        return None
    if event is None or verbs.normalize(event.header.verb) not in verbs.EVENT_VERBS:
        return None
    fanout.publish(uow, event, config.signed_interfaces)
    return event


__all__ = ["PatternConfig", "is_async", "is_one_way", "wants_compressed", "limit_items", "pages", "queue_async_replies",
           "publish_follow_up_event"]
