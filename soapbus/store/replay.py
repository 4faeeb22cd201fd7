"""Replay memory: values (signature values, ReplayDetection nonces) that must be seen only once.

Kept in the database under a unique (scope, key) constraint, so a replay is caught after a
restart and by any worker process, not only by the one that saw the original.

remember_once is one statement, INSERT ... ON CONFLICT (scope, key) DO UPDATE ... WHERE the
existing memory has expired: a new value is inserted, an expired one is taken over, an unexpired
one is left alone, and the row count (1 or 0) says which. The expiry test is evaluated on the
row as it stands once any concurrent writer of the same key has committed, so of several
workers racing for one expired value only the first takes it over; the others then see its new
expiry. Nothing raises on a repeat, so no savepoint is needed to protect the caller's transaction.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete

from .db import per_dialect
from .schema import replay_memory as rm, require_aware


def _remember(insert):
    stmt = insert(rm)
    new = stmt.excluded  # the row that was to be inserted: remembered_at is now
    return stmt.on_conflict_do_update(
        index_elements=[rm.c.scope, rm.c.key],
        set_={"remembered_at": new.remembered_at, "expires_at": new.expires_at},
        where=rm.c.expires_at <= new.remembered_at)


_REMEMBER = per_dialect(_remember)
_PURGE = delete(rm).where(rm.c.expires_at <= bindparam("now"))


def remember_once(conn: Connection, scope: str, key: str, expires_at: datetime, now: datetime) -> bool:
    """True the first time (scope, key) is seen, or when its earlier memory has expired."""
    _check(scope, key, expires_at)
    row = {"scope": scope, "key": key, "remembered_at": now, "expires_at": expires_at}
    return conn.execute(_REMEMBER[conn.dialect.name], row).rowcount == 1


def purge_expired(conn: Connection, now: datetime) -> int:
    require_aware(now, "now")
    return conn.execute(_PURGE, {"now": now}).rowcount


def _check(scope: str, key: str, expires_at: datetime) -> None:
    if not scope or not key:
        raise ValueError("replay memory needs a non-empty scope and key")
    require_aware(expires_at, "expires_at")
