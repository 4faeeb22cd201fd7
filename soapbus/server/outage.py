"""The answer to a request the database cannot take: 61968 code 5.2, Retry-After, nothing written.

Why 5.2 ("transaction not attempted") and not 5.1 ("high system activity"): nothing of the
message was done. The unit of work that would have claimed the MessageID, run the handler and
journaled both messages was rolled back, or never began, so the sender loses nothing by sending
the same message again, and the standard's way to say "you may" is that nothing was attempted.
5.1 says the system is busy, which invites a sender to slow down but tells it nothing about its
message. Should the connection break while a transaction commits, the message may in fact have
been processed; the re-send is still safe, because the same MessageID then meets its claim and
gets the recorded answer instead of acting twice.

The answer is a SOAP Fault (soapenv:Server, HTTP 500, as WS-I BP requires of a Fault) whose
detail is a 61968 FaultMessage, whatever point the request had reached: the outage is no verdict
on the message, so it is not a ResponseMessage (which a sender would file as the message's
answer), and it is the same answer whether the Header was read or not. It is the shape
the server already gives when it fails for reasons of its own (5.3): server/faults.py builds both. `Retry-After`
says when to send again. Neither the request nor this answer is journaled (the journal is in the
unreachable database), and the answer says so; the log has one line when the database goes and
one when it is back (soapbus.store.availability), not one per request.
"""
from __future__ import annotations

from functools import lru_cache

from ..message import Error
from .faults import SERVER, failed_fault
from .pipeline import Outcome

OUTAGE_CODE = "5.2"
RETRY_AFTER_SECONDS = 5  # a gated answer costs no database work, so a prompt re-send is cheap
RETRY_HEADERS = {"Retry-After": str(RETRY_AFTER_SECONDS)}


def outage_error() -> Error:
    """The 61968 Error of the answer. The driver's own words (host, port) stay in the log and on
    /health/ready for local callers: they are not the sender's business."""
    return Error(code=OUTAGE_CODE, level="FATAL", reason=(
        "transaction not attempted: this system's database is not available; send the message again, "
        f"with the same MessageID, after {RETRY_AFTER_SECONDS} seconds (Retry-After)"), details=(
        "Neither this request nor this answer is in the message journal, which is kept in that database. "
        "Whatever the message had started was rolled back; should the connection have broken while committing, "
        "a re-send with the same MessageID gets the recorded answer rather than acting twice."))


@lru_cache(maxsize=1)
def outage_body() -> bytes:
    """The whole answer envelope: the same bytes for every request, built once."""
    return failed_fault(outage_error(), SERVER)


def outage_outcome() -> Outcome:
    """The answer as the pipeline's Outcome: while the database is known to be away (no database
    work at all), or for a request it failed in the middle of (server/inbound.py gives both)."""
    return Outcome(500, outage_body(), headers=tuple(RETRY_HEADERS.items()))


__all__ = ["OUTAGE_CODE", "RETRY_AFTER_SECONDS", "RETRY_HEADERS", "outage_body", "outage_error", "outage_outcome"]
