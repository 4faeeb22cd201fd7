"""Replay memory: values (signature values, ReplayDetection nonces) that must be seen only once.

Kept in the database under a unique (scope, key) constraint, so a replay is caught after a
restart and by any worker process, not only by the one that saw the original.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, update
from sqlalchemy.exc import IntegrityError

from .schema import replay_memory as rm, require_aware


def remember_once(conn: Connection, scope: str, key: str, expires_at: datetime, now: datetime) -> bool:
    """True the first time (scope, key) is seen, or when its earlier memory has expired."""
    _check(scope, key, expires_at)
    try:
        with conn.begin_nested():  # a repeat must not spoil the caller's transaction
            conn.execute(insert(rm).values(scope=scope, key=key, remembered_at=now, expires_at=expires_at))
        return True
    except IntegrityError:
        return _take_over_expired(conn, scope, key, expires_at, now)


def purge_expired(conn: Connection, now: datetime) -> int:
    require_aware(now, "now")
    return conn.execute(delete(rm).where(rm.c.expires_at <= now)).rowcount


def _take_over_expired(conn: Connection, scope: str, key: str, expires_at: datetime, now: datetime) -> bool:
    # The expiry test sits in the UPDATE's WHERE clause, so of two workers racing for the same
    # expired row only one matches it: the second sees the new expiry once the first commits.
    result = conn.execute(
        update(rm).where(rm.c.scope == scope, rm.c.key == key, rm.c.expires_at <= now)
        .values(remembered_at=now, expires_at=expires_at))
    return result.rowcount == 1


def _check(scope: str, key: str, expires_at: datetime) -> None:
    if not scope or not key:
        raise ValueError("replay memory needs a non-empty scope and key")
    require_aware(expires_at, "expires_at")
