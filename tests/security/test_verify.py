"""Verifier behaviour beyond the attack table: what Verified holds, trust modes, policy knobs, replay."""
from datetime import timedelta

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.message import soap
from soapbus.security import (FAILED_AUTHENTICATION, INVALID_SECURITY, INVALID_SECURITY_TOKEN, MESSAGE_EXPIRED,
                              Policy, SecurityFault, TrustStore, Verifier, sign_envelope, ns)
from soapbus.security.timestamp import parse_utc

from .support import (MemoryReplay, body, command, downgrade_to_sha1, envelope, minutes, one, resign, security, signed,
                      utcnow, wire)


def refused(verifier, data, code) -> SecurityFault:
    with pytest.raises(SecurityFault) as caught:
        verifier.verify(data)
    assert caught.value.code == code, caught.value.reason
    return caught.value


# ---------------------------------------------------------------- what Verified holds


def test_verified_holds_only_the_signed_parts(keys, verifier):
    env = signed(keys.mdms, nonce="nonce-1")
    verified = verifier.verify(wire(env))
    assert verified.body.tag == f"{{{ns.SOAP11_ENV}}}Body" and verified.body.getparent() is None
    assert etree.QName(verified.message).localname == "RequestMessage"
    assert (verified.source, verified.nonce, verified.header_text("Verb")) == ("MDMS", "nonce-1", "create")
    assert verified.header.getroottree().getroot() is verified.body
    assert verified.subject == "CN=MDMS,O=soapbus test PKI"
    assert verified.subject_names == ("MDMS", "urn:soapbus:source:MDMS")
    assert verified.found_by == "BinarySecurityToken"
    stamp = one(env, "//wsu:Timestamp")
    assert (verified.created, verified.expires) == tuple(parse_utc(c.text, "t") for c in stamp)


def test_the_verified_body_is_a_copy_not_the_callers_tree(keys, verifier):
    env = signed(keys.mdms)
    verified = verifier.verify(env)
    command(env).text = "changed after verification"
    assert verified.body.xpath("string(.//*[local-name()='command'])") == "disconnect meter 42"
    assert body(env) is not verified.body


def test_element_and_bytes_input_agree(keys, trust):
    env = signed(keys.mdms)
    as_element = Verifier(trust).verify(env)
    as_bytes = Verifier(trust).verify(wire(env))
    assert etree.tostring(as_element.body) == etree.tostring(as_bytes.body)


def test_the_verified_body_is_canonical(keys, verifier):
    env = signed(keys.mdms)
    verified = verifier.verify(wire(env))
    assert etree.tostring(verified.body, method="c14n", exclusive=True) == etree.tostring(verified.body)


def test_generic_wrapper_message_is_unwrapped(keys, trust):
    operation = etree.Element(f"{{{m.namespaces.ABSTRACT}}}Request")
    inner = etree.SubElement(operation, f"{{{m.namespaces.ABSTRACT}}}message")
    inner.extend(list(envelope()[0][0]))
    verified = Verifier(trust).verify(sign_envelope(soap.envelope(operation), keys.mdms))
    assert etree.QName(verified.message).localname == "message" and verified.source == "MDMS"


# ---------------------------------------------------------------- key references and trust


@pytest.mark.parametrize("reference, found_by", [("issuer_serial", "X509IssuerSerial"),
                                                 ("ski", "SubjectKeyIdentifier")])
def test_certificates_named_by_reference_come_from_the_trust_store(reference, found_by, keys, trust, test_pki):
    env = signed(keys.mdms, key_reference=reference)
    assert Verifier(trust).verify(env).found_by == found_by
    anchors_only = TrustStore.from_ca_bundle(test_pki.ca.cert)
    refused(Verifier(anchors_only), env, INVALID_SECURITY_TOKEN)


def test_pinned_certificates(keys, test_pki):
    pinned = Verifier(TrustStore.pinned([test_pki.mdms.cert]))
    assert pinned.verify(signed(keys.mdms)).source == "MDMS"
    reason = refused(pinned, signed(keys.oms, source="OMS"), FAILED_AUTHENTICATION).reason
    assert "pinned" in reason
    refused(Verifier(TrustStore.pinned([test_pki.expired.cert])), signed(keys.expired), FAILED_AUTHENTICATION)


def test_a_trust_store_needs_anchors_or_pins():
    with pytest.raises(ValueError):
        TrustStore()


def test_a_signature_without_key_info_names_no_signer(keys, verifier):
    env = signed(keys.mdms)
    key_info = one(env, "//ds:Signature/ds:KeyInfo")
    key_info.getparent().remove(key_info)
    refused(verifier, env, INVALID_SECURITY_TOKEN)


# ---------------------------------------------------------------- policy knobs


def test_ttl_is_configurable(keys, trust):
    env = signed(keys.mdms, now=utcnow() - timedelta(seconds=60))
    assert Verifier(trust).verify(env)
    refused(Verifier(trust, Policy(ttl=30)), env, MESSAGE_EXPIRED)


def test_future_skew_is_configurable(keys, trust):
    env = signed(keys.mdms, now=utcnow() + timedelta(seconds=30))
    assert Verifier(trust).verify(env)
    refused(Verifier(trust, Policy(future_skew=5)), env, MESSAGE_EXPIRED)


def test_verification_time_can_be_given(keys, trust):
    env = signed(keys.mdms)
    with pytest.raises(SecurityFault) as caught:
        Verifier(trust).verify(env, now=utcnow() + minutes(6))
    assert caught.value.code == MESSAGE_EXPIRED


def test_require_signed_61968_header(keys, trust):
    fault_message = m.to_element(m.FaultMessage(m.Reply("FAILED", [m.Error(code="1.8")])))
    env = sign_envelope(soap.envelope(fault_message), keys.mdms)
    assert Verifier(trust).verify(env).header is None
    reason = refused(Verifier(trust, Policy(require_signed_61968_header=True)), env, INVALID_SECURITY).reason
    assert "61968 Header" in reason


def test_policy_rejects_a_nonce_memory_shorter_than_a_day():
    with pytest.raises(ValueError, match="86400"):
        Policy(nonce_ttl=3600)


def test_actor(keys, trust):
    env = sign_envelope(envelope(), keys.mdms, actor="urn:gateway")
    assert Verifier(trust, Policy(actor="urn:gateway")).verify(env)
    refused(Verifier(trust), env, INVALID_SECURITY)  # nothing for the ultimate receiver
    security(env).set(ns.ACTOR, ns.ACTOR_NEXT)  # "next" is addressed to every receiver
    assert Verifier(trust).verify(env) and Verifier(trust, Policy(actor="urn:other")).verify(env)


def test_max_bytes(keys, trust):
    env = signed(keys.mdms)
    reason = refused(Verifier(trust, Policy(max_bytes=len(wire(env)) // 2)), env, INVALID_SECURITY).reason
    assert "at most" in reason


def test_sha1_is_accepted_only_when_allowed(keys, trust):
    data = wire(downgrade_to_sha1(signed(keys.mdms), keys.mdms))
    refused(Verifier(trust), data, INVALID_SECURITY)
    assert Verifier(trust, Policy(allow_sha1=True)).verify(data).source == "MDMS"


# ---------------------------------------------------------------- replay memory


def test_replay_memory_scopes_and_lifetimes(keys, trust):
    memory = MemoryReplay()
    verified = Verifier(trust, replay=memory).verify(signed(keys.mdms, nonce="n-42"))
    (sig_scope, sig_key, sig_until), (nonce_scope, nonce_key, nonce_until) = memory.calls
    assert (sig_scope, sig_key) == ("signedinfo-sha256", verified.signed_info_digest)
    assert sig_until == verified.created + timedelta(seconds=300 + 60)
    assert (nonce_scope, nonce_key) == ("nonce:MDMS", "n-42")
    assert nonce_until - utcnow() >= timedelta(days=1) - timedelta(seconds=5)


def test_the_same_nonce_from_another_source_is_not_a_replay(keys, trust):
    verifier = Verifier(trust, replay=MemoryReplay())
    verifier.verify(signed(keys.mdms, nonce="shared"))
    assert verifier.verify(signed(keys.oms, source="OMS", nonce="shared")).source == "OMS"


def test_a_refused_message_is_not_remembered(keys, trust):
    memory = MemoryReplay()
    env = signed(keys.mdms)
    command(env).text = "tampered"
    refused(Verifier(trust, replay=memory), env, "wsse:FailedCheck")
    assert memory.calls == []


def test_without_replay_memory_a_message_verifies_twice(keys, trust):
    data = wire(signed(keys.mdms))
    verifier = Verifier(trust)
    assert verifier.verify(data) and verifier.verify(data)


# ---------------------------------------------------------------- faults


def test_faults_render_as_soap_faults_with_resolvable_codes(keys, verifier):
    env = signed(keys.mdms, now=utcnow() - minutes(10))
    fault = refused(verifier, env, MESSAGE_EXPIRED)
    rendered = fault.fault_envelope()
    code = rendered.find(f".//{{{ns.SOAP11_ENV}}}Fault/faultcode")
    prefix, local = code.text.split(":")
    assert etree.QName(code.nsmap[prefix], local) == fault.qname == etree.QName(ns.WSU, "MessageExpired")
    assert soap.read_fault(rendered).reason == fault.reason


def test_only_ws_security_fault_codes_exist():
    with pytest.raises(ValueError):
        SecurityFault("soapenv:Client", "not a WS-Security code")


@pytest.mark.parametrize("mutate, code", [
    (lambda env: env.remove(env[0]), INVALID_SECURITY),
    (lambda env: env[0].remove(security(env)), INVALID_SECURITY),
    (lambda env: setattr(one(env, "//wsu:Created"), "text", "2030-01-01T00:00:00"), INVALID_SECURITY),
], ids=["no-soap-header", "no-security-header", "created-without-zone"])
def test_structural_refusals(mutate, code, keys, verifier):
    env = signed(keys.mdms)
    mutate(env)
    refused(verifier, env, code)


def test_fractions_of_any_length_are_read():
    assert parse_utc("2026-01-01T00:00:00.1234567Z", "t").microsecond == 123456
    assert parse_utc("2026-01-01T01:00:00+01:00", "t") == parse_utc("2026-01-01T00:00:00Z", "t")


def _body_reference(env):
    return one(env, f"//ds:Reference[@URI='#{body(env).get(ns.WSU_ID)}']")


def test_a_plain_id_attribute_is_resolved_too(keys, verifier):
    """Some stacks put an unqualified Id on the Body; xmlsec is told about exactly that attribute."""
    env = signed(keys.mdms)
    reference = _body_reference(env)
    body(env).set("Id", "plain-body")
    del body(env).attrib[ns.WSU_ID]
    reference.set("URI", "#plain-body")
    resign(env, keys.mdms, plain_ids=[body(env)])
    assert verifier.verify(wire(env)).source == "MDMS"


def test_a_reference_must_end_with_exclusive_c14n(keys, verifier):
    env = signed(keys.mdms)
    transforms = _body_reference(env).find(f"{{{ns.DS}}}Transforms")
    transforms.getparent().remove(transforms)
    assert "exclusive C14N" in refused(verifier, resign(env, keys.mdms), INVALID_SECURITY).reason


def test_a_naive_verification_time_is_a_programming_error(keys, verifier):
    with pytest.raises(ValueError):
        verifier.verify(signed(keys.mdms), now=utcnow().replace(tzinfo=None))


def test_a_reference_into_the_signature_is_refused(keys, verifier):
    from .support import add_reference, signature

    env = signed(keys.mdms)
    key_info = signature(env).find(f"{{{ns.DS}}}KeyInfo")
    key_info.set(ns.WSU_ID, "ki-1")
    add_reference(env, "#ki-1")
    resign(env, keys.mdms)
    assert refused(verifier, wire(env), INVALID_SECURITY).reason == "Reference #ki-1 points inside the ds:Signature"
