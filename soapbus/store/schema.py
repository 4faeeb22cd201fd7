"""Table definitions, shared by SQLite and PostgreSQL.

The tables are declared without a schema; a Store maps them onto its own PostgreSQL schema at
execution time (schema_translate_map), so one MetaData serves every Store in the process.
Text columns that carry values chosen by remote senders (message ids, sources, keys) have no
length: a VARCHAR(n) would reject on PostgreSQL what SQLite accepts, and the two must agree.

These tables are the newest schema revision. A new store is created from them (and stamped with
that revision); an existing one is upgraded by the revisions in soapbus/store/migrations/versions.
Every change to a table here comes with a revision that makes it (docs/upgrading.md tells how):
tests/test_migrations.py fails while the revisions build anything other than these tables.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, LargeBinary,
                        MetaData, String, Table, Text, UniqueConstraint, text)
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so both databases report the same names in errors.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

DIRECTIONS = ("in", "out")
# 'executed': SwitchingPlans, Controls and other objects that an execute request carries out.
OBJECT_STATUSES = ("active", "canceled", "closed", "executed")
# What an outbox message is: an asynchronous reply, a published event, a routed request.
OUTBOX_KINDS = ("reply", "event", "request")
# 'closed': a forwarded request whose conversation was answered through another leg; never sent again.
OUTBOX_STATUSES = ("pending", "delivered", "dead", "closed")
# Why a message became a dead letter: its retry budget ran out (re-driven by itself once its
# destination answers again), or the receiver refused it for good (re-driven only by hand).
DEAD_CAUSES = ("expired", "refused")
# How a subscriber or a route endpoint is called: the generic WSDL's PublishEvent/Request
# operations, or the typed per-noun operations (Receive<Noun>, Request<Noun> ...).
DELIVERY_STYLES = ("generic", "typed")

# SQLite only turns an INTEGER PRIMARY KEY into an auto-incrementing rowid; PostgreSQL gets BIGINT
# because the journal grows without bound.
RowId = BigInteger().with_variant(Integer(), "sqlite")


def require_aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime; got naive {value!r}")
    return value


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime that always comes back in UTC.

    PostgreSQL keeps timestamptz but returns it in the session's zone; SQLite keeps no zone at
    all, so values are converted to UTC and stored naive there, and marked UTC again on read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        utc = require_aware(value, "a stored datetime").astimezone(timezone.utc)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


journal = Table(
    "journal", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("verb", String),
    Column("noun", String),
    Column("message_id", String),
    Column("correlation_id", String),
    Column("source", String),
    Column("peer", String),
    Column("outcome", String(32), nullable=False),
    # A 61968 code ("5.2") or a WS-Security fault's QName ("wsse:FailedAuthentication")
    Column("reply_code", String(64)),
    Column("reason", Text),
    Column("size", Integer, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    # A reply points at the request it answers; purging old requests must not purge replies.
    Column("related_id", RowId, ForeignKey("journal.id", ondelete="SET NULL")),
    CheckConstraint(_in("direction", DIRECTIONS), name="direction"),
    Index(None, "message_id"),
    Index(None, "correlation_id"),
)

processed_message = Table(
    "processed_message", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    # '' stands for "no Source": NULLs never collide in a unique constraint, '' does.
    Column("source", String, nullable=False),
    Column("message_id", String, nullable=False),
    Column("claimed_at", UTCDateTime(), nullable=False),
    Column("reply", LargeBinary),
    Column("reply_journal_id", RowId, ForeignKey("journal.id", ondelete="SET NULL")),
    Column("replied_at", UTCDateTime()),
    UniqueConstraint("source", "message_id"),
)

cim_object = Table(
    "cim_object", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("noun", String, nullable=False),
    Column("key", String, nullable=False),
    Column("item_type", String, nullable=False),
    Column("xml", LargeBinary, nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("noun", "key"),
    CheckConstraint(_in("status", OBJECT_STATUSES), name="status"),
    Index(None, "noun", "updated_at"),
)

cim_object_name = Table(
    "cim_object_name", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("object_id", RowId, ForeignKey("cim_object.id", ondelete="CASCADE"), nullable=False),
    Column("name", String, nullable=False),
    Column("name_type", String),
    Index(None, "name", "name_type"),
    Index(None, "object_id"),
)

replay_memory = Table(
    "replay_memory", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("scope", String, nullable=False),
    Column("key", String, nullable=False),
    Column("remembered_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    UniqueConstraint("scope", "key"),
    Index(None, "expires_at"),
)

# The transactional outbox: messages to send, written in the same transaction as the state
# change they announce, and sent by a delivery worker after the commit (soapbus.store.outbox).
outbox = Table(
    "outbox", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("destination", Text, nullable=False),
    Column("soap_action", Text),
    Column("body", LargeBinary, nullable=False),  # the SOAP envelope, unsigned
    Column("sign", Boolean(create_constraint=False), nullable=False),  # sign at send time
    Column("kind", String(16), nullable=False),
    Column("message_id", String),
    Column("correlation_id", String),
    Column("noun", String),
    Column("verb", String),
    # Messages sharing a key are delivered one at a time, in id order; NULL: no ordering.
    Column("sequence_key", Text),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_until", UTCDateTime()),
    Column("leased_by", Text),
    Column("status", String(16), nullable=False),
    Column("last_error", Text),
    Column("last_status", Integer),  # the HTTP status of the last attempt, if it got one
    Column("delivered_at", UTCDateTime()),
    # The retry budget runs from here (NULL: from created_at); a replay starts it again.
    Column("retry_since", UTCDateTime()),
    Column("dead_cause", String(16)),  # one of DEAD_CAUSES while dead
    # A forwarded request (kind 'request'): the caller's "Source|MessageID", and the backend's
    # answer as it came once delivered, for the caller's next retry of the same message.
    Column("origin", Text),
    Column("answer", LargeBinary),
    CheckConstraint(_in("kind", OUTBOX_KINDS), name="kind"),
    CheckConstraint(_in("status", OUTBOX_STATUSES), name="status"),
    # The lease query walks the pending messages in id order (the order it leases them in,
    # so no sort, and delivered rows are never visited), then asks "is an earlier one of this
    # key pending?"; dead letters are listed the same way.
    Index(None, "status", "id"),
    Index(None, "sequence_key", "status", "id"),
    # One forwarded leg per (caller Source, MessageID, backend): the leg's MessageID is derived
    # from those three, so a caller's retries meet the leg that exists instead of adding one.
    Index("uq_outbox_request_leg", "destination", "message_id", unique=True,
          sqlite_where=text("kind = 'request'"), postgresql_where=text("kind = 'request'")),
    Index(None, "origin"),
)

# Event subscriptions and request routes. A missing noun, verb or context means "any" and is
# stored as '' (NOT NULL), because NULLs never collide in a unique constraint and '' does.
subscription = Table(
    "subscription", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("endpoint", Text, nullable=False),
    Column("noun", String, nullable=False),
    Column("verb", String, nullable=False),
    Column("context", String, nullable=False),
    Column("signed", Boolean(create_constraint=False), nullable=False),
    Column("style", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("endpoint", "noun", "verb", "context"),
    CheckConstraint(_in("style", DELIVERY_STYLES), name="style"),
    Index(None, "noun"),
)

route = Table(
    "route", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("noun", String, nullable=False),
    Column("verb", String, nullable=False),
    Column("context", String, nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("style", String(16), nullable=False),
    Column("signed", Boolean(create_constraint=False), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("noun", "verb", "context"),
    CheckConstraint(_in("style", DELIVERY_STYLES), name="style"),
)
