"""SQLite writers take turns (store/db.py WriterTurns): a thread lock within a process, a flock of
`<database>-writers` between processes (two Stores on one file stand for two processes here: a
flock belongs to the open file, not to the process). A writer waits for the turn and gets it as
soon as the holder commits; one not served within the busy timeout is told the database is not
available (answered 5.2 by the server), not left waiting for ever."""
from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from soapbus.store import Store, StoreUnavailable


def _remember(uow) -> bool:
    return uow.remember_once("test", uuid.uuid4().hex, datetime.now(timezone.utc) + timedelta(minutes=1))


@pytest.fixture
def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    with Store(url) as store:
        store.create_schema()
    return url


def test_the_lock_file_sits_beside_the_database(database, tmp_path):
    with Store(database) as store:
        with store.unit_of_work() as uow:
            _remember(uow)
    assert (tmp_path / "turns.db-writers").exists()


def test_a_writer_of_another_process_waits_for_the_turn_and_gets_it_when_the_holder_commits(database):
    holder, waiter = Store(database), Store(database)
    try:
        got_turn_at: list[float] = []
        released_at: list[float] = []
        holding = threading.Event()

        def hold():
            with holder.unit_of_work() as uow:
                _remember(uow)
                holding.set()
                time.sleep(0.5)
                released_at.append(time.monotonic())

        def wait():
            holding.wait(5)
            with waiter.unit_of_work() as uow:
                got_turn_at.append(time.monotonic())
                assert _remember(uow)

        threads = [threading.Thread(target=hold), threading.Thread(target=wait)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert got_turn_at and released_at and got_turn_at[0] >= released_at[0]
    finally:
        holder.close()
        waiter.close()


def test_a_writer_not_served_within_the_busy_timeout_is_told_the_database_is_not_available(database):
    holder, waiter = Store(database), Store(database, busy_timeout=0.3)
    try:
        holding, done = threading.Event(), threading.Event()

        def hold():
            with holder.unit_of_work() as uow:
                _remember(uow)
                holding.set()
                done.wait(10)

        thread = threading.Thread(target=hold)
        thread.start()
        holding.wait(5)
        try:
            with pytest.raises(StoreUnavailable, match="no write turn within 0.3 s"):
                with waiter.unit_of_work() as uow:
                    _remember(uow)
        finally:
            done.set()
            thread.join(10)
        with waiter.unit_of_work() as uow:  # the positive control: the turn is free again
            assert _remember(uow)
    finally:
        holder.close()
        waiter.close()


def test_threads_of_one_store_take_turns_without_failing(database):
    """Eight threads writing at once through one Store: every unit commits (none meets SQLite's
    'database is locked'), and each one's row is there."""
    store = Store(database, busy_timeout=5)
    keys: list[str] = []
    lock = threading.Lock()

    def write():
        for _ in range(20):
            key = uuid.uuid4().hex
            with store.unit_of_work() as uow:
                assert uow.remember_once("test", key, datetime.now(timezone.utc) + timedelta(minutes=1))
            with lock:
                keys.append(key)

    try:
        threads = [threading.Thread(target=write) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(keys) == 160
        with store.unit_of_work() as uow:  # every one remembered: a second time is refused
            assert not any(uow.remember_once("test", key, datetime.now(timezone.utc) + timedelta(minutes=1))
                           for key in keys)
    finally:
        store.close()


def test_without_a_lock_file_the_turn_is_the_thread_lock_alone(tmp_path):
    """No lock file (a read-only folder): threads still take turns, processes rely on the busy timeout."""
    from soapbus.store.db import WriterTurns

    turns = WriterTurns(Path(tmp_path / "missing-folder" / "x-writers"), timeout=1)
    with turns.turn():
        pass  # no error: the file could not be made, so the turn is the thread lock alone
