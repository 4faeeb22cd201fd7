"""Interop with code we did not write: signxml, the xmlsec1 command line, and stock zeep.

Every signature soapbus makes must verify elsewhere, and what stock zeep signs must pass our
Verifier. Negative controls make sure each tool can say no.
"""
from __future__ import annotations

import base64
import subprocess
from datetime import timedelta

import pytest
import signxml
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from zeep.exceptions import SignatureVerificationFailed
from zeep.wsse import Compose
from zeep.wsse.signature import BinarySignature, Signature, verify_envelope
from zeep.wsse.utils import WSU, get_security_header, get_timestamp

from soapbus.message import namespaces
from soapbus.security import INVALID_SECURITY, Policy, SecurityFault, Verifier, ns, sign_62325

from .support import command, envelope, message, signed, utcnow, wire

BODY = f"{{{namespaces.SOAP11_ENV}}}Body"
TIMESTAMP = ns.TIMESTAMP
HEADER = f"{{{namespaces.MSG}}}Header"

VARIANTS = [  # (key name, key_reference, sign_parts)
    ("mdms", "bst", ("Body", "Timestamp")),
    ("mdms", "bst", ("Body", "Timestamp", "Header")),
    ("mdms", "issuer_serial", ("Body", "Timestamp")),
    ("mdms", "ski", ("Body", "Timestamp")),
    ("ecdsa", "bst", ("Body", "Timestamp", "Header")),
]
VARIANT_IDS = [f"{k}-{ref}-{len(parts)}parts" for k, ref, parts in VARIANTS]
TAGS = {"Body": BODY, "Timestamp": TIMESTAMP, "Header": HEADER}


def _cert_pem(keys, name) -> str:
    return getattr(keys, name).certificate.public_bytes(serialization.Encoding.PEM).decode()


# ---------------------------------------------------------------- signxml


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_signxml_verifies_our_ws_security_signatures(variant, keys):
    name, ref, parts = variant
    data = wire(signed(getattr(keys, name), sign_parts=parts, key_reference=ref))
    # signxml looks Ids up by local name, so wsu:Id is found with id_attribute="Id"
    # ("{wsu-ns}Id" would never match); it reads no wsse token, so the certificate is given.
    results = signxml.XMLVerifier().verify(data, x509_cert=_cert_pem(keys, name), expect_references=len(parts),
                                           id_attribute="Id")
    assert [r.signed_xml.tag for r in results] == [TAGS[p] for p in parts]


def test_signxml_refuses_a_tampered_body(keys):
    env = signed(keys.mdms)
    command(env).text = "disconnect ALL meters"
    with pytest.raises(signxml.exceptions.InvalidSignature):
        signxml.XMLVerifier().verify(wire(env), x509_cert=_cert_pem(keys, "mdms"), expect_references=3)


@pytest.mark.parametrize("name", ["mdms", "ecdsa"])
def test_signxml_verifies_our_62325_signatures_against_the_ca(name, keys, test_pki):
    signed_message = sign_62325(message(), getattr(keys, name))
    result = signxml.XMLVerifier().verify(etree.tostring(signed_message), ca_pem_file=str(test_pki.ca.cert))
    assert etree.QName(result.signed_xml).localname == "RequestMessage"


def test_signxml_refuses_our_62325_signature_under_another_ca(keys, test_pki):
    signed_message = sign_62325(message(), keys.mdms)
    with pytest.raises(signxml.exceptions.InvalidCertificate):
        signxml.XMLVerifier().verify(etree.tostring(signed_message), ca_pem_file=str(test_pki.untrusted_ca.cert))


# ---------------------------------------------------------------- xmlsec1 command line


def _run_xmlsec1(xmlsec1, tmp_path, data: bytes, *options: str) -> subprocess.CompletedProcess:
    document = tmp_path / "signed.xml"
    document.write_bytes(data)
    return subprocess.run([xmlsec1, "--verify", *options, str(document)], capture_output=True, text=True, timeout=60)


_ID_ATTRS = ("--id-attr:Id", f"{namespaces.SOAP11_ENV}:Body",
             "--id-attr:Id", f"{ns.WSU}:Timestamp",
             "--id-attr:Id", f"{namespaces.MSG}:Header")


def _signer_pem(tmp_path, data: bytes, keys, name: str) -> str:
    """The certificate to hand xmlsec1, which cannot follow a wsse:SecurityTokenReference.

    With a BinarySecurityToken it is the one the message carries, so the CLI checks the
    message's own token; otherwise the signer's file.
    """
    token = etree.fromstring(data).find(".//{*}BinarySecurityToken")
    der = base64.b64decode(token.text) if token is not None else getattr(keys, name).certificate_der
    pem = tmp_path / "signer.pem"
    pem.write_bytes(x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM))
    return str(pem)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
def test_xmlsec1_verifies_our_ws_security_signatures(variant, keys, xmlsec1, tmp_path):
    name, ref, parts = variant
    data = wire(signed(getattr(keys, name), sign_parts=parts, key_reference=ref))
    done = _run_xmlsec1(xmlsec1, tmp_path, data, "--pubkey-cert-pem", _signer_pem(tmp_path, data, keys, name),
                        *_ID_ATTRS)
    assert done.returncode == 0, done.stderr
    assert f"SignedInfo References (ok/all): {len(parts)}/{len(parts)}" in done.stderr + done.stdout


def test_xmlsec1_refuses_a_tampered_ws_security_envelope(keys, xmlsec1, tmp_path):
    env = signed(keys.mdms)
    command(env).text = "disconnect ALL meters"
    data = wire(env)
    done = _run_xmlsec1(xmlsec1, tmp_path, data, "--pubkey-cert-pem", _signer_pem(tmp_path, data, keys, "mdms"),
                        *_ID_ATTRS)
    assert done.returncode != 0


@pytest.mark.parametrize("name", ["mdms", "ecdsa"])
def test_xmlsec1_verifies_our_62325_signatures_against_the_ca(name, keys, test_pki, xmlsec1, tmp_path):
    data = etree.tostring(sign_62325(message(), getattr(keys, name)))
    done = _run_xmlsec1(xmlsec1, tmp_path, data, "--trusted-pem", str(test_pki.ca.cert))
    assert done.returncode == 0, done.stderr


def test_xmlsec1_refuses_our_62325_signature_under_another_ca(keys, test_pki, xmlsec1, tmp_path):
    data = etree.tostring(sign_62325(message(), keys.mdms))
    done = _run_xmlsec1(xmlsec1, tmp_path, data, "--trusted-pem", str(test_pki.untrusted_ca.cert))
    assert done.returncode != 0


# ---------------------------------------------------------------- stock zeep signs, we verify


class ZeepTimestamp:
    """A zeep wsse plugin that adds the wsu:Timestamp zeep itself never writes.

    Composed before zeep's signature, the Timestamp is in wsse:Security when zeep signs, and
    zeep signs every Timestamp it finds there.
    """

    def __init__(self, ttl: timedelta = timedelta(minutes=5)):
        self.ttl = ttl

    def apply(self, env, headers):
        now = utcnow()
        get_security_header(env).append(WSU.Timestamp(WSU.Created(get_timestamp(now, zulu_timestamp=True)),
                                                      WSU.Expires(get_timestamp(now + self.ttl, zulu_timestamp=True))))
        return env, headers

    def verify(self, env):
        return env


def _zeep_signed(signer, with_timestamp: bool = True) -> bytes:
    env = envelope()
    plugin = Compose([ZeepTimestamp(), signer]) if with_timestamp else signer
    plugin.apply(env, {})
    return etree.tostring(env)


def _zeep(cls, test_pki, name, sha256=True):
    ident = getattr(test_pki, name)
    if not sha256:
        return cls(str(ident.key), str(ident.cert))
    method = xmlsec.Transform.ECDSA_SHA256 if name == "ecdsa" else xmlsec.Transform.RSA_SHA256
    return cls(str(ident.key), str(ident.cert), signature_method=method, digest_method=xmlsec.Transform.SHA256)


@pytest.mark.parametrize("cls, name, found_by", [
    (BinarySignature, "mdms", "BinarySecurityToken"),
    (BinarySignature, "ecdsa", "BinarySecurityToken"),
    (Signature, "mdms", "X509Certificate"),
], ids=["BinarySignature-rsa", "BinarySignature-ecdsa", "Signature-x509data"])
def test_we_accept_what_stock_zeep_signs(cls, name, found_by, trust, test_pki):
    verified = Verifier(trust).verify(_zeep_signed(_zeep(cls, test_pki, name)))
    assert verified.found_by == found_by
    assert verified.body.xpath("string(.//*[local-name()='command'])") == "disconnect meter 42"


def test_zeep_without_a_timestamp_is_refused(trust, test_pki):
    with pytest.raises(SecurityFault) as caught:
        Verifier(trust).verify(_zeep_signed(_zeep(BinarySignature, test_pki, "mdms"), with_timestamp=False))
    assert caught.value.code == INVALID_SECURITY and "wsu:Timestamp" in caught.value.reason


def test_zeep_default_sha1_is_refused_unless_allowed(trust, test_pki):
    data = _zeep_signed(_zeep(BinarySignature, test_pki, "mdms", sha256=False))
    with pytest.raises(SecurityFault) as caught:
        Verifier(trust).verify(data)
    assert caught.value.code == INVALID_SECURITY and "rsa-sha1" in caught.value.reason
    assert Verifier(trust, Policy(allow_sha1=True)).verify(data).subject_names[0] == "MDMS"


def test_a_zeep_signature_altered_in_transit_is_refused(trust, test_pki):
    env = etree.fromstring(_zeep_signed(_zeep(BinarySignature, test_pki, "mdms")))
    command(env).text = "disconnect ALL meters"
    with pytest.raises(SecurityFault) as caught:
        Verifier(trust).verify(env)
    assert caught.value.code == "wsse:FailedCheck"


# ---------------------------------------------------------------- we sign, stock zeep verifies


@pytest.mark.parametrize("name", ["mdms", "ecdsa"])
def test_stock_zeep_verifies_our_envelopes(name, keys, test_pki):
    env = signed(getattr(keys, name))
    ident = getattr(test_pki, name)
    verify_envelope(env, str(ident.cert))  # the tree sign_envelope returned, as a zeep plugin would get it
    received = etree.fromstring(wire(env))
    BinarySignature(str(ident.key), str(ident.cert)).verify(received)  # and the same after the wire


def test_stock_zeep_refuses_our_envelope_with_the_wrong_certificate(keys, test_pki):
    with pytest.raises(SignatureVerificationFailed):
        verify_envelope(etree.fromstring(wire(signed(keys.mdms))), str(test_pki.oms.cert))

