"""The upgrade a DMS vendor runs: a store soapbus 0.1.0 made and filled, with its own code (from git,
release commit 9f7f414), refused by this soapbus's server, upgraded by `soapbus db upgrade`, and
found whole: every row of every table as it was, read back by this soapbus's store, and served.

Two ways such a store came to be: 0.1.0's create_all (no revision recorded: recognised by its
tables) and revision 0001 (recorded); on SQLite and on PostgreSQL."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from soapbus import message as m
from soapbus.store import Standing, Store
from soapbus.store.migrations import head

from .helpers import header, meter_readings, response_message, start_server, typed_envelope
from .migration_fill_0_1_0 import REPLY, REQUEST, as_json
from .migration_support import (Database, databases, one_line_error, release_0_1_0, run_0_1_0,  # noqa: F401
                                soapbus_cli)

NEWEST = head()  # the newest revision: what an upgraded store ends at

FILL = str(Path(__file__).with_name("migration_fill_0_1_0.py"))


def _fill_with_0_1_0(release, database: Database, tmp_path) -> dict[str, list[dict]]:
    out = tmp_path / "as-0.1.0-left-it.json"
    filled = run_0_1_0(release, FILL, database.url, str(out))
    assert filled.returncode == 0, filled.stderr
    written = json.loads(out.read_text())
    assert written["soapbus"].startswith(str(release))  # 0.1.0's code wrote it, not this checkout's
    return written["tables"]


def _rows_now(database: Database, like: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The same columns of the same tables, read the same way, from the upgraded store."""
    tables = {}
    with database.store() as store, store.engine.connect() as conn:
        for name, rows in like.items():
            columns = list(rows[0])
            found = conn.exec_driver_sql(f"SELECT {', '.join(columns)} FROM {name} ORDER BY id").all()
            tables[name] = [{c: as_json(v) for c, v in zip(columns, row)} for row in found]
    return tables


@pytest.mark.parametrize("made_by", ["create_all of 0.1.0", "revision 0001"])
def test_a_store_0_1_0_filled_is_upgraded_with_everything_intact(databases, release_0_1_0, made_by, tmp_path):
    database = databases.new("filled")
    if made_by == "revision 0001":
        with database.store() as store:
            store.upgrade_schema("0001")
    before = _fill_with_0_1_0(release_0_1_0, database, tmp_path)
    assert all(before[table] for table in before), {t: len(r) for t, r in before.items()}  # a row in every table
    where = ("--data", str(database.data_dir), "--database", database.url)

    current = soapbus_cli("db", "current", *where, cwd=tmp_path)
    assert current.returncode == 1 and "revision 0001" in current.stdout and f"behind the newest, {NEWEST}" in current.stdout
    assert ("made before revisions were kept" in current.stdout) == (made_by == "create_all of 0.1.0")

    refused = soapbus_cli("serve", "--port", "0", *where, cwd=tmp_path)
    assert refused.returncode == 1
    assert f"at revision 0001, older than this soapbus's {NEWEST}: run `soapbus db upgrade`" in one_line_error(refused)

    upgraded = soapbus_cli("db", "upgrade", *where, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip().endswith(f"upgraded from revision 0001 to {NEWEST}")
    assert _rows_now(database, before) == before  # every row, every column, byte for byte

    with database.store() as store:
        assert store.schema_state().standing is Standing.AT_HEAD
        _read_back_by_this_soapbus(store, before)
    again = soapbus_cli("db", "upgrade", *where, cwd=tmp_path)
    assert again.returncode == 0 and f"already at revision {NEWEST}; nothing to do" in again.stdout

    server = start_server(database.data_dir, database.url)
    try:  # the upgraded store serves: a new object next to the old ones, journaled after them
        request = m.RequestMessage(header("create", "MeterReadings"), None,
                                   m.Payload(documents=[meter_readings("mr-after-upgrade")]))
        answer = server.post("ExecuteMeterReadings", typed_envelope("CreateMeterReadings", "MeterReadings", request))
        assert answer.status_code == 200 and response_message(answer).reply.result == "OK", answer.text
    finally:
        server.stop()
    with database.store() as store:
        journal = store.journal_list(limit=10)  # newest first: this request and its reply, then 0.1.0's two
        assert [e.id for e in journal] == [4, 3, 2, 1]
        assert {e.direction for e in journal[:2]} == {"in", "out"}
        assert request.header.message_id in {journal[0].message_id, journal[1].message_id}
        with store.unit_of_work() as uow:
            assert uow.object_get("MeterReadings", "mr-1").xml == b"<MeterReading><mRID>mr-1</mRID></MeterReading>"


def _read_back_by_this_soapbus(store: Store, before: dict[str, list[dict]]) -> None:
    """What 0.1.0 wrote, as this soapbus's store API answers it."""
    request, reply = store.journal_get(1), store.journal_get(2)
    assert (request.raw, request.direction, request.message_id, request.source) == (REQUEST, "in", "msg-1", "MDMS")
    assert (reply.raw, reply.related_id, reply.reply_code, reply.reason) == (REPLY, 1, "0.0", "done")
    assert store.stored_reply("MDMS", "msg-1") == REPLY
    assert store.stored_reply(None, "msg-without-source") is None
    with store.unit_of_work() as uow:
        assert not uow.claim("MDMS", "msg-1") and not uow.claim(None, "msg-without-source")  # still claimed
        named = uow.object_find_by_name("MeterReadings", "Meter one", "serial")
        assert [o.key for o in named] == ["mr-1"] and [o.key for o in uow.object_find_by_name("MeterReadings", "M1")] == ["mr-1"]
        plan = uow.object_get("SwitchingPlans", "sp-1")
        assert (plan.status, plan.version, plan.item_type) == ("executed", 2, "SwitchingPlan")  # status set once
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    assert not store.remember_once("signature", "sigvalue-1", tomorrow)  # still remembered: a replay
    assert store.remember_once("signature", "sigvalue-2", tomorrow)  # positive control
    assert store.purge_expired() == 1  # the expired nonce, and only it

    pending, delivered, dead = (store.outbox_get(i) for i in (1, 2, 3))
    assert (pending.status, pending.kind, pending.body, pending.sequence_key) == (
        "pending", "event", b"<event-pending/>", "MeterReadings/mr-1")
    assert (delivered.status, delivered.kind, delivered.last_status) == ("delivered", "request", 200)
    assert (dead.status, dead.last_error, dead.attempts) == ("dead", "refused: 500", 1)
    assert all((item.retry_since, item.dead_cause, item.origin, item.answer) == (None, None, None, None)
               for item in (pending, delivered, dead))  # the columns of revision 0002 start empty
    assert [d.id for d in store.dead_letters()] == [3]

    subscriptions = {(s.endpoint, s.noun, s.verb, s.signed, s.style) for s in store.subscription_list()}
    assert subscriptions == {("http://subscriber.example/events", "MeterReadings", "created", True, "typed"),
                             ("http://everything.example/events", None, None, False, "generic")}
    routes = {(r.noun, r.verb, r.context, r.endpoint, r.signed, r.style) for r in store.route_list()}
    assert routes == {("WorkRequests", "create", "field", "http://backend.example/soap", True, "generic"),
                      ("OutageRecords", None, None, "http://oms.example/soap", False, "typed")}
    assert base64.b64decode(before["journal"][0]["raw"]["bytes"]) == REQUEST  # the dump holds what was written
    assert len(before["replay_memory"]) == 2 and len(before["outbox"]) == 3


def test_serve_upgrade_db_upgrades_a_store_behind_and_serves_it(databases, tmp_path):
    database = databases.new("flag")
    with database.store() as store:
        store.upgrade_schema("0001")
    server = start_server(database.data_dir, database.url, extra_args=["--upgrade-db"])
    try:
        request = m.RequestMessage(header("create", "MeterReadings"), None,
                                   m.Payload(documents=[meter_readings("mr-flag")]))
        answer = server.post("ExecuteMeterReadings", typed_envelope("CreateMeterReadings", "MeterReadings", request))
        assert answer.status_code == 200 and response_message(answer).reply.result == "OK", answer.text
    finally:
        server.stop()
    current = soapbus_cli("db", "current", "--data", str(database.data_dir), "--database", database.url, cwd=tmp_path)
    assert current.returncode == 0 and f"revision {NEWEST}, the newest" in current.stdout
