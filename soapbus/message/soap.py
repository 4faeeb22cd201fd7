"""SOAP 1.1 carriage of 61968 messages: wrap, unwrap and faults. Pure lxml, no I/O."""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .errors import MessageError
from .namespaces import ABSTRACT, MSG, SOAP11_ENV
from .xml import parse_bytes

ENV = f"{{{SOAP11_ENV}}}Envelope"
HEADER = f"{{{SOAP11_ENV}}}Header"
BODY = f"{{{SOAP11_ENV}}}Body"
FAULT = f"{{{SOAP11_ENV}}}Fault"

# The generic WSDL's operation wrappers some deployments add around the message.
GENERIC_WRAPPERS = {f"{{{ABSTRACT}}}{name}" for name in ("Request", "Response", "PublishEvent")}


def envelope(body_child: etree._Element, headers: list[etree._Element] = ()) -> etree._Element:
    env = etree.Element(ENV, nsmap={"soapenv": SOAP11_ENV})
    if headers:
        head = etree.SubElement(env, HEADER)
        for h in headers:
            head.append(h)
    body = etree.SubElement(env, BODY)
    body.append(body_child)
    return env


def to_bytes(env: etree._Element) -> bytes:
    return etree.tostring(env, encoding="utf-8", xml_declaration=True)


@dataclass
class Unwrapped:
    envelope: etree._Element
    header: etree._Element | None  # soapenv:Header
    body: etree._Element  # soapenv:Body
    operation: etree._Element  # the Body's single child as sent
    message: etree._Element  # the 61968 message element, generic wrappers removed


def unwrap_element(env: etree._Element) -> Unwrapped:
    if env.tag != ENV:
        raise MessageError("1.8", f"not a SOAP 1.1 Envelope: root is {env.tag}")
    header = body = None
    for child in env:
        if not isinstance(child.tag, str):
            continue
        if child.tag == HEADER and header is None and body is None:
            header = child
        elif child.tag == BODY and body is None:
            body = child
        else:
            raise MessageError("1.8", f"unexpected {child.tag} in the SOAP Envelope")
    if body is None:
        raise MessageError("1.8", "the SOAP Envelope has no Body")
    entries = [c for c in body if isinstance(c.tag, str)]
    if len(entries) != 1:
        raise MessageError("1.8", f"the SOAP Body must hold exactly one element, it holds {len(entries)}")
    operation = entries[0]
    return Unwrapped(env, header, body, operation, unwrap_generic(operation))


def unwrap_generic(operation: etree._Element) -> etree._Element:
    """`<Request><message>...</message></Request>` and `<Request><RequestMessage>` forms."""
    if operation.tag not in GENERIC_WRAPPERS:
        return operation
    inner = [c for c in operation if isinstance(c.tag, str)]
    if len(inner) == 1 and etree.QName(inner[0]).localname in (
        "message", "RequestMessage", "ResponseMessage", "EventMessage"
    ):
        return inner[0]
    # The plain generic form: the wrapper itself holds Header/Request/Payload.
    return operation


def unwrap(data: bytes) -> Unwrapped:
    return unwrap_element(parse_bytes(data, "SOAP envelope"))


def fault(code: str, reason: str, detail: etree._Element | None = None,
          nsmap: dict[str, str] | None = None) -> etree._Element:
    """A SOAP 1.1 Fault envelope; `code` is a QName text such as `soapenv:Client` or `wsse:FailedCheck`."""
    ns = {"soapenv": SOAP11_ENV, **(nsmap or {})}
    env = etree.Element(ENV, nsmap=ns)
    body = etree.SubElement(env, BODY)
    f = etree.SubElement(body, FAULT)
    etree.SubElement(f, "faultcode").text = code
    etree.SubElement(f, "faultstring").text = reason
    if detail is not None:
        etree.SubElement(f, "detail").append(detail)
    return env


@dataclass
class Fault:
    code: str
    reason: str
    detail: etree._Element | None


def read_fault(env: etree._Element) -> Fault | None:
    f = env.find(f"{BODY}/{FAULT}")
    if f is None:
        return None
    detail = f.find("detail")
    inner = detail[0] if detail is not None and len(detail) else None
    return Fault((f.findtext("faultcode") or "").strip(), (f.findtext("faultstring") or "").strip(), inner)


__all__ = ["envelope", "to_bytes", "unwrap", "unwrap_element", "unwrap_generic", "fault", "read_fault",
           "Unwrapped", "Fault", "MSG"]
