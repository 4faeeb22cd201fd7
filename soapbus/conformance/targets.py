"""What the target offers, read from its WSDLs only, and where each message goes.

Discovery is soapbus.client.discovery, the same reading the client SDK sends by: operations
recognised by name and input element in any namespace (iec.ch of any year, or a vendor's
own), `<Verb><Noun>`, `<Noun>RequestMessage` under a verb-named operation, Query<Noun>,
the generic Request / PublishEvent; SOAP 1.1 or 1.2; the message built in the namespaces and
the verb spelling the target's schema declares. Where a WSDL offers operations of its own for
a noun, those are exactly the verbs offered for it; a noun without them is offered through
the generic service, if there is one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence
from urllib.parse import urlsplit

from lxml import etree

from ..client import Discovery, Operation, SoapbusClientError, discover
from ..client.discovery import generic_operation_name
from ..message import namespaces, shapes, verbs
from .errors import Skip, TargetError


@dataclass(frozen=True)
class Route:
    address: str
    soap_action: str
    input_element: str  # Clark name of the Body's child
    style: str  # typed | generic-wrapped | generic
    operation: str
    soap_version: str = "1.1"
    shape: shapes.Shape | None = None  # how the target's schema spells the message (None: the standard shape)

    def carrier(self, msg) -> etree._Element:
        """The Body's child for a message sent through this operation, in the target's own shape."""
        return shapes.build(msg, self.shape or self._standard_shape())

    def _standard_shape(self) -> shapes.Shape:
        """A route made without discovery: the shapes soapbus's own WSDLs declare."""
        ns = etree.QName(self.input_element).namespace or ""
        if self.style == "typed":
            return shapes.Shape(self.input_element, None, (("Header", ns), ("Request", ns), ("Payload", ns)))
        if self.style == "generic-wrapped":
            return shapes.Shape(self.input_element, f"{{{namespaces.ABSTRACT}}}message")
        return shapes.Shape(self.input_element)


def route_for(op: Operation) -> Route:
    style = op.style if op.style == "typed" or op.shape.inner is None else "generic-wrapped"
    return Route(op.address or "", op.soap_action, op.input_element, style, op.name, op.soap_version, op.shape)


class Targets:
    def __init__(self, locations: list[str], timeout: float = 30, schema_dirs: Sequence[str] = (),
                 endpoints: Sequence[str] = (), transport=None):
        """transport: the zeep Transport WSDLs are fetched with (client.tls.transport_for: HTTPS settings)."""
        if not locations:
            raise TargetError("give at least one --target (an endpoint URL or a WSDL URL)")
        self.locations = list(locations)
        try:
            self.discovery: Discovery = discover(self.locations, timeout=timeout, schema_dirs=schema_dirs,
                                                 endpoints=list(endpoints), transport=transport)
        except SoapbusClientError as exc:
            raise TargetError(f"target {_which(exc, self.locations)}: {exc}") from None
        for found in self.discovery.targets:
            if not found.operations:
                ignored = "; ".join(found.ignored) or "it has no operations"
                raise TargetError(f"target {found.location}: its WSDL offers no IEC 61968-100 operation (no "
                                  f"<Verb><Noun> or <Noun>RequestMessage operation and no generic Request/"
                                  f"PublishEvent): {ignored}")
            unaddressed = [op.name for op in found.operations if not op.address]
            if unaddressed:
                raise TargetError(f"target {found.location}: its WSDL gives {', '.join(unaddressed)} no soap:address; "
                                  "say where the endpoint runs with --endpoint URL")
        self.typed: dict[tuple[str, str], Route] = {}  # (verb, noun) -> route
        self.generic: dict[str, Route] = {}  # Request | PublishEvent | Response -> route
        for op in self.discovery.operations:
            if op.noun is None:
                self.generic.setdefault(generic_operation_name(op.kind), route_for(op))
            elif op.verb is not None:
                self.typed.setdefault((op.verb, op.noun), route_for(op))

    # ------------------------------------------------------------ what is offered

    def typed_nouns(self) -> set[str]:
        return {op.noun for op in self.discovery.operations if op.noun}

    def offers(self, verb: str, noun: str) -> bool:
        return self.discovery.find(verb, noun, strict=True) is not None

    def route(self, verb: str, noun: str) -> Route:
        """Where a (verb, noun) message goes; Skip when the target does not offer it."""
        op = self.discovery.find(verb, noun, strict=True)
        if op is None:
            raise Skip(f"the target's WSDLs do not offer {verbs.normalize(verb)} {noun}")
        return route_for(op)

    def offered(self) -> list[str]:
        """One line per discovered operation (verb, noun, element, SOAP version, namespace, address): for reports."""
        return self.discovery.lines()

    def hosts(self) -> set[str]:
        return {urlsplit(op.address).hostname or "" for op in self.discovery.operations if op.address}

    def first_address(self) -> str:
        for op in self.discovery.operations:
            if op.address:
                return op.address
        return self.locations[0]


def _which(exc: Exception, locations: list[str]) -> str:
    """The location an error is about, when its message names one; else all of them."""
    text = str(exc)
    return next((loc for loc in locations if loc in text), ", ".join(locations))


__all__ = ["Targets", "Route", "route_for"]
