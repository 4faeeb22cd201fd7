"""Signatures as Java signers make them (Apache Santuario, WSS4J): accepted by soapbus, on its own and live.

The shapes (tests/security/java_style.py): ds:Signature in the default namespace inside an
unprefixed 61968 Header, line breaks throughout the signature, base64 in CR LF lines, and
ds:X509IssuerName as Java writes it. Before soapbus computed C14N itself for these shapes,
such a signature failed with wsse:FailedCheck while libxmlsec1 verified it.
"""
from __future__ import annotations

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.message import namespaces, soap
from soapbus.security import (FAILED_CHECK, INVALID_SECURITY_TOKEN, SecurityFault, TrustStore, Verifier, crypto, ns,
                              verify_62325)

from ..helpers import fault_of, start_server
from .java_style import (ISSUER_AS_JAVA_WRITES_IT, ISSUER_RFC1779, ISSUER_RFC2253, default_namespaced, java_pki,
                         santuario_62325, switching_plans_message, wss4j_envelope)
from .support import message

DS = f"{{{ns.DS}}}"


@pytest.fixture(scope="module")
def java(tmp_path_factory):
    return java_pki(tmp_path_factory.mktemp("java-pki"))


@pytest.fixture(scope="module")
def java_trust(java) -> TrustStore:
    return TrustStore.from_ca_bundle(java.ca_pem)


@pytest.fixture
def in_house(monkeypatch):
    """Fails the test if the check falls back to xmlsec: soapbus must compute these shapes itself."""
    def refuse(*args, **kwargs):
        raise AssertionError("the check fell back to xmlsec")
    monkeypatch.setattr(crypto, "verify_with_xmlsec", refuse)


def _refused(data: bytes, trust: TrustStore, code: str) -> str:
    with pytest.raises(SecurityFault) as caught:
        verify_62325(data, trust)
    assert caught.value.code == code, caught.value.reason
    return caught.value.reason


# ---------------------------------------------------------------- IEC 62325-504


@pytest.mark.parametrize("signer, source", [("mdms", "MDMS"), ("scada", "SCADA")])
def test_a_santuario_62325_message_is_accepted(signer, source, java, java_trust, in_house):
    data = santuario_62325(switching_plans_message(source), getattr(java, signer))
    assert f'<Signature xmlns="{ns.DS}">'.encode() in data
    verified = verify_62325(data, java_trust)
    assert verified.subject_names[0] == source
    assert verified.message.xpath("string(.//*[local-name()='Source'])") == source
    assert _refused(data.replace(source.encode(), b"OMS", 1), java_trust, FAILED_CHECK)  # the control


def test_what_went_wrong_before_with_that_message(java):
    """lxml's own C14N of that SignedInfo (how soapbus computed it) undeclares the default namespace."""
    root = etree.fromstring(santuario_62325(switching_plans_message("MDMS"), java.mdms))
    signed_info = root.find(f".//{DS}SignedInfo")
    assert b'<Transforms xmlns="">' in etree.tostring(signed_info, method="c14n")
    assert b'xmlns=""' not in crypto.canonical(signed_info, ns.C14N10)


@pytest.mark.parametrize("issuer_name", [ISSUER_AS_JAVA_WRITES_IT, ISSUER_RFC2253, ISSUER_RFC1779, "rfc4514",
                                         "not a distinguished name"],
                         ids=["java-mixed", "java-rfc2253", "java-rfc1779", "rfc4514", "unreadable"])
def test_an_issuer_name_beside_the_certificate_may_be_written_any_way(issuer_name, java, java_trust, in_house):
    """The certificate carried decides: a name written differently, or not readable at all, names nothing else."""
    if issuer_name == "rfc4514":
        issuer_name = java.mdms.certificate.issuer.rfc4514_string()
    data = santuario_62325(switching_plans_message("MDMS"), java.mdms, issuer_name=issuer_name)
    assert verify_62325(data, java_trust).subject_names[0] == "MDMS"


def test_an_issuer_serial_contradicting_the_certificate_is_refused(java, java_trust):
    other_issuer = santuario_62325(switching_plans_message("MDMS"), java.mdms,
                                   issuer_name="EMAILADDRESS=ops@example.org,CN=Other CA,O=Example\\, Inc.")
    reason = _refused(other_issuer, java_trust, INVALID_SECURITY_TOKEN)
    assert "CN=Other CA" in reason and "Utility CA" in reason and "different certificates" in reason
    other_serial = santuario_62325(switching_plans_message("MDMS"), java.mdms,
                                   serial=java.mdms.certificate.serial_number + 1)
    reason = _refused(other_serial, java_trust, INVALID_SECURITY_TOKEN)
    assert f"serial number {java.mdms.certificate.serial_number + 1}" in reason and "different certificates" in reason


def test_an_issuer_serial_alone_names_a_known_certificate_in_java_style(java):
    """Without the certificate in the message, a Java-style IssuerSerial finds it among the known ones."""
    data = santuario_62325(switching_plans_message("MDMS"), java.mdms, with_certificate=False)
    knowing = TrustStore.from_ca_bundle(java.ca_pem, known=[java.mdms.certificate])
    assert verify_62325(data, knowing).subject_names[0] == "MDMS"
    assert "no certificate known" in _refused(data, TrustStore.from_ca_bundle(java.ca_pem), INVALID_SECURITY_TOKEN)
    unreadable = santuario_62325(switching_plans_message("MDMS"), java.mdms, issuer_name="CN=Utility CA,XX=1",
                                 with_certificate=False)
    assert "unreadable ds:X509IssuerSerial" in _refused(unreadable, knowing, INVALID_SECURITY_TOKEN)


# ---------------------------------------------------------------- WS-Security


def test_a_wss4j_style_envelope_is_accepted(java, java_trust, in_house):
    """Signature in the default namespace, PrefixList #default on the Body, IssuerSerial and certificate in the STR."""
    data = wss4j_envelope(message(), java.mdms)
    verified = Verifier(java_trust).verify(data)
    assert verified.source == "MDMS" and verified.found_by == "X509Certificate"
    # The signed Body keeps its default namespace: the 61968 message is read in it.
    assert verified.message.tag == f"{{{namespaces.MSG}}}RequestMessage"
    with pytest.raises(SecurityFault) as refused:
        Verifier(java_trust).verify(data.replace(b"disconnect meter 42", b"disconnect meter 43"))
    assert refused.value.code == FAILED_CHECK


# ---------------------------------------------------------------- a live server in 62325 mode


@pytest.fixture(scope="module")
def server(tmp_path_factory, test_pki, java):
    bundle = tmp_path_factory.mktemp("bundle") / "ca-bundle.pem"
    bundle.write_bytes(test_pki.ca.cert.read_bytes() + java.ca_pem.read_bytes())
    proc = start_server(tmp_path_factory.mktemp("java-62325"), extra_args=[
        "--server-key", str(test_pki.server.key), "--server-cert", str(test_pki.server.cert),
        "--trust-ca", str(bundle), "--mode-62325", "ExecuteSwitchingPlans"])
    yield proc
    proc.stop()


@pytest.mark.parametrize("signer, source", [("mdms", "MDMS"), ("scada", "SCADA")])
def test_a_live_server_in_62325_mode_serves_a_santuario_request(signer, source, server, java, trust):
    signed = santuario_62325(switching_plans_message(source), getattr(java, signer))
    envelope = soap.envelope(etree.fromstring(signed))
    response = server.post("ExecuteSwitchingPlans", soap.to_bytes(envelope))
    assert response.status_code == 200, response.text
    answer = verify_62325(soap.unwrap(response.content).message, trust)  # signed by the server in turn
    assert answer.subject_names[0] == "soapbus-server"
    assert m.parse(answer.message, "ResponseMessage").reply.result == "OK"

    tampered = server.post("ExecuteSwitchingPlans", soap.to_bytes(envelope).replace(source.encode(), b"OMS", 1))
    assert tampered.status_code == 500 and fault_of(tampered).code == "wsse:FailedCheck"


def test_the_default_namespaced_copy_means_the_same(java):
    """The JAXB-style rewrite changes prefixes only: the helper must not change what the message says."""
    original = switching_plans_message("MDMS")
    assert all(element.prefix is None for element in original.iter(etree.Element))
    assert etree.tostring(default_namespaced(original), method="c14n") == etree.tostring(original, method="c14n")
