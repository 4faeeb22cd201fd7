"""The exact XML of a 61968-100 message: every field in the schema's order, the standard namespace."""
from __future__ import annotations

from datetime import datetime

from lxml import etree

from . import codes
from .envelope import (_ENVELOPE_NAMESPACES, ID, Error, FaultMessage, Header, Message, Payload, Reply, Request,
                       RequestMessage, ResponseMessage, SE, E, _bool_text, format_time)
from .namespaces import MSG


def _text(parent, name: str, value) -> None:
    if value is None:
        return
    child = SE(parent, f"{{{MSG}}}{name}")
    if isinstance(value, bool):
        child.text = _bool_text(value)
    elif isinstance(value, datetime):
        child.text = format_time(value)
    else:
        child.text = str(value)


def _id(parent, name: str, ident: ID) -> None:
    el = SE(parent, f"{{{MSG}}}{name}")
    el.text = ident.value
    for attr, value in (("idType", ident.id_type), ("idAuthority", ident.id_authority),
                        ("kind", ident.kind), ("objectType", ident.object_type)):
        if value is not None:
            el.set(attr, value)


def build_header(parent, h: Header, tag: str | None = None) -> etree._Element:
    el = SE(parent, tag or f"{{{MSG}}}Header")
    _text(el, "Verb", h.verb)
    _text(el, "Noun", h.noun)
    _text(el, "Revision", h.revision)
    if h.replay_detection is not None:
        rd = SE(el, f"{{{MSG}}}ReplayDetection")
        _text(rd, "Nonce", h.replay_detection.nonce)
        _text(rd, "Created", h.replay_detection.created)
    _text(el, "Context", h.context)
    _text(el, "Timestamp", h.timestamp)
    _text(el, "Source", h.source)
    _text(el, "AsyncReplyFlag", h.async_reply_flag)
    _text(el, "ReplyAddress", h.reply_address)
    _text(el, "AckRequired", h.ack_required)
    if h.user is not None:
        user = SE(el, f"{{{MSG}}}User")
        _text(user, "UserID", h.user.user_id)
        _text(user, "Organization", h.user.organization)
    _text(el, "MessageID", h.message_id)
    _text(el, "CorrelationID", h.correlation_id)
    _text(el, "Comment", h.comment)
    for name, value in h.properties:
        prop = SE(el, f"{{{MSG}}}Property")
        _text(prop, "Name", name)
        _text(prop, "Value", value)
    for ext in h.extensions:
        el.append(_copy(ext))
    return el


def build_request(parent, r: Request, tag: str | None = None) -> etree._Element:
    el = SE(parent, tag or f"{{{MSG}}}Request")
    _text(el, "StartTime", r.start_time)
    _text(el, "EndTime", r.end_time)
    for name, value in r.options:
        opt = SE(el, f"{{{MSG}}}Option")
        _text(opt, "name", name)
        _text(opt, "value", value)
    for ident in r.ids:
        _id(el, "ID", ident)
    for query in r.queries:
        el.append(_copy(query))
    return el


def _build_error(parent, err: Error) -> None:
    el = SE(parent, f"{{{MSG}}}Error", nsmap=err.xpath_ns or None)
    _text(el, "code", err.code)
    _text(el, "level", err.level)
    _text(el, "reason", err.reason)
    _text(el, "details", err.details)
    _text(el, "xpath", err.xpath)
    _text(el, "stackTrace", err.stack_trace)
    if err.location is not None:
        loc = SE(el, f"{{{MSG}}}Location")
        _text(loc, "node", err.location.node)
        _text(loc, "pipeline", err.location.pipeline)
        _text(loc, "stage", err.location.stage)
    if err.id is not None:
        _id(el, "ID", err.id)
    if err.related_id is not None:
        _id(el, "relatedID", err.related_id)
    _text(el, "operationId", err.operation_id)


def build_reply(parent, r: Reply, tag: str | None = None) -> etree._Element:
    if r.result not in codes.RESULTS:
        raise ValueError(f"Reply/Result must be one of {codes.RESULTS}, not {r.result!r}")
    el = SE(parent, tag or f"{{{MSG}}}Reply")
    _text(el, "Result", r.result)
    errors = r.errors or ([Error(code="0.0")] if r.result == codes.OK else [])
    for err in errors:
        _build_error(el, err)
    for ident in r.ids:
        _id(el, "ID", ident)
    for ext in r.extensions:
        el.append(_copy(ext))
    _text(el, "operationId", r.operation_id)
    return el


def build_payload(parent, p: Payload, tag: str | None = None) -> etree._Element:
    el = SE(parent, tag or f"{{{MSG}}}Payload")
    if p.operation_set is not None:
        el.append(_copy(p.operation_set))
    elif p.compressed is not None:
        _text(el, "Compressed", p.compressed)
    elif p.documents:
        for doc in p.documents:
            el.append(_copy(doc))
    else:
        for ident in p.ids:
            _id(el, "ID", ident)
    _text(el, "Format", p.format)
    return el


def _copy(el: etree._Element) -> etree._Element:
    # Appending moves an lxml element; copying keeps the caller's tree intact. A copy carries
    # every namespace its old ancestors declared: drop the ones it does not use.
    if el.getparent() is None:
        return el
    copy = etree.fromstring(etree.tostring(el))
    # Only envelope namespaces are dropped: a profile prefix may be used inside text (xsi:type).
    keep = [prefix for prefix, uri in copy.nsmap.items() if prefix and uri not in _ENVELOPE_NAMESPACES]
    etree.cleanup_namespaces(copy, keep_ns_prefixes=keep)
    return copy


def to_element(msg: Message, wrapper: str | None = None, part_ns: str | None = None) -> etree._Element:
    """The message as an element.

    `wrapper` replaces the root tag (a strongly typed carrier such as
    `{http://iec.ch/TC57/2011/MeterReadingsMessage}MeterReadingsResponseMessage`), and
    `part_ns` is the namespace of its Header/Request/Reply/Payload children, as the per-noun
    schemas declare them locally; their own content stays in the message namespace.
    """
    root = E(wrapper or f"{{{MSG}}}{msg.kind}", nsmap={"m": MSG})
    ns = part_ns or MSG

    def tag(name: str) -> str:
        return f"{{{ns}}}{name}"

    if isinstance(msg, FaultMessage):
        build_reply(root, msg.reply, tag("Reply"))
        return root
    build_header(root, msg.header, tag("Header"))
    if isinstance(msg, RequestMessage) and msg.request is not None:
        build_request(root, msg.request, tag("Request"))
    if isinstance(msg, ResponseMessage):
        build_reply(root, msg.reply, tag("Reply"))
    if getattr(msg, "payload", None) is not None:
        build_payload(root, msg.payload, tag("Payload"))
    return root


def to_bytes(msg: Message, **kw) -> bytes:
    return etree.tostring(to_element(msg, **kw), encoding="utf-8", xml_declaration=True)
