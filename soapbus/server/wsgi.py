"""The WSGI front of one SOAP endpoint: what must be refused before Spyne sees a request.

Content type, size, well-formedness and the operation are checked here, with the hardened
parser, and every refusal is journaled and answered as a SOAP Fault whose detail holds a
61968 FaultMessage. Runs in the reactor's thread pool (see wsgi_host).
"""
from __future__ import annotations

import io

from lxml import etree

from ..message import Error, FaultMessage, MessageError, Reply, codes, soap
from ..message import envelope as env
from ..profiles import Service
from ..security import SecurityFault
from .guard import Guard
from . import logformat
from .memory import large_requests
from .metrics import stages_of
from .pipeline import InboundCall, Outcome, Processor, expected_kind
from .spyne_app import CALL_KEY, HTTP_STATUS, operation_for
from .tls import TLS_CLIENT_KEY, PeerCertificate, peer_label
from .wsgi_host import TOO_LARGE_KEY  # set when the body outgrew the limit while arriving

SOAP11_CONTENT_TYPES = ("text/xml",)


class SoapEndpoint:
    def __init__(self, service: Service, spyne_wsgi, processor: Processor, max_body_bytes: int, guard: Guard):
        self.service = service
        self.limits = processor.parse_limits
        self.guard = guard
        self.spyne_wsgi = spyne_wsgi
        self.processor = processor
        self.max_body_bytes = max_body_bytes
        self.stages = stages_of(processor)  # per-stage timing for /metrics (server/metrics.py)

    def __call__(self, environ, start_response):
        # One request: its stages timed once each, its MessageID/CorrelationID on every log line.
        with self.stages.request(), logformat.request_scope():
            return self._serve(environ, start_response)

    def _serve(self, environ, start_response):
        tls_client = environ.get(TLS_CLIENT_KEY)  # the verified client certificate, over mutual TLS
        peer = peer_label(environ.get("REMOTE_ADDR"), tls_client)  # journaled: address (and TLS subject)
        refusal = self._transport_refusal(environ)
        if refusal is not None:
            status, faultcode, error = refusal
            raw = environ["wsgi.input"].read(64 * 1024)  # what arrived, bounded, for the journal
            return self._respond(start_response, self._refuse(raw, peer, faultcode, error, status))
        raw = environ["wsgi.input"].read()
        large = large_requests.started(len(raw))
        try:
            with self.stages.timing("parse"):  # the verify and commit nested in it are timed apart
                outcome, call = self.read(raw, peer, tls_client)
            if outcome is not None:
                return self._respond(start_response, outcome)
            environ[CALL_KEY] = call
            environ["wsgi.input"] = io.BytesIO(raw)
            environ["CONTENT_LENGTH"] = str(len(raw))
            return list(self.spyne_wsgi(environ, start_response))
        finally:
            environ.pop(CALL_KEY, None)  # the parsed tree goes now, so that its memory can be handed back
            call = None
            if large:
                large_requests.done()

    def read(self, raw: bytes, peer: str | None,
             tls_client: PeerCertificate | None = None) -> tuple[Outcome | None, InboundCall | None]:
        """The one reading of a request: envelope, operation, signature, 61968 message, then the
        guard's decisions on that message (a TLS client certificate bound like a signer). Returns
        the refusal, or the call to process."""
        try:
            unwrapped = soap.unwrap(raw, self.limits)
        except MessageError as exc:
            error = Error(code=exc.code, level="FATAL", reason=exc.reason)
            return self._refuse(raw, peer, "soapenv:Client", error, 500), None
        operation = operation_for(self.service, unwrapped.operation.tag)
        if operation is None:
            error = Error(code="2.9", level="FATAL", reason=(
                f"{unwrapped.operation.tag} is not an operation of {self.service.name}; "
                f"it offers {', '.join(op.name for op in self.service.operations)}"))
            return self._refuse(raw, peer, "soapenv:Client", error, 500), None
        try:
            verdict = self.guard.verify(self.service, raw, unwrapped)
            try:
                msg = env.parse(verdict.message, expected_kind(self.service, operation))
            except MessageError as exc:
                return self.processor.refuse_unparsed(raw, peer, self.service, exc), None
            logformat.bind(getattr(msg, "header", None))
            self.guard.authorize(self.service, verdict, msg, tls_client)
        except SecurityFault as fault:
            body = soap.to_bytes(fault.fault_envelope())
            error = Error(code=fault.code, level="FATAL", reason=fault.reason)
            return self.processor.journal_refusal(raw, peer, body, error, 500), None
        return None, InboundCall(raw, unwrapped.envelope, msg, self.service, operation, peer,
                                 sign=self.guard.signer_for(self.service, verdict, msg),
                                 tls_client=tls_client,
                                 carrier_ns=etree.QName(unwrapped.operation).namespace,
                                 signer=verdict.signer if verdict.signed else None)

    def _transport_refusal(self, environ):
        if environ.get(TOO_LARGE_KEY) or int(environ.get("CONTENT_LENGTH") or 0) > self.max_body_bytes:
            return 413, "soapenv:Client", Error(code="3.1", level="FATAL", reason=(
                f"the request body is larger than this endpoint's limit of {self.max_body_bytes} bytes; "
                "send fewer objects per message or a Compressed payload"))
        content_type = (environ.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
        if content_type not in SOAP11_CONTENT_TYPES:
            return 415, "soapenv:Client", Error(code="1.8", level="FATAL", reason=(
                f"content type {content_type or '(none)'!r} is not SOAP 1.1; send text/xml"))
        return None

    def _refuse(self, raw: bytes, peer, faultcode: str, error: Error, status: int) -> Outcome:
        fault_message = FaultMessage(Reply(result=codes.FAILED, errors=[error]))
        body = soap.to_bytes(soap.fault(faultcode, f"{error.code}: {error.reason}", env.to_element(fault_message)))
        return self.processor.journal_refusal(raw, peer, body, error, status)

    @staticmethod
    def _respond(start_response, outcome: Outcome):
        start_response(HTTP_STATUS.get(outcome.status, f"{outcome.status} Status"),
                       [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(outcome.body)))])
        return [outcome.body]
