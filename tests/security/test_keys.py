import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from soapbus.security import SigningKey, Verifier, sign_envelope

from .support import envelope


def test_load_from_paths_bytes_and_text(test_pki):
    by_path = SigningKey.load(test_pki.mdms.key, test_pki.mdms.cert)
    by_bytes = SigningKey.load(test_pki.mdms.key.read_bytes(), test_pki.mdms.cert.read_bytes())
    by_text = SigningKey.load(test_pki.mdms.key.read_text(), str(test_pki.mdms.cert))
    assert by_path.certificate == by_bytes.certificate == by_text.certificate
    assert (by_path.algorithm, SigningKey.load(test_pki.ecdsa.key, test_pki.ecdsa.cert).algorithm) == \
        ("rsa-sha256", "ecdsa-sha256")


def test_an_encrypted_key_loads_with_its_password(test_pki, tmp_path, trust):
    private = serialization.load_pem_private_key(test_pki.oms.key.read_bytes(), password=None)
    locked = tmp_path / "locked.key"
    locked.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.BestAvailableEncryption(b"s3cret")))
    with pytest.raises(TypeError):
        SigningKey.load(locked, test_pki.oms.cert)
    key = SigningKey.load(locked, test_pki.oms.cert, password="s3cret")
    assert Verifier(trust).verify(sign_envelope(envelope(source="OMS"), key)).subject_names[0] == "OMS"


def test_a_key_that_is_not_the_certificates_is_refused(test_pki):
    with pytest.raises(ValueError, match="does not belong"):
        SigningKey.load(test_pki.mdms.key, test_pki.oms.cert)


def test_curves_other_than_p256_are_refused(test_pki, tmp_path):
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "P384")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    with pytest.raises(ValueError, match="P-256"):
        SigningKey.load(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()),
                        cert.public_bytes(serialization.Encoding.PEM))
