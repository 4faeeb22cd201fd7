"""Processed-message claims: the same MessageID from the same Source acts only once.

The database's unique constraint on (source, message_id) is the only arbiter, so the guarantee
holds across threads and processes. A claim is an INSERT inside the caller's transaction: it
becomes visible to others when that transaction commits and disappears if it rolls back, so a
request whose processing failed can be delivered again. On PostgreSQL a second INSERT of a key
that another open transaction has inserted waits for that transaction to end; on SQLite the
second writer waits at BEGIN IMMEDIATE. Either way the loser sees the winner's committed reply.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from .errors import UnknownClaim
from .schema import processed_message as pm


def source_key(source: str | None) -> str:
    """A missing Source is stored as '' so that the unique constraint still applies to it."""
    return source or ""


def claim(conn: Connection, source: str | None, message_id: str, claimed_at: datetime) -> bool:
    _check_message_id(message_id)
    row = {"source": source_key(source), "message_id": message_id, "claimed_at": claimed_at}
    try:
        # A savepoint, so that a duplicate leaves the caller's transaction usable (PostgreSQL
        # would otherwise refuse every further statement in it).
        with conn.begin_nested():
            conn.execute(insert(pm).values(row))
    except IntegrityError:
        if _claim_exists(conn, source, message_id):
            return False
        raise
    return True


def set_reply(conn: Connection, source: str | None, message_id: str, reply: bytes,
              journal_id: int | None, replied_at: datetime) -> None:
    _check_message_id(message_id)
    result = conn.execute(
        update(pm).where(*_key(source, message_id))
        .values(reply=bytes(reply), reply_journal_id=journal_id, replied_at=replied_at))
    if result.rowcount == 0:
        raise UnknownClaim(source_key(source), message_id)


def stored_reply(conn: Connection, source: str | None, message_id: str) -> bytes | None:
    reply = conn.execute(select(pm.c.reply).where(*_key(source, message_id))).scalar()
    return None if reply is None else bytes(reply)


def _claim_exists(conn: Connection, source: str | None, message_id: str) -> bool:
    return conn.execute(select(pm.c.id).where(*_key(source, message_id))).first() is not None


def _key(source: str | None, message_id: str):
    return pm.c.source == source_key(source), pm.c.message_id == message_id


def _check_message_id(message_id: str) -> None:
    if not message_id:
        raise ValueError("a message without a MessageID cannot be claimed")
