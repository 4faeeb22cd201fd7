"""What a certificate says about its holder: the names a Source binding can be checked against.

Each answer depends on the certificate alone, so it is computed once per certificate and kept
in a bounded cache. The cache is keyed by the certificate object, and cryptography compares
certificates by their DER encoding: equal keys mean the same certificate, byte for byte.
"""
from __future__ import annotations

from functools import lru_cache

from cryptography import x509
from cryptography.x509.oid import NameOID

CACHED_CERTIFICATES = 512


@lru_cache(maxsize=CACHED_CERTIFICATES)
def common_names(cert: x509.Certificate) -> tuple[str, ...]:
    return tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))


@lru_cache(maxsize=CACHED_CERTIFICATES)
def organizations(cert: x509.Certificate) -> tuple[str, ...]:
    return tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))


@lru_cache(maxsize=CACHED_CERTIFICATES)
def subject_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The subject's CN(s), then any SAN URIs and DNS names, in certificate order."""
    names = list(common_names(cert))
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return tuple(names)
    names += san.get_values_for_type(x509.UniformResourceIdentifier)
    names += san.get_values_for_type(x509.DNSName)
    return tuple(names)


@lru_cache(maxsize=CACHED_CERTIFICATES)
def subject_text(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()
