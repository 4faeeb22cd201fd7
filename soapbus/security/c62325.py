"""IEC 62325-504 mode: one enveloped signature over the whole RequestMessage.

The signature sits in the 61968 Header as its last child; its single reference is URI=""
(the message document) with the enveloped-signature transform and inclusive C14N 1.0, and
ds:KeyInfo carries the signer's X509Certificate. "The document" is the message on its own,
not the SOAP envelope around it, so both sides work on a standalone copy of the message.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from lxml import etree

from soapbus.message.xml import parse_bytes

from . import algorithms, crypto, faults, ns, signedinfo, template, tokens, wire
from .identity import of_accepted
from .keys import SigningKey
from .trust import TrustStore

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Verified62325:
    message: etree._Element  # the signed message, Signature removed, re-parsed from its canonical form
    certificate: x509.Certificate
    subject: str
    subject_names: tuple[str, ...]
    signature_value: str


def standalone(message: etree._Element | bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """The message as its own document, as the signer saw it.

    A deep copy keeps the message's own namespace declarations and those it uses, but not
    the unused ones of the SOAP envelope around it, which inclusive C14N would otherwise
    render into the digest.
    """
    if isinstance(message, bytes):
        data = message
    else:
        data = etree.tostring(message if message.getparent() is None else copy.deepcopy(message))
    return wire.load(data, max_bytes, "IEC 62325-504 message")


def _header(message: etree._Element) -> etree._Element:
    headers = [c for c in message.iterchildren(etree.Element) if etree.QName(c).localname == "Header"]
    if len(headers) != 1:
        raise faults.invalid(f"the message must hold exactly one Header; it holds {len(headers)}")
    return headers[0]


def sign_62325(message_element: etree._Element, key: SigningKey, *, algorithm: str | None = None) -> etree._Element:
    """A signed standalone copy of `message_element` (which is left untouched)."""
    chosen = algorithm or key.algorithm
    if chosen != key.algorithm:
        raise ValueError(f"a {key.algorithm} key cannot make a {chosen!r} signature")
    message = parse_bytes(etree.tostring(copy.deepcopy(message_element)), "message to sign")
    # Unused declarations could be lost when the message is later embedded in an envelope
    # that declares the same prefix; without them the receiver could not rebuild the digest.
    etree.cleanup_namespaces(message)
    header = _header(message)
    if header.find(ns.SIGNATURE) is not None:
        raise ValueError("the message Header already holds a ds:Signature")
    # C14N named explicitly after the enveloped transform: verifiers differ on the default.
    ref = template.Ref("", [ns.ENVELOPED, ns.C14N10])
    method = algorithms.SIGNING[chosen]
    signature = template.signature(ns.C14N10, method, [ref])
    slot = template.x509_certificate_slot(signature)
    # What URI="" and the enveloped transform digest: the document as it is before the
    # Signature goes in (appending it leaves every other node as it was).
    document = crypto.canonical(message.getroottree(), ns.C14N10)
    header.append(signature)
    crypto.fill_digest(signature[0].find(template.REFERENCE), ns.SHA256, document)
    crypto.fill_signature_value(signature, method, key.private_key, ns.C14N10)
    slot.text = crypto.base64_lines(key.certificate_der) + "\n"
    return message


def _rules(allow_sha1: bool) -> signedinfo.Rules:
    return signedinfo.Rules(frozenset({ns.C14N10, ns.EXC_C14N}), frozenset({ns.ENVELOPED, ns.C14N10, ns.EXC_C14N}),
                            allow_sha1)


def verify_62325(message_element: etree._Element | bytes, trust: TrustStore, *, now: datetime | None = None,
                 allow_sha1: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> Verified62325:
    """Verify a 62325-504 signed message; return the message as signed, Signature removed."""
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    message = standalone(message_element, max_bytes)
    signature = _the_signature(message)
    info = signedinfo.read(signature, _rules(allow_sha1))
    _check_reference(info)
    if next(message.iter(etree.Comment, etree.ProcessingInstruction), None) is not None:
        # URI="" leaves comments out of the digest, so they could change what naive code reads.
        raise faults.invalid("the signed message holds a comment or processing instruction, which the "
                             "signature does not cover")
    token = tokens.resolve(signature, trust)
    trust.validate(token.certificate, now, der=token.der)
    cert = token.certificate
    signed = _check_signature(signature, message, info, cert)
    tokens.remember(token)  # the signature verified with a certificate the TrustStore accepted
    names = of_accepted(cert)  # the signature verified with a certificate the TrustStore accepted
    return Verified62325(signed, cert, names.subject, names.subject_names, info.signature_value)


def _check_signature(signature: etree._Element, message: etree._Element, info: signedinfo.SignedInfo,
                     cert: x509.Certificate) -> etree._Element:
    """Check the digest and signature value; return the signed message, Signature removed.

    URI="" with the enveloped transform digests the document without the Signature element
    (its tail text stays), comments left out, then C14N (inclusive 1.0 when the chain names
    none). ds:SignedInfo is canonicalised first, in its place (inherited xml:* attributes and
    a Signature in the default namespace included, see crypto.canonical). CanonicalizationMethod
    parameters other than a PrefixList are left to xmlsec, as before.
    """
    ref = info.references[0]
    c14n = ref.transforms[1] if len(ref.transforms) > 1 else ns.C14N10
    if info.c14n_prefixes is None:
        crypto.verify_with_xmlsec(signature, info, [], cert)
        return _without(signature, message)
    signed_info = crypto.signed_info_octets(signature, info)
    _remove(signature)
    try:
        # URI="" selects the document without comments (XML-DSig 4.3.3.3), whatever the C14N.
        document = crypto.canonical(message.getroottree(), c14n, ref.inclusive_prefixes, comments=False)
    except crypto.Unchecked:
        raise faults.failed_check(crypto.FAILED) from None
    crypto.check_values(info, [document], signed_info, cert)
    only_root = message.getprevious() is None and message.getnext() is None
    # Without siblings of the root (which URI="" digests too), the inclusive form of the
    # message is the very octets just checked.
    return parse_bytes(document, "signed message") if c14n == ns.C14N10 and only_root else _reparsed(message)


def _the_signature(message: etree._Element) -> etree._Element:
    found = list(message.iter(ns.SIGNATURE))
    if len(found) != 1:
        raise faults.invalid(f"the message must hold exactly one ds:Signature; it holds {len(found)}")
    header = _header(message)
    children = list(header.iterchildren(etree.Element))
    if not children or found[0] is not children[-1]:
        raise faults.invalid("the ds:Signature must be the last child of the message Header (IEC 62325-504)")
    return found[0]


def _check_reference(info: signedinfo.SignedInfo) -> None:
    if len(info.references) != 1 or info.references[0].uri != "":
        raise faults.invalid('a 62325-504 signature has exactly one Reference, with URI="" (the whole message)')
    transforms = info.references[0].transforms
    if not transforms or transforms[0] != ns.ENVELOPED or ns.ENVELOPED in transforms[1:] or len(transforms) > 2:
        raise faults.invalid("the Reference must apply the enveloped-signature transform, then at most one C14N")


def _without(signature: etree._Element, message: etree._Element) -> etree._Element:
    """What the enveloped transform digested: the message minus the Signature element alone."""
    _remove(signature)
    return _reparsed(message)


def _reparsed(message: etree._Element) -> etree._Element:
    """The message (its Signature removed) parsed again from its inclusive canonical form."""
    try:
        return parse_bytes(crypto.canonical(message, ns.C14N10), "signed message")
    except crypto.Unchecked:
        raise faults.failed_check(crypto.FAILED) from None


def _remove(signature: etree._Element) -> None:
    parent = signature.getparent()
    previous = signature.getprevious()
    # lxml removes an element with its tail text; the transform keeps that text, so we do too.
    if signature.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + signature.tail
        else:
            parent.text = (parent.text or "") + signature.tail
    parent.remove(signature)
