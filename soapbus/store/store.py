"""Store (one per database, shared by all worker threads) and UnitOfWork (one per request).

A Store owns one Engine and its connection pool; it is safe to share between threads. Each
unit of work checks out its own connection and runs in one transaction, so a request's journal
rows, claim, reply and object changes are committed together or not at all. A UnitOfWork
belongs to the thread that opened it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Result, text
from sqlalchemy.engine import make_url
from sqlalchemy.sql import Executable

from soapbus.message import Header

from . import idempotency, inspection, journal, migrations, objects, outbox, replay, routing
from .availability import Availability, unavailable_reason
from .db import (WRITE_OPTION, check_schema_name, make_store_engine, plain_savepoint, single_statement_engine,
                 writer_turns)
from .errors import StoreUnavailable
from .journal import JournalEntry
from .objects import ObjectName, StoredObject
from .outbox import OutboxItem
from .routing import Route, Subscription
from .schema import metadata

Clock = Callable[[], datetime]

# PostgreSQL advisory lock held while a process prepares or upgrades the schema.
SCHEMA_LOCK_KEY = 61968_100_0001


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class UnitOfWork:
    """One connection and one open transaction; obtain it from Store.unit_of_work()."""

    def __init__(self, connection: Connection, clock: Clock):
        self._conn = connection
        self._clock = clock
        self._savepoints = 0  # names savepoints uniquely within this transaction

    # ---------------------------------------------------------------- savepoints

    @contextmanager
    def savepoint(self) -> Iterator[UnitOfWork]:
        """A nested transaction (SAVEPOINT) inside this unit of work.

        When an exception escapes the block, only the work done inside it is rolled back and
        the exception is raised again; the unit of work goes on, with everything done before
        the block intact (on PostgreSQL this also clears the error state a failed statement
        leaves behind). On a clean exit the work joins the unit of work, to be committed or
        rolled back with it. For all-or-nothing OperationSets and to isolate one handler's
        work from the rest of a request. Savepoints nest (see store/db.py plain_savepoint).
        """
        self._savepoints += 1
        with plain_savepoint(self._conn, f"soapbus_sp_{self._savepoints}"):
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

    def object_iter(self, noun: str, names: Sequence[ObjectName] | None = None,
                    batch: int = 500) -> Iterator[StoredObject]:
        """As objects.iter_objects: by any of `names` ((name, type) pairs) or all, streamed in key order."""
        if names is not None and not names:
            return iter(())
        return objects.iter_objects(self._conn, noun, names, batch)

    # ---------------------------------------------------------------- a handler's own tables

    def execute(self, statement: Executable | str,
                parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None) -> Result:
        """Run one SQL statement in this transaction: a DMS handler's own tables (Store.add_tables)
        are written with the request's journal and reply, and rolled back with them. A string is
        taken as textual SQL with :name parameters."""
        return self._conn.execute(text(statement) if isinstance(statement, str) else statement, parameters)

    # ---------------------------------------------------------------- replay

    def remember_once(self, scope: str, key: str, expires_at: datetime) -> bool:
        """As Store.remember_once, but inside this transaction (forgotten again if it rolls back)."""
        return replay.remember_once(self._conn, scope, key, expires_at, self._clock())

    def purge_expired(self, now: datetime | None = None) -> int:
        return replay.purge_expired(self._conn, now or self._clock())

    # ---------------------------------------------------------------- outbox

    def outbox_add(self, *, destination: str, soap_action: str | None, body: bytes, sign: bool, kind: str,
                   message_id: str | None, correlation_id: str | None, noun: str | None, verb: str | None,
                   sequence_key: str | None = None, not_before: datetime | None = None,
                   leased_to: tuple[str, float] | None = None) -> int:
        """Queue a message for delivery once this transaction commits (and never if it rolls
        back); returns its outbox id. kind: 'reply', 'event' or 'request'; body: the unsigned
        envelope (sign=True: the delivery worker signs it when sending); sequence_key: messages
        with the same key are delivered one at a time in the order they were added;
        not_before: not due before then (default: at once); leased_to: (worker, seconds) when
        the caller delivers it itself right after commit (other workers keep off until the lease
        expires, then it is theirs). See soapbus.store.outbox."""
        return outbox.add(self._conn, self._clock(), destination=destination, soap_action=soap_action, body=body,
                          sign=sign, kind=kind, message_id=message_id, correlation_id=correlation_id, noun=noun,
                          verb=verb, sequence_key=sequence_key, not_before=not_before, leased_to=leased_to)

    def outbox_add_leg(self, *, origin: str, destination: str, soap_action: str | None, body: bytes, sign: bool,
                       message_id: str, correlation_id: str | None, noun: str | None, verb: str | None) -> OutboxItem:
        """Queue a forwarded request unless a retry of the same caller message already did (one leg
        per destination and leg MessageID, a unique index); returns the leg, new or found."""
        return outbox.add_leg(self._conn, self._clock(), origin=origin, destination=destination,
                              soap_action=soap_action, body=body, sign=sign, kind="request", message_id=message_id,
                              correlation_id=correlation_id, noun=noun, verb=verb, sequence_key=None,
                              not_before=None, leased_to=None)

    def outbox_settle(self, settlement: outbox.Settlement) -> bool:
        """Record one attempt's outcome in this transaction; False if its worker no longer holds it."""
        return outbox.settle(self._conn, settlement)

    def outbox_redrive(self, destination: str) -> int:
        """Queue again the dead letters to `destination` whose retry budget ran out."""
        return outbox.redrive(self._conn, destination, self._clock())

    def outbox_close_legs(self, origin: str, answered_by: int, reason: str) -> int:
        """The caller's conversation `origin` is answered (by leg `answered_by`): close its other pending legs."""
        return outbox.close_legs(self._conn, origin, answered_by, reason)

    # ---------------------------------------------------------------- subscriptions and routes

    def subscriptions_matching(self, noun: str | None, verb: str | None, context: str | None) -> list[Subscription]:
        """The subscriptions an event of (noun, verb, context) goes to; a subscription's None
        matches anything, an event's None only a subscription's None."""
        return routing.subscriptions_matching(self._conn, noun, verb, context)

    def subscription_add(self, endpoint: str, noun: str | None = None, verb: str | None = None,
                         context: str | None = None, signed: bool = False, style: str = "generic") -> Subscription:
        """As Store.subscription_add, inside this transaction; the transaction goes on after a
        DuplicateSubscription."""
        return routing.add_subscription(self._conn, self._clock(), endpoint, noun, verb, context, signed, style)

    def subscription_remove(self, subscription_id: int) -> bool:
        return routing.remove_subscription(self._conn, subscription_id)

    def route_for(self, noun: str, verb: str | None, context: str | None) -> Route | None:
        """The most specific route for a request: exact verb and context, then the verb, then
        the context, then the noun alone; None when the noun has no route."""
        return routing.route_for(self._conn, noun, verb, context)


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
        self._turns = writer_turns(self._engine, busy_timeout)  # SQLite: writers woken in turn (store/db.py)
        self._read_engine = single_statement_engine(self._engine)
        self._open_units = threading.local()
        self._availability = Availability(make_url(url).render_as_string(hide_password=True))
        self._extra_tables: list[MetaData] = []  # a DMS's own tables (add_tables), created with ours

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def schema(self) -> str | None:
        return self._schema

    @property
    def availability(self) -> Availability:
        """Whether the database answered the last operations (see soapbus.store.availability)."""
        return self._availability

    def close(self) -> None:
        """Close the pooled connections; the Store must not be used afterwards."""
        self._engine.dispose()
        if self._turns is not None:
            self._turns.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ---------------------------------------------------------------- schema

    def create_schema(self, *, upgrade: bool = False) -> migrations.SchemaState:
        """Make the database usable by this soapbus; safe to repeat (see soapbus.store.migrations):
        an empty one is created at the newest schema revision (the PostgreSQL schema too), one
        made before revisions were kept and equal to the newest is stamped with it, one at an
        older revision is upgraded when `upgrade` is true and refused with SchemaNotCurrent
        otherwise, as is one a newer soapbus upgraded. Returns where it stands."""
        with self._watched(), self._migrating(write=True) as conn:
            state = migrations.prepare(conn, upgrade=upgrade)
            for tables in self._extra_tables:  # a DMS's own: created where missing, never altered
                tables.create_all(conn)
            return state

    def add_tables(self, tables: MetaData) -> None:
        """Have create_schema create these tables too: a DMS handler's own, in this database (and
        PostgreSQL schema), so that they take part in each request's transaction."""
        if all(tables is not known for known in self._extra_tables):
            self._extra_tables.append(tables)

    def schema_state(self) -> migrations.SchemaState:
        """Where the database's schema stands against this soapbus's revisions; changes nothing."""
        with self._watched(), self._migrating(write=False) as conn:
            return migrations.read_state(conn)

    def upgrade_schema(self, target: str = "head") -> migrations.Upgrade:
        """Run the schema revisions up to `target` ("head": the newest) in one transaction."""
        with self._watched(), self._migrating(write=True) as conn:
            return migrations.upgrade_to(conn, target)

    @contextmanager
    def _migrating(self, *, write: bool) -> Iterator[Connection]:
        """One transaction for schema work, in which processes take turns (SQLite: the write
        lock; PostgreSQL: an advisory lock), with the store's PostgreSQL schema (created if
        missing) first on the search_path, where the revisions' unqualified names then land."""
        with (self._write_engine if write else self._engine).connect() as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                if write:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
                if self._schema is not None:
                    name = check_schema_name(self._schema)
                    if write:
                        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{name}"'))
                    conn.execute(text(f'SET LOCAL search_path TO "{name}"'))
            yield conn

    def drop_schema(self) -> None:
        """Remove everything create_schema made: the whole PostgreSQL schema, or the tables."""
        with self._watched(), self._engine.begin() as conn:
            if self._schema is not None:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{check_schema_name(self._schema)}" CASCADE'))
            else:
                metadata.drop_all(conn)
                conn.execute(text(f"DROP TABLE IF EXISTS {migrations.VERSION_TABLE}"))

    def probe(self) -> None:
        """Ask the database one trivial question; StoreUnavailable when it cannot answer."""
        with self._reading() as conn:
            conn.exec_driver_sql("SELECT 1")

    # ---------------------------------------------------------------- transactions

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """One transaction: committed on a clean exit, rolled back when an exception escapes."""
        with self._writing() as conn:
            yield UnitOfWork(conn, self._clock)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A connection in a write transaction (BEGIN IMMEDIATE on SQLite), one per thread."""
        self._refuse_nested_unit()
        self._open_units.active = True
        try:
            with self._watched(), self._write_turn(), self._write_engine.connect() as conn, conn.begin():
                yield conn
        finally:
            self._open_units.active = False

    def _write_turn(self):
        return self._turns.turn() if self._turns is not None else nullcontext()

    def _refuse_nested_unit(self) -> None:
        # A second transaction opened by the same thread would not be part of the first (breaking
        # all-or-nothing) and, on SQLite, would wait forever for the write lock the first holds.
        if getattr(self._open_units, "active", False):
            raise RuntimeError("a unit of work is already open in this thread; use its methods instead")

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection for one read statement, outside any transaction (see single_statement_engine)."""
        with self._watched(), self._read_engine.connect() as conn:
            yield conn

    @contextmanager
    def _watched(self) -> Iterator[None]:
        """Report how the database work inside ended to the store's Availability, and raise
        StoreUnavailable for anything that means the database cannot serve now (the engine
        translates most of it already; a driver error raised outside SQLAlchemy's wrapping,
        such as one from a connect hook, is translated here)."""
        epoch = self._availability.epoch
        try:
            yield
        except StoreUnavailable as exc:
            self._availability.failed(epoch, exc.reason)
            raise
        except Exception as exc:
            reason = unavailable_reason(exc)
            if reason is None:
                raise
            self._availability.failed(epoch, reason)
            raise StoreUnavailable(reason) from exc
        self._availability.answered(epoch)

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

    # ---------------------------------------------------------------- what an operator asks (store/inspection.py)

    def journal_search(self, query: inspection.JournalQuery) -> list[JournalEntry]:
        """Entries matching every field the query gives, newest first, without their bytes."""
        _check_limit(query.limit)
        with self._reading() as conn:
            return inspection.search_journal(conn, query)

    def journal_related(self, entry_id: int) -> list[JournalEntry]:
        """An entry with its request or answer, with their bytes, oldest first."""
        with self._reading() as conn:
            return inspection.related_entries(conn, entry_id)

    def journal_prune(self, before: datetime) -> int:
        """Delete the journal entries received before `before` (idempotency claims stay); returns how many."""
        with self._writing() as conn:
            return inspection.prune_journal(conn, before)

    def outbox_list(self, status: str, limit: int = 100) -> list[OutboxItem]:
        """Outbox messages in one status, oldest first, without their bodies."""
        _check_limit(limit)
        with self._reading() as conn:
            return inspection.list_outbox(conn, status, limit)

    def outbox_oldest_pending(self) -> datetime | None:
        """When the oldest message still waiting for delivery was queued; None when none waits."""
        with self._reading() as conn:
            return inspection.oldest_pending(conn)

    # ---------------------------------------------------------------- idempotency and replay

    def stored_reply(self, source: str | None, message_id: str) -> bytes | None:
        with self._reading() as conn:
            return idempotency.stored_reply(conn, source, message_id)

    def remember_once(self, scope: str, key: str, expires_at: datetime) -> bool:
        """True the first time (scope, key) is seen; False while an earlier sighting is unexpired.
        Committed at once, in its own transaction."""
        with self.unit_of_work() as uow:
            return uow.remember_once(scope, key, expires_at)

    def remember_each(self, memories) -> list[bool]:
        """remember_once for each (scope, key, expires_at), all in one transaction."""
        with self.unit_of_work() as uow:
            return [uow.remember_once(scope, key, expires_at) for scope, key, expires_at in memories]

    def purge_expired(self, now: datetime | None = None) -> int:
        """Forget replay memories expired at `now` (the store's clock by default); returns how many."""
        with self.unit_of_work() as uow:
            return uow.purge_expired(now)

    # ---------------------------------------------------------------- outbox delivery

    def outbox_lease(self, worker: str, now: datetime | None = None, limit: int = 10,
                     lease_seconds: float = 60.0, skip: Sequence[str] = (), broker: bool = True) -> list[OutboxItem]:
        """Lease up to `limit` due messages (with their bodies) to `worker` until now +
        lease_seconds, oldest first, committed at once. Messages of one sequence_key come one
        at a time and in order; a lease that expires makes its message leasable again (its
        worker is presumed dead). Safe across threads and processes: no message is leased to
        two workers at once. now: the store's clock by default. skip: destinations not to lease
        now; broker=False: none of the broker's destinations (queue:, topic:)."""
        now = self._clock() if now is None else now
        outbox.check_lease(worker, now, limit, lease_seconds)
        if self._engine.dialect.name == "sqlite":
            # An idle poll must not take SQLite's write lock, which request units wait for.
            with self._reading() as conn:
                if not outbox.anything_leasable(conn, now, skip, broker):
                    return []
        with self._writing() as conn:
            return outbox.lease(conn, worker, now, limit, lease_seconds, skip, broker)

    def outbox_take(self, item_id: int, worker: str, lease_seconds: float) -> bool:
        """Lease one pending message that nobody holds, due or not, for an immediate attempt."""
        with self._writing() as conn:
            return outbox.take(conn, item_id, worker, self._clock(), lease_seconds)

    def outbox_renew(self, worker: str, ids: Iterable[int], lease_seconds: float) -> set[int]:
        """Extend `worker`'s leases on `ids` to now + lease_seconds; returns the ids it still holds."""
        with self._writing() as conn:
            return outbox.renew(conn, worker, ids, self._clock(), lease_seconds)

    def outbox_release(self, item_id: int, worker: str) -> bool:
        """Give back a lease unsent, nothing counted."""
        with self._writing() as conn:
            return outbox.release(conn, item_id, worker)

    def outbox_settle(self, settlements: Sequence[outbox.Settlement]) -> list[bool]:
        """Record several attempts' outcomes in one transaction; each True if its worker still held it."""
        if not settlements:
            return []
        with self._writing() as conn:
            return [outbox.settle(conn, s) for s in settlements]

    def outbox_probes(self, limit: int, every: float) -> list[OutboxItem]:
        """Claim dead letters whose budget ran out, one per destination, for one more attempt each
        (not again for `every` seconds): a probe whether their destination is back."""
        with self._writing() as conn:
            return outbox.claim_probes(conn, self._clock(), limit, every)

    def outbox_redrive(self, destination: str) -> int:
        """Queue again the dead letters to `destination` whose retry budget ran out; returns how many."""
        with self._writing() as conn:
            return outbox.redrive(conn, destination, self._clock())

    def dead_letter_replay_to(self, destination: str | None) -> int:
        """Queue again every dead letter to `destination` (None: all), with a new retry budget."""
        with self._writing() as conn:
            return outbox.replay_destination(conn, destination, self._clock())

    def outbox_delivered(self, item_id: int, worker: str, now: datetime | None = None,
                         status: int | None = None, note: str | None = None, answer: bytes | None = None) -> bool:
        """Mark a message leased by `worker` delivered (status: the HTTP status received);
        False if the worker no longer holds it (taken over after its lease expired, or settled)."""
        with self._writing() as conn:
            return outbox.delivered(conn, item_id, worker, self._clock() if now is None else now, status, note,
                                    answer)

    def outbox_retry(self, item_id: int, worker: str, next_attempt_at: datetime, error: str | None = None,
                     status: int | None = None) -> bool:
        """A failed attempt: count it, keep the error, release the lease, try again at
        next_attempt_at (the rest of its sequence_key waits). False if the worker no longer holds it."""
        with self._writing() as conn:
            return outbox.retry(conn, item_id, worker, next_attempt_at, error, status)

    def outbox_dead(self, item_id: int, worker: str, error: str | None = None, status: int | None = None,
                    cause: str = "expired") -> bool:
        """Give up on a message (counted as a failed attempt): it becomes a dead letter, and the
        next message of its sequence_key may go. cause: 'expired' (its retry budget ran out;
        re-driven when the destination answers again) or 'refused' (only by hand). False if the
        worker no longer holds it."""
        with self._writing() as conn:
            return outbox.dead(conn, item_id, worker, error, status, cause)

    def outbox_get(self, item_id: int) -> OutboxItem | None:
        """One message in any status, with its body."""
        with self._reading() as conn:
            return outbox.get(conn, item_id)

    def outbox_counts(self) -> dict[str, int]:
        """How many messages in each status: {'pending': n, 'delivered': n, 'dead': n}."""
        with self._reading() as conn:
            return outbox.counts(conn)

    def outbox_pending_count(self) -> int:
        with self._reading() as conn:
            return outbox.pending_count(conn)

    def outbox_purge_delivered(self, before: datetime) -> int:
        """Delete the messages delivered before `before`; returns how many."""
        with self._writing() as conn:
            return outbox.purge_delivered(conn, before)

    def dead_letters(self, limit: int = 100) -> list[OutboxItem]:
        """Dead letters, oldest first, without their bodies (outbox_get has them)."""
        _check_limit(limit)
        with self._reading() as conn:
            return outbox.dead_letters(conn, limit)

    def dead_letter_replay(self, item_id: int) -> bool:
        """Put a dead letter back in the queue: pending, attempts 0, due now. False if it is
        not a dead letter."""
        with self._writing() as conn:
            return outbox.replay(conn, item_id, self._clock())

    def dead_letter_purge(self, item_id: int | None = None) -> int:
        """Delete one dead letter, or all of them when no id is given; returns how many."""
        with self._writing() as conn:
            return outbox.purge_dead(conn, item_id)

    # ---------------------------------------------------------------- subscriptions and routes

    def subscription_add(self, endpoint: str, noun: str | None = None, verb: str | None = None,
                         context: str | None = None, signed: bool = False, style: str = "generic") -> Subscription:
        """Subscribe `endpoint` to events of noun/verb/context (None: any); signed: sign what is
        sent to it; style: 'generic' (PublishEvent) or 'typed' (Receive<Noun>). Raises
        DuplicateSubscription if the endpoint already has this subscription."""
        with self.unit_of_work() as uow:
            return uow.subscription_add(endpoint, noun, verb, context, signed, style)

    def subscription_list(self) -> list[Subscription]:
        with self._reading() as conn:
            return routing.list_subscriptions(conn)

    def subscription_remove(self, subscription_id: int) -> bool:
        with self.unit_of_work() as uow:
            return uow.subscription_remove(subscription_id)

    def route_add(self, noun: str, endpoint: str, *, verb: str | None = None, context: str | None = None,
                  signed: bool = False, style: str = "generic") -> Route:
        """Route requests of `noun` (and verb, context; None: any) to `endpoint`. Raises
        DuplicateRoute if (noun, verb, context) already has a route."""
        with self._writing() as conn:
            return routing.add_route(conn, self._clock(), noun, endpoint, verb, context, signed, style)

    def route_list(self) -> list[Route]:
        with self._reading() as conn:
            return routing.list_routes(conn)

    def route_remove(self, route_id: int) -> bool:
        with self._writing() as conn:
            return routing.remove_route(conn, route_id)


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer, not {limit!r}")


def _check_object_key(noun: str, key: str) -> None:
    if not noun or not key:
        raise ValueError("an object needs a non-empty noun and key")
