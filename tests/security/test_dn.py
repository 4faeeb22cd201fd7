"""ds:X509IssuerName in the forms signers write it (soapbus.security.dn), matched with a certificate's issuer."""
from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from soapbus.security import dn

from .java_style import ISSUER_AS_JAVA_WRITES_IT, ISSUER_RFC1779, ISSUER_RFC2253, utility_ca_name


def _name(*rdns) -> x509.Name:
    return x509.Name([x509.RelativeDistinguishedName(list(rdn)) for rdn in rdns])


JAVA_ISSUER = utility_ca_name()
MULTI_VALUED = _name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CH")],
                     [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Grid AG"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Ops")],
                     [x509.NameAttribute(NameOID.COMMON_NAME, "Zürich CA")])
BMP = _name([x509.NameAttribute(NameOID.COMMON_NAME, "Zürich CA", _ASN1Type.BMPString)])


@pytest.mark.parametrize("text, name", [
    (ISSUER_AS_JAVA_WRITES_IT, JAVA_ISSUER),
    (ISSUER_RFC2253, JAVA_ISSUER),
    (ISSUER_RFC1779, JAVA_ISSUER),
    (JAVA_ISSUER.rfc4514_string(), JAVA_ISSUER),
    ("E=OPS@example.org;CN=utility  ca;O=Example\\2C Inc.;OID.1.2.840.113549.1.9.1=ops@example.org", JAVA_ISSUER),
    (MULTI_VALUED.rfc4514_string(), MULTI_VALUED),
    ("CN=Zürich CA, OU=Ops + O=Grid AG, C=CH", MULTI_VALUED),  # the values of one RDN in any order
    ("CN=Z\\C3\\BCrich CA,O=Grid AG+OU=Ops,C=CH", MULTI_VALUED),  # UTF-8 escaped octet by octet
    ("CN=#1e12005a00fc0072006900630068002000430041", BMP),  # BMPString DER
    ("CN=Zürich CA", BMP),
], ids=["java-mixed", "java-rfc2253", "java-rfc1779", "rfc4514", "case-spaces-semicolons-escapes", "multi-valued",
        "multi-valued-reordered", "utf8-escapes", "bmpstring-der", "bmpstring-plain"])
def test_the_same_name_written_differently_matches(text, name):
    assert dn.parse(text).matches(name)


@pytest.mark.parametrize("text, name", [
    ("CN=Other CA,O=Example\\, Inc.", JAVA_ISSUER),
    ("O=Example\\, Inc.,CN=Utility CA,E=ops@example.org,E=ops@example.org", JAVA_ISSUER),  # RDNs in another order
    ("EMAILADDRESS=ops@example.org,CN=Utility CA,O=Example\\, Inc.", JAVA_ISSUER),  # one RDN short
    ("CN=Zürich CA,OU=Ops,O=Grid AG,C=CH", MULTI_VALUED),  # a multi-valued RDN split in two
])
def test_another_name_does_not_match(text, name):
    assert not dn.parse(text).matches(name)


@pytest.mark.parametrize("text", ["not a name", "CN", "XX=1", "CN=a\\", "CN=#zz", "CN=#0c05616263", "CN=a,",
                                  'CN="open', "CN=\\ff"])
def test_what_is_not_a_name_is_unreadable(text):
    with pytest.raises(dn.Unreadable):
        dn.parse(text)


def test_the_empty_name():
    assert dn.parse("").matches(x509.Name([]))
    assert not dn.parse("").matches(JAVA_ISSUER)
