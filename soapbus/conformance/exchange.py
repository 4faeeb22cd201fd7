"""One message exchange as evidence: the exact bytes both ways, the timing, and parsed views of the answer.

The harness posts requests itself (plain HTTP, so that a bad answer is recorded rather than
raised) and keeps everything a report needs. Messages that arrive at the callback listener
(asynchronous replies, events) are kept the same way, with no request of their own: `origin`
names the exchange whose request they answer, for the correlation checks.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

import requests
from lxml import etree

from .. import message as m
from ..client.tls import describe_tls_error
from ..message import MessageError, namespaces, shapes, soap

MSG = namespaces.MSG


@dataclass
class Exchange:
    step: str
    url: str = ""
    soap_action: str = ""
    request: bytes = b""
    request_message: object | None = None  # the 61968 message sent (m.RequestMessage ...), when built
    status: int | None = None
    response: bytes | None = None
    content_type: str = ""
    elapsed: float = 0.0
    error: str | None = None  # no answer at all: connection refused, timeout ...
    label: str = "response"  # response | event | callback
    origin: "Exchange | None" = None
    received_at: float = field(default_factory=time.time)
    notes: list[str] = field(default_factory=list)  # how the request was made (signed, tampered ...)
    unsigned: bytes | None = None  # the envelope before signing, to re-deliver it with a fresh signature
    signing: str = "none"  # how it was signed (messages.signed's mode)

    # ------------------------------------------------------------ views of the answer

    @cached_property
    def envelope(self) -> etree._Element | None:
        if not self.response:
            return None
        try:
            return m.parse_bytes(self.response, "answer")
        except MessageError:
            return None

    @cached_property
    def parse_problem(self) -> str | None:
        """Why the answer is not a readable 61968 message (None when it is, or when it is a fault)."""
        if self.error:
            return f"no answer: {self.error}"
        if not self.response:
            return f"HTTP {self.status} with an empty body"
        try:
            unwrapped = soap.unwrap(self.response, versions=soap.ANY_VERSION)
        except MessageError as exc:
            return f"not a SOAP envelope: {exc.reason}"
        if soap.read_fault(unwrapped.envelope) is not None:
            return None
        try:
            m.parse(shapes.standard(unwrapped.message))
        except MessageError as exc:
            return f"not a 61968 message: {exc.reason}"
        return None

    @cached_property
    def fault(self) -> soap.Fault | None:
        env = self.envelope
        if env is None or soap.version_of(env) is None:
            return None
        return soap.read_fault(env)

    @cached_property
    def element(self) -> etree._Element | None:
        """The 61968 message element of the answer, generic wrappers removed; None for faults."""
        if self.envelope is None or self.fault is not None:
            return None
        try:
            return soap.unwrap_element(self.envelope, soap.ANY_VERSION).message
        except MessageError:
            return None

    @cached_property
    def message(self):
        """The answer parsed (ResponseMessage, EventMessage ...), or None."""
        if self.element is None:
            return None
        try:
            return m.parse(shapes.standard(self.element))  # a vendor's wrappers and namespaces read as the standard's
        except MessageError:
            return None

    @cached_property
    def normalized(self) -> etree._Element | None:
        """The answer as a plain message in the standard namespace (typed carriers and www spelling undone)."""
        return normalize(self.element) if self.element is not None else None

    @property
    def reply(self):
        return getattr(self.message, "reply", None)

    @property
    def header(self):
        return getattr(self.message, "header", None)

    def codes(self) -> list[str]:
        reply = self.reply
        return [e.code for e in reply.errors] if reply is not None else []

    def summary(self) -> str:
        """A few words on the answer: `OK 0.0`, `FAILED 2.9`, `SOAP fault soapenv:Client`, `no answer`."""
        if self.error:
            return f"no answer ({self.error})"
        if self.fault is not None:
            return f"SOAP fault {self.fault.code}: {self.fault.reason[:120]}"
        if self.reply is not None:
            return f"{self.reply.result} {' '.join(self.codes())}".strip()
        if self.message is not None:
            return f"{self.message.kind} {getattr(self.header, 'verb', '')} {getattr(self.header, 'noun', '')}"
        return f"HTTP {self.status}: {self.parse_problem or 'unreadable'}"


def normalize(element: etree._Element) -> etree._Element:
    """A copy in the standard message namespace: the root named after its kind, the parts in MSG.

    A strongly typed carrier (`{...MeterReadingsMessage}MeterReadingsResponseMessage` whose
    Header/Reply/Payload sit in the per-noun namespace) and the `www.iec.ch` spelling both
    become what Message.xsd declares, so one schema and one set of XPaths judge every answer.
    """
    standard = shapes.standard(element)  # wrappers removed, parts and fields in MSG whatever the target's namespaces
    kind = m.kind_of(standard)
    copy = etree.fromstring(etree.tostring(standard))
    copy.tag = f"{{{MSG}}}{kind}"
    for el in copy.iter(etree.Element):
        if etree.QName(el).namespace == namespaces.MSG_WWW:
            el.tag = f"{{{MSG}}}{etree.QName(el).localname}"
    etree.cleanup_namespaces(copy)
    return copy


def post(url: str, body: bytes, soap_action: str, timeout: float, step: str,
         session: requests.Session | None = None) -> Exchange:
    headers = soap.http_headers(soap_action, _soap_version(body))
    exchange = Exchange(step=step, url=url, soap_action=soap_action, request=body)
    started = time.perf_counter()
    try:
        resp = (session or requests).post(url, data=body, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        exchange.error = _transport_reason(exc)
    else:
        exchange.status = resp.status_code
        exchange.response = resp.content
        exchange.content_type = resp.headers.get("Content-Type", "")
    exchange.elapsed = time.perf_counter() - started
    return exchange


def _soap_version(body: bytes) -> str:
    """The SOAP version of the envelope being sent (its HTTP headers follow it); 1.1 for anything unreadable."""
    try:
        return soap.version_of(m.parse_bytes(body, "request")) or "1.1"
    except MessageError:
        return "1.1"


def _transport_reason(exc: requests.RequestException) -> str:
    tls = describe_tls_error(exc)
    if tls is not None:  # an SSLError is a ConnectionError too; say what to do about it
        return tls
    text = str(exc)
    if isinstance(exc, requests.ConnectionError):
        return f"connection failed ({text.split(':')[-1].strip() or 'refused'})"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return text


def pretty(data: bytes | None) -> str:
    """Indented XML for a report; bytes that are not XML are shown as text."""
    if not data:
        return ""
    try:
        root = m.parse_bytes(data, "evidence")
    except MessageError:
        return data.decode("utf-8", "replace")
    for el in root.iter():
        if el.text is not None and not el.text.strip() and len(el):
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    return etree.tostring(root, pretty_print=True, encoding="unicode")


__all__ = ["Exchange", "normalize", "post", "pretty"]
