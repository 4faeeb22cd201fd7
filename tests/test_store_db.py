"""Store construction, schema, connection settings and the all-or-nothing unit of work."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from soapbus.message import Header
from soapbus.store import Store

# tests/ may be a package (relative import) or a plain directory on sys.path (absolute import).
try:
    from .store_fixtures import (  # noqa: F401
        ManualClock, clock, clocked_store, open_store, pg_schema_prefix, store, store_target)
except ImportError:
    from store_fixtures import (  # noqa: F401
        ManualClock, clock, clocked_store, open_store, pg_schema_prefix, store, store_target)

TABLES = {"journal", "processed_message", "cim_object", "cim_object_name", "replay_memory", "outbox",
          "subscription", "route"}


class Abort(Exception):
    """Raised inside a unit of work to make it roll back."""


def test_create_schema_twice_keeps_the_data(open_store):
    first = open_store()
    with first.unit_of_work() as uow:
        uow.claim("CIS", "m-1")
    first.create_schema()
    again = open_store()  # a restart: new Store, create_schema once more
    assert TABLES <= set(inspect(again.engine).get_table_names(schema=again.schema))
    with again.unit_of_work() as uow:
        assert uow.claim("CIS", "m-1") is False


def test_sqlite_creates_parent_directory_and_configures_connections(tmp_path):
    path = tmp_path / "deep" / "er" / "soapbus.db"
    with Store(f"sqlite:///{path}", busy_timeout=5) as store:
        store.create_schema()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL: safe under WAL
    assert path.is_file()


def test_sqlite_durable_fsync_syncs_every_commit(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'soapbus.db'}", durable_fsync=True) as store:
        store.create_schema()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        with store.unit_of_work() as uow:
            assert uow.claim("CIS", "m-1") is True
        assert store.stored_reply("CIS", "m-1") is None


@pytest.mark.parametrize("url, options, message", [
    ("sqlite://", {}, "in-memory"),
    ("sqlite:///:memory:", {}, "in-memory"),
    ("sqlite:///x.db", {"schema": "s"}, "PostgreSQL option"),
    ("mysql://u@h/db", {}, "unsupported database"),
    ("postgresql+psycopg://u@127.0.0.1/db", {"schema": 'evil"; DROP'}, "plain SQL identifier"),
])
def test_unusable_configurations_are_refused(url, options, message):
    with pytest.raises(ValueError, match=message):
        Store(url, **options)


def test_exception_inside_unit_of_work_leaves_nothing_written(store):
    expires = datetime.now(timezone.utc) + timedelta(days=1)
    with pytest.raises(Abort):
        with store.unit_of_work() as uow:
            uow.journal("in", b"<RequestMessage/>", header=Header(verb="create", noun="EndDevices", message_id="m-1"),
                        kind="RequestMessage", peer="10.0.0.1", outcome="processed")
            assert uow.claim("CIS", "m-1") is True
            uow.object_insert("EndDevices", "mrid-1", "EndDevice", b"<EndDevice/>", names=[("meter 1", "serial")])
            assert uow.remember_once("nonce", "n-1", expires) is True
            raise Abort
    assert store.journal_list() == []
    assert store.journal_by_message_id("m-1") == []
    with store.unit_of_work() as uow:
        assert uow.object_get("EndDevices", "mrid-1") is None
        assert uow.object_find_by_name("EndDevices", "meter 1") == []
        assert uow.claim("CIS", "m-1") is True
        assert uow.remember_once("nonce", "n-1", expires) is True


def test_clean_exit_commits_everything_together(store):
    with store.unit_of_work() as uow:
        journal_id = uow.journal("in", b"<x/>", header=None, kind="unparsed", peer=None, outcome="rejected")
        uow.object_insert("EndDevices", "mrid-1", "EndDevice", b"<EndDevice/>")
    assert store.journal_get(journal_id) is not None
    with store.unit_of_work() as uow:
        assert uow.object_get("EndDevices", "mrid-1") is not None


def test_nested_unit_of_work_in_one_thread_is_refused(store):
    with store.unit_of_work() as uow:
        with pytest.raises(RuntimeError, match="already open"):
            with store.unit_of_work():
                pass
        with pytest.raises(RuntimeError, match="already open"):
            store.remember_once("nonce", "n-1", datetime.now(timezone.utc) + timedelta(days=1))
        uow.claim("CIS", "m-1")  # the outer unit is still usable
    with store.unit_of_work() as uow:  # and the guard is released afterwards
        assert uow.claim("CIS", "m-1") is False


def test_timestamps_come_back_as_utc_whatever_zone_they_went_in(open_store):
    paris_summer = timezone(timedelta(hours=2))
    clock = ManualClock(datetime(2024, 7, 1, 14, 30, 0, 123456, tzinfo=paris_summer))
    store = open_store(clock=clock)
    with store.unit_of_work() as uow:
        journal_id = uow.journal("in", b"<x/>", header=None, kind="unparsed", peer=None, outcome="rejected")
        stored = uow.object_insert("EndDevices", "mrid-1", "EndDevice", b"<EndDevice/>")
    received_at = store.journal_get(journal_id).received_at
    for value in (received_at, stored.created_at, stored.updated_at):
        assert value == clock.current
        assert value.utcoffset() == timedelta(0)
        assert value.hour == 12


def test_naive_datetimes_are_refused(clocked_store):
    naive = datetime(2024, 1, 1, 12, 0)
    with clocked_store.unit_of_work() as uow:
        with pytest.raises(ValueError, match="timezone-aware"):
            uow.object_list("EndDevices", since=naive)
        with pytest.raises(ValueError, match="timezone-aware"):
            uow.remember_once("nonce", "n-1", naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        clocked_store.purge_expired(naive)


def test_sqlite_without_on_conflict_is_refused(tmp_path, monkeypatch):
    import sqlite3.dbapi2
    monkeypatch.setattr(sqlite3.dbapi2, "sqlite_version_info", (3, 23, 1))
    with pytest.raises(ValueError, match="3.24.0 or newer"):
        Store(f"sqlite:///{tmp_path / 'soapbus.db'}")


def test_savepoint_rolls_back_only_its_own_work(store):
    with store.unit_of_work() as uow:
        uow.object_insert("EndDevices", "before", "EndDevice", b"<EndDevice/>")
        with pytest.raises(Abort):
            with uow.savepoint() as inner:
                assert inner is uow
                uow.object_insert("EndDevices", "inside", "EndDevice", b"<EndDevice/>")
                assert uow.claim("CIS", "m-1") is True
                raise Abort
        assert uow.object_get("EndDevices", "inside") is None
        uow.object_insert("EndDevices", "after", "EndDevice", b"<EndDevice/>")
        assert uow.claim("CIS", "m-1") is True  # the claim inside was undone too
    with store.unit_of_work() as uow:
        assert uow.object_get("EndDevices", "before") is not None
        assert uow.object_get("EndDevices", "inside") is None
        assert uow.object_get("EndDevices", "after") is not None


def test_savepoint_clean_exit_commits_with_the_unit(store):
    with store.unit_of_work() as uow:
        with uow.savepoint():
            uow.object_insert("EndDevices", "inside", "EndDevice", b"<EndDevice/>")
    with store.unit_of_work() as uow:
        assert uow.object_get("EndDevices", "inside") is not None
    # ... and rolls back with it when the unit of work fails later on.
    with pytest.raises(Abort):
        with store.unit_of_work() as uow:
            with uow.savepoint():
                uow.object_insert("EndDevices", "doomed", "EndDevice", b"<EndDevice/>")
            raise Abort
    with store.unit_of_work() as uow:
        assert uow.object_get("EndDevices", "doomed") is None


def test_savepoint_recovers_from_a_database_error(store):
    # A failed statement (here a foreign key to no journal entry) aborts a PostgreSQL
    # transaction; rolling back to the savepoint makes it usable again.
    with store.unit_of_work() as uow:
        first = uow.journal("in", b"<a/>", header=None, kind="unparsed", peer=None, outcome="rejected")
        with pytest.raises(IntegrityError):
            with uow.savepoint():
                uow.journal("out", b"<b/>", header=None, kind="unparsed", peer=None, outcome="x",
                            related_id=first + 1000)
        second = uow.journal("out", b"<c/>", header=None, kind="unparsed", peer=None, outcome="replied",
                             related_id=first)
    assert [entry.id for entry in store.journal_list()] == [second, first]


def test_savepoints_nest(store):
    with store.unit_of_work() as uow:
        with uow.savepoint():
            uow.object_insert("EndDevices", "outer", "EndDevice", b"<EndDevice/>")
            with pytest.raises(Abort):
                with uow.savepoint():
                    uow.object_insert("EndDevices", "inner", "EndDevice", b"<EndDevice/>")
                    raise Abort
    with store.unit_of_work() as uow:
        assert uow.object_get("EndDevices", "outer") is not None
        assert uow.object_get("EndDevices", "inner") is None
