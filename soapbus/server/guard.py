"""Message security at the server's edge: verify what comes in, sign what goes out.

The rules: I1 and I9 (the transactional interfaces) require WS-Security signing both ways;
every other interface accepts a signed or an unsigned request (or requires signing, by
configuration). What passes verification is replaced by what the signature covers: the
pipeline reads the signed Body re-parsed by the verifier, never the tree that arrived, and
every decision here is taken from the one parsed message the pipeline processes. The
answer to a signed request is signed with the server's key. Endpoints in IEC 62325-504 mode
carry an enveloped signature inside the 61968 Header instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from ..message import Message, soap
from ..profiles import SIGNED_INTERFACES, Service
from ..profiles import get as get_noun
from ..security import (INVALID_SECURITY, PendingMemories, Policy, SecurityFault, SigningKey, TrustStore, Verifier,
                        check_source_binding, sign_62325, sign_envelope, verify_62325)
from ..security import ns as wss_ns
from .tls import PeerCertificate

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
    # A client certificate verified by the TLS handshake (mutual TLS) is bound to Header/Source by the
    # rules above, as a signer is; False: it is only journaled (a gateway's or load balancer's certificate).
    bind_tls_clients: bool = True


@dataclass
class Verdict:
    """What the signature check found for one request, before its 61968 message is read."""

    signed: bool  # the request was signed and verified; the answer will be signed too
    message: etree._Element  # the 61968 message element to read: from the signed parts when signed
    signer: str | None = None
    verified: object | None = None  # Verified or Verified62325: the accepted certificate, for the binding
    # What the replay memory must learn of this request (its signature, its Nonce): written by the
    # pipeline in the request's own transaction, which a repeat rolls back (server/pipeline.py)
    replay: PendingMemories | None = None


class Guard:
    """Two steps around the one reading of the message (see server/wsgi.py):

    `verify` checks a signature where there is one and says which element to read; nothing in
    it looks at what the message says. `authorize` then takes its decisions (signing required
    for this interface, Source bound to the signer) from the parsed message, the same object
    the pipeline goes on to process, so no decision can be taken from another reading.
    """

    def __init__(self, config: SecurityConfig, replay_memory=None):
        self.config = config
        # The Nonce is read from the parsed message in `authorize`, not by the verifier.
        self.verifier = (Verifier(config.trust, config.policy, replay_memory, nonces_from_message=False)
                         if config.trust is not None else None)

    # ------------------------------------------------------------ inbound

    def verify(self, service: Service, raw: bytes, unwrapped: soap.Unwrapped, redelivery: bool = False) -> Verdict:
        """Verify a signed request; an unsigned one passes here (see authorize). Raises SecurityFault.

        redelivery: the same message delivered again by a message broker that never had its first
        delivery acknowledged (AMQP `redelivered`, or the node retrying the delivery it holds). The
        replay memories (the signature's, the Nonce's) are written in the request's own transaction
        (Verdict.replay); a first delivery whose transaction committed wrote them, so a second finds
        them: that is no replay here, and the (Source, MessageID) claim answers it with the stored
        answer; one whose transaction died wrote nothing, and the second delivery writes them."""
        if service.name in self.config.mode_62325:
            return self._verify_62325(unwrapped)
        if _has_wsse(unwrapped):
            return self._verify_wsse(raw, redelivery)
        return Verdict(False, unwrapped.message)

    def authorize(self, service: Service, verdict: Verdict, msg: Message,
                  tls_client: PeerCertificate | None = None, redelivery: bool = False) -> None:
        """Refuse an unsigned message where signing is required (a TLS client certificate does not
        stand in for a signature there), or a signer or TLS client certificate (`tls_client`, a
        server.tls.PeerCertificate) claiming a Source it is not bound to."""
        header = getattr(msg, "header", None)
        if not verdict.signed and self.requires_signing(service, msg):
            raise SecurityFault(INVALID_SECURITY, (
                f"{self.interface_of(service, msg)} requires a WS-Security signed request "
                "(X.509 token, wsu:Timestamp, RSA-SHA256 or ECDSA-SHA256 over soap:Body and the Timestamp); "
                "this one carries no wsse:Security header" + (" (mutual TLS does not replace the signature)"
                                                              if tls_client is not None else "")))
        if tls_client is not None and self.config.bind_tls_clients:
            self._bind(tls_client, header, via_tls=True)
        if not verdict.signed:
            return
        self._bind(verdict.verified, header)
        replay = header.replay_detection if header is not None else None
        if replay is None or self.verifier is None:
            return
        try:  # into the request's pending memories (written in its transaction), where it has them
            self.verifier.remember_nonce(header.source, replay.nonce, replay=verdict.replay)
        except SecurityFault:
            if not redelivery:  # a broker's second delivery: its first may have remembered the Nonce (see verify)
                raise

    def _bind(self, certified, header, via_tls: bool = False) -> None:
        """certified: a verified signer (Verified, Verified62325) or a TLS client's PeerCertificate."""
        user = header.user if header is not None else None
        check_source_binding(certified, header.source if header is not None else None,
                             user.user_id if user else None, user.organization if user else None,
                             self.config.binding, via_tls=via_tls)

    def _verify_wsse(self, raw: bytes, redelivery: bool = False) -> Verdict:
        self._need_trust()
        pending = PendingMemories(first_delivery=not redelivery)
        verified = self.verifier.verify(raw, replay=pending)
        message = verified.message
        if message is None:
            raise SecurityFault(INVALID_SECURITY, "the signed Body does not hold exactly one message")
        return Verdict(True, message, verified.subject, verified, pending)

    def _verify_62325(self, unwrapped: soap.Unwrapped) -> Verdict:
        self._need_trust()
        verified = verify_62325(unwrapped.message, self.config.trust, allow_sha1=self.config.policy.allow_sha1,
                                max_bytes=self.config.policy.max_bytes)
        return Verdict(True, verified.message, verified.subject, verified)

    def _need_trust(self) -> None:
        if self.verifier is None:
            raise SecurityFault(INVALID_SECURITY, "this server has no trust anchors configured, so it cannot "
                                                  "verify signed messages (start it with --trust-ca or --pin)")

    def requires_signing(self, service: Service, msg: Message | None) -> bool:
        if self.config.require_signing_everywhere:
            return True
        return self.interface_of(service, msg) in self.config.signed_interfaces

    @staticmethod
    def interface_of(service: Service, msg: Message | None) -> str | None:
        """The typed service's interface; on the generic service, the parsed Header/Noun's."""
        if service.interface is not None:
            return service.interface
        header = getattr(msg, "header", None)
        noun = get_noun(header.noun) if header is not None else None
        return noun.interface if noun else None

    # ------------------------------------------------------------ outbound

    def signer_for(self, service: Service, verdict: Verdict, msg: Message | None):
        """A function that signs an answer envelope, or None when the answer goes unsigned."""
        if not verdict.signed and not self.requires_signing(service, msg):
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


__all__ = ["SecurityConfig", "Guard", "Verdict", "SIGNED_INTERFACES", "SecurityFault"]
