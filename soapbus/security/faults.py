"""SecurityFault: the one exception soapbus.security raises for a message it refuses.

Its code is one of the WS-Security 1.1 standard fault QNames (section 12 of the SOAP Message
Security spec); the reason says what was wrong in words a person can act on.
"""
from __future__ import annotations

from lxml import etree

from soapbus.message import soap

from . import ns

INVALID_SECURITY = "wsse:InvalidSecurity"
INVALID_SECURITY_TOKEN = "wsse:InvalidSecurityToken"
FAILED_AUTHENTICATION = "wsse:FailedAuthentication"
FAILED_CHECK = "wsse:FailedCheck"
MESSAGE_EXPIRED = "wsu:MessageExpired"

CODES = (INVALID_SECURITY, INVALID_SECURITY_TOKEN, FAILED_AUTHENTICATION, FAILED_CHECK, MESSAGE_EXPIRED)
_PREFIXES = {"wsse": ns.WSSE, "wsu": ns.WSU}


class SecurityFault(Exception):
    """A message refused by the security layer; nothing of it may be used."""

    def __init__(self, code: str, reason: str):
        if code not in CODES:
            raise ValueError(f"{code!r} is not a WS-Security fault code; use one of {CODES}")
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason

    @property
    def qname(self) -> etree.QName:
        prefix, local = self.code.split(":", 1)
        return etree.QName(_PREFIXES[prefix], local)

    def fault_envelope(self) -> etree._Element:
        """The SOAP 1.1 Fault envelope that answers the refused message."""
        prefix = self.code.split(":", 1)[0]
        return soap.fault(self.code, self.reason, nsmap={prefix: _PREFIXES[prefix]})


def invalid(reason: str) -> SecurityFault:
    return SecurityFault(INVALID_SECURITY, reason)


def bad_token(reason: str) -> SecurityFault:
    return SecurityFault(INVALID_SECURITY_TOKEN, reason)


def not_authenticated(reason: str) -> SecurityFault:
    return SecurityFault(FAILED_AUTHENTICATION, reason)


def failed_check(reason: str) -> SecurityFault:
    return SecurityFault(FAILED_CHECK, reason)


def expired(reason: str) -> SecurityFault:
    return SecurityFault(MESSAGE_EXPIRED, reason)
