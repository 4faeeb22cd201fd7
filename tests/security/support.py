"""Builders for the security tests: 61968 messages, envelopes, re-signing and an in-memory replay memory."""
from __future__ import annotations

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


def message(source: str = "MDMS", nonce: str | None = None, command: str = "disconnect meter 42") -> etree._Element:
    """A create EndDeviceControls RequestMessage, with a ReplayDetection Nonce."""
    doc = etree.Element(f"{{{PROFILE_NS}}}EndDeviceControls", nsmap={"edc": PROFILE_NS})
    etree.SubElement(doc, f"{{{PROFILE_NS}}}command").text = command
    header = m.Header(verb="create", noun="EndDeviceControls", source=source, message_id=m.new_message_id(),
                      timestamp=m.now(),
                      replay_detection=m.ReplayDetection(nonce or uuid.uuid4().hex, m.now()))
    return m.to_element(m.RequestMessage(header, payload=m.Payload(documents=[doc])))


def envelope(**kw) -> etree._Element:
    return soap.envelope(message(**kw))


def signed(key: SigningKey, *, sign_parts=("Body", "Timestamp", "Header"), source: str = "MDMS",
           nonce: str | None = None, command: str = "disconnect meter 42", **kw) -> etree._Element:
    return sign_envelope(envelope(source=source, nonce=nonce, command=command), key, sign_parts=sign_parts, **kw)


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
