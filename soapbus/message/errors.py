"""The one exception the message layer raises: a problem that has a 61968 reply code."""
from __future__ import annotations


class MessageError(ValueError):
    """An inbound message that cannot be accepted, with the reply code that says why."""

    def __init__(self, code: str, reason: str, xpath: str | None = None, details: str | None = None):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.xpath = xpath
        self.details = details
