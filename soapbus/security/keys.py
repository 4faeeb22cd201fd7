"""SigningKey: a private key and its certificate, parsed once and reused for every signature.

Parsing a PEM key costs far more than a signature, so a server loads its key at start-up and
hands the same SigningKey to every call. What each signature needs from the key (the parsed
cryptography key, the certificate's DER and base64 text) is likewise made once.
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from functools import cached_property

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def read_pem(source: str | bytes | os.PathLike) -> bytes:
    """PEM bytes from bytes, PEM text, or a file path."""
    if isinstance(source, bytes):
        return source
    if isinstance(source, str) and source.lstrip().startswith("-----BEGIN"):
        return source.encode("ascii")
    with open(source, "rb") as handle:
        return handle.read()


def _algorithm_for(private_key) -> str:
    if isinstance(private_key, rsa.RSAPrivateKey):
        return "rsa-sha256"
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(private_key.curve, ec.SECP256R1):
        return "ecdsa-sha256"
    raise ValueError("only RSA keys and ECDSA keys on P-256 are supported for signing")


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True, eq=False)
class SigningKey:
    # The private key with its certificate, as python-xmlsec takes it: soapbus signs everything
    # itself; this is for callers and tests that have xmlsec sign (the cross-checks).
    key: xmlsec.Key
    certificate: x509.Certificate
    algorithm: str  # the signature algorithm this key makes: "rsa-sha256" or "ecdsa-sha256"
    # The same private key as cryptography parsed it: what every signature is made with.
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def load(cls, key_pem: str | bytes | os.PathLike, cert_pem: str | bytes | os.PathLike,
             password: str | bytes | None = None) -> "SigningKey":
        """Load a PEM private key (path or bytes) and its PEM certificate, checking they match."""
        secret = password.encode() if isinstance(password, str) else password
        private_key = serialization.load_pem_private_key(read_pem(key_pem), password=secret)
        cert_bytes = read_pem(cert_pem)
        # A chain file may follow the leaf with its issuers; the leaf comes first.
        certificate = x509.load_pem_x509_certificates(cert_bytes)[0]
        if _spki(private_key.public_key()) != _spki(certificate.public_key()):
            raise ValueError("the private key does not belong to the certificate")
        # xmlsec gets the key already decrypted, so its password callbacks never come into play.
        clear = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())
        key = xmlsec.Key.from_memory(clear, xmlsec.KeyFormat.PEM, None)
        key.load_cert_from_memory(certificate.public_bytes(serialization.Encoding.PEM), xmlsec.KeyFormat.CERT_PEM)
        return cls(key, certificate, _algorithm_for(private_key), private_key)

    @cached_property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @cached_property
    def certificate_base64(self) -> str:
        """The certificate's DER in base64, as a wsse:BinarySecurityToken carries it."""
        return base64.b64encode(self.certificate_der).decode("ascii")
