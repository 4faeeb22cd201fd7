"""What an operator asks of the store: journal search and pruning, the outbox by status, its oldest message.

The console (server/console.py), `soapbus journal` and the metrics read through these; nothing
here is on the path of a request.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, select, update

from .journal import JournalEntry, _entry, _SUMMARY_COLUMNS
from .outbox import OutboxItem, _item
from .schema import journal, outbox, processed_message

_OUTBOX_SUMMARY = [c for c in outbox.c if c.name not in ("body", "answer")]


@dataclass(frozen=True)
class JournalQuery:
    """Which journal entries to find; every field given must match (text fields exactly), None: any."""

    message_id: str | None = None
    correlation_id: str | None = None
    source: str | None = None
    noun: str | None = None
    verb: str | None = None
    outcome: str | None = None  # processed, rejected, duplicate, failed, replied, busy
    reply_code: str | None = None  # e.g. 0.0, 2.4, 5.2
    direction: str | None = None  # in | out
    since: datetime | None = None  # received at or after
    until: datetime | None = None  # received before
    limit: int = 100

    def filled(self) -> dict:
        return {name: value for name, value in self.__dict__.items() if value not in (None, "") and name != "limit"}


def search_journal(conn: Connection, query: JournalQuery) -> list[JournalEntry]:
    """Entries matching the query, newest first, without their bytes. A CorrelationID also finds the
    request whose MessageID it echoes (a conversation is both)."""
    statement = select(*_SUMMARY_COLUMNS).order_by(journal.c.id.desc()).limit(query.limit)
    for name in ("message_id", "source", "noun", "verb", "outcome", "reply_code", "direction"):
        value = getattr(query, name)
        if value:
            statement = statement.where(journal.c[name] == value)
    if query.correlation_id:
        statement = statement.where((journal.c.correlation_id == query.correlation_id)
                                    | (journal.c.message_id == query.correlation_id))
    if query.since is not None:
        statement = statement.where(journal.c.received_at >= query.since)
    if query.until is not None:
        statement = statement.where(journal.c.received_at < query.until)
    return [_entry(row._mapping) for row in conn.execute(statement)]


def related_entries(conn: Connection, entry_id: int) -> list[JournalEntry]:
    """An entry's partners, with bytes: the answer journaled for a request (related_id), or the request
    an answer answers."""
    found = conn.execute(select(journal).where((journal.c.related_id == entry_id) | (journal.c.id == entry_id)))
    entries = [_entry(row._mapping) for row in found]
    own = next((e for e in entries if e.id == entry_id), None)
    if own is not None and own.related_id is not None:
        entries += [_entry(row._mapping) for row in conn.execute(select(journal).where(journal.c.id == own.related_id))]
    return sorted({e.id: e for e in entries}.values(), key=lambda e: e.id)


def prune_journal(conn: Connection, before: datetime) -> int:
    """Delete the journal entries received before `before`; returns how many. The idempotency claims
    stay (a late re-delivery is still answered from them): only their link to the entry is cleared."""
    old_ids = select(journal.c.id).where(journal.c.received_at < before)
    conn.execute(update(processed_message).where(processed_message.c.reply_journal_id.in_(old_ids))
                 .values(reply_journal_id=None))
    conn.execute(update(journal).where(journal.c.related_id.in_(old_ids)).values(related_id=None))
    return int(conn.execute(delete(journal).where(journal.c.received_at < before)).rowcount or 0)


def list_outbox(conn: Connection, status: str, limit: int) -> list[OutboxItem]:
    """Messages in one status (pending, dead, delivered, closed), oldest first, without bodies."""
    statement = (select(*_OUTBOX_SUMMARY).where(outbox.c.status == status).order_by(outbox.c.id).limit(limit))
    return [_item(row._mapping) for row in conn.execute(statement)]


def oldest_pending(conn: Connection) -> datetime | None:
    """When the oldest message still waiting to be delivered was queued (None: nothing waits)."""
    return conn.execute(select(func.min(outbox.c.created_at)).where(outbox.c.status == "pending")).scalar_one()


__all__ = ["JournalQuery", "search_journal", "related_entries", "prune_journal", "list_outbox", "oldest_pending"]
