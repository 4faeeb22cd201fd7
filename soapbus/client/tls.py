"""HTTPS for the client SDK, `soapbus call` and the conformance harness.

`ClientTls` says how to reach an https endpoint: whose CA its certificate must chain to (the
system's trust store when none is given), which client certificate to present for mutual TLS,
or (`insecure`) not to verify the server at all, which is announced loudly every time. The
files are read when the setting is made, so a wrong path or a key that does not belong to its
certificate is one clear error before any request, not an OpenSSL message at the first call.

requests (under zeep) carries the calls; `transport_for` gives one zeep Transport (one
keep-alive pool) per setting and timeout, as `discovery.shared_transport` does without TLS.
The server's certificate is checked against the host name or IP address of the URL, by
urllib3 (2.x), which offers TLS 1.2 at least.
"""
from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from zeep.transports import Transport

from ..security.pem import KeyPair, PemError, load_certificates
from .errors import SoapbusClientError

INSECURE_WARNING = ("TLS certificate verification is OFF (insecure): the server's identity is not checked, so "
                    "anyone on the network path can pose as it and read or change every message. Use this only "
                    "against a test endpoint; give its CA instead (verify=PATH, --tls-ca FILE).")


class TlsSetupError(SoapbusClientError):
    """A TLS setting the client cannot use (a file that cannot be read, a key that does not match)."""


class InsecureTls(UserWarning):
    """Issued once per insecure setting made: the server's certificate will not be verified."""


@dataclass(frozen=True)
class ClientTls:
    ca_file: str | None = None  # PEM bundle the server's certificate must chain to; None: the system's trust store
    cert_file: str | None = None  # PEM client certificate (intermediates after it), for mutual TLS
    key_file: str | None = None  # its private key; None: in cert_file
    insecure: bool = False  # do not verify the server's certificate (loudly warned)

    def __post_init__(self):
        if self.insecure and self.ca_file:
            raise TlsSetupError("a CA to verify the server with and insecure (no verification) contradict each "
                                "other: give one of them")
        if self.key_file and not self.cert_file:
            raise TlsSetupError(f"a TLS client key ({self.key_file}) without its certificate: give the certificate "
                                "too (client_cert=(CERT, KEY), --tls-cert)")
        try:
            if self.ca_file:
                load_certificates(self.ca_file, "the TLS CA bundle")
            if self.cert_file:
                KeyPair.load(self.cert_file, self.key_file, "TLS client")
        except PemError as exc:
            raise TlsSetupError(str(exc)) from None
        if self.insecure:
            warnings.warn(InsecureTls(INSECURE_WARNING), stacklevel=3)

    @classmethod
    def of(cls, verify: bool | str | Path | None = None,
           client_cert: str | Path | tuple[str | Path, str | Path] | None = None) -> "ClientTls | None":
        """From requests-style arguments: verify True (system trust) / False (insecure) / a CA bundle
        path; client_cert a PEM holding certificate and key, or (certificate, key). None: nothing asked."""
        if verify is None and client_cert is None:
            return None
        if isinstance(client_cert, (tuple, list)):
            if len(client_cert) != 2:
                raise TlsSetupError("client_cert= takes a PEM file, or (certificate file, key file)")
            cert, key = (str(part) for part in client_cert)
        else:
            cert, key = (str(client_cert) if client_cert is not None else None), None
        if verify is False:
            return cls(None, cert, key, insecure=True)
        ca = None if verify in (None, True) else str(verify)
        return cls(ca, cert, key)

    @property
    def verify(self) -> bool | str:
        """What requests takes as `verify`."""
        if self.insecure:
            return False
        return self.ca_file or True

    @property
    def cert(self) -> str | tuple[str, str] | None:
        """What requests takes as `cert`."""
        if not self.cert_file:
            return None
        return (self.cert_file, self.key_file) if self.key_file else self.cert_file

    def session(self) -> requests.Session:
        """A requests Session making every https call with this setting."""
        return self.apply(requests.Session())

    def apply(self, session: requests.Session) -> requests.Session:
        """Make `session`'s https calls with this setting (urllib3 2 offers TLS 1.2 at least and checks
        the host name); its hooks and everything else stay as they are."""
        session.verify = self.verify
        session.cert = self.cert
        session.mount("https://", _TlsAdapter(self))
        if self.insecure:
            from urllib3.exceptions import InsecureRequestWarning  # noqa: PLC0415

            # announced once, loudly, when the setting was made; not again on every request
            warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        return session


class _TlsAdapter(HTTPAdapter):
    """Every https request through it is made with one ClientTls, whatever the session or the
    environment say: requests lets REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE replace a session's
    `verify` whenever a call does not pass its own, as zeep's calls do not."""

    def __init__(self, tls: ClientTls):
        super().__init__()
        self.tls = tls

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        return super().send(request, stream=stream, timeout=timeout, verify=self.tls.verify, cert=self.tls.cert,
                            proxies=proxies)


_transports: dict[tuple, Transport] = {}
_transports_lock = threading.Lock()


def transport_for(tls: ClientTls, timeout: float) -> Transport:
    """One zeep Transport per (setting, timeout), its WSDL cache the one discovery shares."""
    from . import discovery  # noqa: PLC0415 - discovery imports the client package

    key = (tls, timeout)
    with _transports_lock:
        found = _transports.get(key)
        if found is None:
            found = _transports[key] = Transport(cache=discovery._wsdl_cache, timeout=timeout,
                                                 operation_timeout=timeout, session=tls.session())
    return found


def describe_tls_error(exc: BaseException) -> str | None:
    """A TLS failure in words with what to do about it; None when `exc` is not one."""
    if not isinstance(exc, requests.exceptions.SSLError):
        return None
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        detail = text.split("certificate verify failed:", 1)[-1].split("(_ssl")[0].strip(" ')\"")
        return (f"the server's certificate was not accepted ({detail or 'verify failed'}): give the CA that issued "
                "it (verify=PATH, --tls-ca FILE)")
    if "doesn't match" in text or "Hostname mismatch" in text:
        return "the server's certificate does not name the host in the URL: use the name it was issued for"
    if any(alert in text for alert in ("CERTIFICATE_REQUIRED", "HANDSHAKE_FAILURE", "UNKNOWN_CA", "BAD_CERTIFICATE",
                                       "CERTIFICATE_EXPIRED", "certificate required")):
        return (f"the server refused the TLS handshake ({_alert(text)}): it requires a client certificate its CA "
                "issued and that is still valid (client_cert=, --tls-cert/--tls-key)")
    if "PROTOCOL_VERSION" in text or "UNSUPPORTED_PROTOCOL" in text or "WRONG_VERSION_NUMBER" in text:
        return f"no TLS version in common with the server, or it does not speak TLS on this port ({_alert(text)})"
    return f"TLS failed: {_alert(text)}"


def _alert(text: str) -> str:
    """OpenSSL's reason out of requests' nested message ("[SSL: CODE] reason (_ssl.c:...)")."""
    found = re.search(r"\[SSL: [A-Z0-9_]+\] ([^(]+?)\s*\(_ssl", text)
    if found:
        return found.group(1).strip()
    found = re.search(r"\[SSL: ([A-Z0-9_]+)\]", text)
    return found.group(1).lower().replace("_", " ") if found else text


__all__ = ["ClientTls", "TlsSetupError", "InsecureTls", "transport_for", "describe_tls_error", "INSECURE_WARNING"]
