"""The pinned stack works together: the failure modes seen with other versions stay away."""
import sys

import lxml
import xmlsec
from lxml import etree


def test_lxml_and_xmlsec_use_the_same_libxml2():
    # lxml < 6.0 beside xmlsec 1.3.17 fails at run time with "libxml2 library version mismatch"
    assert etree.LIBXML_VERSION == xmlsec.get_libxml_version(), (
        f"lxml runs libxml2 {etree.LIBXML_VERSION}, xmlsec {xmlsec.get_libxml_version()}: signing would break")
    assert etree.LIBXML_COMPILED_VERSION == xmlsec.get_libxml_compiled_version()
    assert (6, 0) <= lxml.etree.LXML_VERSION[:2] < (6, 2)


def test_python_is_311_for_spyne():
    # spyne 2.14, the last release, does not import on 3.12+ without a shim
    assert sys.version_info[:2] == (3, 11)
    import spyne

    assert spyne.__version__ == "2.14.0"


def test_xmlsec_signs_with_this_lxml(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    doc = etree.fromstring(b"<doc><data>x</data></doc>")
    sig = xmlsec.template.create(doc, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.RSA_SHA256)
    doc.append(sig)
    ref = xmlsec.template.add_reference(sig, xmlsec.Transform.SHA256, uri="")
    xmlsec.template.add_transform(ref, xmlsec.Transform.ENVELOPED)
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(pem, xmlsec.KeyFormat.PEM)
    ctx.sign(sig)
    assert sig.findtext(".//{http://www.w3.org/2000/09/xmldsig#}SignatureValue").strip()
