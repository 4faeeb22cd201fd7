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

A worker keeps what it holds: outbox_renew extends the leases of the messages it still has in
flight (and says which it still holds), so a lease can be short (a dead worker's messages are
taken over within seconds) while a slow receiver's delivery goes on as long as it must. A
worker leases only destinations it can send to now (`skip`: those it has no room for, or whose
circuit is open) and, without a message broker, none of the broker's (`queue:`, `topic:`).

Forwarded requests (kind 'request') are unique per (destination, MessageID): a leg's MessageID
is derived from the caller's Source and MessageID and the backend, so a caller's retries meet
the leg that exists (add_leg). The backend's answer is kept on the delivered leg for the
caller's next retry; an answered conversation closes its other legs (status 'closed').
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, Integer, and_, bindparam, delete, exists, func, insert, not_, or_, select, update

from .db import per_dialect
from .schema import DEAD_CAUSES, OUTBOX_KINDS, OUTBOX_STATUSES, UTCDateTime, outbox as o, require_aware


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
    retry_since: datetime | None = None  # the retry budget runs from here (None: from created_at)
    dead_cause: str | None = None  # 'expired' or 'refused' while a dead letter
    origin: str | None = None  # a forwarded request's caller, "Source|MessageID"
    answer: bytes | None = None  # a delivered forwarded request: the backend's answer as it came

    @property
    def budget_start(self) -> datetime:
        return self.retry_since or self.created_at


_SUMMARY_COLUMNS = [c for c in o.c if c.name not in ("body", "answer")]
BROKER_SCHEMES = ("queue:", "topic:")  # destinations relayed through the message broker

_NOW = bindparam("now", type_=UTCDateTime())
_other = o.alias("other")
_LEASABLE = and_(
    o.c.status == "pending",
    o.c.next_attempt_at <= _NOW,
    or_(o.c.lease_until.is_(None), o.c.lease_until <= _NOW),
    # Ordering per key: no earlier pending message of this key, none of it in flight.
    ~exists().where(_other.c.sequence_key == o.c.sequence_key, _other.c.status == "pending",
                    _other.c.id != o.c.id, or_(_other.c.id < o.c.id, _other.c.lease_until > _NOW)),
    # Destinations this worker has no room for now, or whose circuit is open.
    o.c.destination.not_in(bindparam("skip", expanding=True)),
)
_NOT_BROKER = not_(or_(*(o.c.destination.startswith(scheme) for scheme in BROKER_SCHEMES)))
_LIMIT = bindparam("limit", type_=Integer)
_LEASE_VALUES = {"lease_until": bindparam("p_until"), "leased_by": bindparam("p_worker")}


def _lease_statements(where):
    # SQLite (writers serialised by BEGIN IMMEDIATE): read the candidates, then take them.
    # PostgreSQL: one statement; rows locked by a concurrent lease are skipped, not waited for.
    due = select(o.c.id).where(where).order_by(o.c.id).limit(_LIMIT).with_for_update(skip_locked=True).cte("due")
    return {"any": select(o.c.id).where(where).limit(1),
            "candidates": select(o).where(where).order_by(o.c.id).limit(_LIMIT),
            "returning": update(o).where(o.c.id == due.c.id).values(**_LEASE_VALUES).returning(*o.c)}


_LEASE = {True: _lease_statements(_LEASABLE), False: _lease_statements(and_(_LEASABLE, _NOT_BROKER))}

_INSERT = insert(o)
_TAKE = update(o).where(o.c.id.in_(bindparam("ids", expanding=True))).values(**_LEASE_VALUES)

_HELD = (o.c.id == bindparam("p_id"), o.c.status == "pending", o.c.leased_by == bindparam("p_worker"))
_DELIVERED = update(o).where(*_HELD).values(
    status="delivered", delivered_at=bindparam("p_now"), last_status=bindparam("p_status"),
    last_error=bindparam("p_error"), answer=bindparam("p_answer"), lease_until=None)
_RETRY = update(o).where(*_HELD).values(
    attempts=o.c.attempts + 1, next_attempt_at=bindparam("p_next"), last_error=bindparam("p_error"),
    last_status=bindparam("p_status"), lease_until=None, leased_by=None)
_DEAD = update(o).where(*_HELD).values(
    status="dead", attempts=o.c.attempts + 1, last_error=bindparam("p_error"), last_status=bindparam("p_status"),
    dead_cause=bindparam("p_cause"), lease_until=None)
_RELEASE = update(o).where(*_HELD).values(lease_until=None, leased_by=None)
_RENEW = update(o).where(o.c.id.in_(bindparam("ids", expanding=True)), o.c.status == "pending",
                         o.c.leased_by == bindparam("p_worker")).values(lease_until=bindparam("p_until"))
_STILL_HELD = select(o.c.id).where(o.c.id.in_(bindparam("ids", expanding=True)), o.c.status == "pending",
                                   o.c.leased_by == bindparam("p_worker"))
# One item, taken for an immediate attempt when nobody holds it (a caller's retry of a forwarded request).
_TAKE_ONE = update(o).where(o.c.id == bindparam("p_id"), o.c.status == "pending",
                            or_(o.c.lease_until.is_(None), o.c.lease_until <= _NOW)).values(**_LEASE_VALUES)

_LEG_INSERT = per_dialect(lambda insert_: insert_(o).on_conflict_do_nothing(
    index_elements=[o.c.destination, o.c.message_id], index_where=o.c.kind == "request"))
_LEG = select(o).where(o.c.kind == "request", o.c.destination == bindparam("p_destination"),
                       o.c.message_id == bindparam("p_message_id"))
_CLOSE_LEGS = update(o).where(o.c.kind == "request", o.c.origin == bindparam("p_origin"), o.c.status == "pending",
                              o.c.id != bindparam("p_id")).values(
    status="closed", lease_until=None, last_error=bindparam("p_reason"))

_BY_ID = select(o).where(o.c.id == bindparam("p_id"))
_DEAD_LETTERS = select(*_SUMMARY_COLUMNS).where(o.c.status == "dead").order_by(o.c.id).limit(_LIMIT)
_AGAIN = {"status": "pending", "attempts": 0, "next_attempt_at": bindparam("p_now"), "retry_since": bindparam("p_now"),
          "lease_until": None, "leased_by": None, "dead_cause": None}
_REPLAY = update(o).where(o.c.id == bindparam("p_id"), o.c.status == "dead").values(**_AGAIN)
_REPLAY_TO = update(o).where(o.c.destination == bindparam("p_destination"), o.c.status == "dead").values(**_AGAIN)
_REPLAY_ALL = update(o).where(o.c.status == "dead").values(**_AGAIN)
# Re-drive when a destination answers again: only what ran out of time, never what it refused.
_REDRIVE = update(o).where(o.c.destination == bindparam("p_destination"), o.c.status == "dead",
                           o.c.dead_cause == "expired").values(**_AGAIN)
# A dead letter of a destination that may be back: one per destination, the oldest, claimed for a
# single probing attempt by moving its next_attempt_at on (so no other worker probes it meanwhile).
_PROBE_CANDIDATES = (select(func.min(o.c.id)).where(o.c.status == "dead", o.c.dead_cause == "expired",
                                                    o.c.next_attempt_at <= _NOW)
                     .group_by(o.c.destination).limit(_LIMIT))
_CLAIM_PROBE = update(o).where(o.c.id == bindparam("p_id"), o.c.status == "dead",
                               o.c.next_attempt_at <= _NOW).values(next_attempt_at=bindparam("p_next"))
_REVIVED = update(o).where(o.c.id == bindparam("p_id"), o.c.status == "dead").values(
    status="pending", leased_by=bindparam("p_worker"), lease_until=bindparam("p_until"))
_PURGE_ONE = delete(o).where(o.c.id == bindparam("p_id"), o.c.status == "dead")
_PURGE_DEAD = delete(o).where(o.c.status == "dead")
_PURGE_DELIVERED = delete(o).where(o.c.status.in_(("delivered", "closed")), o.c.delivered_at < bindparam("p_before"))
_COUNTS = select(o.c.status, func.count()).group_by(o.c.status)
_PENDING_COUNT = select(func.count()).select_from(o).where(o.c.status == "pending")


def _row(now: datetime, *, destination: str, soap_action: str | None, body: bytes, sign: bool, kind: str,
         message_id: str | None, correlation_id: str | None, noun: str | None, verb: str | None,
         sequence_key: str | None, not_before: datetime | None, leased_to: tuple[str, float] | None,
         origin: str | None = None) -> dict:
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
           "status": "pending", "origin": origin}
    if leased_to is not None:  # the writer sends it itself right after commit; others keep off meanwhile
        worker, seconds = leased_to
        row.update(leased_by=worker, lease_until=now + timedelta(seconds=seconds))
    return row


def add(conn: Connection, now: datetime, **fields) -> int:
    return int(conn.execute(_INSERT, _row(now, **fields)).inserted_primary_key[0])


def add_leg(conn: Connection, now: datetime, *, origin: str, **fields) -> OutboxItem:
    """The forwarded request's leg: inserted, or the one a retry of the same caller message made."""
    if fields.get("kind") != "request" or not fields.get("message_id"):
        raise ValueError("a leg is a 'request' with a MessageID")
    conn.execute(_LEG_INSERT[conn.dialect.name], _row(now, origin=origin, **fields))
    row = conn.execute(_LEG, {"p_destination": fields["destination"], "p_message_id": fields["message_id"]}).first()
    return _item(row._mapping)


def close_legs(conn: Connection, origin: str, answered_by: int, reason: str) -> int:
    """The conversation is answered: its other pending legs are never sent."""
    return conn.execute(_CLOSE_LEGS, {"p_origin": origin, "p_id": answered_by, "p_reason": reason}).rowcount


def check_lease(worker: str, now: datetime, limit: int, lease_seconds: float) -> None:
    if not worker:
        raise ValueError("a lease needs a worker name")
    require_aware(now, "now")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, not {limit!r}")
    if not lease_seconds > 0:
        raise ValueError(f"lease_seconds must be positive, not {lease_seconds!r}")


def anything_leasable(conn: Connection, now: datetime, skip=(), broker: bool = True) -> bool:
    return conn.execute(_LEASE[broker]["any"], {"now": now, "skip": list(skip)}).first() is not None


def lease(conn: Connection, worker: str, now: datetime, limit: int, lease_seconds: float, skip=(),
          broker: bool = True) -> list[OutboxItem]:
    """Lease up to `limit` leasable messages to `worker`, none to a destination in `skip` and, without
    a broker, none of the broker's; the caller commits."""
    until = now + timedelta(seconds=lease_seconds)
    statements = _LEASE[broker]
    params = {"now": now, "limit": limit, "p_until": until, "p_worker": worker, "skip": list(skip)}
    if conn.dialect.name == "postgresql":
        rows = sorted(conn.execute(statements["returning"], params).all(), key=lambda row: row.id)
        return [_item(row._mapping) for row in rows]
    rows = conn.execute(statements["candidates"], params).all()
    if not rows:
        return []
    conn.execute(_TAKE, {"ids": [row.id for row in rows], "p_until": until, "p_worker": worker})
    # What was written, as a read would return it (UTCDateTime hands back UTC).
    return [_item({**row._mapping, "lease_until": until.astimezone(timezone.utc), "leased_by": worker}) for row in rows]


def take(conn: Connection, item_id: int, worker: str, now: datetime, lease_seconds: float) -> bool:
    """Lease one pending message nobody holds, whether due or not (an immediate attempt)."""
    params = {"p_id": item_id, "now": now, "p_until": now + timedelta(seconds=lease_seconds), "p_worker": worker}
    return conn.execute(_TAKE_ONE, params).rowcount == 1


def renew(conn: Connection, worker: str, ids, now: datetime, lease_seconds: float) -> set[int]:
    """Extend the leases `worker` still holds among `ids`; returns those ids (the others it lost)."""
    ids = list(ids)
    if not ids:
        return set()
    params = {"ids": ids, "p_worker": worker, "p_until": now + timedelta(seconds=lease_seconds)}
    conn.execute(_RENEW, params)
    return {row.id for row in conn.execute(_STILL_HELD, params)}


def release(conn: Connection, item_id: int, worker: str) -> bool:
    """Give a lease back unsent (nothing counted): another worker, or this one later, sends it."""
    return conn.execute(_RELEASE, {"p_id": item_id, "p_worker": worker}).rowcount == 1


def delivered(conn: Connection, item_id: int, worker: str, now: datetime, status: int | None,
              note: str | None = None, answer: bytes | None = None) -> bool:
    require_aware(now, "now")
    params = {"p_id": item_id, "p_worker": worker, "p_now": now, "p_status": status, "p_error": note,
              "p_answer": answer}
    return conn.execute(_DELIVERED, params).rowcount == 1


def retry(conn: Connection, item_id: int, worker: str, next_attempt_at: datetime, error: str | None,
          status: int | None) -> bool:
    require_aware(next_attempt_at, "next_attempt_at")
    params = {"p_id": item_id, "p_worker": worker, "p_next": next_attempt_at, "p_error": error, "p_status": status}
    return conn.execute(_RETRY, params).rowcount == 1


def dead(conn: Connection, item_id: int, worker: str, error: str | None, status: int | None,
         cause: str = "expired") -> bool:
    if cause not in DEAD_CAUSES:
        raise ValueError(f"cause must be one of {DEAD_CAUSES}, not {cause!r}")
    params = {"p_id": item_id, "p_worker": worker, "p_error": error, "p_status": status, "p_cause": cause}
    return conn.execute(_DEAD, params).rowcount == 1


def get(conn: Connection, item_id: int) -> OutboxItem | None:
    row = conn.execute(_BY_ID, {"p_id": item_id}).first()
    return None if row is None else _item(row._mapping)


def dead_letters(conn: Connection, limit: int) -> list[OutboxItem]:
    return [_item(row._mapping) for row in conn.execute(_DEAD_LETTERS, {"limit": limit})]


def replay(conn: Connection, item_id: int, now: datetime) -> bool:
    return conn.execute(_REPLAY, {"p_id": item_id, "p_now": now}).rowcount == 1


def replay_destination(conn: Connection, destination: str | None, now: datetime) -> int:
    """Every dead letter to `destination` (None: every dead letter) queued again, its budget anew."""
    if destination is None:
        return conn.execute(_REPLAY_ALL, {"p_now": now}).rowcount
    return conn.execute(_REPLAY_TO, {"p_destination": destination, "p_now": now}).rowcount


def redrive(conn: Connection, destination: str, now: datetime) -> int:
    """The destination answers again: its dead letters that ran out of time are queued again."""
    return conn.execute(_REDRIVE, {"p_destination": destination, "p_now": now}).rowcount


def claim_probes(conn: Connection, now: datetime, limit: int, every: float) -> list[OutboxItem]:
    """Expired dead letters to try once more, one per destination, not again for `every` seconds."""
    ids = [row[0] for row in conn.execute(_PROBE_CANDIDATES, {"now": now, "limit": limit})]
    claimed = []
    for item_id in ids:
        params = {"p_id": item_id, "now": now, "p_next": now + timedelta(seconds=every)}
        if conn.execute(_CLAIM_PROBE, params).rowcount == 1:
            claimed.append(get(conn, item_id))
    return claimed


def revive(conn: Connection, item_id: int, worker: str, now: datetime, lease_seconds: float) -> bool:
    """A probe of a dead letter got through: it is pending again, leased to `worker` to record it."""
    params = {"p_id": item_id, "p_worker": worker, "p_until": now + timedelta(seconds=lease_seconds)}
    return conn.execute(_REVIVED, params).rowcount == 1


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
    answer = row.get("answer")
    return OutboxItem(
        id=row["id"], created_at=row["created_at"], destination=row["destination"], soap_action=row["soap_action"],
        sign=bool(row["sign"]), kind=row["kind"], message_id=row["message_id"],
        correlation_id=row["correlation_id"], noun=row["noun"], verb=row["verb"],
        sequence_key=row["sequence_key"], attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
        lease_until=row["lease_until"], leased_by=row["leased_by"], status=row["status"],
        last_error=row["last_error"], last_status=row["last_status"], delivered_at=row["delivered_at"],
        body=None if body is None else bytes(body), retry_since=row.get("retry_since"),
        dead_cause=row.get("dead_cause"), origin=row.get("origin"), answer=None if answer is None else bytes(answer),
    )


@dataclass(frozen=True)
class Settlement:
    """The outcome of one attempt, as the worker that holds the item reports it."""

    item_id: int
    worker: str
    outcome: str  # 'delivered', 'retry', 'dead', or 'revived' (a dead letter's probe was delivered)
    at: datetime  # when the attempt ended
    status: int | None = None  # the HTTP status received, if any
    error: str | None = None  # why it failed, or (delivered) what the receiver answered beside OK
    next_attempt_at: datetime | None = None  # 'retry': when
    cause: str = "expired"  # 'dead': 'expired' or 'refused'
    answer: bytes | None = None  # 'delivered' forwarded request: the backend's answer


def settle(conn: Connection, settlement: Settlement) -> bool:
    """Record one settlement; False when the worker no longer holds the item (fenced off)."""
    s = settlement
    if s.outcome == "revived":  # a probe of a dead letter was delivered
        return revive(conn, s.item_id, s.worker, s.at, 60.0) and \
            delivered(conn, s.item_id, s.worker, s.at, s.status, s.error, s.answer)
    if s.outcome == "delivered":
        return delivered(conn, s.item_id, s.worker, s.at, s.status, s.error, s.answer)
    if s.outcome == "retry":
        return retry(conn, s.item_id, s.worker, s.next_attempt_at, s.error, s.status)
    if s.outcome == "dead":
        return dead(conn, s.item_id, s.worker, s.error, s.status, s.cause)
    raise ValueError(f"outcome must be delivered, retry or dead, not {s.outcome!r}")
