"""The bus role: soapbus between systems, forwarding requests to the backend that serves them."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from soapbus import message as m
from soapbus.bus.router import ORIGINAL_SOURCE, leg_message_id
from soapbus.client import CallbackListener, Client, FailedReply
from soapbus.security import SigningKey, TrustStore, pki
from soapbus.store import Store

from .helpers import MR_NS, meter_readings, start_server
from .test_server_security import controls


def add_route(bus, noun, endpoint, *extra):
    """`soapbus routes add` against the bus's data folder, in a process of its own, as an operator does."""
    done = subprocess.run([sys.executable, "-m", "soapbus", "routes", "add", noun, endpoint, "--data",
                           str(bus.data_dir), *extra], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def store_route(bus, noun: str, endpoint: str, *, verb: str | None = None, signed: bool = False) -> None:
    """The route `soapbus routes add` writes, written into the bus's database from here: where the
    command is not what is tested (the fixture `bus` and test_cli_bus.py run it), a second or two less."""
    store = Store(bus.database_url)
    try:
        store.route_add(noun, endpoint, verb=verb, signed=signed)
    finally:
        store.close()


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("backend"), extra_args=["--source", "MDMS-BACKEND"])
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def bus(tmp_path_factory, backend):
    proc = start_server(tmp_path_factory.mktemp("bus"), extra_args=["--source", "BUS"])
    add_route(proc, "MeterReadings", f"{backend.url}/soap/Operations")
    yield proc
    proc.stop()


def journal(server, message_id=None, correlation_id=None):
    store = Store(server.database_url)
    try:
        if message_id:
            return store.journal_by_message_id(message_id)
        return store.journal_by_correlation_id(correlation_id)
    finally:
        store.close()


def test_requests_for_a_routed_noun_reach_the_backend_and_answers_come_back(bus, backend):
    caller = Client(f"{bus.url}/soap/ExecuteMeterReadings", f"{bus.url}/soap/GetMeterReadings", source="CIS")
    mrid = m.new_message_id()
    created = caller.create("MeterReadings", meter_readings(mrid), correlation_id="conv-route")
    assert created.result == "OK" and created.correlation_id == "conv-route"
    assert created.message.header.source == "BUS"  # each leg is its own message
    # the object lives at the backend, not at the bus
    assert Client(f"{backend.url}/soap/GetMeterReadings").get("MeterReadings", mrid).result == "OK"
    assert Client(f"{bus.url}/soap/GetMeterReadings", raise_on_failed=False).get("MeterReadings", mrid).result == "OK"
    store = Store(bus.database_url)
    try:
        with store.unit_of_work() as uow:
            assert uow.object_get("MeterReadings", mrid) is None
    finally:
        store.close()


def test_each_leg_is_journaled_with_its_own_message_id(bus, backend):
    caller = Client(f"{bus.url}/soap/ExecuteMeterReadings", source="CIS")
    result = caller.create("MeterReadings", meter_readings(m.new_message_id()), correlation_id="conv-legs")
    # the leg's own journal row ("delivered") is written by the delivery after the backend answered,
    # beside the caller's answer, not before it: on a loaded machine it may come a moment later
    deadline = time.monotonic() + 15
    while True:
        at_bus = journal(bus, correlation_id="conv-legs")
        directions = [(e.direction, e.outcome) for e in at_bus]
        if ("out", "delivered") in directions or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert ("in", "routed") in directions and ("out", "delivered") in directions and ("out", "replied") in directions
    leg = next(e for e in at_bus if e.outcome == "delivered")
    caller_request = next(e for e in at_bus if e.outcome == "routed")
    assert leg.message_id != caller_request.message_id
    assert leg.message_id == leg_message_id(m.Header("create", "MeterReadings", source="CIS",
                                                     message_id=caller_request.message_id),
                                            f"{backend.url}/soap/Operations")
    at_backend = journal(backend, message_id=leg.message_id)
    assert [e.outcome for e in at_backend if e.direction == "in"] == ["processed"]
    assert ORIGINAL_SOURCE.encode() in at_backend[0].raw and b"CIS" in at_backend[0].raw
    assert result.correlation_id == "conv-legs"


def test_a_redelivered_request_acts_once_at_the_backend(bus, backend):
    caller = Client(f"{bus.url}/soap/ExecuteMeterReadings", source="CIS")
    mrid = m.new_message_id()
    msg = m.RequestMessage(caller._header("create", "MeterReadings"), None,
                           m.Payload(documents=[meter_readings(mrid)]))
    first = caller.send(msg)
    second = caller.send(msg)  # same MessageID: the bus repeats its first answer
    assert second.raw == first.raw
    leg_id = leg_message_id(msg.header, f"{backend.url}/soap/Operations")
    assert [e.outcome for e in journal(backend, message_id=leg_id) if e.direction == "in"] == ["processed"]


def test_unrouted_nouns_are_handled_by_the_bus_itself(bus):
    events = Client(f"{bus.url}/soap/ExecuteEndDeviceControls", source="CIS")
    from .test_server_plugins import _controls

    assert events.create("EndDeviceControls", _controls(m.new_message_id())).result == "OK"


def test_backend_down_answers_5_1_and_the_request_is_delivered_later(tmp_path):
    bus = start_server(tmp_path / "lonely-bus", extra_args=["--delivery-base-delay", "0.05"])
    try:
        backend_dir = tmp_path / "late-backend"
        # a port that is free now and where the backend will listen later
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        store_route(bus, "MeterReadings", f"http://127.0.0.1:{port}/soap/Operations")
        import time

        caller = Client(f"{bus.url}/soap/ExecuteMeterReadings", source="CIS")
        mrid = m.new_message_id()
        msg = m.RequestMessage(caller._header("create", "MeterReadings"), None,
                               m.Payload(documents=[meter_readings(mrid)]))
        with pytest.raises(FailedReply) as down:
            caller.send(msg)
        assert down.value.codes == ["5.1"] and "send it again later" in str(down.value)
        backend = start_server(backend_dir, port=port)
        try:
            store = Store(backend.database_url)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with store.unit_of_work() as uow:
                    if uow.object_get("MeterReadings", mrid) is not None:
                        break
                time.sleep(0.2)
            store.close()
            # the caller asks again with the same MessageID: now it gets the backend's answer
            assert caller.send(msg).result == "OK"
        finally:
            backend.stop()
    finally:
        bus.stop()


def test_async_routed_request_is_answered_by_the_backend_at_the_reply_address(bus):
    caller = Client(f"{bus.url}/soap/GetMeterReadings", f"{bus.url}/soap/ExecuteMeterReadings", source="CIS")
    mrid = m.new_message_id()
    caller.create("MeterReadings", meter_readings(mrid))
    with CallbackListener() as listener:
        answer = caller.get_async("MeterReadings", mrid, listener=listener).result(timeout=30)
    assert answer.result == "OK"
    assert [el.text for doc in answer.payload for el in doc.iter(f"{{{MR_NS}}}mRID")] == [mrid]
    assert answer.replies[0].header.source == "MDMS-BACKEND"


def test_signed_interface_leg_is_re_signed_by_the_bus(tmp_path):
    made = pki.init(tmp_path / "pki")
    keys = ["--server-key", str(made.server.key), "--server-cert", str(made.server.cert),
            "--trust-ca", str(made.ca.cert)]
    # the backend accepts the bus's certificate (CN soapbus-server) speaking as Source BUS
    backend = start_server(tmp_path / "scada", extra_args=[*keys, "--bind", "soapbus-server=BUS", "--bind",
                                                          "MDMS=MDMS"])
    bus = start_server(tmp_path / "signed-bus", extra_args=[*keys, "--source", "BUS"])
    try:
        store_route(bus, "Controls", f"{backend.url}/soap/Operations", signed=True)
        scada = Client(f"{bus.url}/soap/ExecuteControls", source="MDMS",
                       signing_key=SigningKey.load(made.mdms.key, made.mdms.cert),
                       trust=TrustStore.from_ca_bundle(made.ca.cert))
        mrid = m.new_message_id()
        assert scada.create("Controls", controls(mrid)).result == "OK"
        store = Store(backend.database_url)
        try:
            with store.unit_of_work() as uow:
                assert uow.object_get("Controls", mrid) is not None
        finally:
            store.close()
    finally:
        bus.stop()
        backend.stop()
