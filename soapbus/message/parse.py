"""Reading a 61968-100 message: both namespace spellings, typed carriers, a code for every problem."""
from __future__ import annotations

from lxml import etree

from . import codes
from .envelope import (ID, KINDS, Error, EventMessage, FaultMessage, Header, Location, Message, Payload,
                       ReplayDetection, Reply, Request, RequestMessage, ResponseMessage, User, _parse_bool,
                       parse_time)
from .errors import MessageError
from .namespaces import MSG_ACCEPTED


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
