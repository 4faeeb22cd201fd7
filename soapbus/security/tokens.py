"""X.509 Token Profile: how a signature names its certificate, written and read.

Three ways to name it on the way out (BinarySecurityToken, X509IssuerSerial, SubjectKeyIdentifier);
on the way in we also read a certificate carried in ds:X509Data, which other stacks send. A
certificate found in the message is only a candidate: the TrustStore decides about it.
"""
from __future__ import annotations

import base64
import binascii
import threading
from collections import OrderedDict
from typing import NamedTuple

from cryptography import x509
from lxml import etree

from . import dn, faults, ids, ns
from .keys import SigningKey
from .trust import TrustStore

KEY_REFERENCES = ("bst", "issuer_serial", "ski")
_KEY_INFO = ns.tag(ns.DS, "KeyInfo")
_X509_DATA = ns.tag(ns.DS, "X509Data")


# ---------------------------------------------------------------- writing


def binary_security_token(key: SigningKey, parent: etree._Element | None = None) -> etree._Element:
    """The signer's certificate as a token, made as the last child of `parent` when given."""
    attrib = {"ValueType": ns.X509V3, "EncodingType": ns.BASE64}
    token = (etree.Element(ns.BST, attrib, nsmap=ns.NSMAP) if parent is None
             else etree.SubElement(parent, ns.BST, attrib, nsmap=ns.NSMAP))
    ids.ensure_id(token, "X509")
    token.text = key.certificate_base64
    return token


def token_reference(kind: str, key: SigningKey, token: etree._Element | None) -> etree._Element:
    """The wsse:SecurityTokenReference that goes in ds:KeyInfo."""
    ref = etree.Element(ns.STR, nsmap=ns.NSMAP)
    if kind == "bst":
        etree.SubElement(ref, ns.WSSE_REFERENCE, URI="#" + token.get(ns.WSU_ID), ValueType=ns.X509V3)
    elif kind == "issuer_serial":
        data = etree.SubElement(ref, ns.tag(ns.DS, "X509Data"), nsmap={"ds": ns.DS})
        pair = etree.SubElement(data, ns.tag(ns.DS, "X509IssuerSerial"))
        etree.SubElement(pair, ns.tag(ns.DS, "X509IssuerName")).text = key.certificate.issuer.rfc4514_string()
        etree.SubElement(pair, ns.tag(ns.DS, "X509SerialNumber")).text = str(key.certificate.serial_number)
    elif kind == "ski":
        ski = key.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        ident = etree.SubElement(ref, ns.KEY_IDENTIFIER, ValueType=ns.X509_SKI, EncodingType=ns.BASE64)
        ident.text = base64.b64encode(ski).decode("ascii")
    else:
        raise ValueError(f"key_reference must be one of {KEY_REFERENCES}, not {kind!r}")
    return ref


# ---------------------------------------------------------------- reading


class Token(NamedTuple):
    certificate: x509.Certificate
    found_by: str  # BinarySecurityToken, X509Certificate, X509IssuerSerial or SubjectKeyIdentifier
    der: bytes | None = None  # the DER the certificate was read from, when the message carried it
    text: str | None = None  # the base64 text it was read from, when the message carried it


class _Read:
    """Certificates read from base64 text in messages whose signature then verified: text -> (certificate, DER).

    A busy sender puts the same token text in every message; decoding and parsing it again
    costs more than the lookup. The entry is what reading the text gives (base64, then DER),
    nothing about trust, which the TrustStore decides for each message as before. Filled only
    by `remember`, after a signature verified with the certificate, so that unverified input
    cannot fill it; bounded.
    """

    SIZE = 256

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[x509.Certificate, bytes]] = OrderedDict()

    def get(self, text: str) -> tuple[x509.Certificate, bytes] | None:
        with self._lock:
            found = self._entries.get(text)
            if found is not None:
                self._entries.move_to_end(text)
            return found

    def put(self, text: str, certificate: x509.Certificate, der: bytes) -> None:
        with self._lock:
            self._entries[text] = (certificate, der)
            self._entries.move_to_end(text)
            while len(self._entries) > self.SIZE:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_READ = _Read()


def remember(token: Token) -> None:
    """Keep how the token's text reads; call only once a signature verified with its certificate."""
    if token.text is not None and token.der is not None:
        _READ.put(token.text, token.certificate, token.der)


def _only(parent: etree._Element, what: str) -> etree._Element:
    children = list(parent.iterchildren(etree.Element))
    if len(children) != 1:
        raise faults.bad_token(f"{what} must hold exactly one element; it holds {len(children)}")
    return children[0]


def _b64(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise faults.bad_token(f"{what} is not base64") from None


def _certificate(text: str | None, what: str, found_by: str) -> Token:
    known = _READ.get(text) if text else None
    if known is not None:
        return Token(known[0], found_by, known[1], text)
    der = _b64(text, what)
    try:
        return Token(x509.load_der_x509_certificate(der), found_by, der, text)
    except ValueError:
        raise faults.bad_token(f"{what} does not hold a DER X.509 certificate") from None


def resolve(signature: etree._Element, trust: TrustStore, *, index: ids.IdIndex | None = None,
            security: etree._Element | None = None) -> Token:
    """The certificate ds:KeyInfo names. `security`/`index` allow BinarySecurityToken references."""
    key_infos = list(signature.iterchildren(_KEY_INFO))
    if len(key_infos) != 1:
        raise faults.bad_token(f"ds:Signature must hold one ds:KeyInfo naming the signer; it holds {len(key_infos)}")
    holder = _only(key_infos[0], "ds:KeyInfo")
    if holder.tag == _X509_DATA:
        return _from_x509_data(holder, trust)
    if holder.tag == ns.STR:
        return _from_token_reference(holder, trust, index, security)
    raise faults.bad_token(f"ds:KeyInfo names its key with {holder.tag}; expected "
                           "wsse:SecurityTokenReference or ds:X509Data")


def _from_token_reference(ref, trust, index, security) -> Token:
    inner = _only(ref, "wsse:SecurityTokenReference")
    if inner.tag == ns.WSSE_REFERENCE and security is not None and index is not None:
        return _from_bst(inner, index, security)
    if inner.tag == ns.KEY_IDENTIFIER:
        return _from_key_identifier(inner, trust)
    if inner.tag == _X509_DATA:
        return _from_x509_data(inner, trust)
    raise faults.bad_token(f"unsupported wsse:SecurityTokenReference content {inner.tag}")


def _from_bst(reference, index: ids.IdIndex, security) -> Token:
    value_type = reference.get("ValueType")
    if value_type not in (None, ns.X509V3):
        raise faults.bad_token(f"only X509v3 tokens are accepted, not {value_type}")
    target = index.resolve(ids.fragment(reference.get("URI"))).element
    # The token must sit in our own Security header: one elsewhere could be swapped unseen.
    if target.tag != ns.BST or target.getparent() is not security:
        raise faults.bad_token(
            "the wsse:Reference does not point at a BinarySecurityToken of this wsse:Security header")
    if target.get("ValueType") != ns.X509V3:
        raise faults.bad_token(f"BinarySecurityToken ValueType must be X509v3, not {target.get('ValueType')}")
    if target.get("EncodingType") not in (None, ns.BASE64):
        raise faults.bad_token(
            f"BinarySecurityToken EncodingType must be Base64Binary, not {target.get('EncodingType')}")
    return _certificate(target.text, "wsse:BinarySecurityToken", "BinarySecurityToken")


def _from_key_identifier(ident, trust: TrustStore) -> Token:
    value_type = ident.get("ValueType")
    if value_type == ns.X509_SKI:
        cert = trust.by_ski(_b64(ident.text, "wsse:KeyIdentifier"))
        if cert is None:
            raise faults.bad_token("no certificate known to this receiver has the SubjectKeyIdentifier "
                                   f"{(ident.text or '').strip()}; send the certificate in a BinarySecurityToken")
        return Token(cert, "SubjectKeyIdentifier")
    if value_type == ns.X509V3:
        return _certificate(ident.text, "wsse:KeyIdentifier", "X509Certificate")
    raise faults.bad_token(f"unsupported wsse:KeyIdentifier ValueType {value_type}")


def _from_x509_data(data, trust: TrustStore) -> Token:
    certs = data.findall(ns.tag(ns.DS, "X509Certificate"))
    pairs = data.findall(ns.tag(ns.DS, "X509IssuerSerial"))
    skis = data.findall(ns.tag(ns.DS, "X509SKI"))
    if len(certs) > 1 or len(pairs) > 1 or len(skis) > 1:
        raise faults.bad_token("ds:X509Data names more than one certificate; which one signed is ambiguous")
    if certs:
        token = _certificate(certs[0].text, "ds:X509Certificate", "X509Certificate")
        if pairs:
            _check_issuer_serial(pairs[0], token.certificate)
        return token
    if pairs:
        issuer_text, serial_text = _issuer_serial_texts(pairs[0])
        try:
            issuer, serial = dn.parse(issuer_text), int(serial_text)
        except ValueError:
            raise faults.bad_token(f"unreadable ds:X509IssuerSerial ({issuer_text!r}, {serial_text!r}); send the "
                                   "certificate in a BinarySecurityToken or ds:X509Certificate") from None
        cert = trust.by_issuer_serial(issuer, serial)
        if cert is None:
            raise faults.bad_token(f"no certificate known to this receiver has issuer {issuer_text} "
                                   f"and serial {serial}; send the certificate in a BinarySecurityToken")
        return Token(cert, "X509IssuerSerial")
    if skis:
        cert = trust.by_ski(_b64(skis[0].text, "ds:X509SKI"))
        if cert is None:
            raise faults.bad_token("no certificate known to this receiver has that ds:X509SKI")
        return Token(cert, "SubjectKeyIdentifier")
    raise faults.bad_token("ds:X509Data holds neither a certificate, an IssuerSerial nor an SKI")


def _issuer_serial_texts(pair) -> tuple[str, str]:
    return ((pair.findtext(ns.tag(ns.DS, "X509IssuerName")) or "").strip(),
            (pair.findtext(ns.tag(ns.DS, "X509SerialNumber")) or "").strip())


def _check_issuer_serial(pair, cert: x509.Certificate) -> None:
    """An IssuerSerial beside the certificate it names: the certificate decides, a contradiction is refused.

    The name may be written in any of the forms dn.parse reads (Java's among them) and still
    be the certificate's issuer. A part that cannot be read at all names nothing, and the
    certificate carried (whose key the signature must verify with, and which the TrustStore
    judges) decides alone; a part that reads as another certificate's is refused.
    """
    issuer_text, serial_text = _issuer_serial_texts(pair)
    try:
        serial = int(serial_text)
    except ValueError:
        serial = None
    if serial is not None and serial != cert.serial_number:
        raise faults.bad_token(f"ds:X509IssuerSerial names serial number {serial}, but the ds:X509Certificate beside "
                               f"it has serial number {cert.serial_number}: they name different certificates")
    try:
        issuer = dn.parse(issuer_text)
    except ValueError:
        return
    if not issuer.matches(cert.issuer):
        raise faults.bad_token(f"ds:X509IssuerSerial names issuer {issuer_text!r}, but the ds:X509Certificate beside "
                               f"it was issued by {cert.issuer.rfc4514_string()!r}: they name different certificates")
