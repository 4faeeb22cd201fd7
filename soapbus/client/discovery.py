"""Discovery: what a target's WSDLs offer, read from what is there. One reading for the SDK and the harness.

A 61968 operation is recognised by its name and its input element, whatever the namespace
(iec.ch of any year, www or not, or a vendor's own) and whatever the letter case:

- `<Verb><Noun>` (CreateMeterReadings, createDERGroups, CreatedEndDeviceEvents, Query<Noun>
  for get), as operation name or input element, with `RequestMessage` / `EventMessage` /
  `Message` / `OperationSet` suffixes allowed on the element (GetMeterReadingsRequestMessage);
- `<Noun>RequestMessage` / `<Noun>EventMessage` as input element, the verb then coming from
  the operation's name (GetMeterReadings taking MeterReadingsRequestMessage is get), or any
  verb where the name has none (ReceiveMeterReadings taking MeterReadingsEventMessage);
- the generic operations (Request, PublishEvent, Response, or RequestMessage/EventMessage/
  ResponseMessage elements), which carry any noun.

Where a name does not settle the noun (all one case, or no noun in it), the profile element
the input's Payload allows decides. The input element's schema says where the message sits
(bare, or wrapped one level), which namespaces the Header and its fields are in, and how the
target spells verbs and nouns (an xs:enumeration of CREATE ... is honoured). SOAP 1.1 and 1.2
bindings are both read. The result is a typed record (`Discovery`) the client sends by, the
harness routes by, and reports show.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import zeep
from lxml import etree
from zeep.cache import InMemoryCache
from zeep.transports import Transport
from zeep.wsdl.bindings.soap import SoapBinding, Soap12Binding

from ..message import namespaces, verbs
from ..message.shapes import Shape
from . import documents
from .errors import DiscoveryError
from .schema import MessageLayout, SchemaIndex, layout

_VERB_WORDS = {**{v: v for v in verbs.REQUEST_VERBS}, **{e: e for e in verbs.EVENT_VERBS},
               "query": "get", "update": "change", "updated": "changed", "cancelled": "canceled"}
_VERB_WORDS_LONGEST_FIRST = sorted(_VERB_WORDS, key=len, reverse=True)
# Operation names that name a role, not a verb: the Header says the verb (ReceiveMeterReadings).
_ROLE_WORDS = ("receive", "send", "reply", "request", "publish")
_GENERIC_KINDS = {"request": "request", "requestmessage": "request", "publishevent": "event",
                  "eventmessage": "event", "response": "response", "responsemessage": "response"}
_GENERIC_OPERATION = {"request": "Request", "event": "PublishEvent", "response": "Response"}
_ELEMENT_SUFFIXES = ("RequestMessage", "EventMessage", "ResponseMessage", "OperationSet", "Message")
_SEPARATORS = "_-."
CACHE_SECONDS = 3600


# ---------------------------------------------------------------- the record


@dataclass(frozen=True)
class Operation:
    """One 61968 operation a WSDL offers, as discovered."""

    wsdl: str  # the WSDL location it was read from
    service: str | None
    port: str | None
    name: str  # operation name as the WSDL spells it
    verb: str | None  # the 61968 verb, lower case; None: any verb of `kind` (the Header says which)
    noun: str | None  # None: any noun (a generic operation)
    kind: str  # request | event | response
    style: str  # typed (one noun) | generic (any noun)
    input_element: str  # Clark name of the SOAP Body's child
    output_element: str | None
    soap_action: str
    soap_version: str  # 1.1 | 1.2
    address: str | None  # soap:address, or the endpoint given instead
    shape: Shape

    @property
    def layout(self) -> str:
        """bare: the Body's child is the message; wrapped: the message is one level inside it."""
        return "bare" if self.shape.inner is None else "wrapped"

    def describe(self) -> str:
        what = f"{self.verb or 'any ' + self.kind} {self.noun or '(any noun)'}"
        return (f"{what}: {self.name} {self.input_element} [{self.style}, {self.layout}, SOAP {self.soap_version}, "
                f"message namespace {self.shape.message_namespace}] at {self.address or '(no address)'}")


@dataclass(frozen=True)
class WsdlDiscovery:
    """What one target location (endpoint or WSDL) offers."""

    location: str  # as given
    wsdl: str  # where the WSDL was read
    documents: tuple[str, ...]  # every WSDL and XSD read (a local schema file shows where it came from)
    operations: tuple[Operation, ...]
    ignored: tuple[str, ...]  # operations that are not 61968 ones, each with why


@dataclass(frozen=True)
class Discovery:
    targets: tuple[WsdlDiscovery, ...]

    @property
    def operations(self) -> tuple[Operation, ...]:
        return tuple(op for target in self.targets for op in target.operations)

    @property
    def nouns(self) -> tuple[str, ...]:
        return tuple(sorted({op.noun for op in self.operations if op.noun}))

    @property
    def message_namespaces(self) -> tuple[str, ...]:
        """The namespaces the targets' Header fields are written in (the 61968 one, or a vendor's)."""
        return tuple(sorted({op.shape.message_namespace for op in self.operations}))

    @property
    def part_namespaces(self) -> tuple[str, ...]:
        return tuple(sorted({op.shape.part_namespace for op in self.operations}))

    def find(self, verb: str, noun: str, strict: bool = True) -> Operation | None:
        return choose(self.operations, verb, noun, strict)

    def lines(self) -> list[str]:
        """One line per operation, then per ignored operation: for reports and `-v`."""
        lines = [op.describe() for op in self.operations]
        lines += [f"ignored in {t.wsdl}: {why}" for t in self.targets for why in t.ignored]
        return lines


def choose(operations: Sequence[Operation], verb: str, noun: str, strict: bool = True) -> Operation | None:
    """The operation a (verb, noun) message goes through.

    The noun's own operations first (exact verb, then one taking any verb of that kind). With
    `strict`, a noun that has operations of its own is offered exactly those verbs (what a
    harness holds a target to); otherwise the generic operation is the fallback (a client).
    """
    verb = verbs.normalize(verb)
    kind = "event" if verb in verbs.EVENT_VERBS else "response" if verb == verbs.REPLY_VERB else "request"
    own = [op for op in operations if op.noun and op.noun.lower() == noun.lower()]
    for candidate in ([op for op in own if op.verb == verb] +
                      [op for op in own if op.verb is None and op.kind == kind]):
        return candidate
    if own and strict:
        return None
    if kind == "request" and verb not in verbs.REQUEST_VERBS:
        return None
    return next((op for op in operations if op.noun is None and op.kind == kind), None)


# ---------------------------------------------------------------- naming conventions


@dataclass(frozen=True)
class Naming:
    verb: str | None
    noun: str | None
    kind: str
    generic: bool


def name_operation(operation: str, element: str, nouns: Sequence[str] = ()) -> Naming | None:
    """Verb, noun and kind from an operation's name and its input element's local name.

    `nouns` are the profile elements the input's schema allows (its Payload's documents): they
    settle the noun where the names leave it open. None: not a 61968 operation.
    """
    element_kind = _GENERIC_KINDS.get(element.lower())
    by_element = _verb_noun(element, nouns)
    if by_element is not None and element_kind is None:
        return _typed(*by_element)
    suffix_kind = _message_suffix_kind(element)
    by_operation = _verb_noun(operation, nouns)
    if suffix_kind is not None:  # <Noun>RequestMessage / <Noun>EventMessage: the operation names the verb
        noun = _noun(element[: -len(suffix_kind[1])], nouns)
        if by_operation is not None:
            return Naming(by_operation[0], noun, _kind_of(by_operation[0]), False)
        return Naming(None, noun, suffix_kind[0], False)
    if by_operation is not None:
        return _typed(*by_operation)
    operation_kind = _GENERIC_KINDS.get(operation.lower())
    if operation_kind is not None:
        return Naming(None, None, operation_kind, True)
    role_noun = _role_noun(operation, nouns)
    if role_noun is not None and element_kind in ("request", "event"):
        return Naming(None, role_noun, element_kind, False)
    if element_kind is not None:
        return Naming(None, None, element_kind, True)
    return None


def _typed(verb: str, noun: str) -> Naming:
    return Naming(verb, noun, _kind_of(verb), False)


def _kind_of(verb: str) -> str:
    return "event" if verb in verbs.EVENT_VERBS else "request"


def _message_suffix_kind(element: str) -> tuple[str, str] | None:
    for kind, suffix in (("request", "RequestMessage"), ("event", "EventMessage")):
        if element.lower().endswith(suffix.lower()) and len(element) > len(suffix):
            return kind, element[-len(suffix):]
    return None


def _verb_noun(name: str, nouns: Sequence[str]) -> tuple[str, str] | None:
    """(verb, noun) for `<Verb><Noun>`, choosing among readings (Created+... or Create+d...)."""
    readings = []
    for word in _VERB_WORDS_LONGEST_FIRST:
        if name.lower().startswith(word):
            rest = name[len(word):]
            noun = _noun(rest.lstrip(_SEPARATORS), nouns)
            if noun:
                readings.append((_VERB_WORDS[word], noun, rest or "_"))
    if not readings:
        return None
    lowered = {n.lower() for n in nouns}
    for verb, noun, _ in readings:  # the schema's own noun settles it
        if noun.lower() in lowered:
            return verb, noun
    for verb, noun, rest in readings:  # else where the letter case marks the word's end: Create|DERGroups, Created|End
        spelled = name[: len(name) - len(rest)] if rest != "_" else name
        if spelled[1:].islower() and (rest == "_" or rest[0].isupper() or rest[0].isdigit() or rest[0] in _SEPARATORS):
            return verb, noun
    return readings[0][0], readings[0][1]  # one case throughout (CREATEDERGROUPS): the longest verb


def _noun(text: str, nouns: Sequence[str]) -> str | None:
    """The noun in `text` (element suffixes removed), in the schema's spelling where it has one."""
    for suffix in _ELEMENT_SUFFIXES:
        if text.lower().endswith(suffix.lower()) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    text = text.strip(_SEPARATORS)
    for noun in nouns:
        if noun.lower() == text.lower():
            return noun
    if not text and len(nouns) == 1:
        return nouns[0]
    return text or None


def _role_noun(operation: str, nouns: Sequence[str]) -> str | None:
    for word in _ROLE_WORDS:
        if operation.lower().startswith(word) and len(operation) > len(word):
            return _noun(operation[len(word):], nouns)
    return None


# ---------------------------------------------------------------- reading one WSDL

_wsdl_cache = InMemoryCache(timeout=CACHE_SECONDS)
_parsed: dict[tuple, tuple[float, WsdlDiscovery, object]] = {}
_parsed_lock = threading.Lock()


@lru_cache(maxsize=16)
def shared_transport(timeout: float) -> Transport:
    """One transport (one keep-alive connection pool) per timeout, shared by callers that bring none."""
    return Transport(cache=_wsdl_cache, timeout=timeout, operation_timeout=timeout)


def wsdl_location(target: str) -> str:
    """An endpoint URL becomes its `?wsdl`; WSDL URLs and files are taken as they are."""
    lowered = target.lower()
    if lowered.endswith(".wsdl") or "?wsdl" in lowered or not lowered.startswith(("http://", "https://")):
        return target
    return target + "?wsdl"


def discover_wsdl(location: str, transport: Transport, schema_dirs: Sequence[str] = (),
                  endpoint: str | None = None) -> tuple[WsdlDiscovery, object]:
    """What the WSDL at `location` (an endpoint URL or a WSDL) offers, and zeep's reading of it.

    Parsed WSDLs are kept an hour per (location, schema folders, transport): parsing costs far more than a call.
    """
    wsdl = wsdl_location(location)
    key = (documents.root_key(wsdl), tuple(schema_dirs), id(transport))
    with _parsed_lock:
        cached = _parsed.get(key)
        if cached is None or time.monotonic() - cached[0] > CACHE_SECONDS:
            found, document = _read_wsdl(location, wsdl, transport, tuple(schema_dirs))
            cached = _parsed[key] = (time.monotonic(), found, document)
    _, found, document = cached
    if endpoint:
        found = dataclasses.replace(found, operations=tuple(dataclasses.replace(op, address=endpoint)
                                                            for op in found.operations))
    return found, document


def discover(locations: Sequence[str], *, timeout: float = 30, transport: Transport | None = None,
             schema_dirs: Sequence[str] = (), endpoints: Sequence[str] | str | None = None) -> Discovery:
    """Discovery over several targets; `endpoints`: one URL for all, or one per location, replacing soap:address."""
    transport = transport or shared_transport(timeout)
    paired = endpoints_for(locations, endpoints)
    return Discovery(tuple(discover_wsdl(location, transport, schema_dirs, endpoint)[0]
                           for location, endpoint in zip(locations, paired)))


def endpoints_for(locations: Sequence[str], endpoints: Sequence[str] | str | None) -> list[str | None]:
    """The endpoint that replaces each location's soap:address: none, one for all, or one each."""
    if not endpoints:
        return [None] * len(locations)
    if isinstance(endpoints, str):
        return [endpoints] * len(locations)
    if len(endpoints) == 1:
        return [endpoints[0]] * len(locations)
    if len(endpoints) != len(locations):
        raise DiscoveryError(f"{len(endpoints)} endpoints for {len(locations)} targets: give one endpoint for "
                             "all targets, or one per target in the same order")
    return list(endpoints)


def _read_wsdl(location: str, wsdl: str, transport: Transport, schema_dirs: tuple[str, ...]):
    loaded = documents.load(wsdl, transport.load, documents.schema_dirs(schema_dirs))
    try:
        document = zeep.wsdl.Document(loaded.root_key, documents.DocumentTransport(transport, loaded))
    except DiscoveryError:
        raise
    except Exception as exc:  # zeep raises many kinds for a document that is not a usable WSDL
        detail = str(exc).splitlines()[0] if str(exc) else "no detail"
        raise DiscoveryError(f"cannot read the WSDL {wsdl}: {exc.__class__.__name__}: {detail}") from None
    index = SchemaIndex(loaded.schemas)
    operations, ignored = [], _unread_bindings(loaded, document)
    for binding, service, port, address in _bindings(document):
        if not isinstance(binding, SoapBinding):
            ignored.append(f"binding {binding.name}: not a SOAP binding")
            continue
        for operation in binding._operations.values():
            found = _operation(wsdl, binding, operation, service, port, address, index)
            if isinstance(found, Operation):
                operations.append(found)
            else:
                ignored.append(found)
    return WsdlDiscovery(location, wsdl, loaded.origins(), tuple(operations), tuple(ignored)), document


def _bindings(document):
    """(binding, service, port, address) for every port, then bindings no port uses (no address)."""
    used = set()
    for service in document.services.values():
        for port in service.ports.values():
            used.add(port.binding.name)
            yield port.binding, service.name, port.name, port.binding_options.get("address")
    for name, binding in document.bindings.items():
        if name not in used:
            yield binding, None, None, None


def _operation(wsdl, binding, operation, service, port, address, index: SchemaIndex) -> Operation | str:
    body = getattr(operation.input, "body", None)
    qname = getattr(body, "qname", None)
    if qname is None:
        return f"{operation.name}: its input has no body element"
    element = qname.text if hasattr(qname, "text") else str(qname)
    found = _input_layout(index, operation, element)
    naming = name_operation(operation.name, etree.QName(element).localname, _schema_nouns(found))
    if naming is None:
        return f"{operation.name}: neither its name nor its input element {element} names a 61968 verb and noun"
    output = getattr(getattr(operation.output, "body", None), "qname", None)
    return Operation(
        wsdl=wsdl, service=service, port=port, name=operation.name, verb=naming.verb, noun=naming.noun,
        kind=naming.kind, style="generic" if naming.generic else "typed", input_element=element,
        output_element=output.text if output is not None else None, soap_action=operation.soapaction or "",
        soap_version="1.2" if isinstance(binding, Soap12Binding) else "1.1", address=address,
        shape=_shape(element, naming, found))


def _input_layout(index: SchemaIndex, operation, element: str) -> MessageLayout | None:
    """Where the message sits in the Body's child, from the schema of its element.

    rpc style: the Body's child is the operation's wrapper and holds one accessor per part
    (unqualified, named after the part); a single part typed as a message is the message, wrapped.
    """
    if getattr(operation, "style", "document") != "rpc":
        declaration = index.elements.get(element)
        return layout(index, index.element_type(declaration)) if declaration is not None else None
    parts = list(getattr(getattr(operation.abstract, "input_message", None), "parts", {}).items())
    if len(parts) != 1:
        return None
    name, part = parts[0]
    if part.element is not None:  # the accessor is the global element itself
        declaration = index.elements.get(part.element.qname.text)
        found = layout(index, index.element_type(declaration)) if declaration is not None else None
        inner = part.element.qname.text
    else:
        qname = getattr(part.type, "qname", None)
        found = layout(index, index.types.get(qname.text)) if qname is not None else None
        inner = name
    if found is None or found.inner is not None:
        return None
    return dataclasses.replace(found, inner=inner)


def _schema_nouns(found: MessageLayout | None) -> tuple[str, ...]:
    """Nouns the schema itself names: the Payload's profile documents, the Request's Get<Noun> queries."""
    if found is None:
        return ()
    nouns = list(found.payload_roots)
    for query in found.query_roots:
        split = _verb_noun(query, ())
        nouns.append(split[1] if split else query)
    return tuple(dict.fromkeys(nouns))


def _shape(element: str, naming: Naming, found: MessageLayout | None) -> Shape:
    if found is not None:
        return Shape(element, found.inner, _exceptions_only(found.namespaces), found.verbs, found.nouns)
    ns = etree.QName(element).namespace or ""
    if naming.generic and ns == namespaces.ABSTRACT:  # `<Request><message>`, the abstract WSDL's wrapping
        return Shape(element, f"{{{namespaces.ABSTRACT}}}message")
    if naming.generic:
        return Shape(element)
    # A typed carrier whose schema could not be read: its parts in its own namespace, as the templates declare.
    return Shape(element, None, tuple((part, ns) for part in ("Header", "Request", "Reply", "Payload")))


def _exceptions_only(declared: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Header and Header/Verb, plus every path whose namespace is not the one Shape would assume.

    Parts default to Header's namespace and everything deeper to Header/Verb's, so the record
    keeps only what differs (the public template's Payload/Format in its per-noun namespace).
    """
    table = dict(declared)
    part, message = table.get("Header", namespaces.MSG), table.get("Header/Verb", namespaces.MSG)
    return tuple((path, ns) for path, ns in declared
                 if path in ("Header", "Header/Verb") or ns != (message if "/" in path else part))


def _unread_bindings(loaded: documents.DocumentSet, document) -> list[str]:
    """Bindings in the WSDL that zeep did not take (a transport other than SOAP over HTTP), with why."""
    lines = []
    for found in loaded.documents.values():
        root = found.root
        if root.tag != f"{{{documents.WSDL_NS}}}definitions":
            continue
        tns = root.get("targetNamespace")
        for node in root.findall(f"{{{documents.WSDL_NS}}}binding"):
            name = f"{{{tns}}}{node.get('name')}" if tns else node.get("name", "")
            if name in document.bindings:
                continue
            transports = [c.get("transport") for c in node if c.get("transport")]
            why = f"transport {transports[0]} is not SOAP over HTTP" if transports else "not a SOAP or HTTP binding"
            lines.append(f"binding {name}: {why}")
    return lines


def generic_operation_name(kind: str) -> str:
    """Request | PublishEvent | Response: what the generic WSDL calls the operation of a kind."""
    return _GENERIC_OPERATION[kind]


__all__ = ["Discovery", "WsdlDiscovery", "Operation", "Naming", "choose", "discover", "discover_wsdl",
           "name_operation", "shared_transport", "wsdl_location", "endpoints_for", "generic_operation_name"]
