"""What a certificate says about its holder: the names a Source binding can be checked against."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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


@dataclass(frozen=True)
class Names:
    """Everything above, for one certificate."""
    subject: str
    subject_names: tuple[str, ...]
    common_names: tuple[str, ...]
    organizations: tuple[str, ...]


@lru_cache(maxsize=256)
def of_accepted(cert: x509.Certificate) -> Names:
    """The names of a certificate a TrustStore has accepted, worked out once per certificate.

    A message's certificate is a new object each time, and reading its subject and extensions
    the first time costs tens of microseconds. The cache is keyed by the certificate
    (cryptography compares certificates as whole parsed structures, signature included) and
    bounded; call this only for certificates that passed validation, so that unverified input
    cannot fill it. The functions above stay uncached for everything else.
    """
    return Names(subject_text(cert), subject_names(cert), common_names(cert), organizations(cert))


_last: tuple = (None, None)  # (certificate, Names) of the last call


def of_verified(cert: x509.Certificate) -> Names:
    """of_accepted(cert), without hashing the certificate again when it is the very object of the last call.

    Same rule as of_accepted: only for a certificate whose signature verified after the
    TrustStore accepted it.
    """
    global _last
    last, names = _last
    if last is not cert:
        names = of_accepted(cert)
        _last = (cert, names)
    return names
