"""What a receiver's answer means for a delivery: delivered, try again (and when), or refused.

* Any 2xx is delivered: the receiver has the message. A 61968 FAILED answer is recorded with
  the delivery (its codes in last_error), except 5.x codes (5.1 busy, 5.2 not attempted, 5.3
  failed inside), which say "not done, send it again": retried. An empty 200 body is delivered.
* 429, 503 and 408 are retried, when Retry-After says if it says.
* A SOAP Fault (HTTP 500) is retried, unless it is the receiver refusing the message itself
  (a Client/Sender fault whose 61968 code is not 5.x): sending it again cannot help, so it is
  refused (a dead letter at once, re-driven only by hand). So are 400, 413, 415 and 422.
* Anything else (no connection, a timeout, 404, 502 ...) is retried within the budget.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from .. import message as m
from ..message import MessageError, codes, soap

DELIVERED, RETRY, REFUSED = "delivered", "retry", "refused"
_REFUSED_STATUSES = (400, 413, 415, 422)
_BUSY_STATUSES = (408, 429, 503)


@dataclass
class Verdict:
    outcome: str  # DELIVERED, RETRY or REFUSED
    status: int | None  # the HTTP status, if an answer came
    error: str | None = None  # why not delivered; for a delivered FAILED answer, what it said
    retry_after: float | None = None  # seconds the receiver asked us to wait
    answer: bytes | None = None  # the answer as it came

    @property
    def delivered(self) -> bool:
        return self.outcome == DELIVERED


def unreachable(destination: str, reason: str) -> Verdict:
    return Verdict(RETRY, None, f"cannot reach {destination}: {reason}")


def classify(status: int, headers, body: bytes) -> Verdict:
    """The verdict on one HTTP answer; `headers.get(name)` gives a header's value or None."""
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if 200 <= status < 300:
        return _two_hundred(status, body)
    if status in _BUSY_STATUSES:
        return Verdict(RETRY, status, f"receiver busy (HTTP {status})", retry_after, body)
    if status in _REFUSED_STATUSES:
        return Verdict(REFUSED, status, f"receiver refused the message (HTTP {status}): {_snippet(body)}", None, body)
    fault = _fault(body)
    if fault is not None:
        code, text = fault
        client = code.split(":")[-1] in ("Client", "Sender")
        outcome = REFUSED if client and not text.startswith("5.") else RETRY
        return Verdict(outcome, status, f"SOAP fault {code}: {text}", retry_after, body)
    return Verdict(RETRY, status, f"HTTP {status}", retry_after, body)


def _two_hundred(status: int, body: bytes) -> Verdict:
    if not body.strip():
        return Verdict(DELIVERED, status, None, None, body)
    try:
        unwrapped = soap.unwrap(body)
        fault = soap.read_fault(unwrapped.envelope)
        if fault is not None:
            return Verdict(RETRY, status, f"SOAP fault {fault.code}: {_fault_text(fault)}", None, body)
        answer = m.parse(unwrapped.message, "ResponseMessage")
    except MessageError as exc:  # the receiver has it; what it answered is not ours to judge
        return Verdict(DELIVERED, status, f"answer is not a 61968 ResponseMessage: {exc.reason}", None, body)
    if answer.reply.result != codes.FAILED:
        return Verdict(DELIVERED, status, None, None, body)
    said = "; ".join(f"{e.code} {e.reason or ''}".strip() for e in answer.reply.errors) or "no error given"
    if any((e.code or "").startswith("5.") for e in answer.reply.errors):
        return Verdict(RETRY, status, f"receiver answered FAILED {said}", None, body)
    return Verdict(DELIVERED, status, f"receiver answered FAILED {said}"[:2000], None, body)


def _fault(body: bytes) -> tuple[str, str] | None:
    try:
        fault = soap.read_fault(m.parse_bytes(body, "answer"))
    except MessageError:
        return None
    return None if fault is None else (fault.code, _fault_text(fault))


def _fault_text(fault) -> str:
    """The 61968 code and reason of a FaultMessage detail, else the faultstring."""
    if fault.detail is not None:
        found = fault.detail.xpath(".//*[local-name()='Error']/*[local-name()='code']/text()")
        if found:
            return f"{found[0].strip()} {fault.reason}"
    return fault.reason


def _snippet(body: bytes) -> str:
    return body[:200].decode("utf-8", "replace").strip() or "(no body)"


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


__all__ = ["Verdict", "classify", "unreachable", "parse_retry_after", "DELIVERED", "RETRY", "REFUSED"]
