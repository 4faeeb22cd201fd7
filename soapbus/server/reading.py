"""The one reading of a request envelope into an InboundCall, whatever carried it.

A SOAP request arriving over HTTP (server/inbound.py) and one taken from the broker's request
queue (server/broker_requests.py) are read by the same steps, so that neither can be checked
less than the other: the envelope parsed once by the hardened parser, the operation found, the
guard's signature check (which says which element to read: the signed one), the 61968 message
read once, and the guard's decisions (signing required for this interface, Source bound to the
signer or TLS client) taken from that reading. Every refusal is journaled and answered with the
FAILED SOAP Fault (server/faults.py), or the WS-Security fault.
"""
from __future__ import annotations

from lxml import etree

from ..message import Error, MessageError, parse_bytes, soap
from ..message import envelope as env
from ..message.namespaces import MSG_ACCEPTED
from ..profiles import GENERIC, Operation, Service, services
from ..security import SecurityFault
from . import logformat
from .faults import CLIENT, failed_fault, fatal
from .guard import Guard
from .pipeline import InboundCall, Outcome, Processor, expected_kind
from .spyne_app import operation_for
from .tls import PeerCertificate

# The 61968 message elements a bare (not SOAP-wrapped) message may be: each read as the generic
# service's operation of that name.
_BARE_MESSAGES = {"RequestMessage": "Request", "ResponseMessage": "Response", "EventMessage": "PublishEvent"}


def read_message(raw: bytes, unwrapped: soap.Unwrapped, service: Service, operation: Operation,
                 processor: Processor, guard: Guard, peer: str | None, tls_client: PeerCertificate | None = None,
                 redelivery: bool = False) -> tuple[Outcome | None, InboundCall | None]:
    """From a found operation on: signature, 61968 message, the guard's decisions on that message.
    Returns the refusal (journaled), or the call to process. redelivery: a broker's second delivery of
    the same message (Guard.verify says what that changes)."""
    try:
        verdict = guard.verify(service, raw, unwrapped, redelivery)
        try:
            msg = env.parse(verdict.message, expected_kind(service, operation))
        except MessageError as exc:
            return processor.refuse_unparsed(raw, peer, service, exc), None
        logformat.bind(getattr(msg, "header", None))
        guard.authorize(service, verdict, msg, tls_client, redelivery)
    except SecurityFault as fault:
        body = soap.to_bytes(fault.fault_envelope())
        return processor.journal_refusal(raw, peer, body, fatal(fault.code, fault.reason), 500), None
    return None, InboundCall(raw, unwrapped.envelope, msg, service, operation, peer,
                             sign=guard.signer_for(service, verdict, msg), tls_client=tls_client,
                             carrier_ns=etree.QName(unwrapped.operation).namespace,
                             signer=verdict.signer if verdict.signed else None,
                             replay=verdict.replay if verdict.signed else None)


def refuse_unread(processor: Processor, raw: bytes, peer: str | None, error: Error, status: int = 500) -> Outcome:
    """Refused before it could be read as a 61968 message: journaled, answered with the FAILED Fault."""
    return processor.journal_refusal(raw, peer, failed_fault(error, CLIENT), error, status)


def read_any_service(raw: bytes, processor: Processor, guard: Guard, peer: str | None,
                     redelivery: bool = False) -> tuple[Outcome | None, InboundCall | None]:
    """A request that names no endpoint (a broker message): its service is the one whose operation
    its SOAP Body element is (`CreateMeterReadings` in any year's per-noun namespace, the generic
    `Request`/`RequestMessage`...). A bare 61968 message, not wrapped in a SOAP envelope, is read
    as the generic service's plain form (it cannot carry a WS-Security header)."""
    try:
        unwrapped = _unwrap_or_bare(raw, processor)
    except MessageError as exc:
        return refuse_unread(processor, raw, peer, fatal(exc.code, exc.reason)), None
    found = service_for(unwrapped.operation.tag)
    if found is None:
        return refuse_unread(processor, raw, peer, fatal("2.9", (
            f"{unwrapped.operation.tag} is not an operation soapbus serves; send a typed operation element "
            "(CreateMeterReadings, GetMeterReadings ... in its <Noun>Message namespace, as the WSDLs at "
            "/wsdl/ declare) or a 61968 RequestMessage"))), None
    service, operation = found
    return read_message(raw, unwrapped, service, operation, processor, guard, peer, redelivery=redelivery)


def _unwrap_or_bare(raw: bytes, processor: Processor) -> soap.Unwrapped:
    """The envelope as soap.unwrap reads it; a bare 61968 message is put in an envelope of its own."""
    root = parse_bytes(raw, "message", processor.parse_limits)
    if soap.version_of(root) is not None:
        return soap.unwrap_element(root)
    qname = etree.QName(root)
    if qname.namespace in MSG_ACCEPTED and qname.localname in _BARE_MESSAGES:
        envelope = soap.envelope(root)
        return soap.Unwrapped(envelope, None, envelope.find(soap.BODY), root, root)
    raise MessageError("1.8", f"neither a SOAP 1.1 Envelope nor a 61968 message: the root element is {root.tag}")


_services_by_tag: dict[str, tuple[Service, Operation]] = {}


def service_for(tag: str) -> tuple[Service, Operation] | None:
    """The (service, operation) a Body element addresses; each tag names at most one. Tags found are
    remembered (a bounded set: the served operations); tags not found are not, whatever a sender invents."""
    found = _services_by_tag.get(tag)
    if found is None:
        found = _find_service(tag)
        if found is not None:
            _services_by_tag[tag] = found
    return found


def _find_service(tag: str) -> tuple[Service, Operation] | None:
    qname = etree.QName(tag)
    if qname.namespace in MSG_ACCEPTED and qname.localname in _BARE_MESSAGES:
        return GENERIC, next(op for op in GENERIC.operations if op.name == _BARE_MESSAGES[qname.localname])
    for service in services():
        operation = operation_for(service, tag)
        if operation is not None:
            return service, operation
    return None


__all__ = ["read_message", "refuse_unread", "read_any_service", "service_for"]
