"""The bus role under a hanging backend: no request thread held, one leg per caller message.

A route sends `create MeterReadings` to a backend that never answers; the bus must keep serving
its own endpoints, answer 5.1 (at once once the backend's circuit is open), write one outbox leg
per caller message however often callers retry, and deliver each leg once the backend answers.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from soapbus import message as m
from soapbus.store import Store
from soapbus.store.schema import outbox

from .helpers import header, meter_readings, response_message, start_server, typed_envelope
from .receivers import HANG, Answer, Receiver, wait_until
from .test_routing import store_route

CALLERS = 12


def create(mrid: str) -> bytes:
    req = m.RequestMessage(header("create", "MeterReadings", source="CIS"), None,
                           m.Payload(documents=[meter_readings(mrid)]))
    return typed_envelope("CreateMeterReadings", "MeterReadings", req)


def codes_of(resp) -> list[str]:
    return [e.code for e in response_message(resp).reply.errors] or [response_message(resp).reply.result]


def legs(store: Store) -> list:
    with store.engine.connect() as conn:
        return conn.execute(outbox.select().where(outbox.c.kind == "request")).all()


@pytest.mark.alone  # bounds on the local request's and the open circuit's answer times
def test_a_hanging_backend_holds_no_thread_and_each_caller_message_has_one_leg(tmp_path):
    answering = []
    backend = Receiver(lambda path: Answer() if answering else HANG)
    bus = start_server(tmp_path, extra_args=["--thread-pool", "4", "--forward-timeout", "2",
                                             "--delivery-concurrency", "4", "--delivery-base-delay", "0.05",
                                             "--delivery-max-delay", "0.5"])
    store = Store(bus.database_url)
    try:
        store_route(bus, "MeterReadings", f"{backend.url}/soap/Operations", verb="create")
        bodies = [create(m.new_message_id()) for _ in range(CALLERS)]
        with ThreadPoolExecutor(CALLERS) as callers:
            pending = [callers.submit(bus.post, "ExecuteMeterReadings", body) for body in bodies]
            wait_until(lambda: backend.count() >= 4, 10, "four legs in flight to the hanging backend")
            # more callers than request threads wait on the backend: a local request is still served at once
            started = time.monotonic()
            local = bus.post("GetMeterReadings", typed_envelope("GetMeterReadings", "MeterReadings", m.RequestMessage(
                header("get", "MeterReadings"), m.Request(), None)))
            local_took = time.monotonic() - started
            first = [f.result() for f in pending]
        print(f"\nbus: a local get took {local_took * 1000:.0f} ms while {CALLERS} forwarded requests waited "
              f"on a hanging backend (4 request threads)")
        assert local.status_code == 200 and local_took < 1.0
        assert all(codes_of(r) == ["5.1"] for r in first)

        # the circuit opens after the failures; then 5.1 comes at once, without waiting for the backend
        def says_the_circuit_is_open() -> bool:  # one post per look: each waits out --forward-timeout until then
            said = bus.post("ExecuteMeterReadings", bodies[0]).content
            return b"circuit" in said or b"in a row failed" in said

        wait_until(says_the_circuit_is_open, 15, "the backend's circuit to open")
        started = time.monotonic()
        quick = bus.post("ExecuteMeterReadings", bodies[1])
        assert codes_of(quick) == ["5.1"] and time.monotonic() - started < 0.5

        for _ in range(3):  # callers retry, as told; no new leg for any of it
            for body in bodies:
                bus.post("ExecuteMeterReadings", body)
        assert len(legs(store)) == CALLERS

        answering.append(True)  # the backend is back: every leg delivered, each caller answered OK
        wait_until(lambda: all(row.status == "delivered" for row in legs(store)), 60, "every leg delivered")
        answers = [bus.post("ExecuteMeterReadings", body) for body in bodies]
        assert all(codes_of(r) in (["OK"], ["0.0"]) for r in answers), [codes_of(r) for r in answers]
        assert len(backend.distinct()) == CALLERS and len(legs(store)) == CALLERS
        in_flight_when_hung = 4
        assert sum(n - 1 for n in backend.repeats().values()) <= in_flight_when_hung * 2
    finally:
        store.close()
        bus.stop()
        backend.close()
