"""A DMS's own handlers plugged in through the handler interface; the reactor never blocks on them."""
from __future__ import annotations

import re
import threading
import time

import pytest
import requests
from lxml import etree

from soapbus import message as m
from soapbus.message import namespaces
from soapbus.store import Store

from .helpers import header, response_message, start_server, typed_envelope
from .plugins.slow_dms import SLOW_SECONDS
from .serve_process import log_after

EDC = namespaces.profile_ns("EndDeviceControls")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("plugins"), extra_args=["--handlers", "tests.plugins.slow_dms"])
    yield proc
    proc.stop()


def _controls(mrid: str) -> etree._Element:
    doc = etree.Element(f"{{{EDC}}}EndDeviceControls", nsmap={None: EDC})
    ctl = etree.SubElement(doc, f"{{{EDC}}}EndDeviceControl")
    etree.SubElement(ctl, f"{{{EDC}}}mRID").text = mrid
    etree.SubElement(ctl, f"{{{EDC}}}EndDeviceControlType").set("ref", "3.31.0.23")
    return doc


def _create_body(mrid: str) -> bytes:
    req = m.RequestMessage(header("create", "EndDeviceControls"), None, m.Payload(documents=[_controls(mrid)]))
    return typed_envelope("CreateEndDeviceControls", "EndDeviceControls", req)


@pytest.mark.alone  # a bound on the pages' answer times
def test_registered_handler_runs_and_reactor_stays_responsive(server):
    mrid = m.new_message_id()
    answers = {}

    def slow_call():
        answers["create"] = server.post("ExecuteEndDeviceControls", _create_body(mrid))

    caller = threading.Thread(target=slow_call)
    started = time.monotonic()
    caller.start()
    time.sleep(0.3)  # the handler is now sleeping in a worker thread
    page_times = []
    for _ in range(5):
        t0 = time.monotonic()
        assert requests.get(server.url + "/endpoints.json", timeout=5).status_code == 200
        page_times.append(time.monotonic() - t0)
    caller.join()
    assert time.monotonic() - started >= SLOW_SECONDS  # the slow handler really ran
    assert max(page_times) < SLOW_SECONDS / 2  # while the reactor kept answering
    assert response_message(answers["create"]).reply.result == "OK"
    store = Store(server.database_url)
    try:
        with store.unit_of_work() as uow:
            assert uow.object_get("EndDeviceControls", mrid) is not None
    finally:
        store.close()


def test_handler_exception_is_a_5_3_reply_and_nothing_is_kept(server):
    req = m.RequestMessage(header("cancel", "EndDeviceControls"), m.Request(ids=[m.ID("x")]))
    resp = server.post("ExecuteEndDeviceControls", typed_envelope("CancelEndDeviceControls", "EndDeviceControls", req))
    reply = response_message(resp)
    assert resp.status_code == 200
    assert reply.reply.result == "FAILED" and reply.reply.errors[0].code == "5.3"
    reason = reply.reply.errors[0].reason
    reference = re.search(r"reference ([0-9a-f]{12})", reason).group(1)
    assert "cancel handler for EndDeviceControls" in reason
    # the exception's own words stay in the log, under the reference the caller was given
    assert "head end unreachable" not in resp.text and "RuntimeError" not in resp.text and "Traceback" not in resp.text
    logged = log_after(server, f"[ref {reference}]", until="Traceback.*RuntimeError: head end unreachable")
    assert "RuntimeError: head end unreachable" in logged and "Traceback" in logged
    store = Store(server.database_url)
    try:
        entries = store.journal_by_message_id(req.header.message_id)
        assert [e.outcome for e in entries if e.direction == "in"] == ["failed"]
        # a failed attempt is not claimed: the sender may try again once the back end is back
        assert store.stored_reply(req.header.source, req.header.message_id) is None
    finally:
        store.close()


def test_concurrent_duplicates_act_once(server):
    """Eight deliveries of one message at once: one acts, all get the first answer."""
    mrid = m.new_message_id()
    body = typed_envelope("CreateMeterReadings", "MeterReadings", m.RequestMessage(
        header("create", "MeterReadings"), None,
        m.Payload(documents=[__import__("tests.helpers", fromlist=["x"]).meter_readings(mrid)])))
    results = [None] * 8

    def deliver(i):
        results[i] = server.post("ExecuteMeterReadings", body)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bodies = {r.content for r in results}
    assert all(r.status_code == 200 for r in results)
    assert len(bodies) == 1, "every delivery must get the same reply"
    assert response_message(results[0]).reply.result == "OK"
    store = Store(server.database_url)
    try:
        msg_id = m.parse(__import__("soapbus.message.soap", fromlist=["x"]).unwrap(body).message).header.message_id
        inbound = [e.outcome for e in store.journal_by_message_id(msg_id) if e.direction == "in"]
        assert sorted(inbound) == ["duplicate"] * 7 + ["processed"]
    finally:
        store.close()
