"""The cryptographic check itself, done by python-xmlsec on elements already vetted."""
from __future__ import annotations

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from . import algorithms, faults
from .ids import Target
from .signedinfo import SignedInfo


def verify(signature: etree._Element, info: SignedInfo, targets: list[Target], cert: x509.Certificate) -> None:
    """Check every digest and the signature value with the certificate's key, or FailedCheck."""
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(cert.public_bytes(serialization.Encoding.DER), xmlsec.KeyFormat.CERT_DER, None)
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
