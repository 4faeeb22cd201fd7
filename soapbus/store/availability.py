"""Whether the database answers: which errors mean it cannot, and one log line per change.

A database outage shows up as a DBAPI OperationalError (or InterfaceError) from whichever
statement happened to run; a deadlock or a syntax error is an OperationalError too on some
drivers, so the class alone does not tell. `unavailable_reason` keeps to what says "the
database cannot serve us now": the driver's own connection failures (no SQLSTATE), a
connection SQLAlchemy found broken, PostgreSQL's connection, resource and shutdown classes,
and SQLite's busy/locked, read-only, I/O, full, cannot-open and not-a-database codes.

`Availability` is the store's memory of the last outcome. Every store operation reads an epoch
when it starts and reports how it ended; a report only changes the state when no change
happened since that operation started, so an operation that began before the database came
back cannot declare it gone again (and the reverse). Each change is logged once, at WARNING:
one line when the database goes away, one when it is back, however many requests meet the
outage in between.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

log = logging.getLogger("soapbus.store")

# PostgreSQL SQLSTATE classes and codes that mean the server cannot take work now:
# 08 connection exception, 53 insufficient resources (disk full, out of memory, too many
# connections), 58 system error (I/O), 57P01-57P04 admin/crash shutdown, cannot connect now,
# database dropped.
_PG_UNAVAILABLE_CLASSES = frozenset({"08", "53", "58"})
_PG_UNAVAILABLE_CODES = frozenset({"57P01", "57P02", "57P03", "57P04"})
# SQLite primary result codes (extended code & 0xFF): PERM 3, BUSY 5, LOCKED 6, NOMEM 7,
# READONLY 8, IOERR 10, CORRUPT 11, FULL 13, CANTOPEN 14, PROTOCOL 15, NOTADB 26.
_SQLITE_UNAVAILABLE = frozenset({3, 5, 6, 7, 8, 10, 11, 13, 14, 15, 26})
_REASON_LIMIT = 300


def unavailable_reason(exc: BaseException, *, disconnect: bool = False) -> str | None:
    """One line saying why the database cannot serve, when `exc` means that; None otherwise.

    exc: a SQLAlchemy DBAPIError or the driver's own exception; disconnect: SQLAlchemy already
    judged the connection broken (ExceptionContext.is_disconnect)."""
    error = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        disconnect = True
    kinds = {cls.__name__ for cls in type(error).__mro__}
    if not kinds & {"OperationalError", "InterfaceError"}:
        return None
    if disconnect or "InterfaceError" in kinds or _cannot_serve(error):
        return _one_line(error)
    return None


def _cannot_serve(error: BaseException) -> bool:
    sqlite_code = getattr(error, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return (sqlite_code & 0xFF) in _SQLITE_UNAVAILABLE
    if type(error).__module__.startswith("sqlite3"):
        return False  # an sqlite3 error without a result code is about the statement
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if sqlstate is None:
        return True  # raised by the driver itself: connecting failed or the connection broke
    return sqlstate[:2] in _PG_UNAVAILABLE_CLASSES or sqlstate in _PG_UNAVAILABLE_CODES


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= _REASON_LIMIT else text[:_REASON_LIMIT - 1] + "…"


class Availability:
    """Up, down or not yet known, as the store's operations last found the database."""

    UNKNOWN, UP, DOWN = "unknown", "up", "down"

    def __init__(self, database: str, clock: Callable[[], float] = time.monotonic):
        self._database = database  # for the log lines; no password in it
        self._clock = clock
        self._lock = threading.Lock()
        self._state = self.UNKNOWN
        self._epoch = 0
        self._reason: str | None = None
        self._down_since: float | None = None

    @property
    def epoch(self) -> int:
        """Read when an operation starts; hand it back to failed() or answered()."""
        return self._epoch

    @property
    def available(self) -> bool:
        """False while the last operations found the database unreachable."""
        return self._state != self.DOWN

    @property
    def reason(self) -> str | None:
        """Why the database is down (the latest failure's words), or None."""
        return self._reason if self._state == self.DOWN else None

    def failed(self, epoch: int, reason: str) -> None:
        """An operation that started at `epoch` found the database unreachable."""
        with self._lock:
            if self._state == self.DOWN:
                self._reason = reason
                return
            if epoch != self._epoch:
                return  # the state changed while it ran: its failure is older news
            went = "went away" if self._state == self.UP else "cannot be reached"
            self._set(self.DOWN, reason)
            self._down_since = self._clock()
        log.warning("database %s: %s [%s]; store operations fail until it is back", went, reason, self._database)

    def answered(self, epoch: int) -> None:
        """An operation that started at `epoch` completed: the database answers."""
        if self._state == self.UP:
            return  # the common case, without the lock
        with self._lock:
            if self._state == self.UP or epoch != self._epoch:
                return
            was_down, since = self._state == self.DOWN, self._down_since
            self._set(self.UP, None)
        if was_down:
            log.warning("database is back after %.1f s [%s]", self._clock() - since, self._database)

    def _set(self, state: str, reason: str | None) -> None:
        self._state, self._reason = state, reason
        self._epoch += 1
