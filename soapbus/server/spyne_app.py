"""Spyne's part: the service definitions of the noun table and the dispatch of an operation to its method.

Each service of the noun table is a Spyne `Application` with one `@rpc` method per operation
(the Body element it takes, in the service's message namespace). soapbus's front
(server/inbound.py) has already parsed the envelope with the hardened parser, found the
operation (in any year's per-noun namespace, or the generic plain form) and read the 61968
message once; it then asks Spyne's interface for that operation's method and calls it.

Spyne's own request handling (its WSGI transport, MethodContext, envelope decomposition and
the serialisation of the answer) is not run: its `AnyXml` would keep only the first object of
a payload, so its serialised answer would have to be thrown away for soapbus's exact bytes, and
it would parse the envelope a second time. The WSDLs are soapbus's own (built from the same noun
table in the 61968 template shapes); Spyne's generated ones are never served.
"""
from __future__ import annotations

from collections.abc import Callable

from spyne import AnyXml, Application, ServiceBase, rpc
from spyne.protocol.soap import Soap11

from ..message.namespaces import MSG_ACCEPTED
from ..profiles import Operation, Service

# The generic service's plain form puts the 61968 message itself in the Body.
_PLAIN_GENERIC = {"RequestMessage": "Request", "ResponseMessage": "Response", "EventMessage": "PublishEvent"}


def _operation_method(operation_name: str, processor):
    def method(call, _message):
        """Spyne calls a method with its context first: soapbus's context is the InboundCall."""
        return processor.process(call)  # looked up per call: server/metrics wraps it after this is built

    method.__name__ = operation_name  # Spyne keys methods by function name
    return rpc(AnyXml, _body_style="bare", _in_message_name=operation_name, _returns=AnyXml)(method)


class SpyneService:
    """One service's Spyne application, and the operation methods its interface maps."""

    def __init__(self, service: Service, processor):
        methods = {op.name: _operation_method(op.name, processor) for op in service.operations}
        service_class = type(f"{service.name}Service", (ServiceBase,), methods)
        self.service = service
        self.application = Application([service_class], tns=service.message_ns, name=service.name,
                                       in_protocol=Soap11(validator=None), out_protocol=Soap11())
        method_map = self.application.interface.service_method_map
        self._methods: dict[str, Callable] = {
            op.name: method_map[f"{{{service.message_ns}}}{op.name}"][0].function for op in service.operations}

    def dispatch(self, call):
        """The Outcome of the operation the front found, from the method Spyne's interface maps to it."""
        return self._methods[call.operation.name](call, call.message)


def build(service: Service, processor) -> SpyneService:
    return SpyneService(service, processor)


def operation_for(service: Service, body_tag: str) -> Operation | None:
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


__all__ = ["SpyneService", "build", "operation_for"]
