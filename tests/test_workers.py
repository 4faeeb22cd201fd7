"""`soapbus serve --workers 2`: two processes on one port, on SQLite and PostgreSQL.

What must hold across processes as it holds across threads: a message sent many times at once
acts once (the claim in the database decides, whichever worker each copy reaches), a signed
request replayed to the other worker is refused (the replay memory is in the database), and a
worker that dies is reported and replaced while the other serves. Every answer names the worker
that gave it (X-Soapbus-Worker), so each test first proves that both workers were reached.
"""
from __future__ import annotations

import copy
import os
import re
import signal
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from lxml import etree

from soapbus import message as m
from soapbus.message import namespaces, soap
from soapbus.security import SigningKey, pki, sign_envelope
from soapbus.server.workers import QUICK_DEATHS_ALLOWED, Supervisor
from soapbus.store import Store

from .helpers import fault_of, header, meter_readings, response_message, server_on, typed_envelope

CTL = namespaces.profile_ns("Controls")
WORKER = "X-Soapbus-Worker"


def _post(url: str, service: str, body: bytes) -> requests.Response:
    """On a connection of its own (no session): the kernel picks the worker anew for each."""
    return requests.post(f"{url}/soap/{service}", data=body, timeout=60,
                         headers={"Content-Type": "text/xml; charset=utf-8", "Connection": "close"})


def _create_readings(mrid: str, message_id: str) -> bytes:
    msg = m.RequestMessage(header("create", "MeterReadings", message_id=message_id), None,
                           m.Payload(documents=[meter_readings(mrid)]))
    return typed_envelope("CreateMeterReadings", "MeterReadings", msg)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_concurrent_copies_of_a_message_reaching_both_workers_act_once(tmp_path, database):
    with server_on(database, tmp_path, "workers_dup", ["--workers", "2"]) as server:
        _both_serving(server)
        for attempt in range(3):  # connections are spread by the kernel; both workers must take copies
            mrid, message_id = f"MR-{uuid.uuid4()}", str(uuid.uuid4())
            body = _create_readings(mrid, message_id)
            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(lambda _: _post(server.url, "ExecuteMeterReadings", body), range(16)))
            if {a.headers[WORKER] for a in answers} == {"1", "2"}:
                break
        else:
            pytest.fail("16 connections, three times, all reached one worker: the port is not shared")

        assert all(a.status_code == 200 for a in answers), [a.text[:300] for a in answers]
        replies = {a.content for a in answers}
        assert len(replies) == 1, "every copy gets the first copy's answer, byte for byte"
        reply = response_message(answers[0])
        assert reply.reply.result == "OK" and reply.header.correlation_id == message_id

        store = Store(server.database_url)
        try:
            inbound = [e for e in store.journal_by_message_id(message_id) if e.direction == "in"]
            assert sorted(e.outcome for e in inbound) == ["duplicate"] * 15 + ["processed"]
            with store.unit_of_work() as uow:
                stored = uow.object_get("MeterReadings", mrid)
            assert stored is not None and stored.version == 1
        finally:
            store.close()


def _signed_controls(key: SigningKey) -> tuple[etree._Element, bytes]:
    doc = etree.Element(f"{{{CTL}}}Controls", nsmap={None: CTL})
    control = etree.SubElement(doc, f"{{{CTL}}}Control")
    etree.SubElement(control, f"{{{CTL}}}mRID").text = str(uuid.uuid4())
    etree.SubElement(control, f"{{{CTL}}}controlType").text = "breakerOpen"
    psr = etree.SubElement(control, f"{{{CTL}}}PowerSystemResource")
    etree.SubElement(psr, f"{{{CTL}}}mRID").text = "BREAKER-7"
    request = m.RequestMessage(header("create", "Controls", source="MDMS"), None, m.Payload(documents=[doc]))
    unsigned = etree.fromstring(typed_envelope("CreateControls", "Controls", request))
    return unsigned, soap.to_bytes(sign_envelope(copy.deepcopy(unsigned), key))


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_signed_request_replayed_to_the_other_worker_is_refused(tmp_path, database):
    made = pki.init(tmp_path / "pki")
    key = SigningKey.load(made.mdms.key, made.mdms.cert)
    args = ["--workers", "2", "--server-key", str(made.server.key), "--server-cert", str(made.server.cert),
            "--trust-ca", str(made.ca.cert)]
    with server_on(database, tmp_path / "data", "workers_replay", args) as server:
        _both_serving(server)
        unsigned, signed = _signed_controls(key)
        first = _post(server.url, "ExecuteControls", signed)
        assert first.status_code == 200 and response_message(first).reply.result == "OK", first.text[:500]
        refused_by = set()
        for _ in range(40):
            again = _post(server.url, "ExecuteControls", signed)
            assert again.status_code == 500, again.text[:500]
            fault = fault_of(again)
            assert fault.code == "wsse:InvalidSecurity" and "already accepted once" in fault.reason, fault.reason
            refused_by.add(again.headers[WORKER])
            if first.headers[WORKER] in refused_by and len(refused_by) == 2:
                break
        assert refused_by == {"1", "2"}, f"the replays reached only worker(s) {refused_by}"

        # The control: the same Body under a fresh signature is accepted (its MessageID was
        # processed, so it gets the first answer again), whichever worker takes it.
        fresh = _post(server.url, "ExecuteControls", soap.to_bytes(sign_envelope(unsigned, key)))
        assert fresh.status_code == 200 and response_message(fresh).reply.result == "OK", fresh.text[:500]


def _worker_pids(server, restarted: bool = False) -> dict[str, int]:
    word = "restarted" if restarted else "serving"
    return {index: int(pid) for index, pid in
            re.findall(rf"worker (\d) of 2 {word} \(pid (\d+)\)", server.log_text())}


def _both_serving(server) -> None:
    """Both workers have said they serve: the server's first line comes before the second worker is up,
    and until then every connection reaches the first (on a loaded machine, three rounds of them)."""
    assert _wait_for(lambda: len(_worker_pids(server)) == 2), server.log_text()[-2000:]


def _wait_for(condition, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    return None


def _alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_a_worker_that_dies_is_reported_and_replaced_while_the_other_serves(tmp_path):
    with server_on("sqlite", tmp_path, "workers_die", ["--workers", "2"]) as server:
        pids = _wait_for(lambda: (found := _worker_pids(server)) and len(found) == 2 and found)
        assert pids, server.log_text()[-2000:]
        os.kill(pids["2"], signal.SIGKILL)
        replaced = _wait_for(lambda: _worker_pids(server, restarted=True).get("2"))
        assert replaced and replaced != pids["2"], server.log_text()[-2000:]
        assert f"worker 2 (pid {pids['2']}) was killed by SIGKILL; starting another in its place" in server.log_text()

        # Both serve: the survivor throughout, the replacement on the same port.
        workers = set()
        for n in range(40):
            answer = _post(server.url, "ExecuteMeterReadings", _create_readings(f"MR-{n}-{uuid.uuid4()}",
                                                                                 str(uuid.uuid4())))
            assert answer.status_code == 200 and response_message(answer).reply.result == "OK"
            workers.add(answer.headers[WORKER])
            if workers == {"1", "2"}:
                break
        assert workers == {"1", "2"}
        everyone = [server.process.pid, pids["1"], replaced]
    assert _wait_for(lambda: not any(_alive(pid) for pid in everyone), 20), "a process outlived the server"


def test_a_worker_that_keeps_dying_at_start_up_stops_the_supervisor(caplog):
    """Not restarted for ever: after QUICK_DEATHS_ALLOWED quick deaths in a row the supervisor gives up."""
    def serve_worker(index: int, restarted: bool) -> None:
        sys.exit(3)  # what a worker does that cannot start (its reason is on its own log lines)

    with caplog.at_level("ERROR", logger="soapbus.server.workers"):
        status = Supervisor(1, serve_worker).run()
    assert status == 1
    lines = [r.getMessage() for r in caplog.records]
    assert sum("exited with status 3; starting another in its place" in line
               for line in lines) == QUICK_DEATHS_ALLOWED - 1, lines
    assert any(f"exited with status 3 within 5 s of starting, {QUICK_DEATHS_ALLOWED} times in a row: not "
               "restarting it" in line for line in lines), lines
