"""Spyne applications, one per service of the noun table, dispatching into the soapbus pipeline.

Spyne does what it is good at: SOAP 1.1 envelope decomposition and dispatch of the Body's
element to the operation's method. Two things are done around it on purpose:

* input: the envelope has already been parsed by soapbus's hardened parser (no DTD, no
  entities, size-bounded) and the raw bytes kept for the journal and for signatures, so the
  protocol below takes that tree instead of parsing again;
* output: Spyne's `AnyXml` keeps only the first child of an `xs:any`, which would drop all
  but one object of a payload, so the method returns nothing through Spyne's models and the
  exact bytes soapbus built replace Spyne's serialisation at `wsgi_return`.

The WSDLs are soapbus's own (built from the same noun table in the 61968 template shapes);
Spyne's generated ones are never served.
"""
from __future__ import annotations

from spyne import AnyXml, Application, ServiceBase, rpc
from spyne.protocol.soap import Soap11
from spyne.protocol.xml import XmlDocument
from spyne.server.wsgi import WsgiApplication

from ..message.namespaces import MSG_ACCEPTED
from ..profiles import Service
from ..store import StoreUnavailable
from . import outage

CALL_KEY = "soapbus.call"
OUTCOME_KEY = "soapbus.outcome"

HTTP_STATUS = {200: "200 OK", 202: "202 Accepted", 413: "413 Payload Too Large", 415: "415 Unsupported Media Type",
               500: "500 Internal Server Error"}

# The generic service's plain form puts the 61968 message itself in the Body.
_PLAIN_GENERIC = {"RequestMessage": "Request", "ResponseMessage": "Response", "EventMessage": "PublishEvent"}


class PreparsedSoap11(Soap11):
    """Spyne's SOAP 1.1 input, fed the tree soapbus parsed instead of parsing again."""

    def create_in_document(self, ctx, charset=None):
        call = ctx.transport.req_env[CALL_KEY]
        ctx.in_document = (call.envelope, {})

    def decompose_incoming_envelope(self, ctx, message=XmlDocument.REQUEST):
        # The front has already found the operation (in any year's per-noun namespace, or the
        # generic plain form); Spyne dispatches on that operation's own key, not on the tag again.
        super().decompose_incoming_envelope(ctx, message)
        call = ctx.transport.req_env[CALL_KEY]
        ctx.method_request_string = f"{{{call.service.message_ns}}}{call.operation.name}"


def _operation_method(operation_name: str, processor):
    def method(ctx, _body):
        call = ctx.transport.req_env[CALL_KEY]
        try:
            outcome = processor.process(call)
        except StoreUnavailable:  # the database went away under this request: 5.2 (server/outage.py)
            outcome = outage.outage_outcome()
            ctx.transport.resp_headers.update(outage.RETRY_HEADERS)
        ctx.transport.req_env[OUTCOME_KEY] = outcome
        ctx.transport.resp_code = HTTP_STATUS.get(outcome.status, f"{outcome.status} Status")
        return None

    method.__name__ = operation_name  # Spyne keys methods by function name
    return rpc(AnyXml, _body_style="bare", _in_message_name=operation_name, _returns=AnyXml)(method)


def _replace_output(ctx) -> None:
    outcome = ctx.transport.req_env.get(OUTCOME_KEY)
    if outcome is not None:
        ctx.out_string = [outcome.body]


def build(service: Service, processor) -> WsgiApplication:
    methods = {op.name: _operation_method(op.name, processor) for op in service.operations}
    service_class = type(f"{service.name}Service", (ServiceBase,), methods)
    app = Application([service_class], tns=service.message_ns, name=service.name,
                      in_protocol=PreparsedSoap11(validator=None), out_protocol=Soap11())
    wsgi = WsgiApplication(app)
    wsgi.event_manager.add_listener("wsgi_return", _replace_output)
    return wsgi


def operation_for(service: Service, body_tag: str):
    """The service operation a Body element addresses, or None."""
    for op in service.operations:
        if body_tag == f"{{{service.message_ns}}}{op.name}":
            return op
    if service.noun is not None:  # the per-noun namespace of another year (a 2015 WSDL's carriers)
        return service.operation_for(body_tag)
    if service.role == "Generic":
        ns, _, local = body_tag[1:].partition("}")
        if ns in MSG_ACCEPTED and local in _PLAIN_GENERIC:
            return next(op for op in service.operations if op.name == _PLAIN_GENERIC[local])
    return None
