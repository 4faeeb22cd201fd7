"""Replay memory: the protocol the Verifier needs, implemented elsewhere (the store, in its database)."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

# Signatures already accepted, keyed by the SHA-256 (base64) of the canonical ds:SignedInfo,
# the octets the signature value signs. Not by the value itself: a value can be written anew
# and still verify (an ECDSA (r, s) as (r, n - s), a leading zero octet dropped, base64 broken
# into other lines), the canonical SignedInfo cannot. Memories under the scope used before,
# "sigvalue" (the SignatureValue text), are no longer consulted and expire where they are.
SIGNED_INFO_SCOPE = "signedinfo-sha256"


def nonce_scope(source: str) -> str:
    """61968-100 only demands a Nonce be unique per Source, so each Source has its own scope."""
    return f"nonce:{source}"


@runtime_checkable
class ReplayMemory(Protocol):
    def remember_once(self, scope: str, key: str, expires_at: datetime) -> bool:
        """Record `key` in `scope` until `expires_at`; False when it was already recorded and unexpired.

        Must be atomic across the processes sharing the memory: two deliveries of the same
        message racing each other must not both get True.

        A memory may also offer `remember_each([(scope, key, expires_at), ...]) -> [bool, ...]`,
        the same for several keys at once (the store does it in one transaction); the Verifier
        uses it when it is there.
        """
        ...
