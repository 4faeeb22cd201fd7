"""A zeep-based client for any endpoint that publishes a 61968-100 WSDL.

zeep reads the WSDLs (addresses, operations, soapActions, input elements), carries the
request (its Transport, its plugins and its wsse hooks run exactly as for a zeep call), and
caches what it downloaded. The message itself is built and read by soapbus.message: zeep
would turn an lxml payload put into an `xs:anyType` field into the text `<Element ...>`, so
the 61968 envelope takes its own raw-XML path through zeep's pipeline.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future
from functools import lru_cache
from dataclasses import dataclass
from datetime import datetime

import requests
import zeep
from lxml import etree
from zeep import plugins as zeep_plugins
from zeep.cache import InMemoryCache
from zeep.transports import Transport

from .. import message as m
from ..message import MessageError, codes, namespaces, soap, verbs
from .data import to_data
from ..security import SecurityFault, Verifier, sign_envelope
from .errors import FailedReply, NotOffered, SecurityError, SoapFaultError, TransportError


@dataclass
class Target:
    """One operation of one port: where to send and how to wrap."""

    client: zeep.Client
    address: str
    operation: object  # zeep operation (binding side)
    soap_action: str
    input_element: str  # Clark name of the Body's child
    generic: bool


@dataclass
class Result:
    """A parsed answer: the Reply, the payload as elements and as plain data, and the whole message."""

    message: m.ResponseMessage
    raw: bytes

    @property
    def reply(self) -> m.Reply:
        return self.message.reply

    @property
    def result(self) -> str:
        return self.message.reply.result

    @property
    def errors(self) -> list[m.Error]:
        return self.message.reply.errors

    @property
    def payload(self) -> list[etree._Element]:
        """The payload's profile documents (a Compressed payload inflated)."""
        if self.message.payload is None:
            return []
        return self.message.payload.expanded_documents()

    @property
    def data(self) -> list:
        return [to_data(doc) for doc in self.payload]

    @property
    def correlation_id(self) -> str | None:
        return self.message.header.correlation_id


_wsdl_cache = InMemoryCache(timeout=3600)
_clients: dict[tuple[str, int], zeep.Client] = {}
_clients_lock = threading.Lock()


@lru_cache(maxsize=16)
def _shared_transport(timeout: float) -> Transport:
    """One transport (one keep-alive connection pool) per timeout, shared by clients that bring none."""
    return Transport(cache=_wsdl_cache, timeout=timeout, operation_timeout=timeout)


def _zeep_client(wsdl: str, transport: Transport, plugins, wsse) -> zeep.Client:
    """Parsed WSDLs are kept per (url, transport): parsing one costs far more than a call."""
    key = (wsdl, id(transport), id(wsse), tuple(id(p) for p in plugins))
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            try:
                found = zeep.Client(wsdl, transport=transport, plugins=list(plugins), wsse=wsse)
            except requests.RequestException as exc:
                raise TransportError(f"cannot fetch the WSDL {wsdl}: {exc}") from None
            except (zeep.exceptions.Error, etree.XMLSyntaxError, OSError) as exc:
                raise TransportError(f"cannot read the WSDL {wsdl}: {exc}") from None
            _clients[key] = found
    return found


def _wsdl_location(target: str) -> str:
    """An endpoint URL becomes its `?wsdl`; WSDL URLs and files are taken as they are."""
    lowered = target.lower()
    if lowered.endswith(".wsdl") or "?wsdl" in lowered or not lowered.startswith(("http://", "https://")):
        return target
    return target + "?wsdl"


def _targets(client: zeep.Client) -> list[Target]:
    found = []
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            address = port.binding_options.get("address")
            for name, operation in port.binding._operations.items():
                body = getattr(operation.input, "body", None)
                qname = getattr(body, "qname", None)
                if qname is None:
                    continue
                element = qname.text if hasattr(qname, "text") else str(qname)
                generic = etree.QName(element).namespace in (namespaces.ABSTRACT, *namespaces.MSG_ACCEPTED)
                found.append(Target(client, address, operation, operation.soapaction or "", element, generic))
    return found


class Client:
    """Call 61968 endpoints described by one or more WSDLs (typed per noun, or the generic one).

        c = Client("http://dms:8061/soap/ExecuteMeterReadings", "http://dms:8061/soap/GetMeterReadings")
        c.create("MeterReadings", payload_element)
        result = c.get("MeterReadings", "mrid-1")
    """

    def __init__(self, *wsdls: str, source: str | None = None, context: str | None = None,
                 user: m.User | None = None, timeout: float = 30, session: requests.Session | None = None,
                 plugins=(), wsse=None, raise_on_failed: bool = True, transport: Transport | None = None,
                 signing_key=None, trust=None, policy=None, key_reference: str = "bst", algorithm: str | None = None):
        if not wsdls:
            raise ValueError("give at least one WSDL URL, WSDL file or endpoint URL")
        self.source = source
        self.context = context
        # WS-Security: the key is loaded once by the caller (soapbus.security.SigningKey.load), never per call
        self.signing_key = signing_key
        self.key_reference = key_reference
        self.algorithm = algorithm
        self.verifier = Verifier(trust, policy) if trust is not None else None
        self.user = user
        self.raise_on_failed = raise_on_failed
        if transport is None:
            transport = (_shared_transport(timeout) if session is None else
                         Transport(cache=_wsdl_cache, timeout=timeout, operation_timeout=timeout, session=session))
        self.transport = transport
        self.targets: list[Target] = []
        for wsdl in wsdls:
            self.targets.extend(_targets(_zeep_client(_wsdl_location(wsdl), self.transport, plugins, wsse)))

    # ------------------------------------------------------------ verbs

    def get(self, noun: str, *ids: str | m.ID, start: datetime | None = None, end: datetime | None = None,
            options: dict | None = None, query: etree._Element | None = None, **header) -> Result:
        request = m.Request(start_time=start, end_time=end, options=list((options or {}).items()),
                            ids=[i if isinstance(i, m.ID) else m.ID(i) for i in ids],
                            queries=[query] if query is not None else [])
        return self.send(m.RequestMessage(self._header("get", noun, **header), request))

    def create(self, noun: str, payload, **kw) -> Result:
        return self._transaction("create", noun, payload, **kw)

    def change(self, noun: str, payload, **kw) -> Result:
        return self._transaction("change", noun, payload, **kw)

    def execute(self, noun: str, payload, **kw) -> Result:
        return self._transaction("execute", noun, payload, **kw)

    def cancel(self, noun: str, *ids, payload=None, **header) -> Result:
        return self._by_ids("cancel", noun, ids, payload, **header)

    def close(self, noun: str, *ids, payload=None, **header) -> Result:
        return self._by_ids("close", noun, ids, payload, **header)

    def delete(self, noun: str, *ids, payload=None, **header) -> Result:
        return self._by_ids("delete", noun, ids, payload, **header)

    def publish(self, verb: str, noun: str, payload, compress: bool = False, **header) -> Result:
        """Send an event (created, changed, ...) to the endpoint's PublishEvent or Receive<Noun>."""
        if verbs.normalize(verb) not in verbs.EVENT_VERBS:
            raise ValueError(f"{verb!r} is not an event verb; use one of {sorted(verbs.EVENT_VERBS)}")
        return self.send(m.EventMessage(self._header(verb, noun, **header), _payload(payload, compress)))

    # ------------------------------------------------------------ asynchronous (Send/Receive)

    def send_async(self, msg: m.RequestMessage, listener) -> Future:
        """Send with AsyncReplyFlag and the listener's URL as ReplyAddress; the Future gets every reply.

        The immediate answer must be the acknowledgement (OK, 0.3); anything else raises here.
        """
        msg.header.async_reply_flag = True
        msg.header.reply_address = listener.url
        future = listener.expect(m.correlation_for(msg.header))
        ack = self.send(msg)
        if ack.result != codes.OK:
            raise FailedReply(ack)
        return future

    def get_async(self, noun: str, *ids, listener, **kw) -> Future:
        request = m.Request(ids=[i if isinstance(i, m.ID) else m.ID(i) for i in ids],
                            options=list(kw.pop("options", {}).items()))
        return self.send_async(m.RequestMessage(self._header("get", noun, **kw), request), listener)

    def create_async(self, noun: str, payload, *, listener, compress: bool = False, **header) -> Future:
        return self.send_async(m.RequestMessage(self._header("create", noun, **header), None,
                                                _payload(payload, compress)), listener)

    # ------------------------------------------------------------ plumbing

    def _transaction(self, verb, noun, payload, compress: bool = False, **header) -> Result:
        return self.send(m.RequestMessage(self._header(verb, noun, **header), None, _payload(payload, compress)))

    def _by_ids(self, verb, noun, ids, payload, **header) -> Result:
        request = m.Request(ids=[i if isinstance(i, m.ID) else m.ID(i) for i in ids]) if ids else None
        body = _payload(payload, False) if payload is not None else None
        return self.send(m.RequestMessage(self._header(verb, noun, **header), request, body))

    def _header(self, verb: str, noun: str, **fields) -> m.Header:
        values = dict(timestamp=m.now(), source=self.source, context=self.context, user=self.user,
                      message_id=m.new_message_id())
        values.update(fields)
        return m.Header(verb=verb, noun=noun, **values)

    def target_for(self, verb: str, noun: str) -> Target:
        """The typed operation `<Verb><Noun>` if a WSDL offers it, else the generic one."""
        verb = verbs.normalize(verb)
        typed_name = f"{verb.capitalize()}{noun}"
        generic_op = "PublishEvent" if verb in verbs.EVENT_VERBS else "Request"
        for target in self.targets:
            # Any year's per-noun namespace (.../2011/MeterReadingsMessage, .../2015/...): vendors differ.
            element = etree.QName(target.input_element)
            if element.localname == typed_name and (element.namespace or "").endswith(f"/{noun}Message"):
                return target
        for target in self.targets:
            if target.generic and target.operation.name == generic_op:
                return target
        raise NotOffered(f"no WSDL given to this client offers {typed_name} or a generic {generic_op} operation")

    def send(self, msg: m.RequestMessage | m.EventMessage) -> Result:
        target = self.target_for(msg.header.verb, msg.header.noun)
        envelope = soap.envelope(_carrier(msg, target))
        headers = {"SOAPAction": f'"{target.soap_action}"', "Content-Type": "text/xml; charset=utf-8"}
        options = {"address": target.address}
        envelope, headers = zeep_plugins.apply_egress(target.client, envelope, headers, target.operation, options)
        if target.client.wsse is not None:
            envelope, headers = target.client.wsse.apply(envelope, headers)
        if self.signing_key is not None:
            envelope = sign_envelope(envelope, self.signing_key, key_reference=self.key_reference,
                                     algorithm=self.algorithm)
        try:
            response = target.client.transport.post_xml(target.address, envelope, headers)
        except requests.RequestException as exc:
            raise TransportError(f"cannot reach {target.address}: {exc}") from None
        return self._read(target, response)

    def _read(self, target: Target, response) -> Result:
        content_type = response.headers.get("Content-Type", "")
        if "xml" not in content_type:
            raise TransportError(f"{target.address} answered HTTP {response.status_code} with "
                                 f"{content_type or 'no content type'}, not SOAP", response.status_code,
                                 response.content)
        try:
            unwrapped = soap.unwrap(response.content)
        except MessageError as exc:
            raise TransportError(f"{target.address} answered HTTP {response.status_code} with a body that is not "
                                 f"a SOAP envelope: {exc.reason}", response.status_code, response.content) from None
        envelope, _ = zeep_plugins.apply_ingress(target.client, unwrapped.envelope, response.headers,
                                                 target.operation)
        fault = soap.read_fault(envelope)
        if fault is not None:  # faults first: a fault is often unsigned, so nothing to verify
            raise SoapFaultError(fault.code, fault.reason, _fault_message(fault.detail), response.status_code)
        if target.client.wsse is not None:
            target.client.wsse.verify(envelope)
        element = self._verified_message(response.content) if self.verifier is not None else unwrapped.message
        try:
            message = m.parse(element, "ResponseMessage")
        except MessageError as exc:
            raise TransportError(f"{target.address} answered something that is not a 61968 ResponseMessage: "
                                 f"{exc.reason}", response.status_code, response.content) from None
        result = Result(message, response.content)
        if self.raise_on_failed and result.result == codes.FAILED:
            raise FailedReply(result)
        return result


    def _verified_message(self, content: bytes) -> etree._Element:
        """Only what the server's signature covers is read, never the rest of the envelope."""
        try:
            verified = self.verifier.verify(content)
        except SecurityFault as fault:
            raise SecurityError(fault.code, f"the response did not verify: {fault.reason}") from None
        if verified.message is None:
            raise SecurityError("wsse:InvalidSecurity", "the signed Body does not hold exactly one message")
        return verified.message


def _payload(payload, compress: bool) -> m.Payload:
    if isinstance(payload, m.Payload):
        return payload
    documents = payload if isinstance(payload, (list, tuple)) else [payload]
    elements = [m.parse_bytes(d.encode() if isinstance(d, str) else d, "payload")
                if isinstance(d, (bytes, str)) else d for d in documents]
    if compress:
        if len(elements) != 1:
            raise ValueError("a Compressed payload holds one document")
        return m.Payload.compress(elements[0])
    return m.Payload(documents=elements, format="XML")


def _carrier(msg, target: Target) -> etree._Element:
    if not target.generic:
        ns = etree.QName(target.input_element).namespace
        return m.to_element(msg, wrapper=target.input_element, part_ns=ns)
    if etree.QName(target.input_element).namespace == namespaces.ABSTRACT:
        wrapper = etree.Element(target.input_element)
        wrapper.append(m.to_element(msg, wrapper=f"{{{namespaces.ABSTRACT}}}message"))
        return wrapper
    return m.to_element(msg)


def _fault_message(detail):
    if detail is None:
        return None
    try:
        return m.parse(detail, "FaultMessage")
    except MessageError:
        return None


__all__ = ["Client", "Result", "Target"]
