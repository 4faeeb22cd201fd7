"""Message security at the server's edge: verify what comes in, sign what goes out.

The rules: I1 and I9 (the transactional interfaces) require WS-Security signing both ways;
every other interface accepts a signed or an unsigned request (or requires signing, by
configuration). What passes verification is replaced by what the signature covers: the
pipeline reads the signed Body re-parsed by the verifier, never the tree that arrived. The
answer to a signed request is signed with the server's key. Endpoints in IEC 62325-504 mode
carry an enveloped signature inside the 61968 Header instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from ..message import namespaces, soap
from ..profiles import SIGNED_INTERFACES, Service
from ..profiles import get as get_noun
from ..security import (INVALID_SECURITY, Policy, SecurityFault, SigningKey, TrustStore, Verifier,
                        check_source_binding, sign_62325, sign_envelope, verify_62325)
from ..security import ns as wss_ns

@dataclass
class SecurityConfig:
    key: SigningKey | None = None  # the server's own key and certificate, for signing answers
    trust: TrustStore | None = None  # whom we believe: CA bundle or pinned certificates
    policy: Policy = field(default_factory=Policy)
    signed_interfaces: frozenset[str] = SIGNED_INTERFACES
    require_signing_everywhere: bool = False
    binding: dict | None = None  # certificate subject -> Sources it may claim; None: CN == Source
    mode_62325: frozenset[str] = frozenset()  # service names that use IEC 62325-504 signatures
    key_reference: str = "bst"
    algorithm: str | None = None  # default from the key type


@dataclass
class Verdict:
    """What the guard decided for one request."""

    signed: bool  # the request was signed and verified; the answer will be signed too
    message: etree._Element  # the 61968 message to process: from the signed parts when signed
    signer: str | None = None


class Guard:
    def __init__(self, config: SecurityConfig, replay_memory=None):
        self.config = config
        self.verifier = (Verifier(config.trust, config.policy, replay_memory)
                         if config.trust is not None else None)

    # ------------------------------------------------------------ inbound

    def inbound(self, service: Service, raw: bytes, unwrapped: soap.Unwrapped) -> Verdict:
        """Verify a request, or let an unsigned one through where that is allowed; raises SecurityFault."""
        if service.name in self.config.mode_62325:
            return self._inbound_62325(unwrapped)
        if _has_wsse(unwrapped):
            return self._inbound_wsse(raw, unwrapped)
        if self.requires_signing(service, unwrapped.message):
            raise SecurityFault(INVALID_SECURITY, (
                f"{self._interface_of(service, unwrapped.message)} requires a WS-Security signed request "
                "(X.509 token, wsu:Timestamp, RSA-SHA256 or ECDSA-SHA256 over soap:Body and the Timestamp); "
                "this one carries no wsse:Security header"))
        return Verdict(False, unwrapped.message)

    def _inbound_wsse(self, raw: bytes, unwrapped: soap.Unwrapped) -> Verdict:
        self._need_trust()
        verified = self.verifier.verify(raw)
        message = verified.message
        if message is None:
            raise SecurityFault(INVALID_SECURITY, "the signed Body does not hold exactly one message")
        user, organization = _user_of(verified.header)
        check_source_binding(verified, verified.source, user, organization, self.config.binding)
        return Verdict(True, message, verified.subject)

    def _inbound_62325(self, unwrapped: soap.Unwrapped) -> Verdict:
        self._need_trust()
        verified = verify_62325(unwrapped.message, self.config.trust, allow_sha1=self.config.policy.allow_sha1,
                                max_bytes=self.config.policy.max_bytes)
        header = next((c for c in verified.message if etree.QName(c).localname == "Header"), None)
        source = _child_text(header, "Source")
        user, organization = _user_of(header)
        check_source_binding(verified, source, user, organization, self.config.binding)
        return Verdict(True, verified.message, verified.subject)

    def _need_trust(self) -> None:
        if self.verifier is None:
            raise SecurityFault(INVALID_SECURITY, "this server has no trust anchors configured, so it cannot "
                                                  "verify signed messages (start it with --trust-ca or --pin)")

    def requires_signing(self, service: Service, message: etree._Element | None) -> bool:
        if self.config.require_signing_everywhere:
            return True
        return self._interface_of(service, message) in self.config.signed_interfaces

    @staticmethod
    def _interface_of(service: Service, message: etree._Element | None) -> str | None:
        if service.interface is not None:
            return service.interface
        noun = get_noun(_header_noun(message) or "")  # the generic service: the noun decides
        return noun.interface if noun else None

    # ------------------------------------------------------------ outbound

    def signer_for(self, service: Service, verdict: Verdict):
        """A function that signs an answer envelope, or None when the answer goes unsigned."""
        if not verdict.signed and not self.requires_signing(service, verdict.message):
            return None
        if self.config.key is None:
            return None  # checked at start-up for signed interfaces; see check_ready
        if service.name in self.config.mode_62325:
            return self._sign_62325_answer
        return self._sign_wsse

    def outbound_signer(self):
        """What signs messages this server sends on its own (events, asynchronous replies), or None."""
        return self._sign_wsse if self.config.key is not None else None

    def _sign_wsse(self, envelope: etree._Element) -> etree._Element:
        return sign_envelope(envelope, self.config.key, key_reference=self.config.key_reference,
                             algorithm=self.config.algorithm)

    def _sign_62325_answer(self, envelope: etree._Element) -> etree._Element:
        body = envelope.find(soap.BODY)
        message = body[0]
        body.replace(message, sign_62325(message, self.config.key, algorithm=self.config.algorithm))
        return envelope

    def check_ready(self) -> list[str]:
        """Problems that make the signed interfaces refuse everything, for the operator to see at start."""
        problems = []
        if self.config.trust is None:
            problems.append("no trust anchors (--trust-ca/--pin): signed requests cannot be verified")
        if self.config.key is None:
            problems.append("no server key (--server-key/--server-cert): answers cannot be signed")
        return problems


def _has_wsse(unwrapped: soap.Unwrapped) -> bool:
    return unwrapped.header is not None and unwrapped.header.find(f"{{{wss_ns.WSSE}}}Security") is not None


def _header_noun(message: etree._Element | None) -> str | None:
    if message is None:
        return None
    header = next((c for c in message if isinstance(c.tag, str) and etree.QName(c).localname == "Header"), None)
    return _child_text(header, "Noun")


def _child_text(parent, name: str) -> str | None:
    if parent is None:
        return None
    for child in parent:
        if isinstance(child.tag, str) and etree.QName(child).localname == name \
                and etree.QName(child).namespace in namespaces.MSG_ACCEPTED:
            return (child.text or "").strip()
    return None


def _user_of(header) -> tuple[str | None, str | None]:
    if header is None:
        return None, None
    user = next((c for c in header if isinstance(c.tag, str) and etree.QName(c).localname == "User"), None)
    return _child_text(user, "UserID"), _child_text(user, "Organization")


__all__ = ["SecurityConfig", "Guard", "Verdict", "SIGNED_INTERFACES", "SecurityFault"]
