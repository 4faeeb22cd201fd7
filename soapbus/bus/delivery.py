"""The delivery worker: sends what the outbox holds, at least once, in order per sequence key.

Every outbound message (asynchronous replies, events, forwarded requests) was written to the
outbox in the same transaction as the change that caused it; this worker leases due items,
POSTs them, and records the outcome. A failed attempt is retried with exponential backoff and
full jitter; a receiver that says it is busy (61968 code 5.1, or HTTP 429/503 with
Retry-After) is asked again when it says; after `max_attempts` the item becomes a dead letter
that an operator can list, replay or purge (`soapbus outbox ...`). Receivers deduplicate by
MessageID, so a message sent twice (a crash between the POST and the bookkeeping) acts once.
"""
from __future__ import annotations

import logging
import os
import random
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Callable

import requests
from lxml import etree

from .. import message as m
from ..message import MessageError, codes, soap

log = logging.getLogger(__name__)


@dataclass
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 0.5  # seconds before the second attempt, doubled each time
    max_delay: float = 300.0
    lease_seconds: float = 30.0  # a worker that dies holding a lease loses it after this
    timeout: float = 10.0  # per HTTP attempt

    def backoff(self, attempts: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**attempts)] (attempts already made)."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * (2 ** max(attempts - 1, 0))))


@dataclass
class Attempt:
    delivered: bool
    retry_after: float | None  # seconds the receiver asked us to wait, when it said so
    status: int | None
    error: str | None
    answer: bytes | None = None  # the receiver's answer, as it came


def classify(status: int, headers, body: bytes) -> Attempt:
    """Whether a receiver's answer means delivered, and when to try again if not."""
    retry_after = _retry_after(headers.get("Retry-After"))
    if status in (429, 503):
        return Attempt(False, retry_after, status, f"receiver busy (HTTP {status})")
    if status not in (200, 202, 500):
        return Attempt(False, retry_after, status, f"HTTP {status}")
    if status == 202 or not body.strip():
        return Attempt(status == 202, None, status, None if status == 202 else "empty answer")
    try:
        unwrapped = soap.unwrap(body)
    except MessageError as exc:
        return Attempt(False, retry_after, status, f"answer is not SOAP: {exc.reason}")
    fault = soap.read_fault(unwrapped.envelope)
    if fault is not None:
        return Attempt(False, retry_after, status, f"SOAP fault {fault.code}: {fault.reason}")
    try:
        answer = m.parse(unwrapped.message, "ResponseMessage")
    except MessageError as exc:
        return Attempt(False, retry_after, status, f"answer is not a ResponseMessage: {exc.reason}")
    codes_sent = [e.code for e in answer.reply.errors]
    if answer.reply.result == codes.FAILED and "5.1" in codes_sent:
        return Attempt(False, retry_after, status, "receiver busy (5.1)")
    # Any other answer, FAILED included, means the receiver has the message: it was delivered.
    return Attempt(True, None, status, None)


def _retry_after(value: str | None) -> float | None:
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
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class DeliveryWorker:
    """Leases and sends outbox items; `run_once` is called from a thread, never on the reactor."""

    def __init__(self, store, signer: Callable[[etree._Element], etree._Element] | None = None,
                 policy: RetryPolicy | None = None, name: str | None = None, session: requests.Session | None = None,
                 rng: random.Random | None = None, journal: bool = True):
        self.store = store
        self.signer = signer
        self.policy = policy or RetryPolicy()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.session = session or requests.Session()
        self.rng = rng or random.Random()
        self.journal = journal

    def run_once(self, limit: int = 50, now: datetime | None = None) -> int:
        """Send what is due; returns how many items were attempted."""
        now = now or datetime.now(timezone.utc)
        items = self.store.outbox_lease(self.name, now, limit, self.policy.lease_seconds)
        for item in items:
            self.deliver(item)
        return len(items)

    def deliver(self, item) -> Attempt:
        """Send one item this worker holds the lease of, and settle it (delivered, retry or dead)."""
        full = item if item.body is not None else self.store.outbox_get(item.id)
        body = self._signed(full.body) if full.sign else full.body
        attempt = self._post(full.destination, full.soap_action, body)
        now = datetime.now(timezone.utc)
        if attempt.delivered:
            if self.store.outbox_delivered(item.id, self.name, now, attempt.status):
                self._journal(full, body, "delivered", None)
        elif full.attempts + 1 >= self.policy.max_attempts:
            log.warning("outbox %s to %s is a dead letter after %d attempts: %s", item.id, full.destination,
                        full.attempts + 1, attempt.error)
            if self.store.outbox_dead(item.id, self.name, attempt.error, attempt.status):
                self._journal(full, body, "dead", attempt.error)
        else:
            delay = attempt.retry_after if attempt.retry_after is not None else \
                self.policy.backoff(full.attempts + 1, self.rng)
            self.store.outbox_retry(item.id, self.name, now + timedelta(seconds=delay), attempt.error, attempt.status)
        return attempt

    def _post(self, destination: str, soap_action: str, body: bytes) -> Attempt:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{soap_action}"'}
        try:
            resp = self.session.post(destination, data=body, headers=headers, timeout=self.policy.timeout)
        except requests.RequestException as exc:
            return Attempt(False, None, None, f"cannot reach {destination}: {type(exc).__name__}: {exc}")
        attempt = classify(resp.status_code, resp.headers, resp.content)
        attempt.answer = resp.content
        return attempt

    def _signed(self, body: bytes) -> bytes:
        if self.signer is None:
            raise RuntimeError("an outbox item must be signed but this worker has no signing key")
        return soap.to_bytes(self.signer(m.parse_bytes(body, "outbox message")))

    def _journal(self, item, body: bytes, outcome: str, reason: str | None) -> None:
        if not self.journal:
            return
        header = _header_of(body)
        kind = "EventMessage" if item.kind == "event" else ("ResponseMessage" if item.kind == "reply"
                                                            else "RequestMessage")
        with self.store.unit_of_work() as uow:
            uow.journal("out", body, header=header, kind=kind, peer=item.destination, outcome=outcome, reason=reason)


def _header_of(body: bytes):
    try:
        return m.parse(soap.unwrap(body).message).header
    except MessageError:
        return None


__all__ = ["DeliveryWorker", "RetryPolicy", "Attempt", "classify"]
