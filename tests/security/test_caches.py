"""What is computed once and reused: a TrustStore's acceptances, verification keys, token texts.

Each cache must give the answer the full computation gives; these tests pin the cases where
a careless cache would not (time moving past a CA's or the leaf's expiry, another TrustStore,
a refusal, a different key behind the same subject), and that refused input is never kept.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from soapbus.security import FAILED_AUTHENTICATION, FAILED_CHECK, SecurityFault, TrustStore, Verifier, crypto, trust
from soapbus.security.identity import subject_names, subject_text

from .support import signed, utcnow, wire

T0 = datetime(2030, 1, 1, tzinfo=timezone.utc)


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(subject: str, issuer_key, public_key, not_before, not_after, *, ca: bool, issuer: str | None = None):
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer or subject)]))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=ca,
                                            crl_sign=ca, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def short_lived_ca():
    """A CA that expires long before the leaf it issued: only the chain check can catch that."""
    ca_key, leaf_key = _key(), _key()
    ca = _certificate("Short CA", ca_key, ca_key.public_key(), T0 - timedelta(days=1), T0 + timedelta(days=10), ca=True)
    leaf = _certificate("MDMS", ca_key, leaf_key.public_key(), T0 - timedelta(days=1), T0 + timedelta(days=100),
                        ca=False, issuer="Short CA")
    return ca, leaf


def test_a_cached_chain_does_not_outlive_its_ca(short_lived_ca):
    ca, leaf = short_lived_ca
    store = TrustStore(anchors=[ca])
    store.validate(leaf, T0)
    store.validate(leaf, T0 + timedelta(days=9))  # inside every certificate's validity: may come from the cache
    with pytest.raises(SecurityFault) as refused:
        store.validate(leaf, T0 + timedelta(days=20))  # the leaf is still valid, its CA is not
    assert refused.value.code == FAILED_AUTHENTICATION and "does not chain to a trusted CA" in refused.value.reason
    with pytest.raises(SecurityFault):
        store.validate(leaf, T0 - timedelta(days=2))  # before the chain began


def test_a_chain_cached_by_one_store_means_nothing_to_another(short_lived_ca, test_pki):
    ca, leaf = short_lived_ca
    TrustStore(anchors=[ca]).validate(leaf, T0)
    other = TrustStore.from_ca_bundle(test_pki.ca.cert)
    for _ in range(2):
        with pytest.raises(SecurityFault) as refused:
            other.validate(leaf, T0)
        assert "does not chain to a trusted CA" in refused.value.reason


def test_refusals_are_not_cached_and_successes_expire(short_lived_ca, monkeypatch):
    ca, leaf = short_lived_ca
    store = TrustStore(anchors=[ca])
    built = []
    real = TrustStore._check_chain
    monkeypatch.setattr(TrustStore, "_check_chain", lambda self, *a: built.append(a) or real(self, *a))
    for _ in range(2):
        with pytest.raises(SecurityFault):
            store.validate(leaf, T0 + timedelta(days=20))
    assert len(built) == 2  # each refusal was decided afresh
    store.validate(leaf, T0)
    store.validate(leaf, T0 + timedelta(hours=1))
    assert len(built) == 3  # the second success came from the cache
    clock = trust.time.monotonic() + trust._Passed.TTL + 1
    monkeypatch.setattr(trust.time, "monotonic", lambda: clock)
    store.validate(leaf, T0)
    assert len(built) == 4  # past the TTL the chain is built again


def test_refusals_leave_nothing_behind(keys, test_pki, short_lived_ca):
    store = TrustStore.from_ca_bundle(test_pki.ca.cert)
    for signer in (keys.untrusted, keys.selfsigned, keys.expired, keys.ca):
        with pytest.raises(SecurityFault):
            store.validate(signer.certificate, utcnow())
    with pytest.raises(SecurityFault):
        store.validate(short_lived_ca[1], T0)
    assert not store._passed._entries


def test_a_pinned_certificate_is_remembered_within_its_own_dates(keys, test_pki):
    store = TrustStore.pinned([test_pki.mdms.cert])
    cert = keys.mdms.certificate
    store.validate(cert, utcnow())
    store.validate(cert, utcnow())
    with pytest.raises(SecurityFault) as late:
        store.validate(cert, cert.not_valid_after_utc + timedelta(seconds=1))
    assert "expired on" in late.value.reason
    with pytest.raises(SecurityFault) as other:
        store.validate(keys.oms.certificate, utcnow())
    assert "not one of the pinned certificates" in other.value.reason


def test_the_chain_cache_is_bounded():
    cache = trust._Passed()
    chain = [type("C", (), {"not_valid_before_utc": T0 - timedelta(days=1),
                            "not_valid_after_utc": T0 + timedelta(days=1)})()]
    for i in range(cache.SIZE + 10):
        cache.remember(b"der-%d" % i, chain)
    assert not cache.holds(b"der-0", T0) and cache.holds(b"der-%d" % (cache.SIZE + 9), T0)
    assert len(cache._entries) == cache.SIZE
    assert not cache.holds(b"der-%d" % (cache.SIZE + 9), T0 + timedelta(days=1))  # the edge is not inside


def test_dates_and_extensions_are_still_checked_for_a_cached_certificate(keys, trust):
    cert = keys.mdms.certificate
    trust.validate(cert, utcnow())
    with pytest.raises(SecurityFault) as late:
        trust.validate(cert, cert.not_valid_after_utc + timedelta(seconds=1))
    assert "expired on" in late.value.reason
    with pytest.raises(SecurityFault) as early:
        trust.validate(cert, cert.not_valid_before_utc - timedelta(seconds=1))
    assert "is not valid before" in early.value.reason
    for _ in range(2):
        with pytest.raises(SecurityFault) as ca:
            trust.validate(keys.ca.certificate, utcnow())
        assert "is a CA certificate" in ca.value.reason


def test_certificate_facts_are_per_certificate(keys):
    der = keys.mdms.certificate.public_bytes(serialization.Encoding.DER)
    twin = x509.load_der_x509_certificate(der)
    assert subject_text(twin) == subject_text(keys.mdms.certificate) == "CN=MDMS,O=soapbus test PKI"
    assert subject_names(keys.oms.certificate)[0] == "OMS"
    assert crypto.verification_key(twin) is crypto.verification_key(keys.mdms.certificate)
    assert crypto.verification_key(keys.oms.certificate) is not crypto.verification_key(twin)


def test_a_cached_key_still_refuses_a_signature_by_another_key(keys, trust):
    verifier = Verifier(trust)
    verifier.verify(wire(signed(keys.mdms)))  # the MDMS key is now cached
    data = wire(signed(keys.oms))
    mdms_token = keys.mdms.certificate_base64
    swapped = data.replace(keys.oms.certificate_base64.encode(), mdms_token.encode())
    assert swapped != data
    with pytest.raises(SecurityFault) as refused:
        verifier.verify(swapped)
    assert refused.value.code == FAILED_CHECK


def test_signing_uses_the_key_parsed_once_and_writes_keyinfo_itself(keys, trust):
    from cryptography.hazmat.primitives.asymmetric import ec

    assert isinstance(keys.mdms.private_key, rsa.RSAPrivateKey)
    assert isinstance(keys.ecdsa.private_key, ec.EllipticCurvePrivateKey)
    spki = keys.mdms.certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    assert keys.mdms.private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo) == spki
    env = signed(keys.mdms)
    assert env.find(".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate") is None  # KeyInfo is ours alone
    assert Verifier(trust).verify(wire(env)).subject == "CN=MDMS,O=soapbus test PKI"
    ecdsa = signed(keys.ecdsa)
    assert Verifier(trust).verify(wire(ecdsa)).subject_names[0] == "SCADA"


def test_unverified_certificates_are_kept_nowhere(keys, trust):
    from soapbus.security import identity

    verifier = Verifier(trust)
    identity.of_accepted.cache_clear()
    crypto.verification_key.cache_clear()
    for signer in (keys.untrusted, keys.selfsigned, keys.expired, keys.ca):
        with pytest.raises(SecurityFault):
            verifier.verify(wire(signed(signer)))
    assert identity.of_accepted.cache_info().currsize == 0
    assert crypto.verification_key.cache_info().currsize == 0
    verified = verifier.verify(wire(signed(keys.mdms)))
    assert identity.of_accepted(verified.certificate).subject == verified.subject == "CN=MDMS,O=soapbus test PKI"
    assert identity.of_accepted.cache_info().currsize == 1


def test_token_texts_are_remembered_only_after_their_signature_verified(keys, trust):
    from soapbus.security import tokens

    tokens._READ.clear()
    verifier = Verifier(trust)
    for signer in (keys.untrusted, keys.selfsigned, keys.expired, keys.ca):
        with pytest.raises(SecurityFault):
            verifier.verify(wire(signed(signer)))
    data = wire(signed(keys.oms))
    with pytest.raises(SecurityFault):  # a valid certificate, but the signature made with another key
        verifier.verify(data.replace(keys.oms.certificate_base64.encode(), keys.mdms.certificate_base64.encode()))
    assert not tokens._READ._entries
    first = verifier.verify(wire(signed(keys.mdms)))
    assert list(tokens._READ._entries) == [keys.mdms.certificate_base64]
    again = verifier.verify(wire(signed(keys.mdms)))  # the token text is read from memory now
    assert again.certificate is first.certificate and again.subject == first.subject
    # what is remembered is how a text reads, nothing about trust: an untrusted store still refuses it
    with pytest.raises(SecurityFault) as refused:
        Verifier(TrustStore.pinned([keys.oms.certificate])).verify(wire(signed(keys.mdms)))
    assert refused.value.code == FAILED_AUTHENTICATION


def test_the_token_memory_is_bounded(keys):
    from soapbus.security import tokens

    memory = tokens._Read()
    for i in range(memory.SIZE + 5):
        memory.put(f"text-{i}", keys.mdms.certificate, keys.mdms.certificate_der)
    assert len(memory._entries) == memory.SIZE and memory.get("text-0") is None
    assert memory.get(f"text-{memory.SIZE + 4}") == (keys.mdms.certificate, keys.mdms.certificate_der)
