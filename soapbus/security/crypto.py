"""The cryptographic check itself, done by python-xmlsec on elements already vetted."""
from __future__ import annotations

from functools import lru_cache

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from . import algorithms, faults
from .ids import Target
from .signedinfo import SignedInfo


@lru_cache(maxsize=256)
def verification_key(cert: x509.Certificate) -> xmlsec.Key:
    """The certificate's public key as an xmlsec.Key, built once per certificate.

    Only the key is loaded, not the certificate: xmlsec does not look at a certificate held
    by a key it is handed (trust is TrustStore's job), but copies it into every signature
    context, which costs more than the RSA check. Cached by certificate (cryptography
    compares certificates as whole parsed structures, signature included, so equal means
    the same DER); an xmlsec.Key is never changed by use, since each context takes its own
    reference to it. Only called once TrustStore.validate accepted the certificate, so only
    trusted certificates are ever kept.
    """
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        return xmlsec.Key.from_memory(spki, xmlsec.KeyFormat.DER, None)
    except xmlsec.Error:
        # A key type xmlsec reads only from a certificate: load it the way it always was.
        return xmlsec.Key.from_memory(cert.public_bytes(serialization.Encoding.DER), xmlsec.KeyFormat.CERT_DER, None)


def verify(signature: etree._Element, info: SignedInfo, targets: list[Target], cert: x509.Certificate) -> None:
    """Check every digest and the signature value with the certificate's key, or FailedCheck."""
    ctx = xmlsec.SignatureContext()
    ctx.key = verification_key(cert)
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
        raise faults.failed_check(
            "the signature does not verify: a signed part was changed after signing, or the signature was "
            "made with a key other than the certificate's") from None
