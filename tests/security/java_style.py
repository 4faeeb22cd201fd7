"""Messages as Java signers write them, for the interop tests (test_java_style.py).

Apache Santuario (and WSS4J on it) with the default namespace for XML-DSig writes
`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">`, a line break after every element of
the signature, base64 in lines of 76 ending in CR LF (`&#13;` on the wire), and ds:X509IssuerName
as javax.security.auth.x500.X500Principal writes it: keywords it knows (EMAILADDRESS), dotted
OIDs with '#' and the DER in hex for those RFC 2253 has no keyword for, commas escaped. JAXB
writes the message unprefixed, the default namespace declared wherever it changes. Nothing
Java runs here: the signature values are computed by python-xmlsec over exactly those shapes.
"""
from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lxml import etree

from soapbus import message as m
from soapbus.message import namespaces
from soapbus.security import SigningKey, ns
from soapbus.security.timestamp import format_utc

EMAIL = "ops@example.org"
EMAIL_DER_HEX = (bytes([0x16, len(EMAIL)]) + EMAIL.encode()).hex()  # IA5String
# The issuer of JavaPki's certificates, written four ways; each names the same issuer.
ISSUER_AS_JAVA_WRITES_IT = (f"EMAILADDRESS={EMAIL},CN=Utility CA,O=Example\\, Inc.,"
                            f"1.2.840.113549.1.9.1=#{EMAIL_DER_HEX}")
ISSUER_RFC2253 = (f"1.2.840.113549.1.9.1=#{EMAIL_DER_HEX},CN=Utility CA,O=Example\\, Inc.,"
                  f"1.2.840.113549.1.9.1=#{EMAIL_DER_HEX}")  # X500Principal.getName()
ISSUER_RFC1779 = f'EMAILADDRESS={EMAIL}, CN=Utility CA, O="Example, Inc.", EMAILADDRESS={EMAIL}'  # toString()
SANTUARIO_C14N = ns.C14N10


@dataclass(frozen=True)
class JavaPki:
    ca_cert: x509.Certificate
    ca_pem: Path
    mdms: SigningKey  # CN=MDMS, RSA
    scada: SigningKey  # CN=SCADA, P-256


def utility_ca_name() -> x509.Name:
    """Least specific first, as in the DER: email, O (with a comma), CN, email again."""
    return x509.Name([x509.RelativeDistinguishedName([attribute]) for attribute in (
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, EMAIL),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example, Inc."),
        x509.NameAttribute(NameOID.COMMON_NAME, "Utility CA"), x509.NameAttribute(NameOID.EMAIL_ADDRESS, EMAIL))])


def _usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def _pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def java_pki(directory: Path) -> JavaPki:
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = rsa.generate_private_key(65537, 2048)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (x509.CertificateBuilder().subject_name(utility_ca_name()).issuer_name(utility_ca_name())
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_usage(ca=True), critical=True).add_extension(ca_ski, critical=False)
          .sign(ca_key, hashes.SHA256()))

    def leaf(common_name: str, key) -> SigningKey:
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example, Inc."),
                                         x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(_usage(ca=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
                .sign(ca_key, hashes.SHA256()))
        return SigningKey.load(_pem(key), cert.public_bytes(serialization.Encoding.PEM))

    ca_pem = directory / "utility-ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return JavaPki(ca, ca_pem, leaf("MDMS", rsa.generate_private_key(65537, 2048)),
                   leaf("SCADA", ec.generate_private_key(ec.SECP256R1())))


def java_base64(data: bytes) -> str:
    """Base64 as Java's MIME encoder writes it: lines of 76 ending in CR LF."""
    text = base64.b64encode(data).decode("ascii")
    return "\r\n".join(text[i:i + 76] for i in range(0, len(text), 76))


# ---------------------------------------------------------------- IEC 62325-504


def switching_plans_message(source: str) -> etree._Element:
    """A CreateSwitchingPlans message, unprefixed throughout as JAXB writes it."""
    sp = namespaces.profile_ns("SwitchingPlans")
    doc = etree.Element(f"{{{sp}}}SwitchingPlans", nsmap={None: sp})
    plan = etree.SubElement(doc, f"{{{sp}}}SwitchingPlan")
    etree.SubElement(plan, f"{{{sp}}}mRID").text = m.new_message_id()
    header = m.Header("create", "SwitchingPlans", timestamp=m.now(), source=source, message_id=m.new_message_id())
    wrapper_ns = namespaces.noun_message_ns("SwitchingPlans")
    built = m.to_element(m.RequestMessage(header, None, m.Payload(documents=[doc])),
                         wrapper=f"{{{wrapper_ns}}}CreateSwitchingPlans", part_ns=wrapper_ns)
    return default_namespaced(built)


def default_namespaced(element: etree._Element, parent: etree._Element | None = None) -> etree._Element:
    """A copy in which every element is unprefixed, the default namespace declared wherever it changes."""
    uri = etree.QName(element).namespace
    inherited = parent.nsmap.get(None) if parent is not None else None
    nsmap = {None: uri} if uri != inherited else None
    copy = etree.Element(element.tag, nsmap=nsmap) if parent is None else etree.SubElement(parent, element.tag,
                                                                                            nsmap=nsmap)
    copy.attrib.update(element.attrib)
    copy.text, copy.tail = element.text, element.tail
    for child in element.iterchildren(etree.Element):
        default_namespaced(child, copy)
    return copy


def _santuario_signature(method: str) -> etree._Element:
    text = (f'<Signature xmlns="{ns.DS}">\n<SignedInfo>\n'
            f'<CanonicalizationMethod Algorithm="{SANTUARIO_C14N}"/>\n<SignatureMethod Algorithm="{method}"/>\n'
            f'<Reference URI="">\n<Transforms>\n<Transform Algorithm="{ns.ENVELOPED}"/>\n'
            f'<Transform Algorithm="{SANTUARIO_C14N}"/>\n</Transforms>\n'
            f'<DigestMethod Algorithm="{ns.SHA256}"/>\n<DigestValue></DigestValue>\n</Reference>\n</SignedInfo>\n'
            f"<SignatureValue></SignatureValue>\n</Signature>")
    return etree.fromstring(text)


def add_key_info(signature: etree._Element, cert: x509.Certificate, issuer_name: str | None,
                 serial: int | None = None, with_certificate: bool = True, token_reference: bool = False) -> None:
    """KeyInfo/X509Data as Santuario writes it (IssuerSerial when named, the certificate), last in `signature`.

    With `token_reference`, the X509Data sits in a wsse:SecurityTokenReference, as WSS4J has it.
    """
    ds = f"{{{ns.DS}}}"

    def sub(parent, tag, text=None):
        element = etree.SubElement(parent, tag)
        element.text, element.tail = text if text is not None else "\n", "\n"
        return element

    holder = sub(signature, ds + "KeyInfo")
    if token_reference:
        holder = sub(holder, ns.STR)
    data = sub(holder, ds + "X509Data")
    if issuer_name is not None:
        pair = sub(data, ds + "X509IssuerSerial")
        sub(pair, ds + "X509IssuerName", issuer_name)
        sub(pair, ds + "X509SerialNumber", str(cert.serial_number if serial is None else serial))
    if with_certificate:
        sub(data, ds + "X509Certificate", java_base64(cert.public_bytes(serialization.Encoding.DER)))


def santuario_62325(message: etree._Element, key: SigningKey, issuer_name: str | None = ISSUER_AS_JAVA_WRITES_IT,
                    serial: int | None = None, with_certificate: bool = True) -> bytes:
    """The message signed as Santuario signs an IEC 62325-504 message: Signature last in the Header."""
    method = ns.RSA_SHA256 if key.algorithm == "rsa-sha256" else ns.ECDSA_SHA256
    header = next(c for c in message if etree.QName(c).localname == "Header")
    signature = _santuario_signature(method)
    header.append(signature)
    ctx = xmlsec.SignatureContext()
    ctx.key = key.key
    ctx.sign(signature)
    value = signature.find(f"{{{ns.DS}}}SignatureValue")
    value.text = java_base64(base64.b64decode(value.text))  # not signed content: written as Java writes it
    add_key_info(signature, key.certificate, issuer_name, serial, with_certificate)  # KeyInfo is not signed either
    return etree.tostring(message)


# ---------------------------------------------------------------- WS-Security, as WSS4J on Santuario


def _wss_signature() -> etree._Element:
    def reference(uri: str, prefixes: str) -> str:
        return (f'<Reference URI="{uri}">\n<Transforms>\n<Transform Algorithm="{ns.EXC_C14N}">'
                f'<ec:InclusiveNamespaces xmlns:ec="{ns.EXC_C14N_NS}" PrefixList="{prefixes}"/></Transform>\n'
                f'</Transforms>\n<DigestMethod Algorithm="{ns.SHA256}"/>\n<DigestValue></DigestValue>\n</Reference>\n')
    return etree.fromstring(
        f'<Signature xmlns="{ns.DS}" Id="SIG-1">\n<SignedInfo>\n'
        f'<CanonicalizationMethod Algorithm="{ns.EXC_C14N}"><ec:InclusiveNamespaces xmlns:ec="{ns.EXC_C14N_NS}" '
        f'PrefixList="soapenv"/></CanonicalizationMethod>\n<SignatureMethod Algorithm="{ns.RSA_SHA256}"/>\n'
        + reference("#TS-1", "wsse soapenv") + reference("#id-body", "#default")
        + "</SignedInfo>\n<SignatureValue></SignatureValue>\n</Signature>")


def wss4j_envelope(message: etree._Element, key: SigningKey, issuer_name: str = ISSUER_AS_JAVA_WRITES_IT) -> bytes:
    """A SOAP envelope signed in the default namespace for XML-DSig, the Body's default namespace declared on it.

    The Body reference lists #default in its PrefixList: the declaration on soap:Body is
    rendered there (and nowhere below), as exclusive C14N with #default has it.
    """
    soap_ns = namespaces.SOAP11_ENV
    env = etree.Element(ns.ENVELOPE, nsmap={"soapenv": soap_ns, "wsu": ns.WSU})
    security = etree.SubElement(etree.SubElement(env, ns.SOAP_HEADER), ns.SECURITY, {ns.MUST_UNDERSTAND: "1"},
                                nsmap={"wsse": ns.WSSE})
    stamp = etree.SubElement(security, ns.TIMESTAMP, {ns.WSU_ID: "TS-1"})
    now = dt.datetime.now(dt.timezone.utc)
    etree.SubElement(stamp, ns.CREATED).text = format_utc(now)
    etree.SubElement(stamp, ns.EXPIRES).text = format_utc(now + dt.timedelta(minutes=5))
    signature = _wss_signature()
    security.append(signature)
    body = etree.SubElement(env, ns.SOAP_BODY, {ns.WSU_ID: "id-body"}, nsmap={None: namespaces.MSG})
    default_namespaced(message, body)
    ctx = xmlsec.SignatureContext()
    ctx.key = key.key
    ctx.register_id(stamp, "Id", ns.WSU)
    ctx.register_id(body, "Id", ns.WSU)
    ctx.sign(signature)
    value = signature.find(f"{{{ns.DS}}}SignatureValue")
    value.text = java_base64(base64.b64decode(value.text))
    add_key_info(signature, key.certificate, issuer_name, token_reference=True)
    return etree.tostring(env)
