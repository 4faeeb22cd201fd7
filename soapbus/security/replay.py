"""Replay memory: the protocol the Verifier needs, implemented elsewhere (the store, in its database)."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from . import faults

# Signatures already accepted, keyed by the SHA-256 (base64) of the canonical ds:SignedInfo,
# the octets the signature value signs. Not by the value itself: a value can be written anew
# and still verify (an ECDSA (r, s) as (r, n - s), a leading zero octet dropped, base64 broken
# into other lines), the canonical SignedInfo cannot. Memories under the scope used before,
# "sigvalue" (the SignatureValue text), are no longer consulted and expire where they are.
SIGNED_INFO_SCOPE = "signedinfo-sha256"


def nonce_scope(source: str) -> str:
    """61968-100 only demands a Nonce be unique per Source, so each Source has its own scope."""
    return f"nonce:{source}"


def signature_replayed() -> faults.SecurityFault:
    return faults.invalid("this signature was already accepted once: the message is a replay")


def nonce_replayed(source: str, nonce: str) -> faults.SecurityFault:
    return faults.invalid(f"ReplayDetection Nonce {nonce!r} was already used by Source {source!r}: "
                          "the message is a replay")


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


class PendingMemories:
    """A replay memory for one request that writes nothing itself: it collects what the Verifier
    would remember, answering "first time" for each, and the caller writes them in the request's
    own transaction (`write`), where a repeat turns the request into a refused replay and rolls
    back with it. One request's memories are written once: `remembered` after a commit.

    `first_delivery=False`: the same message delivered again by a broker that never had the first
    delivery acknowledged; that one may have remembered them, so a memory found is no replay here
    (the (Source, MessageID) claim answers a message that did commit with its stored answer)."""

    def __init__(self, first_delivery: bool = True):
        self.memories: list[tuple[str, str, datetime]] = []
        self.first_delivery = first_delivery
        self.remembered = False

    def remember_once(self, scope: str, key: str, expires_at: datetime) -> bool:
        self.memories.append((scope, key, expires_at))
        return True

    def remember_each(self, memories) -> list[bool]:
        return [self.remember_once(scope, key, expires_at) for scope, key, expires_at in memories]

    def write(self, memory: ReplayMemory) -> None:
        """Remember each in `memory` (the request's unit of work); the replay's SecurityFault for
        the first that was remembered before (the caller rolls its transaction back)."""
        for scope, key, expires_at in self.memories:
            if not memory.remember_once(scope, key, expires_at) and self.first_delivery:
                if scope == SIGNED_INFO_SCOPE:
                    raise signature_replayed()
                raise nonce_replayed(scope.removeprefix("nonce:"), key)
