import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from soapbus.security import pki


def _cert(ident) -> x509.Certificate:
    return x509.load_pem_x509_certificate(ident.cert.read_bytes())


def _cn(ident) -> str:
    return _cert(ident).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, InvalidSignature):
        return False
    return True


def test_files_and_names(test_pki):
    for ident in (test_pki.ca, test_pki.server, test_pki.mdms, test_pki.oms, test_pki.ecdsa, test_pki.expired,
                  test_pki.untrusted_ca, test_pki.untrusted, test_pki.selfsigned):
        assert ident.cert.is_file() and ident.key.is_file()
    assert test_pki.mdms.cert.name == "client-mdms.pem" and test_pki.oms.key.name == "client-oms.key"
    assert (_cn(test_pki.server), _cn(test_pki.mdms), _cn(test_pki.oms)) == ("soapbus-server", "MDMS", "OMS")
    assert "for tests only" in (test_pki.directory / "README.md").read_text().lower()


def test_every_certificate_allows_digital_signature(test_pki):
    for ident in (test_pki.ca, test_pki.server, test_pki.mdms, test_pki.oms, test_pki.ecdsa, test_pki.expired,
                  test_pki.untrusted, test_pki.selfsigned):
        assert _cert(ident).extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature


def test_who_issued_what(test_pki):
    ca, untrusted_ca = _cert(test_pki.ca), _cert(test_pki.untrusted_ca)
    for ident in (test_pki.server, test_pki.mdms, test_pki.oms, test_pki.ecdsa, test_pki.expired):
        assert _issued_by(_cert(ident), ca)
    assert _issued_by(_cert(test_pki.untrusted), untrusted_ca) and not _issued_by(_cert(test_pki.untrusted), ca)
    selfsigned = _cert(test_pki.selfsigned)
    assert _issued_by(selfsigned, selfsigned) and not _issued_by(selfsigned, ca)


def test_expired_is_expired_and_ecdsa_is_p256(test_pki):
    assert _cert(test_pki.expired).not_valid_after_utc < dt.datetime.now(dt.timezone.utc)
    key = serialization.load_pem_private_key(test_pki.ecdsa.key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)


def test_init_keeps_existing_files_unless_forced(tmp_path):
    first = pki.init(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    pki.init(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    pki.init(tmp_path, force=True)
    assert first.mdms.cert.read_bytes() != before["client-mdms.pem"]


def test_a_missing_leaf_is_reissued_by_the_existing_ca(tmp_path):
    made = pki.init(tmp_path)
    ca_before = made.ca.cert.read_bytes()
    made.oms.cert.unlink()
    pki.init(tmp_path)
    assert made.ca.cert.read_bytes() == ca_before
    assert _issued_by(_cert(made.oms), _cert(made.ca))


def test_a_new_ca_reissues_its_leaves(tmp_path):
    made = pki.init(tmp_path)
    made.ca.key.unlink()
    pki.init(tmp_path)
    assert _issued_by(_cert(made.mdms), _cert(made.ca))
