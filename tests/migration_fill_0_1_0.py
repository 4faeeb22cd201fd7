"""Fill a store as soapbus 0.1.0 would, with 0.1.0's own store code (tests/test_migrations.py runs
this file with PYTHONPATH naming a copy of soapbus at the release commit 9f7f414).

Usage: python migration_fill_0_1_0.py DATABASE_URL OUT.json

Puts rows in every table (journal requests and replies, idempotency claims with their stored
replies, objects with names, replay memories, outbox messages of every kind in every status,
subscriptions, routes), then writes OUT.json: every row of every table as the database driver
returns it (soapbus.store.schema of 0.1.0 names the tables), for the test to compare with what
the upgraded store holds.
"""
from __future__ import annotations

import base64
import json
import sys
from datetime import datetime, timedelta, timezone

import soapbus
from soapbus import message as m
from soapbus.store import Store
from soapbus.store.schema import metadata

REQUEST = b"<RequestMessage><Header><Verb>create</Verb></Header></RequestMessage>\xe2\x82\xac"
REPLY = b"<ResponseMessage><Reply><Result>OK</Result></Reply></ResponseMessage>"


def fill(store: Store) -> None:
    header = m.Header(verb="create", noun="MeterReadings", source="MDMS", message_id="msg-1",
                      correlation_id="conv-1", timestamp=m.now())
    with store.unit_of_work() as uow:
        request_id = uow.journal("in", REQUEST, header=header, kind="RequestMessage", peer="127.0.0.1",
                                 outcome="processed")
        reply_id = uow.journal("out", REPLY, header=header, kind="ResponseMessage", peer="127.0.0.1",
                               outcome="OK", reply_code="0.0", reason="done", related_id=request_id)
        assert uow.claim("MDMS", "msg-1")
        uow.set_reply("MDMS", "msg-1", REPLY, reply_id)
        assert uow.claim(None, "msg-without-source")
        uow.object_insert("MeterReadings", "mr-1", "MeterReading", b"<MeterReading><mRID>mr-1</mRID></MeterReading>",
                          names=[("Meter one", "serial"), ("M1", None)])
        uow.object_insert("SwitchingPlans", "sp-1", "SwitchingPlan", b"<SwitchingPlan/>")
        uow.object_set_status("SwitchingPlans", "sp-1", "executed")
        uow.remember_once("signature", "sigvalue-1", datetime.now(timezone.utc) + timedelta(days=30))
        uow.remember_once("nonce", "nonce-1", datetime.now(timezone.utc) - timedelta(seconds=1))
        common = dict(soap_action='"x"', sign=False, correlation_id="conv-1", noun="MeterReadings")
        uow.outbox_add(destination="http://subscriber.example/events", body=b"<event-pending/>", kind="event",
                       message_id="ev-1", verb="created", sequence_key="MeterReadings/mr-1", **common)
        delivered = uow.outbox_add(destination="http://backend.example/soap", body=b"<leg/>", kind="request",
                                   message_id="leg-1", verb="create", leased_to=("worker-a", 600.0), **common)
        dead = uow.outbox_add(destination="http://caller.example/replies", body=b"<reply-dead/>", kind="reply",
                              message_id="rp-1", verb="reply", leased_to=("worker-a", 600.0), **common)
    assert store.outbox_delivered(delivered, "worker-a", status=200)
    assert store.outbox_dead(dead, "worker-a", error="refused: 500", status=500)
    store.subscription_add("http://subscriber.example/events", noun="MeterReadings", verb="created", signed=True,
                           style="typed")
    store.subscription_add("http://everything.example/events")
    store.route_add("WorkRequests", "http://backend.example/soap", verb="create", context="field", signed=True)
    store.route_add("OutageRecords", "http://oms.example/soap", style="typed")


def as_json(value):
    if isinstance(value, (bytes, memoryview)):
        return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    return value


def dump(store: Store) -> dict[str, list[dict]]:
    """Every row of every table, as the driver returns it, in id order."""
    tables = {}
    with store.engine.connect() as conn:
        for name, table in metadata.tables.items():
            columns = [c.name for c in table.columns]
            rows = conn.exec_driver_sql(f"SELECT {', '.join(columns)} FROM {name} ORDER BY id").all()
            tables[name] = [{c: as_json(v) for c, v in zip(columns, row)} for row in rows]
    return tables


def main(url: str, out: str) -> None:
    with Store(url) as store:
        store.create_schema()
        fill(store)
        with open(out, "w", encoding="utf-8") as file:
            json.dump({"soapbus": soapbus.__file__, "tables": dump(store)}, file)


if __name__ == "__main__":
    main(*sys.argv[1:])
