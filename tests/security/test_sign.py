"""What sign_envelope writes: the header layout, references, key references and options."""
from datetime import timedelta

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.message import soap
from soapbus.security import Verifier, ns, sign_envelope
from soapbus.security.timestamp import parse_utc

from .support import body, envelope, one, security, signature, utcnow, wire

DS = f"{{{ns.DS}}}"


def _uris(env) -> list[str]:
    return [r.get("URI") for r in signature(env).iter(DS + "Reference")]


def test_security_header_layout(keys):
    env = sign_envelope(envelope(), keys.mdms)
    sec = security(env)
    assert sec.get(ns.MUST_UNDERSTAND) == "1"
    assert [etree.QName(c).localname for c in sec] == ["Timestamp", "BinarySecurityToken", "Signature"]
    stamp = one(env, "//wsse:Security/wsu:Timestamp")
    created, expires = (parse_utc(c.text, "t") for c in stamp)
    assert expires - created == timedelta(seconds=300)
    assert abs(created - utcnow()) < timedelta(seconds=30)
    assert _uris(env) == ["#" + body(env).get(ns.WSU_ID), "#" + stamp.get(ns.WSU_ID)]
    info = signature(env).find(DS + "SignedInfo")
    assert info.find(DS + "CanonicalizationMethod").get("Algorithm") == ns.EXC_C14N
    assert info.find(DS + "SignatureMethod").get("Algorithm") == ns.RSA_SHA256
    assert {d.get("Algorithm") for d in info.iter(DS + "DigestMethod")} == {ns.SHA256}
    assert {t.get("Algorithm") for t in info.iter(DS + "Transform")} == {ns.EXC_C14N}


def test_body_gets_a_wsu_prefix_not_an_invented_one(keys):
    env = sign_envelope(envelope(), keys.mdms, sign_parts=("Body", "Timestamp", "Header"))
    assert b"ns0:" not in wire(env)
    assert body(env).nsmap["wsu"] == ns.WSU and one(env, "//m:Header").nsmap["wsu"] == ns.WSU


def test_ecdsa_and_ttl(keys, trust):
    env = sign_envelope(envelope(source="SCADA"), keys.ecdsa, ttl=60)
    assert signature(env).find(f".//{DS}SignatureMethod").get("Algorithm") == ns.ECDSA_SHA256
    verified = Verifier(trust).verify(env)
    assert verified.expires - verified.created == timedelta(seconds=60)


def test_the_61968_header_and_extra_parts_get_their_own_references(keys, trust):
    env = envelope()
    extra = etree.SubElement(soap_header(env), "{urn:x}Routing")
    extra.text = "to OMS"
    sign_envelope(env, keys.mdms, sign_parts=("Body", "Timestamp", "Header"), extra_parts=[extra])
    header = one(env, "//m:RequestMessage/m:Header")
    assert _uris(env)[2:] == ["#" + header.get(ns.WSU_ID), "#" + extra.get(ns.WSU_ID)]
    assert Verifier(trust).verify(env).header is not None


def soap_header(env):
    header = env.find(f"{{{ns.SOAP11_ENV}}}Header")
    if header is None:
        header = etree.Element(f"{{{ns.SOAP11_ENV}}}Header")
        env.insert(0, header)
    return header


@pytest.mark.parametrize("reference, child", [
    ("bst", "Reference"), ("issuer_serial", "X509Data"), ("ski", "KeyIdentifier")])
def test_key_references(reference, child, keys):
    env = sign_envelope(envelope(), keys.mdms, key_reference=reference)
    token_ref = one(env, "//ds:KeyInfo/wsse:SecurityTokenReference")
    assert etree.QName(token_ref[0]).localname == child
    has_token = env.xpath("count(//wsse:BinarySecurityToken)", namespaces={"wsse": ns.WSSE}) == 1
    assert has_token == (reference == "bst")


def test_qname_prefixes_in_signed_text_stay_under_the_signature(keys, trust):
    """Error/xpath is a QName whose prefix no element uses: InclusiveNamespaces keeps it signed."""
    err = m.Error(code="1.8", xpath="x:Payload", xpath_ns={"x": "urn:the-x-namespace"})
    reply = m.ResponseMessage(m.Header(verb="reply", noun="EndDeviceControls", source="MDMS"), m.Reply("FAILED", [err]))
    env = sign_envelope(soap.envelope(m.to_element(reply)), keys.mdms)
    listed = env.xpath("//ds:Reference[1]/ds:Transforms/ds:Transform/ec:InclusiveNamespaces/@PrefixList",
                       namespaces={"ds": ns.DS, "ec": ns.EXC_C14N_NS})
    assert listed == ["x"]
    verified = Verifier(trust).verify(wire(env))
    xpath = verified.body.xpath("//*[local-name()='xpath']")[0]
    assert xpath.nsmap.get("x") == "urn:the-x-namespace"


@pytest.mark.parametrize("kwargs, problem", [
    ({"sign_parts": ("Body", "Payload")}, "sign_parts"),
    ({"key_reference": "thumbprint"}, "key_reference"),
    ({"algorithm": "ecdsa-sha256"}, "cannot make"),
    ({"algorithm": "rsa-sha1"}, "algorithm must be"),
    ({"sign_parts": (), "extra_parts": ()}, "nothing to sign"),
])
def test_bad_arguments(kwargs, problem, keys):
    with pytest.raises(ValueError, match=problem):
        sign_envelope(envelope(), keys.mdms, **kwargs)


def test_refuses_what_is_not_an_envelope_or_already_signed(keys):
    with pytest.raises(ValueError, match="SOAP 1.1 Envelope"):
        sign_envelope(etree.Element("{urn:x}NotAnEnvelope"), keys.mdms)
    env = sign_envelope(envelope(), keys.mdms)
    with pytest.raises(ValueError, match="already carries"):
        sign_envelope(env, keys.mdms)
    other = envelope()
    with pytest.raises(ValueError, match="not inside this envelope"):
        sign_envelope(envelope(), keys.mdms, extra_parts=[body(other)])


def test_an_actor_header_sits_beside_another(keys, trust):
    env = sign_envelope(envelope(), keys.mdms, actor="urn:gateway")
    sign_envelope(env, keys.mdms)
    assert len(env.findall(f".//{{{ns.WSSE}}}Security")) == 2
    assert Verifier(trust).verify(env).subject_names[0] == "MDMS"
