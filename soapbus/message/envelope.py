"""The 61968-100 message envelope as plain data, and its exact XML form.

Parsing accepts both spellings of the message namespace and the strongly typed carriers
(`<CreateMeterReadings>` whose Header/Request/Payload children sit in the per-noun message
namespace); building always emits the standard namespace, every field in the schema's order.
Profile documents inside a Payload stay lxml elements: they are never mapped to objects here.
"""
from __future__ import annotations

import base64
import gzip
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

from . import codes
from .errors import MessageError
from .namespaces import ABSTRACT, MSG, MSG_ACCEPTED, SOAP11_ENV

_ENVELOPE_NAMESPACES = (*MSG_ACCEPTED, SOAP11_ENV, ABSTRACT)

E = etree.Element
SE = etree.SubElement


def new_message_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(timezone.utc)


def format_time(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("61968 timestamps carry a zone; got a naive datetime")
    return t.isoformat()


def parse_time(text: str, where: str) -> datetime:
    value = (text or "").strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MessageError("1.8", f"{where} is not an xs:dateTime: {value!r}", xpath=where) from None
    if parsed.tzinfo is None:  # xs:dateTime allows no zone; 61968 systems mean UTC when they omit it
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _parse_bool(text: str, where: str) -> bool:
    value = (text or "").strip()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise MessageError("1.8", f"{where} is not an xs:boolean: {value!r}", xpath=where)


# ---------------------------------------------------------------- data


@dataclass
class ID:
    value: str
    id_type: str | None = None
    id_authority: str | None = None
    kind: str | None = None  # name | uuid | transaction | other
    object_type: str | None = None


@dataclass
class ReplayDetection:
    nonce: str
    created: datetime


@dataclass
class User:
    user_id: str
    organization: str | None = None


@dataclass
class Header:
    verb: str
    noun: str
    revision: str | None = None
    replay_detection: ReplayDetection | None = None
    context: str | None = None
    timestamp: datetime | None = None
    source: str | None = None
    async_reply_flag: bool | None = None
    reply_address: str | None = None
    ack_required: bool | None = None
    user: User | None = None
    message_id: str | None = None
    correlation_id: str | None = None
    comment: str | None = None
    properties: list[tuple[str, str | None]] = field(default_factory=list)
    extensions: list[etree._Element] = field(default_factory=list)


@dataclass
class Request:
    start_time: datetime | None = None
    end_time: datetime | None = None
    options: list[tuple[str, str | None]] = field(default_factory=list)
    ids: list[ID] = field(default_factory=list)
    # A Get<Noun> query element (or other extension); overrides the simple filters.
    queries: list[etree._Element] = field(default_factory=list)


@dataclass
class Location:
    node: str | None = None
    pipeline: str | None = None
    stage: str | None = None


@dataclass
class Error:
    code: str
    level: str | None = None
    reason: str | None = None
    details: str | None = None
    xpath: str | None = None  # an xs:QName (prefix:local); the full path goes in details
    xpath_ns: dict[str, str] = field(default_factory=dict)  # prefix bindings for xpath
    stack_trace: str | None = None
    location: Location | None = None
    id: ID | None = None
    related_id: ID | None = None
    operation_id: int | None = None


@dataclass
class Reply:
    result: str
    errors: list[Error] = field(default_factory=list)
    ids: list[ID] = field(default_factory=list)
    extensions: list[etree._Element] = field(default_factory=list)
    operation_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.result == codes.OK


@dataclass
class Payload:
    documents: list[etree._Element] = field(default_factory=list)
    operation_set: etree._Element | None = None
    compressed: str | None = None  # base64 text of a gzip stream
    ids: list[ID] = field(default_factory=list)
    format: str | None = None

    @classmethod
    def compress(cls, document: etree._Element, fmt: str | None = "XML") -> "Payload":
        raw = etree.tostring(document, encoding="utf-8")
        return cls(compressed=base64.b64encode(gzip.compress(raw)).decode("ascii"), format=fmt)

    def expanded_documents(self, parser=None) -> list[etree._Element]:
        """The profile documents, inflating a Compressed payload where there is one."""
        if self.compressed is None:
            return list(self.documents)
        from .xml import parse_bytes  # local: xml imports envelope-free helpers only

        try:
            raw = gzip.decompress(base64.b64decode(self.compressed, validate=False))
        except (ValueError, OSError, EOFError) as exc:
            raise MessageError("1.8", f"Payload/Compressed is not base64 of gzip: {exc}",
                               xpath="Payload/Compressed") from None
        return [parse_bytes(raw, what="Payload/Compressed")]


@dataclass
class RequestMessage:
    header: Header
    request: Request | None = None
    payload: Payload | None = None
    kind = "RequestMessage"


@dataclass
class ResponseMessage:
    header: Header
    reply: Reply
    payload: Payload | None = None
    kind = "ResponseMessage"


@dataclass
class EventMessage:
    header: Header
    payload: Payload | None = None
    kind = "EventMessage"


@dataclass
class FaultMessage:
    reply: Reply
    kind = "FaultMessage"


Message = RequestMessage | ResponseMessage | EventMessage | FaultMessage
KINDS = ("RequestMessage", "ResponseMessage", "EventMessage", "FaultMessage")


# ---------------------------------------------------------------- building


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


# ---------------------------------------------------------------- parsing


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _ns(el) -> str | None:
    return etree.QName(el).namespace if isinstance(el.tag, str) else None


def _children(el):
    return [c for c in el if isinstance(c.tag, str)]


def _is_msg(el) -> bool:
    return _ns(el) in MSG_ACCEPTED


def _child_text(el, name: str) -> str | None:
    for c in _children(el):
        if _is_msg(c) and _local(c) == name:
            return (c.text or "").strip()
    return None


def _parse_id(el) -> ID:
    return ID(value=(el.text or "").strip(), id_type=el.get("idType"), id_authority=el.get("idAuthority"),
              kind=el.get("kind"), object_type=el.get("objectType"))


def parse_header(el) -> Header:
    fields: dict = {"properties": [], "extensions": []}
    for c in _children(el):
        if not _is_msg(c):
            fields["extensions"].append(c)
            continue
        name = _local(c)
        text = (c.text or "").strip()
        where = f"Header/{name}"
        if name == "Verb":
            fields["verb"] = text
        elif name == "Noun":
            fields["noun"] = text
        elif name == "Revision":
            fields["revision"] = text
        elif name == "ReplayDetection":
            nonce = _child_text(c, "Nonce")
            created = _child_text(c, "Created")
            if nonce is None or created is None:
                raise MessageError("1.5", "Header/ReplayDetection needs Nonce and Created",
                                   xpath="Header/ReplayDetection")
            fields["replay_detection"] = ReplayDetection(nonce, parse_time(created, where + "/Created"))
        elif name == "Context":
            fields["context"] = text
        elif name == "Timestamp":
            fields["timestamp"] = parse_time(text, where)
        elif name == "Source":
            fields["source"] = text
        elif name == "AsyncReplyFlag":
            fields["async_reply_flag"] = _parse_bool(text, where)
        elif name == "ReplyAddress":
            fields["reply_address"] = text
        elif name == "AckRequired":
            fields["ack_required"] = _parse_bool(text, where)
        elif name == "User":
            user_id = _child_text(c, "UserID")
            if user_id is None:
                raise MessageError("1.5", "Header/User needs UserID", xpath="Header/User/UserID")
            fields["user"] = User(user_id, _child_text(c, "Organization"))
        elif name == "MessageID":
            fields["message_id"] = text
        elif name == "CorrelationID":
            fields["correlation_id"] = text
        elif name == "Comment":
            fields["comment"] = c.text
        elif name == "Property":
            fields["properties"].append((_child_text(c, "Name") or "", _child_text(c, "Value")))
        else:
            raise MessageError("1.8", f"Header has an unexpected element {name}", xpath=where)
    for required in ("verb", "noun"):
        if not fields.get(required):
            name = required.capitalize()
            raise MessageError("1.5", f"mandatory Header/{name} is missing or empty", xpath=f"Header/{name}")
    return Header(**fields)


def parse_request(el) -> Request:
    req = Request()
    for c in _children(el):
        if not _is_msg(c):
            req.queries.append(c)
            continue
        name = _local(c)
        if name == "StartTime":
            req.start_time = parse_time(c.text, "Request/StartTime")
        elif name == "EndTime":
            req.end_time = parse_time(c.text, "Request/EndTime")
        elif name == "Option":
            req.options.append((_child_text(c, "name") or "", _child_text(c, "value")))
        elif name == "ID":
            req.ids.append(_parse_id(c))
        else:
            raise MessageError("1.8", f"Request has an unexpected element {name}", xpath=f"Request/{name}")
    return req


def _parse_error(el) -> Error:
    err = Error(code=_child_text(el, "code") or "")
    for c in _children(el):
        name = _local(c)
        text = (c.text or "").strip()
        if name == "level":
            err.level = text
        elif name == "reason":
            err.reason = c.text
        elif name == "details":
            err.details = c.text
        elif name == "xpath":
            err.xpath = text
        elif name == "stackTrace":
            err.stack_trace = c.text
        elif name == "Location":
            err.location = Location(_child_text(c, "node"), _child_text(c, "pipeline"), _child_text(c, "stage"))
        elif name == "ID":
            err.id = _parse_id(c)
        elif name == "relatedID":
            err.related_id = _parse_id(c)
        elif name == "operationId":
            err.operation_id = int(text)
    return err


def parse_reply(el) -> Reply:
    result = _child_text(el, "Result")
    if result not in codes.RESULTS:
        raise MessageError("1.8", f"Reply/Result must be OK, PARTIAL or FAILED, not {result!r}", xpath="Reply/Result")
    reply = Reply(result=result)
    for c in _children(el):
        name = _local(c)
        if not _is_msg(c):
            reply.extensions.append(c)
        elif name == "Error":
            reply.errors.append(_parse_error(c))
        elif name == "ID":
            reply.ids.append(_parse_id(c))
        elif name == "operationId":
            reply.operation_id = int((c.text or "").strip())
    return reply


def parse_payload(el) -> Payload:
    p = Payload()
    for c in _children(el):
        name = _local(c)
        if not _is_msg(c):
            p.documents.append(c)
        elif name == "OperationSet":
            p.operation_set = c
        elif name == "Compressed":
            p.compressed = (c.text or "").strip()
        elif name == "ID":
            p.ids.append(_parse_id(c))
        elif name == "Format":
            p.format = (c.text or "").strip()
        else:
            raise MessageError("1.8", f"Payload has an unexpected element {name}", xpath=f"Payload/{name}")
    return p


_PARTS = ("Header", "Request", "Reply", "Payload")


def _message_parts(root) -> dict[str, etree._Element]:
    """Header/Request/Reply/Payload children, whether in the message or a per-noun namespace."""
    parts: dict[str, etree._Element] = {}
    carrier_ns = _ns(root)
    for c in _children(root):
        name = _local(c)
        if name in _PARTS and (_is_msg(c) or _ns(c) == carrier_ns):
            if name in parts:
                raise MessageError("1.8", f"the message has two {name} elements", xpath=name)
            parts[name] = c
        else:
            raise MessageError("1.8", f"unexpected element {c.tag} in {_local(root)}", xpath=name)
    return parts


def kind_of(root) -> str:
    """Which of the four message kinds a root element is, from its name or its parts."""
    name = _local(root)
    if name in KINDS:
        return name
    parts = {_local(c) for c in _children(root)}
    if "Reply" in parts:
        return "ResponseMessage" if "Header" in parts else "FaultMessage"
    if name.endswith("ResponseMessage"):
        return "ResponseMessage"
    if name.endswith("FaultMessage"):
        return "FaultMessage"
    return "RequestMessage"


def parse(root: etree._Element, kind: str | None = None) -> Message:
    """Parse a message element; `kind` forces the kind where the carrier name does not tell."""
    kind = kind or kind_of(root)
    parts = _message_parts(root)
    if kind == "FaultMessage":
        if "Reply" not in parts:
            raise MessageError("1.5", "FaultMessage has no Reply", xpath="Reply")
        return FaultMessage(parse_reply(parts["Reply"]))
    if "Header" not in parts:
        raise MessageError("1.5", f"{kind} has no Header", xpath="Header")
    header = parse_header(parts["Header"])
    payload = parse_payload(parts["Payload"]) if "Payload" in parts else None
    if kind == "ResponseMessage":
        if "Reply" not in parts:
            raise MessageError("1.5", "ResponseMessage has no Reply", xpath="Reply")
        return ResponseMessage(header, parse_reply(parts["Reply"]), payload)
    if kind == "EventMessage":
        return EventMessage(header, payload)
    if "Reply" in parts:
        raise MessageError("1.8", "a RequestMessage carries no Reply", xpath="Reply")
    request = parse_request(parts["Request"]) if "Request" in parts else None
    return RequestMessage(header, request, payload)


# Header element names as the schema spells them -> Header attribute names.
HEADER_FIELDS = {
    "Verb": "verb", "Noun": "noun", "Revision": "revision", "ReplayDetection": "replay_detection",
    "Context": "context", "Timestamp": "timestamp", "Source": "source", "AsyncReplyFlag": "async_reply_flag",
    "ReplyAddress": "reply_address", "AckRequired": "ack_required", "User": "user", "MessageID": "message_id",
    "CorrelationID": "correlation_id", "Comment": "comment",
}
