"""`soapbus subscriptions`, `routes` and `outbox` as an operator uses them."""
from __future__ import annotations

from soapbus import message as m
from soapbus.store import Store

from .helpers import header, meter_readings, start_server, typed_envelope
from .receivers import wait_until
from .test_cli import soapbus


def test_subscriptions_add_list_remove(tmp_path):
    data = ["--data", str(tmp_path)]
    Store(f"sqlite:///{tmp_path / 'soapbus.db'}").create_schema()
    added = soapbus("subscriptions", "add", "http://oms.example/cb", "--noun", "EndDeviceEvents", "--verb", "created",
                    *data)
    assert added.returncode == 0 and "subscription 1" in added.stdout
    again = soapbus("subscriptions", "add", "http://oms.example/cb", "--noun", "EndDeviceEvents", "--verb",
                    "created", *data)
    assert again.returncode != 0 and "exists already" in again.stderr
    bad = soapbus("subscriptions", "add", "ftp://x", *data)
    assert bad.returncode != 0 and "not an http(s) URL" in bad.stderr
    listed = soapbus("subscriptions", "list", *data)
    assert "http://oms.example/cb\tEndDeviceEvents\tcreated" in listed.stdout
    assert soapbus("subscriptions", "remove", "1", *data).returncode == 0
    gone = soapbus("subscriptions", "remove", "1", *data)
    assert gone.returncode != 0 and "no subscription 1" in gone.stderr


def test_routes_add_list_remove(tmp_path):
    data = ["--data", str(tmp_path)]
    Store(f"sqlite:///{tmp_path / 'soapbus.db'}").create_schema()
    assert soapbus("routes", "add", "WorkRequests", "http://wms/soap/Operations", "--verb", "create", *data).returncode == 0
    dup = soapbus("routes", "add", "WorkRequests", "http://wms/soap/Operations", "--verb", "create", *data)
    assert dup.returncode != 0 and "exists already" in dup.stderr
    assert "WorkRequests\tcreate" in soapbus("routes", "list", *data).stdout
    assert soapbus("routes", "remove", "1", *data).returncode == 0


def test_outbox_dead_letters_show_replay_purge(tmp_path):
    server = start_server(tmp_path, extra_args=["--delivery-budget", "1", "--delivery-base-delay", "0.05"])
    try:
        req = m.RequestMessage(header("create", "MeterReadings", async_reply_flag=True,
                                      reply_address="http://127.0.0.1:9/nobody"),
                               None, m.Payload(documents=[meter_readings(m.new_message_id())]))
        server.post("ExecuteMeterReadings", typed_envelope("CreateMeterReadings", "MeterReadings", req))
        data = ["--data", str(tmp_path)]
        store = Store(server.database_url)
        try:  # waited for in the store: a `soapbus` process per look took a second or two
            wait_until(lambda: store.outbox_counts()["dead"] == 1, 20, "the reply's dead letter")
        finally:
            store.close()
        assert "dead=1" in soapbus("outbox", "status", *data).stdout
        dead = soapbus("outbox", "dead", *data)
        assert "http://127.0.0.1:9/nobody" in dead.stdout and "cannot reach" in dead.stdout
        item_id = dead.stdout.splitlines()[1].split("\t")[0]
        shown = soapbus("outbox", "show", item_id, *data)
        assert "dead reply to http://127.0.0.1:9/nobody" in shown.stdout and "ResponseMessage" in shown.stdout
        assert soapbus("outbox", "replay", item_id, *data).returncode == 0
        assert soapbus("outbox", "purge", *data).returncode != 0  # neither an id nor --all
        missing = soapbus("outbox", "replay", "999", *data)
        assert missing.returncode != 0 and "no dead letter 999" in missing.stderr
    finally:
        server.stop()
