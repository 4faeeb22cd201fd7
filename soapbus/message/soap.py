"""SOAP carriage of 61968 messages: wrap, unwrap and faults. Pure lxml, no I/O.

SOAP 1.1 is what soapbus serves and the default everywhere; SOAP 1.2 (a WSDL's soap12
binding) is there for calling endpoints that offer only that: pass `version="1.2"` to wrap
and `versions=ANY_VERSION` to unwrap.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .errors import MessageError
from .namespaces import ABSTRACT, MSG, SOAP11_ENV, SOAP12_ENV
from .xml import DEFAULT_LIMITS, ParseLimits, parse_bytes

ENV = f"{{{SOAP11_ENV}}}Envelope"
HEADER = f"{{{SOAP11_ENV}}}Header"
BODY = f"{{{SOAP11_ENV}}}Body"
FAULT = f"{{{SOAP11_ENV}}}Fault"

# SOAP version -> envelope namespace; the 1.1 constants above stay what the server speaks.
ENVELOPE_NS = {"1.1": SOAP11_ENV, "1.2": SOAP12_ENV}
ANY_VERSION = ("1.1", "1.2")

# The generic WSDL's operation wrappers some deployments add around the message.
GENERIC_WRAPPERS = {f"{{{ABSTRACT}}}{name}" for name in ("Request", "Response", "PublishEvent")}


def envelope(body_child: etree._Element, headers: list[etree._Element] = (), version: str = "1.1") -> etree._Element:
    ns = ENVELOPE_NS[version]
    env = etree.Element(f"{{{ns}}}Envelope", nsmap={"soapenv": ns})
    if headers:
        head = etree.SubElement(env, f"{{{ns}}}Header")
        for h in headers:
            head.append(h)
    body = etree.SubElement(env, f"{{{ns}}}Body")
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
    version: str = "1.1"  # the SOAP version of the envelope


def version_of(env: etree._Element) -> str | None:
    """"1.1" or "1.2" for a SOAP Envelope element, None for anything else."""
    for version, ns in ENVELOPE_NS.items():
        if env.tag == f"{{{ns}}}Envelope":
            return version
    return None


def http_headers(soap_action: str, version: str = "1.1") -> dict[str, str]:
    """The HTTP headers a request of this SOAP version carries its action in."""
    if version == "1.2":  # SOAP 1.2 has no SOAPAction header: the action is a media type parameter
        return {"Content-Type": f'application/soap+xml; charset=utf-8; action="{soap_action}"'}
    return {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{soap_action}"'}


def unwrap_element(env: etree._Element, versions: tuple[str, ...] = ("1.1",)) -> Unwrapped:
    version = version_of(env)
    if version not in versions:
        wanted = " or ".join(f"SOAP {v}" for v in versions)
        raise MessageError("1.8", f"not a {wanted} Envelope: root is {env.tag}")
    ns = ENVELOPE_NS[version]
    header = body = None
    for child in env:
        if not isinstance(child.tag, str):
            continue
        if child.tag == f"{{{ns}}}Header" and header is None and body is None:
            header = child
        elif child.tag == f"{{{ns}}}Body" and body is None:
            body = child
        else:
            raise MessageError("1.8", f"unexpected {child.tag} in the SOAP Envelope")
    if body is None:
        raise MessageError("1.8", "the SOAP Envelope has no Body")
    entries = [c for c in body if isinstance(c.tag, str)]
    if len(entries) != 1:
        raise MessageError("1.8", f"the SOAP Body must hold exactly one element, it holds {len(entries)}")
    operation = entries[0]
    return Unwrapped(env, header, body, operation, unwrap_generic(operation), version)


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


def unwrap(data: bytes, limits: ParseLimits = DEFAULT_LIMITS, versions: tuple[str, ...] = ("1.1",)) -> Unwrapped:
    return unwrap_element(parse_bytes(data, "SOAP envelope", limits), versions)


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
    if version_of(env) == "1.2":
        return _read_fault12(env)
    f = env.find(f"{BODY}/{FAULT}")
    if f is None:
        return None
    detail = f.find("detail")
    inner = detail[0] if detail is not None and len(detail) else None
    return Fault((f.findtext("faultcode") or "").strip(), (f.findtext("faultstring") or "").strip(), inner)


def _read_fault12(env: etree._Element) -> Fault | None:
    ns = SOAP12_ENV
    f = env.find(f"{{{ns}}}Body/{{{ns}}}Fault")
    if f is None:
        return None
    detail = f.find(f"{{{ns}}}Detail")
    inner = next((c for c in detail if isinstance(c.tag, str)), None) if detail is not None else None
    code = (f.findtext(f"{{{ns}}}Code/{{{ns}}}Value") or "").strip()
    reason = (f.findtext(f"{{{ns}}}Reason/{{{ns}}}Text") or "").strip()
    return Fault(code, reason, inner)


__all__ = ["envelope", "to_bytes", "unwrap", "unwrap_element", "unwrap_generic", "fault", "read_fault",
           "Unwrapped", "Fault", "MSG", "ENVELOPE_NS", "ANY_VERSION", "version_of", "http_headers"]
