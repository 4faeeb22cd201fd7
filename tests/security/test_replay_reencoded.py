"""A signature is remembered by what it signs, so writing its value anew does not make a replay new.

An ECDSA signature (r, s) verifies as (r, n - s) too, and base64 may be broken into lines any
way: the SignatureValue text of a captured message can be rewritten without touching what was
signed. The replay memory is keyed on the SHA-256 of the canonical ds:SignedInfo (scope
`signedinfo-sha256`), which cannot be. The messages here carry no 61968 Nonce, so only the
signature memory stands between a replay and the pipeline. Over HTTP: test_replay_server.py.
"""
from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from soapbus.security import INVALID_SECURITY, Policy, SecurityFault, Verifier, sign_envelope
from soapbus.store import Store

from .support import (MemoryReplay, base64_rewrapped, base64_spare_bits_set, ecdsa_negated_s, envelope, signed,
                      utcnow, wire, with_signature_value, xmlsec_alone_accepts)

REWRITES = [("ecdsa", ecdsa_negated_s), ("ecdsa", base64_spare_bits_set), ("mdms", base64_spare_bits_set),
            ("ecdsa", base64_rewrapped), ("mdms", base64_rewrapped)]
REWRITE_IDS = ["ecdsa-n-minus-s", "ecdsa-base64-spare-bits", "rsa-base64-spare-bits", "ecdsa-base64-rewrapped",
               "rsa-base64-rewrapped"]


def _pem(key) -> bytes:
    return key.certificate.public_bytes(serialization.Encoding.PEM)


def _replay_refused(verifier: Verifier, data: bytes) -> str:
    with pytest.raises(SecurityFault) as caught:
        verifier.verify(data)
    assert caught.value.code == INVALID_SECURITY, caught.value.reason
    return caught.value.reason


@pytest.mark.parametrize("signer, rewrite", REWRITES, ids=REWRITE_IDS)
def test_the_rewritten_value_is_a_valid_signature_of_the_same_message(signer, rewrite, keys, trust):
    """What makes the attack real: without a memory, ours and xmlsec both accept the rewritten copy."""
    key = getattr(keys, signer)
    data = wire(signed(key, with_nonce=False))
    rewritten = with_signature_value(data, rewrite)
    assert rewritten != data
    original, again = Verifier(trust).verify(data), Verifier(trust).verify(rewritten)
    assert again.signed_info_digest == original.signed_info_digest
    if rewrite is not base64_rewrapped:  # the value text differs even with whitespace taken out
        assert again.signature_value != original.signature_value
    assert xmlsec_alone_accepts(rewritten, _pem(key))


@pytest.mark.parametrize("signer, rewrite", REWRITES, ids=REWRITE_IDS)
def test_a_replay_with_the_value_rewritten_is_refused(signer, rewrite, keys, trust):
    key = getattr(keys, signer)
    unsigned = envelope(with_nonce=False)
    data = wire(sign_envelope(copy.deepcopy(unsigned), key))
    verifier = Verifier(trust, Policy(), MemoryReplay())
    assert verifier.verify(data).nonce is None  # only the signature memory can catch a replay
    assert "already accepted once" in _replay_refused(verifier, with_signature_value(data, rewrite))
    assert "already accepted once" in _replay_refused(verifier, data)
    # The control: a fresh signature of the very same Body is a message of its own.
    fresh = wire(sign_envelope(unsigned, key))
    assert verifier.verify(fresh).source == "MDMS"


def test_the_rewritten_copy_first_then_the_original_is_refused(keys, trust):
    data = wire(signed(keys.ecdsa, with_nonce=False))
    verifier = Verifier(trust, Policy(), MemoryReplay())
    verifier.verify(with_signature_value(data, ecdsa_negated_s))
    assert "already accepted once" in _replay_refused(verifier, data)


def test_rows_the_previous_key_left_in_the_database_break_nothing(tmp_path, keys, trust):
    """Deployed databases hold memories under the former scope `sigvalue` (the SignatureValue text).

    They are not consulted any more and expire as before; the new scope works beside them.
    """
    store = Store(f"sqlite:///{tmp_path / 'replay.db'}")
    try:
        store.create_schema()
        data = wire(signed(keys.ecdsa, with_nonce=False))
        first = Verifier(trust).verify(data)
        assert store.remember_once("sigvalue", first.signature_value, utcnow() + timedelta(minutes=6))
        verifier = Verifier(trust, Policy(), store)
        verified = verifier.verify(data)
        assert "already accepted once" in _replay_refused(verifier, with_signature_value(data, ecdsa_negated_s))
        assert store.remember_once("signedinfo-sha256", verified.signed_info_digest,
                                   utcnow() + timedelta(minutes=6)) is False
        assert store.purge_expired(utcnow() + timedelta(hours=1)) == 2  # the old row and the new one
    finally:
        store.close()
