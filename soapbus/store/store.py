"""Store (one per database, shared by all worker threads) and UnitOfWork (one per request).

A Store owns one Engine and its connection pool; it is safe to share between threads. Each
unit of work checks out its own connection and runs in one transaction, so a request's journal
rows, claim, reply and object changes are committed together or not at all. A UnitOfWork
belongs to the thread that opened it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import Connection, Engine, text

from soapbus.message import Header

from . import idempotency, journal, objects, replay
from .db import WRITE_OPTION, check_schema_name, make_store_engine, single_statement_engine
from .journal import JournalEntry
from .objects import ObjectName, StoredObject
from .schema import metadata

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class UnitOfWork:
    """One connection and one open transaction; obtain it from Store.unit_of_work()."""

    def __init__(self, connection: Connection, clock: Clock):
        self._conn = connection
        self._clock = clock

    # ---------------------------------------------------------------- savepoints

    @contextmanager
    def savepoint(self) -> Iterator[UnitOfWork]:
        """A nested transaction (SAVEPOINT) inside this unit of work.

        When an exception escapes the block, only the work done inside it is rolled back and
        the exception is raised again; the unit of work goes on, with everything done before
        the block intact (on PostgreSQL this also clears the error state a failed statement
        leaves behind). On a clean exit the work joins the unit of work, to be committed or
        rolled back with it. For all-or-nothing OperationSets and to isolate one handler's
        work from the rest of a request. Savepoints nest.
        """
        with self._conn.begin_nested():
            yield self

    # ---------------------------------------------------------------- journal

    def journal(self, direction: str, raw: bytes, *, header: Header | None, kind: str, peer: str | None,
                outcome: str, reply_code: str | None = None, reason: str | None = None,
                related_id: int | None = None) -> int:
        """Record one message with its exact bytes; returns the journal id."""
        return journal.write_entry(self._conn, self._clock(), direction, raw, header=header, kind=kind,
                                   peer=peer, outcome=outcome, reply_code=reply_code, reason=reason,
                                   related_id=related_id)

    # ---------------------------------------------------------------- idempotency

    def claim(self, source: str | None, message_id: str) -> bool:
        """True if this transaction is the first to process (source, message_id)."""
        return idempotency.claim(self._conn, source, message_id, self._clock())

    def set_reply(self, source: str | None, message_id: str, reply_bytes: bytes, journal_id: int | None) -> None:
        """Keep the reply sent for a claimed message, to send it again to a duplicate."""
        idempotency.set_reply(self._conn, source, message_id, reply_bytes, journal_id, self._clock())

    def stored_reply(self, source: str | None, message_id: str) -> bytes | None:
        return idempotency.stored_reply(self._conn, source, message_id)

    # ---------------------------------------------------------------- objects

    def object_get(self, noun: str, key: str) -> StoredObject | None:
        return objects.get_object(self._conn, noun, key)

    def object_find_by_name(self, noun: str, name: str, name_type: str | None = None) -> list[StoredObject]:
        return objects.find_by_name(self._conn, noun, name, name_type)

    def object_insert(self, noun: str, key: str, item_type: str, xml: bytes,
                      names: Iterable[ObjectName] = ()) -> StoredObject:
        """Store a new object; DuplicateObject if (noun, key) exists, and the transaction goes on."""
        _check_object_key(noun, key)
        return objects.insert_object(self._conn, noun, key, item_type, xml, names, self._clock())

    def object_update(self, noun: str, key: str, xml: bytes, names: Iterable[ObjectName] | None = None,
                      item_type: str | None = None) -> StoredObject:
        """Replace the XML (and the names, when given) and bump the version; UnknownObject if absent."""
        return objects.update_object(self._conn, noun, key, xml, names, item_type, self._clock())

    def object_set_status(self, noun: str, key: str, status: str) -> StoredObject:
        return objects.set_status(self._conn, noun, key, status, self._clock())

    def object_delete(self, noun: str, key: str) -> bool:
        return objects.delete_object(self._conn, noun, key)

    def object_list(self, noun: str, keys: Sequence[str] | None = None, since: datetime | None = None,
                    until: datetime | None = None, limit: int | None = None) -> list[StoredObject]:
        """Objects ordered by key, filtered by keys and by since <= updated_at < until."""
        _check_limit(limit)
        return objects.list_objects(self._conn, noun, keys=keys, since=since, until=until, limit=limit)

    # ---------------------------------------------------------------- replay

    def remember_once(self, scope: str, key: str, expires_at: datetime) -> bool:
        """As Store.remember_once, but inside this transaction (forgotten again if it rolls back)."""
        return replay.remember_once(self._conn, scope, key, expires_at, self._clock())

    def purge_expired(self, now: datetime | None = None) -> int:
        return replay.purge_expired(self._conn, now or self._clock())


class Store:
    """The database behind soapbus: journal, idempotency claims, CIM objects, replay memory."""

    def __init__(self, url: str, *, schema: str | None = None, clock: Clock = utc_now,
                 busy_timeout: float = 30.0, durable_fsync: bool = False):
        """url: sqlite:///path/to.db or postgresql+psycopg://...; schema: a PostgreSQL schema to
        keep the tables in (created by create_schema); clock: where timestamps come from;
        busy_timeout: seconds a SQLite writer waits for another before giving up;
        durable_fsync: on SQLite, fsync every commit (synchronous=FULL) so that committed units
        of work survive an operating-system crash or power loss too, not only a process crash
        (see soapbus.store.db for the trade-off)."""
        self._schema = schema
        self._clock = clock
        self._engine = make_store_engine(url, schema=schema, busy_timeout=busy_timeout,
                                         durable_fsync=durable_fsync)
        self._write_engine = self._engine.execution_options(**{WRITE_OPTION: True})
        self._read_engine = single_statement_engine(self._engine)
        self._open_units = threading.local()

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def schema(self) -> str | None:
        return self._schema

    def close(self) -> None:
        """Close the pooled connections; the Store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ---------------------------------------------------------------- schema

    def create_schema(self) -> None:
        """Create whatever is missing (the PostgreSQL schema, tables, indexes); safe to repeat."""
        with self._engine.begin() as conn:
            if self._schema is not None:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{check_schema_name(self._schema)}"'))
            metadata.create_all(conn)

    def drop_schema(self) -> None:
        """Remove everything create_schema made: the whole PostgreSQL schema, or the tables."""
        with self._engine.begin() as conn:
            if self._schema is not None:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{check_schema_name(self._schema)}" CASCADE'))
            else:
                metadata.drop_all(conn)

    # ---------------------------------------------------------------- transactions

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """One transaction: committed on a clean exit, rolled back when an exception escapes."""
        self._refuse_nested_unit()
        self._open_units.active = True
        try:
            with self._write_engine.connect() as conn, conn.begin():
                yield UnitOfWork(conn, self._clock)
        finally:
            self._open_units.active = False

    def _refuse_nested_unit(self) -> None:
        # A second transaction opened by the same thread would not be part of the first (breaking
        # all-or-nothing) and, on SQLite, would wait forever for the write lock the first holds.
        if getattr(self._open_units, "active", False):
            raise RuntimeError("a unit of work is already open in this thread; use its methods instead")

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection for one read statement, outside any transaction (see single_statement_engine)."""
        with self._read_engine.connect() as conn:
            yield conn

    # ---------------------------------------------------------------- journal queries

    def journal_list(self, limit: int = 50, direction: str | None = None,
                     outcome: str | None = None) -> list[JournalEntry]:
        """The newest entries first, without their raw bytes."""
        _check_limit(limit)
        with self._reading() as conn:
            return journal.list_entries(conn, limit=limit, direction=direction, outcome=outcome)

    def journal_get(self, entry_id: int) -> JournalEntry | None:
        with self._reading() as conn:
            return journal.get_entry(conn, entry_id)

    def journal_by_message_id(self, message_id: str) -> list[JournalEntry]:
        with self._reading() as conn:
            return journal.entries_by_message_id(conn, message_id)

    def journal_by_correlation_id(self, correlation_id: str) -> list[JournalEntry]:
        """Every message of one conversation, oldest first, with raw bytes."""
        with self._reading() as conn:
            return journal.entries_by_correlation_id(conn, correlation_id)

    # ---------------------------------------------------------------- idempotency and replay

    def stored_reply(self, source: str | None, message_id: str) -> bytes | None:
        with self._reading() as conn:
            return idempotency.stored_reply(conn, source, message_id)

    def remember_once(self, scope: str, key: str, expires_at: datetime) -> bool:
        """True the first time (scope, key) is seen; False while an earlier sighting is unexpired.
        Committed at once, in its own transaction."""
        with self.unit_of_work() as uow:
            return uow.remember_once(scope, key, expires_at)

    def purge_expired(self, now: datetime | None = None) -> int:
        """Forget replay memories expired at `now` (the store's clock by default); returns how many."""
        with self.unit_of_work() as uow:
            return uow.purge_expired(now)


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer, not {limit!r}")


def _check_object_key(noun: str, key: str) -> None:
    if not noun or not key:
        raise ValueError("an object needs a non-empty noun and key")
