"""Replay memory: a value is accepted once until it expires, across restarts and processes."""
from datetime import datetime, timedelta, timezone

import pytest

# tests/ may be a package (relative import) or a plain directory on sys.path (absolute import).
try:
    from .store_fixtures import (  # noqa: F401
        ManualClock, clock, clocked_store, open_store, pg_schema_prefix, run_in_threads, store, store_target)
except ImportError:
    from store_fixtures import (  # noqa: F401
        ManualClock, clock, clocked_store, open_store, pg_schema_prefix, run_in_threads, store, store_target)

DAY = timedelta(days=1)


class Abort(Exception):
    """Raised inside a unit of work to make it roll back."""


def test_a_value_is_accepted_once(clocked_store, clock):
    expires = clock.current + DAY
    assert clocked_store.remember_once("nonce:CIS", "n-1", expires) is True
    assert clocked_store.remember_once("nonce:CIS", "n-1", expires) is False
    assert clocked_store.remember_once("nonce:OMS", "n-1", expires) is True  # scopes are separate
    assert clocked_store.remember_once("nonce:CIS", "n-2", expires) is True


def test_memory_survives_a_restart(open_store, clock):
    before_restart = open_store(clock=clock)
    assert before_restart.remember_once("signature", "c2lnbmF0dXJl", clock.current + DAY) is True
    before_restart.close()
    after_restart = open_store(clock=clock)
    assert after_restart.remember_once("signature", "c2lnbmF0dXJl", clock.current + DAY) is False


def test_two_stores_on_one_database_share_the_memory(open_store):
    # Two worker processes, each with its own Store (and pool) on the same database.
    worker_a, worker_b = open_store(), open_store()
    expires = datetime.now(timezone.utc) + DAY
    assert worker_a.remember_once("nonce:CIS", "n-1", expires) is True
    assert worker_b.remember_once("nonce:CIS", "n-1", expires) is False


def test_an_expired_value_is_accepted_again(clocked_store, clock):
    assert clocked_store.remember_once("nonce:CIS", "n-1", clock.current + DAY) is True
    clock.advance(hours=23)
    assert clocked_store.remember_once("nonce:CIS", "n-1", clock.current + DAY) is False
    clock.advance(hours=1)  # exactly at expiry: gone
    assert clocked_store.remember_once("nonce:CIS", "n-1", clock.current + DAY) is True
    assert clocked_store.remember_once("nonce:CIS", "n-1", clock.current + DAY) is False  # new expiry holds


def test_purge_forgets_only_expired_values(clocked_store, clock):
    for n in range(3):
        clocked_store.remember_once("nonce:CIS", f"short-{n}", clock.current + timedelta(hours=1))
    clocked_store.remember_once("nonce:CIS", "long", clock.current + DAY)
    assert clocked_store.purge_expired(clock.current) == 0
    clock.advance(hours=2)
    assert clocked_store.purge_expired() == 3  # the store's clock by default
    assert clocked_store.purge_expired(clock.current) == 0
    assert clocked_store.remember_once("nonce:CIS", "long", clock.current + DAY) is False


def test_memory_inside_a_rolled_back_unit_is_forgotten(store):
    expires = datetime.now(timezone.utc) + DAY
    with pytest.raises(Abort):
        with store.unit_of_work() as uow:
            assert uow.remember_once("nonce:CIS", "n-1", expires) is True
            assert uow.remember_once("nonce:CIS", "n-1", expires) is False
            raise Abort
    assert store.remember_once("nonce:CIS", "n-1", expires) is True


def test_concurrent_sightings_exactly_one_is_first(store):
    expires = datetime.now(timezone.utc) + DAY
    results = run_in_threads([lambda: store.remember_once("nonce:CIS", "n-1", expires)] * 10)
    assert results.count(True) == 1


def test_concurrent_takeover_of_an_expired_value_exactly_one_wins(open_store):
    clock = ManualClock()
    store = open_store(clock=clock)
    store.remember_once("nonce:CIS", "n-1", clock.current + timedelta(minutes=1))
    clock.advance(minutes=2)
    results = run_in_threads([lambda: store.remember_once("nonce:CIS", "n-1", clock.current + DAY)] * 10)
    assert results.count(True) == 1


@pytest.mark.parametrize("scope, key", [("", "n-1"), ("nonce:CIS", "")])
def test_scope_and_key_are_required(store, scope, key):
    with pytest.raises(ValueError):
        store.remember_once(scope, key, datetime.now(timezone.utc) + DAY)


def test_remember_each_in_one_transaction(store, tmp_path):
    from datetime import datetime, timedelta, timezone

    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert store.remember_each([("sigvalue", "a", later), ("nonce:MDMS", "n1", later)]) == [True, True]
    assert store.remember_each([("sigvalue", "b", later), ("nonce:MDMS", "n1", later)]) == [True, False]
    assert store.remember_once("sigvalue", "b", later) is False
