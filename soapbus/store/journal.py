"""The message journal: every message in or out, with its exact bytes and what became of it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Connection, Integer, Select, bindparam, insert, select

from soapbus.message import KINDS, Header

from .db import DriverStatement
from .schema import DIRECTIONS, journal

# The four envelope kinds, plus a SOAP fault and bytes that never parsed as a message at all.
JOURNAL_KINDS = (*KINDS, "SOAPFault", "unparsed")


@dataclass(frozen=True)
class JournalEntry:
    id: int
    received_at: datetime
    direction: str
    kind: str
    verb: str | None
    noun: str | None
    message_id: str | None
    correlation_id: str | None
    source: str | None
    peer: str | None
    outcome: str
    reply_code: str | None
    reason: str | None
    size: int
    related_id: int | None
    raw: bytes | None = None  # None in listings, which leave the bytes in the database


_SUMMARY_COLUMNS = [c for c in journal.c if c.name != "raw"]

# Built once: executing a prebuilt statement with a parameter dict goes straight to SQLAlchemy's
# compiled cache, where building one per call would coerce every value and hash the statement anew.
_INSERT = insert(journal)
# The insert every message's journaling runs, on the DBAPI cursor (see DriverStatement).
_WRITE = DriverStatement({"sqlite": insert(journal), "postgresql": insert(journal).returning(journal.c.id)})
_BY_ID = select(journal).where(journal.c.id == bindparam("entry_id"))
_BY_MESSAGE_ID = select(journal).where(journal.c.message_id == bindparam("message_id")).order_by(journal.c.id)
_BY_CORRELATION_ID = (select(journal).where(journal.c.correlation_id == bindparam("correlation_id"))
                      .order_by(journal.c.id))


def write_entry(conn: Connection, received_at: datetime, direction: str, raw: bytes, *,
                header: Header | None, kind: str, peer: str | None, outcome: str,
                reply_code: str | None, reason: str | None, related_id: int | None) -> int:
    _check_entry(direction, kind, raw)
    row = {
        "received_at": received_at, "direction": direction, "kind": kind, "peer": peer,
        "outcome": outcome, "reply_code": reply_code, "reason": reason, "related_id": related_id,
        "size": len(raw), "raw": bytes(raw), **_header_fields(header),
    }
    cursor = _WRITE.run(conn, row)
    return int(cursor.lastrowid if conn.dialect.name == "sqlite" else cursor.fetchone()[0])


def _check_entry(direction: str, kind: str, raw: bytes) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    if kind not in JOURNAL_KINDS:
        raise ValueError(f"kind must be one of {JOURNAL_KINDS}, not {kind!r}")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"raw must be the exact bytes of the message, not {type(raw).__name__}")


def _header_fields(header: Header | None) -> dict[str, str | None]:
    if header is None:
        return {"verb": None, "noun": None, "message_id": None, "correlation_id": None, "source": None}
    return {"verb": header.verb, "noun": header.noun, "message_id": header.message_id,
            "correlation_id": header.correlation_id, "source": header.source}


def list_entries(conn: Connection, *, limit: int, direction: str | None,
                 outcome: str | None) -> list[JournalEntry]:
    query = _list_query(direction is not None, outcome is not None)
    return _entries(conn, query, {"limit": limit, "direction": direction, "outcome": outcome})


@lru_cache(maxsize=None)
def _list_query(by_direction: bool, by_outcome: bool) -> Select:
    query = select(*_SUMMARY_COLUMNS).order_by(journal.c.id.desc()).limit(bindparam("limit", type_=Integer))
    if by_direction:
        query = query.where(journal.c.direction == bindparam("direction"))
    if by_outcome:
        query = query.where(journal.c.outcome == bindparam("outcome"))
    return query


def get_entry(conn: Connection, entry_id: int) -> JournalEntry | None:
    found = _entries(conn, _BY_ID, {"entry_id": entry_id})
    return found[0] if found else None


def entries_by_message_id(conn: Connection, message_id: str) -> list[JournalEntry]:
    return _entries(conn, _BY_MESSAGE_ID, {"message_id": message_id})


def entries_by_correlation_id(conn: Connection, correlation_id: str) -> list[JournalEntry]:
    return _entries(conn, _BY_CORRELATION_ID, {"correlation_id": correlation_id})


def _entries(conn: Connection, query: Select, params: dict | None = None) -> list[JournalEntry]:
    return [_entry(row._mapping) for row in conn.execute(query, params)]


def _entry(row) -> JournalEntry:
    raw = row.get("raw")
    return JournalEntry(
        id=row["id"], received_at=row["received_at"], direction=row["direction"], kind=row["kind"],
        verb=row["verb"], noun=row["noun"], message_id=row["message_id"],
        correlation_id=row["correlation_id"], source=row["source"], peer=row["peer"],
        outcome=row["outcome"], reply_code=row["reply_code"], reason=row["reason"], size=row["size"],
        related_id=row["related_id"], raw=None if raw is None else bytes(raw),
    )
