"""A 61968 message in the shape a target's schema gives it, and back to the standard one.

Endpoints nobody here wrote declare the same envelope in their own namespaces: the public
templates put Header/Request/Payload (and Payload/Format) in the per-noun namespace, the 2011
interoperability schemas use the `www.iec.ch` spelling, a Spyne server puts the parts in its
service namespace and the Header's fields in a namespace called `message`, and writes verbs
in capitals. A `Shape` records what one operation's schema says (read by
soapbus.client.discovery); `build` writes a message that way, `standard` reads any of them
back into the standard namespace so that `message.parse` reads it. Pure lxml, no I/O.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

from lxml import etree

from . import verbs as verb_table
from .build import to_element
from .envelope import EventMessage, RequestMessage
from .namespaces import MSG, MSG_ACCEPTED

PARTS = ("Header", "Request", "Reply", "Payload")

# The envelope's own elements below each part, by path: everything else below a part is a
# profile document, a query or an extension, and keeps its namespace.
STRUCTURE: dict[str, frozenset[str]] = {
    "Header": frozenset({"Verb", "Noun", "Revision", "ReplayDetection", "Context", "Timestamp", "Source",
                         "AsyncReplyFlag", "ReplyAddress", "AckRequired", "User", "MessageID", "CorrelationID",
                         "Comment", "Property"}),
    "Header/ReplayDetection": frozenset({"Nonce", "Created"}),
    "Header/User": frozenset({"UserID", "Organization"}),
    "Header/Property": frozenset({"Name", "Value"}),
    "Request": frozenset({"StartTime", "EndTime", "Option", "ID"}),
    "Request/Option": frozenset({"name", "value"}),
    "Reply": frozenset({"Result", "Error", "ID", "operationId"}),
    "Reply/Error": frozenset({"code", "level", "reason", "details", "xpath", "stackTrace", "Location", "ID",
                              "relatedID", "object", "operationId"}),
    "Reply/Error/Location": frozenset({"node", "pipeline", "stage"}),
    "Payload": frozenset({"OperationSet", "Compressed", "ID", "Format"}),
    "Payload/OperationSet": frozenset({"enforceMsgSequence", "enforceTransactionalIntegrity", "Operation"}),
    "Payload/OperationSet/Operation": frozenset({"operationId", "noun", "verb", "elementOperation"}),
}


@dataclass(frozen=True)
class Shape:
    """How one operation's schema spells the message it takes.

    element: Clark name of the SOAP Body's child. inner: Clark name of the message element
    inside it when the operation wraps the message (`<Request><message>`), else None.
    namespaces: (path, namespace) for the envelope's elements as the schema declares them,
    e.g. ("Header", "der.pnnl.gov"), ("Header/Verb", "message"). verbs / nouns: the Verb and
    Noun enumerations of the target's Header type, in its spelling (empty where free text).
    """

    element: str
    inner: str | None = None
    namespaces: tuple[tuple[str, str], ...] = ()
    verbs: tuple[str, ...] = ()
    nouns: tuple[str, ...] = ()

    def namespace_of(self, path: str) -> str:
        """The namespace of the envelope element at `path` (e.g. "Header/Verb")."""
        for known, ns in self.namespaces:
            if known == path:
                return ns
        return self.part_namespace if "/" not in path else self.message_namespace

    @property
    def part_namespace(self) -> str:
        """Where Header/Request/Payload sit (the per-noun namespace of a typed carrier, else the message one)."""
        return dict(self.namespaces).get("Header", MSG)

    @property
    def message_namespace(self) -> str:
        """Where the Header's own fields sit: the target's message namespace."""
        return dict(self.namespaces).get("Header/Verb", MSG)

    def spell_verb(self, verb: str) -> str:
        return _spelled(verb, self.verbs, verb_table.normalize)

    def spell_noun(self, noun: str) -> str:
        return _spelled(noun, self.nouns, str.lower)


def _spelled(value: str, choices: tuple[str, ...], key) -> str:
    """`value` as the enumeration writes it (CREATE for create), or as given where it is not enumerated."""
    if not choices or value in choices:
        return value
    for choice in choices:
        if key(choice) == key(value):
            return choice
    return value


def build(msg: RequestMessage | EventMessage, shape: Shape) -> etree._Element:
    """The SOAP Body's child for `msg` sent through an operation of this shape."""
    header = dataclasses.replace(msg.header, verb=shape.spell_verb(msg.header.verb),
                                 noun=shape.spell_noun(msg.header.noun))
    message = to_element(dataclasses.replace(msg, header=header), wrapper=shape.inner or shape.element, part_ns=MSG)
    _place(message, "", shape)
    etree.cleanup_namespaces(message)
    if shape.inner is None:
        return message
    wrapper = etree.Element(shape.element)
    wrapper.append(message)
    return wrapper


def _place(parent: etree._Element, path: str, shape: Shape) -> None:
    """Move the envelope's elements (built in MSG) into the namespaces the shape declares."""
    for child in parent:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != MSG:
            continue  # profile documents, queries and extensions keep their own namespace
        name = etree.QName(child).localname
        child_path = f"{path}/{name}" if path else name
        ns = shape.namespace_of(child_path)
        if ns != MSG:
            child.tag = f"{{{ns}}}{name}" if ns else name
        _place(child, child_path, shape)


def message_element(body_child: etree._Element, depth: int = 3) -> etree._Element:
    """The element holding Header/Reply/... below whatever wrappers an operation puts around it.

    `<CreateDERGroupsResponse><CreateDERGroupsResult><Header>...`, `<Response><message>...`
    and a bare `<ResponseMessage>` all lead to the element whose children are the parts.
    """
    element = body_child
    for _ in range(depth):
        children = [c for c in element if isinstance(c.tag, str)]
        if any(etree.QName(c).localname in PARTS for c in children) or len(children) != 1:
            return element
        element = children[0]
    return element


def standard(body_child: etree._Element) -> etree._Element:
    """A copy of the message below `body_child` with the envelope's elements in the standard namespace.

    The message namespaces are those the message itself uses for its parts and their fields
    (read from the message, not assumed); profile documents, queries and extensions keep theirs.
    """
    message = message_element(body_child)
    own = _message_namespaces(message)
    if own <= set(MSG_ACCEPTED):
        return message  # already standard: read as it is, no copy
    message = copy.deepcopy(message)
    for part in message:
        if isinstance(part.tag, str) and etree.QName(part).localname in PARTS:
            _standardize(part, etree.QName(part).localname, own)
    etree.cleanup_namespaces(message)
    return message


def _message_namespaces(message: etree._Element) -> set[str | None]:
    found: set[str | None] = set(MSG_ACCEPTED)
    for part in message:
        if not isinstance(part.tag, str) or etree.QName(part).localname not in PARTS:
            continue
        name = etree.QName(part).localname
        found.add(etree.QName(part).namespace)
        for field in part:
            if isinstance(field.tag, str) and etree.QName(field).localname in STRUCTURE[name]:
                found.add(etree.QName(field).namespace)
    return found


def _standardize(element: etree._Element, path: str, own: set[str | None]) -> None:
    element.tag = f"{{{MSG}}}{etree.QName(element).localname}"
    allowed = STRUCTURE.get(path)
    if allowed is None:
        # Below a leaf of the envelope (Error/object, Reply/ID ...): nothing of the envelope left to move.
        return
    for child in element:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        if qname.localname in allowed and qname.namespace in own:
            _standardize(child, f"{path}/{qname.localname}", own)


__all__ = ["Shape", "PARTS", "STRUCTURE", "build", "message_element", "standard"]
