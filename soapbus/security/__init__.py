"""WS-Security 1.1 (X.509 Token Profile) for soapbus's SOAP 1.1 envelopes, and the IEC 62325-504 mode.

A library: it signs and verifies elements, and knows nothing of transports. Verification
returns only what the signature covers (`Verified.body`); callers use that and nothing else.
"""
from . import ns, pki
from .binding import Allowed, check_source_binding
from .c62325 import Verified62325, sign_62325, verify_62325
from .faults import (CODES, FAILED_AUTHENTICATION, FAILED_CHECK, INVALID_SECURITY, INVALID_SECURITY_TOKEN,
                     MESSAGE_EXPIRED, SecurityFault)
from .keys import SigningKey
from .policy import Policy
from .replay import PendingMemories, ReplayMemory
from .sign import sign_envelope, signed_bytes
from .trust import TrustStore
from .verify import Verified, Verifier

__all__ = [
    "ns", "pki", "Allowed", "check_source_binding", "Verified62325", "sign_62325", "verify_62325", "CODES",
    "FAILED_AUTHENTICATION", "FAILED_CHECK", "INVALID_SECURITY", "INVALID_SECURITY_TOKEN", "MESSAGE_EXPIRED",
    "SecurityFault", "SigningKey", "Policy", "ReplayMemory", "PendingMemories", "sign_envelope", "signed_bytes",
    "TrustStore", "Verified", "Verifier",
]
