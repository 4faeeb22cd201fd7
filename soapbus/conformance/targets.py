"""What the target offers, read from its WSDLs only, and where each message goes.

Discovery goes through soapbus.client (zeep reads the WSDLs: addresses, operations,
soapActions, input elements). Nothing soapbus-specific is assumed: a typed service is
recognised by its input element `{.../<Noun>Message}<Verb><Noun>`, the generic one by its
Request / PublishEvent operations. Where a WSDL offers typed operations for a noun, those are
exactly the verbs offered for it; a noun without typed operations is offered through the
generic service, if there is one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from .. import message as m
from ..client import Client, SoapbusClientError
from ..message import namespaces, verbs
from .errors import Skip, TargetError

_NOUN_NS = re.compile(r"^https?://(?:www\.)?iec\.ch/TC57/2011/(?P<noun>\w+)Message$")
_VERB_NAMES = sorted({*verbs.REQUEST_VERBS, *verbs.EVENT_VERBS}, key=len, reverse=True)


@dataclass(frozen=True)
class Route:
    address: str
    soap_action: str
    input_element: str  # Clark name of the Body's child
    style: str  # typed | generic-wrapped | generic
    operation: str

    def carrier(self, msg) -> etree._Element:
        """The Body's child for a message sent through this operation."""
        if self.style == "typed":
            ns = etree.QName(self.input_element).namespace
            return m.to_element(msg, wrapper=self.input_element, part_ns=ns)
        if self.style == "generic-wrapped":
            wrapper = etree.Element(self.input_element)
            wrapper.append(m.to_element(msg, wrapper=f"{{{namespaces.ABSTRACT}}}message"))
            return wrapper
        return m.to_element(msg)


class Targets:
    def __init__(self, locations: list[str], timeout: float = 30):
        if not locations:
            raise TargetError("give at least one --target (an endpoint URL or a WSDL URL)")
        self.locations = list(locations)
        self.typed: dict[tuple[str, str], Route] = {}  # (verb, noun) -> route
        self.generic: dict[str, Route] = {}  # Request | PublishEvent | Response -> route
        for location in self.locations:
            try:
                client = Client(location, timeout=timeout)
            except SoapbusClientError as exc:
                raise TargetError(f"target {location}: {exc}") from None
            except Exception as exc:  # zeep raises many kinds for a document that is not a WSDL
                raise TargetError(f"target {location}: cannot read a WSDL there ({exc.__class__.__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})") from None
            found = 0
            for target in client.targets:
                found += self._add(target)
            if not found:
                raise TargetError(f"target {location}: its WSDL offers no IEC 61968-100 operation (no typed "
                                  "<Verb><Noun> input element and no generic Request/PublishEvent)")

    def _add(self, target) -> int:
        qname = etree.QName(target.input_element)
        name = target.operation.name
        if target.generic:
            style = "generic-wrapped" if qname.namespace == namespaces.ABSTRACT else "generic"
            op = name if name in ("Request", "PublishEvent", "Response") else {
                "RequestMessage": "Request", "EventMessage": "PublishEvent", "ResponseMessage": "Response"
            }.get(qname.localname)
            if op is None:
                return 0
            self.generic.setdefault(op, Route(target.address, target.soap_action, target.input_element, style, op))
            return 1
        match = _NOUN_NS.match(qname.namespace or "")
        if not match:
            return 0
        noun = match.group("noun")
        local = qname.localname
        for verb in _VERB_NAMES:
            if local.lower() == f"{verb}{noun}".lower():
                self.typed.setdefault((verb, noun), Route(target.address, target.soap_action, target.input_element,
                                                          "typed", name))
                return 1
        return 0

    # ------------------------------------------------------------ what is offered

    def typed_nouns(self) -> set[str]:
        return {noun for _, noun in self.typed}

    def offers(self, verb: str, noun: str) -> bool:
        verb = verbs.normalize(verb)
        if noun in self.typed_nouns():
            return (verb, noun) in self.typed
        if verb in verbs.EVENT_VERBS:
            return "PublishEvent" in self.generic
        return verb in verbs.REQUEST_VERBS and "Request" in self.generic

    def route(self, verb: str, noun: str) -> Route:
        """Where a (verb, noun) message goes; Skip when the target does not offer it."""
        verb = verbs.normalize(verb)
        if (verb, noun) in self.typed:
            return self.typed[(verb, noun)]
        if self.offers(verb, noun):
            return self.generic["PublishEvent" if verb in verbs.EVENT_VERBS else "Request"]
        raise Skip(f"the target's WSDLs do not offer {verb} {noun}")

    def offered(self) -> list[str]:
        """`verb Noun` for every typed operation, plus `* (generic Request)` lines: for reports."""
        lines = sorted(f"{verb} {noun}" for verb, noun in self.typed)
        lines += [f"any {op} (generic {route.operation} at {route.address})" for op, route in sorted(self.generic.items())]
        return lines

    def hosts(self) -> set[str]:
        return {urlsplit(r.address).hostname or "" for r in [*self.typed.values(), *self.generic.values()]}

    def first_address(self) -> str:
        for route in [*self.typed.values(), *self.generic.values()]:
            return route.address
        return self.locations[0]


__all__ = ["Targets", "Route"]
