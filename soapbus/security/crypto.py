"""Digests and signature values: lxml's C14N, hashlib and cryptography, on elements already vetted.

XML-DSig comes down to three computations, each done here by the library that is best at it:

* the octets a Reference digests: its element's subtree, exclusive C14N 1.0 without comments
  (WS-Security), or the whole document minus the Signature, C14N 1.0 (IEC 62325-504), made by
  libxml2's own canonicaliser through lxml, the one xmlsec uses;
* the digest of those octets, by hashlib;
* the signature over ds:SignedInfo canonicalised in its place in the document, by
  cryptography: RSA PKCS#1 v1.5, or ECDSA whose value XML-DSig writes as the raw integers
  r || s, each as long as the curve's order (RFC 4050, XML-DSig 1.1 section 6.4.3).

python-xmlsec, which canonicalises the whole document once per reference and copies key
parameters into every context, cost about twice as much as all of that together. It remains
the verifier for the rare shapes the code here does not compute (a C14N inside a transform
chain, ds:CanonicalizationMethod parameters other than InclusiveNamespaces), restricted to the
same algorithm list as before, and the cross-check in the tests, which require byte-for-byte
the digests and RSA signature values xmlsec computes.

Each algorithm is looked up in a table of the algorithms soapbus accepts at all: a URI
outside it cannot run, whatever a policy said (the second wall xmlsec's transform lists were).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache

import xmlsec
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from lxml import etree

from . import algorithms, faults, ns
from .ids import Target
from .signedinfo import Reference, SignedInfo

DIGESTS = {ns.SHA256: hashlib.sha256, ns.SHA1: hashlib.sha1}
# SignatureMethod URI -> (RSA?, hash)
SIGNATURES = {
    ns.RSA_SHA256: (True, hashes.SHA256()),
    ns.ECDSA_SHA256: (False, hashes.SHA256()),
    ns.RSA_SHA1: (True, hashes.SHA1()),
    ns.ECDSA_SHA1: (False, hashes.SHA1()),
}
_PKCS1 = padding.PKCS1v15()
CANONICAL_FORMS = frozenset({ns.EXC_C14N, ns.C14N10})
_DIGEST_VALUE = ns.tag(ns.DS, "DigestValue")
_SIGNATURE_VALUE = ns.tag(ns.DS, "SignatureValue")
_LINE = 64  # base64 line length xmlsec writes, kept so our signatures look like its own
_XML_ATTRIBUTE = "{" + ns.XML + "}"

FAILED = ("the signature does not verify: a signed part was changed after signing, or the signature was "
          "made with a key other than the certificate's")


class Unchecked(ValueError):
    """What the computation here cannot decide: the caller refuses with FailedCheck."""


# ---------------------------------------------------------------- building blocks


def canonical(node: etree._Element | etree._ElementTree, method: str, prefixes: Sequence[str] = ()) -> bytes:
    """C14N 1.0 (inclusive or exclusive), without comments, of an element's subtree or a whole document.

    For an element lxml hands libxml2 the subtree as a document of its own whose root carries
    every namespace declaration in scope at the element; exclusive C14N renders only those the
    subtree visibly uses or `prefixes` names, exactly as for the element as a node set of the
    original document. Inclusive C14N renders them all, which also matches the node set, except
    for xml:* attributes inherited from ancestors (see `inherits_xml_attributes`).
    """
    if method not in CANONICAL_FORMS:
        raise Unchecked(f"canonicalisation {method} is not one soapbus computes")
    exclusive = method == ns.EXC_C14N
    try:
        return etree.tostring(node, method="c14n", exclusive=exclusive, with_comments=False,
                              inclusive_ns_prefixes=list(prefixes) if exclusive and prefixes else None)
    except (etree.C14NError, ValueError) as exc:  # libxml2 refuses relative namespace URIs, for one
        raise Unchecked(str(exc)) from None


def inherits_xml_attributes(element: etree._Element) -> bool:
    """Whether an ancestor carries an xml:* attribute, which inclusive C14N of `element` must render."""
    return any(name.startswith(_XML_ATTRIBUTE) for a in element.iterancestors() for name in a.keys())


def digest(method: str, data: bytes) -> bytes:
    try:
        return DIGESTS[method](data).digest()
    except KeyError:
        raise Unchecked(f"digest method {method} is not one soapbus accepts") from None


def _method(method: str, key, rsa_type: type, ec_type: type) -> tuple[bool, hashes.HashAlgorithm]:
    """(RSA?, hash) of a SignatureMethod, once `key` is of the type it needs."""
    try:
        is_rsa, hash_algorithm = SIGNATURES[method]
    except KeyError:
        raise Unchecked(f"signature method {method} is not one soapbus accepts") from None
    if not isinstance(key, rsa_type if is_rsa else ec_type):
        raise Unchecked(f"a {type(key).__name__} cannot make or check a {method} signature")
    return is_rsa, hash_algorithm


def _order_bytes(curve: ec.EllipticCurve) -> int:
    return (curve.key_size + 7) // 8


def sign_bytes(private_key, method: str, data: bytes) -> bytes:
    """The SignatureValue octets over `data`: PKCS#1 v1.5 for RSA, raw r || s for ECDSA."""
    is_rsa, hash_algorithm = _method(method, private_key, rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)
    if is_rsa:
        return private_key.sign(data, _PKCS1, hash_algorithm)
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hash_algorithm)))
    size = _order_bytes(private_key.curve)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def signature_holds(public_key, method: str, data: bytes, value: bytes) -> bool:
    """Whether `value` is a SignatureValue over `data` by `public_key`."""
    is_rsa, hash_algorithm = _method(method, public_key, rsa.RSAPublicKey, ec.EllipticCurvePublicKey)
    try:
        if is_rsa:
            public_key.verify(value, data, _PKCS1, hash_algorithm)
            return True
        size = _order_bytes(public_key.curve)
        # r and s are each `size` octets; like xmlsec, take a shorter even length as two halves
        # (some stacks drop leading zero octets), never a longer one.
        if not value or len(value) % 2 or len(value) > 2 * size:
            return False
        half = len(value) // 2
        r, s = int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
        public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hash_algorithm))
        return True
    except InvalidSignature:
        return False


def base64_lines(data: bytes) -> str:
    """Base64 in lines of 64 characters, as xmlsec writes SignatureValue and X509Certificate."""
    text = base64.b64encode(data).decode("ascii")
    return "\n".join(text[i:i + _LINE] for i in range(0, len(text), _LINE))


def _decoded(text: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Unchecked(f"{what} is not base64") from None


# ---------------------------------------------------------------- signing


def fill_digest(reference: etree._Element, method: str, data: bytes) -> None:
    """Write the DigestValue of `data` into a template's ds:Reference."""
    next(reference.iterchildren(_DIGEST_VALUE)).text = base64.b64encode(digest(method, data)).decode("ascii")


def fill_signature_value(signature: etree._Element, method: str, private_key, c14n: str,
                         prefixes: Sequence[str] = ()) -> None:
    """Canonicalise ds:SignedInfo where it stands (its digests written) and write the SignatureValue."""
    data = canonical(signature[0], c14n, prefixes)
    next(signature.iterchildren(_SIGNATURE_VALUE)).text = base64_lines(sign_bytes(private_key, method, data))


# ---------------------------------------------------------------- verifying


@lru_cache(maxsize=256)
def verification_key(cert: x509.Certificate):
    """The certificate's public key, taken out once per certificate.

    Cached by certificate (cryptography compares certificates as whole parsed structures,
    signature included, so equal means the same DER). Only called once TrustStore.validate
    accepted the certificate, so only trusted certificates are ever kept.
    """
    return cert.public_key()


_last_key: tuple = (None, None)  # (certificate, key) of the last check: most messages come from the same sender


def _key_of(cert: x509.Certificate):
    """verification_key(cert), without hashing the certificate again when it is the very object of the last call.

    A remembered token text gives back the same certificate object (tokens._Read), and hashing
    a certificate (its whole DER) costs about a microsecond per lookup.
    """
    global _last_key
    last, key = _last_key
    if last is not cert:
        key = verification_key(cert)
        _last_key = (cert, key)
    return key


def reference_octets(element: etree._Element, ref: Reference) -> bytes | None:
    """What a same-document reference's transforms make of `element`, or None where not computed here.

    Handled: any number of enveloped-signature transforms, then one exclusive C14N. The
    Verifier has refused a reference to the Signature or any ancestor of it, so the element's
    subtree holds no Signature and the enveloped transform leaves it as it is. A chain with a
    C14N before its last transform re-parses octets on the way, and is left to xmlsec.
    """
    *before, last = ref.transforms or (None,)
    if last != ns.EXC_C14N or any(t != ns.ENVELOPED for t in before):
        return None
    return canonical(element, ns.EXC_C14N, ref.inclusive_prefixes)


def check(signature: etree._Element, info: SignedInfo, octets: Sequence[bytes], cert: x509.Certificate) -> None:
    """Check every reference's digest over its octets, then the signature value, or FailedCheck.

    `octets[i]` is what reference i's transforms produced. ds:SignedInfo is canonicalised in
    its place in the document, with its CanonicalizationMethod and that method's PrefixList.
    """
    try:
        signed_info = canonical(signature[0], info.c14n_method, info.c14n_prefixes or ())
    except Unchecked:
        raise faults.failed_check(FAILED) from None
    check_values(info, octets, signed_info, cert)


def check_values(info: SignedInfo, octets: Sequence[bytes], signed_info: bytes, cert: x509.Certificate) -> None:
    """Compare each digest with its DigestValue and check SignatureValue over `signed_info`, or FailedCheck."""
    try:
        if len(octets) != len(info.references):
            raise Unchecked("every reference needs its octets")
        for ref, data in zip(info.references, octets, strict=True):
            if not hmac.compare_digest(digest(ref.digest_method, data), _decoded(ref.digest_value, "DigestValue")):
                raise Unchecked(f"the digest of {ref.uri!r} differs")
        value = _decoded(info.signature_value, "SignatureValue")
        if not signature_holds(_key_of(cert), info.signature_method, signed_info, value):
            raise Unchecked("the signature value does not match")
    except (Unchecked, ValueError, UnsupportedAlgorithm):
        raise faults.failed_check(FAILED) from None


def verify_with_xmlsec(signature: etree._Element, info: SignedInfo, targets: list[Target],
                       cert: x509.Certificate) -> None:
    """The same check by python-xmlsec, for shapes `check` does not compute; restricted to the vetted algorithms."""
    ctx = xmlsec.SignatureContext()
    try:
        ctx.key = _xmlsec_key(cert)
    except (xmlsec.Error, ValueError, UnsupportedAlgorithm):
        raise faults.failed_check(FAILED) from None
    for target in targets:
        name = etree.QName(target.attribute)
        # Only the vetted element is registered, so xmlsec's own lookup can find nothing else.
        ctx.register_id(target.element, name.localname, name.namespace)
    # Second wall: xmlsec itself refuses any algorithm outside the vetted list.
    for uri in info.algorithms():
        transform = algorithms.xmlsec_transform(uri)
        ctx.enable_reference_transform(transform)
        ctx.enable_signature_transform(transform)
    try:
        ctx.verify(signature)
    except xmlsec.Error:
        raise faults.failed_check(FAILED) from None


@lru_cache(maxsize=16)
def _xmlsec_key(cert: x509.Certificate) -> xmlsec.Key:
    # The public key alone: xmlsec does not look at a certificate held by a key it is handed
    # (trust is TrustStore's job, decided before), but would copy it into every context.
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        return xmlsec.Key.from_memory(spki, xmlsec.KeyFormat.DER, None)
    except xmlsec.Error:  # a key type xmlsec reads only from a certificate
        return xmlsec.Key.from_memory(cert.public_bytes(serialization.Encoding.DER), xmlsec.KeyFormat.CERT_DER, None)
