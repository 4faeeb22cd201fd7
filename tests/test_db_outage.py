"""A database outage, for real: a PostgreSQL the server reaches through a TCP proxy the test cuts
(the shared cluster stays up for everyone else), and SQLite files that cannot be opened or are
locked. Requests meet a 61968 answer (5.2 in a FaultMessage, Retry-After), the log gets one line
when the database goes and one when it is back, a re-sent message is processed once, and a
server started without its database serves, reports not ready, and becomes ready on its own.
"""
from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from soapbus import message as m
from soapbus.server.health import NO_SCHEMA_YET, NOT_ANSWERING
from soapbus.server.outage import OUTAGE_CODE, RETRY_AFTER_SECONDS
from soapbus.store import Store, StoreUnavailable, utc_now
from soapbus.store.availability import unavailable_reason

from .conftest import skip_or_fail
from .helpers import fault_of, header, meter_readings, response_message, typed_envelope
from .plugins.database_dies import CUT_PREFIX
from .tcp_proxy import TcpProxy

PG_URL_VAR = "SOAPBUS_TEST_PG_URL"
WENT_AWAY = "database went away"
UNREACHABLE_AT_START = "database cannot be reached"
IS_BACK = "database is back"
READY_WAIT = 30.0  # seconds a server may take to notice its database is back (it probes every second)


# ---------------------------------------------------------------- a server whose log the test reads


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)  # everything it printed, stdout and stderr

    def log(self) -> str:
        return "".join(self.lines)

    def printed(self, text: str) -> bool:
        """Whether the server printed `text` (its output is read on another thread: wait for it)."""
        deadline = time.monotonic() + 10
        while text not in self.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        return text in self.log()

    def create(self, message: m.RequestMessage) -> requests.Response:
        return requests.post(f"{self.url}/soap/ExecuteMeterReadings",
                             data=typed_envelope("CreateMeterReadings", "MeterReadings", message),
                             headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}, timeout=30)

    def ready(self) -> requests.Response:
        return requests.get(f"{self.url}/health/ready", timeout=10)

    def wait_ready(self) -> requests.Response:
        deadline = time.monotonic() + READY_WAIT
        while True:
            answer = self.ready()
            if answer.status_code == 200 or time.monotonic() > deadline:
                return answer
            time.sleep(0.2)

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        return self.log()


def serve(data_dir: Path, database_url: str | None = None, extra_args=(), env=None) -> Served:
    args = [sys.executable, "-m", "soapbus", "serve", "--port", "0", "--data", str(data_dir), *extra_args]
    if database_url:
        args += ["--database", database_url]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, **(env or {})})
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
            return Served(found.group(1), process, lines)
    process.kill()
    raise RuntimeError("soapbus serve did not start:\n" + "".join(lines))


def create_request(mrid: str) -> m.RequestMessage:
    return m.RequestMessage(header("create", "MeterReadings"), None, m.Payload(documents=[meter_readings(mrid)]))


def new_mrid() -> str:
    return f"MR-{uuid.uuid4()}"


def assert_outage_answer(answer: requests.Response) -> None:
    """The 61968 answer to a request the database cannot take, whole."""
    assert answer.status_code == 500, answer.text
    assert answer.headers.get("Retry-After") == str(RETRY_AFTER_SECONDS)
    fault = fault_of(answer)
    assert fault.code.endswith(":Server") and fault.reason.startswith(f"{OUTAGE_CODE}: transaction not attempted")
    reply = m.parse(fault.detail, "FaultMessage").reply
    assert reply.result == "FAILED" and [e.code for e in reply.errors] == [OUTAGE_CODE]
    assert "same MessageID" in reply.errors[0].reason
    assert reply.errors[0].details.startswith("Neither this request nor this answer is in the message journal")
    assert "Internal Error" not in answer.text and "Traceback" not in answer.text


def assert_created(answer: requests.Response, request: m.RequestMessage) -> None:
    assert answer.status_code == 200, answer.text
    reply = response_message(answer)
    assert reply.reply.result == "OK" and [e.code for e in reply.reply.errors] == ["0.0"], reply.reply.errors
    assert reply.header.correlation_id == request.header.message_id


# ---------------------------------------------------------------- PostgreSQL behind a proxy


@dataclass
class PgTarget:
    direct_url: str  # to the cluster itself, in the test's schema: for setting up and looking
    proxied_url: str  # the same database through the proxy: what the server is given
    proxy: TcpProxy


@pytest.fixture
def pg(request) -> Iterator[PgTarget]:
    base = os.environ.get(PG_URL_VAR)
    if not base:
        skip_or_fail(f"set {PG_URL_VAR} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) "
                     "to run the database outage tests")
    schema = f"soapbus_outage_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = make_url(base)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    in_schema = {"options": f"-csearch_path={schema}"}
    direct = url.update_query_dict(in_schema).render_as_string(hide_password=False)
    proxied = url.set(host="127.0.0.1", port=proxy.port).update_query_dict(in_schema).render_as_string(
        hide_password=False)
    admin = Store(base)
    with admin.engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')  # empty: the server creates its tables
    try:
        yield PgTarget(direct, proxied, proxy)
    finally:
        proxy.close()
        with admin.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


@pytest.mark.pg
def test_an_outage_is_answered_5_2_logged_twice_and_the_resent_message_acts_once(pg, tmp_path):
    server = serve(tmp_path / "data", pg.proxied_url)
    try:
        assert server.wait_ready().status_code == 200
        before = create_request(new_mrid())
        assert_created(server.create(before), before)
        log_before_outage = len(server.lines)

        pg.proxy.cut()
        mrid = new_mrid()
        held_back = create_request(mrid)
        assert_outage_answer(server.create(held_back))
        for _ in range(10):  # others during the outage, and the same message sent again too soon
            assert_outage_answer(server.create(create_request(new_mrid())))
        assert_outage_answer(server.create(held_back))
        not_ready = server.ready()
        assert not_ready.status_code == 503 and not_ready.headers.get("Retry-After") == str(RETRY_AFTER_SECONDS)
        assert not_ready.json()["reason"] == NOT_ANSWERING
        assert "Connection refused" in not_ready.json()["detail"]  # the driver's words, for this machine only
        admin = requests.get(f"{server.url}/admin/outbox", timeout=10)
        assert admin.status_code == 503 and admin.headers.get("Retry-After") == str(RETRY_AFTER_SECONDS)
        assert admin.json()["error"].startswith("the database is not available: connection failed")
        time.sleep(3)  # several probes and delivery polls meet the outage: none may add a log line

        with Store(pg.direct_url) as look:  # nothing of the held-back message was written
            assert look.journal_by_message_id(held_back.header.message_id) == []
        pg.proxy.restore()
        assert server.wait_ready().status_code == 200

        first = server.create(held_back)
        assert_created(first, held_back)
        again = server.create(held_back)
        assert again.status_code == 200 and again.content == first.content  # the recorded answer, repeated
        with Store(pg.direct_url) as look, look.unit_of_work() as uow:
            entries = look.journal_by_message_id(held_back.header.message_id)
            stored = uow.object_get("MeterReadings", mrid)
        assert sorted(e.outcome for e in entries if e.direction == "in") == ["duplicate", "processed"]
        assert stored is not None and stored.version == 1
    finally:
        log = server.stop()
    outage_log = "".join(server.lines[log_before_outage:]).splitlines()
    logged = [line for line in outage_log if " WARNING " in line or " ERROR " in line]
    assert len(logged) == 2 and WENT_AWAY in logged[0] and IS_BACK in logged[1], outage_log
    assert "Traceback" not in log and "Internal Error" not in log


@pytest.mark.pg
def test_a_database_lost_inside_a_handler_is_answered_5_2_and_nothing_of_it_is_kept(pg, tmp_path):
    server = serve(tmp_path / "data", pg.proxied_url, ["--handlers", "tests.plugins.database_dies"],
                   env={"SOAPBUS_TEST_CUT_PORT": str(pg.proxy.cut_switch())})
    try:
        assert server.wait_ready().status_code == 200
        control = create_request(new_mrid())
        assert_created(server.create(control), control)  # the handler stores what is not marked CUT-

        mrid = f"{CUT_PREFIX}{uuid.uuid4()}"
        dies_inside = create_request(mrid)
        assert_outage_answer(server.create(dies_inside))  # the handler cut the proxy, then wrote
        pg.proxy.restore()
        assert server.wait_ready().status_code == 200
        with Store(pg.direct_url) as look, look.unit_of_work() as uow:  # rolled back whole
            assert look.journal_by_message_id(dies_inside.header.message_id) == []
            assert uow.object_get("MeterReadings", mrid) is None

        assert_created(server.create(dies_inside), dies_inside)
        with Store(pg.direct_url) as look, look.unit_of_work() as uow:
            entries = look.journal_by_message_id(dies_inside.header.message_id)
            stored = uow.object_get("MeterReadings", mrid)
        assert [e.outcome for e in entries if e.direction == "in"] == ["processed"]
        assert stored is not None and stored.version == 1
    finally:
        log = server.stop()
    assert log.count(WENT_AWAY) == 1 and log.count(IS_BACK) == 1
    assert "Traceback" not in log and "handler for" not in log


@pytest.mark.pg
def test_a_server_started_without_its_database_serves_and_becomes_ready_when_it_answers(pg, tmp_path):
    pg.proxy.cut()
    server = serve(tmp_path / "data", pg.proxied_url)
    try:
        assert server.printed(f"database NOT READY: {NO_SCHEMA_YET}")
        live = requests.get(f"{server.url}/health/live", timeout=10)
        assert live.status_code == 200 and live.json() == {"live": True}
        not_ready = server.ready()
        assert not_ready.status_code == 503 and not_ready.json()["ready"] is False
        assert not_ready.json()["reason"] == NO_SCHEMA_YET and "Connection refused" in not_ready.json()["detail"]
        held_back = create_request(new_mrid())
        assert_outage_answer(server.create(held_back))

        pg.proxy.restore()
        ready = server.wait_ready()
        assert ready.status_code == 200 and ready.json() == {"ready": True}
        assert_created(server.create(held_back), held_back)
        with Store(pg.direct_url) as look:  # the server made its tables when the database came
            assert [e.outcome for e in look.journal_by_message_id(held_back.header.message_id)
                    if e.direction == "in"] == ["processed"]
    finally:
        log = server.stop()
    assert log.count(UNREACHABLE_AT_START) == 1 and log.count(IS_BACK) == 1 and WENT_AWAY not in log
    assert "Traceback" not in log


# ---------------------------------------------------------------- SQLite


def test_a_sqlite_file_that_cannot_be_opened_is_answered_5_2_until_it_can(tmp_path):
    data = tmp_path / "data"
    blocker = data / "soapbus.db"
    blocker.mkdir(parents=True)  # a folder where the database file should be: even root cannot open it
    server = serve(data)
    try:
        assert server.printed(f"database NOT READY: {NO_SCHEMA_YET} (unable to open database file)")
        not_ready = server.ready()
        assert not_ready.status_code == 503 and "unable to open database file" in not_ready.json()["detail"]
        held_back = create_request(new_mrid())
        assert_outage_answer(server.create(held_back))

        blocker.rmdir()
        assert server.wait_ready().status_code == 200
        assert_created(server.create(held_back), held_back)
    finally:
        log = server.stop()
    assert "Traceback" not in log and log.count(IS_BACK) == 1


def test_a_data_folder_that_cannot_be_created_is_one_line_naming_it(tmp_path):
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder")
    refused = subprocess.run([sys.executable, "-m", "soapbus", "serve", "--port", "0", "--data",
                              str(in_the_way / "data")], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        f"Error: cannot create the data folder {in_the_way / 'data'}: Not a directory; "
        "give --data a folder this user may create or write"]
    assert "Traceback" not in refused.stdout + refused.stderr

    server = serve(tmp_path / "data")  # the positive control: a folder that can be made
    try:
        assert server.ready().status_code == 200
    finally:
        server.stop()


def test_a_locked_sqlite_database_is_unavailable_then_back(tmp_path, caplog):
    store = Store(f"sqlite:///{tmp_path / 'locked.db'}", busy_timeout=0.2)
    store.create_schema()
    expires = utc_now() + timedelta(hours=1)
    assert store.remember_once("test", "before", expires) is True  # the positive control
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level("WARNING", logger="soapbus.store"):
            for attempt in range(3):
                with pytest.raises(StoreUnavailable) as raised:
                    store.remember_once("test", f"locked-{attempt}", expires)
                assert raised.value.reason == "database is locked"
            assert not store.availability.available and store.availability.reason == "database is locked"
            holder.execute("ROLLBACK")
            assert store.remember_once("test", "after", expires) is True
            assert store.availability.available and store.availability.reason is None
    finally:
        holder.close()
        store.close()
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2 and WENT_AWAY in messages[0] and IS_BACK in messages[1]


def test_a_statement_error_is_no_outage(tmp_path):
    """Only errors that mean the database cannot serve become StoreUnavailable: a bad statement
    (an OperationalError on SQLite, like a lock) stays what it is."""
    store = Store(f"sqlite:///{tmp_path / 'fine.db'}")
    store.create_schema()
    with pytest.raises(OperationalError) as raised, store.engine.connect() as conn:
        conn.exec_driver_sql("SELECT * FROM no_such_table")
    assert "no such table" in str(raised.value) and unavailable_reason(raised.value) is None
    store.close()
