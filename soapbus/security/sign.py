"""sign_envelope: WS-Security 1.1 X.509 signing of a SOAP 1.1 envelope.

Digests and the signature value are computed by soapbus.security.crypto (libxml2's exclusive
C14N through lxml, hashlib, cryptography), in the order an XML-DSig engine fills a template:
each reference's digest in turn, written into the template before the next one is computed,
then ds:SignedInfo canonicalised where it stands and signed. The tests require the same bytes
python-xmlsec writes for the same template and key. The wsse:Security header itself is a copy
of a per-thread shape (see `_security_shape`), with only what differs per message set on it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timezone

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
    prefixes = tuple(tuple(unused_prefixes(t)) for t in parts)
    # A part that wrapped itself to declare wsu may have been soap:Header: look it up again.
    security = _new_security(next(envelope.iterchildren(ns.SOAP_HEADER)), actor,
                             (key, key_reference, method, stamp_at, prefixes))
    stamp = security[0]
    timestamp.fill(stamp, now or datetime.now(timezone.utc), ttl)
    targets, inclusive = list(parts), list(prefixes)
    if stamp_at is not None:
        targets.insert(stamp_at, stamp)
        inclusive.insert(stamp_at, ())
    signature = security[-1]
    references = list(signature[0].iterchildren(template.REFERENCE))
    for reference, target in zip(references, targets, strict=True):
        reference.set("URI", "#" + target.get(ns.WSU_ID))
    if key_reference == "bst":
        token_id = ids.new_id("X509")
        security[1].set(ns.WSU_ID, token_id)
        signature[2][0][0].set("URI", "#" + token_id)  # KeyInfo/SecurityTokenReference/Reference
    for reference, target, names in zip(references, targets, inclusive, strict=True):
        crypto.fill_digest(reference, ns.SHA256, crypto.canonical(target, ns.EXC_C14N, names))
    crypto.fill_signature_value(signature, method, key.private_key, ns.EXC_C14N)
    return envelope


def _method(algorithm: str | None, key: SigningKey) -> str:
    chosen = algorithm or key.algorithm
    if chosen not in algorithms.SIGNING:
        raise ValueError(f"algorithm must be one of {tuple(algorithms.SIGNING)}, not {chosen!r}")
    if chosen != key.algorithm:
        raise ValueError(f"a {key.algorithm} key cannot make a {chosen} signature")
    return algorithms.SIGNING[chosen]


def _envelope_parts(envelope: etree._Element) -> tuple[etree._Element, etree._Element]:
    if envelope.tag != ns.ENVELOPE:
        raise ValueError(f"expected a SOAP 1.1 Envelope, got {envelope.tag}")
    bodies = list(envelope.iterchildren(ns.SOAP_BODY))
    if len(bodies) != 1:
        raise ValueError(f"the Envelope must hold exactly one soap:Body, it holds {len(bodies)}")
    header = envelope.find(ns.SOAP_HEADER)
    if header is None:
        header = etree.Element(ns.SOAP_HEADER)
        envelope.insert(0, header)
    return bodies[0], header


def _refuse_second_security(soap_header: etree._Element, actor: str | None) -> None:
    for existing in soap_header.iterchildren(ns.SECURITY):
        if targets_us(existing, actor):
            raise ValueError("the envelope already carries a wsse:Security header for this actor")


def _new_security(soap_header: etree._Element, actor: str | None, shape: tuple) -> etree._Element:
    """A wsse:Security appended to soap:Header, from a copy of the prebuilt `shape` (see `_security_shape`)."""
    security = _security_shape(*shape).__deepcopy__(None)  # copy.deepcopy without its Python-level dispatch
    soap_header.append(security)
    security.set(ns.MUST_UNDERSTAND, "1")
    if actor:
        security.set(ns.ACTOR, actor)
    return security


_SHAPES = 64  # Security shapes kept per thread
_built = threading.local()  # lxml trees are not shared between threads


def _security_shape(key: SigningKey, key_reference: str, method: str, stamp_at: int | None,
                    prefixes: tuple[tuple[str, ...], ...]) -> etree._Element:
    """The whole wsse:Security as the builders make it, built once per thread and shape, then copied.

    A wsu:Timestamp, the key's BinarySecurityToken (for "bst"), and the ds:Signature template
    with one Reference per part (`prefixes`: each part's InclusiveNamespaces; the Timestamp's
    at `stamp_at`) and its KeyInfo. One deep copy (a single C call) replaces some twenty
    element and attribute calls per signature; what differs per message (Ids, Reference URIs,
    times, mustUnderstand and actor, digest and signature values) is set on the copy, and
    attributes set later keep the places they have here.
    """
    cache = getattr(_built, "security", None)
    if cache is None:
        cache = _built.security = OrderedDict()
    wanted = (key, key_reference, method, stamp_at, prefixes)
    shape = cache.get(wanted)
    if shape is None:
        shape = cache[wanted] = etree.Element(ns.SECURITY, nsmap=ns.NSMAP)
        timestamp.build(datetime.now(timezone.utc), 0, shape)
        bst = key_reference == "bst"
        if bst:
            tokens.binary_security_token(key, shape)
        refs = [template.Ref("", [ns.EXC_C14N], p) for p in prefixes]
        if stamp_at is not None:
            refs.insert(stamp_at, template.Ref("", [ns.EXC_C14N]))
        signature = template.build(ns.EXC_C14N, method, refs, token_uri="" if bst else None)
        if not bst:
            template.key_info(signature).append(tokens.token_reference(key_reference, key, None))
        shape.append(signature)
        if len(cache) > _SHAPES:
            cache.popitem(last=False)
    else:
        cache.move_to_end(wanted)
    return shape


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


def unused_prefixes(target: etree._Element) -> list[str]:
    """Prefixes declared inside `target` that no element or attribute name uses.

    Exclusive C14N drops such declarations, yet QName-valued text (xsi:type, Error/xpath) may
    need them; listing them as InclusiveNamespaces keeps them under the signature.

    A prefix counts as declared on an element when the element binds it to another namespace
    than its parent does. iterwalk reports each element's own declarations ("start-ns", just
    before its "start"), so only elements that carry declarations are compared with their parent.
    """
    declared: set[str] = set()
    used: set[str | None] = set()
    use = used.add
    own: list[tuple[str, str]] = []
    for event, item in etree.iterwalk(target, events=("start-ns", "start")):
        if event == "start-ns":
            own.append(item)
            continue
        if own:
            parent = item.getparent()
            inherited = parent.nsmap if parent is not None else {}
            declared.update(p for p, uri in own if p and inherited.get(p) != uri)
            own = []
        use(item.prefix)
        names = item.keys()
        if names:
            nsmap = item.nsmap
            for name in names:
                use(_attribute_prefix(nsmap, name) if name[:1] == "{" else None)
    return sorted(declared - used)


def _attribute_prefix(nsmap: dict, name: str) -> str | None:
    namespace = etree.QName(name).namespace
    if namespace is None:
        return None
    return next((p for p, uri in nsmap.items() if uri == namespace), None)
