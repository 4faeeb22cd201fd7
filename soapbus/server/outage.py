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
the server already gives when it fails for reasons of its own (wsgi_host, 5.3). `Retry-After`
says when to send again. Neither the request nor this answer is journaled (the journal is in the
unreachable database), and the answer says so; the log has one line when the database goes and
one when it is back (soapbus.store.availability), not one per request.
"""
from __future__ import annotations

from functools import lru_cache

from ..message import Error, FaultMessage, Reply, codes, soap
from ..message import envelope as env
from ..store import StoreUnavailable
from .pipeline import Outcome

OUTAGE_CODE = "5.2"
RETRY_AFTER_SECONDS = 5  # a gated answer costs no database work, so a prompt re-send is cheap
RETRY_HEADERS = {"Retry-After": str(RETRY_AFTER_SECONDS)}
CONTENT_TYPE = "text/xml; charset=utf-8"


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
    error = outage_error()
    detail = env.to_element(FaultMessage(Reply(result=codes.FAILED, errors=[error])))
    return soap.to_bytes(soap.fault("soapenv:Server", f"{error.code}: {error.reason}", detail))


def outage_outcome() -> Outcome:
    """The answer as the pipeline's Outcome, for a request the database failed in the middle of."""
    return Outcome(500, outage_body())


class OutageGate:
    """The WSGI application in front of one SOAP endpoint while the database may be away.

    Not ready (the database is known to be down, or the schema is not created yet): the 5.2
    answer at once, without a database round trip, so an outage costs neither a connection
    attempt nor a thread's wait per request. Ready: the endpoint runs; if the database goes away
    under it (a StoreUnavailable out of the front's journaling or the security guard's replay
    memory), the same answer. Inside Spyne the operation method answers it (spyne_app), since
    Spyne turns any exception of a method into its own generic fault.
    """

    def __init__(self, endpoint, is_ready):
        self.endpoint = endpoint
        self.is_ready = is_ready  # () -> bool, read on every request: a plain attribute read

    def __call__(self, environ, start_response):
        if not self.is_ready():
            return self._answer(start_response)
        try:
            return self.endpoint(environ, start_response)
        except StoreUnavailable:
            return self._answer(start_response)

    @staticmethod
    def _answer(start_response):
        body = outage_body()
        start_response("500 Internal Server Error", [("Content-Type", CONTENT_TYPE), *RETRY_HEADERS.items(),
                                                     ("Content-Length", str(len(body)))])
        return [body]


__all__ = ["OUTAGE_CODE", "RETRY_AFTER_SECONDS", "RETRY_HEADERS", "OutageGate", "outage_body", "outage_error",
           "outage_outcome"]
