"""TrustStore: which certificates may sign, decided only by what this side configured.

Trust is anchored in a CA bundle or in pinned certificates, never in a certificate that came
with the message: a message's certificate is only ever the thing being judged.
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

from . import faults
from .dn import DistinguishedName
from .identity import subject_text
from .keys import read_pem

CertSource = x509.Certificate | bytes | str | os.PathLike


def load_certificates(source: CertSource) -> list[x509.Certificate]:
    """Certificates from an object, PEM or DER bytes, PEM text, or a PEM file path."""
    if isinstance(source, x509.Certificate):
        return [source]
    data = read_pem(source)
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _ski(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


class TrustStore:
    """CA anchors and/or pinned signer certificates, plus certificates known for lookups.

    `known` certificates are those a message may name by IssuerSerial or SubjectKeyIdentifier
    instead of carrying them; knowing a certificate does not make it trusted: it must still
    chain to an anchor or be pinned.
    """

    def __init__(self, *, anchors: Iterable[x509.Certificate] = (), pinned: Iterable[x509.Certificate] = (),
                 known: Iterable[x509.Certificate] = ()):
        self._anchors = list(anchors)
        self._pinned = {_der(c): c for c in pinned}
        self._known = list(self._pinned.values()) + list(known)
        self._store = Store(self._anchors) if self._anchors else None
        if not self._anchors and not self._pinned:
            raise ValueError("a TrustStore needs CA anchors or pinned certificates")
        self._passed = _Passed()

    @classmethod
    def from_ca_bundle(cls, pem: CertSource, *, known: Iterable[CertSource] = ()) -> "TrustStore":
        """Trust every certificate that chains to a CA in `pem` (path, bytes or text)."""
        return cls(anchors=load_certificates(pem), known=[c for s in known for c in load_certificates(s)])

    @classmethod
    def pinned(cls, certificates: Iterable[CertSource]) -> "TrustStore":
        """Trust exactly these signer certificates, and no CA."""
        return cls(pinned=[c for s in certificates for c in load_certificates(s)])

    def by_issuer_serial(self, issuer: DistinguishedName | x509.Name, serial: int) -> x509.Certificate | None:
        """A known certificate with this serial number from this issuer (written in any form dn.parse reads)."""
        for cert in self._known:
            if cert.serial_number == serial and (issuer.matches(cert.issuer) if isinstance(issuer, DistinguishedName)
                                                 else cert.issuer == issuer):
                return cert
        return None

    def by_ski(self, ski: bytes) -> x509.Certificate | None:
        for cert in self._known:
            if _ski(cert) == ski:
                return cert
        return None

    def validate(self, cert: x509.Certificate, at: datetime, *, der: bytes | None = None) -> None:
        """Refuse (wsse:FailedAuthentication) a certificate that may not sign at `at`.

        `der` is the encoding `cert` was loaded from, where the caller has it at hand.
        """
        der = der or _der(cert)
        if self._passed.holds(der, at):
            return
        who = subject_text(cert)
        _check_signer_extensions(cert, who)
        _check_dates(cert, who, at)
        if der in self._pinned:
            self._passed.remember(der, [cert])
            return
        if self._store is None:
            raise faults.not_authenticated(f"certificate {who} is not one of the pinned certificates")
        self._passed.remember(der, [cert, *self._check_chain(cert, who, at)])

    def _check_chain(self, cert: x509.Certificate, who: str, at: datetime) -> list[x509.Certificate]:
        # Message-signing certificates are not TLS certificates: the web-PKI rules for end
        # entities (SAN required, serverAuth/clientAuth EKU) do not apply; our own checks
        # above cover what matters (not a CA, digitalSignature, validity).
        verifier = (PolicyBuilder().store(self._store).time(at)
                    .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                        ee_policy=ExtensionPolicy.permit_all())
                    .build_client_verifier())
        try:
            return verifier.verify(cert, []).chain
        except VerificationError as exc:
            raise faults.not_authenticated(
                f"certificate {who} (issuer {cert.issuer.rfc4514_string()}) does not chain to a trusted CA: {exc}"
            ) from None


class _Passed:
    """Certificates this store has accepted, so a busy sender's certificate is not judged afresh per message.

    Whether `validate` accepts a certificate depends on the certificate (its extensions, its
    DER among the pinned ones, its chain), on the store (anchors and pins, fixed for a
    TrustStore, which owns this cache) and on the time, and on the time only through the
    validity dates of the certificate and of the certificates of its chain. So an acceptance
    stands at any `at` strictly inside the intersection of those validity periods, and only
    there is it reused; outside it, after TTL seconds, or for a certificate never accepted,
    every check runs again. Refusals are never kept, so untrusted input cannot fill the cache.
    Keyed by the certificate's DER.
    """

    TTL = 300.0
    SIZE = 256

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, tuple[float, datetime, datetime]] = OrderedDict()

    def holds(self, der: bytes, at: datetime) -> bool:
        with self._lock:
            entry = self._entries.get(der)
            if entry is None:
                return False
            until, not_before, not_after = entry
            if time.monotonic() >= until:
                del self._entries[der]
                return False
            self._entries.move_to_end(der)
        return not_before < at < not_after

    def remember(self, der: bytes, chain: list[x509.Certificate]) -> None:
        not_before = max(c.not_valid_before_utc for c in chain)
        not_after = min(c.not_valid_after_utc for c in chain)
        with self._lock:
            self._entries[der] = (time.monotonic() + self.TTL, not_before, not_after)
            self._entries.move_to_end(der)
            while len(self._entries) > self.SIZE:
                self._entries.popitem(last=False)


def _check_signer_extensions(cert: x509.Certificate, who: str) -> None:
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise faults.not_authenticated(f"certificate {who} is a CA certificate; a CA may not sign messages")
    except x509.ExtensionNotFound:
        pass
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise faults.not_authenticated(f"certificate {who} has no keyUsage; digitalSignature is required") from None
    if not usage.digital_signature:
        raise faults.not_authenticated(f"certificate {who} does not allow digitalSignature in its keyUsage")


def _check_dates(cert: x509.Certificate, who: str, at: datetime) -> None:
    if at < cert.not_valid_before_utc:
        raise faults.not_authenticated(f"certificate {who} is not valid before {cert.not_valid_before_utc.isoformat()}")
    if at > cert.not_valid_after_utc:
        raise faults.not_authenticated(f"certificate {who} expired on {cert.not_valid_after_utc.isoformat()}")
