"""Verifier: accept a signed SOAP envelope and return only what its signature covers.

The caller processes `Verified.body` — a fresh tree parsed from the exact canonical bytes
that were digested — never the envelope it handed in: whatever else that envelope holds
(headers, a second Body, moved copies) is unsigned and must not be read.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import x509
from lxml import etree

from soapbus.message import soap
from soapbus.message.xml import parse_bytes

from . import crypto, faults, ids, ns, signedinfo, timestamp, tokens, wire
from .identity import of_verified
from .parts import Parts, locate, message_header
from .policy import Policy
from .replay import SIGNED_INFO_SCOPE, ReplayMemory, nonce_replayed, nonce_scope, signature_replayed
from .faults import SecurityFault
from .trust import TrustStore

Resolved = list[tuple[signedinfo.Reference, ids.Target]]


_RULES = {sha1: signedinfo.Rules(frozenset({ns.EXC_C14N}), frozenset({ns.EXC_C14N, ns.ENVELOPED}), sha1)
          for sha1 in (False, True)}


def _wss_rules(allow_sha1: bool) -> signedinfo.Rules:
    return _RULES[bool(allow_sha1)]


@dataclass(frozen=True)
class Verified:
    body: etree._Element  # the signed soap:Body, re-parsed from its canonical form
    created: datetime
    expires: datetime
    certificate: x509.Certificate
    subject: str  # RFC 4514 subject of the signer
    subject_names: tuple[str, ...]  # CN, SAN URIs and DNS names
    signature_value: str
    found_by: str  # how ds:KeyInfo named the certificate
    header: etree._Element | None  # the 61968 Header inside `body`, where the message has one
    # SHA-256 (base64) of the canonical ds:SignedInfo the signature value was checked over: what
    # identifies this signature, however its value is written (the replay memory's key).
    signed_info_digest: str = ""

    @property
    def message(self) -> etree._Element | None:
        """The 61968 message inside the signed Body, generic wrappers removed."""
        entries = list(self.body.iterchildren(etree.Element))
        return soap.unwrap_generic(entries[0]) if len(entries) == 1 else None

    def header_text(self, name: str) -> str | None:
        """A direct child of the signed 61968 Header, by local name (Source, MessageID ...)."""
        if self.header is None:
            return None
        for child in self.header.iterchildren(etree.Element):
            if etree.QName(child).localname == name:
                return (child.text or "").strip()
        return None

    @property
    def source(self) -> str | None:
        return self.header_text("Source")

    @property
    def nonce(self) -> str | None:
        if self.header is None:
            return None
        for child in self.header.iterchildren(etree.Element):
            if etree.QName(child).localname == "ReplayDetection":
                for part in child.iterchildren(etree.Element):
                    if etree.QName(part).localname == "Nonce":
                        return (part.text or "").strip()
        return None


class Verifier:
    """Verifies WS-Security signed envelopes; remembers what it accepted in `replay`, if given.

    `nonces_from_message=False` leaves the 61968 ReplayDetection Nonce to the caller, who reads
    it from its own parsed message and hands it to `remember_nonce` (the server does: every
    decision there comes from its one reading of the message, never from the verifier's).
    """

    def __init__(self, trust: TrustStore, policy: Policy | None = None, replay: ReplayMemory | None = None,
                 nonces_from_message: bool = True):
        self.trust = trust
        self.policy = policy or Policy()
        self.replay = replay
        self.nonces_from_message = nonces_from_message

    def verify(self, envelope: bytes | etree._Element, now: datetime | None = None,
               replay: ReplayMemory | None = None) -> Verified:
        """Verify a signed SOAP 1.1 envelope (bytes as received, or a parsed element). `replay`, when
        given, is the memory for this call instead of the Verifier's own (a PendingMemories, so that
        the caller writes them in its own transaction)."""
        now = _aware(now)
        root = self._load(envelope)
        parts = locate(root, self.policy.actor)
        stamp = timestamp.read(parts.timestamp)
        timestamp.check_fresh(stamp, now, self.policy)
        info = signedinfo.read(parts.signature, _wss_rules(self.policy.allow_sha1))
        _check_transforms(info)
        index = ids.IdIndex(root)
        resolved = _resolve(info, index, parts)
        targets = [target for _, target in resolved]
        _check_coverage(targets, parts, self.policy)
        _refuse_comments(targets)
        token = tokens.resolve(parts.signature, self.trust, index=index, security=parts.security)
        self.trust.validate(token.certificate, now, der=token.der)
        octets, signed_info = _check_signature(parts.signature, info, resolved, token.certificate)
        tokens.remember(token)  # the signature verified with a certificate the TrustStore accepted
        verified = _result(parts, resolved, octets, info, stamp, token, signed_info)
        self._remember(verified, stamp, now, replay if replay is not None else self.replay)
        return verified

    def _load(self, envelope: bytes | etree._Element) -> etree._Element:
        # An element is serialised and parsed again: what is checked is then exactly what a
        # wire copy would hold, with no in-memory state (ID tables, entity nodes) left over.
        data = envelope if isinstance(envelope, bytes) else etree.tostring(envelope)
        return wire.load(data, self.policy.max_bytes, "SOAP envelope")

    def _remember(self, verified: Verified, stamp: timestamp.Stamp, now: datetime,
                  memory: ReplayMemory | None) -> None:
        if memory is None:
            return
        # Remembered only after the signature verified: unverified input must not fill the memory.
        memories = [(SIGNED_INFO_SCOPE, verified.signed_info_digest,
                     timestamp.deadline(stamp, self.policy) + timedelta(seconds=self.policy.future_skew))]
        nonce, source = (verified.nonce, verified.source or "") if self.nonces_from_message else (None, "")
        if nonce:
            memories.append(self._nonce_memory(source, nonce, now))
        first_time = _remember_all(memory, memories)
        if not first_time[0]:
            raise signature_replayed()
        if nonce and not first_time[1]:
            raise nonce_replayed(source, nonce)

    def remember_nonce(self, source: str | None, nonce: str, now: datetime | None = None,
                       replay: ReplayMemory | None = None) -> None:
        """Refuse (InvalidSecurity) a ReplayDetection Nonce this Source used before; remember it
        (in `replay` when given, else in the Verifier's own memory)."""
        memory = replay if replay is not None else self.replay
        if memory is None:
            return
        if not _remember_all(memory, [self._nonce_memory(source or "", nonce, _aware(now))])[0]:
            raise nonce_replayed(source or "", nonce)

    def _nonce_memory(self, source: str, nonce: str, now: datetime) -> tuple[str, str, datetime]:
        return nonce_scope(source), nonce, now + timedelta(seconds=self.policy.nonce_ttl)


def _remember_all(replay, memories) -> list[bool]:
    """Each memory's remember_once result; in one go (one transaction) where the memory offers it."""
    if hasattr(replay, "remember_each"):
        return list(replay.remember_each(memories))
    return [replay.remember_once(scope, key, until) for scope, key, until in memories]


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone (timestamps on the wire do)")
    return now


def _check_transforms(info: signedinfo.SignedInfo) -> None:
    # Without a final exclusive C14N, a same-document reference is canonicalised inclusively,
    # which drags the Envelope's namespace context into the digest: not what WSS signers send.
    for ref in info.references:
        if not ref.transforms or ref.transforms[-1] != ns.EXC_C14N:
            raise faults.invalid(f"Reference {ref.uri} must end with the exclusive C14N transform")


def _resolve(info: signedinfo.SignedInfo, index: ids.IdIndex, parts: Parts) -> Resolved:
    signature = parts.signature
    ancestors = {id(a) for a in signature.iterancestors()} | {id(signature)}
    resolved = []
    for ref in info.references:
        target = index.resolve(ids.fragment(ref.uri))
        if id(target.element) in ancestors:
            raise faults.invalid(f"Reference {ref.uri} points at {target.element.tag}, which contains the signature "
                                 "itself; sign the Body and Timestamp by their own Ids")
        if any(a is signature for a in target.element.iterancestors()):
            raise faults.invalid(f"Reference {ref.uri} points inside the ds:Signature")
        resolved.append((ref, target))
    return resolved


def _covered(element: etree._Element, signed: set[int]) -> bool:
    return id(element) in signed or any(id(e) in signed for e in element.iterancestors())


def _check_coverage(targets: list[ids.Target], parts: Parts, policy: Policy) -> None:
    signed = {id(t.element) for t in targets}
    if not _covered(parts.body, signed):
        raise faults.invalid("the signature does not cover the soap:Body of this Envelope (a signed Body elsewhere "
                             "in the message does not count)")
    if not _covered(parts.timestamp, signed):
        raise faults.invalid("the signature does not cover the wsu:Timestamp of the wsse:Security header")
    if policy.require_signed_61968_header:
        header = message_header(parts.body)
        if header is None or not _covered(header, signed):
            raise faults.invalid("a signed 61968 Header is required, and the signed Body carries no message "
                                 "with exactly one Header")


def _refuse_comments(targets: list[ids.Target]) -> None:
    # Canonicalisation drops comments, so `MD<!---->MS` digests as "MDMS" while naive code
    # reads "MD". A signed part has no business carrying comments or processing instructions.
    for target in targets:
        for node in target.element.iter(etree.Comment, etree.ProcessingInstruction):
            kind = "comment" if isinstance(node, etree._Comment) else "processing instruction"
            raise faults.invalid(f"a signed part ({target.element.tag}) holds a {kind}; the signature does not "
                                 "cover those, so signed parts must not carry them")


def _check_signature(signature: etree._Element, info: signedinfo.SignedInfo, resolved: Resolved,
                     cert: x509.Certificate) -> tuple[list[bytes] | None, bytes]:
    """Check every digest and the signature value; return the octets each reference digested
    and the canonical ds:SignedInfo.

    The octets are computed here (crypto.reference_octets) for every shape WS-Security stacks
    send; a reference with another transform chain, or a CanonicalizationMethod with other
    parameters, has the whole signature checked by xmlsec instead, as before (None returned
    for the references). ds:SignedInfo is then canonicalised here all the same, with the
    PrefixList where there is one: the replay memory's key needs it.
    """
    octets = None
    if info.c14n_prefixes is not None:
        try:
            octets = [crypto.reference_octets(target.element, ref) for ref, target in resolved]
        except crypto.Unchecked:
            raise faults.failed_check(crypto.FAILED) from None
    if octets is None or None in octets:
        crypto.verify_with_xmlsec(signature, info, [target for _, target in resolved], cert)
        return None, crypto.signed_info_octets(signature, info)
    return octets, crypto.check(signature, info, octets, cert)


def _result(parts: Parts, resolved: Resolved, octets: list[bytes] | None, info: signedinfo.SignedInfo,
            stamp: timestamp.Stamp, token: tokens.Token, signed_info: bytes) -> Verified:
    # Coverage has proven the Body itself is referenced (its only ancestor is the Envelope).
    index, body_ref = next((i, ref) for i, (ref, target) in enumerate(resolved) if target.element is parts.body)
    if octets is not None:
        canonical = octets[index]  # exactly the bytes whose digest was just checked
    else:
        try:
            canonical = crypto.canonical(parts.body, ns.EXC_C14N, body_ref.inclusive_prefixes, comments=False)
        except crypto.Unchecked:
            raise faults.failed_check(crypto.FAILED) from None
    body = parse_bytes(canonical, "signed soap:Body")
    cert = token.certificate
    names = of_verified(cert)  # the signature verified with a certificate the TrustStore accepted
    return Verified(body=body, created=stamp.created, expires=stamp.expires, certificate=cert,
                    subject=names.subject, subject_names=names.subject_names,
                    signature_value=info.signature_value, found_by=token.found_by, header=message_header(body),
                    signed_info_digest=base64.b64encode(hashlib.sha256(signed_info).digest()).decode("ascii"))

