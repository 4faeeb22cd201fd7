"""sign_envelope: WS-Security 1.1 X.509 signing of a SOAP 1.1 envelope.

Digests and the signature value are computed by soapbus.security.crypto (libxml2's exclusive
C14N through lxml, hashlib, cryptography), in the order an XML-DSig engine fills a template:
each reference's digest in turn, written into the template before the next one is computed,
then ds:SignedInfo canonicalised where it stands and signed. The tests require the same bytes
python-xmlsec writes for the same template and key. The wsse:Security header itself is a copy
of a per-thread shape (see `_security_shape`), with only what differs per message set on it.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import NamedTuple

from lxml import etree

from . import algorithms, crypto, ids, ns, template, timestamp, tokens
from .keys import SigningKey
from .parts import message_header, targets_us

PARTS = ("Body", "Timestamp", "Header")


def sign_envelope(envelope: etree._Element, key: SigningKey, *, sign_parts: Iterable[str] = ("Body", "Timestamp"),
                  extra_parts: Iterable[etree._Element] = (), ttl: float = 300, key_reference: str = "bst",
                  algorithm: str | None = None, actor: str | None = None,
                  now: datetime | None = None) -> etree._Element:
    """Add a wsse:Security header (Timestamp, token, Signature) to `envelope`, in place; return it.

    sign_parts names what the signature references: "Body" (the soap:Body), "Timestamp", and
    "Header" (the 61968 Header of the carried message, already covered when the Body is).
    """
    method = _method(algorithm, key)
    wanted = tuple(sign_parts)
    if set(wanted) - set(PARTS):
        raise ValueError(f"sign_parts may name only {PARTS}, not {sorted(set(wanted) - set(PARTS))}")
    if key_reference not in tokens.KEY_REFERENCES:
        raise ValueError(f"key_reference must be one of {tokens.KEY_REFERENCES}, not {key_reference!r}")
    body, soap_header = _envelope_parts(envelope)
    _refuse_second_security(soap_header, actor)
    parts = _targets(envelope, body, wanted, list(extra_parts))
    if not parts and "Timestamp" not in wanted:
        raise ValueError("nothing to sign: sign_parts and extra_parts are both empty")
    # Where the Timestamp goes among the references: after the Body, else first.
    stamp_at = (1 if "Body" in wanted else 0) if "Timestamp" in wanted else None
    # The Timestamp is built by us and declares only the wsu prefix it uses.
    scanned = [inclusive_namespaces(t) for t in parts]
    prefixes = tuple(s.prefixes for s in scanned)
    shape = _security_shape(key, key_reference, method, stamp_at, prefixes)
    # The octets cut from the shape hold as long as its prefixes do (see `_Shape`).
    cut = not _SHAPE_NAMESPACES.intersection(soap_header.nsmap.values())
    security = shape.security.__deepcopy__(None)  # copy.deepcopy without its Python-level dispatch
    soap_header.append(security)
    if actor:
        security.set(ns.ACTOR, actor)
    stamp, signature = security[0], security[-1]
    filled = timestamp.fill(stamp, now or datetime.now(timezone.utc), ttl)
    # A part's C14N made while scanning it is its digest input, unless the part holds the new
    # Security header (an extra part: soap:Header or the Envelope), which changed it since.
    targets, inclusive = list(parts), list(prefixes)
    octets = [None if t is soap_header or t is envelope else s.octets for t, s in zip(parts, scanned)]
    if stamp_at is not None:
        targets.insert(stamp_at, stamp)
        inclusive.insert(stamp_at, ())
        octets.insert(stamp_at, _joined(shape.stamp, filled) if cut else None)
    references = signature[0][2:]  # after CanonicalizationMethod and SignatureMethod
    uris = ["#" + (filled.id if t is stamp else t.get(ns.WSU_ID)) for t in targets]
    for reference, uri in zip(references, uris, strict=True):
        reference.set("URI", uri)
    if key_reference == "bst":
        token_id = ids.new_id("X509")
        security[1].set(ns.WSU_ID, token_id)
        signature[2][0][0].set("URI", "#" + token_id)  # KeyInfo/SecurityTokenReference/Reference
    slots = []
    for reference, uri, target, names, made in zip(references, uris, targets, inclusive, octets, strict=True):
        value = crypto.digest_text(ns.SHA256, made if made is not None else crypto.canonical(target, ns.EXC_C14N,
                                                                                            names))
        reference[-1].text = value  # DigestValue, written before the next part is canonicalised
        slots += (uri, value)
    signed_info = (_joined(shape.signed_info, slots) if cut and not _ESCAPED.search("".join(uris))
                   else crypto.canonical(signature[0], ns.EXC_C14N))
    signature[1].text = crypto.base64_lines(crypto.sign_bytes(key.private_key, method, signed_info))
    return envelope


def _method(algorithm: str | None, key: SigningKey) -> str:
    chosen = algorithm or key.algorithm
    if chosen not in algorithms.SIGNING:
        raise ValueError(f"algorithm must be one of {tuple(algorithms.SIGNING)}, not {chosen!r}")
    if chosen != key.algorithm:
        raise ValueError(f"a {key.algorithm} key cannot make a {chosen} signature")
    return algorithms.SIGNING[chosen]


def _envelope_parts(envelope: etree._Element) -> tuple[etree._Element, etree._Element]:
    """The one soap:Body and the soap:Header, made first in the Envelope when there is none."""
    if envelope.tag != ns.ENVELOPE:
        raise ValueError(f"expected a SOAP 1.1 Envelope, got {envelope.tag}")
    bodies, header = [], None
    for child in envelope:
        tag = child.tag
        if tag == ns.SOAP_BODY:
            bodies.append(child)
        elif tag == ns.SOAP_HEADER and header is None:
            header = child
    if len(bodies) != 1:
        raise ValueError(f"the Envelope must hold exactly one soap:Body, it holds {len(bodies)}")
    if header is None:  # made inside the envelope's document, then moved first: no namespace to reconcile
        header = etree.SubElement(envelope, ns.SOAP_HEADER)
        envelope.insert(0, header)
    return bodies[0], header


def _refuse_second_security(soap_header: etree._Element, actor: str | None) -> None:
    for existing in soap_header.iterchildren(ns.SECURITY):
        if targets_us(existing, actor):
            raise ValueError("the envelope already carries a wsse:Security header for this actor")


class _Shape(NamedTuple):
    """A wsse:Security as the builders make it, and the exclusive C14N of two of its parts, cut in pieces.

    What each message fills in goes between the pieces: the Timestamp's Id, Created and
    Expires; each ds:Reference's URI and DigestValue. Those are our own identifiers, times and
    base64 (a URI from an Id the caller set is checked first, `_ESCAPED`), which C14N writes
    as they are, so the joined pieces are the C14N of the filled-in copy: libxml2 wrote the
    rest. That holds while the copy keeps the prefixes it was built with, which it does unless
    the soap:Header already has a namespace of the Timestamp or the Signature in scope
    (`_SHAPE_NAMESPACES`): lxml then points the copy at that declaration and its prefix.
    """
    security: etree._Element
    stamp: tuple[bytes, ...]  # the Timestamp's C14N, cut where its Id, Created and Expires go
    signed_info: tuple[bytes, ...]  # ds:SignedInfo's C14N, cut where each Reference's URI and DigestValue go


_SHAPE_NAMESPACES = frozenset({ns.WSU, ns.DS, ns.EXC_C14N_NS})
_ESCAPED = re.compile(r'[&<>"\t\n\r]')  # characters C14N writes otherwise in text or attribute values
_SLOT = re.compile(rb"soapbus-slot-(\d+)")
_SHAPES = 64  # Security shapes kept per thread
_built = threading.local()  # lxml trees are not shared between threads


def _security_shape(key: SigningKey, key_reference: str, method: str, stamp_at: int | None,
                    prefixes: tuple[tuple[str, ...], ...]) -> _Shape:
    """The whole wsse:Security as the builders make it, built once per thread and shape, then copied.

    A wsu:Timestamp, the key's BinarySecurityToken (for "bst"), and the ds:Signature template
    with one Reference per part (`prefixes`: each part's InclusiveNamespaces; the Timestamp's
    at `stamp_at`) and its KeyInfo. One deep copy (a single C call) replaces some twenty
    element and attribute calls per signature; what differs per message (Ids, Reference URIs,
    times, actor, digest and signature values) is set on the copy, and attributes set later
    keep the places they have here.
    """
    cache = getattr(_built, "security", None)
    if cache is None:
        cache = _built.security = OrderedDict()
    wanted = (key, key_reference, method, stamp_at, prefixes)
    shape = cache.get(wanted)
    if shape is None:
        shape = cache[wanted] = _build_shape(key, key_reference, method, stamp_at, prefixes)
        if len(cache) > _SHAPES:
            cache.popitem(last=False)
    else:
        cache.move_to_end(wanted)
    return shape


def _build_shape(key: SigningKey, key_reference: str, method: str, stamp_at: int | None,
                 prefixes: tuple[tuple[str, ...], ...]) -> _Shape:
    security = etree.Element(ns.SECURITY, nsmap=ns.NSMAP)
    security.set(ns.MUST_UNDERSTAND, "1")
    stamp = timestamp.build(datetime.now(timezone.utc), 0, security)
    bst = key_reference == "bst"
    if bst:
        tokens.binary_security_token(key, security)
    refs = [template.Ref("", [ns.EXC_C14N], p) for p in prefixes]
    if stamp_at is not None:
        refs.insert(stamp_at, template.Ref("", [ns.EXC_C14N]))
    signature = template.build(ns.EXC_C14N, method, refs, token_uri="" if bst else None)
    if not bst:
        template.key_info(signature).append(tokens.token_reference(key_reference, key, None))
    security.append(signature)
    stamp_pieces = _cut(stamp, [(stamp, ns.WSU_ID), (stamp[0], None), (stamp[1], None)])
    slots = []
    for reference in signature[0][2:]:
        slots += ((reference, "URI"), (reference[-1], None))
    return _Shape(security, stamp_pieces, _cut(signature[0], slots))


def _cut(element: etree._Element, slots: list[tuple[etree._Element, str | None]]) -> tuple[bytes, ...]:
    """`element`'s exclusive C14N in pieces, cut where each slot (an attribute, or with None the text) goes."""
    for number, (node, attribute) in enumerate(slots):
        marker = f"soapbus-slot-{number}"
        if attribute is None:
            node.text = marker
        else:
            node.set(attribute, marker)
    pieces = _SLOT.split(crypto.canonical(element, ns.EXC_C14N))
    if [int(n) for n in pieces[1::2]] != list(range(len(slots))):
        raise RuntimeError(f"the C14N of {element.tag} does not hold its {len(slots)} slots in order")
    return tuple(pieces[::2])


def _joined(pieces: tuple[bytes, ...], values: Sequence[str]) -> bytes:
    """The pieces of a `_cut` with values between them: the C14N with those values filled in."""
    joined = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        joined += (value.encode(), piece)
    return b"".join(joined)


def _targets(envelope, body, wanted: tuple[str, ...], extra: list[etree._Element]) -> list[etree._Element]:
    """The parts to reference other than the Timestamp, in order, each with a wsu:Id in a declared wsu."""
    chosen = []
    if "Body" in wanted:
        chosen.append(_declaring_wsu(body))
    if "Header" in wanted:
        header = message_header(chosen[0] if chosen else body)
        if header is None:
            raise ValueError("sign_parts names the 61968 Header, but the Body carries no message with one Header")
        chosen.append(_declaring_wsu(header))
    for element in extra:
        if element.getroottree().getroot() is not envelope:
            raise ValueError(f"extra part {element.tag} is not inside this envelope")
        if element in chosen:
            continue
        chosen.append(element)
    for element in chosen:
        ids.ensure_id(element)
    return chosen


def _declaring_wsu(element: etree._Element) -> etree._Element:
    """`element`, or a same-content replacement that declares the wsu prefix for its wsu:Id.

    lxml cannot add a namespace declaration to an existing element, and would otherwise
    invent an `ns0` prefix. The twin is built in place, inside the same parent, so the moved
    children keep the declarations they had in scope and none gets repeated.
    """
    in_scope = element.nsmap
    if ns.WSU in in_scope.values():
        return element
    parent = element.getparent()
    inherited = parent.nsmap
    own = {p: u for p, u in in_scope.items() if inherited.get(p) != u}
    twin = etree.SubElement(parent, element.tag, nsmap={**own, "wsu": ns.WSU})
    element.addprevious(twin)
    twin.attrib.update(element.attrib)
    twin.text, twin.tail = element.text, element.tail
    twin.extend(list(element))
    parent.remove(element)
    return twin


class Inclusive(NamedTuple):
    """What exclusive C14N of a signed part must be told, and its octets when they were made to find out."""

    prefixes: tuple[str, ...]  # declared inside the part but used by no name in it: the PrefixList
    octets: bytes | None  # the part's exclusive C14N without a PrefixList, when `prefixes` is empty


def inclusive_namespaces(target: etree._Element) -> Inclusive:
    """The prefixes declared inside `target` that no element or attribute name uses, sorted.

    Exclusive C14N drops such declarations, yet QName-valued text (xsi:type, Error/xpath) may
    need them; listing them as InclusiveNamespaces keeps them under the signature.

    Exclusive C14N itself declares every prefix a name in the part uses (on the first element
    that needs it), so a declared prefix is unused exactly when no start tag of the part's
    C14N declares it; those octets are then the digest input as well. Where a processing
    instruction, whose text C14N writes as it is, could read like such a declaration, XPath
    looks for the prefix in the names instead.
    """
    declared = _declarations(target)
    if not declared.prefixes:
        return Inclusive((), None)
    if declared.instructions:
        return Inclusive(tuple(sorted(p for p in declared.prefixes if not _NAMED_WITH(target, prefix=p + ":"))), None)
    octets = crypto.canonical(target, ns.EXC_C14N)
    unused = tuple(sorted(p for p in declared.prefixes if not _declared_in_a_tag(octets, p)))
    return Inclusive(unused, None if unused else octets)


def unused_prefixes(target: etree._Element) -> list[str]:
    """The PrefixList of `target` (see `inclusive_namespaces`)."""
    return list(inclusive_namespaces(target).prefixes)


class _Declared(NamedTuple):
    prefixes: set[str]  # bound by some element inside the part otherwise than by its parent
    instructions: bool  # whether the part holds a processing instruction


def _declarations(target: etree._Element) -> _Declared:
    """The prefixes declared inside `target`, from one C walk reporting only declarations and PIs.

    A prefix bound inside to another namespace than the one it has outside `target` is
    declared: follow the element binding it up through the elements binding it to the same
    namespace; the highest one, inside `target` since the binding outside differs, binds it
    otherwise than its parent. A prefix bound inside as outside may be a mere repetition;
    then (rarely) every element is compared with its parent (`_declared_by_walk`).
    """
    parent = target.getparent()
    outside = parent.nsmap if parent is not None else {}
    declared: set[str] = set()
    repeated = instructions = False
    for event, item in etree.iterwalk(target, events=("start-ns", "pi")):
        if event == "pi":
            instructions = True
            continue
        prefix, uri = item
        if prefix:
            repeated = repeated or outside.get(prefix) == uri
            declared.add(prefix)
    return _Declared(_declared_by_walk(target) if repeated else declared, instructions)


def _declared_by_walk(target: etree._Element) -> set[str]:
    """Prefixes some element inside `target` binds to another namespace than its parent does.

    iterwalk reports each element's own declarations ("start-ns", just before its "start"),
    so only elements that carry declarations are compared with their parent.
    """
    declared: set[str] = set()
    own: list[tuple[str, str]] = []
    for event, item in etree.iterwalk(target, events=("start-ns", "start")):
        if event == "start-ns":
            own.append(item)
        elif own:
            parent = item.getparent()
            inherited = parent.nsmap if parent is not None else {}
            declared.update(p for p, uri in own if p and inherited.get(p) != uri)
            own = []
    return declared


# Whether an element or attribute inside the context element has a name with the prefix "$prefix"
# (given with its colon): XPath's name() is the name as written.
_NAMED_WITH = etree.XPath("boolean(descendant-or-self::*[starts-with(name(), $prefix)]"
                          " | descendant-or-self::*/@*[starts-with(name(), $prefix)])")

# The start of a C14N start tag up to some point: its name and whole attributes, no ">". In C14N
# octets without comments or processing instructions, every "<" opens a tag (text and attribute
# values carry "&lt;"), and no attribute value holds '"' (written "&quot;").
_TAG_SO_FAR = re.compile(rb'<[^\s/>][^\s>]*(?: [^\s="]+="[^"]*")*')


def _declared_in_a_tag(octets: bytes, prefix: str) -> bool:
    """Whether C14N `octets` declare `prefix` in a start tag (text may hold the same characters)."""
    needle = b" xmlns:" + prefix.encode() + b'="'
    at = octets.find(needle)
    while at >= 0:
        if _TAG_SO_FAR.fullmatch(octets, octets.rfind(b"<", 0, at), at):
            return True
        at = octets.find(needle, at + 1)
    return False
