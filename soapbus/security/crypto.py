"""Digests and signature values: lxml's C14N, hashlib and cryptography, on elements already vetted.

XML-DSig comes down to three computations, each done here by the library that is best at it:

* the octets a Reference digests: its element's subtree, exclusive C14N 1.0 without comments
  (WS-Security), or the whole document minus the Signature, C14N 1.0 (IEC 62325-504), made by
  libxml2's own canonicaliser through lxml, the one xmlsec uses (see `canonical` for the one
  detour inclusive C14N of an element takes);
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

from . import algorithms, c14n, faults, ns
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
CANONICAL_FORMS = frozenset(algorithms.C14N_FORMS)
_DIGEST_VALUE = ns.tag(ns.DS, "DigestValue")
_SIGNATURE_VALUE = ns.tag(ns.DS, "SignatureValue")
_LINE = 64  # base64 line length xmlsec writes, kept so our signatures look like its own

FAILED = ("the signature does not verify: a signed part was changed after signing, or the signature was "
          "made with a key other than the certificate's")


class Unchecked(ValueError):
    """What the computation here cannot decide: the caller refuses with FailedCheck."""


# ---------------------------------------------------------------- building blocks


def canonical(node: etree._Element | etree._ElementTree, method: str, prefixes: Sequence[str] = (), *,
              comments: bool = True) -> bytes:
    """C14N 1.0 as `method` names it (inclusive or exclusive, with or without comments).

    Of a whole document, or of an element as the node set XML-DSig makes of it in its place
    (a same-document reference, ds:SignedInfo): its subtree, with the namespace context and,
    for inclusive C14N, the xml:* attributes it inherits. `prefixes` is the PrefixList of an
    exclusive form. `comments=False` leaves comments out even where `method` keeps them: a
    reference by Id selects its subtree without them (XML-DSig 4.3.3.3).

    libxml2 computes it, through lxml, wherever lxml hands it the node set as it is: exclusive
    C14N of an element without a PrefixList (lxml gives libxml2 a temporary document whose
    root carries every declaration in scope, and exclusive C14N renders only those visibly
    used), and a document on its own. Two shapes lxml gets wrong (see soapbus.security.c14n):
    inclusive C14N of an element inside a document, and a PrefixList, of which lxml passes on
    only the prefixes interned in the document's name dictionary. Those are canonicalised as a
    copy of their own, parsed from lxml's serialisation (which declares on the element every
    namespace in scope, and so interns every prefix there is), with the inherited xml:*
    attributes set on it for inclusive C14N. The default namespace, "#default" in a PrefixList,
    never reaches libxml2 through lxml, so that shape is computed by soapbus.security.c14n.
    """
    try:
        exclusive, keeps_comments = algorithms.C14N_FORMS[method]
    except KeyError:
        raise Unchecked(f"canonicalisation {method} is not one soapbus computes") from None
    with_comments = keeps_comments and comments
    listed = list(prefixes) if exclusive else []
    try:
        if "#default" in listed or "" in listed:
            if isinstance(node, etree._ElementTree):
                return c14n.document(node, exclusive=True, with_comments=with_comments, prefixes=listed)
            return c14n.subtree(node, exclusive=True, with_comments=with_comments, prefixes=listed)
        if listed or not (exclusive or isinstance(node, etree._ElementTree) or _sole_root(node)):
            node = _copy_of_its_own(node, inherit_xml_attributes=not exclusive)
        return etree.tostring(node, method="c14n", exclusive=exclusive, with_comments=with_comments,
                              inclusive_ns_prefixes=listed or None)
    except (etree.C14NError, c14n.C14NError, ValueError) as exc:  # relative namespace URIs, for one
        raise Unchecked(str(exc)) from None


def _sole_root(element: etree._Element) -> bool:
    """Whether `element` is its document's root with no comment or PI beside it: its C14N is the document's."""
    return element.getparent() is None and element.getprevious() is None and element.getnext() is None


# Parses only what lxml's serialiser has just written from a tree already parsed or built here.
_COPY_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                               remove_comments=False, remove_pis=False, collect_ids=False)


def _copy_of_its_own(node: etree._Element | etree._ElementTree, *,
                     inherit_xml_attributes: bool) -> etree._Element | etree._ElementTree:
    """A document parsed from `node` as lxml writes it: an element with every namespace in scope declared on it.

    For inclusive C14N, the xml:* attributes the element inherits (the nearest of each that it
    does not carry itself) are set on the copy: C14N 1.0 renders them on a node set's apex.
    """
    if isinstance(node, etree._ElementTree):
        return etree.fromstring(etree.tostring(node), _COPY_PARSER).getroottree()
    copy = etree.fromstring(etree.tostring(node, with_tail=False), _COPY_PARSER)
    if inherit_xml_attributes:
        for name, value in c14n.inherited_xml_attributes(node).items():
            copy.set(name, value)
    return copy


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
    text = binascii.b2a_base64(data, newline=False).decode("ascii")
    return "\n".join(map(text.__getitem__, _lines(len(text))))


@lru_cache(maxsize=16)
def _lines(length: int) -> tuple[slice, ...]:
    """The slices cutting a text of `length` characters in lines of _LINE (a signature's length repeats)."""
    return tuple(slice(i, i + _LINE) for i in range(0, length, _LINE))


def digest_text(method: str, data: bytes) -> str:
    """The DigestValue text of `data`: its digest in base64."""
    return binascii.b2a_base64(digest(method, data), newline=False).decode("ascii")


def _decoded(text: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Unchecked(f"{what} is not base64") from None


# ---------------------------------------------------------------- signing


def fill_digest(reference: etree._Element, method: str, data: bytes) -> None:
    """Write the DigestValue of `data` into a template's ds:Reference."""
    next(reference.iterchildren(_DIGEST_VALUE)).text = digest_text(method, data)


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
    """What a same-document reference by Id makes of `element`, or None where not computed here.

    Handled: any number of enveloped-signature transforms, then one C14N of any form, or none
    (the node set then becomes octets by inclusive C14N 1.0, XML-DSig 4.3.3.2). The reference
    selects the subtree without comments, whatever the C14N. The verifiers have refused a
    reference to the Signature or any ancestor of it, so the subtree holds no Signature and
    the enveloped transform leaves it as it is. A chain with a C14N before its last transform
    re-parses octets on the way, and is left to xmlsec.
    """
    transforms = ref.transforms
    c14n = transforms[-1] if transforms and transforms[-1] in CANONICAL_FORMS else None
    before = transforms[:-1] if c14n else transforms
    if any(t != ns.ENVELOPED for t in before):
        return None
    c14n = c14n or ns.C14N10
    prefixes = ref.inclusive_prefixes if c14n in algorithms.EXCLUSIVE_C14N else ()
    return canonical(element, c14n, prefixes, comments=False)


def check(signature: etree._Element, info: SignedInfo, octets: Sequence[bytes], cert: x509.Certificate) -> bytes:
    """Check every reference's digest over its octets, then the signature value, or FailedCheck.

    `octets[i]` is what reference i's transforms produced. Returns the canonical ds:SignedInfo
    the signature value was checked over (see `signed_info_octets`).
    """
    signed_info = signed_info_octets(signature, info)
    check_values(info, octets, signed_info, cert)
    return signed_info


def signed_info_octets(signature: etree._Element, info: SignedInfo) -> bytes:
    """ds:SignedInfo canonicalised in its place, by its CanonicalizationMethod with its PrefixList; or FailedCheck.

    These octets are what the signature value signs. A signature value can be written in more
    than one way that verifies (ECDSA's s or n - s, whitespace in base64), these octets only
    in one: the replay memory remembers their digest.
    """
    try:
        return canonical(signature[0], info.c14n_method, info.c14n_prefixes or ())
    except Unchecked:
        raise faults.failed_check(FAILED) from None


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
