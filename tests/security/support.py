"""Builders for the security tests: 61968 messages, envelopes, re-signing and an in-memory replay memory."""
from __future__ import annotations

import base64
import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import xmlsec
from lxml import etree

from soapbus import message as m
from soapbus.message import soap
from soapbus.security import SigningKey, ns, sign_envelope

PROFILE_NS = "http://iec.ch/TC57/2011/EndDeviceControls#"
DS = {"ds": ns.DS}
WSS = {"wsse": ns.WSSE, "wsu": ns.WSU, "ds": ns.DS, "soapenv": ns.SOAP11_ENV}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def message(source: str = "MDMS", nonce: str | None = None, command: str = "disconnect meter 42",
            with_nonce: bool = True) -> etree._Element:
    """A create EndDeviceControls RequestMessage, with a ReplayDetection Nonce unless `with_nonce` is False."""
    doc = etree.Element(f"{{{PROFILE_NS}}}EndDeviceControls", nsmap={"edc": PROFILE_NS})
    etree.SubElement(doc, f"{{{PROFILE_NS}}}command").text = command
    header = m.Header(verb="create", noun="EndDeviceControls", source=source, message_id=m.new_message_id(),
                      timestamp=m.now(),
                      replay_detection=m.ReplayDetection(nonce or uuid.uuid4().hex, m.now()) if with_nonce else None)
    return m.to_element(m.RequestMessage(header, payload=m.Payload(documents=[doc])))


def envelope(**kw) -> etree._Element:
    return soap.envelope(message(**kw))


def signed(key: SigningKey, *, sign_parts=("Body", "Timestamp", "Header"), source: str = "MDMS",
           nonce: str | None = None, command: str = "disconnect meter 42", with_nonce: bool = True,
           **kw) -> etree._Element:
    return sign_envelope(envelope(source=source, nonce=nonce, command=command, with_nonce=with_nonce), key,
                         sign_parts=sign_parts, **kw)


def wire(env: etree._Element) -> bytes:
    return soap.to_bytes(env)


def reparse(env: etree._Element) -> etree._Element:
    """A copy as a receiver parses it: no ID registrations left over from signing."""
    return etree.fromstring(etree.tostring(env))


def one(env: etree._Element, path: str) -> etree._Element:
    found = env.xpath(path, namespaces={**WSS, "m": m.namespaces.MSG, "edc": PROFILE_NS})
    assert len(found) == 1, f"{path} matched {len(found)}"
    return found[0]


def security(env):
    return one(env, "/soapenv:Envelope/soapenv:Header/wsse:Security")


def signature(env):
    return one(env, "/soapenv:Envelope/soapenv:Header/wsse:Security/ds:Signature")


def body(env):
    return one(env, "/soapenv:Envelope/soapenv:Body")


def command(env):
    return one(env, "//edc:command")


def resign(env: etree._Element, key: SigningKey, plain_ids=()) -> etree._Element:
    """Recompute every digest and the signature value over the envelope as it now stands.

    Attacks built with this carry a genuinely valid signature, so only the Verifier's
    structural checks can stop them. `plain_ids` are elements identified by an unqualified Id.
    """
    ctx = xmlsec.SignatureContext()
    ctx.key = key.key
    for element in plain_ids:
        ctx.register_id(element, "Id")
    for element in env.iter(etree.Element):
        if element.get(ns.WSU_ID):
            ctx.register_id(element, "Id", ns.WSU)
    ctx.sign(signature(env))
    return env


def downgrade_to_sha1(env: etree._Element, key: SigningKey) -> etree._Element:
    """Re-sign with RSA-SHA1 and SHA-1 digests, as a legacy or downgrading sender would."""
    sig = signature(env)
    sig.find(f".//{{{ns.DS}}}SignatureMethod").set("Algorithm", ns.RSA_SHA1)
    for method in sig.iter(f"{{{ns.DS}}}DigestMethod"):
        method.set("Algorithm", ns.SHA1)
    return resign(env, key)


def add_reference(env: etree._Element, uri: str, transforms=(xmlsec.Transform.EXCL_C14N,)) -> etree._Element:
    ref = xmlsec.template.add_reference(signature(env), xmlsec.Transform.SHA256, uri=uri)
    for transform in transforms:
        xmlsec.template.add_transform(ref, transform)
    return ref


def evil_body(env: etree._Element, command_text: str = "disconnect ALL meters") -> etree._Element:
    """An unsigned Body carrying a changed copy of the message."""
    fake = copy.deepcopy(body(env))
    for element in fake.iter(etree.Element):
        element.attrib.pop(ns.WSU_ID, None)
    fake.xpath("//edc:command", namespaces={"edc": PROFILE_NS})[0].text = command_text
    return fake


@dataclass
class MemoryReplay:
    """The ReplayMemory protocol in a dict, as the store implements it in its database."""
    seen: dict[tuple[str, str], datetime] = field(default_factory=dict)
    calls: list[tuple[str, str, datetime]] = field(default_factory=list)

    def remember_once(self, scope: str, key: str, expires_at: datetime) -> bool:
        self.calls.append((scope, key, expires_at))
        previous = self.seen.get((scope, key))
        if previous is not None and previous > utcnow():
            return False
        self.seen[(scope, key)] = expires_at
        return True


# ---------------------------------------------------------------- one signature, written anew

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def with_signature_value(data: bytes, rewrite) -> bytes:
    """The same message with its SignatureValue text rewritten by `rewrite` (the value is not signed content)."""
    root = etree.fromstring(data)
    value = root.find(f".//{{{ns.DS}}}SignatureValue")
    value.text = rewrite(value.text)
    return etree.tostring(root)


def ecdsa_negated_s(text: str) -> str:
    """(r, s) written as (r, n - s): a second value ECDSA verifies for the same signed octets."""
    raw = base64.b64decode("".join(text.split()))
    half = len(raw) // 2
    s = int.from_bytes(raw[half:], "big")
    return base64.b64encode(raw[:half] + (P256_ORDER - s).to_bytes(half, "big")).decode("ascii")


def base64_rewrapped(text: str) -> str:
    """The same octets in base64 as other stacks write it: lines of 76, indented, CR LF (any whitespace is allowed)."""
    flat = "".join(text.split())
    return "\r\n    " + "\r\n    ".join(flat[i:i + 76] for i in range(0, len(flat), 76)) + "\r\n"


_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def base64_spare_bits_set(text: str) -> str:
    """The same octets in base64 with the unused low bit of the last character set: decoders ignore it.

    A value whose length is not a multiple of 3 (RSA-2048's 256 octets, P-256's 64) ends in
    '=' or '==', and the character before carries 2 or 4 bits no octet needs.
    """
    flat = "".join(text.split())
    body = flat.rstrip("=")
    if len(body) == len(flat):
        raise ValueError("a value without padding has no spare bits")
    last = _BASE64[_BASE64.index(body[-1]) ^ 1]
    return body[:-1] + last + flat[len(body):]


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def xmlsec_alone_accepts(data: bytes, cert_pem: bytes) -> bool:
    """What a bare xmlsec check says: every wsu:Id registered, key from the given certificate.

    This is how many stacks (zeep among them) verify; an attack it accepts is stopped only by
    the Verifier's structural checks.
    """
    root = etree.fromstring(data)
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(cert_pem, xmlsec.KeyFormat.CERT_PEM, None)
    for element in root.iter(etree.Element):
        if element.get(ns.WSU_ID):
            ctx.register_id(element, "Id", ns.WSU)
    try:
        ctx.verify(root.find(".//ds:Signature", namespaces=DS))
    except xmlsec.Error:
        return False
    return True
