"""IEC 62325-504 mode: an enveloped signature in the 61968 Header over the whole message."""
import copy

import pytest
import xmlsec
from lxml import etree

from soapbus.message import namespaces, soap
from soapbus.security import (FAILED_AUTHENTICATION, FAILED_CHECK, INVALID_SECURITY, SecurityFault, ns, sign_62325,
                              verify_62325)

from .support import message

DS = f"{{{ns.DS}}}"


def refused(data, trust, code) -> str:
    with pytest.raises(SecurityFault) as caught:
        verify_62325(data, trust)
    assert caught.value.code == code, caught.value.reason
    return caught.value.reason


def _header(msg):
    return msg.find(f"{{{namespaces.MSG}}}Header")


def test_signature_shape(keys):
    original = message()
    before = etree.tostring(original)
    signed_message = sign_62325(original, keys.mdms)
    assert etree.tostring(original) == before  # the caller's element is left alone
    sig = _header(signed_message)[-1]
    assert sig.tag == DS + "Signature"
    info = sig.find(DS + "SignedInfo")
    assert info.find(DS + "CanonicalizationMethod").get("Algorithm") == ns.C14N10
    assert info.find(DS + "SignatureMethod").get("Algorithm") == ns.RSA_SHA256
    (ref,) = info.findall(DS + "Reference")
    assert ref.get("URI") == ""
    assert [t.get("Algorithm") for t in ref.iter(DS + "Transform")] == [ns.ENVELOPED, ns.C14N10]
    assert ref.find(DS + "DigestMethod").get("Algorithm") == ns.SHA256
    assert sig.findtext(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate").strip()


@pytest.mark.parametrize("name, common_name", [("mdms", "MDMS"), ("ecdsa", "SCADA")])
def test_roundtrip_returns_the_message_without_its_signature(name, common_name, keys, trust):
    signed_message = sign_62325(message(), getattr(keys, name))
    verified = verify_62325(signed_message, trust)
    assert verified.message.find(f".//{DS}Signature") is None
    assert verified.message.xpath("string(.//*[local-name()='Source'])") == "MDMS"
    assert verified.subject_names[0] == common_name


def test_carried_in_a_soap_envelope(keys, trust):
    """The receiver extracts the message from a Body whose Envelope declares other namespaces."""
    signed_message = sign_62325(message(), keys.mdms)
    env = etree.Element(f"{{{namespaces.SOAP11_ENV}}}Envelope",
                        nsmap={"soapenv": namespaces.SOAP11_ENV, "m": namespaces.MSG, "xsi": namespaces.XSI})
    etree.SubElement(env, f"{{{namespaces.SOAP11_ENV}}}Body").append(signed_message)
    received = soap.unwrap(soap.to_bytes(env)).message
    assert verify_62325(received, trust).subject == "CN=MDMS,O=soapbus test PKI"


def test_bytes_input(keys, trust):
    assert verify_62325(etree.tostring(sign_62325(message(), keys.mdms)), trust).message is not None


def _signed(keys):
    return sign_62325(message(), keys.mdms)


def test_tampering_is_refused(keys, trust):
    signed_message = _signed(keys)
    _header(signed_message).find(f"{{{namespaces.MSG}}}Source").text = "OMS"
    refused(signed_message, trust, FAILED_CHECK)


@pytest.mark.parametrize("who", ["untrusted", "expired", "selfsigned"])
def test_untrusted_signers_are_refused(who, keys, trust):
    refused(sign_62325(message(), getattr(keys, who)), trust, FAILED_AUTHENTICATION)


def test_the_signature_must_be_the_last_child_of_the_header(keys, trust):
    signed_message = _signed(keys)
    etree.SubElement(_header(signed_message), "{urn:x}After")
    assert "last child" in refused(signed_message, trust, INVALID_SECURITY)


def test_exactly_one_signature(keys, trust):
    signed_message = _signed(keys)
    payload = signed_message.find(f"{{{namespaces.MSG}}}Payload")
    payload.append(copy.deepcopy(_header(signed_message)[-1]))
    assert "exactly one ds:Signature" in refused(signed_message, trust, INVALID_SECURITY)


def test_the_reference_must_be_the_whole_message(keys, trust):
    signed_message = _signed(keys)
    signed_message.set("ID", "msg")
    _header(signed_message)[-1].find(f".//{DS}Reference").set("URI", "#msg")
    assert 'URI=""' in refused(signed_message, trust, INVALID_SECURITY)


def test_comments_are_refused(keys, trust):
    signed_message = _signed(keys)
    _header(signed_message).append(etree.Comment("unsigned"))
    _header(signed_message).append(_header(signed_message)[-2])  # keep the Signature last
    assert "comment" in refused(signed_message, trust, INVALID_SECURITY)


def test_sha1_is_refused(keys, trust):
    signed_message = _signed(keys)
    sig = _header(signed_message)[-1]
    sig.find(f".//{DS}SignatureMethod").set("Algorithm", ns.RSA_SHA1)
    sig.find(f".//{DS}DigestMethod").set("Algorithm", ns.SHA1)
    ctx = xmlsec.SignatureContext()
    ctx.key = keys.mdms.key
    ctx.sign(sig)
    assert "not accepted" in refused(signed_message, trust, INVALID_SECURITY)
    assert verify_62325(signed_message, trust, allow_sha1=True).subject_names[0] == "MDMS"


def test_a_doctype_is_refused(keys, trust):
    data = etree.tostring(_signed(keys))
    assert "DOCTYPE" in refused(b'<!DOCTYPE m [<!ENTITY x "y">]>' + data, trust, INVALID_SECURITY)


def test_signing_refuses_a_signed_message_and_a_wrong_algorithm(keys):
    with pytest.raises(ValueError, match="already holds"):
        sign_62325(_signed(keys), keys.mdms)
    with pytest.raises(ValueError, match="cannot make"):
        sign_62325(message(), keys.mdms, algorithm="ecdsa-sha256")
