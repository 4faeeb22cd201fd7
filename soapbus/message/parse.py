"""Reading a 61968-100 message: both namespace spellings, typed carriers, a code for every problem.

This is the one reading of a message that every decision is taken from (signing required,
interface, Source binding, noun served, verb allowed): the server never reads the raw XML a
second time. So the reading is strict where a lenient one could be read two ways: an element
the schema allows once that appears twice is refused (1.8, naming it) rather than resolved to
its first or last copy, and a simple value is the string value of its element (text, CDATA and
character references joined, comments and processing instructions skipped), never only the
text before the first comment; an element inside a simple value is refused.
"""
from __future__ import annotations

from lxml import etree

from . import codes
from .envelope import (ID, KINDS, Error, EventMessage, FaultMessage, Header, Location, Message, Payload,
                       ReplayDetection, Reply, Request, RequestMessage, ResponseMessage, User, _parse_bool,
                       parse_time)
from .errors import MessageError
from .namespaces import MSG_ACCEPTED

_string_value = etree.XPath("string()")


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _ns(el) -> str | None:
    return etree.QName(el).namespace if isinstance(el.tag, str) else None


def _children(el):
    return [c for c in el if isinstance(c.tag, str)]


def _is_msg(el) -> bool:
    return _ns(el) in MSG_ACCEPTED


def _text(el, where: str) -> str:
    """The element's simple value, stripped; an element inside it is refused."""
    if any(isinstance(c.tag, str) for c in el):
        raise MessageError("1.8", f"{where} holds a simple value, not elements", xpath=where)
    return str(_string_value(el)).strip()


def _raw_text(el, where: str) -> str:
    """Like _text, but keeps surrounding white space (Comment, reason, details)."""
    if any(isinstance(c.tag, str) for c in el):
        raise MessageError("1.8", f"{where} holds a simple value, not elements", xpath=where)
    return str(_string_value(el))


class _Once:
    """Refuses a second copy of an element the schema allows once, naming it."""

    def __init__(self, where: str, once: frozenset[str]):
        self.where = where
        self.once = once
        self.seen: set[str] = set()

    def see(self, name: str) -> str:
        path = f"{self.where}/{name}"
        if name in self.once:
            if name in self.seen:
                raise MessageError("1.8", f"{path} appears more than once; the schema allows it once",
                                   xpath=path)
            self.seen.add(name)
        return path


def _fields(el, where: str, once: frozenset[str], many: frozenset[str] = frozenset()) -> dict[str, list]:
    """Message-namespace children of a small structure by name; unknown or repeated ones refused."""
    seen = _Once(where, once)
    found: dict[str, list] = {}
    for c in _children(el):
        name = _local(c)
        path = seen.see(name)
        if not _is_msg(c) or (name not in once and name not in many):
            raise MessageError("1.8", f"{where} has an unexpected element {name}", xpath=path)
        found.setdefault(name, []).append(c)
    return found


def _one_text(found: dict[str, list], name: str, where: str) -> str | None:
    elements = found.get(name)
    return _text(elements[0], f"{where}/{name}") if elements else None


def _parse_id(el, where: str) -> ID:
    return ID(value=_text(el, where), id_type=el.get("idType"), id_authority=el.get("idAuthority"),
              kind=el.get("kind"), object_type=el.get("objectType"))


_HEADER_ONCE = frozenset({"Verb", "Noun", "Revision", "ReplayDetection", "Context", "Timestamp", "Source",
                          "AsyncReplyFlag", "ReplyAddress", "AckRequired", "User", "MessageID", "CorrelationID",
                          "Comment"})


def parse_header(el) -> Header:
    fields: dict = {"properties": [], "extensions": []}
    seen = _Once("Header", _HEADER_ONCE)
    for c in _children(el):
        if not _is_msg(c):
            fields["extensions"].append(c)
            continue
        name = _local(c)
        where = seen.see(name)
        if name == "Verb":
            fields["verb"] = _text(c, where)
        elif name == "Noun":
            fields["noun"] = _text(c, where)
        elif name == "Revision":
            fields["revision"] = _text(c, where)
        elif name == "ReplayDetection":
            found = _fields(c, where, frozenset({"Nonce", "Created"}))
            nonce, created = _one_text(found, "Nonce", where), _one_text(found, "Created", where)
            if nonce is None or created is None:
                raise MessageError("1.5", "Header/ReplayDetection needs Nonce and Created", xpath=where)
            fields["replay_detection"] = ReplayDetection(nonce, parse_time(created, where + "/Created"))
        elif name == "Context":
            fields["context"] = _text(c, where)
        elif name == "Timestamp":
            fields["timestamp"] = parse_time(_text(c, where), where)
        elif name == "Source":
            fields["source"] = _text(c, where)
        elif name == "AsyncReplyFlag":
            fields["async_reply_flag"] = _parse_bool(_text(c, where), where)
        elif name == "ReplyAddress":
            fields["reply_address"] = _text(c, where)
        elif name == "AckRequired":
            fields["ack_required"] = _parse_bool(_text(c, where), where)
        elif name == "User":
            found = _fields(c, where, frozenset({"UserID", "Organization"}))
            user_id = _one_text(found, "UserID", where)
            if user_id is None:
                raise MessageError("1.5", "Header/User needs UserID", xpath="Header/User/UserID")
            fields["user"] = User(user_id, _one_text(found, "Organization", where))
        elif name == "MessageID":
            fields["message_id"] = _text(c, where)
        elif name == "CorrelationID":
            fields["correlation_id"] = _text(c, where)
        elif name == "Comment":
            fields["comment"] = _raw_text(c, where)
        elif name == "Property":
            found = _fields(c, where, frozenset({"Name", "Value"}))
            fields["properties"].append((_one_text(found, "Name", where) or "", _one_text(found, "Value", where)))
        else:
            raise MessageError("1.8", f"Header has an unexpected element {name}", xpath=where)
    for required in ("verb", "noun"):
        if not fields.get(required):
            name = required.capitalize()
            raise MessageError("1.5", f"mandatory Header/{name} is missing or empty", xpath=f"Header/{name}")
    return Header(**fields)


def parse_request(el) -> Request:
    req = Request()
    seen = _Once("Request", frozenset({"StartTime", "EndTime"}))
    for c in _children(el):
        if not _is_msg(c):
            req.queries.append(c)
            continue
        name = _local(c)
        where = seen.see(name)
        if name == "StartTime":
            req.start_time = parse_time(_text(c, where), where)
        elif name == "EndTime":
            req.end_time = parse_time(_text(c, where), where)
        elif name == "Option":
            found = _fields(c, where, frozenset({"name", "value"}))
            req.options.append((_one_text(found, "name", where) or "", _one_text(found, "value", where)))
        elif name == "ID":
            req.ids.append(_parse_id(c, where))
        else:
            raise MessageError("1.8", f"Request has an unexpected element {name}", xpath=where)
    return req


_ERROR_ONCE = frozenset({"code", "level", "reason", "details", "xpath", "stackTrace", "Location", "ID", "relatedID",
                         "object", "operationId"})


def _parse_error(el) -> Error:
    found = _fields(el, "Reply/Error", _ERROR_ONCE)
    where = "Reply/Error"
    # A missing code is read as "": the schema requires one, but a reader of a peer's reply
    # learns more from the rest of the Error than from refusing it.
    err = Error(code=_one_text(found, "code", where) or "", level=_one_text(found, "level", where), xpath=_one_text(found, "xpath", where))
    for name, attribute in (("reason", "reason"), ("details", "details"), ("stackTrace", "stack_trace")):
        if name in found:
            setattr(err, attribute, _raw_text(found[name][0], f"{where}/{name}"))
    if "Location" in found:
        loc = _fields(found["Location"][0], f"{where}/Location", frozenset({"node", "pipeline", "stage"}))
        err.location = Location(*(_one_text(loc, n, f"{where}/Location") for n in ("node", "pipeline", "stage")))
    if "ID" in found:
        err.id = _parse_id(found["ID"][0], f"{where}/ID")
    if "relatedID" in found:
        err.related_id = _parse_id(found["relatedID"][0], f"{where}/relatedID")
    if "operationId" in found:
        err.operation_id = _integer(_one_text(found, "operationId", where), f"{where}/operationId")
    return err


def _integer(text: str, where: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise MessageError("1.8", f"{where} is not an xs:integer: {text!r}", xpath=where) from None


def parse_reply(el) -> Reply:
    seen = _Once("Reply", frozenset({"Result", "operationId"}))
    reply: Reply | None = None
    errors, ids, extensions, operation_id = [], [], [], None
    for c in _children(el):
        if not _is_msg(c):
            extensions.append(c)
            continue
        name = _local(c)
        where = seen.see(name)
        if name == "Result":
            result = _text(c, where)
            if result not in codes.RESULTS:
                raise MessageError("1.8", f"Reply/Result must be OK, PARTIAL or FAILED, not {result!r}",
                                   xpath=where)
            reply = Reply(result=result)
        elif name == "Error":
            errors.append(_parse_error(c))
        elif name == "ID":
            ids.append(_parse_id(c, where))
        elif name == "operationId":
            operation_id = _integer(_text(c, where), where)
        else:
            raise MessageError("1.8", f"Reply has an unexpected element {name}", xpath=where)
    if reply is None:
        raise MessageError("1.8", "Reply has no Result (OK, PARTIAL or FAILED)", xpath="Reply/Result")
    reply.errors, reply.ids, reply.extensions, reply.operation_id = errors, ids, extensions, operation_id
    return reply


def parse_payload(el) -> Payload:
    p = Payload()
    seen = _Once("Payload", frozenset({"OperationSet", "Compressed", "Format"}))
    for c in _children(el):
        if not _is_msg(c):
            p.documents.append(c)
            continue
        name = _local(c)
        where = seen.see(name)
        if name == "OperationSet":
            p.operation_set = c
        elif name == "Compressed":
            p.compressed = _text(c, where)
        elif name == "ID":
            p.ids.append(_parse_id(c, where))
        elif name == "Format":
            p.format = _text(c, where)
        else:
            raise MessageError("1.8", f"Payload has an unexpected element {name}", xpath=where)
    carried = [what for what, present in (("profile documents", p.documents), ("an OperationSet", p.operation_set is not None),
                                          ("Compressed", p.compressed is not None), ("ID", p.ids)) if present]
    if len(carried) > 1:  # the schema's choice: one of them, so that no reader can pick another
        raise MessageError("1.8", f"Payload carries {' and '.join(carried)}; the schema allows one of them",
                           xpath="Payload")
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
