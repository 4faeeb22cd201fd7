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

import xmlsec
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
    signature = template.signature(ns.C14N10, algorithms.SIGNING[chosen], [ref])
    template.x509_certificate_slot(signature)
    header.append(signature)
    ctx = xmlsec.SignatureContext()
    ctx.key = key.key
    ctx.sign(signature)
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
    trust.validate(token.certificate, now)
    crypto.verify(signature, info, [], token.certificate)
    cert = token.certificate
    names = of_accepted(cert)  # the signature verified with a certificate the TrustStore accepted
    return Verified62325(_without(signature, message), cert, names.subject, names.subject_names,
                         info.signature_value)


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
    parent = signature.getparent()
    previous = signature.getprevious()
    # lxml removes an element with its tail text; the transform keeps that text, so we do too.
    if signature.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + signature.tail
        else:
            parent.text = (parent.text or "") + signature.tail
    parent.remove(signature)
    return parse_bytes(etree.tostring(message, method="c14n"), "signed message")
