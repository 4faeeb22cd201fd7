"""Processed-message claims: the same MessageID from the same Source acts only once.

The database's unique constraint on (source, message_id) is the only arbiter, so the guarantee
holds across threads and processes. A claim is an INSERT inside the caller's transaction: it
becomes visible to others when that transaction commits and disappears if it rolls back, so a
request whose processing failed can be delivered again. On PostgreSQL a second INSERT of a key
that another open transaction has inserted waits for that transaction to end; on SQLite the
second writer waits at BEGIN IMMEDIATE. Either way the loser sees the winner's committed reply.

The claim is INSERT ... ON CONFLICT (source, message_id) DO NOTHING: a duplicate inserts no row
instead of raising, so it needs no savepoint to keep the caller's transaction usable, and the
row count tells the winner from the loser. PostgreSQL still makes it wait for an open
transaction that inserted the same key, then does nothing if that one commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from .db import DriverStatement, per_dialect
from .errors import UnknownClaim
from .schema import processed_message as pm

_CLAIM = per_dialect(lambda insert: insert(pm).on_conflict_do_nothing(index_elements=[pm.c.source, pm.c.message_id]))
# Run by every request: on the DBAPI cursor (see DriverStatement); the cursor's rowcount says who won.
_CLAIM_RUN = DriverStatement(_CLAIM)
_KEY = (pm.c.source == bindparam("k_source"), pm.c.message_id == bindparam("k_message_id"))
# The SET clause comes from the parameters: reply, reply_journal_id, replied_at.
_SET_REPLY = update(pm).where(*_KEY)
_SET_REPLY_RUN = DriverStatement({"sqlite": _SET_REPLY, "postgresql": _SET_REPLY})
_REPLY = select(pm.c.reply).where(*_KEY)


def source_key(source: str | None) -> str:
    """A missing Source is stored as '' so that the unique constraint still applies to it."""
    return source or ""


def claim(conn: Connection, source: str | None, message_id: str, claimed_at: datetime) -> bool:
    _check_message_id(message_id)
    row = {"source": source_key(source), "message_id": message_id, "claimed_at": claimed_at}
    return _CLAIM_RUN.run(conn, row).rowcount == 1


def set_reply(conn: Connection, source: str | None, message_id: str, reply: bytes,
              journal_id: int | None, replied_at: datetime) -> None:
    _check_message_id(message_id)
    result = _SET_REPLY_RUN.run(conn, {**_key(source, message_id), "reply": bytes(reply),
                                       "reply_journal_id": journal_id, "replied_at": replied_at})
    if result.rowcount == 0:
        raise UnknownClaim(source_key(source), message_id)


def stored_reply(conn: Connection, source: str | None, message_id: str) -> bytes | None:
    reply = conn.execute(_REPLY, _key(source, message_id)).scalar()
    return None if reply is None else bytes(reply)


def _key(source: str | None, message_id: str) -> dict[str, str]:
    return {"k_source": source_key(source), "k_message_id": message_id}


def _check_message_id(message_id: str) -> None:
    if not message_id:
        raise ValueError("a message without a MessageID cannot be claimed")
