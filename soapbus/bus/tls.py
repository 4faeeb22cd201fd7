"""TLS for what soapbus sends on its own: https ReplyAddresses, subscribers, routed backends, amqps.

The delivery worker's Agent (bus/http.py) asks `DestinationTlsPolicy.creatorForNetloc` for the
TLS settings of each new connection. What it gets:

* the destination's certificate verified against the CA bundle configured for its origin
  (`--destination-tls https://host:port=ca=FILE`), else the default bundle
  (`--delivery-tls-ca FILE`), else the system's trust store; and its host name or IP address
  checked against the certificate's subjectAltName;
* a client certificate (mutual TLS) when one is configured for the origin or by default
  (`--delivery-tls-cert FILE --delivery-tls-key FILE`); what an origin's setting leaves out
  (its CA, or its certificate and key) comes from the defaults;
* TLS 1.2 or 1.3 only.

The message broker (`--broker amqps://...`, bus/broker.py) is reached through the same policy
(`creator_for("amqps", host, port)`), so `--destination-tls amqps://host:5671=...` or the
defaults give it its CA and client certificate.

Settings are per origin (scheme, host, port), not per path: one pooled connection carries the
messages of every path of an origin, so it can present only one client certificate. Every file
is read when the policy is made (start-up), so a wrong one stops the server with one line; each
origin's OpenSSL context is made once, on its first connection.

pyOpenSSL (Twisted's `tls` extra) is imported only when the policy is made.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

from ..security.pem import KeyPair, PemError, load_certificates


class OutboundTlsError(ValueError):
    """A TLS setting for deliveries that cannot be used; the message names the option and the file."""


@dataclass(frozen=True)
class DestinationTls:
    """How to reach one origin (or, as the default, every https destination)."""

    ca_file: Path | None = None  # PEM bundle the destination's certificate must chain to; None: system trust
    cert_file: Path | None = None  # PEM client certificate (intermediates after it), for mutual TLS
    key_file: Path | None = None  # its private key; None: in cert_file

    def __post_init__(self):
        if self.key_file is not None and self.cert_file is None:
            raise OutboundTlsError(f"a client key ({self.key_file}) without its certificate: give cert= too")

    def over(self, default: "DestinationTls") -> "DestinationTls":
        """This origin's settings, what it leaves out taken from `default`."""
        if self.cert_file is not None:
            return DestinationTls(self.ca_file or default.ca_file, self.cert_file, self.key_file)
        return DestinationTls(self.ca_file or default.ca_file, default.cert_file, default.key_file)


@dataclass(frozen=True)
class OutboundTls:
    default: DestinationTls = field(default_factory=DestinationTls)
    origins: tuple[tuple[str, DestinationTls], ...] = ()  # ("https://host:port", its settings)

    def for_origin(self, host: str, port: int, scheme: str = "https") -> DestinationTls:
        """The settings of `scheme://host:port`: its own over the defaults, or the defaults."""
        wanted = f"{scheme}://{host.lower()}:{port}"
        own = next((settings for origin, settings in self.origins if origin == wanted), None)
        return own.over(self.default) if own is not None else self.default


DEFAULT_PORTS = {"https": 443, "amqps": 5671}  # the schemes soapbus speaks TLS on as a client


def origin_of(url: str) -> str:
    """`https://Host[:port][/]` as `https://host:port` (amqps:// likewise, for the broker);
    OutboundTlsError for anything else."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise OutboundTlsError(f"{url!r} is not an https (or amqps) origin; write https://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise OutboundTlsError(f"{url!r}: TLS settings are per origin, not per path (one connection serves every "
                               "path of a host and port); write https://host[:port]")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise OutboundTlsError(f"{url!r} has a port that is not a number") from None
    return f"{scheme}://{parts.hostname.lower()}:{port}"


def parse_destination_tls(text: str) -> tuple[str, DestinationTls]:
    """`ORIGIN=ca=FILE[,cert=FILE[,key=FILE]]` (the `--destination-tls` option)."""
    origin, sep, rest = text.partition("=")
    if not sep or not rest:
        raise OutboundTlsError(f"{text!r}: write https://host[:port]=ca=FILE,cert=FILE,key=FILE (any of the three)")
    files: dict[str, Path] = {}
    for item in rest.split(","):
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep or name not in ("ca", "cert", "key") or not value.strip():
            raise OutboundTlsError(f"{text!r}: {item!r} is not ca=FILE, cert=FILE or key=FILE")
        if name in files:
            raise OutboundTlsError(f"{text!r}: {name}= is given twice")
        files[name] = Path(value.strip())
    return origin_of(origin), DestinationTls(files.get("ca"), files.get("cert"), files.get("key"))


def delivery_policy(config: OutboundTls | None) -> "DestinationTlsPolicy | None":
    """The policy the delivery Agent is given. None (Twisted's default, the system's trust store)
    only when nothing is configured and pyOpenSSL is missing: https deliveries then fail one by
    one with Twisted's reason, while a configured setting without pyOpenSSL stops the start."""
    config = config or OutboundTls()
    if config == OutboundTls() and not _have_openssl():
        return None
    return DestinationTlsPolicy(config)


def _have_openssl() -> bool:
    try:
        import OpenSSL  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


@implementer(IPolicyForHTTPS)
class DestinationTlsPolicy:
    """Twisted's IPolicyForHTTPS for the delivery Agent: per-origin trust and client certificate."""

    def __init__(self, config: OutboundTls | None = None):
        self.config = config or OutboundTls()
        try:
            from OpenSSL import crypto  # noqa: PLC0415 - only TLS needs pyOpenSSL
            from twisted.internet import ssl  # noqa: PLC0415
        except ImportError:
            raise OutboundTlsError("https deliveries need pyOpenSSL, which is not installed: "
                                   "pip install 'Twisted[tls]'") from None
        self._ssl, self._crypto = ssl, crypto
        self._loaded = {settings: self._load(settings, origin) for origin, settings in
                        (("default", self.config.default),
                         *((origin, own.over(self.config.default)) for origin, own in self.config.origins))}
        self._creators: dict[tuple[str, str, int], object] = {}

    def creatorForNetloc(self, hostname: bytes, port: int):  # noqa: N802 - Twisted's interface
        host = hostname.decode("ascii") if isinstance(hostname, bytes) else hostname
        return self.creator_for("https", host, port)

    def creator_for(self, scheme: str, host: str, port: int):
        """The client connection creator for `scheme://host:port` (https, or amqps for the broker)."""
        found = self._creators.get((scheme, host, port))
        if found is None:
            trust, extra = self._loaded[self.config.for_origin(host, port, scheme)]
            found = self._creators[(scheme, host, port)] = self._ssl.optionsForClientTLS(
                host, trustRoot=trust, extraCertificateOptions=dict(extra))
        return found

    def _load(self, settings: DestinationTls, origin: str):
        """(trust root, CertificateOptions arguments) of one origin's settings; files read now."""
        ssl, crypto = self._ssl, self._crypto
        where = "the default" if origin == "default" else origin
        try:
            trust = (ssl.trustRootFromCertificates([ssl.Certificate(crypto.X509.from_cryptography(c))
                                                    for c in load_certificates(settings.ca_file, f"{where} CA bundle")])
                     if settings.ca_file is not None else ssl.platformTrust())
            extra = {"raiseMinimumTo": ssl.TLSVersion.TLSv1_2}
            if settings.cert_file is not None:
                pair = KeyPair.load(settings.cert_file, settings.key_file, f"{where} TLS client")
                extra.update(certificate=crypto.X509.from_cryptography(pair.leaf),
                             privateKey=crypto.PKey.from_cryptography_key(pair.key),
                             extraCertChain=[crypto.X509.from_cryptography(c) for c in pair.chain[1:]])
        except PemError as exc:
            raise OutboundTlsError(str(exc)) from None
        return trust, tuple(extra.items())


_TLS_HINTS = (
    ("certificate verify failed", "is --delivery-tls-ca (or the origin's ca=) the CA that issued the destination's "
                                  "certificate?"),
    ("certificate required", "the destination demands a client certificate: --delivery-tls-cert/-key or the "
                             "origin's cert=, key="),
    ("unknown ca", "the destination does not trust the CA of the client certificate presented"),
    ("certificate expired", "the destination says the client certificate presented has expired"),
    ("protocol version", "the destination offers no TLS version from 1.2 up"),
    ("wrong version number", "the destination does not speak TLS on this port"),
)


def tls_failure_reason(error: BaseException) -> str | None:
    """A failed TLS connection of a delivery in words, with what to check; None for other failures."""
    try:
        from OpenSSL import SSL  # noqa: PLC0415
        from service_identity import VerificationError  # noqa: PLC0415
    except ImportError:
        return None
    if isinstance(error, VerificationError):
        return f"TLS: the destination's certificate does not name the host in the URL ({error})"
    if not isinstance(error, SSL.Error):
        return None
    entries = error.args[0] if error.args and isinstance(error.args[0], list) else []
    text = "; ".join(e[2] for e in entries if isinstance(e, tuple) and len(e) == 3 and e[2]) or str(error)
    hint = next((advice for key, advice in _TLS_HINTS if key in text), None)
    return f"TLS handshake failed: {text}" + (f" ({hint})" if hint else "")


__all__ = ["tls_failure_reason", "DestinationTls", "OutboundTls", "OutboundTlsError", "DestinationTlsPolicy", "delivery_policy", "origin_of",
           "parse_destination_tls"]
