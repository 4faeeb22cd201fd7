"""The transactional outbox: messages to send once the transaction that produced them commits.

A handler that changes state and must tell someone (an asynchronous reply, a published event, a
routed request) writes the message into the outbox through its unit of work: the message
exists if and only if the state change was committed. A delivery worker then leases due
messages, sends them, and reports the outcome; a message is retried until it is delivered or
declared dead, so delivery is at least once (receivers deduplicate on MessageID).

Leasing. A message is leasable when it is pending, due (next_attempt_at <= now) and not
leased (no lease, or an expired one: its worker is presumed dead). Messages that share a
sequence_key are delivered one at a time and in id order: a message is leasable only while no
other pending message of its key has a smaller id (leased, waiting for a retry, or not yet
due) and none of its key is under an unexpired lease. A message waiting for a retry therefore
holds back the rest of its key, which is the point (PARTIAL pages must not overtake each
other). Only pending messages hold a key: once a message is delivered or dead, the next one of
its key may go. A dead letter must not block its key forever, and a dead-lettered page is
already lost to the receiver; replaying it sends it again, first among its key's pending
messages (its id is older), though after any of its successors already delivered.

The lease is atomic across threads and processes. PostgreSQL: one statement, UPDATE ... FROM
(SELECT ... FOR UPDATE SKIP LOCKED) RETURNING, so concurrent workers pass over each other's
rows instead of queueing behind them, and a row whose lease was taken meanwhile fails the
re-check of the WHERE clause that READ COMMITTED does on a row updated by another transaction.
SQLite: the select and the update run under BEGIN IMMEDIATE, which admits one writer at a time;
an idle poll is answered by a read outside any transaction, without taking the write lock.
One limitation on PostgreSQL: a dead letter replayed in the same instant as a worker leases its
successor (leasable while the letter was dead) may overlap with that successor in flight once.

A worker reports with outbox_delivered, outbox_retry or outbox_dead, each of which acts only
if the message is still pending and leased by that worker (returns False otherwise: another
worker took it over after the lease expired, or it was already settled). An expired lease that
no one has taken over is still honoured. Worker names must be unique among live workers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, Integer, and_, bindparam, delete, exists, func, insert, or_, select, update

from .schema import OUTBOX_KINDS, OUTBOX_STATUSES, UTCDateTime, outbox as o, require_aware


@dataclass(frozen=True)
class OutboxItem:
    id: int
    created_at: datetime
    destination: str
    soap_action: str | None
    sign: bool
    kind: str
    message_id: str | None
    correlation_id: str | None
    noun: str | None
    verb: str | None
    sequence_key: str | None
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    leased_by: str | None
    status: str
    last_error: str | None
    last_status: int | None
    delivered_at: datetime | None
    body: bytes | None = None  # None in listings, which leave the bytes in the database


_SUMMARY_COLUMNS = [c for c in o.c if c.name != "body"]

_NOW = bindparam("now", type_=UTCDateTime())
_other = o.alias("other")
_LEASABLE = and_(
    o.c.status == "pending",
    o.c.next_attempt_at <= _NOW,
    or_(o.c.lease_until.is_(None), o.c.lease_until <= _NOW),
    # Ordering per key: no earlier pending message of this key, none of it in flight.
    ~exists().where(_other.c.sequence_key == o.c.sequence_key, _other.c.status == "pending",
                    _other.c.id != o.c.id, or_(_other.c.id < o.c.id, _other.c.lease_until > _NOW)),
)
_LIMIT = bindparam("limit", type_=Integer)
_LEASE_VALUES = {"lease_until": bindparam("p_until"), "leased_by": bindparam("p_worker")}

_INSERT = insert(o)
# SQLite (writers serialised by BEGIN IMMEDIATE): read the candidates, then take them.
_ANY_LEASABLE = select(o.c.id).where(_LEASABLE).limit(1)
_CANDIDATES = select(o).where(_LEASABLE).order_by(o.c.id).limit(_LIMIT)
_TAKE = update(o).where(o.c.id.in_(bindparam("ids", expanding=True))).values(**_LEASE_VALUES)
# PostgreSQL: one statement; rows locked by a concurrent lease are skipped, not waited for.
_DUE = select(o.c.id).where(_LEASABLE).order_by(o.c.id).limit(_LIMIT).with_for_update(skip_locked=True).cte("due")
_LEASE_RETURNING = update(o).where(o.c.id == _DUE.c.id).values(**_LEASE_VALUES).returning(*o.c)

_HELD = (o.c.id == bindparam("p_id"), o.c.status == "pending", o.c.leased_by == bindparam("p_worker"))
_DELIVERED = update(o).where(*_HELD).values(
    status="delivered", delivered_at=bindparam("p_now"), last_status=bindparam("p_status"), lease_until=None)
_RETRY = update(o).where(*_HELD).values(
    attempts=o.c.attempts + 1, next_attempt_at=bindparam("p_next"), last_error=bindparam("p_error"),
    last_status=bindparam("p_status"), lease_until=None, leased_by=None)
_DEAD = update(o).where(*_HELD).values(
    status="dead", attempts=o.c.attempts + 1, last_error=bindparam("p_error"), last_status=bindparam("p_status"),
    lease_until=None)

_BY_ID = select(o).where(o.c.id == bindparam("p_id"))
_DEAD_LETTERS = select(*_SUMMARY_COLUMNS).where(o.c.status == "dead").order_by(o.c.id).limit(_LIMIT)
_REPLAY = update(o).where(o.c.id == bindparam("p_id"), o.c.status == "dead").values(
    status="pending", attempts=0, next_attempt_at=bindparam("p_now"), lease_until=None, leased_by=None)
_PURGE_ONE = delete(o).where(o.c.id == bindparam("p_id"), o.c.status == "dead")
_PURGE_DEAD = delete(o).where(o.c.status == "dead")
_PURGE_DELIVERED = delete(o).where(o.c.status == "delivered", o.c.delivered_at < bindparam("p_before"))
_COUNTS = select(o.c.status, func.count()).group_by(o.c.status)
_PENDING_COUNT = select(func.count()).select_from(o).where(o.c.status == "pending")


def add(conn: Connection, now: datetime, *, destination: str, soap_action: str | None, body: bytes, sign: bool,
        kind: str, message_id: str | None, correlation_id: str | None, noun: str | None, verb: str | None,
        sequence_key: str | None, not_before: datetime | None,
        leased_to: tuple[str, float] | None = None) -> int:
    if not destination:
        raise ValueError("an outbox message needs a destination")
    if kind not in OUTBOX_KINDS:
        raise ValueError(f"kind must be one of {OUTBOX_KINDS}, not {kind!r}")
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"body must be the bytes of the envelope, not {type(body).__name__}")
    due = now if not_before is None else require_aware(not_before, "not_before")
    row = {"created_at": now, "destination": destination, "soap_action": soap_action, "body": bytes(body),
           "sign": bool(sign), "kind": kind, "message_id": message_id, "correlation_id": correlation_id,
           "noun": noun, "verb": verb, "sequence_key": sequence_key, "attempts": 0, "next_attempt_at": due,
           "status": "pending"}
    if leased_to is not None:  # the writer sends it itself right after commit; others keep off meanwhile
        worker, seconds = leased_to
        row.update(leased_by=worker, lease_until=now + timedelta(seconds=seconds))
    return int(conn.execute(_INSERT, row).inserted_primary_key[0])


def check_lease(worker: str, now: datetime, limit: int, lease_seconds: float) -> None:
    if not worker:
        raise ValueError("a lease needs a worker name")
    require_aware(now, "now")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, not {limit!r}")
    if not lease_seconds > 0:
        raise ValueError(f"lease_seconds must be positive, not {lease_seconds!r}")


def anything_leasable(conn: Connection, now: datetime) -> bool:
    return conn.execute(_ANY_LEASABLE, {"now": now}).first() is not None


def lease(conn: Connection, worker: str, now: datetime, limit: int, lease_seconds: float) -> list[OutboxItem]:
    """Lease up to `limit` leasable messages to `worker`; the caller commits."""
    until = now + timedelta(seconds=lease_seconds)
    params = {"now": now, "limit": limit, "p_until": until, "p_worker": worker}
    if conn.dialect.name == "postgresql":
        rows = sorted(conn.execute(_LEASE_RETURNING, params).all(), key=lambda row: row.id)
        return [_item(row._mapping) for row in rows]
    rows = conn.execute(_CANDIDATES, params).all()
    if not rows:
        return []
    conn.execute(_TAKE, {"ids": [row.id for row in rows], "p_until": until, "p_worker": worker})
    # What was written, as a read would return it (UTCDateTime hands back UTC).
    return [_item({**row._mapping, "lease_until": until.astimezone(timezone.utc), "leased_by": worker}) for row in rows]


def delivered(conn: Connection, item_id: int, worker: str, now: datetime, status: int | None) -> bool:
    require_aware(now, "now")
    params = {"p_id": item_id, "p_worker": worker, "p_now": now, "p_status": status}
    return conn.execute(_DELIVERED, params).rowcount == 1


def retry(conn: Connection, item_id: int, worker: str, next_attempt_at: datetime, error: str | None,
          status: int | None) -> bool:
    require_aware(next_attempt_at, "next_attempt_at")
    params = {"p_id": item_id, "p_worker": worker, "p_next": next_attempt_at, "p_error": error, "p_status": status}
    return conn.execute(_RETRY, params).rowcount == 1


def dead(conn: Connection, item_id: int, worker: str, error: str | None, status: int | None) -> bool:
    params = {"p_id": item_id, "p_worker": worker, "p_error": error, "p_status": status}
    return conn.execute(_DEAD, params).rowcount == 1


def get(conn: Connection, item_id: int) -> OutboxItem | None:
    row = conn.execute(_BY_ID, {"p_id": item_id}).first()
    return None if row is None else _item(row._mapping)


def dead_letters(conn: Connection, limit: int) -> list[OutboxItem]:
    return [_item(row._mapping) for row in conn.execute(_DEAD_LETTERS, {"limit": limit})]


def replay(conn: Connection, item_id: int, now: datetime) -> bool:
    return conn.execute(_REPLAY, {"p_id": item_id, "p_now": now}).rowcount == 1


def purge_dead(conn: Connection, item_id: int | None) -> int:
    if item_id is None:
        return conn.execute(_PURGE_DEAD).rowcount
    return conn.execute(_PURGE_ONE, {"p_id": item_id}).rowcount


def purge_delivered(conn: Connection, before: datetime) -> int:
    return conn.execute(_PURGE_DELIVERED, {"p_before": require_aware(before, "before")}).rowcount


def counts(conn: Connection) -> dict[str, int]:
    found = dict.fromkeys(OUTBOX_STATUSES, 0)
    found.update((status, int(n)) for status, n in conn.execute(_COUNTS))
    return found


def pending_count(conn: Connection) -> int:
    return int(conn.execute(_PENDING_COUNT).scalar_one())


def _item(row) -> OutboxItem:
    body = row.get("body")
    return OutboxItem(
        id=row["id"], created_at=row["created_at"], destination=row["destination"], soap_action=row["soap_action"],
        sign=bool(row["sign"]), kind=row["kind"], message_id=row["message_id"],
        correlation_id=row["correlation_id"], noun=row["noun"], verb=row["verb"],
        sequence_key=row["sequence_key"], attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
        lease_until=row["lease_until"], leased_by=row["leased_by"], status=row["status"],
        last_error=row["last_error"], last_status=row["last_status"], delivered_at=row["delivered_at"],
        body=None if body is None else bytes(body),
    )
