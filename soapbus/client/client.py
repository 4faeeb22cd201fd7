"""A zeep-based client for any endpoint that publishes a 61968-100 WSDL.

What the WSDLs offer is read by soapbus.client.discovery (the same reading the conformance
harness uses): operations by name and input element in any namespace, SOAP 1.1 or 1.2, the
message namespace and verb spelling the target's schema declares. zeep carries the request
(its Transport, its plugins and its wsse hooks run exactly as for a zeep call) and caches
what it downloaded. The message itself is built and read by soapbus.message: zeep would turn
an lxml payload put into an `xs:anyType` field into the text `<Element ...>`, so the 61968
envelope takes its own raw-XML path through zeep's pipeline, in the shape discovery found.
"""
from __future__ import annotations

import threading
import warnings
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

import requests
import zeep
from lxml import etree
from zeep import plugins as zeep_plugins
from zeep.transports import Transport

from .. import message as m
from ..message import MessageError, codes, shapes, soap, verbs
from .data import document_data
from ..security import SecurityFault, Verifier, sign_envelope, signed_bytes
from ..security import ns as wss_ns
from . import discovery
from .discovery import Discovery, Operation, shared_transport
from .tls import ClientTls, describe_tls_error, transport_for
from .errors import (FailedReply, NotOffered, SecurityError, SoapbusClientError, SoapFaultError, TransportError,
                     UnverifiedAnswer)

_WSSE_SECURITY = f"{{{wss_ns.WSSE}}}Security"


@dataclass
class Target:
    """One operation of one port: where to send and how to wrap."""

    client: zeep.Client
    address: str | None
    operation: object  # zeep operation (binding side)
    soap_action: str
    input_element: str  # Clark name of the Body's child
    generic: bool
    discovered: Operation  # what discovery read: verb, noun, shape, SOAP version

    @property
    def soap_version(self) -> str:
        return self.discovered.soap_version


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
        return [document_data(doc) for doc in self.payload]

    @property
    def correlation_id(self) -> str | None:
        return self.message.header.correlation_id


_clients: dict[tuple, zeep.Client] = {}
_clients_lock = threading.Lock()


def _zeep_client(document, key: tuple, transport: Transport, plugins, wsse) -> zeep.Client:
    """One zeep client per (WSDL, transport, wsse, plugins), on the WSDL discovery already parsed."""
    key = (*key, id(transport), id(wsse), tuple(id(p) for p in plugins))
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            found = _clients[key] = zeep.Client(document, transport=transport, plugins=list(plugins), wsse=wsse)
    return found


def _zeep_operation(document, op: Operation):
    """The zeep binding operation discovery's record stands for (plugins are handed this one)."""
    for service in document.services.values():
        if op.service is not None and service.name != op.service:
            continue
        for port in service.ports.values():
            if op.port is None or port.name == op.port:
                found = port.binding._operations.get(op.name)
                if found is not None:
                    return found
    for binding in document.bindings.values():
        found = binding._operations.get(op.name)
        if found is not None:
            return found
    return None


class Client:
    """Call 61968 endpoints described by one or more WSDLs (typed per noun, or the generic one).

        c = Client("http://dms:8061/soap/ExecuteMeterReadings", "http://dms:8061/soap/GetMeterReadings")
        c.create("MeterReadings", payload_element)
        result = c.get("MeterReadings", "mrid-1")

    endpoint: where to send instead of the WSDLs' soap:address (one URL for all WSDLs, or one
    per WSDL in order). schema_dirs: folders of XSD files that the WSDLs' imports are resolved
    from first (by namespace, then by file name). `client.discovery` records what was found.

    HTTPS: verify= True (the system's trust store, the default), a CA bundle (PEM path) the
    server's certificate must chain to, or False (no verification: warned loudly, for test
    endpoints only); client_cert= a PEM holding certificate and key, or (certificate, key), for
    endpoints demanding mutual TLS. Files are read here (TlsSetupError names a bad one).
    """

    def __init__(self, *wsdls: str, source: str | None = None, context: str | None = None,
                 user: m.User | None = None, timeout: float = 30, session: requests.Session | None = None,
                 plugins=(), wsse=None, raise_on_failed: bool = True, transport: Transport | None = None,
                 signing_key=None, trust=None, policy=None, key_reference: str = "bst", algorithm: str | None = None,
                 endpoint: str | Sequence[str] | None = None, schema_dirs: Sequence[str] = (),
                 verify: bool | str | None = None, client_cert: str | tuple[str, str] | None = None):
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
        tls = ClientTls.of(verify, client_cert)
        if tls is not None and (transport is not None or session is not None):
            raise ValueError("give verify=/client_cert=, or a session= or transport= of your own with TLS set on "
                             "it, not both")
        if tls is not None:
            transport = transport_for(tls, timeout)
        if transport is None:
            transport = (shared_transport(timeout) if session is None else
                         Transport(cache=discovery._wsdl_cache, timeout=timeout, operation_timeout=timeout,
                                   session=session))
        self.transport = transport
        self.targets: list[Target] = []
        found = []
        schema_dirs = tuple(str(d) for d in schema_dirs)
        for wsdl, address in zip(wsdls, discovery.endpoints_for(wsdls, endpoint)):
            read, document = discovery.discover_wsdl(wsdl, transport, schema_dirs, address)
            found.append(read)
            client = _zeep_client(document, (read.wsdl, schema_dirs), transport, plugins, wsse)
            self.targets.extend(Target(client, op.address, _zeep_operation(document, op), op.soap_action,
                                       op.input_element, op.style == "generic", op) for op in read.operations)
        self.discovery = Discovery(tuple(found))

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
        """The noun's own operation for this verb if a WSDL offers one, else the generic one."""
        chosen = discovery.choose([t.discovered for t in self.targets], verb, noun, strict=False)
        for target in self.targets:
            if target.discovered is chosen:
                return target
        offered = "; ".join(op.describe() for op in self.discovery.operations) or "no 61968 operation"
        raise NotOffered(f"no WSDL given to this client offers {verbs.normalize(verb)} {noun} (nor a generic "
                         f"operation for it); they offer: {offered}")

    def send(self, msg: m.RequestMessage | m.EventMessage) -> Result:
        target = self.target_for(msg.header.verb, msg.header.noun)
        if not target.address:
            raise TransportError(f"the WSDL {target.discovered.wsdl} gives {target.discovered.name} no soap:address; "
                                 "say where to send with endpoint=")
        signed = self.signing_key is not None and target.soap_version == "1.1"
        envelope = _request_envelope(_carrier(msg, target), target.soap_version, signed)
        headers = soap.http_headers(target.soap_action, target.soap_version)
        options = {"address": target.address}
        envelope, headers = zeep_plugins.apply_egress(target.client, envelope, headers, target.operation, options)
        if target.client.wsse is not None:
            envelope, headers = target.client.wsse.apply(envelope, headers)
        if self.signing_key is not None and target.soap_version != "1.1":
            raise SoapbusClientError(f"{target.discovered.name} is bound to SOAP {target.soap_version}; soapbus "
                                     "signs SOAP 1.1 envelopes only (WS-Security here is SOAP 1.1)")
        try:
            response = self._post(target, envelope, headers)
        except requests.RequestException as exc:
            raise TransportError(f"cannot reach {target.address}: {describe_tls_error(exc) or exc}") from None
        return self._read(target, response)

    def _post(self, target: Target, envelope: etree._Element, headers: dict) -> requests.Response:
        """The transport's post_xml of the envelope, signed when this client signs.

        zeep's own post_xml serialises the envelope and posts the bytes; for it, signed_bytes
        makes those very bytes without building the Security header as a tree (the costliest
        part of signing after the RSA operation). A transport with a post_xml of its own gets
        the signed tree.
        """
        transport = target.client.transport
        if self.signing_key is None:
            return transport.post_xml(target.address, envelope, headers)
        options = dict(key_reference=self.key_reference, algorithm=self.algorithm)
        if type(transport).post_xml is Transport.post_xml:
            return transport.post(target.address, signed_bytes(envelope, self.signing_key, **options), headers)
        return transport.post_xml(target.address, sign_envelope(envelope, self.signing_key, **options), headers)

    def _read(self, target: Target, response) -> Result:
        content_type = response.headers.get("Content-Type", "")
        if "xml" not in content_type:
            raise TransportError(f"{target.address} answered HTTP {response.status_code} with "
                                 f"{content_type or 'no content type'}, not SOAP", response.status_code,
                                 response.content)
        try:
            unwrapped = soap.unwrap(response.content, versions=soap.ANY_VERSION)
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
        if self.verifier is None and unwrapped.header is not None and unwrapped.header.find(_WSSE_SECURITY) is not None:
            warnings.warn(UnverifiedAnswer(f"the answer from {target.address} is signed, but its signature was not "
                                           "verified: this client was given no trust="), stacklevel=3)
        element = self._verified_message(response.content) if self.verifier is not None else unwrapped.operation
        try:
            # Wrappers removed and the target's namespaces (per-noun, www, a vendor's own) read as the standard one.
            message = m.parse(shapes.standard(element), "ResponseMessage")
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


def _request_envelope(carrier: etree._Element, version: str, signed: bool) -> etree._Element:
    """The request's SOAP envelope, with `carrier` in its Body.

    One to be signed (SOAP 1.1) has its soap:Header, and a Body that declares wsu, from the
    start: sign_envelope then gives the Body its wsu:Id in place. lxml adds no declaration to
    an element that exists, so the signer would otherwise rebuild the Body around its content.
    """
    if not signed:
        return soap.envelope(carrier, version=version)
    envelope = _signable_envelope().__deepcopy__(None)  # one C call for the three elements
    envelope[1].append(carrier)
    return envelope


_built = threading.local()  # lxml trees are not shared between threads


def _signable_envelope() -> etree._Element:
    """An empty SOAP 1.1 envelope with a soap:Header and a Body declaring wsu, built once per thread."""
    envelope = getattr(_built, "envelope", None)
    if envelope is None:
        envelope = _built.envelope = etree.Element(wss_ns.ENVELOPE, nsmap={"soapenv": wss_ns.SOAP11_ENV})
        etree.SubElement(envelope, wss_ns.SOAP_HEADER)
        etree.SubElement(envelope, wss_ns.SOAP_BODY, nsmap={"wsu": wss_ns.WSU})
    return envelope


def _carrier(msg, target: Target) -> etree._Element:
    """The Body's child: the message in the shape the target's schema declares (wrapping, namespaces, spelling)."""
    return shapes.build(msg, target.discovered.shape)


def _fault_message(detail):
    if detail is None:
        return None
    try:
        return m.parse(detail, "FaultMessage")
    except MessageError:
        return None


__all__ = ["Client", "Result", "Target"]
