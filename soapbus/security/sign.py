"""sign_envelope: WS-Security 1.1 X.509 signing of a SOAP 1.1 envelope; signed_bytes: the same, serialised.

Digests and the signature value are computed by soapbus.security.crypto (libxml2's exclusive
C14N through lxml, hashlib, cryptography), in the order an XML-DSig engine fills a template:
each reference's digest in turn, written into the template before the next one is computed,
then ds:SignedInfo canonicalised where it stands and signed. The tests require the same bytes
python-xmlsec writes for the same template and key. The wsse:Security header itself comes from
a per-thread shape (soapbus.security.shape), copied with only what differs per message set on
it, or, for signed_bytes, joined from pieces of its serialisation.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import NamedTuple

from lxml import etree

from soapbus.message import soap

from . import algorithms, crypto, ids, ns, shape, timestamp, tokens
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
    plan = _plan(_prepare(envelope, key, tuple(sign_parts), list(extra_parts), key_reference, algorithm, actor))
    _sign_tree(plan, now or datetime.now(timezone.utc), ttl)
    return envelope


def signed_bytes(envelope: etree._Element, key: SigningKey, *, sign_parts: Iterable[str] = ("Body", "Timestamp"),
                 extra_parts: Iterable[etree._Element] = (), ttl: float = 300, key_reference: str = "bst",
                 algorithm: str | None = None, actor: str | None = None, now: datetime | None = None) -> bytes:
    """soap.to_bytes(sign_envelope(envelope, key, ...)), byte for byte, made for sending.

    The envelope is serialised first, with a mark where the wsse:Security header goes. Where
    the pieces of the shape hold (`_Plan.spliced`), the header goes there as its serialisation
    joined with this message's texts and is never made a tree: copying it, setting its texts
    and serialising it cost more than all else in signing but the RSA operation. And the
    serialisation tells the Body's namespace declarations (`_declared_in_body`), which would
    otherwise take a walk making a Python object of every element. `envelope` is changed on
    the way (the signed parts get their wsu:Id) but then holds no Security header: send the bytes.
    """
    prepared = _prepare(envelope, key, tuple(sign_parts), list(extra_parts), key_reference, algorithm, actor)
    before, after = _serialised_around_header(prepared)
    plan = _plan(prepared, _declared_in_body(prepared, after))
    created = now or datetime.now(timezone.utc)
    if not plan.spliced:
        _sign_tree(plan, created, ttl)
        return soap.to_bytes(envelope)
    return b"".join((before, _sign_spliced(plan, created, ttl), after))


class _Prepared(NamedTuple):
    """An envelope made ready for a signature: its parts found, given wsu:Ids, checked."""
    envelope: etree._Element
    soap_header: etree._Element
    body: etree._Element
    key: SigningKey
    method: str  # the SignatureMethod URI
    key_reference: str
    actor: str | None
    parts: list[etree._Element]  # what the references name besides the Timestamp, in order
    part_ids: list[str]  # their wsu:Ids
    stamp_at: int | None  # where the Timestamp's reference goes among theirs, or None


class _Plan(NamedTuple):
    """One signature as decided before anything per message is filled in."""
    prepared: _Prepared
    scanned: list[Inclusive]  # the parts' InclusiveNamespaces (and C14N, where made)
    shape: shape.Shape
    # The shape's C14N pieces give the Timestamp's and ds:SignedInfo's octets: the header keeps
    # its prefixes where it lands and no part's Id needs escaping.
    cut: bool
    # The header can go into the bytes as the pieces of its serialisation: `cut`, one plain
    # prefix for SOAP in scope (mustUnderstand takes it), and no part holds the header.
    spliced: bool


def _prepare(envelope: etree._Element, key: SigningKey, wanted: tuple[str, ...], extra: list[etree._Element],
             key_reference: str, algorithm: str | None, actor: str | None) -> _Prepared:
    method = _method(algorithm, key)
    if set(wanted) - set(PARTS):
        raise ValueError(f"sign_parts may name only {PARTS}, not {sorted(set(wanted) - set(PARTS))}")
    if key_reference not in tokens.KEY_REFERENCES:
        raise ValueError(f"key_reference must be one of {tokens.KEY_REFERENCES}, not {key_reference!r}")
    body, soap_header = _envelope_parts(envelope)
    _refuse_second_security(soap_header, actor)
    parts, part_ids = _targets(envelope, body, wanted, extra)
    if not parts and "Timestamp" not in wanted:
        raise ValueError("nothing to sign: sign_parts and extra_parts are both empty")
    # Where the Timestamp goes among the references: after the Body, else first.
    stamp_at = (1 if "Body" in wanted else 0) if "Timestamp" in wanted else None
    body = parts[0] if "Body" in wanted else body  # the Body may have been rebuilt to declare wsu
    return _Prepared(envelope, soap_header, body, key, method, key_reference, actor, parts, part_ids, stamp_at)


def _plan(prepared: _Prepared, body_declared: _Declared | None = None) -> _Plan:
    """The parts' InclusiveNamespaces, the shape, and which of its pieces hold; `body_declared`, if known."""
    # The Timestamp is built by us and declares only the wsu prefix it uses.
    scanned = [inclusive_namespaces(t, body_declared if t is prepared.body else None) for t in prepared.parts]
    soap_header = prepared.soap_header
    in_scope = soap_header.nsmap
    soap_prefixes = [p for p, uri in in_scope.items() if uri == ns.SOAP11_ENV]
    plain_prefix = soap_prefixes[0] if len(soap_prefixes) == 1 and soap_prefixes[0] else None
    found = shape.shape(shape.Key(prepared.key, prepared.key_reference, prepared.method, prepared.stamp_at,
                                  tuple(s.prefixes for s in scanned), prepared.actor, plain_prefix or "soapenv"))
    cut = shape.keeps_prefixes(in_scope) and not shape.escaped(prepared.part_ids)
    holding = any(t is soap_header or t is prepared.envelope for t in prepared.parts)
    return _Plan(prepared, scanned, found, cut, cut and plain_prefix is not None and not holding)


def _sign_tree(plan: _Plan, created: datetime, ttl: float) -> None:
    """A copy of the shape's header appended to soap:Header, with this message's texts and values."""
    prepared = plan.prepared
    security = plan.shape.security.__deepcopy__(None)  # copy.deepcopy without its Python-level dispatch
    prepared.soap_header.append(security)
    stamp, signature = security[0], security[-1]
    stamped = timestamp.fill(stamp, created, ttl)
    references = signature[0][2:]  # after CanonicalizationMethod and SignatureMethod
    uris, targets, prefixes, octets = _references(plan, stamped, stamp)
    for reference, uri in zip(references, uris, strict=True):
        reference.set("URI", uri)
    if prepared.key_reference == "bst":
        token_id = ids.new_id("X509")
        security[1].set(ns.WSU_ID, token_id)
        signature[2][0][0].set("URI", "#" + token_id)  # KeyInfo/SecurityTokenReference/Reference
    digests = []
    for reference, target, names, made in zip(references, targets, prefixes, octets, strict=True):
        # A part holding the header is canonicalised with the digests before it written.
        value = crypto.digest_text(ns.SHA256, made if made is not None else crypto.canonical(target, ns.EXC_C14N,
                                                                                            names))
        reference[-1].text = value  # its DigestValue
        digests.append(value)
    signed_info = (shape.joined(plan.shape.signed_info, shape.Filled(stamped, None, uris, digests, "").in_signed_info())
                   if plan.cut else crypto.canonical(signature[0], ns.EXC_C14N))
    signature[1].text = crypto.base64_lines(crypto.sign_bytes(prepared.key.private_key, prepared.method, signed_info))


def _sign_spliced(plan: _Plan, created: datetime, ttl: float) -> bytes:
    """The Security header's serialisation, from the shape's pieces and this message's texts and values."""
    prepared = plan.prepared
    stamped = timestamp.texts(created, ttl)
    token_id = ids.new_id("X509") if prepared.key_reference == "bst" else None
    uris, targets, prefixes, octets = _references(plan, stamped, None)
    digests = [crypto.digest_text(ns.SHA256, made if made is not None else crypto.canonical(target, ns.EXC_C14N,
                                                                                           names))
               for target, names, made in zip(targets, prefixes, octets, strict=True)]
    filled = shape.Filled(stamped, token_id, uris, digests, "")
    signed_info = shape.joined(plan.shape.signed_info, filled.in_signed_info())
    value = crypto.base64_lines(crypto.sign_bytes(prepared.key.private_key, prepared.method, signed_info))
    return shape.joined(plan.shape.header, filled._replace(signature_value=value).in_header())


def _references(plan: _Plan, stamped: timestamp.Filled, stamp: etree._Element | None) -> tuple[list, list, list, list]:
    """Per reference, in order: its URI, its target, the target's PrefixList, and its octets where known.

    A part's C14N made while scanning it is its digest input, unless the part holds the new
    Security header (an extra part: soap:Header or the Envelope), which changed it since. The
    Timestamp's comes from the shape's pieces where they hold.
    """
    prepared = plan.prepared
    uris = ["#" + i for i in prepared.part_ids]
    targets = list(prepared.parts)
    prefixes = [s.prefixes for s in plan.scanned]
    octets = [None if t is prepared.soap_header or t is prepared.envelope else s.octets
              for t, s in zip(targets, plan.scanned)]
    if prepared.stamp_at is not None:
        uris.insert(prepared.stamp_at, "#" + stamped.id)
        targets.insert(prepared.stamp_at, stamp)
        prefixes.insert(prepared.stamp_at, ())
        octets.insert(prepared.stamp_at, shape.joined(plan.shape.stamp, stamped) if plan.cut else None)
    return uris, targets, prefixes, octets


def _serialised_around_header(prepared: _Prepared) -> tuple[bytes, bytes]:
    """The envelope as soap.to_bytes writes it, cut where sign_envelope appends the Security header.

    A comment with a fresh random name marks the place: nothing else in the bytes can read like it.
    """
    marker = ids.new_id("soapbus-security")
    comment = etree.Comment(marker)
    prepared.soap_header.append(comment)
    try:
        before, found, after = soap.to_bytes(prepared.envelope).partition(b"<!--" + marker.encode() + b"-->")
    finally:
        prepared.soap_header.remove(comment)
    if not found:
        raise RuntimeError("the serialised envelope lost the mark for its Security header")
    return before, after


def _declared_in_body(prepared: _Prepared, after: bytes) -> _Declared | None:
    """The Body's declarations (as `_declarations` finds them), read from the envelope's serialisation.

    lxml writes every element's declarations as they are. When the Envelope holds just the
    soap:Header and the Body, what follows the mark (`_serialised_around_header`) is the end
    of the Header, the Body and the end of the Envelope, so each start tag there is the Body's
    or inside it. Without comments, CDATA or processing instructions (whose text is written as
    it is), every "<" there opens a tag; the pattern of a tag then tells a declaration from
    text that reads like one. None, for a walk, where that does not hold, or where a prefix
    declared in the Body is bound outside it too (a mere repetition is no declaration).
    """
    envelope = prepared.envelope
    if not prepared.parts or prepared.parts[0] is not prepared.body:  # the Body is not signed
        return None
    if len(envelope) != 2 or envelope[1] is not prepared.body or _markup_with_raw_text(after):
        return None
    outside = envelope.nsmap
    declared: set[str] = set()
    at = after.find(b" xmlns:")
    while at >= 0:
        end = after.find(b'="', at)  # a declaration's name has no "=" (and then no '"' follows in a tag)
        if _TAG_SO_FAR.fullmatch(after, after.rfind(b"<", 0, at), at):
            prefix = after[at + 7:end].decode()
            if prefix in outside:
                return None
            declared.add(prefix)
        at = after.find(b" xmlns:", at + 7)
    return _Declared(declared, False)


def _markup_with_raw_text(data: bytes) -> bool:
    """Whether serialised XML holds a comment, CDATA section or processing instruction (of raw text).

    Looked for by their "!" and "?" first (one memchr each), which most messages do not hold at all.
    """
    return (b"!" in data and b"<!" in data) or (b"?" in data and b"<?" in data)


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


def _targets(envelope, body, wanted: tuple[str, ...],
             extra: list[etree._Element]) -> tuple[list[etree._Element], list[str]]:
    """The parts to reference other than the Timestamp, in order, each with a wsu:Id in a declared wsu; and the Ids."""
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
    return chosen, [ids.ensure_id(element) for element in chosen]


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


def inclusive_namespaces(target: etree._Element, declared: _Declared | None = None) -> Inclusive:
    """The prefixes declared inside `target` that no element or attribute name uses, sorted.

    Exclusive C14N drops such declarations, yet QName-valued text (xsi:type, Error/xpath) may
    need them; listing them as InclusiveNamespaces keeps them under the signature.

    Exclusive C14N itself declares every prefix a name in the part uses (on the first element
    that needs it), so a declared prefix is unused exactly when no start tag of the part's
    C14N declares it; those octets are then the digest input as well. Where a processing
    instruction, whose text C14N writes as it is, could read like such a declaration, XPath
    looks for the prefix in the names instead. `declared`: the part's declarations, where known.
    """
    declared = declared or _declarations(target)
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
