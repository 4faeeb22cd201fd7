"""One exception type per way a call can fail."""
from __future__ import annotations


class SoapbusClientError(Exception):
    """Base of everything the client raises."""


class TransportError(SoapbusClientError):
    """The endpoint could not be reached, or answered with something that is not SOAP."""

    def __init__(self, message: str, status: int | None = None, body: bytes | None = None):
        super().__init__(message)
        self.status = status
        self.body = body


class SoapFaultError(SoapbusClientError):
    """The endpoint answered a SOAP Fault; `fault_message` holds the 61968 FaultMessage if it sent one."""

    def __init__(self, code: str, reason: str, fault_message=None, status: int | None = None):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.fault_message = fault_message
        self.status = status

    @property
    def reply_code(self) -> str | None:
        if self.fault_message is not None and self.fault_message.reply.errors:
            return self.fault_message.reply.errors[0].code
        return None


class FailedReply(SoapbusClientError):
    """The endpoint answered Result FAILED; `reply` is the parsed answer with its Errors."""

    def __init__(self, reply):
        errors = "; ".join(f"{e.code} {e.reason or ''}".strip() for e in reply.errors) or "no Error given"
        super().__init__(f"FAILED: {errors}")
        self.reply = reply

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.reply.errors]


class SecurityError(SoapbusClientError):
    """A response that should have been signed did not verify (bad, missing or untrusted signature)."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class NotOffered(SoapbusClientError):
    """None of the client's WSDLs offers an operation for this noun and verb."""


class DiscoveryError(TransportError):
    """A target's WSDL could not be read: unreachable, not a WSDL, or a schema it imports is missing."""


class UnverifiedAnswer(UserWarning):
    """An answer carried a WS-Security signature that was not checked: the client was given no `trust=`.

    Issued with `warnings.warn` once per answer; give `trust=` (a soapbus.security.TrustStore) to have
    answers verified, or filter the warning where unverified answers are acceptable.
    """
