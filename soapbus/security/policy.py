"""What the Verifier accepts: one immutable object, so a deployment states its rules in one place."""
from __future__ import annotations

from dataclasses import dataclass

ONE_DAY = 86400.0


@dataclass(frozen=True)
class Policy:
    # Longest lifetime accepted for a wsu:Timestamp, counted from its Created, in seconds.
    ttl: float = 300.0
    # How far a sender's Created may run ahead of our clock, in seconds.
    future_skew: float = 60.0
    # SHA-1 signature and digest methods are refused unless a legacy partner needs them.
    allow_sha1: bool = False
    # Require a 61968 Header inside the signed Body (it is then covered by the Body's digest).
    require_signed_61968_header: bool = False
    # The soap:actor our wsse:Security header carries; None for the ultimate receiver.
    actor: str | None = None
    # How long a 61968 ReplayDetection Nonce is remembered per Source (at least a day, IEC 61968-100).
    nonce_ttl: float = ONE_DAY
    # Largest message accepted, in bytes, before any parsing.
    max_bytes: int = 10 * 1024 * 1024

    def __post_init__(self):
        if self.nonce_ttl < ONE_DAY:
            raise ValueError("61968-100 wants a Nonce not repeated within a day: nonce_ttl must be >= 86400 s")
        if self.ttl <= 0 or self.future_skew < 0 or self.max_bytes <= 0:
            raise ValueError("ttl and max_bytes must be positive and future_skew not negative")
