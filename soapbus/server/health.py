"""The server's view of its database, and the health endpoints that report it.

`DatabaseWatch` keeps that view: ready means the schema was created (or found) and the database
answered the last operations. At start-up it tries once, in the caller's thread; if the database
does not answer, `serve` starts anyway and the watch tries again every `interval` seconds from
the thread pool (never on the reactor), creating the schema the first time it can. While the
server is ready the same loop asks `SELECT 1`, so an outage nobody's request met yet is noticed
within an interval, and while it is not, the loop is the only thing that touches the database
(requests are answered 5.2 by server.outage's gate, the delivery worker waits).

    GET /health/live   200 {"live": true} while the process serves HTTP
    GET /health/ready  200 {"ready": true} once the database answers and the schema exists;
                       503 {"ready": false, "reason": ...} with Retry-After before that and
                       during an outage. Callers on this machine also get "detail", the
                       driver's own words (they name the database host and port).

Both are answered on the reactor from memory: a probe never waits on the database.
"""
from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from twisted.internet import task
from twisted.internet.threads import deferToThreadPool
from twisted.web import resource

from ..store import SchemaNotCurrent, Store, StoreUnavailable
from .outage import RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)

PROBE_INTERVAL = 1.0  # seconds between probes of the database

NOT_ANSWERING = "the database does not answer"
NO_SCHEMA_YET = "the database has not answered since start-up; the schema is created once it does"
SCHEMA_FAILED = "the database answers but the schema could not be created"
SCHEMA_NOT_CURRENT = "the database answers but its schema is not at this soapbus's revision (see the server log)"


class DatabaseWatch:
    """Whether the server can use its database now: the schema exists and the database answers."""

    def __init__(self, store: Store, interval: float = PROBE_INTERVAL, upgrade: bool = False):
        self.store = store
        self.interval = interval
        self.upgrade = upgrade  # upgrade a schema at an older revision instead of refusing it
        self._not_current = False  # the schema problem is a revision this soapbus cannot serve
        self.schema_ready = False
        self._schema_problem: str | None = None  # a non-outage error creating the schema, one line
        self._probing = False
        self._loop: task.LoopingCall | None = None

    # ------------------------------------------------------------ state, read on the reactor

    def is_ready(self) -> bool:
        return self.schema_ready and self.store.availability.available

    def not_ready_reason(self) -> str | None:
        """Why requests cannot be served now, for anyone to read; None when they can."""
        if not self.schema_ready:
            if self._schema_problem:
                return SCHEMA_NOT_CURRENT if self._not_current else SCHEMA_FAILED
            return NO_SCHEMA_YET
        if not self.store.availability.available:
            return NOT_ANSWERING
        return None

    def detail(self) -> str | None:
        """The driver's words behind not_ready_reason (for the log and for local callers only)."""
        return self.store.availability.reason or self._schema_problem

    # ------------------------------------------------------------ probing

    def open(self) -> None:
        """Create the schema now if the database answers (start-up, before the reactor runs).

        An outage leaves the watch not ready (the store logged it); any other database error
        (a schema that may not be created, a refused privilege) is a configuration error and
        is raised, as is SchemaNotCurrent (a schema at a revision this soapbus cannot serve,
        and not to be upgraded)."""
        try:
            self._create_schema()
        except StoreUnavailable:
            pass

    def start(self, reactor, threadpool) -> None:
        """Probe every `interval` seconds, in `threadpool`, until stop()."""
        def kick() -> None:
            if self._probing:
                return
            self._probing = True
            deferToThreadPool(reactor, threadpool, self.probe_once).addBoth(self._probed)

        self._loop = task.LoopingCall(kick)
        self._loop.clock = reactor
        self._loop.start(self.interval, now=False)

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def probe_once(self) -> None:
        """One probe, in a worker thread: create the schema while it is missing, else SELECT 1."""
        try:
            if self.schema_ready:
                self.store.probe()
            else:
                self._create_schema()
        except StoreUnavailable:
            pass  # the store logs the change, once
        except SchemaNotCurrent as exc:  # found when the database came up after start-up
            if str(exc) != self._schema_problem:
                log.error("cannot serve this database: %s", exc)
            self._schema_problem, self._not_current = str(exc), True
        except SQLAlchemyError as exc:
            problem = " ".join(str(exc).split("\n")[0].split())
            if problem != self._schema_problem:
                log.error("cannot create the database schema: %s", problem)
            self._schema_problem, self._not_current = problem, False

    def _probed(self, result) -> None:
        self._probing = False
        if hasattr(result, "getTraceback"):  # a failure no probe should have: say so, keep probing
            log.error("database probe failed: %s", result.getTraceback())

    def _create_schema(self) -> None:
        self.store.create_schema(upgrade=self.upgrade)
        if not self.schema_ready:
            self.schema_ready, self._schema_problem = True, None
            log.info("database schema ready; serving")


# ---------------------------------------------------------------- the endpoints


def _json(request, status: int, body: dict) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"application/json")
    request.setHeader(b"cache-control", b"no-store")
    return (json.dumps(body) + "\n").encode("utf-8")


def _from_this_machine(request) -> bool:
    try:
        return ipaddress.ip_address(request.getClientAddress().host).is_loopback
    except (ValueError, AttributeError):
        return False


class Liveness(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        return _json(request, 200, {"live": True})

    render_HEAD = render_GET


class Readiness(resource.Resource):
    isLeaf = True

    def __init__(self, reason: Callable[[], str | None], detail: Callable[[], str | None]):
        super().__init__()
        self.reason = reason
        self.detail = detail

    def render_GET(self, request):
        reason = self.reason()
        if reason is None:
            return _json(request, 200, {"ready": True})
        body = {"ready": False, "reason": reason}
        detail = self.detail()
        if detail and _from_this_machine(request):
            body["detail"] = detail
        request.setHeader(b"retry-after", str(RETRY_AFTER_SECONDS).encode("ascii"))
        return _json(request, 503, body)

    render_HEAD = render_GET


def health_resource(watch: DatabaseWatch) -> resource.Resource:
    """/health: `live` and `ready` (see the module docstring)."""
    root = resource.Resource()
    root.putChild(b"live", Liveness())
    root.putChild(b"ready", Readiness(watch.not_ready_reason, watch.detail))
    return root


__all__ = ["DatabaseWatch", "health_resource", "PROBE_INTERVAL"]
