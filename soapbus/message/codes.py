"""61968-100 reply codes (only those seen in public use; none invented)."""
from __future__ import annotations

OK = "OK"
PARTIAL = "PARTIAL"
FAILED = "FAILED"
RESULTS = (OK, PARTIAL, FAILED)

LEVELS = ("INFORM", "WARNING", "FATAL", "CATASTROPHIC")

CODES: dict[str, str] = {
    "0.0": "OK",
    "0.1": "partial result, more follow",
    "0.2": "partial result, this is the last",
    "0.3": "simple acknowledgement",
    "1.5": "mandatory Header element missing",
    "1.6": "mandatory Request element missing",
    "1.7": "mandatory Payload element missing",
    "1.8": "does not validate against the schema",
    "1.9": "unsupported Revision",
    "2.4": "invalid meter(s)",
    "2.5": "invalid Noun",
    "2.9": "invalid Verb",
    "2.12": "invalid usage point(s)",
    "2.14": "invalid Source",
    "2.15": "invalid request ID(s)",
    "2.29": "object relationship mismatch",
    "3.1": "too many items in the request",
    "3.2": "too many pending requests",
    "4.1": "timed out",
    "5.1": "high system activity",
    "5.2": "transaction not attempted",
    "5.3": "transaction attempted and failed",
    "5.4": "several error types",
    "5.7": "data unavailable",
    "5.8": "mandatory field missing",
    "5.9": "aborted to keep transactional integrity",
    "6.1": "cancelled by a business rule",
    "6.2": "placed on hold",
    "6.4": "rescheduled",
    "6.5": "cancelled by the user",
}


def describe(code: str) -> str:
    return CODES.get(code, "unknown code")


def is_success(code: str) -> bool:
    return code.split(".", 1)[0] == "0"
