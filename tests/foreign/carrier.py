"""The public templates' typed carrier, read and written with lxml alone (no soapbus code).

The 2011 and 2015 servers speak it: the Body's child is an element of a per-noun namespace
(`<Noun>RequestMessage`, `Create<Noun>`, `<Noun>ResponseMessage` ...) whose Header, Request,
Reply and Payload are declared locally in that namespace and typed by Message.xsd, so their
children are in the message namespace. Both read only what their schema declares: a Header
child in another namespace is not seen.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

from .rules import OK, Answer

MSG = "http://iec.ch/TC57/2011/schema/message"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True)


class CarrierError(Exception):
    """The request cannot be read as a SOAP envelope: answered with a SOAP Fault."""


@dataclass(frozen=True)
class Shape:
    noun: str
    message_ns: str  # per-noun namespace of the carriers and their parts
    profile_ns: str  # namespace of the payload document <noun>


@dataclass(frozen=True)
class Received:
    header: dict[str, str]  # Header children of the message namespace, by local name
    ids: tuple[str, ...]  # Request/ID
    queries: tuple[etree._Element, ...]  # Request children of other namespaces (a Get<Noun> query)
    documents: tuple[etree._Element, ...]  # Payload children of the other namespaces: the profile documents


def body_child(data: bytes) -> etree._Element:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise CarrierError(f"the request is not well-formed XML: {exc}") from None
    body = root.find(f"{{{SOAP_ENV}}}Body") if root.tag == f"{{{SOAP_ENV}}}Envelope" else None
    children = [c for c in body if isinstance(c.tag, str)] if body is not None else []
    if len(children) != 1:
        raise CarrierError("expected a SOAP 1.1 Envelope whose Body holds one element")
    return children[0]


def read(carrier: etree._Element, shape: Shape) -> Received:
    def part(name):
        return carrier.find(f"{{{shape.message_ns}}}{name}")

    header, request, payload = part("Header"), part("Request"), part("Payload")
    fields = {etree.QName(c).localname: (c.text or "").strip()
              for c in (header if header is not None else []) if etree.QName(c).namespace == MSG}
    ids = tuple((c.text or "").strip() for c in (request.findall(f"{{{MSG}}}ID") if request is not None else []))
    queries = tuple(c for c in (request if request is not None else []) if etree.QName(c).namespace != MSG)
    documents = tuple(c for c in (payload if payload is not None else [])  # not Format, in the carrier's namespace
                      if isinstance(c.tag, str) and etree.QName(c).namespace not in (MSG, shape.message_ns))
    return Received(fields, ids, queries, documents)


def payload_problem(documents, shape: Shape, schema: etree.XMLSchema) -> str | None:
    """Why the payload documents are not valid <noun> documents of the profile; None when they are."""
    wanted = f"{{{shape.profile_ns}}}{shape.noun}"
    for doc in documents:
        if doc.tag != wanted:
            return f"the Payload holds {doc.tag}, not a {wanted} document"
        if not schema.validate(doc):
            error = schema.error_log.last_error
            return f"the {shape.noun} document does not validate against its profile: line {error.line}: {error.message}"
    return None


def response(shape: Shape, request_header: dict[str, str], answer: Answer, documents=(), *, source: str,
             ok_code: bool = True) -> bytes:
    """`<Noun>ResponseMessage` in a SOAP envelope. ok_code=False leaves out the Error 0.0 of an OK reply."""
    def part(name):
        return etree.SubElement(root, f"{{{shape.message_ns}}}{name}")

    def field(parent, name, text):
        etree.SubElement(parent, f"{{{MSG}}}{name}").text = text

    root = etree.Element(f"{{{shape.message_ns}}}{shape.noun}ResponseMessage", nsmap={"msg": MSG})
    header = part("Header")
    field(header, "Verb", "reply")
    field(header, "Noun", shape.noun)
    field(header, "Timestamp", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    field(header, "Source", source)
    field(header, "MessageID", str(uuid.uuid4()))
    correlation = request_header.get("CorrelationID") or request_header.get("MessageID")
    if correlation:
        field(header, "CorrelationID", correlation)
    reply = part("Reply")
    field(reply, "Result", answer.result)
    if answer.result != OK or ok_code:
        error = etree.SubElement(reply, f"{{{MSG}}}Error")
        field(error, "code", answer.code)
        if answer.reason:
            field(error, "reason", answer.reason)
    if documents:
        part("Payload").extend(documents)
    return soap(root)


def request(shape: Shape, element: str, header: dict[str, str], ids=(), documents=()) -> bytes:
    """A request in this shape, as the vendor's own client sends it (the tests probe servers with it)."""
    root = etree.Element(f"{{{shape.message_ns}}}{element}", nsmap={"msg": MSG})
    head = etree.SubElement(root, f"{{{shape.message_ns}}}Header")
    for name in ("Verb", "Noun", "Timestamp", "Source", "MessageID", "CorrelationID"):
        if name in header:
            etree.SubElement(head, f"{{{MSG}}}{name}").text = header[name]
    if ids:
        held = etree.SubElement(root, f"{{{shape.message_ns}}}Request")
        for value in ids:
            etree.SubElement(held, f"{{{MSG}}}ID").text = value
    if documents:
        etree.SubElement(root, f"{{{shape.message_ns}}}Payload").extend(documents)
    return soap(root)


def document(shape: Shape, objects) -> etree._Element:
    """A <noun> profile document holding copies of the objects."""
    doc = etree.Element(f"{{{shape.profile_ns}}}{shape.noun}", nsmap={None: shape.profile_ns})
    doc.extend(etree.fromstring(etree.tostring(o)) for o in objects)
    return doc


def soap(child: etree._Element) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soapenv": SOAP_ENV})
    etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(child)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def fault(reason: str, code: str = "soapenv:Client") -> bytes:
    element = etree.Element(f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(element, "faultcode").text = code
    etree.SubElement(element, "faultstring").text = reason
    return soap(element)


def profile_schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def message_schema(shape: Shape, carriers: dict[str, str], imports: dict[str, str]) -> str:
    """A per-noun message schema in the templates' shape.

    carriers: element name -> Request | Response | Event | Fault (its message type);
    imports: namespace -> schemaLocation (Message.xsd, the profile, a Get profile ...).
    """
    n, tns = shape.noun, shape.message_ns
    imported = "\n".join(f'  <xs:import namespace="{ns}" schemaLocation="{loc}"/>' for ns, loc in imports.items())
    elements = "\n".join(f'  <xs:element name="{name}" type="tns:{n}{kind}MessageType"/>' for name, kind in carriers.items())
    return f"""<?xml version="1.0" encoding="utf-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="{tns}" xmlns:msg="{MSG}"
    xmlns:obj="{shape.profile_ns}" targetNamespace="{tns}" elementFormDefault="qualified">
{imported}
  <xs:complexType name="{n}PayloadType">
    <xs:sequence>
      <xs:element ref="obj:{n}" minOccurs="0"/>
      <xs:element name="Format" type="xs:string" minOccurs="0"/>
    </xs:sequence>
  </xs:complexType>
  <xs:complexType name="{n}RequestMessageType">
    <xs:sequence>
      <xs:element name="Header" type="msg:HeaderType"/>
      <xs:element name="Request" type="msg:RequestType" minOccurs="0"/>
      <xs:element name="Payload" type="tns:{n}PayloadType" minOccurs="0"/>
    </xs:sequence>
  </xs:complexType>
  <xs:complexType name="{n}ResponseMessageType">
    <xs:sequence>
      <xs:element name="Header" type="msg:HeaderType"/>
      <xs:element name="Reply" type="msg:ReplyType"/>
      <xs:element name="Payload" type="tns:{n}PayloadType" minOccurs="0"/>
    </xs:sequence>
  </xs:complexType>
  <xs:complexType name="{n}EventMessageType">
    <xs:sequence>
      <xs:element name="Header" type="msg:HeaderType"/>
      <xs:element name="Payload" type="tns:{n}PayloadType" minOccurs="0"/>
    </xs:sequence>
  </xs:complexType>
  <xs:complexType name="{n}FaultMessageType">
    <xs:sequence>
      <xs:element name="Reply" type="msg:ReplyType"/>
    </xs:sequence>
  </xs:complexType>
{elements}
</xs:schema>
"""
