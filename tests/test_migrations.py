"""Schema revisions: the revisions build exactly the tables of soapbus/store/schema.py (so a table
change without its revision fails here), revision 0001 is what 0.1.0 created, and a store is
created, recognised, refused or upgraded as soapbus.store.migrations says, on SQLite and
PostgreSQL. The upgrade of a store 0.1.0 filled is in test_upgrade_0_1_0.py."""
from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from soapbus.server.health import SCHEMA_NOT_CURRENT, DatabaseWatch
from soapbus.store import SchemaNotCurrent, Standing, Store
from soapbus.store.migrations import VERSION_TABLE, head, history
from soapbus.store.schema import metadata

from .migration_support import (Databases, databases, one_line_error, release_0_1_0, run_0_1_0,  # noqa: F401 - fixtures
                                soapbus_cli, structure, structure_of)

NEWEST = "0003"


def test_the_revisions_are_a_line_from_0001_to_the_newest():
    revisions = history()
    assert [r.id for r in revisions] == [NEWEST, "0002", "0001"] and head() == NEWEST
    assert [r.down for r in revisions] == ["0002", "0001", None]
    assert all(r.title and len(r.title) < 100 for r in revisions)


def test_the_revisions_build_the_tables_of_schema_py(databases):
    by_models, by_revisions = databases.new("models"), databases.new("revisions")
    with by_models.store() as store:
        assert store.create_schema().revision == NEWEST  # an empty store: create_all, stamped
    with by_revisions.store() as store:
        assert store.upgrade_schema("0001").after.revision == "0001"
        assert store.upgrade_schema().after.revision == NEWEST  # every revision after 0001 ran
        with store.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert differences == [], f"schema.py and the revisions differ; write a revision (docs/upgrading.md): {differences}"
    built, migrated = structure_of(by_models), structure_of(by_revisions)
    assert set(built) == set(metadata.tables)
    assert migrated == built  # also what autogenerate leaves out: check constraints' text, partial indexes


def test_the_structure_comparison_sees_a_column_a_check_and_a_partial_index(databases):
    """Positive control for the test above: a difference of each kind is seen."""
    plain = databases.new("plain")
    with plain.store() as store:
        store.create_schema()
        with store.engine.connect() as conn:
            before = structure(conn)
    for name, change in (("column", "ALTER TABLE route ADD COLUMN note TEXT"),
                         ("partial", "CREATE INDEX ix_outbox_dead ON outbox (id) WHERE status = 'dead'")):
        changed = databases.new(name)
        with changed.store() as store:
            store.create_schema()
            with store.engine.begin() as conn:
                conn.exec_driver_sql(change)
        assert structure_of(changed) != before, name
    if databases.kind == "sqlite":  # SQLite cannot alter a constraint in place; PostgreSQL shows a check's text
        return
    checked = databases.new("check")
    with checked.store() as store:
        store.create_schema()
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE outbox DROP CONSTRAINT ck_outbox_status")
            conn.exec_driver_sql("ALTER TABLE outbox ADD CONSTRAINT ck_outbox_status CHECK (status IN ('pending'))")
    assert structure_of(checked) != before


def test_revision_0001_is_the_schema_0_1_0_created(databases, release_0_1_0):
    made_by_0_1_0, made_by_0001 = databases.new("release"), databases.new("revision")
    created = run_0_1_0(release_0_1_0, "-c", "import sys, soapbus.store as s; s.Store(sys.argv[1]).create_schema(); "
                                             "print(s.__file__)", made_by_0_1_0.url)
    assert created.returncode == 0 and created.stdout.startswith(str(release_0_1_0)), created.stderr
    with made_by_0001.store() as store:
        store.upgrade_schema("0001")
    assert structure_of(made_by_0_1_0) == structure_of(made_by_0001)
    with made_by_0_1_0.store() as store:  # and the tables of 0.1.0 are recognised as 0001
        state = store.schema_state()
    assert (state.standing, state.revision, state.versioned) == (Standing.BEHIND, "0001", False)


def test_a_fresh_store_is_created_at_the_newest_revision_and_stamped(databases):
    fresh = databases.new("fresh")
    with fresh.store() as store:
        assert store.schema_state().standing is Standing.EMPTY
        state = store.create_schema()
        assert (state.standing, state.revision, state.versioned) == (Standing.AT_HEAD, NEWEST, True)
        assert store.create_schema() == state  # safe to repeat
        with store.engine.connect() as conn:
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all() == [NEWEST]


def test_a_store_of_another_shape_or_a_newer_soapbus_is_refused(databases, tmp_path):
    ahead, odd, control = databases.new("ahead"), databases.new("odd"), databases.new("control")
    with ahead.store() as store:
        store.create_schema()
        with store.engine.begin() as conn:
            conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0099'"))
        with pytest.raises(SchemaNotCurrent) as refused:
            store.create_schema(upgrade=True)
        assert refused.value.state.standing is Standing.AHEAD
        assert "revision 0099, which this soapbus does not know" in str(refused.value)
    for database, extra in ((odd, "ALTER TABLE route ADD COLUMN note TEXT"), (control, None)):
        with database.store() as store:
            store.upgrade_schema("0001")
            with store.engine.begin() as conn:
                conn.exec_driver_sql(f"DROP TABLE {VERSION_TABLE}")  # as if made before revisions were kept
                if extra:
                    conn.exec_driver_sql(extra)
    with odd.store() as store:
        assert store.schema_state().standing is Standing.UNRECOGNISED
        with pytest.raises(SchemaNotCurrent, match="equal no revision"):
            store.upgrade_schema()
    with control.store() as store:  # the same without the extra column: recognised and upgraded
        assert store.upgrade_schema().after.revision == NEWEST

    current = soapbus_cli("db", "current", "--data", str(ahead.data_dir), "--database", ahead.url, cwd=tmp_path)
    assert current.returncode == 1 and "revision 0099, which this soapbus does not know" in current.stdout
    served = soapbus_cli("serve", "--port", "0", "--data", str(ahead.data_dir), "--database", ahead.url, cwd=tmp_path)
    assert served.returncode == 1
    assert "a newer soapbus upgraded it" in one_line_error(served)


def test_an_upgrade_that_cannot_carry_the_data_over_changes_nothing(databases, tmp_path):
    database = databases.new("legs")
    with database.store() as store:
        store.upgrade_schema("0001")
        with store.engine.begin() as conn:
            for _ in range(2):
                conn.execute(text(
                    "INSERT INTO outbox (created_at, destination, body, sign, kind, message_id, attempts, "
                    "next_attempt_at, status) VALUES (:now, 'http://b.example/', :body, false, 'request', 'leg-1', 0, "
                    ":now, 'pending')"), {"now": "2026-01-01 00:00:00", "body": b"<leg/>"})
    upgrade = ("db", "upgrade", "--data", str(database.data_dir), "--database", database.url)
    refused = soapbus_cli(*upgrade, cwd=tmp_path)
    assert refused.returncode == 1
    assert "2 forwarded requests that share a backend and MessageID (outbox ids 1, 2)" in one_line_error(refused)
    with database.store() as store:
        assert store.schema_state().revision == "0001"
        with store.engine.connect() as conn:
            assert "retry_since" not in {c["name"] for c in inspect(conn).get_columns("outbox")}
            conn.execute(text("DELETE FROM outbox WHERE id = 2"))
            conn.commit()
    upgraded = soapbus_cli(*upgrade, cwd=tmp_path)  # positive control: one leg each, upgraded
    assert upgraded.returncode == 0 and f"upgraded from revision 0001 to {NEWEST}" in upgraded.stdout, upgraded.stderr


def test_a_server_finding_a_schema_behind_after_start_up_waits_or_upgrades(databases):
    database = databases.new("watch")
    with database.store() as store:
        store.upgrade_schema("0001")
        refusing = DatabaseWatch(store)
        refusing.probe_once()  # what the watch does when the database comes up after start-up
        assert not refusing.is_ready() and refusing.not_ready_reason() == SCHEMA_NOT_CURRENT
        assert "run `soapbus db upgrade`" in refusing.detail()
        assert store.schema_state().revision == "0001"
        upgrading = DatabaseWatch(store, upgrade=True)
        upgrading.probe_once()
        assert upgrading.is_ready() and upgrading.not_ready_reason() is None
        assert store.schema_state().standing is Standing.AT_HEAD


@pytest.fixture
def postgresql_databases(tmp_path) -> Iterator[Databases]:
    made = Databases("postgresql", tmp_path)
    yield made
    made.close()


@pytest.mark.pg
def test_processes_preparing_one_fresh_postgresql_database_take_turns(postgresql_databases):
    """On PostgreSQL an advisory lock makes them take turns (SQLite's write lock does it there)."""
    database = postgresql_databases.new("race")
    stores = [database.store() for _ in range(4)]
    results, start = [], threading.Barrier(len(stores))

    def prepare(store: Store) -> None:
        start.wait()
        try:
            results.append(store.create_schema())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=prepare, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [getattr(r, "revision", r) for r in results] == [NEWEST] * 4
    with stores[0].engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar() == 1
    for store in stores:
        store.close()


def test_db_history_lists_the_revisions_newest_first(tmp_path):
    listed = soapbus_cli("db", "history", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith(f"{NEWEST} (newest)  Journal:") and lines[-1] == "0001  The tables of soapbus 0.1.0."


DRAFT_ROUND_TRIP = r'''
import sys
from pathlib import Path
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Index, Text, create_engine, inspect
from sqlalchemy.pool import StaticPool
from soapbus.store.migrations.__main__ import draft
from soapbus.store.migrations.revisions import HERE, alembic_config
from soapbus.store.schema import metadata

versions = Path(sys.argv[1])
route = metadata.tables["route"]  # the change a developer makes in schema.py
route.append_column(Column("note", Text))
Index(None, route.c.note)
drafted = draft("route: a note", versions)
engine = create_engine("sqlite://", poolclass=StaticPool)
with engine.begin() as conn:  # a store at the newest revision so far, upgraded by the draft
    config = alembic_config(conn)
    config.set_main_option("version_locations", f"{HERE / 'versions'} {versions}")
    command.upgrade(config, "0003")
    command.upgrade(config, "head")
    print(drafted.name, "note" in {c["name"] for c in inspect(conn).get_columns("route")},
          compare_metadata(MigrationContext.configure(conn), metadata))
'''


def test_a_drafted_revision_upgrades_a_store_to_the_changed_tables(tmp_path):
    """What docs/upgrading.md tells a developer to run drafts a revision that does the change
    (in a child process: the change to schema.py's tables must not outlive it)."""
    versions = tmp_path / "versions"
    versions.mkdir()
    ran = subprocess.run([sys.executable, "-c", DRAFT_ROUND_TRIP, str(versions)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split("\n")[-2] == "0004_route_a_note.py True []", ran.stdout
    drafted = (versions / "0004_route_a_note.py").read_text()
    assert f"down_revision = '{NEWEST}'" in drafted and "batch_op.add_column(sa.Column('note', sa.Text()" in drafted
    assert "soapbus.store.schema" not in drafted  # a revision never follows schema.py
