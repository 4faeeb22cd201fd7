"""What a certificate says about its holder: the names a Source binding can be checked against."""
from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID


def common_names(cert: x509.Certificate) -> tuple[str, ...]:
    return tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))


def organizations(cert: x509.Certificate) -> tuple[str, ...]:
    return tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))


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


def subject_text(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()
