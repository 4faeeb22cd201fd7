"""Reading the PEM files a TLS setting names, with errors that say which file and what to do.

The server's listener, the delivery worker and the client SDK all take a certificate (chain),
a private key and CA bundles from files given on a command line; each reads them here, at
start-up, so that a wrong file is one clear line then rather than a handshake failure later.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization


class PemError(ValueError):
    """A PEM file that cannot be used; the message names the file and the remedy."""


@dataclass(frozen=True)
class KeyPair:
    """A certificate chain (leaf first) and the private key of its leaf, checked to belong together."""

    chain: tuple[x509.Certificate, ...]
    key: object  # a cryptography private key

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @classmethod
    def load(cls, cert_file: str | Path, key_file: str | Path | None, what: str = "TLS") -> "KeyPair":
        """cert_file: the certificate, optionally followed by its intermediates; key_file: its key
        (None: the key is in cert_file too)."""
        chain = load_certificates(cert_file, f"the {what} certificate")
        key = load_private_key(key_file if key_file is not None else cert_file, f"the {what} key")
        if _public_der(chain[0].public_key()) != _public_der(key.public_key()):
            raise PemError(f"the {what} key {key_file or cert_file} does not belong to the certificate {cert_file} "
                           f"({chain[0].subject.rfc4514_string()}); the certificate must come first in its file")
        return cls(tuple(chain), key)


def load_certificates(path: str | Path, what: str) -> list[x509.Certificate]:
    """Every certificate of a PEM file, in file order (at least one)."""
    data = _read(path, what)
    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError:
        found = []
    if not found:
        raise PemError(f"{what} {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    return found


def load_private_key(path: str | Path, what: str):
    """An unencrypted PEM private key."""
    data = _read(path, what)
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise PemError(f"{what} {path} is encrypted; give it unencrypted (openssl pkey -in KEY -out PLAIN) and "
                       "protect the file by its permissions") from None
    except ValueError as exc:
        raise PemError(f"{what} {path} is not a PEM private key: {exc}") from None


def _read(path: str | Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise PemError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _public_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


__all__ = ["PemError", "KeyPair", "load_certificates", "load_private_key"]
