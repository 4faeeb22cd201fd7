"""The transactional outbox: written with the state change, leased by workers, ordered per key."""
import threading
import time
from datetime import timedelta

import pytest

from soapbus.store import OutboxItem

# tests/ may be a package (relative import) or a plain directory on sys.path (absolute import).
try:
    from .store_fixtures import (  # noqa: F401
        BackgroundUnit, clock, clocked_store, open_store, pg_schema_prefix, run_in_threads, store, store_target)
except ImportError:
    from store_fixtures import (  # noqa: F401
        BackgroundUnit, clock, clocked_store, open_store, pg_schema_prefix, run_in_threads, store, store_target)


class Abort(Exception):
    """Raised inside a unit of work to make it roll back."""


def add(uow, key=None, *, n=0, not_before=None, kind="event", destination="http://sub.example/ws") -> int:
    return uow.outbox_add(destination=destination, soap_action="http://iec.ch/61968/PublishEvent",
                          body=f"<Envelope n='{n}'/>".encode(), sign=False, kind=kind, message_id=f"m-{n}",
                          correlation_id=None, noun="EndDevices", verb="created", sequence_key=key,
                          not_before=not_before)


def add_many(store, keys) -> list[int]:
    with store.unit_of_work() as uow:
        return [add(uow, key, n=n) for n, key in enumerate(keys)]


def ids(items) -> list[int]:
    return [item.id for item in items]


# ---------------------------------------------------------------- writing


def test_added_message_is_pending_and_due(clocked_store, clock):
    with clocked_store.unit_of_work() as uow:
        item_id = uow.outbox_add(destination="http://cis.example/ws", soap_action="urn:reply", body=b"<Envelope/>",
                                 sign=True, kind="reply", message_id="m-1", correlation_id="c-1",
                                 noun="MeterReadings", verb="reply", sequence_key="http://cis.example/ws|c-1")
    assert clocked_store.outbox_get(item_id) == OutboxItem(
        id=item_id, created_at=clock.current, destination="http://cis.example/ws", soap_action="urn:reply",
        sign=True, kind="reply", message_id="m-1", correlation_id="c-1", noun="MeterReadings", verb="reply",
        sequence_key="http://cis.example/ws|c-1", attempts=0, next_attempt_at=clock.current, lease_until=None,
        leased_by=None, status="pending", last_error=None, last_status=None, delivered_at=None, body=b"<Envelope/>")
    assert clocked_store.outbox_get(item_id + 1) is None


def test_outbox_message_rolls_back_with_its_transaction(store):
    with pytest.raises(Abort):
        with store.unit_of_work() as uow:
            uow.object_insert("EndDevices", "ed-1", "EndDevice", b"<EndDevice/>")
            add(uow)
            raise Abort
    assert store.outbox_counts() == {"pending": 0, "delivered": 0, "dead": 0, "closed": 0}
    assert store.outbox_lease("w") == []


def test_outbox_message_in_a_failed_savepoint_is_dropped_alone(store):
    with store.unit_of_work() as uow:
        kept = add(uow, n=1)
        with pytest.raises(Abort):
            with uow.savepoint():
                add(uow, n=2)
                raise Abort
    assert ids(store.outbox_lease("w")) == [kept]


@pytest.mark.parametrize("bad, message", [
    ({"kind": "notification"}, "kind"),
    ({"destination": ""}, "destination"),
])
def test_bad_messages_are_refused(store, bad, message):
    fields = dict(destination="http://x", soap_action=None, body=b"<e/>", sign=False, kind="event", message_id=None,
                  correlation_id=None, noun=None, verb=None)
    with store.unit_of_work() as uow:
        with pytest.raises(ValueError, match=message):
            uow.outbox_add(**{**fields, **bad})
        with pytest.raises(TypeError, match="bytes"):
            uow.outbox_add(**{**fields, "body": "<e/>"})


def test_not_before_delays_a_message(clocked_store, clock):
    with clocked_store.unit_of_work() as uow:
        later = add(uow, not_before=clock.current + timedelta(minutes=5))
    assert clocked_store.outbox_lease("w") == []
    assert ids(clocked_store.outbox_lease("w", clock.advance(minutes=5))) == [later]


# ---------------------------------------------------------------- leasing and ordering


def test_lease_returns_what_is_stored(clocked_store, clock):
    add_many(clocked_store, ["k", None])
    leased = clocked_store.outbox_lease("w-1", clock.current, limit=10, lease_seconds=30)
    assert [item.body for item in leased] == [b"<Envelope n='0'/>", b"<Envelope n='1'/>"]
    for item in leased:
        assert (item.leased_by, item.lease_until) == ("w-1", clock.current + timedelta(seconds=30))
        assert item == clocked_store.outbox_get(item.id)


def test_lease_respects_the_limit_oldest_first(store):
    added = add_many(store, [None] * 5)
    assert ids(store.outbox_lease("w", limit=2)) == added[:2]
    assert ids(store.outbox_lease("w", limit=2)) == added[2:4]
    assert ids(store.outbox_lease("w", limit=2)) == added[4:]
    assert store.outbox_lease("w", limit=2) == []


def test_one_message_per_sequence_key_at_a_time_in_order(store):
    k1, k2, l1, free, k3 = add_many(store, ["k", "k", "l", None, "k"])
    assert ids(store.outbox_lease("w")) == [k1, l1, free]
    assert store.outbox_lease("w") == []  # k2 waits for k1
    assert store.outbox_delivered(k1, "w", status=200)
    assert ids(store.outbox_lease("w")) == [k2]
    assert store.outbox_delivered(k2, "w", status=200)
    assert ids(store.outbox_lease("w")) == [k3]


def test_a_message_waiting_for_a_retry_holds_back_its_key(clocked_store, clock):
    first, second = add_many(clocked_store, ["k", "k"])
    [leased] = clocked_store.outbox_lease("w")
    assert clocked_store.outbox_retry(first, "w", clock.current + timedelta(minutes=1), "connection refused")
    assert clocked_store.outbox_lease("w", clock.advance(seconds=30)) == []  # second must not overtake first
    assert ids(clocked_store.outbox_lease("w", clock.advance(seconds=30))) == [first]
    assert clocked_store.outbox_delivered(first, "w", status=200)
    assert ids(clocked_store.outbox_lease("w")) == [second]


def test_a_message_not_yet_due_holds_back_its_key(clocked_store, clock):
    with clocked_store.unit_of_work() as uow:
        first = add(uow, "k", not_before=clock.current + timedelta(minutes=1))
        second = add(uow, "k")
    assert clocked_store.outbox_lease("w") == []
    assert ids(clocked_store.outbox_lease("w", clock.advance(minutes=1))) == [first]
    assert second not in ids(clocked_store.outbox_lease("w"))


def test_a_dead_letter_does_not_block_its_key(store):
    # Decision: only pending messages hold a key. The dead letter is set aside (and reported);
    # the rest of the key goes on rather than waiting forever for an operator.
    first, second = add_many(store, ["k", "k"])
    store.outbox_lease("w")
    assert store.outbox_dead(first, "w", "HTTP 500 five times", 500)
    assert ids(store.outbox_lease("w")) == [second]


def test_a_replayed_dead_letter_goes_before_the_pending_rest_of_its_key(store):
    first, second, third = add_many(store, ["k", "k", "k"])
    store.outbox_lease("w")
    store.outbox_dead(first, "w", "gone", 410)
    assert store.dead_letter_replay(first)
    assert ids(store.outbox_lease("w")) == [first]  # its older id puts it first again
    assert store.outbox_lease("w") == []
    store.outbox_delivered(first, "w")
    assert ids(store.outbox_lease("w")) == [second]


def test_a_replayed_dead_letter_waits_for_a_successor_in_flight(store):
    first, second = add_many(store, ["k", "k"])
    store.outbox_lease("w")
    store.outbox_dead(first, "w", "gone", 410)
    assert ids(store.outbox_lease("w")) == [second]
    assert store.dead_letter_replay(first)
    assert store.outbox_lease("w") == []  # never two of one key in flight
    store.outbox_delivered(second, "w")
    assert ids(store.outbox_lease("w")) == [first]


def test_an_expired_lease_makes_the_message_leasable_again(clocked_store, clock):
    [item_id] = add_many(clocked_store, [None])
    assert ids(clocked_store.outbox_lease("crashed", clock.current, lease_seconds=30)) == [item_id]
    assert clocked_store.outbox_lease("w-2", clock.advance(seconds=29)) == []
    [taken_over] = clocked_store.outbox_lease("w-2", clock.advance(seconds=1), lease_seconds=30)
    assert (taken_over.id, taken_over.leased_by, taken_over.attempts) == (item_id, "w-2", 0)
    # The crashed worker, back from the dead, no longer holds it.
    assert clocked_store.outbox_delivered(item_id, "crashed", status=200) is False
    assert clocked_store.outbox_retry(item_id, "crashed", clock.current, "late") is False
    assert clocked_store.outbox_dead(item_id, "crashed", "late") is False
    assert clocked_store.outbox_delivered(item_id, "w-2", status=200) is True
    assert clocked_store.outbox_get(item_id).status == "delivered"


def test_an_expired_lease_holds_its_key_no_longer(clocked_store, clock):
    first, second = add_many(clocked_store, ["k", "k"])
    clocked_store.outbox_lease("crashed", clock.current, lease_seconds=30)
    # The first message is still pending (and first): it is the one leased again, not the second.
    assert ids(clocked_store.outbox_lease("w-2", clock.advance(seconds=31))) == [first]


def test_an_expired_lease_no_one_took_over_is_still_honoured(clocked_store, clock):
    [item_id] = add_many(clocked_store, [None])
    clocked_store.outbox_lease("slow", clock.current, lease_seconds=30)
    clock.advance(minutes=5)
    assert clocked_store.outbox_delivered(item_id, "slow", status=200) is True


def test_an_idle_poll_does_not_wait_for_a_writer(store):
    # On SQLite an idle poll is answered without the write lock an open unit of work holds.
    holding, release = threading.Event(), threading.Event()

    def hold_a_unit_open():
        with store.unit_of_work() as uow:
            uow.claim("CIS", "m-1")
            holding.set()
            release.wait(30)

    writer = BackgroundUnit(hold_a_unit_open).start()
    try:
        assert holding.wait(30)
        started = time.monotonic()
        assert store.outbox_lease("w") == []
        assert store.outbox_counts()["pending"] == 0
        assert time.monotonic() - started < 5
    finally:
        release.set()
        writer.join()


# ---------------------------------------------------------------- concurrency


def _drain_concurrently(stores, keys, workers_per_store=2):
    """Workers lease, check and deliver until nothing is pending; returns (leases, deliveries per key)."""
    added = dict(zip(add_many(stores[0], keys), keys))
    lock = threading.Lock()
    in_flight: set[str] = set()
    leased: list[int] = []
    delivered_per_key: dict[str, list[int]] = {}

    def worker(store, name):
        for _ in range(10_000):
            items = store.outbox_lease(name, limit=3, lease_seconds=300)
            if not items:
                if store.outbox_pending_count() == 0:
                    return
                time.sleep(0.001)
                continue
            with lock:
                for item in items:
                    leased.append(item.id)
                    if item.sequence_key is not None:
                        assert item.sequence_key not in in_flight, f"two of key {item.sequence_key} in flight"
                        in_flight.add(item.sequence_key)
            for item in items:
                with lock:
                    in_flight.discard(item.sequence_key)
                    delivered_per_key.setdefault(item.sequence_key, []).append(item.id)
                assert store.outbox_delivered(item.id, name, status=200)
        raise AssertionError("worker did not finish")

    run_in_threads([lambda s=store, n=f"w-{i}-{j}": worker(s, n)
                    for i, store in enumerate(stores) for j in range(workers_per_store)])
    return added, leased, delivered_per_key


KEYS = [f"k{n % 5}" for n in range(40)] + [None] * 10


def test_concurrent_threads_never_lease_one_message_twice(store):
    added, leased, per_key = _drain_concurrently([store], KEYS, workers_per_store=4)
    assert sorted(leased) == sorted(added)  # every message exactly once
    for key, delivered in per_key.items():
        if key is not None:
            assert delivered == sorted(delivered), f"key {key} delivered out of order"
    assert store.outbox_counts() == {"pending": 0, "delivered": len(KEYS), "dead": 0, "closed": 0}


def test_two_stores_on_one_database_never_lease_one_message_twice(open_store):
    stores = [open_store(), open_store()]
    added, leased, per_key = _drain_concurrently(stores, KEYS)
    assert sorted(leased) == sorted(added)
    for key, delivered in per_key.items():
        if key is not None:
            assert delivered == sorted(delivered)


def test_racing_lessees_split_the_messages(open_store):
    stores = [open_store(), open_store()]
    added = add_many(stores[0], [None] * 30)
    results = run_in_threads([lambda s=s, n=f"w-{i}-{j}": s.outbox_lease(n, limit=30)
                              for i, s in enumerate(stores) for j in range(3)])
    leased = [item.id for batch in results for item in batch]
    assert sorted(leased) == added  # all taken, none twice


# ---------------------------------------------------------------- outcomes


def test_delivered_records_the_outcome(clocked_store, clock):
    [item_id] = add_many(clocked_store, [None])
    clocked_store.outbox_lease("w")
    assert clocked_store.outbox_delivered(item_id, "w", clock.advance(seconds=2), 200)
    item = clocked_store.outbox_get(item_id)
    assert (item.status, item.delivered_at, item.last_status, item.lease_until) == (
        "delivered", clock.current, 200, None)
    assert clocked_store.outbox_delivered(item_id, "w", clock.current, 200) is False  # settled already
    assert clocked_store.outbox_lease("w", clock.advance(hours=1)) == []


def test_outcomes_need_the_lease(store):
    [item_id] = add_many(store, [None])
    assert store.outbox_delivered(item_id, "w") is False  # never leased
    store.outbox_lease("w")
    assert store.outbox_delivered(item_id, "other") is False
    assert store.outbox_dead(item_id, "other", "no") is False
    assert store.outbox_delivered(item_id + 100, "w") is False
    assert store.outbox_get(item_id).status == "pending"


def test_retry_counts_the_attempt_and_releases_the_lease(clocked_store, clock):
    [item_id] = add_many(clocked_store, [None])
    clocked_store.outbox_lease("w")
    next_time = clock.current + timedelta(seconds=10)
    assert clocked_store.outbox_retry(item_id, "w", next_time, "HTTP 503", 503)
    item = clocked_store.outbox_get(item_id)
    assert (item.status, item.attempts, item.next_attempt_at, item.last_error, item.last_status) == (
        "pending", 1, next_time, "HTTP 503", 503)
    assert (item.lease_until, item.leased_by) == (None, None)
    assert clocked_store.outbox_retry(item_id, "w", next_time, "again") is False  # the lease is gone
    assert clocked_store.outbox_lease("w", clock.advance(seconds=9)) == []
    clocked_store.outbox_lease("w", clock.advance(seconds=1))
    assert clocked_store.outbox_retry(item_id, "w", clock.current, "connection reset")
    item = clocked_store.outbox_get(item_id)
    assert (item.attempts, item.last_error, item.last_status) == (2, "connection reset", None)


def test_dead_letters_replay_and_purge(clocked_store, clock):
    first, second, third = add_many(clocked_store, [None, None, None])
    clocked_store.outbox_lease("w")
    clocked_store.outbox_retry(first, "w", clock.current, "HTTP 500", 500)
    clocked_store.outbox_lease("w")
    for item_id in (first, second, third):
        assert clocked_store.outbox_dead(item_id, "w", f"gave up on {item_id}", 500)
    dead = clocked_store.dead_letters()
    assert ids(dead) == [first, second, third]
    assert all(item.body is None and item.status == "dead" for item in dead)
    assert (dead[0].attempts, dead[0].last_error) == (2, f"gave up on {first}")
    assert ids(clocked_store.dead_letters(limit=1)) == [first]
    assert clocked_store.outbox_get(first).body == b"<Envelope n='0'/>"
    assert clocked_store.outbox_lease("w") == []

    clock.advance(hours=1)
    assert clocked_store.dead_letter_replay(first) is True
    assert clocked_store.dead_letter_replay(first) is False  # no longer dead
    replayed = clocked_store.outbox_get(first)
    assert (replayed.status, replayed.attempts, replayed.next_attempt_at, replayed.leased_by) == (
        "pending", 0, clock.current, None)
    assert replayed.last_error == f"gave up on {first}"  # kept for the record
    assert ids(clocked_store.outbox_lease("w")) == [first]

    assert clocked_store.dead_letter_purge(first) == 0  # not dead: left alone
    assert clocked_store.dead_letter_purge(second) == 1
    assert clocked_store.outbox_get(second) is None
    assert clocked_store.dead_letter_purge() == 1
    assert clocked_store.dead_letters() == []
    assert clocked_store.dead_letter_purge() == 0
    assert clocked_store.outbox_counts() == {"pending": 1, "delivered": 0, "dead": 0, "closed": 0}


def test_counts(store):
    items = add_many(store, [None] * 5)
    assert store.outbox_counts() == {"pending": 5, "delivered": 0, "dead": 0, "closed": 0}
    store.outbox_lease("w", limit=3)
    store.outbox_delivered(items[0], "w")
    store.outbox_delivered(items[1], "w")
    store.outbox_dead(items[2], "w", "no")
    assert store.outbox_counts() == {"pending": 2, "delivered": 2, "dead": 1, "closed": 0}
    assert store.outbox_pending_count() == 2


def test_purge_delivered_before(clocked_store, clock):
    old, new, pending = add_many(clocked_store, [None, None, None])
    clocked_store.outbox_lease("w", limit=2)
    clocked_store.outbox_delivered(old, "w", clock.current)
    clocked_store.outbox_delivered(new, "w", clock.advance(hours=1))
    assert clocked_store.outbox_purge_delivered(clock.current) == 1
    assert clocked_store.outbox_get(old) is None
    assert clocked_store.outbox_get(new) is not None and clocked_store.outbox_get(pending) is not None


@pytest.mark.parametrize("options, message", [
    ({"worker": ""}, "worker"),
    ({"limit": 0}, "limit"),
    ({"limit": True}, "limit"),
    ({"lease_seconds": 0}, "lease_seconds"),
])
def test_bad_lease_requests_are_refused(store, options, message):
    with pytest.raises(ValueError, match=message):
        store.outbox_lease(**{"worker": "w", **options})
