"""The one inbound path of a SOAP request: from Twisted's request to the bytes on the wire.

Read top to bottom, this module is what happens to a POST to `/soap/<Service>`:

1. **On the reactor** (`SoapResource.render_POST`): the request arrived whole (or past the
   body limit, which `site.LimitedRequest` alone enforces, keeping the first bytes for the
   journal). What the pool needs is taken from it as typed values, an `ArrivedRequest`: the
   body bytes, the media type, the too-large flag, the peer and the verified TLS client
   certificate. The pool never touches the Twisted request: Twisted closes its body when a
   client hangs up, and a thread still reading it would fail half-way.
2. **One job in the thread pool** (`SoapEndpoint.answer`, nothing else on the way):
   * the database gate: while the database is known to be away (or its schema not made yet)
     the 5.2 answer at once, without a connection attempt (server/outage.py);
   * the front checks: too large (413), not SOAP 1.1's content type (415);
   * the one reading (`read`): envelope (hardened parser), operation of this service, the
     guard's signature check, the 61968 message, the guard's decisions on that message;
   * dispatch: Spyne's interface maps the operation to its method, which runs the pipeline
     (`Processor.process`: checks, claim, handler, journal, commit) and returns the Outcome;
   * a `StoreUnavailable` from anywhere in it: 5.2 with Retry-After.
3. **On the reactor again** (`SoapResource._send`): the Outcome's bytes written once; or, for
   the bus role, the Outcome's `later` answer awaited on the reactor first; or, the client
   gone, one log line. A failure of the server itself is answered 5.3.

Every refusal is journaled and answered with the FAILED Fault (server/faults.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from twisted.internet.threads import deferToThreadPool
from twisted.web import resource
from twisted.web.server import NOT_DONE_YET

from ..message import MessageError, soap
from ..profiles import Service
from ..store import StoreUnavailable
from . import logformat
from .discovery import base_url, service_urls
from .faults import SERVER, failed_fault, fatal
from .guard import Guard
from .memory import large_requests
from .metrics import stages_of
from .outage import outage_outcome
from .pipeline import InboundCall, Outcome, Processor
from .reading import read_message, refuse_unread
from .spyne_app import SpyneService, operation_for
from .tls import PeerCertificate, client_certificate, peer_label

log = logging.getLogger(__name__)

SOAP11_CONTENT_TYPES = ("text/xml",)
REFUSED_SAMPLE = 64 * 1024  # bytes of a request refused before reading that the journal keeps
CONTENT_TYPE = b"text/xml; charset=utf-8"


@dataclass(frozen=True)
class ArrivedRequest:
    """What the pool gets of an HTTP request, taken from it on the reactor."""

    body: bytes  # all of it; of a request past the body limit, the first bytes kept
    media_type: str  # the Content-Type's media type, lower case ("" when none was sent)
    too_large: bool  # the body is (or was announced) larger than the limit: site.LimitedRequest decided
    peer: str | None  # the caller's address, with the TLS client certificate's subject over mutual TLS
    tls_client: PeerCertificate | None = None  # the client certificate the TLS handshake verified


def arrived_request(request) -> ArrivedRequest:
    """On the reactor: the typed values of a Twisted request the pool needs."""
    request.content.seek(0)
    tls_client = client_certificate(request)
    media_type = (request.getHeader(b"content-type") or b"").decode("latin-1").split(";", 1)[0].strip().lower()
    return ArrivedRequest(body=request.content.read(), media_type=media_type,
                          too_large=getattr(request, "too_large", False),
                          peer=peer_label(getattr(request.getClientAddress(), "host", None), tls_client),
                          tls_client=tls_client)


# ---------------------------------------------------------------- in the pool


class SoapEndpoint:
    """One service's SOAP endpoint: an ArrivedRequest in, the Outcome to write out."""

    def __init__(self, service: Service, operations: SpyneService, processor: Processor, guard: Guard,
                 max_body_bytes: int, is_ready=lambda: True):
        self.service = service
        self.operations = operations
        self.processor = processor
        self.guard = guard
        self.max_body_bytes = max_body_bytes  # named in the 413 answer; LimitedRequest enforces it
        self.limits = processor.parse_limits
        self.is_ready = is_ready  # the DatabaseWatch's verdict: a plain attribute read per request
        self.stages = stages_of(processor)  # per-stage timing for /metrics (server/metrics.py)

    def answer(self, request: ArrivedRequest) -> Outcome:
        """The whole request, as one job of the thread pool."""
        # One request: its stages timed once each, its MessageID/CorrelationID on every log line.
        with self.stages.request(), logformat.request_scope():
            if not self.is_ready():
                return outage_outcome()
            try:
                return self._answer(request)
            except StoreUnavailable:  # the database went away under this request (server/outage.py)
                return outage_outcome()

    def _answer(self, request: ArrivedRequest) -> Outcome:
        refusal = self._transport_refusal(request)
        if refusal is not None:
            return refusal
        large = large_requests.started(len(request.body))
        call = None
        try:
            with self.stages.timing("parse"):  # the verify and commit nested in it are timed apart
                outcome, call = self.read(request.body, request.peer, request.tls_client)
            if outcome is not None:
                return outcome
            return self.operations.dispatch(call)
        finally:
            call = None  # the parsed tree goes now, so that the trim below can hand its memory back
            if large:
                large_requests.done()

    def _transport_refusal(self, request: ArrivedRequest) -> Outcome | None:
        if request.too_large:
            return self._refuse(request.body[:REFUSED_SAMPLE], request.peer, fatal("3.1", (
                f"the request body is larger than this endpoint's limit of {self.max_body_bytes} bytes; "
                "send fewer objects per message or a Compressed payload")), 413)
        if request.media_type not in SOAP11_CONTENT_TYPES:
            return self._refuse(request.body[:REFUSED_SAMPLE], request.peer, fatal("1.8", (
                f"content type {request.media_type or '(none)'!r} is not SOAP 1.1; send text/xml")), 415)
        return None

    def read(self, raw: bytes, peer: str | None,
             tls_client: PeerCertificate | None = None) -> tuple[Outcome | None, InboundCall | None]:
        """The one reading of a request: envelope, operation, signature, 61968 message, then the
        guard's decisions on that message (a TLS client certificate bound like a signer). Returns
        the refusal, or the call to process."""
        try:
            unwrapped = soap.unwrap(raw, self.limits)
        except MessageError as exc:
            return self._refuse(raw, peer, fatal(exc.code, exc.reason), 500), None
        operation = operation_for(self.service, unwrapped.operation.tag)
        if operation is None:
            return self._refuse(raw, peer, fatal("2.9", (
                f"{unwrapped.operation.tag} is not an operation of {self.service.name}; "
                f"it offers {', '.join(op.name for op in self.service.operations)}")), 500), None
        # From the operation on, a request taken from the broker's queue is read by the same steps.
        return read_message(raw, unwrapped, self.service, operation, self.processor, self.guard, peer, tls_client)

    def _refuse(self, raw: bytes, peer: str | None, error, status: int) -> Outcome:
        """Refused before it could be read as a 61968 message: journaled, answered with the FAILED Fault."""
        return refuse_unread(self.processor, raw, peer, error, status)


# ---------------------------------------------------------------- on the reactor


class SoapResource(resource.Resource):
    """POST: the SOAP endpoint, answered by one job of the thread pool. GET ?wsdl: the WSDL."""

    isLeaf = True

    def __init__(self, reactor, threadpool, service: Service, endpoint: SoapEndpoint, wsdl_bytes):
        super().__init__()
        self.reactor = reactor
        self.threadpool = threadpool
        self.service = service
        self.endpoint = endpoint
        self.wsdl_bytes = wsdl_bytes  # (service name, address) -> the WSDL, cached by the site

    def render_POST(self, request):
        arrived = arrived_request(request)
        finished: list = []
        request.notifyFinish().addBoth(finished.append)  # the client may go away while we work
        answering = deferToThreadPool(self.reactor, self.threadpool, self.endpoint.answer, arrived)
        answering.addCallback(self._send, request, arrived, finished)
        answering.addErrback(self._failed, request, arrived, finished)
        return NOT_DONE_YET

    def _send(self, outcome: Outcome, request, arrived: ArrivedRequest, finished: list):
        if outcome.later is not None:  # the pipeline answers on the reactor (the bus role waiting for a backend)
            return outcome.later().addCallback(self._send, request, arrived, finished)
        if finished:
            log.warning("client %s went away before its answer to POST %s (HTTP %d, %d bytes); the request had "
                        "arrived whole and was handled to the end: the journal holds it and this answer",
                        arrived.peer or "?", request.path.decode("utf-8", "replace"), outcome.status,
                        len(outcome.body))
            return None
        request.setResponseCode(outcome.status)
        request.setHeader(b"content-type", CONTENT_TYPE)
        for name, value in outcome.headers:
            request.setHeader(name.encode("latin-1"), value.encode("latin-1"))
        request.setHeader(b"content-length", b"%d" % len(outcome.body))
        request.write(outcome.body)
        request.finish()
        return None

    def _failed(self, failure, request, arrived: ArrivedRequest, finished: list):
        log.error("unhandled error answering POST %s: %s", request.path.decode("utf-8", "replace"),
                  failure.getTraceback())
        body = failed_fault(fatal("5.3", "the server failed while answering; the message may be sent again with "
                                         "the same MessageID"), SERVER)
        self._send(Outcome(500, body), request, arrived, finished)

    def render_GET(self, request):
        request.setHeader(b"content-type", CONTENT_TYPE)
        return self.wsdl_bytes(self.service.name, service_urls(self.service, base_url(request))["url"])

    render_HEAD = render_GET

    def render(self, request):
        if request.method in (b"POST", b"GET", b"HEAD"):
            return super().render(request)
        request.setResponseCode(405)
        request.setHeader(b"allow", b"GET, HEAD, POST")
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"POST a SOAP 1.1 message here, or GET ?wsdl\n"


__all__ = ["ArrivedRequest", "SoapEndpoint", "SoapResource", "arrived_request"]
