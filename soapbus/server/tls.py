"""HTTPS for the server's listener, with optional mutual TLS.

`serve --tls-cert FILE --tls-key FILE` opens a TLS listener (`--tls-port`) beside the plain
HTTP one (or alone, `--no-http`). What it negotiates:

* TLS 1.2 and 1.3 only: a client offering TLS 1.1 or lower fails the handshake.
* TLS 1.2 cipher suites with forward secrecy and authenticated encryption only (ECDHE with
  AES-GCM or ChaCha20-Poly1305); TLS 1.3's suites are all of that kind. No compression, no
  session tickets, the server's preference order.
* ALPN offers http/1.1 only (Twisted answers a client offering ALPN without an overlap with
  an empty choice, which current pyOpenSSL turns into an "internal error" alert: curl offers
  h2 and http/1.1). The channel speaks HTTP/1.1, with the same connection limit, request
  deadline and idle timeout as plain HTTP (server/connections.py). The TLS layer sits in front of them: a
  connection counts against the limit, and its idle timer runs, from the moment it is
  accepted, so a client that stalls its handshake is cut like one that stalls its request.
* With `--tls-client-ca FILE` the server asks for a client certificate and verifies it against
  those CAs (chain, validity dates, the clientAuth purpose); one that does not verify fails the
  handshake. `--tls-require-client-cert` also refuses a client that sends none. The CA names
  are sent to the client (certificate_authorities), so that a client with several
  certificates (a Java key store) picks the right one.

A verified client certificate reaches the pipeline as a `PeerCertificate` (read on the reactor by
`client_certificate`, handed to the pool as a typed value: server/inbound.py), which the guard binds to Header/Source by the rules
signers are bound by, and which the journal records with the caller's address. Handshakes
that fail are logged at INFO with the reason OpenSSL gives (no HTTP request exists for them).

pyOpenSSL (Twisted's `tls` extra) is imported only when TLS is configured.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from twisted.internet.interfaces import IHandshakeListener, ISSLTransport
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from zope.interface import implementer

from ..security.identity import of_accepted
from ..security.pem import KeyPair, PemError, load_certificates

log = logging.getLogger(__name__)

DEFAULT_TLS_PORT = 8443
# TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AEAD ciphers; TLS 1.3 suites are OpenSSL's (all AEAD)
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


class TlsConfigError(ValueError):
    """A TLS setting the server cannot start with; the message names the file and what to do."""


@dataclass(frozen=True)
class TlsConfig:
    """The HTTPS listener: its certificate (chain) and key, and whom it asks for client certificates."""

    cert_file: Path  # PEM: the server's certificate, optionally followed by its intermediates
    key_file: Path  # PEM: its private key, unencrypted (protect it by file permissions)
    port: int = DEFAULT_TLS_PORT  # 0 picks a free one
    client_ca_file: Path | None = None  # PEM bundle of the CAs client certificates must chain to
    require_client_cert: bool = False  # refuse the handshake of a client that sends no certificate

    def __post_init__(self):
        if self.require_client_cert and self.client_ca_file is None:
            raise TlsConfigError("requiring a client certificate (--tls-require-client-cert) needs the CAs that "
                                 "issue them (--tls-client-ca FILE)")

    def describe(self) -> str:
        """One line for the start-up banner."""
        if self.client_ca_file is None:
            clients = "no client certificates asked for"
        elif self.require_client_cert:
            clients = f"client certificate REQUIRED, issued by {self.client_ca_file}"
        else:
            clients = f"client certificate optional, verified against {self.client_ca_file}"
        return f"TLS 1.2/1.3; {clients}"


@dataclass(frozen=True)
class PeerCertificate:
    """The client certificate a TLS handshake verified against the server's client CAs.

    It has what `security.check_source_binding` reads of a verified signer (`certificate`,
    `subject_names`), so the two are bound to Header/Source by the same rules.
    """

    certificate: x509.Certificate
    subject: str  # RFC 4514
    subject_names: tuple[str, ...]  # CN(s), SAN URIs and DNS names

    @classmethod
    def of(cls, certificate: x509.Certificate) -> "PeerCertificate":
        names = of_accepted(certificate)  # verified by the handshake: its names may be cached
        return cls(certificate, names.subject, names.subject_names)


def client_certificate(request) -> PeerCertificate | None:
    """The verified client certificate of the connection `request` arrived on (on the reactor)."""
    transport = getattr(getattr(request, "channel", None), "transport", None)
    if transport is None or ISSLTransport(transport, None) is None:
        return None
    presented = transport.getPeerCertificate()
    if presented is None:  # no client CAs configured, or the client sent none where that is allowed
        return None
    return PeerCertificate.of(presented.to_cryptography())


def peer_label(address: str | None, client: PeerCertificate | None) -> str | None:
    """What the journal records as the peer: the address, and over mutual TLS the certificate's subject."""
    if client is None:
        return address
    return f"{address or '?'} (TLS client {client.subject})"


# ---------------------------------------------------------------- the listener's TLS context


def server_options(config: TlsConfig):
    """The Twisted CertificateOptions of the listener (see the module doc); TlsConfigError when unusable."""
    ssl, crypto = _openssl()
    try:
        pair = KeyPair.load(config.cert_file, config.key_file, "TLS")
        client_cas = (load_certificates(config.client_ca_file, "the TLS client CA bundle")
                      if config.client_ca_file is not None else [])
    except PemError as exc:
        raise TlsConfigError(str(exc)) from None
    leaf, key = pair.leaf, pair.key
    if leaf.not_valid_after_utc < dt.datetime.now(dt.timezone.utc):
        log.warning("the TLS certificate %s (%s) expired on %s: clients will refuse the handshake", config.cert_file,
                    leaf.subject.rfc4514_string(), leaf.not_valid_after_utc.isoformat())
    options = ssl.CertificateOptions(
        privateKey=crypto.PKey.from_cryptography_key(key), certificate=crypto.X509.from_cryptography(leaf),
        extraCertChain=[crypto.X509.from_cryptography(c) for c in pair.chain[1:]],
        raiseMinimumTo=ssl.TLSVersion.TLSv1_2,
        acceptableCiphers=ssl.AcceptableCiphers.fromOpenSSLCipherString(TLS12_CIPHERS),
        verify=bool(client_cas), caCerts=[crypto.X509.from_cryptography(c) for c in client_cas] or None,
        requireCertificate=config.require_client_cert,
        enableSessions=False, enableSessionTickets=False,
        acceptableProtocols=[b"http/1.1"],
    )
    if client_cas:
        context = options.getContext()
        # tell clients which issuers we take (CertificateOptions does not)
        context.set_client_ca_list([crypto.X509.from_cryptography(c).get_subject() for c in client_cas])
        context.set_verify(context.get_verify_mode(), _note_verify_error)  # OpenSSL decides; we keep its reason
    return options


# X.509 verification results a client certificate most often fails with (OpenSSL's numbers)
_VERIFY_ERRORS = {
    9: "it is not valid yet", 10: "it has expired", 18: "it is self-signed",
    19: "its chain ends in a self-signed certificate that is not a --tls-client-ca",
    20: "its issuer is not among the --tls-client-ca certificates", 21: "its issuer is not among the --tls-client-ca "
    "certificates", 26: "it is not meant for TLS clients (extendedKeyUsage without clientAuth)",
}
VERIFY_ERROR_ATTRIBUTE = "soapbus_verify_error"  # set on the TLS protocol of a connection whose certificate failed


def _note_verify_error(connection, certificate, errno: int, depth: int, ok: int) -> bool:
    """OpenSSL's verify callback: keeps its verdict and remembers why a client certificate failed."""
    if not ok:
        try:
            subject = certificate.to_cryptography().subject.rfc4514_string()
            reason = _VERIFY_ERRORS.get(errno, f"X.509 verification error {errno}")
            setattr(connection.get_app_data(), VERIFY_ERROR_ATTRIBUTE, f"client certificate {subject}: {reason}")
        except Exception:  # noqa: BLE001 - an exception must not escape into OpenSSL; the verdict stands
            pass
    return bool(ok)


def _openssl():
    try:
        from OpenSSL import crypto  # noqa: PLC0415 - only a server with TLS configured needs pyOpenSSL
        from twisted.internet import ssl  # noqa: PLC0415
    except ImportError:
        raise TlsConfigError("TLS needs pyOpenSSL, which is not installed: pip install 'Twisted[tls]'") from None
    return ssl, crypto


def tls_listening_factory(options, edge_factory):
    """What the TLS port listens with: TLS (`options`, from server_options) in front of the edge's
    factory (the connection limit), a failed handshake logged in between."""
    from twisted.protocols.tls import TLSMemoryBIOFactory  # noqa: PLC0415 - needs pyOpenSSL

    class RefusingTLSFactory(TLSMemoryBIOFactory):
        """A connection the connection limit refuses stays refused (Twisted would wrap None)."""

        def buildProtocol(self, addr):  # noqa: N802 - Twisted's interface
            inner = self.wrappedFactory.buildProtocol(addr)
            return None if inner is None else self.protocol(self, inner)

    return RefusingTLSFactory(options, False, _HandshakeWatching(edge_factory))


@implementer(IHandshakeListener)
class _HandshakeWatch(ProtocolWrapper):
    """Between TLS and the HTTP channel: logs why a handshake failed (there is no request to answer)."""

    handshake_done = False

    def handshakeCompleted(self):  # noqa: N802 - IHandshakeListener
        self.handshake_done = True

    def connectionLost(self, reason):  # noqa: N802
        if not self.handshake_done:
            why = getattr(self.transport, VERIFY_ERROR_ATTRIBUTE, None) or describe_tls_failure(reason.value)
            if why is not None:
                log.info("TLS handshake with %s failed: %s", getattr(self.getPeer(), "host", "?"), why)
        super().connectionLost(reason)


class _HandshakeWatching(WrappingFactory):
    protocol = _HandshakeWatch

    def buildProtocol(self, addr):  # noqa: N802
        inner = self.wrappedFactory.buildProtocol(addr)
        return None if inner is None else self.protocol(self, inner)


def describe_tls_failure(error: BaseException) -> str | None:
    """OpenSSL's reasons for a failed handshake, in words; None for a connection that just closed."""
    try:
        from OpenSSL import SSL  # noqa: PLC0415
    except ImportError:
        return None
    if not isinstance(error, SSL.Error):
        return None
    reasons = [entry[2] for entry in (error.args[0] if error.args and isinstance(error.args[0], list) else [])
               if isinstance(entry, tuple) and len(entry) == 3]
    text = "; ".join(r for r in reasons if r) or str(error)
    hints = {
        "http request": " (a plain-HTTP client on the TLS port)",
        "peer did not return a certificate": " (this port requires a client certificate)",
        "unsupported protocol": " (the client offered TLS older than 1.2)",
        "no shared cipher": " (the client offered no TLS 1.2 ECDHE AEAD suite)",
    }
    return text + next((hint for key, hint in hints.items() if key in text), "")


__all__ = ["TlsConfig", "TlsConfigError", "PeerCertificate", "tls_listening_factory", "server_options", "client_certificate",
           "peer_label", "describe_tls_failure", "DEFAULT_TLS_PORT", "TLS12_CIPHERS"]
